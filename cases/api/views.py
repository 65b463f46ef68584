from django.db.models import Prefetch
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is 404, not 500
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import hooks, services
from cases import roles as r
from cases.errors import ValidationFailed
from cases.filters import CaseFilter
from cases.models import Attachment, CaseEvent, CaseType
from cases.selectors import cases_visible

from . import serializers as s
from .permissions import HasDepartmentRole
from .strict import strict

# A transition refuses fields it does not take (a `decided_at` is not silently dropped): 400 naming them.
TransitionSerializer = strict(s.TransitionSerializer)


class CaseTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """The catalogue: licensing procedures and inspection types with their dated terms."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    serializer_class = s.CaseTypeSerializer
    queryset = CaseType.objects.prefetch_related("terms")
    lookup_field = "code"
    filterset_fields = ["domain", "active"]
    pagination_class = None


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):
    """Cases the user may see. Writes go through the case engine's services."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    filterset_class = CaseFilter
    ordering_fields = ["received_at", "due_at", "decided_at", "reference", "state"]
    ordering = ["-received_at", "-id"]

    def get_queryset(self):
        qs = cases_visible(user=self.request.user)
        if self.action == "retrieve":
            qs = qs.select_related("terms", "created_by").prefetch_related(
                "members",
                Prefetch("events", queryset=CaseEvent.objects.select_related("actor")),
                Prefetch("attachments", queryset=Attachment.objects.select_related("uploaded_by")),
            )
        return qs

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.CaseDetailSerializer
        if self.action == "create":
            return s.CaseCreateSerializer
        return s.CaseListSerializer

    def _detail(self, case, status_code=status.HTTP_200_OK):
        case = cases_visible(user=self.request.user).select_related("terms", "created_by").prefetch_related(
            "members", "events__actor", "attachments__uploaded_by").get(pk=case.pk)
        return Response(s.CaseDetailSerializer(case, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(request=s.CaseCreateSerializer, responses={201: s.CaseDetailSerializer, 200: s.CaseDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Receive a case. Sending the same `uuid` again returns the stored case (200), never a second one."""
        serializer = s.CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if where := hooks.own_door(data["type"].domain):
            # A licensing case is its procedure's dossier, received with its fields and checks: never a bare case.
            raise ValidationFailed(
                _("Cases of this kind are received through %(where)s, with their dossier.") % {"where": where},
                extra={"errors": {"type": [_("Use %(where)s for this kind of case.") % {"where": where}]}})
        case, created = services.case_create(actor=request.user, case_type=data.pop("type"), **data)
        return self._detail(case, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=TransitionSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="transitions")
    def transitions(self, request, pk=None):
        """Take a workflow action: `{action, version, note}` (`new_due_at` for an apology); 409 when the state or
        version moved on; 400 naming any other field sent (a decision is dated when it is taken)."""
        case = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.case_transition(case_id=case.pk, actor=request.user, **serializer.validated_data)
        return self._detail(case)

    @extend_schema(request=s.AssignSerializer, responses=s.CaseDetailSerializer)
    @action(detail=True, methods=["post"], url_path="assign")
    def assign(self, request, pk=None):
        case = self.get_object()
        serializer = s.AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.case_assign(case_id=case.pk, actor=request.user, **serializer.validated_data)
        return self._detail(case)

    @extend_schema(request=s.NoteSerializer, responses={201: s.EventSerializer, 200: s.EventSerializer})
    @action(detail=True, methods=["post"], url_path="notes")
    def notes(self, request, pk=None):
        case = self.get_object()
        serializer = s.NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event, created = services.case_note_add(case_id=case.pk, actor=request.user, **serializer.validated_data)
        return Response(s.EventSerializer(event).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses=s.EventSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="events")
    def events(self, request, pk=None):
        """The case's timeline, oldest first."""
        case = self.get_object()
        page = self.paginate_queryset(case.events.select_related("actor").order_by("at", "id"))
        return self.get_paginated_response(s.EventSerializer(page, many=True).data)


# The stored file keeps the media type its content proved (cases/attachments.py accepts these).
ATTACHMENT_MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf",
                          "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


class CaseAttachmentViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Files of one case. Type is proven by content; the same file twice is stored once."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    serializer_class = s.AttachmentSerializer
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = None

    def get_case(self):
        return get_object_or_404(cases_visible(user=self.request.user), pk=self.kwargs["case_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no case
            return Attachment.objects.none()
        return Attachment.objects.filter(case=self.get_case()).select_related("uploaded_by")

    @extend_schema(request=s.AttachmentUploadSerializer, responses={201: s.AttachmentSerializer, 200: s.AttachmentSerializer})
    def create(self, request, *args, **kwargs):
        case = self.get_case()
        upload = s.AttachmentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        attachment, created = services.attachment_add(case_id=case.pk, actor=request.user,
                                                      upload=upload.validated_data["file"],
                                                      description=upload.validated_data["description"],
                                                      kind=upload.validated_data["kind"],
                                                      uuid=upload.validated_data.get("uuid"))
        return Response(self.get_serializer(attachment).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={(200, media_type): bytes for media_type in ATTACHMENT_MEDIA_TYPES},
                   parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)])
    @action(detail=True, methods=["get"], url_path="download")
    def download(self, request, case_pk=None, pk=None):
        from cases.attachments import download_name  # the extension follows the stored type

        attachment = get_object_or_404(self.get_queryset(), pk=pk)
        return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=download_name(attachment),
                            content_type=attachment.content_type)


class MeView(APIView):
    """Who is signed in, with their roles."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        user = request.user
        roles = sorted(r.user_roles(user))
        return Response(s.MeSerializer({
            "id": user.pk, "username": user.username, "name": user.get_full_name() or user.username,
            "email": user.email or "", "roles": roles, "role_labels": [str(r.ROLE_LABELS[x]) for x in roles],
        }).data)
