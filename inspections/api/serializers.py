"""Shapes only: the rules live in inspections.services."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agencies.models import Agency
from agencies.selectors import agency_ids_visible
from cases import roles as r
from cases.api import fields as api_fields
from cases.api.fields import AgencyField
from cases.api.serializers import UserBriefSerializer
from cases.models import CaseType
from cases.workflow import INSPECTION, transitions_available
from licensing.models import Organisation, PrintFacility

from ..models import (
    ChecklistItem,
    ChecklistTemplate,
    Document,
    Establishment,
    Finding,
    FollowUp,
    Outcome,
    Photo,
    SanctionDecision,
    Target,
    ViolationRecord,
)
from ..services import FINE_MAX_VND

User = get_user_model()
TEAM_USERS = User.objects.filter(is_active=True)
# A position's accuracy is stored with 7 digits before the point: a larger one (1e30) is refused here, with the field
# named, as the service would.
ACCURACY_MAX_METRES = 9_999_999


def _url(context, path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path


OUTCOME_HELP = _("pending, compliant, reminder (not a sanction) or violation")


@extend_schema_field({"type": "string"})
class OutcomeField(serializers.ChoiceField):
    """A choice of outcome, shown in the schema as a string: an enum named "outcome" is the case engine's."""


class VisibleRowField(serializers.PrimaryKeyRelatedField):
    """A row of the requester's agencies or their predecessors (`agency_path` leads from the row to its agency):
    another agency's row is refused as an unknown one is (nothing said about it)."""

    def __init__(self, *, agency_path: str = "agency_id", **kwargs):
        self.agency_path = agency_path
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        queryset = super().get_queryset()
        if user is None:
            return queryset.none()
        return queryset.filter(**{f"{self.agency_path}__in": agency_ids_visible(user)})


# --- Registry and checklists -------------------------------------------------------------------------------


class EstablishmentSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90,
                                        required=False, allow_null=True, coerce_to_string=False)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180,
                                         required=False, allow_null=True, coerce_to_string=False)
    print_facility = VisibleRowField(queryset=PrintFacility.objects.all(), required=False, allow_null=True)
    organisation = VisibleRowField(queryset=Organisation.objects.all(), required=False, allow_null=True)
    licences = serializers.SerializerMethodField(help_text=_("Unrevoked permits of the linked print facility."))
    agency = AgencyField(required=False, help_text=_(
        "The registry's agency: by default yours (the one that inspects this kind of establishment, when you work "
        "for several). An entry stays in its agency's registry."))

    class Meta:
        model = Establishment
        fields = ["id", "agency", "kind", "kind_label", "name", "address", "commune", "operator", "site_code", "latitude",
                  "longitude", "representative", "phone", "print_facility", "organisation", "licences", "active"]
        validators = []  # a site code once per operator: checked by the service, with the field named

    def get_licences(self, establishment) -> list[str]:
        if establishment.print_facility_id is None:
            return []
        return [p.number_text for p in establishment.print_facility.permits.all()
                if p.revoked_at is None and p.replaced_by_id is None]


class EstablishmentBriefSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)  # the enum is named once, on Establishment

    class Meta:
        model = Establishment
        fields = ["id", "kind", "name", "address", "operator", "site_code", "latitude", "longitude"]


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["id", "order", "code", "question", "legal_reference", "photo_required"]


class ChecklistTemplateSerializer(serializers.ModelSerializer):
    type = serializers.SlugRelatedField(source="case_type", slug_field="code", read_only=True)
    items = ChecklistItemSerializer(many=True, read_only=True)

    class Meta:
        model = ChecklistTemplate
        fields = ["id", "type", "version", "title", "effective_from", "sanction_basis", "items"]


class DocumentSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    download_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()
    verification_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = ["id", "campaign", "target", "kind", "kind_label", "number_text", "issued_at", "sha256",
                  "download_url", "pdf_url", "verification_url"]

    def get_download_url(self, document) -> str:
        return _url(self.context, f"/api/v1/inspections/documents/{document.pk}/download/")

    def get_pdf_url(self, document) -> str | None:
        if document.verifiable_id is None or not document.verifiable.is_signed:
            return None
        return _url(self.context, f"/api/v1/inspections/documents/{document.pk}/download/?format=pdf")

    def get_verification_url(self, document) -> str | None:
        from documents.qr import verification_url
        return verification_url(document.verifiable.code) if document.verifiable_id else None


# --- Campaigns and targets -----------------------------------------------------------------------------------


class TargetSerializer(serializers.ModelSerializer):
    establishment = EstablishmentBriefSerializer(read_only=True)
    inspectors = UserBriefSerializer(many=True, read_only=True)
    outcome = serializers.CharField(read_only=True, help_text=OUTCOME_HELP)
    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    findings_count = serializers.IntegerField(read_only=True, default=None)
    violations_count = serializers.IntegerField(read_only=True, default=None)
    disputed_count = serializers.IntegerField(read_only=True, default=None,
                                              help_text="Items whose inspectors disagree (pending review).")
    violation = serializers.SerializerMethodField()

    class Meta:
        model = Target
        fields = ["id", "campaign", "establishment", "inspectors", "planned_on", "visited_at", "outcome",
                  "outcome_label", "outcome_note", "outcome_at", "findings_count", "violations_count", "disputed_count",
                  "violation"]

    def get_violation(self, target) -> int | None:
        violation = getattr(target, "violation", None)
        return violation.pk if violation is not None else None


class CampaignListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.IntegerField(source="case_id")
    agency = AgencyField(source="case.agency", read_only=True, help_text=_("The agency holding the campaign."))
    reference = serializers.CharField(source="case.reference")
    type = serializers.CharField(source="case.case_type.code")
    type_name = serializers.CharField(source="case.case_type.name_vi")
    title = serializers.CharField(source="case.subject_name")
    state = serializers.CharField(source="case.state")
    version = serializers.IntegerField(source="case.version")
    decision_number_text = serializers.CharField()
    announced_at = serializers.DateTimeField(allow_null=True)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    lead = UserBriefSerializer(source="case.assignee", allow_null=True)


class CampaignDetailSerializer(CampaignListSerializer):
    legal_basis = serializers.CharField()
    scope = serializers.CharField()
    checklist = ChecklistTemplateSerializer()
    team = UserBriefSerializer(source="case.members", many=True)
    targets = TargetSerializer(many=True)
    conclusion = serializers.CharField()
    documents = DocumentSerializer(many=True)
    actions = serializers.SerializerMethodField()

    def get_actions(self, campaign) -> list[dict]:
        request = self.context.get("request")
        roles = r.user_roles(request.user) if request else frozenset()
        return [{"action": t.action, "label": str(t.label), "requires_note": t.requires_note}
                for t in transitions_available(domain="inspection", state=campaign.case.state, roles=roles)]


class TargetPlanSerializer(serializers.Serializer):
    establishment = VisibleRowField(queryset=Establishment.objects.filter(active=True))
    inspectors = serializers.PrimaryKeyRelatedField(queryset=TEAM_USERS, many=True, required=False, default=list)
    planned_on = api_fields.DateField(required=False, allow_null=True, default=None)


class CampaignCreateSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(required=False, help_text=_("Client-made id: sending it again returns the stored "
                                                             "campaign."))
    type = serializers.SlugRelatedField(slug_field="code", queryset=CaseType.objects.filter(domain="inspection"))
    title = serializers.CharField(max_length=300, help_text=_("e.g. “Kiểm tra hoạt động in năm 2020”."))
    legal_basis = serializers.CharField(max_length=5000, help_text=_("One basis per line or separated by “;”."))
    scope = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    period_start = api_fields.DateField()
    period_end = api_fields.DateField()
    lead = serializers.PrimaryKeyRelatedField(queryset=TEAM_USERS, required=False, allow_null=True, default=None,
                                              help_text=_("Defaults to you."))
    members = serializers.PrimaryKeyRelatedField(queryset=TEAM_USERS, many=True, required=False, default=list)
    targets = TargetPlanSerializer(many=True, required=False, default=list)
    agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(), required=False, allow_null=True, default=None,
        help_text=_("The campaign's agency: needed only when several of your agencies handle this inspection type."))


class TeamSerializer(serializers.Serializer):
    lead = serializers.PrimaryKeyRelatedField(queryset=TEAM_USERS)
    members = serializers.PrimaryKeyRelatedField(queryset=TEAM_USERS, many=True)
    version = serializers.IntegerField(min_value=1, required=False)


class CampaignTransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[t.action for t in INSPECTION])
    version = serializers.IntegerField(min_value=1, help_text=_("The campaign version you read; a stale one gives "
                                                                "409."))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000,
                                 help_text=_("Reasons; for “conclude”, the text of the conclusion."))


class TargetCreateSerializer(TargetPlanSerializer):
    campaign = serializers.IntegerField()


class TargetAssignSerializer(serializers.Serializer):
    inspectors = serializers.PrimaryKeyRelatedField(queryset=TEAM_USERS, many=True)
    planned_on = api_fields.DateField(required=False, allow_null=True, default=None)


class OutcomeSerializer(serializers.Serializer):
    outcome = OutcomeField(choices=[c for c in Outcome.values if c != Outcome.PENDING],
                           help_text=_("compliant, reminder or violation"))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                 help_text=_("Required for a reminder: what it is about."))
    violation_description = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                                  help_text=_("Required for a violation: the act, for the record."))
    recorded_at = api_fields.DateTimeField(required=False, allow_null=True, default=None,
                                            help_text=_("When the violation record was drawn up (default: now)."))


# --- Findings and photos -----------------------------------------------------------------------------------


class FindingSubmitSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(help_text=_("Made by the tablet; sending it again returns the stored finding."))
    target = serializers.IntegerField()
    item = serializers.IntegerField(help_text=_("A checklist item of the campaign's checklist version."))
    result = serializers.ChoiceField(choices=Finding.Result.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    latitude = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, allow_null=True, default=None, min_value=-180, max_value=180)
    accuracy = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0,
                                      max_value=ACCURACY_MAX_METRES, help_text=_("Of the position, in metres."))
    device_time = api_fields.DateTimeField(help_text=_("When the finding was made, on the tablet's clock."))

    def validate(self, attrs):
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            raise serializers.ValidationError({"latitude": [_("Give both latitude and longitude, or neither.")]})
        return attrs

    def service_arguments(self) -> dict:
        data = self.validated_data
        return {"uuid": data["uuid"], "target_id": data["target"], "item_id": data["item"],
                "result": data["result"], "note": data["note"], "latitude": data["latitude"],
                "longitude": data["longitude"], "accuracy": data["accuracy"], "device_time": data["device_time"]}


class PhotoSerializer(serializers.ModelSerializer):
    uuid = serializers.UUIDField(source="pk", read_only=True)
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = ["uuid", "finding", "sha256", "width", "height", "size", "received_at", "file_url",
                  "thumbnail_url", "taken_at", "taken_latitude", "taken_longitude"]

    def get_file_url(self, photo) -> str:
        return _url(self.context, f"/api/v1/inspections/photos/{photo.pk}/file/")

    def get_thumbnail_url(self, photo) -> str | None:
        if not photo.thumbnail:
            return None
        return _url(self.context, f"/api/v1/inspections/photos/{photo.pk}/thumbnail/")


class FindingSerializer(serializers.ModelSerializer):
    uuid = serializers.UUIDField(source="pk", read_only=True)
    item_code = serializers.CharField(source="item.code", read_only=True)
    inspector = UserBriefSerializer(read_only=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, read_only=True, coerce_to_string=False,
                                        allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, read_only=True, coerce_to_string=False,
                                         allow_null=True)
    accuracy = serializers.DecimalField(max_digits=8, decimal_places=1, read_only=True, coerce_to_string=False,
                                        allow_null=True)
    photos = PhotoSerializer(many=True, read_only=True)

    class Meta:
        model = Finding
        fields = ["uuid", "target", "item", "item_code", "result", "note", "latitude", "longitude", "accuracy",
                  "device_time", "inspector", "received_at", "fingerprint", "photos", "review_state", "review_note",
                  "reviewed_at"]


class FindingBatchSerializer(serializers.Serializer):
    findings = FindingSubmitSerializer(many=True, help_text=_("Each item is answered on its own."))


class FindingBatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text=_("Position of the item in the request."))
    uuid = serializers.CharField(allow_null=True)
    status = serializers.IntegerField(help_text=_("201 stored, 200 already stored, 409 conflict, 400 invalid..."))
    body = serializers.DictField(help_text=_("The stored finding, or an RFC 7807 problem."))


class FindingBatchResponseSerializer(serializers.Serializer):
    results = FindingBatchResultSerializer(many=True)


class PhotoUploadSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(help_text=_("Made by the tablet; sending it again returns the stored photo."))
    finding = serializers.UUIDField()
    file = serializers.FileField(help_text=_("JPEG, PNG or WebP."))
    taken_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                         help_text=_("When the camera took it (from the original's EXIF)."))
    taken_latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                              default=None, min_value=-90, max_value=90)
    taken_longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                               default=None, min_value=-180, max_value=180)


# --- Violations, sanctions, follow-ups, documents -------------------------------------------------------------


class SanctionSerializer(serializers.ModelSerializer):
    violation_number = serializers.CharField(source="violation.number_text", read_only=True)
    decided_by = UserBriefSerializer(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    decided_late = serializers.BooleanField(read_only=True)

    class Meta:
        model = SanctionDecision
        fields = ["id", "violation", "violation_number", "due_at", "decided_at", "decided_by", "number_text",
                  "fine_vnd", "remedial_measures", "is_overdue", "decided_late"]


class FollowUpSerializer(serializers.ModelSerializer):
    correction_due_on = api_fields.DateField()
    violation = VisibleRowField(queryset=ViolationRecord.objects.all(), agency_path="target__campaign__case__agency_id")

    class Meta:
        model = FollowUp
        fields = ["id", "violation", "correction_due_on", "note", "done_at", "done_note", "created_at"]
        read_only_fields = ["done_at", "done_note", "created_at"]


class ViolationSerializer(serializers.ModelSerializer):
    establishment = EstablishmentBriefSerializer(source="target.establishment", read_only=True)
    campaign = serializers.IntegerField(source="target.campaign_id", read_only=True)
    recorded_by = UserBriefSerializer(read_only=True)
    sanction = SanctionSerializer(read_only=True)
    follow_ups = FollowUpSerializer(many=True, read_only=True)

    class Meta:
        model = ViolationRecord
        fields = ["id", "number_text", "campaign", "target", "establishment", "description", "recorded_at",
                  "recorded_by", "sanction", "follow_ups"]


class SanctionDecideSerializer(serializers.Serializer):
    fine_vnd = serializers.IntegerField(min_value=1, max_value=FINE_MAX_VND, required=False, default=None,
                                        help_text=_("The fine in đồng (the sum of `fines` when the record cites "
                                                    "provisions)."))
    fines = serializers.DictField(child=serializers.IntegerField(), required=False, default=None,
                                  help_text=_("Provision id → fine in đồng, each within the provision's range for "
                                              "the offender's kind."))
    remedial_measures = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    decided_at = api_fields.DateTimeField(required=False, allow_null=True, default=None)


class ViolationOffenderSerializer(serializers.Serializer):
    offender_kind = serializers.ChoiceField(choices=["individual", "organisation"])
    offender_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    committed_on = api_fields.DateField(required=False, allow_null=True, default=None)
    provision_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=50)


class FollowUpDoneSerializer(serializers.Serializer):
    done_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    done_at = api_fields.DateTimeField(required=False, allow_null=True, default=None)
