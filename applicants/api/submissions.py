"""/api/v1/portal/submissions/: the representative's online dossiers (draft, fields, files, declaration and
submission, withdrawal), scoped to their organisation; /api/v1/portal/office/submissions/: the officers' side
(the dossiers waiting, receive, ask to complete, refuse to receive). The same services as the pages."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from agencies.models import Agency
from cases.api.permissions import HasRoleIn
from cases.api.strict import strict
from cases.models import Case

from .. import submissions as services
from ..access import IsRepresentative, submissions_visible
from ..models import Submission, SubmissionFile

OfficeRoles = HasRoleIn.of(*sorted(services.OFFICE_ROLES))


class SubmissionFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubmissionFile
        fields = ["uuid", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at"]
        read_only_fields = fields


class SubmissionSerializer(serializers.ModelSerializer):
    procedure_name = serializers.SerializerMethodField()
    agency_name = serializers.CharField(source="agency.name", read_only=True, default="")
    files = SubmissionFileSerializer(many=True, read_only=True)
    missing_files = serializers.SerializerMethodField()
    case_reference = serializers.CharField(source="case.reference", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Submission
        fields = ["uuid", "procedure", "procedure_name", "agency", "agency_name", "state", "fields", "version",
                  "declared_at", "submitted_at", "handled_at", "reasons", "case_reference", "files",
                  "missing_files", "created_at", "updated_at"]
        read_only_fields = fields

    def get_procedure_name(self, obj) -> str:
        return services.procedure_name(obj.procedure)

    def get_missing_files(self, obj) -> list[str]:
        return services.files_missing(obj)


class ApplicantOrganisationSerializer(serializers.Serializer):
    name = serializers.CharField()
    tax_code = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class OfficeSubmissionSerializer(SubmissionSerializer):
    organisation = ApplicantOrganisationSerializer(read_only=True)
    case = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta(SubmissionSerializer.Meta):
        fields = [*SubmissionSerializer.Meta.fields, "organisation", "case"]
        read_only_fields = fields


class SubmissionCreateSerializer(serializers.Serializer):
    procedure = serializers.CharField(max_length=64)
    uuid = serializers.UUIDField(required=False, help_text="Made by the client: the same uuid again returns the "
                                                          "stored draft (200), never a second one.")
    agency = serializers.PrimaryKeyRelatedField(queryset=Agency.objects.all(), required=False,
                                                help_text="Only where several agencies handle the procedure.")


class SubmissionUpdateSerializer(serializers.Serializer):
    fields = serializers.DictField(help_text="The procedure's fields (GET /api/v1/portal/procedures/ lists them); "
                                             "those sent replace all that were stored. Each value is checked now, "
                                             "the required ones at submission.")
    version = serializers.IntegerField(min_value=1, max_value=2_147_483_647)


class SubmissionFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.CharField(max_length=40)


class SubmissionSubmitSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2_147_483_647)
    declaration = serializers.BooleanField(help_text="The applicant declares the dossier true and complete: "
                                                     "required (true) to submit.")


class SubmissionVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2_147_483_647)


class SubmissionReasonsSerializer(SubmissionVersionSerializer):
    reasons = serializers.CharField(max_length=5000)


class SubmissionReceivedSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    reference = serializers.CharField()
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)


class PortalProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    fields = serializers.DictField(child=serializers.CharField())
    required_files = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))


SubmissionCreate = strict(SubmissionCreateSerializer)
SubmissionUpdate = strict(SubmissionUpdateSerializer)
Submit = strict(SubmissionSubmitSerializer)
Version = strict(SubmissionVersionSerializer)
Reasons = strict(SubmissionReasonsSerializer)


class ProcedureListView(viewsets.ViewSet):
    """The procedures that can be submitted online, their fields and the files they need."""

    permission_classes = [IsAuthenticated, IsRepresentative]

    @extend_schema(responses=PortalProcedureSerializer(many=True))
    def list(self, request):
        return Response(PortalProcedureSerializer(services.procedures_offered(), many=True).data)


class SubmissionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The organisation's online dossiers. Another organisation's dossier is not found (404)."""

    permission_classes = [IsAuthenticated, IsRepresentative]
    serializer_class = SubmissionSerializer
    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    filterset_fields = ["state", "procedure"]
    ordering_fields = ["created_at", "updated_at", "submitted_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return submissions_visible(self.request.user).select_related("agency", "case").prefetch_related("files")

    def _detail(self, submission, code=status.HTTP_200_OK):
        return Response(SubmissionSerializer(self.get_queryset().get(pk=submission.pk)).data, status=code)

    @extend_schema(request=SubmissionCreate, responses={201: SubmissionSerializer, 200: SubmissionSerializer})
    def create(self, request):
        """Start a draft of a procedure, addressed to the agency competent for it today."""
        shape = SubmissionCreate(data=request.data)
        shape.is_valid(raise_exception=True)
        submission, created = services.submission_create(representative=request.representative,
                                                         **shape.validated_data)
        return self._detail(submission, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=SubmissionUpdate, responses=SubmissionSerializer)
    def update(self, request, uuid=None):
        """Save the draft's fields, with the version read (409 if it moved on)."""
        submission = self.get_object()
        shape = SubmissionUpdate(data=request.data)
        shape.is_valid(raise_exception=True)
        services.submission_update(representative=request.representative, submission_uuid=submission.uuid,
                                   **shape.validated_data)
        return self._detail(submission)

    @extend_schema(request=SubmissionFileUploadSerializer, responses={201: SubmissionFileSerializer,
                                                            200: SubmissionFileSerializer})
    @action(detail=True, methods=["post"], url_path="files", parser_classes=[MultiPartParser, FormParser])
    def files(self, request, uuid=None):
        """Attach a file (checked as at the counter: type proven by content, size, pages, pixels). The same file
        again is stored once (200)."""
        submission = self.get_object()
        shape = SubmissionFileUploadSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        item, created = services.file_add(representative=request.representative, submission_uuid=submission.uuid,
                                          upload=shape.validated_data["file"], kind=shape.validated_data["kind"])
        return Response(SubmissionFileSerializer(item).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"files/(?P<file_uuid>[0-9a-fA-F-]{36})")
    def file_delete(self, request, uuid=None, file_uuid=None):
        """Take a file out of the draft."""
        submission = self.get_object()
        get_object_or_404(submission.files.all(), uuid=file_uuid)
        services.file_remove(representative=request.representative, submission_uuid=submission.uuid,
                             file_uuid=file_uuid)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=Submit, responses=SubmissionSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, uuid=None):
        """Declare and submit: every field valid, every required file attached (400 naming what is missing).
        Submitting again a dossier already submitted changes nothing."""
        submission = self.get_object()
        shape = Submit(data=request.data)
        shape.is_valid(raise_exception=True)
        services.submission_submit(representative=request.representative, submission_uuid=submission.uuid,
                                   version=shape.validated_data["version"],
                                   declared=shape.validated_data["declaration"])
        return self._detail(submission)

    @extend_schema(request=Version, responses=SubmissionSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, uuid=None):
        """Withdraw the dossier before it is received."""
        submission = self.get_object()
        shape = Version(data=request.data)
        shape.is_valid(raise_exception=True)
        services.submission_withdraw(representative=request.representative, submission_uuid=submission.uuid,
                                     version=shape.validated_data["version"])
        return self._detail(submission)


class OfficeSubmissionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Online dossiers sent to the officer's agencies; the list holds those waiting to be received, oldest
    first."""

    permission_classes = [IsAuthenticated, OfficeRoles]
    serializer_class = OfficeSubmissionSerializer
    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    ordering_fields = ["submitted_at", "created_at"]

    def get_queryset(self):
        qs = services.office_visible(self.request.user).select_related("agency", "case", "organisation") \
            .prefetch_related("files")
        if self.action == "list":
            return qs.filter(state=Submission.State.SUBMITTED).order_by("submitted_at", "id")
        return qs

    def _detail(self, submission):
        return Response(OfficeSubmissionSerializer(self.get_queryset().get(pk=submission.pk)).data)

    @extend_schema(request=Version, responses={201: SubmissionReceivedSerializer, 200: SubmissionReceivedSerializer})
    @action(detail=True, methods=["post"])
    def receive(self, request, uuid=None):
        """Receive the dossier: its case begins now (the due date from the procedure's terms). Receiving again
        a dossier already received answers its case (200)."""
        submission = self.get_object()
        shape = Version(data=request.data)
        shape.is_valid(raise_exception=True)
        case, created = services.submission_receive(actor=request.user, submission_uuid=submission.uuid,
                                                    version=shape.validated_data["version"])
        case = Case.objects.get(pk=case.pk)
        return Response(SubmissionReceivedSerializer({"case": case.pk, "reference": case.reference,
                                            "received_at": case.received_at, "due_at": case.due_at}).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=Reasons, responses=OfficeSubmissionSerializer)
    @action(detail=True, methods=["post"], url_path="request-completion")
    def request_completion(self, request, uuid=None):
        """Ask the applicant to complete the dossier before it is received; they are told by e-mail."""
        submission = self.get_object()
        shape = Reasons(data=request.data)
        shape.is_valid(raise_exception=True)
        services.submission_request_completion(actor=request.user, submission_uuid=submission.uuid,
                                               **shape.validated_data)
        return self._detail(submission)

    @extend_schema(request=Reasons, responses=OfficeSubmissionSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request, uuid=None):
        """Refuse to receive the dossier, with the reasons; the applicant is told by e-mail."""
        submission = self.get_object()
        shape = Reasons(data=request.data)
        shape.is_valid(raise_exception=True)
        services.submission_refuse(actor=request.user, submission_uuid=submission.uuid, **shape.validated_data)
        return self._detail(submission)


router = SimpleRouter()
router.register("submissions", SubmissionViewSet, basename="portal-submission")
router.register("procedures", ProcedureListView, basename="portal-procedure")
office_router = SimpleRouter()
office_router.register("submissions", OfficeSubmissionViewSet, basename="portal-office-submission")

urlpatterns = [
    path("", include(router.urls)),
    path("office/", include(office_router.urls)),
]
