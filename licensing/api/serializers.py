from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.api import fields as api_fields
from cases.api.serializers import CaseDetailSerializer

from ..models import Dossier, IssuedDocument, Organisation, Permit, PrintFacility
from ..procedures import PROCEDURES


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "tax_code", "address", "representative", "phone", "email"]
        # A known tax code is the registry's entry, reused (services.organisation_resolve), not an error.
        extra_kwargs = {"tax_code": {"validators": []}}


class PrintFacilitySerializer(serializers.ModelSerializer):
    class Meta:
        model = PrintFacility
        fields = ["id", "name", "address", "owner", "organisation", "equipment", "products"]


class IssuedDocumentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = IssuedDocument
        fields = ["id", "kind", "number_text", "issued_at", "signer_name", "download_url"]

    def get_download_url(self, document) -> str:
        return f"/api/v1/licensing/documents/{document.pk}/download/"


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
    organisation_id = serializers.IntegerField(required=False)
    organisation = OrganisationSerializer(required=False)
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
    revoked = serializers.SerializerMethodField()

    class Meta:
        model = Permit
        fields = ["id", "number_text", "procedure", "procedure_name", "result_unit", "title", "holder",
                  "print_facility", "issued_at", "valid_until", "revoked", "revoked_at", "revoke_reasons", "case",
                  "case_reference", "document"]

    def get_revoked(self, permit) -> bool:
        return permit.revoked_at is not None


class ProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_vi = serializers.CharField()
    fields = serializers.DictField()
    required_files = serializers.ListField(child=serializers.DictField())
