"""The quarter's numbers: boundaries in local time, what counts as a result, kept figures vs rebuild, exports."""

import csv
import io
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import docx
import openpyxl
import pytest
import time_machine

from agencies.models import Agency
from cases import services as case_services
from licensing import services as licensing_services
from reports import services as report_services
from reports.quarters import Quarter
from reports.tables import count_text, quarterly_report

from .conftest import wait_for
from .factories import case_make

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def at(year, month, day, hour=9, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


def decide(case, *, officer, head, moment, action="approve"):
    """Take a received case to a decision at `moment` (local), through the services; a grant's result is issued
    at that moment too (the worker's issue task, run here), since a grant counts once its document exists."""
    with time_machine.travel(moment - timedelta(hours=3), tick=False):
        case_services.case_transition(case_id=case.pk, actor=officer, action="start_review")
        proposal = "propose_refusal" if action == "refuse" else "propose_grant"
        case_services.case_transition(case_id=case.pk, actor=officer, action=proposal,
                                      note="Không đủ điều kiện." if action == "refuse" else "")
    with time_machine.travel(moment, tick=False):
        case_services.case_transition(case_id=case.pk, actor=head, action=action,
                                      note="Không đủ điều kiện." if action == "refuse" else "")
        if action == "approve":
            licensing_services.result_issue(case_id=case.pk)


def refresh_all(cases):
    for case in cases:
        report_services.contribution_refresh(case_id=case.pk, until=Quarter(2020, 2))


def report(quarter: Quarter) -> dict:
    """The report of Thái Bình's Sở TTTT, which held every case of these years."""
    return quarterly_report(quarter, agency=Agency.objects.get(code="thai-binh-stttt"))


def results(quarter: str) -> dict[str, int]:
    return {row["code"]: row["count"] for row in report(Quarter.parse(quarter))["procedure_results"]}


@pytest.mark.django_db
def test_quarter_boundaries_are_local_time(officer, head):
    late_q4 = case_make(actor=officer, type_code="bulletin", received_at=at(2019, 12, 20))
    early_q1 = case_make(actor=officer, type_code="bulletin", received_at=at(2019, 12, 20))
    decide(late_q4, officer=officer, head=head, moment=at(2019, 12, 31, 23, 30))  # 16:30 UTC
    decide(early_q1, officer=officer, head=head, moment=at(2020, 1, 1, 0, 10))  # 17:10 UTC on 31/12
    refresh_all([late_q4, early_q1])
    assert results("2019-Q4")["bulletin"] == 1
    assert results("2020-Q1")["bulletin"] == 1
    q1 = report(Quarter(2020, 1))
    bulletin = next(row for row in q1["procedure_results"] if row["code"] == "bulletin")
    assert (bulletin["previous"], bulletin["change"], bulletin["change_text"]) == (1, 0, "0")


@pytest.mark.django_db
def test_refusals_and_withdrawals_are_never_results(officer, head):
    granted = case_make(actor=officer, type_code="noncommercial_publication", received_at=at(2019, 11, 1))
    refused = case_make(actor=officer, type_code="noncommercial_publication", received_at=at(2019, 11, 1))
    withdrawn = case_make(actor=officer, type_code="noncommercial_publication", received_at=at(2019, 11, 1))
    decide(granted, officer=officer, head=head, moment=at(2019, 11, 8))
    decide(refused, officer=officer, head=head, moment=at(2019, 11, 8), action="refuse")
    with time_machine.travel(at(2019, 11, 5), tick=False):
        case_services.case_transition(case_id=withdrawn.pk, actor=officer, action="withdraw", note="Xin rút.")
    refresh_all([granted, refused, withdrawn])
    row = next(r for r in report(Quarter(2019, 4))["processing"] if r["code"] == "noncommercial_publication")
    assert results("2019-Q4")["noncommercial_publication"] == 1
    assert (row["received"], row["refused"], row["withdrawn"], row["resolved"]) == (3, 1, 1, 2)


@pytest.mark.django_db
def test_counts_are_written_as_the_department_writes_them():
    assert [count_text(n) for n in (0, 1, 9, 19, 1836, 1307424)] == ["00", "01", "09", "19", "1.836", "1.307.424"]


@pytest.mark.django_db(transaction=True)
def test_kept_figures_equal_a_rebuild_after_random_transitions(celery_worker, officer, officer2, head):
    """The worker keeps the figures from case changes; they must equal a rebuild from the cases."""
    rng = random.Random(7)
    codes = ["bulletin", "printing_licence", "noncommercial_publication", "press_conference"]
    cases = [case_make(actor=officer, type_code=rng.choice(codes)) for _ in range(12)]
    paths = [["start_review", "propose_grant", "approve"], ["start_review", "propose_refusal", "refuse"],
             ["withdraw"], ["start_review", "request_supplement", "receive_supplement"], ["start_review"]]
    for case in cases:
        for action in rng.choice(paths):
            actor = head if action in ("approve", "refuse") else officer
            note = "Lý do cụ thể." if action in ("propose_refusal", "refuse", "withdraw", "request_supplement") else ""
            case_services.case_transition(case_id=case.pk, actor=actor, action=action, note=note)
    from worker.models import OutboxMessage

    wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), timeout=90,
             message="every task done")
    quarters = [Quarter.current()]
    kept = report_services.figures_kept(quarters=quarters)
    assert kept, "the worker kept no figures"
    assert kept == report_services.figures_compute(quarters=quarters)
    check = report_services.figures_check(quarters=quarters)
    assert check.mismatches == [] and not check.repaired


@pytest.mark.django_db
def test_the_check_finds_and_repairs_a_figure_that_went_wrong(officer, head):
    case = case_make(actor=officer, type_code="bulletin", received_at=at(2019, 10, 7))
    decide(case, officer=officer, head=head, moment=at(2019, 10, 21))
    refresh_all([case])
    from reports.models import QuarterCell

    QuarterCell.objects.filter(year=2019, quarter=4, metric="results").update(value=5)
    check = report_services.figures_check(quarters=[Quarter(2019, 4)])
    assert check.repaired
    assert {m["cell"] for m in check.mismatches} == {"2019-Q4:results"}
    assert results("2019-Q4")["bulletin"] == 1


@pytest.mark.django_db
def test_api_exports_and_drill_down(api, officer, head, reporter, inspector):
    cases = [case_make(actor=officer, type_code="bulletin", received_at=at(2019, 10, 1 + i)) for i in range(3)]
    for index, case in enumerate(cases[:2]):
        decide(case, officer=officer, head=head, moment=at(2019, 10, 20 + index))
    refresh_all(cases)
    licensing_services  # noqa: B018  (the licensing app's hooks are loaded)
    api.as_user(reporter)
    body = api.get("/api/v1/reports/quarterly/?quarter=2019-Q4").json()  # the one agency of 2019: Sở TTTT
    assert (body["agency"]["code"], body["agency"]["place_name"], body["note"]) == ("thai-binh-stttt", "Thái Bình", "")
    bulletin = next(r for r in body["procedure_results"] if r["code"] == "bulletin")
    assert (bulletin["count"], bulletin["count_text"], bulletin["unit"]) == (2, "02", "GP")
    drill = api.get(bulletin["cases_urls"]["results"].replace("http://testserver", "")).json()
    assert sorted(c["id"] for c in drill["results"]) == sorted(c.pk for c in cases[:2])

    text = api.get("/api/v1/reports/quarterly/?quarter=2019-Q4&format=csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert ["2", "Cấp giấy phép xuất bản bản tin", "GP", "02", "0", "+2"] in rows

    xlsx = api.get("/api/v1/reports/quarterly/?quarter=2019-Q4&format=xlsx")
    assert xlsx["Content-Disposition"].endswith('bao-cao-2019-Q4-thai-binh-stttt.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    sheet = book.worksheets[0]
    values = {row[1]: row[3] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert values["Cấp giấy phép xuất bản bản tin"] == "02"  # as the report writes it (a text cell)
    assert [s.title for s in book.worksheets] == ["I.5 Kết quả TTHC", "Tình hình giải quyết", "Thanh tra, kiểm tra",
                                                  "Chất lượng phục vụ"]

    document = docx.Document(io.BytesIO(api.get("/api/v1/reports/quarterly/?quarter=2019-Q4&format=docx").content))
    table = document.tables[2]  # after the header and item 4's inspections table, as the report orders them
    assert [c.text for c in table.rows[0].cells] == ["TT", "Nội dung", "Đơn vị", "Số lượng"]
    assert [c.text for c in table.rows[2].cells] == ["2", "Cấp giấy phép xuất bản bản tin", "GP", "02"]
    assert "5. Kết quả thực hiện thủ tục hành chính" in [p.text for p in document.paragraphs]

    bad = api.get("/api/v1/reports/quarterly/?quarter=2019-Q5&format=xlsx")
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    assert bad.json()["code"] == "validation"
    api.as_user(inspector)
    assert api.get("/api/v1/reports/quarterly/?quarter=2019-Q4").status_code == 403
