"""Section II: the indicators catalogue is data, values are entered by the responsible division, imported from CSV or
XLSX (a file with a bad row imports nothing and names every bad row), or computed where the service owns the data
(documents it signed); the previous period's value gives the change, notes follow their rule, and numbers are
written the Vietnamese way."""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from cases.errors import NotAllowed, ValidationFailed
from documents.models import VerifiableDocument
from reports.indicator_import import indicators_import
from reports.indicators import indicators_table, value_set, vn_change, vn_number
from reports.models import Indicator, IndicatorValue
from reports.periods import Period

from .support_reports import report_world

pytestmark = pytest.mark.django_db
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_numbers_are_written_the_vietnamese_way():
    assert [vn_number(v) for v in (1307424, -112955, 27, 0)] == ["1.307.424", "-112.955", "27", "0"]
    assert [vn_change(v) for v in (-1926, 434, 0)] == ["-1.926", "+434", "0"]


def test_the_catalogue_is_loaded_as_data_with_parents_and_note_rules():
    report_world()
    signed = Indicator.objects.get(code="documents_signed")
    assert (signed.parent.code, signed.unit, signed.note_rule, signed.note_of.code) == (
        "eoffice_documents", "VB", "share_of", "documents_sent")
    assert Indicator.objects.get(code="eoffice_units").children_inline
    assert not Indicator.objects.get(code="population").shown


def _enter(world, values: dict, period: str, user=None):
    for code, value in values.items():
        indicator = Indicator.objects.get(code=code)
        value_set(actor=user or world.head, indicator=indicator, agency=world.agency, period=Period.parse(period),
                  value=value)


def test_change_and_notes_come_from_the_previous_period_and_the_rules():
    world = report_world()
    _enter(world, {"documents_signed": 4235, "documents_sent": 6087, "phone_subscribers": 1307424,
                   "population": 1860447, "portal_items": 264}, "2026-Q3")
    _enter(world, {"documents_signed": 6161, "phone_subscribers": 1420379}, "2026-Q2")
    rows = {row["code"]: row for row in indicators_table(world.agency, Period.parse("2026-Q3"))}
    assert (rows["documents_signed"]["value"], rows["documents_signed"]["change"], rows["documents_signed"]["note"]) \
        == (["4.235"], "-1.926", "= 70% số VB gửi liên thông")
    assert (rows["phone_subscribers"]["change"], rows["phone_subscribers"]["note"]) == ("-112.955", "70,3 TB/100 dân")
    assert rows["documents_sent"]["change"] == ""  # no previous value: no change printed
    assert rows["portal_items"]["tt"] == "6" and rows["documents_signed"]["tt"] == ""
    assert "population" not in rows


def test_only_the_responsible_division_enters_an_indicator():
    world = report_world()
    indicator = Indicator.objects.get(code="phone_subscribers")  # Phòng BCVT's
    with pytest.raises(NotAllowed):
        value_set(actor=world.writers["cntt"], indicator=indicator, agency=world.agency,
                  period=Period.parse("2026-Q3"), value=5)
    value_set(actor=world.writers["bcvt"], indicator=indicator, agency=world.agency, period=Period.parse("2026-Q3"),
              value=5)
    assert IndicatorValue.objects.get(indicator=indicator).value == 5


def test_the_service_computes_the_documents_it_signed_unless_a_value_was_entered():
    world = report_world()
    for day, n in ((date(2026, 7, 3), 1), (date(2026, 9, 30), 2), (date(2026, 10, 1), 3)):
        VerifiableDocument.objects.create(code=f"TEST{n}", issuer=world.agency, issuer_name="Sở", kind="giấy phép",
                                          number_text=f"{n}/GP", issued_on=day, sha256=f"{n:064d}",
                                          pdf=f"documents/signed/2026/test{n}.pdf",
                                          signed_at=datetime(day.year, day.month, day.day, 10, tzinfo=HCM))
    rows = {row["code"]: row for row in indicators_table(world.agency, Period.parse("2026-Q3"))}
    assert rows["documents_signed"]["value"] == ["2"]
    _enter(world, {"documents_signed": 40}, "2026-Q3")
    rows = {row["code"]: row for row in indicators_table(world.agency, Period.parse("2026-Q3"))}
    assert rows["documents_signed"]["value"] == ["40"]


def test_a_csv_with_bad_rows_imports_nothing_and_names_each_bad_row():
    world = report_world()
    bad = ("indicator,period,value\n"
           "documents_sent,2026-Q3,6.087\n"
           "no_such_indicator,2026-Q3,5\n"
           "documents_out,2026-Q5,7493\n"
           "documents_in,2026-Q3,mười\n"
           "documents_sent,2026-Q3,6088\n")
    with pytest.raises(ValidationFailed) as refused:
        indicators_import(actor=world.writers["cntt"], agency=world.agency, name="chi-tieu.csv",
                          data=bad.encode())
    rows = refused.value.extra["rows"]
    assert {(e["row"], e["column"]) for e in rows} == {(3, "indicator"), (4, "period"), (5, "value"),
                                                        (6, "indicator")}
    assert IndicatorValue.objects.count() == 0  # the good row was not written either

    # A division member importing another division's indicator: refused (403), nothing written.
    with pytest.raises(NotAllowed) as foreign:
        indicators_import(actor=world.writers["cntt"], agency=world.agency, name="x.csv",
                          data=b"indicator,period,value\nphone_subscribers,2026-Q3,1307424\n")
    assert foreign.value.extra["rows"][0]["row"] == 2

    good = "indicator;period;value\ndocuments_sent;2026-Q3;6.087\ndocuments_out;2026-Q3;7493\n"
    assert indicators_import(actor=world.writers["cntt"], agency=world.agency, name="chi-tieu.csv",
                             data=good.encode())["imported"] == 2
    assert dict(IndicatorValue.objects.values_list("indicator__code", "value")) == {
        "documents_sent": 6087, "documents_out": 7493}
    assert set(IndicatorValue.objects.values_list("source", flat=True)) == {"imported"}


def test_an_xlsx_imports_the_same_way():
    world = report_world()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["indicator", "period", "value"])
    sheet.append(["eoffice_units", "2026-Q3", 789])
    sheet.append(["eoffice_units_commune", "2026-Q3", 683.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(ValidationFailed) as refused:
        indicators_import(actor=world.writers["cntt"], agency=world.agency, name="t.xlsx", data=buffer.getvalue())
    assert refused.value.extra["rows"] == [{"row": 3, "column": "value", "message": "Giá trị phải là số nguyên."}]
    assert IndicatorValue.objects.count() == 0
    sheet["C3"] = 683
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert indicators_import(actor=world.writers["cntt"], agency=world.agency, name="t.xlsx",
                             data=buffer.getvalue())["imported"] == 2
