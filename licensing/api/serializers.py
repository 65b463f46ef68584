from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from agencies.models import Agency
from cases.api import fields as api_fields
from cases.api.fields import AgencyField
from cases.api.serializers import CaseDetailSerializer

from ..models import Dossier, IssuedDocument, Organisation, Permit, PrintFacility
from ..procedures import PROCEDURES

AGENCY_HELP = _("The registry's agency. A new entry goes to yours: name it only when you work for several agencies "
                "that keep this registry. (A dossier's applicant goes to the receiving agency's registry.)")


class OrganisationSerializer(serializers.ModelSerializer):
    agency = AgencyField(required=False, help_text=AGENCY_HELP)

    class Meta:
        model = Organisation
        fields = ["id", "agency", "name", "kind", "tax_code", "address", "representative", "phone", "email"]
        # A known tax code is the agency's entry, reused (services.organisation_resolve), not an error.
        extra_kwargs = {"tax_code": {"validators": []}}
        validators = []


class PrintFacilitySerializer(serializers.ModelSerializer):
    agency = AgencyField(read_only=True)

    class Meta:
        model = PrintFacility
        fields = ["id", "agency", "name", "address", "owner", "organisation", "equipment", "products"]


class IssuedDocumentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField(help_text=_(
        "The signed PDF/A, once signed (a few seconds after issue); null before, and for documents without an "
        "electronic copy."))
    verification_url = serializers.SerializerMethodField(help_text=_(
        "The public page that shows whether the document is genuine and in force (its QR code leads there)."))

    class Meta:
        model = IssuedDocument
        fields = ["id", "kind", "number_text", "issued_at", "signer_name", "download_url", "pdf_url",
                  "verification_url"]

    def get_pdf_url(self, document) -> str | None:
        verifiable = document.verifiable
        if verifiable is None or not verifiable.is_signed or not document.file:
            return None
        return f"/api/v1/licensing/documents/{document.pk}/download/?format=pdf"

    def get_verification_url(self, document) -> str | None:
        from documents.qr import verification_url

        return verification_url(document.verifiable.code) if document.verifiable_id else None

    def get_download_url(self, document) -> str | None:
        """None for a result imported from a past register: the paper original has no file here."""
        return f"/api/v1/licensing/documents/{document.pk}/download/" if document.file else None


class DossierSerializer(serializers.ModelSerializer):
    organisation = OrganisationSerializer(read_only=True)
    required_files = serializers.SerializerMethodField()

    class Meta:
        model = Dossier
        fields = ["organisation", "fields", "complete", "missing", "required_files", "print_facility", "checked_at"]

    def get_required_files(self, dossier) -> list[dict]:
        return [{"kind": k, "label": str(label)} for k, label in PROCEDURES[dossier.case.case_type.code].required_files]


class ApplicationSerializer(CaseDetailSerializer):
    # null for a case opened without its dossier (before applications were the only door for licensing cases)
    dossier = DossierSerializer(read_only=True, allow_null=True)
    documents = IssuedDocumentSerializer(many=True, read_only=True)
    class Meta(CaseDetailSerializer.Meta):
        fields = CaseDetailSerializer.Meta.fields + ["dossier", "documents"]


class ApplicationReceiveSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(required=False, help_text=_("Client-made id: sending it again returns the stored case."))
    procedure = serializers.ChoiceField(choices=sorted(PROCEDURES))
    organisation_id = serializers.IntegerField(required=False, help_text=_(
        "An entry of the receiving agency's registry of applicants (or of its predecessors')."))
    organisation = OrganisationSerializer(required=False)
    agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(), required=False, allow_null=True, default=None,
        help_text=_("The receiving agency's id: needed only when several of your agencies handle the procedure on "
                    "the receipt date."))
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    received_at = api_fields.DateTimeField(required=False)
    fields = serializers.DictField(help_text=_("The procedure's own fields: see /api/v1/licensing/procedures/."))

    def validate(self, attrs):
        if not attrs.get("organisation_id") and not attrs.get("organisation"):
            raise serializers.ValidationError({"organisation": [_("Give organisation_id or organisation.")]})
        return attrs


class DossierUpdateSerializer(serializers.Serializer):
    fields = serializers.DictField()
    version = serializers.IntegerField(min_value=1)


class PermitSerializer(serializers.ModelSerializer):
    holder = OrganisationSerializer(read_only=True)
    document = IssuedDocumentSerializer(read_only=True)
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    procedure_name = serializers.CharField(source="case.case_type.name_vi", read_only=True)
    agency = AgencyField(source="case.agency", read_only=True, help_text=_("The agency holding the case."))
    revoked = serializers.SerializerMethodField()
    in_force = serializers.SerializerMethodField(help_text=_("Neither revoked nor replaced by a re-issue."))
    replaced_by = serializers.CharField(source="replaced_by.number_text", default=None, read_only=True, allow_null=True,
                                        help_text=_("The number of the licence that replaced this one."))

    class Meta:
        model = Permit
        fields = ["id", "agency", "number_text", "procedure", "procedure_name", "result_unit", "title", "holder",
                  "print_facility", "issued_at", "valid_until", "in_force", "revoked", "revoked_at", "revoke_reasons",
                  "replaced_by", "replaced_at", "case",
                  "case_reference", "document"]

    def get_revoked(self, permit) -> bool:
        return permit.revoked_at is not None

    def get_in_force(self, permit) -> bool:
        return permit.revoked_at is None and permit.replaced_by_id is None


class ProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_vi = serializers.CharField()
    fields = serializers.DictField()
    required_files = serializers.ListField(child=serializers.DictField())
