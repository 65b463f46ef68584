"""POST /api/v1/licensing/imports/: a past register (CSV or XLSX) imported, or checked with `dry_run`."""

from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import roles as r
from cases.api.parsers import CleanFormParser, CleanMultiPartParser
from cases.api.permissions import HasRoleIn
from cases.api.strict import StrictFields
from cases.errors import ValidationFailed

from ..imports import register_import, register_read_upload


class RegisterImportRequestSerializer(StrictFields, serializers.Serializer):
    file = serializers.FileField(help_text=gettext_lazy(
        "The register: CSV (UTF-8) or XLSX, one dossier per row, headers as in docs/register-import-template.csv."))
    agency = serializers.SlugField(max_length=60, help_text=gettext_lazy(
        "The code of the agency whose register it is, e.g. thai-binh-stttt: one you work for or one it succeeded."))
    dry_run = serializers.BooleanField(default=False, help_text=gettext_lazy(
        "Only check the rows and say what an import would do; nothing is written."))


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=gettext_lazy("The row as the spreadsheet numbers it (header: 1)."))
    column = serializers.CharField(help_text=gettext_lazy("The column's header as the file writes it."))
    field = serializers.CharField(help_text=gettext_lazy("The column's key, e.g. received_at."))
    code = serializers.CharField()
    message = serializers.CharField()


class ImportCaseSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    case = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("null in a dry run."))
    reference = serializers.CharField(allow_null=True)
    procedure = serializers.CharField()
    outcome = serializers.CharField()
    number = serializers.CharField(allow_blank=True)


class ImportSkippedSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    case = serializers.IntegerField()
    reference = serializers.CharField()


class ImportSummarySerializer(serializers.Serializer):
    procedure = serializers.CharField()
    outcome = serializers.CharField()
    count = serializers.IntegerField()


class ImportQuarterSerializer(serializers.Serializer):
    quarter = serializers.CharField()
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=["current", "ended", "closed"])
    rows = serializers.IntegerField()
    note = serializers.CharField()


class ImportNumbersSerializer(serializers.Serializer):
    series = serializers.CharField()
    symbol = serializers.CharField()
    year = serializers.IntegerField()
    imported = serializers.IntegerField()
    highest = serializers.IntegerField()
    counter_before = serializers.IntegerField()
    counter_after = serializers.IntegerField()
    next_number = serializers.CharField()
    missing = serializers.ListField(child=serializers.IntegerField())
    missing_count = serializers.IntegerField()


class ImportReportSerializer(serializers.Serializer):
    source = serializers.CharField(allow_blank=True)
    sha256 = serializers.CharField(allow_blank=True)
    agency = serializers.CharField()
    dry_run = serializers.BooleanField()
    ok = serializers.BooleanField()
    rows = serializers.IntegerField()
    imported = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
    skipped = ImportSkippedSerializer(many=True)
    cases = ImportCaseSerializer(many=True)
    summary = ImportSummarySerializer(many=True)
    quarters = ImportQuarterSerializer(many=True)
    numbers = ImportNumbersSerializer(many=True)
    columns_ignored = serializers.ListField(child=serializers.CharField())
    notes = serializers.ListField(child=serializers.CharField())


class RegisterImportView(APIView):
    """Import a department's past register, or check it (`dry_run`). For the head and administrators."""

    permission_classes = [IsAuthenticated, HasRoleIn.of(r.DEPARTMENT_HEAD, r.ADMINISTRATOR)]
    parser_classes = [CleanMultiPartParser, CleanFormParser]

    @extend_schema(
        operation_id="licensing_register_import",
        request={"multipart/form-data": RegisterImportRequestSerializer},
        responses={200: ImportReportSerializer, 201: ImportReportSerializer},
        description=(
            "Past dossiers and permits from a register (CSV UTF-8 or XLSX, at most 10 MB and 50,000 rows; headers "
            "as in docs/register-import-template.csv), with their real receipt and decision dates, outcomes and "
            "numbers. Every row is checked first: if any row is wrong nothing is written and the answer is a 400 "
            "problem whose `report.errors` lists each row's errors (row, column, message). `dry_run`: 200 with the "
            "report of what an import would do. Otherwise 201 with the report of the cases made (200 when every "
            "row had been imported before: a register sent again is not duplicated). Rows that would count in a "
            "closed quarter are refused. Imported results have no file: their download is a 404."),
    )
    def post(self, request):
        shape = RegisterImportRequestSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = shape.validated_data
        sheet = register_read_upload(data["file"])
        report = register_import(rows=sheet.rows, columns=sheet.columns, actor=request.user, agency=data["agency"],
                                 dry_run=data["dry_run"], source=sheet.name, sha256=sheet.sha256)
        body = ImportReportSerializer(report.as_dict()).data
        if not report.ok:
            message = _("The register has %(count)d errors (listed in report.errors): nothing was imported.") % {
                "count": len(report.errors)}
            raise ValidationFailed(message, extra={"errors": {"file": [message]}, "report": body})
        created = not report.dry_run and report.imported > 0
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


urlpatterns = [path("", RegisterImportView.as_view(), name="register-import")]
