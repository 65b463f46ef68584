"""Past registers imported: Thái Bình's Sở TTTT brings its 2019 register of dossiers and permits into the service.

Every row is checked first; one wrong row and nothing is written, the report naming each row's errors (row, column,
message). A good register becomes cases in their final state with their real dates, a timeline that says they were
imported and from where, permits in the registry, number counters raised so that the next licence of the year follows
the highest imported number, and one figures refresh per quarter touched. A register sent again is not duplicated;
a quarter whose figures are closed takes no imported dossier. Also: a transition refuses fields it does not take.
"""

import csv
import io
import json
import zipfile
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook

from agencies.models import Agency
from cases import roles as r
from cases import services as case_services
from cases.models import Case, CaseEvent, Sequence
from licensing import services as licensing_services
from licensing.imports import COLUMNS, register_import, register_read
from licensing.models import Dossier, IssuedDocument, Organisation, Permit, PrintFacility
from reports import backfill
from reports.models import ClosedQuarter
from reports.quarters import Quarter
from reports.tables import quarterly_report
from worker.models import OutboxMessage

from .factories import UserFactory, case_make
from .support_licensing import REQUIRED_FILE, applicant, dossier, upload

pytestmark = pytest.mark.django_db
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
URL = "/api/v1/licensing/imports/"
STTTT = "thai-binh-stttt"
HEADERS = [column.header for column in COLUMNS]
REFUSAL_REASONS = "Nội dung tài liệu có phần không phù hợp với mục đích xuất bản không kinh doanh."


def row(**values) -> dict:
    """One register row under the template's Vietnamese headers (keys: the column keys)."""
    by_key = {column.key: column.header for column in COLUMNS}
    return {"STT": "", **{by_key[key]: value for key, value in values.items()}}


UNIVERSITY = {"applicant": "Trường Đại học Thái Bình", "tax_code": "1001045872",
              "address": "Xã Tân Bình, TP Thái Bình"}
REGISTER_2019 = [
    row(procedure="bulletin", **UNIVERSITY, summary="Bản tin Đại học Thái Bình", received_at="02/05/2019",
        decided_at="20/05/2019", outcome="Cấp", number="03/GP-STTTT", issued_at="21/05/2019",
        signer="Vũ Tiến Khoái"),
    row(procedure="Cấp giấy phép hoạt động in", applicant="Công ty TNHH In Hoàng Long", tax_code="1001123456",
        address="Lô C5, Khu công nghiệp Phúc Khánh, TP Thái Bình", summary="Giấy phép hoạt động in",
        received_at="01/08/2019 08:30", decided_at="15/08/2019", outcome="Cấp giấy phép", number="Số: 7/GP-STTTT",
        issued_at="16/08/2019", valid_until="16/08/2024", facility_name="Xưởng in Hoàng Long",
        facility_address="Lô C5, Khu công nghiệp Phúc Khánh, TP Thái Bình"),
    row(procedure="press_conference", applicant="Hội Nông dân tỉnh Thái Bình", tax_code="1000358921",
        summary="Hội chợ nông sản an toàn", received_at="06/05/2019 09:00", decided_at="06/05/2019 15:00",
        outcome="granted", number="02/VB-STTTT"),
    row(procedure="noncommercial_publication", applicant="Sở Y tế tỉnh Thái Bình", tax_code="1000277810",
        summary="Tài liệu truyền thông phòng chống dịch", received_at="10/10/2019", decided_at="25/10/2019",
        outcome="Từ chối", number="05/STTTT-TTBCXB", reasons=REFUSAL_REASONS),
    row(procedure="publication_import", applicant="Trường Đại học Y Dược Thái Bình", received_at="05/11/2019",
        decided_at="12/11/2019", outcome="Rút hồ sơ"),
    row(procedure="bulletin", **UNIVERSITY, summary="Bản tin Đại học Thái Bình, số đặc biệt",
        received_at="02/12/2019", decided_at="20/12/2019", outcome="Cấp", number="12/GP-STTTT",
        issued_at="23/12/2019"),
]


def csv_bytes(rows: list[dict], *, bom: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["STT", *HEADERS])
    writer.writeheader()
    for number, values in enumerate(rows, start=1):
        writer.writerow({**values, "STT": number})
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def import_rows(actor, rows, *, dry_run=False, agency=STTTT, source="so-theo-doi-2019.csv"):
    sheet = register_read(name=source, data=csv_bytes(rows))
    return register_import(rows=sheet.rows, columns=sheet.columns, actor=actor, agency=agency, dry_run=dry_run,
                           source=sheet.name, sha256=sheet.sha256)


def stored() -> dict:
    """What an import writes: nothing of it may be left by a refused one."""
    return {"cases": Case.objects.count(), "events": CaseEvent.objects.count(), "dossiers": Dossier.objects.count(),
            "organisations": Organisation.objects.count(), "documents": IssuedDocument.objects.count(),
            "permits": Permit.objects.count(), "facilities": PrintFacility.objects.count(),
            "counters": sorted(Sequence.objects.values_list("key", "year", "last_value")),
            "outbox": OutboxMessage.objects.count()}


def local(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


@pytest.fixture
def stttt():
    return Agency.objects.get(code=STTTT)


# --- Checks: every row's errors, nothing written ---------------------------------------------------------------------


def test_a_register_with_errors_in_several_rows_lists_them_all_and_writes_nothing(head):
    before = stored()
    rows = [
        REGISTER_2019[0],
        {**REGISTER_2019[1], "Thủ tục": "Cấp phép karaoke"},  # row 3: not one of the six procedures
        {**REGISTER_2019[2], "Ngày quyết định": "01/05/2019"},  # row 4: decided before it was received
        {**REGISTER_2019[3], "Số văn bản": "05/SKHCN-TTBCXB", "Lý do": ""},  # row 5: another agency's, no reasons
        {**REGISTER_2019[5], "Số văn bản": ""},  # row 6: a grant without its number
        {**REGISTER_2019[4], "Ngày tiếp nhận": "31/02/2019"},  # row 7: no such day
        {**REGISTER_2019[0], "Thủ tục": "bulletin", "Số văn bản": "03/GP-STTTT"},  # row 8: row 2's dossier again
    ]
    for dry_run in (True, False):
        report = import_rows(head, rows, dry_run=dry_run)
        assert not report.ok and report.imported == 0
        found = {(error["row"], error["column"], error["code"]) for error in report.errors}
        assert found == {
            (3, "Thủ tục", "procedure_unknown"),
            (4, "Ngày quyết định", "date_order"),
            (5, "Số văn bản", "number_symbol"),
            (5, "Lý do", "reasons_required"),
            (6, "Số văn bản", "required"),
            (7, "Ngày tiếp nhận", "date_invalid"),
            (8, "Số văn bản", "row_repeated"),
        }
        assert all(error["message"] for error in report.errors)
        assert [error["row"] for error in report.errors] == sorted(error["row"] for error in report.errors)
        assert stored() == before


def test_a_number_must_be_the_procedures_series_and_the_agencys_symbol_of_its_date(head):
    rows = [
        {**REGISTER_2019[0], "Số văn bản": "03/VB-STTTT"},  # a bulletin licence is a GP
        {**REGISTER_2019[1], "Số văn bản": "07/2020/GP-STTTT"},  # issued in 2019
        {**REGISTER_2019[2], "Số văn bản": "02/VB-SVHTTDL"},  # the successor's symbol, six years early
        # the agency's 2019 register holds a 2025 decision: Sở TTTT was gone by then
        {**REGISTER_2019[5], "Ngày tiếp nhận": "20/02/2025", "Ngày quyết định": "10/03/2025",
         "Ngày ban hành": "10/03/2025"},
    ]
    report = import_rows(head, rows, dry_run=True)
    assert {(error["row"], error["code"]) for error in report.errors} == {
        (2, "number_series"), (3, "number_year"), (4, "number_symbol"), (5, "agency_not_in_force")}


def test_missing_columns_are_named_before_any_row_is_read(head):
    sheet = register_read(name="thieu-cot.csv", data="Thủ tục,Tổ chức đề nghị\nbulletin,Trường A\n".encode())
    report = register_import(rows=sheet.rows, columns=sheet.columns, actor=head, agency=STTTT, dry_run=True)
    assert {(error["row"], error["column"], error["code"]) for error in report.errors} == {
        (1, "Ngày tiếp nhận", "column_missing"), (1, "Ngày quyết định", "column_missing"),
        (1, "Kết quả", "column_missing")}


# --- A good register -------------------------------------------------------------------------------------------------


def test_a_dry_run_says_what_the_import_would_do_and_writes_nothing(head):
    before = stored()
    report = import_rows(head, REGISTER_2019, dry_run=True)
    assert report.ok and report.dry_run and report.imported == 0
    assert [case["row"] for case in report.cases] == [2, 3, 4, 5, 6, 7]
    assert all(case["case"] is None for case in report.cases)
    assert [(q["quarter"], q["status"], q["rows"]) for q in report.quarters] == [
        ("2019-Q2", "ended", 2), ("2019-Q3", "ended", 1), ("2019-Q4", "ended", 3)]
    numbers = {(n["series"], n["year"]): n for n in report.numbers}
    assert numbers[("GP", 2019)]["highest"] == 12 and numbers[("GP", 2019)]["next_number"] == "13/GP-STTTT"
    assert numbers[("GP", 2019)]["missing"] == [1, 2, 4, 5, 6, 8, 9, 10, 11]
    assert numbers[("CV", 2019)]["next_number"] == "06/STTTT-TTBCXB"
    assert stored() == before


def test_a_good_register_becomes_cases_with_their_dates_outcomes_numbers_and_timeline(head, stttt, api):
    report = import_rows(head, REGISTER_2019)
    assert report.ok and report.imported == 6 and not report.skipped
    cases = {c["row"]: Case.objects.get(pk=c["case"]) for c in report.cases}

    licence = cases[2]
    assert (licence.state, licence.outcome, licence.agency) == ("issued", "granted", stttt)
    assert licence.received_at == local(2019, 5, 2) and licence.decided_at == local(2019, 5, 20)
    assert licence.closed_at == local(2019, 5, 21) and licence.result_number == "03/GP-STTTT"
    assert licence.reference.startswith("BT-2019-") and licence.created_by == head
    printing = cases[3]
    assert printing.received_at == local(2019, 8, 1, 8, 30) and printing.result_number == "07/GP-STTTT"
    refused = cases[5]
    assert (refused.state, refused.outcome, refused.outcome_reasons) == ("refused", "refused", REFUSAL_REASONS)
    assert refused.decided_at == refused.closed_at == local(2019, 10, 25)
    withdrawn = cases[6]
    assert (withdrawn.state, withdrawn.outcome, withdrawn.decided_at) == ("withdrawn", "withdrawn", None)
    assert withdrawn.closed_at == local(2019, 11, 12)

    events = list(licence.events.order_by("at", "id"))
    assert [event.kind for event in events] == ["created", "imported"]
    assert events[0].at == licence.received_at and events[0].after["imported"] is True
    imported = events[1]
    assert (imported.actor, imported.to_state, imported.after["row"]) == (head, "issued", 2)
    assert imported.after["file"] == "so-theo-doi-2019.csv" and imported.after["result_number"] == "03/GP-STTTT"
    assert "so-theo-doi-2019.csv" in imported.note and "dòng 2" in imported.note

    # The registry: one entry per tax code (rows 2 and 7 share theirs), the permits with their numbers.
    assert Organisation.objects.filter(agency=stttt, tax_code=UNIVERSITY["tax_code"]).count() == 1
    assert cases[2].dossier.organisation == cases[7].dossier.organisation
    permits = {p.number_text: p for p in Permit.objects.filter(case__in=cases.values())}
    assert sorted(permits) == ["02/VB-STTTT", "03/GP-STTTT", "07/GP-STTTT", "12/GP-STTTT"]
    assert permits["07/GP-STTTT"].valid_until == date(2024, 8, 16)
    assert permits["07/GP-STTTT"].print_facility.name == "Xưởng in Hoàng Long"
    assert permits["03/GP-STTTT"].issued_at == local(2019, 5, 21)
    assert permits["03/GP-STTTT"].document.signer_name == "Vũ Tiến Khoái"
    letter = IssuedDocument.objects.get(case=refused)
    assert (letter.kind, letter.series, letter.number, letter.number_text) == ("refusal", "CV", 5, "05/STTTT-TTBCXB")

    # The counters continue after the highest imported number of each series and year.
    counters = dict(((key, year), value) for key, year, value in Sequence.objects.values_list("key", "year",
                                                                                             "last_value"))
    assert counters[(f"document:{stttt.pk}:GP:STTTT", 2019)] == 12
    assert counters[(f"document:{stttt.pk}:VB:STTTT", 2019)] == 2
    assert counters[(f"document:{stttt.pk}:CV:STTTT-TTBCXB", 2019)] == 5

    # No file was made for an imported result: its download says so.
    response = api.as_user(head).get(f"/api/v1/licensing/documents/{permits['03/GP-STTTT'].document_id}/download/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert "past register" in response.json()["detail"] or "sổ" in response.json()["detail"]
    # ... and no list offers a link to it: the API says there is none, the pages say the original is on paper.
    documents = api.as_user(head).get(f"/api/v1/licensing/applications/{licence.pk}/").json()["documents"]
    assert [d["download_url"] for d in documents] == [None]
    client = Client()
    client.force_login(head)
    for page in (f"/licensing/cases/{licence.pk}/", "/licensing/permits/"):
        html = client.get(page, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
        assert f"/api/v1/licensing/documents/{permits['03/GP-STTTT'].document_id}/download/" not in html, page
        assert "bản gốc trên giấy" in html, page


def test_a_day_written_without_its_time_is_the_whole_day(head):
    """A press conference answered the day its notice arrived, the register giving the day only; the due day the
    receipt slip promised ends when the office closes."""
    same_day = {**REGISTER_2019[2], "Ngày quyết định": "06/05/2019", "Ngày hẹn trả": "07/05/2019"}
    report = import_rows(head, [same_day])
    assert report.ok, report.errors
    case = Case.objects.get(pk=report.cases[0]["case"])
    assert case.received_at == case.decided_at == case.closed_at == local(2019, 5, 6, 9)
    assert case.due_at == local(2019, 5, 7, 17)
    report = import_rows(head, [{**REGISTER_2019[0], "Ngày quyết định": "01/05/2019"}], dry_run=True)
    assert [(e["row"], e["code"]) for e in report.errors] == [(2, "date_order")]


def test_the_next_licence_of_the_year_takes_the_highest_imported_number_plus_one(officer, head):
    with time_machine.travel(local(2019, 12, 26, 9), tick=False):
        assert import_rows(head, REGISTER_2019).imported == 6
        case, _ = licensing_services.application_receive(
            actor=officer, procedure="bulletin", fields=dossier("bulletin", bulletin_name="Bản tin Khoa Kinh tế"),
            organisation=applicant("bulletin"))
        kind, file_type = REQUIRED_FILE["bulletin"]
        case_services.attachment_add(case_id=case.pk, actor=officer, upload=upload(kind, file_type), kind=kind)
        for action, actor in (("start_review", officer), ("propose_grant", officer), ("approve", head)):
            case_services.case_transition(case_id=case.pk, actor=actor, action=action)
        document = licensing_services.result_issue(case_id=case.pk)
    assert document.number_text == "13/GP-STTTT"


# --- Sent again ------------------------------------------------------------------------------------------------------


def test_a_register_imported_again_is_not_duplicated(head):
    first = import_rows(head, REGISTER_2019)
    after_first = stored()
    again = import_rows(head, REGISTER_2019)
    assert again.ok and again.imported == 0
    assert [(s["row"], s["case"]) for s in again.skipped] == [(c["row"], c["case"]) for c in first.cases]
    assert stored() == after_first

    # The same dossier with another date is not imported twice either: it is an error to correct.
    changed = [*REGISTER_2019[:5], {**REGISTER_2019[5], "Ngày quyết định": "21/12/2019"}]
    report = import_rows(head, changed)
    assert [(e["row"], e["code"]) for e in report.errors] == [(7, "imported_differently")]
    assert stored() == after_first


# --- Figures -----------------------------------------------------------------------------------------------------------


def test_the_figures_of_each_quarter_touched_are_rebuilt_and_the_report_counts_the_imported_dossiers(head, stttt):
    import_rows(head, REGISTER_2019)
    queued = OutboxMessage.objects.filter(task_name="reports.quarter_refresh", done_at__isnull=True)
    assert sorted(message.kwargs["quarter"] for message in queued) == ["2019-Q2", "2019-Q3", "2019-Q4"]
    for message in queued:  # as the worker runs them; a second run changes nothing
        backfill.quarter_refresh_task(quarter=message.kwargs["quarter"], outbox_id=message.pk)
        assert backfill.quarter_refresh(quarter=message.kwargs["quarter"]) == 0

    def table(quarter):
        report = quarterly_report(quarter, agency=stttt)
        results = {row["code"]: row["count"] for row in report["procedure_results"]}
        processing = {row["code"]: row for row in report["processing"]}
        return results, processing

    results, processing = table(Quarter(2019, 2))
    assert (results["bulletin"], results["press_conference"]) == (1, 1)
    results, _processing = table(Quarter(2019, 3))
    assert results["printing_licence"] == 1
    results, processing = table(Quarter(2019, 4))
    assert results["bulletin"] == 1
    assert processing["noncommercial_publication"]["refused"] == 1
    assert processing["publication_import"]["withdrawn"] == 1
    assert sum(row["received"] for row in processing.values()) == 3


def test_a_closed_quarter_takes_no_imported_dossier_and_the_dry_run_says_why(head, stttt):
    ClosedQuarter.objects.create(agency=stttt, year=2019, quarter=3, cells={}, frozen_at=local(2019, 10, 1, 0, 5))
    before = stored()
    report = import_rows(head, REGISTER_2019, dry_run=True)
    assert [(e["row"], e["column"], e["code"]) for e in report.errors] == [(3, "Ngày tiếp nhận", "quarter_closed")]
    assert {q["quarter"]: q["status"] for q in report.quarters}["2019-Q3"] == "closed"
    # A dossier received before the closed quarter and decided after it counts in it too (carried over).
    late = {**REGISTER_2019[0], "Ngày quyết định": "20/10/2019", "Ngày ban hành": "21/10/2019"}
    report = import_rows(head, [late, *REGISTER_2019[2:]])
    assert [(e["row"], e["code"]) for e in report.errors] == [(2, "quarter_closed")]
    assert stored() == before


# --- The doors -------------------------------------------------------------------------------------------------------


def upload_csv(rows, name="so-2019.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, csv_bytes(rows), content_type="text/csv")


def test_the_endpoint_imports_for_the_head_and_administrators_only(api, officer, inspector, head, administrator):
    for user in (officer, inspector):
        response = api.as_user(user).post(URL, {"file": upload_csv(REGISTER_2019), "agency": STTTT},
                                          format="multipart")
        assert response.status_code == 403 and response.json()["code"] == "permission"
    stranger = UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=["hung-yen-svhttdl"])
    response = api.as_user(stranger).post(URL, {"file": upload_csv(REGISTER_2019), "agency": "hung-yen-skhcn",
                                                "dry_run": "true"}, format="multipart")
    assert response.status_code == 400 and "agency" in response.json()["errors"]
    assert Case.objects.count() == 0

    dry = api.as_user(administrator).post(URL, {"file": upload_csv(REGISTER_2019), "agency": STTTT,
                                                "dry_run": "true"}, format="multipart")
    assert dry.status_code == 200 and dry.json()["dry_run"] and dry.json()["imported"] == 0
    wrong = api.as_user(head).post(URL, {"file": upload_csv([{**REGISTER_2019[0], "Kết quả": "Có lẽ"}]),
                                         "agency": STTTT}, format="multipart")
    assert wrong.status_code == 400 and wrong["Content-Type"] == "application/problem+json"
    assert [(e["row"], e["column"]) for e in wrong.json()["report"]["errors"]] == [(2, "Kết quả")]
    done = api.as_user(head).post(URL, {"file": upload_csv(REGISTER_2019), "agency": STTTT}, format="multipart")
    assert done.status_code == 201 and done.json()["imported"] == 6
    again = api.as_user(head).post(URL, {"file": upload_csv(REGISTER_2019), "agency": STTTT}, format="multipart")
    assert again.status_code == 200 and again.json()["imported"] == 0 and len(again.json()["skipped"]) == 6
    # A successor's head imports the register of the agency it succeeded (it holds that archive).
    successor = UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=["hung-yen-svhttdl"])
    response = api.as_user(successor).post(URL, {"file": upload_csv(REGISTER_2019), "agency": STTTT,
                                                 "dry_run": "true"}, format="multipart")
    assert response.status_code == 200 and len(response.json()["skipped"]) == 6


def test_the_endpoint_refuses_unknown_fields_and_unreadable_files(api, head):
    client = api.as_user(head)
    response = client.post(URL, {"file": upload_csv(REGISTER_2019), "agency": STTTT, "commit": "yes"},
                           format="multipart")
    assert response.status_code == 400 and "commit" in response.json()["errors"]
    legacy = csv_bytes(REGISTER_2019, bom=False).decode("utf-8").encode("cp1258", errors="replace")
    response = client.post(URL, {"file": SimpleUploadedFile("so.csv", legacy), "agency": STTTT}, format="multipart")
    assert response.status_code == 400 and "UTF-8" in response.json()["errors"]["file"][0]
    # An XLSX that would unpack to far more than it weighs (a zip bomb) is refused from its directory.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (101 * 1024 * 1024))
    response = client.post(URL, {"file": SimpleUploadedFile("so.xlsx", bomb.getvalue()), "agency": STTTT},
                           format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "validation"
    garbage = SimpleUploadedFile("so.xlsx", b"PK\x03\x04" + b"\x00" * 200)
    assert client.post(URL, {"file": garbage, "agency": STTTT}, format="multipart").status_code == 400
    assert Case.objects.count() == 0


def test_an_xlsx_register_with_date_cells_is_read_like_its_csv(head):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["STT", *HEADERS])
    dates = {"Ngày tiếp nhận", "Ngày quyết định", "Ngày ban hành", "Hiệu lực đến"}
    for number, values in enumerate(REGISTER_2019, start=1):
        cells = []
        for header in HEADERS:
            value = values.get(header, "")
            if header in dates and value:
                value = datetime.strptime(value, "%d/%m/%Y %H:%M" if ":" in value else "%d/%m/%Y")
            cells.append(value or None)
        sheet.append([number, *cells])
    data = io.BytesIO()
    workbook.save(data)
    read = register_read(name="so-2019.xlsx", data=data.getvalue())
    report = register_import(rows=read.rows, columns=read.columns, actor=head, agency=STTTT, dry_run=True)
    assert report.ok, report.errors
    assert report.as_dict()["cases"] == import_rows(head, REGISTER_2019, dry_run=True).as_dict()["cases"]


def test_the_command_prints_the_report_and_fails_on_errors(head, tmp_path, capsys):
    path = tmp_path / "so-2019.csv"
    path.write_bytes(csv_bytes(REGISTER_2019))
    call_command("register_import", str(path), "--agency", STTTT, "--dry-run", "--user", head.username)
    out = capsys.readouterr().out
    assert "so-2019.csv" in out and "13/GP-STTTT" in out and Case.objects.count() == 0
    call_command("register_import", str(path), "--agency", STTTT, "--user", head.username, "--json")
    assert json.loads(capsys.readouterr().out)["imported"] == 6
    path.write_bytes(csv_bytes([{**REGISTER_2019[0], "Ngày tiếp nhận": "hôm qua"}]))
    with pytest.raises(CommandError):
        call_command("register_import", str(path), "--agency", STTTT, "--user", head.username)
    assert "Ngày tiếp nhận" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("register_import", str(tmp_path / "so.txt"), "--agency", STTTT)


def test_the_template_and_the_example_in_docs_are_what_the_import_reads(head):
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    template = register_read(name="template.csv", data=(docs / "register-import-template.csv").read_bytes())
    assert [title for title in template.columns if title != "STT"] == HEADERS and not template.rows
    workbook = register_read(name="template.xlsx", data=(docs / "register-import-template.xlsx").read_bytes())
    assert workbook.columns == template.columns
    example = register_read(name="example.csv", data=(docs / "register-import-example.csv").read_bytes())
    report = register_import(rows=example.rows, columns=example.columns, actor=head, agency=STTTT, dry_run=True)
    assert report.ok, report.errors
    assert {item["outcome"] for item in report.summary} == {"granted", "refused", "withdrawn"}


# --- Transitions refuse what they do not take ------------------------------------------------------------------------


def test_a_transition_with_a_field_it_does_not_take_is_refused_naming_it(api, officer, head):
    case = case_make(actor=officer, type_code="printing_licence")
    url = f"/api/v1/cases/{case.pk}/transitions/"
    response = api.as_user(officer).post(url, {"action": "start_review", "version": case.version,
                                               "decided_at": "2019-05-02T08:00:00+07:00", "by": "x"}, format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert sorted(response.json()["errors"]) == ["by", "decided_at"]
    case.refresh_from_db()
    assert case.state == "received" and case.events.filter(kind="transition").count() == 0
    accepted = api.as_user(officer).post(url, {"action": "start_review", "version": case.version, "note": "Xem xét."},
                                         format="json")
    assert accepted.status_code == 200 and accepted.json()["state"] == "in_review"


def test_the_schema_documents_the_import_and_the_strict_transition_body(client):
    schema = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    post = schema["paths"][URL]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"200", "201", "400", "403"} <= set(post["responses"])
    ref = schema["paths"]["/api/v1/cases/{id}/transitions/"]["post"]["requestBody"]["content"]["application/json"]
    component = schema["components"]["schemas"][ref["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert component["additionalProperties"] is False and {"action", "version"} <= set(component["required"])
