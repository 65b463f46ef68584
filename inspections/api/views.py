"""The inspections API: views check the shape, call one service and render the result."""

from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from agencies.selectors import agency_ids_visible
from cases.api.problems import problem
from cases.errors import Conflict, NotFound, ValidationFailed

from .. import selectors, services
from ..filters import (
    CampaignFilter,
    ChecklistTemplateFilter,
    DocumentFilter,
    EstablishmentFilter,
    FindingFilter,
    FollowUpFilter,
    PhotoFilter,
    SanctionFilter,
    TargetFilter,
    ViolationFilter,
)
from ..models import ChecklistTemplate, Establishment, Finding, Photo, Target
from . import serializers as s
from .permissions import CampaignData, CampaignLeads, Registry

BATCH_MAX = 500
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PROBLEM = OpenApiResponse(description="RFC 7807 problem details (application/problem+json).")


def _targets_prefetch() -> Prefetch:
    return Prefetch("targets", queryset=selectors.target_counts(
        Target.objects.select_related("establishment", "violation").prefetch_related("inspectors")).order_by(
        "planned_on", "pk"))


# --- Registry and checklists -------------------------------------------------------------------------------


class EstablishmentViewSet(viewsets.ModelViewSet):
    """The registry of establishments that campaigns inspect: the entries of the user's agencies and of their
    predecessors. Inspection roles read; leads write (in their own agency's registry)."""

    permission_classes = [IsAuthenticated, Registry]
    serializer_class = s.EstablishmentSerializer
    filterset_class = EstablishmentFilter
    ordering_fields = ["name", "kind", "created_at"]

    def get_queryset(self):
        return Establishment.objects.filter(agency_id__in=agency_ids_visible(self.request.user)).select_related(
            "print_facility").prefetch_related("print_facility__permits")

    def perform_create(self, serializer):
        serializer.instance = services.establishment_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.establishment_update(actor=self.request.user,
                                                            establishment_id=serializer.instance.pk,
                                                            **serializer.validated_data)

    def perform_destroy(self, instance):
        services.establishment_delete(actor=self.request.user, establishment_id=instance.pk)


class ChecklistTemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """Checklist versions per inspection type, with their items."""

    permission_classes = [IsAuthenticated, Registry]
    serializer_class = s.ChecklistTemplateSerializer
    queryset = ChecklistTemplate.objects.select_related("case_type").prefetch_related("items")
    filterset_class = ChecklistTemplateFilter
    pagination_class = None


# --- Campaigns and targets -----------------------------------------------------------------------------------


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    """Campaigns the user may see: an inspector those they are on, leads, the head and the reporter all."""

    permission_classes = [IsAuthenticated, CampaignLeads]
    filterset_class = CampaignFilter
    ordering_fields = ["period_start", "announced_at", "created_at"]
    ordering = ["-period_start", "-id"]

    def get_queryset(self):
        qs = selectors.campaigns_visible(user=self.request.user)
        if self.action != "list":
            qs = qs.prefetch_related("case__members", "checklist__items", "documents", _targets_prefetch())
        return qs

    def get_serializer_class(self):
        if self.action == "list":
            return s.CampaignListSerializer
        if self.action == "create":
            return s.CampaignCreateSerializer
        return s.CampaignDetailSerializer

    def _detail(self, campaign, status_code=status.HTTP_200_OK):
        campaign = selectors.campaigns_visible(user=self.request.user).prefetch_related(
            "case__members", "checklist__items", "documents", _targets_prefetch()).get(pk=campaign.pk)
        return Response(s.CampaignDetailSerializer(campaign, context=self.get_serializer_context()).data,
                        status=status_code)

    @extend_schema(request=s.CampaignCreateSerializer,
                   responses={201: s.CampaignDetailSerializer, 200: s.CampaignDetailSerializer, 400: PROBLEM})
    def create(self, request, *args, **kwargs):
        """Plan a campaign with its team and targets. The same `uuid` again returns the stored campaign (200)."""
        shape = s.CampaignCreateSerializer(data=request.data, context=self.get_serializer_context())
        shape.is_valid(raise_exception=True)
        data = dict(shape.validated_data)
        targets = [services.TargetPlan(establishment=t["establishment"], inspectors=tuple(t["inspectors"]),
                                       planned_on=t["planned_on"]) for t in data.pop("targets")]
        campaign, created = services.campaign_plan(actor=request.user, case_type=data.pop("type"), targets=targets,
                                                   **data)
        return self._detail(campaign, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=s.CampaignTransitionSerializer, responses={200: s.CampaignDetailSerializer, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        """A workflow step: announce (takes the decision number), start_fieldwork, close_findings, conclude (the
        note is the conclusion; its document follows), close, cancel."""
        campaign = self.get_object()
        shape = s.CampaignTransitionSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        campaign = services.campaign_transition(actor=request.user, campaign_id=campaign.pk, **shape.validated_data)
        return self._detail(campaign)

    @extend_schema(request=s.TeamSerializer, responses={200: s.CampaignDetailSerializer})
    @action(detail=True, methods=["post"])
    def team(self, request, pk=None):
        """Set the lead and the members; members who leave lose their target assignments."""
        campaign = self.get_object()
        shape = s.TeamSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        campaign = services.campaign_team_set(actor=request.user, campaign_id=campaign.pk, **shape.validated_data)
        return self._detail(campaign)


class TargetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Targets of the campaigns the user may see; `?mine=true` gives the visits assigned to the user."""

    permission_classes = [IsAuthenticated, CampaignData]
    serializer_class = s.TargetSerializer
    filterset_class = TargetFilter
    ordering_fields = ["planned_on", "visited_at", "outcome_at"]
    ordering = ["planned_on", "id"]

    def get_queryset(self):
        return selectors.target_counts(selectors.targets_visible(user=self.request.user).select_related(
            "violation").prefetch_related("inspectors"))

    def _render(self, target, status_code=status.HTTP_200_OK):
        return Response(s.TargetSerializer(self.get_queryset().get(pk=target.pk),
                                           context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(request=s.TargetCreateSerializer, responses={201: s.TargetSerializer})
    def create(self, request, *args, **kwargs):
        shape = s.TargetCreateSerializer(data=request.data, context=self.get_serializer_context())
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        campaign = get_object_or_404(selectors.campaigns_visible(user=request.user), pk=data["campaign"])
        target = services.target_add(actor=request.user, campaign_id=campaign.pk, establishment=data["establishment"],
                                     inspectors=data["inspectors"], planned_on=data["planned_on"])
        return self._render(target, status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.target_remove(actor=self.request.user, target_id=instance.pk)

    @extend_schema(request=s.TargetAssignSerializer, responses=s.TargetSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        target = self.get_object()
        shape = s.TargetAssignSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        target = services.target_assign(actor=request.user, target_id=target.pk, **shape.validated_data)
        return self._render(target)

    @extend_schema(request=s.OutcomeSerializer, responses={200: s.TargetSerializer, 400: PROBLEM, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        """Close the visit: compliant, reminder, or violation (opens the violation record and its sanction
        decision, due 7 working days later). The visit minutes follow by task."""
        target = self.get_object()
        shape = s.OutcomeSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        target = services.target_outcome_set(actor=request.user, target_id=target.pk, **shape.validated_data)
        return self._render(target)


# --- Findings and photos -----------------------------------------------------------------------------------


class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Findings sent by the tablets under their own ids: sending one again is harmless."""

    permission_classes = [IsAuthenticated, CampaignData]
    serializer_class = s.FindingSerializer
    filterset_class = FindingFilter
    ordering_fields = ["device_time", "received_at"]
    ordering = ["target", "device_time", "received_at"]

    def get_queryset(self):
        return selectors.findings_visible(user=self.request.user).prefetch_related("photos")

    def _render(self, finding, *, new: bool = False) -> dict:
        if new:  # just stored by this request, with its item and inspector at hand and no photo yet
            finding._prefetched_objects_cache = {"photos": Photo.objects.none()}
        else:
            finding = Finding.objects.select_related("item", "inspector").prefetch_related("photos").get(pk=finding.pk)
        return s.FindingSerializer(finding, context=self.get_serializer_context()).data

    @extend_schema(request=s.FindingSubmitSerializer,
                   responses={201: s.FindingSerializer, 200: s.FindingSerializer, 400: PROBLEM, 403: PROBLEM,
                              409: OpenApiResponse(description="The id holds a different finding: the problem "
                                                               "carries `sent`, and `stored` when the caller may "
                                                               "read the stored finding; or the campaign is not in "
                                                               "the field.")})
    def create(self, request, *args, **kwargs):
        """Store one finding: 201 when new, 200 when this id already holds the same finding, 409 when it holds
        a different one (with the stored finding only for someone who may read it)."""
        shape = s.FindingSubmitSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        finding, created = services.finding_submit(actor=request.user, **shape.service_arguments())
        return Response(self._render(finding, new=created),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=s.FindingBatchSerializer, responses={200: s.FindingBatchResponseSerializer, 400: PROBLEM})
    @action(detail=False, methods=["post"])
    def batch(self, request):
        """Many findings at once (at most 500). Each item is answered on its own, in order, with the status and
        body a single POST would have given; a refused item costs only itself."""
        raw = request.data.get("findings") if isinstance(request.data, dict) else None
        if not isinstance(raw, list) or not raw:
            raise ValidationError({"findings": [_("A non-empty list of findings is required.")]})
        if len(raw) > BATCH_MAX:
            raise ValidationError({"findings": [_("At most %(max)d findings per batch.") % {"max": BATCH_MAX}]})
        results: list[dict | None] = [None] * len(raw)
        valid: list[tuple[int, dict]] = []
        for index, item in enumerate(raw):
            shape = s.FindingSubmitSerializer(data=item)
            if shape.is_valid():
                valid.append((index, shape.service_arguments()))
                continue
            sent_uuid = item.get("uuid") if isinstance(item, dict) else None
            results[index] = {"index": index, "uuid": str(sent_uuid) if sent_uuid else None, "status": 400,
                              "body": problem(status_code=400, code="validation", title=_("The data sent is not valid."),
                                              detail=_("Check the fields listed in “errors”."),
                                              errors=shape.errors)}
        answers = services.findings_batch_submit(actor=request.user, items=[args for _index, args in valid])
        stored = Finding.objects.select_related("item", "inspector").prefetch_related("photos").in_bulk(
            [answer.finding.pk for answer in answers if answer.finding is not None])
        context = self.get_serializer_context()
        for (index, args), answer in zip(valid, answers, strict=True):
            if answer.finding is not None:
                body = s.FindingSerializer(stored[answer.finding.pk], context=context).data
            else:
                error = answer.error
                body = problem(status_code=error.status, code=error.code, title=error.title, detail=error.detail,
                               **error.extra)
            results[index] = {"index": index, "uuid": str(args["uuid"]), "status": answer.status, "body": body}
        return Response({"results": results})


class PhotoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Photos of findings: checked, re-encoded as JPEG without metadata, stored once per content."""

    permission_classes = [IsAuthenticated, CampaignData]
    serializer_class = s.PhotoSerializer
    filterset_class = PhotoFilter
    parser_classes = [MultiPartParser, FormParser]
    ordering = ["received_at"]

    def get_queryset(self):
        return selectors.photos_visible(user=self.request.user)


    @extend_schema(request={"multipart/form-data": s.PhotoUploadSerializer},
                   responses={201: s.PhotoSerializer, 200: s.PhotoSerializer, 400: PROBLEM, 403: PROBLEM,
                              409: PROBLEM})
    def create(self, request, *args, **kwargs):
        """Upload a photo (multipart: `uuid`, `finding`, `file`): 201 when stored, 200 when this id or this
        content is already stored for the finding, 400 when it is not an acceptable photo (more pixels than
        `UPLOAD_MAX_PIXELS` is refused from the image's header, before decoding), 403 off the campaign's team, 409
        when the finding has not been received or the id holds another photo (`stored` only for someone who may
        read it). Who may add the photo is checked before the file is opened."""
        shape = s.PhotoUploadSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        photo, created = services.photo_add(actor=request.user, uuid=data["uuid"], finding_id=data["finding"],
                                            upload=data["file"], taken_at=data["taken_at"],
                                            taken_latitude=data["taken_latitude"],
                                            taken_longitude=data["taken_longitude"])
        return Response(s.PhotoSerializer(photo, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        photo = self.get_object()
        return FileResponse(photo.file.open("rb"), content_type="image/jpeg", filename=f"{photo.pk}.jpg")

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    @action(detail=True, methods=["get"])
    def thumbnail(self, request, pk=None):
        photo = self.get_object()
        if not photo.thumbnail:
            raise Http404
        return FileResponse(photo.thumbnail.open("rb"), content_type="image/jpeg", filename=f"{photo.pk}-small.jpg")


# --- Violations, sanctions, follow-ups, documents -------------------------------------------------------------


class ViolationViewSet(viewsets.ReadOnlyModelViewSet):
    """Violation records ("01/BB-VPHC"), opened by a target's violation outcome."""

    permission_classes = [IsAuthenticated, CampaignData]
    serializer_class = s.ViolationSerializer
    filterset_class = ViolationFilter
    ordering_fields = ["recorded_at", "number"]

    def get_queryset(self):
        return selectors.violations_visible(user=self.request.user).select_related(
            "recorded_by", "sanction__decided_by").prefetch_related("follow_ups")

    @extend_schema(request=s.ViolationOffenderSerializer, responses={200: s.ViolationSerializer, 400: PROBLEM})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, CampaignLeads])
    def offender(self, request, pk=None):
        """Write the offender and the provisions violated, chosen from the catalogue in force on the day of the
        violation (a provision not in force then is refused)."""
        violation = self.get_object()
        shape = s.ViolationOffenderSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        services.violation_offender_set(actor=request.user, violation_id=violation.pk, **shape.validated_data)
        return Response(s.ViolationSerializer(self.get_queryset().get(pk=violation.pk)).data)


class SanctionViewSet(viewsets.ReadOnlyModelViewSet):
    """Sanction decisions, each due 7 working days after its violation record."""

    permission_classes = [IsAuthenticated, CampaignLeads]
    serializer_class = s.SanctionSerializer
    filterset_class = SanctionFilter
    ordering_fields = ["due_at", "decided_at"]

    def get_queryset(self):
        return selectors.sanctions_visible(user=self.request.user).select_related("decided_by")

    @extend_schema(request=s.SanctionDecideSerializer, responses={200: s.SanctionSerializer, 409: PROBLEM})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Record the decision ("01/QĐ-XPVPHC"): the fine in VND and the remedial measures."""
        sanction = self.get_object()
        shape = s.SanctionDecideSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        sanction = services.sanction_decide(actor=request.user, sanction_id=sanction.pk, **shape.validated_data)
        return Response(s.SanctionSerializer(self.get_queryset().get(pk=sanction.pk)).data)


@extend_schema_view(create=extend_schema(responses={201: s.FollowUpSerializer, 409: PROBLEM}))
class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    """The checks that violations were corrected by their due date."""

    permission_classes = [IsAuthenticated, CampaignData]
    serializer_class = s.FollowUpSerializer
    filterset_class = FollowUpFilter
    ordering_fields = ["correction_due_on", "done_at"]

    def get_queryset(self):
        return selectors.follow_ups_visible(user=self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        get_object_or_404(selectors.violations_visible(user=self.request.user), pk=data["violation"].pk)
        serializer.instance = services.follow_up_record(actor=self.request.user, violation_id=data["violation"].pk,
                                                        correction_due_on=data["correction_due_on"],
                                                        note=data.get("note", ""))

    @extend_schema(request=s.FollowUpDoneSerializer, responses=s.FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        """Record that the correction was verified."""
        follow_up = self.get_object()
        shape = s.FollowUpDoneSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        follow_up = services.follow_up_done(actor=request.user, follow_up_id=follow_up.pk, **shape.validated_data)
        return Response(s.FollowUpSerializer(follow_up).data)


class DocumentViewSet(viewsets.ReadOnlyModelViewSet):
    """Visit minutes, violation records and conclusions, rendered as DOCX by tasks."""

    permission_classes = [IsAuthenticated, CampaignData]
    serializer_class = s.DocumentSerializer
    filterset_class = DocumentFilter

    def get_queryset(self):
        return selectors.documents_visible(user=self.request.user).select_related("verifiable")

    def perform_content_negotiation(self, request, force=False):
        # On the download, ?format= names the file's format (docx, pdf), not one of the API's renderers.
        return super().perform_content_negotiation(request, force=force or self.action == "download")

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["docx", "pdf"], required=False, description=(
            "docx (default): the document as rendered; pdf: its signed PDF/A, which anyone can check at "
            "/verify/<code>/ (409 until it is signed, a few seconds after it is made)."))],
        responses={(200, DOCX): bytes, (200, "application/pdf"): bytes, 409: PROBLEM})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        document = self.get_object()
        wanted = request.query_params.get("format", "docx")
        if wanted not in ("docx", "pdf"):
            raise ValidationFailed(_("The format must be docx or pdf."),
                                   extra={"errors": {"format": [_("The format must be docx or pdf.")]}})
        stem = f"{(document.number_text or document.kind).replace('/', '-')}-{document.pk}"
        if wanted == "pdf":
            verifiable = document.verifiable
            if verifiable is None:
                raise NotFound(_("This document was made before electronic copies: it has no signed PDF."))
            if not verifiable.is_signed:
                raise Conflict(_("The signed PDF of this document is not ready yet: it is made a few seconds "
                                 "after the document. The campaign's timeline says if signing failed."))
            return FileResponse(verifiable.pdf.open("rb"), as_attachment=True, filename=f"{stem}.pdf",
                                content_type="application/pdf")
        return FileResponse(document.file.open("rb"), as_attachment=True, content_type=DOCX, filename=f"{stem}.docx")

