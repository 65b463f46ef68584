"""The periodic reports' API (/api/v1/reports/documents/): list and open reports, read one with its sections and who
still owes them, write a section (with the version read: a stale one is a 409 problem), hand it in, take a workflow
action, download the DOCX or PDF; enter or import indicator values. Every view needs a department role; what a user
may do is checked by the reports services (their division, their role, the report's state), errors are RFC 7807
problems (cases/api/problems.py)."""

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.models import Agency
from agencies.selectors import agency_ids_member
from cases.api.permissions import HasDepartmentRole
from cases.errors import NotFound, ValidationFailed

from .. import report_services as rs
from ..indicator_import import indicators_import
from ..indicators import indicator_get, value_set
from ..periods import Period
from ..report_selectors import DOCX_TYPE, actions_for, report_file, report_summary, reports_visible

MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _period(text) -> Period:
    try:
        period = Period.parse(str(text or ""))
    except ValueError:
        message = _("The period must look like 2019-Q4, 2020-H1 or 2020.")
        raise ValidationFailed(message, extra={"errors": {"period": [message]}}) from None
    if not 2000 <= period.year <= 2100:
        message = _("The period must look like 2019-Q4, 2020-H1 or 2020.")
        raise ValidationFailed(message, extra={"errors": {"period": [message]}})
    return period


def _agency(request, value=None) -> Agency:
    """The agency named (an id among the user's own agencies), or the user's one agency."""
    mine = agency_ids_member(request.user)
    if value not in (None, ""):
        try:
            pk = int(value)
        except (TypeError, ValueError):
            pk = None
        if pk not in mine:
            message = _("Agency not found among yours.")
            raise ValidationFailed(message, extra={"errors": {"agency": [message]}})
        return Agency.objects.get(pk=pk)
    today_agencies = [a for a in Agency.objects.filter(pk__in=mine) if a.valid_to is None]
    if len(today_agencies) != 1:
        message = _("Name the agency (its id).")
        raise ValidationFailed(message, extra={"errors": {"agency": [message]}})
    return today_agencies[0]


def _report(request, pk: int):
    report = reports_visible(user=request.user).filter(pk=pk).first()
    if report is None:
        raise NotFound(_("Report not found."))
    return report


def report_data(report, user) -> dict:
    summary = report_summary(report)
    return {
        "id": report.pk, "period": report.period, "kind": report.kind, "agency": {"id": report.agency_id,
                                                                                 "name": str(report.agency)},
        "summary": report.summary, "state": report.case.state, "case_version": report.case.version,
        "version": report.version, "number": report.number_text or None,
        "issued_at": report.issued_at.isoformat() if report.issued_at else None,
        "recipients": report.recipients,
        "sections": [{"code": s.code, "heading": s.heading, "division": {"code": s.division.code,
                                                                         "name": s.division.name},
                      "text": s.text, "version": s.version, "submitted": s.submitted_at is not None,
                      "may_edit": rs.may_edit_section(user, s) and report.case.state in rs.WRITING}
                     for s in summary["sections"]],
        "owed": [{"code": s.code, "division": s.division.name} for s in summary["owed"]],
        "indicators_missing": [i.code for i in summary["indicators_missing"]],
        "actions": actions_for(user, report),
        "docx_url": f"/api/v1/reports/documents/{report.pk}/file.docx",
        "pdf_url": f"/api/v1/reports/documents/{report.pk}/file.pdf",
    }


class ReportBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.CharField()
    agency = serializers.IntegerField()
    state = serializers.CharField()
    number = serializers.CharField(allow_null=True)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    agency = serializers.IntegerField(required=False)


class ReportCreateSerializer(serializers.Serializer):
    period = serializers.CharField(max_length=10)
    agency = serializers.IntegerField(required=False)


class SectionSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, max_length=rs.MAX_TEXT, trim_whitespace=False)
    version = serializers.IntegerField(min_value=1)


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class ReportTransitionSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=40)
    version = serializers.IntegerField(min_value=1, required=False)
    note = serializers.CharField(allow_blank=True, required=False, max_length=2000)


class ValueSerializer(serializers.Serializer):
    indicator = serializers.CharField(max_length=60)
    period = serializers.CharField(max_length=10)
    value = serializers.IntegerField(min_value=-(10**15) + 1, max_value=10**15 - 1)
    version = serializers.IntegerField(min_value=0, required=False)
    agency = serializers.IntegerField(required=False)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationFailed(_("The data sent is not valid."), extra={"errors": serializer.errors})
    return serializer.validated_data


class ReportListView(APIView):
    """GET: the reports the user may see. POST {period, agency?}: open the agency's report of the period (the
    office and the head; asked again, the same report, 200)."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(operation_id="v1_reports_documents_list", responses={200: ReportBriefSerializer(many=True)})
    def get(self, request):
        reports = reports_visible(user=request.user).order_by("-period", "agency_id")[:200]
        return Response([{"id": x.pk, "period": x.period, "agency": x.agency_id, "state": x.case.state,
                          "number": x.number_text or None} for x in reports])

    @extend_schema(request=ReportCreateSerializer, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request):
        data = _valid(ReportCreateSerializer, request.data)
        report, created = rs.report_create(actor=request.user, agency=_agency(request, data.get("agency")),
                                           period=_period(data["period"]))
        return Response(report_data(report, request.user), status=201 if created else 200)


class ReportDetailView(APIView):
    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        return Response(report_data(_report(request, pk), request.user))


class SectionView(APIView):
    """PUT {text, version}: the division writes its section; 409 `stale_version` when someone saved in between."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(request=SectionSerializer, responses={200: OpenApiTypes.OBJECT})
    def put(self, request, pk: int, code: str):
        report = _report(request, pk)
        data = _valid(SectionSerializer, request.data)
        section = rs.section_edit(actor=request.user, report_id=report.pk, code=code, text=data["text"],
                                  version=data["version"])
        return Response({"code": section.code, "version": section.version, "text": section.text,
                         "submitted": section.submitted_at is not None})


class SectionSubmitView(APIView):
    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(request=VersionSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk: int, code: str):
        report = _report(request, pk)
        data = _valid(VersionSerializer, request.data)
        section = rs.section_submit(actor=request.user, report_id=report.pk, code=code, version=data["version"])
        return Response({"code": section.code, "version": section.version, "submitted": True})


class RecipientsSerializer(serializers.Serializer):
    recipients = serializers.ListField(child=serializers.CharField(max_length=300), max_length=40)
    version = serializers.IntegerField(min_value=1)


class RecipientsView(APIView):
    """PUT {recipients: ["- Bộ TT&TT;", …, "- Lưu: VT."], version}: the office sets Nơi nhận before the issue."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(request=RecipientsSerializer, responses={200: OpenApiTypes.OBJECT})
    def put(self, request, pk: int):
        report = _report(request, pk)
        data = _valid(RecipientsSerializer, request.data)
        report = rs.recipients_set(actor=request.user, report_id=report.pk, lines=data["recipients"],
                                   version=data["version"])
        return Response(report_data(report, request.user))


class RedraftView(APIView):
    """POST {version}: draft I.4 again from the period's campaigns (a new version of the section)."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(request=VersionSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk: int):
        report = _report(request, pk)
        data = _valid(VersionSerializer, request.data)
        section = rs.section_redraft(actor=request.user, report_id=report.pk, version=data["version"])
        return Response({"code": section.code, "version": section.version, "text": section.text,
                         "submitted": section.submitted_at is not None})


class ReportTransitionView(APIView):
    """POST {action, version, note}: open_contributions, submit_for_review, return_for_changes, approve_report,
    issue_report (number, date, content frozen), send_report."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(request=ReportTransitionSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk: int):
        report = _report(request, pk)
        data = _valid(ReportTransitionSerializer, request.data)
        report = rs.report_transition(actor=request.user, report_id=report.pk, action=data["action"],
                                      version=data.get("version"), note=data.get("note", ""))
        return Response(report_data(report, request.user))


class ReportFileView(APIView):
    """GET file.docx or file.pdf: the report as printed (an issued report: its frozen content, the same bytes)."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(responses={(200, DOCX_TYPE): OpenApiTypes.BINARY, (200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, pk: int, fmt: str):
        report = _report(request, pk)
        if fmt not in ("docx", "pdf"):
            message = _("The format is docx or pdf.")
            raise ValidationFailed(message, extra={"errors": {"format": [message]}})
        data, content_type, name = report_file(report, fmt)
        response = HttpResponse(data, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class IndicatorValueView(APIView):
    """POST {indicator, period, value, version?, agency?}: enter or correct a value (the indicator's division)."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]

    @extend_schema(request=ValueSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        data = _valid(ValueSerializer, request.data)
        try:
            indicator = indicator_get(data["indicator"])
        except NotFound as unknown:
            raise ValidationFailed(unknown.detail, extra={"errors": {"indicator": [unknown.detail]}}) from None
        row = value_set(actor=request.user, indicator=indicator,
                        agency=_agency(request, data.get("agency")), period=_period(data["period"]),
                        value=data["value"], version=data.get("version"))
        return Response({"indicator": row.indicator.code, "period": row.period, "value": row.value,
                         "version": row.version, "source": row.source})


class IndicatorImportView(APIView):
    """POST multipart `file` (CSV or XLSX: indicator, period, value) and `agency`: every row or none; a 400 problem
    lists the bad rows (`rows`: row, column, message)."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request={"multipart/form-data": ImportSerializer}, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            message = _("No file was sent.")
            raise ValidationFailed(message, extra={"errors": {"file": [message]}})
        if upload.size > MAX_IMPORT_BYTES:
            message = _("The file is too large.")
            raise ValidationFailed(message, extra={"errors": {"file": [message]}})
        result = indicators_import(actor=request.user, agency=_agency(request, request.data.get("agency")),
                                   name=upload.name or "", data=upload.read(MAX_IMPORT_BYTES + 1))
        return Response(result)
