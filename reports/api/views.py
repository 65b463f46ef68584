from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, mixins, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.selectors import agency_ids_visible
from cases import roles as r
from cases.api import fields as api_fields
from cases.api.permissions import HasRoleIn
from cases.api.serializers import CaseListSerializer
from cases.errors import ValidationFailed
from cases.selectors import cases_visible

from .. import services as report_services
from ..contributions import METRICS, cell_key
from ..exports import EXPORTS
from ..models import ExportJob
from ..quarters import Quarter
from ..tables import quarterly_report, report_agency

REPORT_READERS = HasRoleIn.of(r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR)


class _ExportRenderer(renderers.BaseRenderer):

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return EXPORTS[self.format][0](data)


def _renderer(fmt: str) -> type[renderers.BaseRenderer]:
    media_type, _sep, charset = EXPORTS[fmt][1].partition("; charset=")
    return type(f"{fmt.upper()}Renderer", (_ExportRenderer,),
                {"format": fmt, "media_type": media_type, "charset": charset or None})


QUARTER_PATTERN = r"^\d{4}-Q[1-4]$"
QUARTER_EXAMPLE = OpenApiExample("Q4/2019", value="2019-Q4")


def quarter_param(request) -> Quarter:
    try:
        quarter = Quarter.parse(request.query_params.get("quarter") or str(Quarter.current().previous()))
    except ValueError:
        raise ValidationFailed(_("The quarter must look like 2019-Q4."),
                               extra={"errors": {"quarter": [_("The quarter must look like 2019-Q4.")]}}) from None
    # 0000-Q1 or 9999-Q4 parse, but their first or last day is no date (a server error before this check)
    if error := api_fields.working_years_error(quarter):  # by its year: building its first day may fail
        raise ValidationFailed(error, extra={"errors": {"quarter": [error]}})
    return quarter


def agency_param(request, quarter: Quarter):
    """The agency whose report is read: `agency` (an id among the agencies the user may see), or the one agency of
    theirs that has a report for the quarter (several: a 400 listing them; none, or one they may not see: 404)."""
    return report_agency(quarter, agency_ids=agency_ids_visible(request.user),
                         requested=request.query_params.get("agency"))


AGENCY_PARAMETER = OpenApiParameter(
    "agency", int, description="The agency whose report it is (its id). Default: the one agency you may see that "
    "existed in the quarter; when you see several, a 400 problem lists them (`agencies`).")


class QuarterlyReportView(APIView):
    """One agency's tables of a quarter: procedure results (seed table I.5) with the previous quarter and the
    change, processing statistics per procedure and inspections; the agency as of the quarter (`agency`) and the
    note of a quarter it started or ended in (`note`). `format=json|csv|xlsx|docx`."""

    permission_classes = [IsAuthenticated, REPORT_READERS]
    renderer_classes = [renderers.JSONRenderer, *(_renderer(fmt) for fmt in EXPORTS)]

    @extend_schema(parameters=[
        OpenApiParameter("quarter", str, description="e.g. 2019-Q4; default: the previous quarter",
                         pattern=QUARTER_PATTERN, examples=[QUARTER_EXAMPLE]),
        AGENCY_PARAMETER,
        OpenApiParameter("format", str, enum=["json", *EXPORTS]),
    ], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        quarter = quarter_param(request)
        agency = agency_param(request, quarter)
        report = quarterly_report(quarter, agency=agency)
        base = request.build_absolute_uri("/api/v1/reports/quarterly/cases/")
        for table in ("procedure_results", "processing"):
            for row in report[table]:
                row["cases_urls"] = {
                    metric: f"{base}?quarter={quarter}&agency={agency.pk}&type={row['code']}&metric={metric}"
                    for metric in (("results",) if table == "procedure_results" else METRICS)
                }
        response = Response(report)
        fmt = getattr(request.accepted_renderer, "format", "json")
        if fmt in EXPORTS:
            name = f"bao-cao-{quarter}-{agency.code}.{EXPORTS[fmt][2]}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def options(self, request, *args, **kwargs):
        """The view's description is JSON: asked for as a report file (`?format=csv`), it is a 406 problem."""
        if getattr(request.accepted_renderer, "format", "json") in EXPORTS:
            raise exceptions.NotAcceptable(_("Only the report itself comes as %(format)s; ask for this description "
                                             "without a format.") % {"format": request.accepted_renderer.format})
        return super().options(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code >= 400:  # errors are problem JSON whatever format was asked
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/problem+json"
        return super().finalize_response(request, response, *args, **kwargs)


class QuarterlyCellCasesView(generics.ListAPIView):
    """The exact cases behind one number of an agency's quarterly tables (`agency` as for the report)."""

    permission_classes = [IsAuthenticated, REPORT_READERS]
    serializer_class = CaseListSerializer

    @extend_schema(parameters=[
        OpenApiParameter("quarter", str, required=True, pattern=QUARTER_PATTERN, examples=[QUARTER_EXAMPLE]),
        AGENCY_PARAMETER,
        OpenApiParameter("type", str, required=True, description="The procedure's code, as in the report's rows.",
                         examples=[OpenApiExample("Printing licence", value="printing_licence")]),
        OpenApiParameter("metric", str, required=True, enum=list(METRICS)),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return cases_visible(user=self.request.user).none()
        quarter = quarter_param(self.request)
        metric = self.request.query_params.get("metric", "")
        if metric not in METRICS:
            raise ValidationFailed(_("Unknown figure."), extra={"errors": {"metric": [_("Unknown figure.")]}})
        code = self.request.query_params.get("type", "")
        agency = agency_param(self.request, quarter)
        return (cases_visible(user=self.request.user)
                .filter(case_type__code=code, contribution__cells__has_key=cell_key(quarter, metric, agency.pk))
                .order_by("decided_at", "received_at", "id"))


class ExportJobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "format", "received_from", "received_to", "status", "rows_total", "rows_done", "progress",
                  "error", "created_at", "finished_at", "download_url"]

    def get_progress(self, job) -> float:
        if job.status == ExportJob.Status.DONE:
            return 1.0
        return round(job.rows_done / job.rows_total, 3) if job.rows_total else 0.0

    def get_download_url(self, job) -> str | None:
        return f"/api/v1/reports/exports/{job.pk}/download/" if job.status == ExportJob.Status.DONE else None


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "xlsx"])
    received_from = api_fields.DateTimeField()
    received_to = api_fields.DateTimeField()
    uuid = serializers.UUIDField(required=False)


class ExportJobViewSet(viewsets.GenericViewSet, mixins.RetrieveModelMixin, mixins.ListModelMixin):
    """Large exports of every case field, written by a worker; poll `progress`, then download. An export holds the
    cases of the agencies the requester may see (theirs and their predecessors'), as they may see them when it
    runs."""

    permission_classes = [IsAuthenticated, REPORT_READERS]
    serializer_class = ExportJobSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        return ExportJob.objects.filter(requested_by=self.request.user)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer, 200: ExportJobSerializer},
                   examples=[OpenApiExample("Q4/2019 as CSV", request_only=True, value={
                       "format": "csv", "received_from": "2019-10-01T00:00:00+07:00",
                       "received_to": "2020-01-01T00:00:00+07:00", "uuid": "3f1c6a52-8d0e-4c1b-9a57-0b1f6d2e7c41"})])
    def create(self, request):
        """Queue an export (202). The same `uuid` sent again by the same user returns that job (200); a `uuid`
        already used by someone else is a 409."""
        shape = ExportRequestSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        job, created = report_services.export_request(actor=request.user, **shape.validated_data)
        return Response(ExportJobSerializer(job).data, status=202 if created else 200)

    @extend_schema(responses={(200, EXPORTS[fmt][1].split(";")[0]): bytes for fmt in ("csv", "xlsx")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        job = self.get_object()
        if job.status != ExportJob.Status.DONE:
            raise ValidationFailed(_("The export is not finished yet."),
                                   extra={"errors": {"status": [job.status]}})
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1],
                            content_type=EXPORTS[job.format][1])
