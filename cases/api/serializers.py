"""Shapes only: the rules live in cases.services."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases import roles as r
from cases.models import Attachment, Case, CaseEvent, CaseType, CaseTypeTerms
from cases.transfer import transfer_text
from cases.workflow import transitions_available

from . import fields

User = get_user_model()


class UserBriefSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.username


class CaseTypeTermsSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseTypeTerms
        fields = ["effective_from", "result_unit", "limit_amount", "limit_unit", "legal_basis"]


class CaseTypeSerializer(serializers.ModelSerializer):
    terms = CaseTypeTermsSerializer(many=True, read_only=True)

    class Meta:
        model = CaseType
        fields = ["id", "code", "name_vi", "name_en", "domain", "report_order", "reference_prefix", "active", "terms"]


class CaseListSerializer(serializers.ModelSerializer):
    type = serializers.SlugRelatedField(source="case_type", slug_field="code", read_only=True)
    assignee = UserBriefSerializer(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    agency = fields.AgencyField(read_only=True, joined=True, help_text=_("The agency holding the case."))

    class Meta:
        model = Case
        fields = [
            "id", "uuid", "reference", "type", "agency", "state", "summary", "subject_name", "assignee",
            "received_at", "due_at", "decided_at", "closed_at", "outcome", "result_number", "is_overdue", "version",
        ]


class CaseCreateSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(required=False, help_text=_("Client-made id: sending it again returns the stored case."))
    type = serializers.SlugRelatedField(slug_field="code", queryset=CaseType.objects.all())
    subject_name = serializers.CharField(max_length=300)
    subject_address = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    received_at = fields.DateTimeField(required=False)
    data = serializers.JSONField(required=False, default=dict)

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Must be a JSON object."))
        return value


class EventSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(read_only=True, allow_null=True)  # system events have none
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    summary = serializers.SerializerMethodField(
        help_text=_("The event in words where its kind alone does not say it (a transfer: from which agency to "
                    "which); empty otherwise."))

    class Meta:
        model = CaseEvent
        fields = ["id", "at", "kind", "kind_label", "summary", "action", "actor", "from_state", "to_state", "before",
                  "after", "note"]

    def get_summary(self, event) -> str:
        if event.kind == CaseEvent.Kind.TRANSFER:
            return transfer_text(event.before, event.after)
        return ""


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = UserBriefSerializer(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "uuid", "original_name", "content_type", "size", "sha256", "description", "kind", "uploaded_by",
                  "uploaded_at", "download_url"]

    def get_download_url(self, attachment) -> str:
        request = self.context.get("request")
        url = f"/api/v1/cases/{attachment.case_id}/attachments/{attachment.pk}/download/"
        return request.build_absolute_uri(url) if request else url


class ActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    requires_note = serializers.BooleanField()


class CaseDetailSerializer(CaseListSerializer):
    type_name = serializers.CharField(source="case_type.name_vi", read_only=True)
    terms = CaseTypeTermsSerializer(read_only=True)
    created_by = UserBriefSerializer(read_only=True)
    members = UserBriefSerializer(many=True, read_only=True)
    timeline = EventSerializer(source="events", many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField()

    class Meta(CaseListSerializer.Meta):
        fields = CaseListSerializer.Meta.fields + [
            "type_name", "terms", "subject_address", "contact_email", "contact_phone", "data", "proposal",
            "outcome_reasons", "paused_at", "created_by", "members", "timeline", "attachments", "actions",
        ]

    def get_actions(self, case) -> list[dict]:
        request = self.context.get("request")
        roles = r.user_roles(request.user) if request else frozenset()
        return [
            {"action": t.action, "label": str(t.label), "requires_note": t.requires_note}
            for t in transitions_available(domain=case.case_type.domain, state=case.state, roles=roles)
        ]


class TransitionSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=40)
    version = serializers.IntegerField(min_value=1, help_text=_("The case version you read; a stale one gives 409."))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    new_due_at = fields.DateTimeField(required=False)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), allow_null=True)
    version = serializers.IntegerField(min_value=1)


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)
    uuid = serializers.UUIDField(required=False, help_text=_("Client-made id: sending it again returns the stored note."))


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    kind = serializers.SlugField(max_length=40, required=False, allow_blank=True, default="",
                                 help_text=_("What the file is in the dossier, e.g. manuscript, shipping_documents."))
    uuid = serializers.UUIDField(required=False)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()
    roles = serializers.ListField(child=serializers.CharField())
    role_labels = serializers.ListField(child=serializers.CharField())
