"""Every report belongs to one agency, and prints it as it was in its quarter.

Thái Bình's Sở TTTT held the six procedures until 28/02/2025; from 01/03/2025 the Sở VHTTDL Thái Bình holds them
(and the Sở KH&CN the telecoms inspections), from 01/07/2025 Hưng Yên's (agencies/data/thai_binh_hung_yen.json).
A case counts, in each quarter, for the agency that held it at the quarter's end: its own cases never mix with
another agency's, a transferred case counts for the old agency before its transfer and for the successor after, and
a quarter that ended before the transfer stays as it was reported. Everything goes through the services with the
clock moved, as in tests/test_reports_closed_quarters.py.
"""

import csv
import io
from datetime import date

import docx
import pytest
import time_machine
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agencies.models import Agency, Membership
from cases import hooks
from cases import roles as r
from cases.models import Case, CaseEvent, CaseTypeAgency
from reports import services as report_services
from reports.contributions import cell_key
from reports.exports import report_docx
from reports.models import ClosedQuarter
from reports.quarters import Quarter
from reports.tables import quarterly_report

from .factories import UserFactory
from .test_reports_closed_quarters import act, at, figures_refresh, issue, receive, rollover

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_sends_held")]
Q4_2019, Q4_2024, Q1_2025, Q2_2025 = Quarter(2019, 4), Quarter(2024, 4), Quarter(2025, 1), Quarter(2025, 2)
PROBLEM = "application/problem+json"


def agency(code: str) -> Agency:
    return Agency.objects.get(code=code)


def report(quarter: Quarter, code: str) -> dict:
    return quarterly_report(quarter, agency=agency(code))


def bulletin(report_: dict) -> tuple[dict, dict]:
    """The bulletin's rows of a report: (table I.5, processing); empty when the report has no such row."""
    result = next((row for row in report_["procedure_results"] if row["code"] == "bulletin"), {})
    processing = next((row for row in report_["processing"] if row["code"] == "bulletin"), {})
    return result, processing


def granted(officer, head, received, issued) -> Case:
    case = receive(officer, "bulletin", received)
    act(case, officer, "start_review", received.replace(hour=10))
    act(case, officer, "propose_grant", received.replace(hour=11))
    act(case, head, "approve", issued.replace(hour=issued.hour - 1))
    return issue(case, issued)


def transfer(case: Case, to: Agency, moment) -> Case:
    """What the agency transfer (cases/transfer.py) writes when a case moves to a successor: the case's new holder
    and a "transfer" event naming both agencies, in one transaction; then the figures' refresh it queued."""
    with time_machine.travel(moment, tick=False), transaction.atomic():
        old = Case.objects.select_for_update().get(pk=case.pk).agency
        Case.objects.filter(pk=case.pk).update(agency=to, version=F("version") + 1, updated_at=timezone.now())
        CaseEvent.objects.create(case_id=case.pk, kind=CaseEvent.Kind.TRANSFER, at=timezone.now(),
                                 before={"agency": old.pk, "agency_code": old.code},
                                 after={"agency": to.pk, "agency_code": to.code, "on": moment.date().isoformat()})
        case.refresh_from_db()
        hooks.changed_run(case)
    figures_refresh(moment)
    case.refresh_from_db()
    return case


def drill(api, quarter: Quarter, code: str, metric: str, agency_: Agency | None = None):
    query = f"quarter={quarter}&type={code}&metric={metric}" + (f"&agency={agency_.pk}" if agency_ else "")
    return api.get(f"/api/v1/reports/quarterly/cases/?{query}")


def references(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {case["reference"] for case in response.json()["results"]}


# --- Two agencies in one quarter ---------------------------------------------------------------------------------


def test_two_agencies_cases_in_one_quarter_never_mix(officer, head, api, reporter):
    # Q1/2025: February's dossiers go to the Sở TTTT, March's to the Sở VHTTDL that took the procedures over.
    february = granted(officer, head, at(2025, 2, 10, 9), at(2025, 2, 20, 10))
    march = granted(officer, head, at(2025, 3, 10, 9), at(2025, 3, 20, 10))
    still_open = receive(officer, "bulletin", at(2025, 3, 12, 9))
    assert [c.agency.code for c in (february, march, still_open)] == ["thai-binh-stttt", "thai-binh-svhttdl",
                                                                      "thai-binh-svhttdl"]
    rollover(at(2025, 4, 1, 0, 5))

    old, old_processing = bulletin(report(Q1_2025, "thai-binh-stttt"))
    new, new_processing = bulletin(report(Q1_2025, "thai-binh-svhttdl"))
    assert (old["count"], old_processing["received"], old_processing["pending_within"]) == (1, 1, 0)
    assert (new["count"], new_processing["received"], new_processing["pending_within"]) == (1, 2, 1)
    # The Sở KH&CN holds no procedure and no case of them: its report has no procedure rows at all.
    assert report(Q1_2025, "thai-binh-skhcn")["procedure_results"] == []
    # Kept and frozen alike, and the sum of the agencies is the installation's.
    stttt, svhttdl = agency("thai-binh-stttt"), agency("thai-binh-svhttdl")
    type_id = february.case_type_id
    assert report_services.figures_kept(quarters=[Q1_2025], agency=stttt)[(type_id, "2025-Q1:received")] == 1
    assert report_services.figures_kept(quarters=[Q1_2025], agency=svhttdl)[(type_id, "2025-Q1:received")] == 2
    assert report_services.figures_kept(quarters=[Q1_2025])[(type_id, "2025-Q1:received")] == 3
    frozen = {s.agency.code: s.cells for s in ClosedQuarter.objects.filter(year=2025, quarter=1)}
    assert frozen == {"thai-binh-stttt": {f"{type_id}:received": 1, f"{type_id}:results": 1,
                                          f"{type_id}:early": 1},
                      "thai-binh-svhttdl": {f"{type_id}:received": 2, f"{type_id}:results": 1,
                                            f"{type_id}:early": 1, f"{type_id}:pending_within": 1},
                      "thai-binh-skhcn": {}}

    api.as_user(reporter)  # works for every agency: sees them all, and must say whose report it wants
    with time_machine.travel(at(2025, 4, 2, 9), tick=False):
        ambiguous = api.get("/api/v1/reports/quarterly/?quarter=2025-Q1")
        assert ambiguous.status_code == 400 and ambiguous["Content-Type"].startswith(PROBLEM)
        assert ambiguous.json()["code"] == "validation"
        assert {choice["code"] for choice in ambiguous.json()["agencies"]} == {
            "thai-binh-stttt", "thai-binh-skhcn", "thai-binh-svhttdl"}
        body = api.get(f"/api/v1/reports/quarterly/?quarter=2025-Q1&agency={svhttdl.pk}").json()
        row = next(row for row in body["procedure_results"] if row["code"] == "bulletin")
        assert (body["agency"]["code"], row["count"]) == ("thai-binh-svhttdl", 1)
        assert references(api.get(row["cases_urls"]["results"].replace("http://testserver", ""))) == {march.reference}
        assert references(drill(api, Q1_2025, "bulletin", "received", stttt)) == {february.reference}
        assert references(drill(api, Q1_2025, "bulletin", "received", svhttdl)) == {march.reference,
                                                                                     still_open.reference}
        assert drill(api, Q1_2025, "bulletin", "received").status_code == 400  # whose figure?
    check = report_services.figures_check(quarters=[Q1_2025], repair=False, now=at(2025, 4, 2, 9))
    assert (check.mismatches, check.drift, check.contributions_mismatched) == ([], [], 0)
    assert sorted(check.closed_quarters_compared) == ["2025-Q1@thai-binh-skhcn", "2025-Q1@thai-binh-stttt",
                                                      "2025-Q1@thai-binh-svhttdl"]


# --- A transfer ----------------------------------------------------------------------------------------------------


def test_a_transferred_case_counts_for_the_old_agency_before_and_for_the_successor_after(officer, head, api,
                                                                                       reporter):
    # Received by the Sở TTTT in December 2024 and still open when Q4/2024 ends (frozen with it).
    case = receive(officer, "bulletin", at(2024, 12, 10, 9))
    act(case, officer, "start_review", at(2024, 12, 11, 9))
    rollover(at(2025, 1, 1, 0, 5))
    snapshot = ClosedQuarter.objects.get(year=2024, quarter=4)
    q4_before = report(Q4_2024, "thai-binh-stttt")
    assert bulletin(q4_before)[1]["pending_within"] == 1

    # The reorganisation: on 01/03/2025 the open case moves to the Sở VHTTDL, which issues the bulletin's licence.
    svhttdl = agency("thai-binh-svhttdl")
    case = transfer(case, svhttdl, at(2025, 3, 1, 7))
    act(case, officer, "propose_grant", at(2025, 3, 10, 9))
    act(case, head, "approve", at(2025, 3, 12, 9))
    issue(case, at(2025, 3, 12, 10))
    rollover(at(2025, 4, 1, 0, 5))

    # Q4/2024: the Sở TTTT's, as it was reported; nothing of it moved.
    assert ClosedQuarter.objects.get(year=2024, quarter=4).cells == snapshot.cells
    assert not ClosedQuarter.objects.filter(year=2024, quarter=4).exclude(agency__code="thai-binh-stttt").exists()
    assert report(Q4_2024, "thai-binh-stttt") == q4_before
    assert cell_key(Q4_2024, "pending_within", agency("thai-binh-stttt").pk) in case.contribution.cells
    # Q1/2025: the successor's (it held the case at the quarter's end), carried over and issued.
    result, processing = bulletin(report(Q1_2025, "thai-binh-svhttdl"))
    assert (result["count"], processing["carried_over"], processing["received"]) == (1, 1, 0)
    old_result, old_processing = bulletin(report(Q1_2025, "thai-binh-stttt"))
    assert (old_result["count"], old_processing["carried_over"], old_processing["pending_within"]) == (0, 0, 0)
    with time_machine.travel(at(2025, 4, 2, 9), tick=False):
        api.as_user(reporter)
        stttt = agency("thai-binh-stttt")
        assert references(drill(api, Q4_2024, "bulletin", "pending_within", stttt)) == {case.reference}
        assert references(drill(api, Q1_2025, "bulletin", "carried_over", stttt)) == set()
        assert references(drill(api, Q1_2025, "bulletin", "results", svhttdl)) == {case.reference}
        # The rebuild reads the transfer from the timeline: kept, rebuilt and frozen agree.
        report_services.figures_rebuild()
    check = report_services.figures_check(quarters=[Q4_2024, Q1_2025], repair=False, now=at(2025, 4, 2, 9))
    assert (check.mismatches, check.drift, check.contributions_mismatched) == ([], [], 0)


def test_a_transfer_run_after_the_quarter_ended_leaves_that_quarter_with_the_old_agency(officer):
    case = receive(officer, "bulletin", at(2025, 2, 24, 9))
    rollover(at(2025, 4, 1, 0, 5))  # the Sở TTTT still held it at the end of Q1/2025: frozen as its case
    assert bulletin(report(Q1_2025, "thai-binh-stttt"))[1]["pending_late"] == 1
    case = transfer(case, agency("thai-binh-svhttdl"), at(2025, 4, 3, 9))  # "as of 01/03/2025", run in April
    assert bulletin(report(Q1_2025, "thai-binh-stttt"))[1]["pending_late"] == 1
    assert bulletin(report(Q1_2025, "thai-binh-svhttdl"))[1]["pending_late"] == 0
    assert bulletin(report(Q2_2025, "thai-binh-svhttdl"))[1]["carried_over"] == 1
    check = report_services.figures_check(quarters=[Q1_2025, Q2_2025], repair=False, now=at(2025, 4, 3, 10))
    assert (check.mismatches, check.drift, check.contributions_mismatched) == ([], [], 0)


def test_the_transfer_service_moves_the_figures_of_the_quarter_under_way(officer, administrator):
    transfer_service = pytest.importorskip("cases.transfer")
    case = receive(officer, "bulletin", at(2025, 2, 24, 9))
    stttt, svhttdl = agency("thai-binh-stttt"), agency("thai-binh-svhttdl")
    with time_machine.travel(at(2025, 3, 1, 8), tick=False):
        plan = transfer_service.agency_transfer(agency=stttt, on=date(2025, 3, 1), actor=administrator, dry_run=False)
    assert plan.moved == 1
    figures_refresh(at(2025, 3, 1, 9))
    type_id = case.case_type_id
    assert report_services.figures_kept(quarters=[Q1_2025], agency=stttt) == {}
    assert report_services.figures_kept(quarters=[Q1_2025], agency=svhttdl)[(type_id, "2025-Q1:received")] == 1


def test_inspection_figures_follow_the_agency_that_held_the_campaign(lead, inspector, api, reporter):
    from inspections.models import Outcome

    from .support_inspections import campaign_make

    def outcome(target, moment):  # the outcome set on the row: the rules that lead to it are tested elsewhere
        target.outcome, target.outcome_at = Outcome.COMPLIANT, moment
        target.save(update_fields=["outcome", "outcome_at"])

    with time_machine.travel(at(2025, 2, 3, 9), tick=False):
        printing = campaign_make(lead=lead, members=[inspector], shops=2)  # the Sở TTTT's, planned in February
    first, second = printing.targets.order_by("pk")
    outcome(first, at(2025, 2, 20, 10))
    with time_machine.travel(at(2025, 5, 5, 9), tick=False):
        bts = campaign_make(lead=lead, members=[inspector], shops=1, type_code="bts_station", kind="bts_site")
    assert (printing.case.agency.code, bts.case.agency.code) == ("thai-binh-stttt", "thai-binh-skhcn")
    outcome(bts.targets.get(), at(2025, 5, 6, 10))

    def inspected(quarter: Quarter, code: str) -> dict[str, int]:
        return {row["code"]: row["inspected"] for row in report(quarter, code)["inspections"]}

    assert inspected(Q1_2025, "thai-binh-stttt")["printing"] == 1
    # Still open in April, the campaign moves to the Sở VHTTDL (the print shops are its): Q1/2025 stays the Sở TTTT's.
    transfer(printing.case, agency("thai-binh-svhttdl"), at(2025, 4, 2, 9))
    outcome(second, at(2025, 4, 10, 10))
    assert inspected(Q1_2025, "thai-binh-stttt")["printing"] == 1
    assert inspected(Q1_2025, "thai-binh-svhttdl").get("printing", 0) == 0
    assert inspected(Q2_2025, "thai-binh-svhttdl") == {"printing": 1, "publication_distribution": 0}
    assert inspected(Q2_2025, "thai-binh-skhcn") == {"prepaid_sim": 0, "internet_service": 0, "bts_station": 1,
                                                     "conformity_labelling": 0}
    api.as_user(reporter)
    stttt = agency("thai-binh-stttt")
    assert api.get(f"/api/v1/reports/quarterly/?quarter=2025-Q2&agency={stttt.pk}").status_code == 404  # ended


# --- The agency as of the quarter -------------------------------------------------------------------------------


def header_lines(data: bytes) -> tuple[list[str], list[str]]:
    left, right = docx.Document(io.BytesIO(data)).tables[0].rows[0].cells
    return left.text.split("\n"), right.text.split("\n")


def test_a_2019_report_reprinted_after_the_agency_data_changed_for_2025_still_prints_thai_binh(officer, head,
                                                                                               api):
    # The installation as it stood before 2025: one agency, the Sở TTTT, competent for everything, open-ended.
    stttt = agency("thai-binh-stttt")
    later = Agency.objects.exclude(pk=stttt.pk)
    Membership.objects.filter(agency__in=later).delete()
    CaseTypeAgency.objects.filter(agency__in=later).delete()
    CaseTypeAgency.objects.filter(agency=stttt).update(valid_to=None)
    stttt.successors.clear()
    later.delete()
    Agency.objects.filter(pk=stttt.pk).update(valid_to=None)
    granted(officer, head, at(2019, 10, 7, 9), at(2019, 10, 21, 10))
    rollover(at(2020, 1, 1, 0, 5))
    printed = report_docx(report(Q4_2019, "thai-binh-stttt"))
    left, right = header_lines(printed)
    assert left == ["UBND TỈNH THÁI BÌNH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "Số:     /BC-STTTT"]
    assert right[2].startswith("Thái Bình, ngày ")

    # 2025: the Sở TTTT ends on 28/02 (as an administrator enters it), then the reorganisation and the province's
    # merger are loaded (its successors, then Hưng Yên's departments). A reporter of Hưng Yên's Sở VHTTDL reprints
    # Q4/2019 from the archive of its predecessors.
    from cases.competence import agency_history_load_file

    Agency.objects.filter(pk=stttt.pk).update(valid_to=date(2025, 2, 28))
    CaseTypeAgency.objects.filter(agency=stttt).update(valid_to=date(2025, 2, 28))
    agency_history_load_file()
    assert set(agency("hung-yen-svhttdl").predecessors.values_list("code", flat=True)) == {"thai-binh-svhttdl"}
    reporter = UserFactory(roles=[r.REPORTER], agencies=["hung-yen-svhttdl"])
    api.as_user(reporter)
    reprinted = api.get("/api/v1/reports/quarterly/?quarter=2019-Q4&format=docx")  # the one agency of 2019
    assert reprinted.status_code == 200, reprinted.content
    assert header_lines(reprinted.content)[0] == left
    assert header_lines(reprinted.content)[1][2].startswith("Thái Bình, ngày ")
    document = docx.Document(io.BytesIO(reprinted.content))
    signer = [p.text for p in document.tables[-1].rows[0].cells[1].paragraphs if p.text.strip()]
    assert signer == ["GIÁM ĐỐC", "Vũ Tiến Khoái"]  # the director of that day
    body = api.get("/api/v1/reports/quarterly/?quarter=2019-Q4").json()
    assert (body["agency"]["parent_name"], body["agency"]["place_name"], body["note"]) == (
        "UBND TỈNH THÁI BÌNH", "Thái Bình", "")
    assert next(row for row in body["procedure_results"] if row["code"] == "bulletin")["count"] == 1
    assert "Hưng Yên" not in "\n".join(p.text for p in document.paragraphs)


def test_a_quarter_the_agency_started_or_ended_in_says_so(api, reporter, client):
    stttt, svhttdl = agency("thai-binh-stttt"), agency("thai-binh-svhttdl")
    ended = ("Sở Thông tin và Truyền thông tỉnh Thái Bình hoạt động đến ngày 28/02/2025; từ ngày 01/03/2025 các "
             "nhiệm vụ được chuyển cho Sở Khoa học và Công nghệ, Sở Văn hóa, Thể thao và Du lịch.")
    started = ("Sở Văn hóa, Thể thao và Du lịch tỉnh Thái Bình bắt đầu hoạt động từ ngày 01/03/2025; số liệu trước "
               "ngày này do Sở Thông tin và Truyền thông báo cáo.")
    assert report(Q1_2025, "thai-binh-stttt")["note"] == ended
    assert report(Q1_2025, "thai-binh-svhttdl")["note"] == started
    assert report(Q4_2024, "thai-binh-stttt")["note"] == ""
    assert report(Q2_2025, "thai-binh-svhttdl")["note"] == ""  # it ended on the quarter's last day
    assert report(Quarter(2025, 3), "hung-yen-svhttdl")["note"] == ""  # it started on the quarter's first day
    # A predecessor of another province is named with its province.
    Agency.objects.filter(code="hung-yen-svhttdl").update(valid_from=date(2025, 7, 15))
    assert report(Quarter(2025, 3), "hung-yen-svhttdl")["note"] == (
        "Sở Văn hóa, Thể thao và Du lịch tỉnh Hưng Yên bắt đầu hoạt động từ ngày 15/07/2025; "
        "số liệu trước ngày này do Sở Văn hóa, Thể thao và Du lịch tỉnh Thái Bình báo cáo.")

    # In the DOCX, under the title; in the JSON; on the page, with the agency to choose.
    paragraphs = [p.text for p in docx.Document(io.BytesIO(report_docx(report(Q1_2025, "thai-binh-stttt"))))
                  .paragraphs if p.text.strip()]
    title = paragraphs.index("KẾT QUẢ THỰC HIỆN THỦ TỤC HÀNH CHÍNH VÀ CÔNG TÁC THANH TRA, KIỂM TRA QUÝ I/2025")
    assert paragraphs[title + 1] == ended
    api.as_user(reporter)
    assert api.get(f"/api/v1/reports/quarterly/?quarter=2025-Q1&agency={svhttdl.pk}").json()["note"] == started
    rows = list(csv.reader(io.StringIO(api.get(f"/api/v1/reports/quarterly/?quarter=2025-Q1&agency={stttt.pk}"
                                               "&format=csv").content.decode("utf-8-sig"))))
    assert rows[0] == ["Kết quả thực hiện thủ tục hành chính quý I/2025",
                       "Sở Thông tin và Truyền thông tỉnh Thái Bình", ended]
    client.force_login(reporter)
    html = client.get(f"/reports/quarterly/?quarter=2025-Q1&agency={svhttdl.pk}").content.decode()
    assert started in html and 'id="id_agency"' in html
    assert f'<option value="{svhttdl.pk}" selected>' in html and f'<option value="{stttt.pk}">' in html
    assert f"agency={svhttdl.pk}&amp;format=docx" in html


def test_a_quarter_before_an_agency_existed_or_after_it_ended_has_no_report(api, reporter):
    api.as_user(reporter)
    later = agency("hung-yen-svhttdl")
    before = api.get(f"/api/v1/reports/quarterly/?quarter=2019-Q4&agency={later.pk}&format=docx")
    assert before.status_code == 404 and before["Content-Type"].startswith(PROBLEM)
    assert "01/07/2025" in before.json()["detail"]
    ended = agency("thai-binh-skhcn")
    after = api.get(f"/api/v1/reports/quarterly/?quarter=2025-Q3&agency={ended.pk}")
    assert after.status_code == 404 and "01/03/2025" in after.json()["detail"]
    assert "30/06/2025" in after.json()["detail"]
    assert api.get("/api/v1/reports/quarterly/?quarter=2019-Q4&agency=tong-cuc").status_code == 400


# --- Who reads which report ----------------------------------------------------------------------------------------


def test_a_user_of_one_agency_cannot_read_another_agencys_report(officer, head, api, client):
    theirs = granted(officer, head, at(2025, 4, 7, 9), at(2025, 4, 21, 10))  # the Sở VHTTDL's licence
    rollover(at(2025, 7, 1, 0, 5))
    svhttdl, skhcn = agency("thai-binh-svhttdl"), agency("thai-binh-skhcn")
    outsider = UserFactory(roles=[r.REPORTER], agencies=["thai-binh-skhcn"])  # sees the Sở KH&CN and the Sở TTTT
    api.as_user(outsider)
    for fmt in ("json", "csv", "xlsx", "docx"):
        response = api.get(f"/api/v1/reports/quarterly/?quarter=2025-Q2&agency={svhttdl.pk}&format={fmt}")
        assert response.status_code == 404 and response["Content-Type"].startswith(PROBLEM), fmt
        assert response.json()["code"] == "not_found"
    assert drill(api, Q2_2025, "bulletin", "results", svhttdl).status_code == 404
    own = api.get("/api/v1/reports/quarterly/?quarter=2025-Q2").json()  # by default, their own agency's
    assert own["agency"]["code"] == "thai-binh-skhcn" and own["procedure_results"] == []
    assert references(drill(api, Q2_2025, "bulletin", "results", skhcn)) == set()
    predecessor = api.get(f"/api/v1/reports/quarterly/?quarter=2024-Q4&agency={agency('thai-binh-stttt').pk}")
    assert predecessor.status_code == 200  # the archive of the agency they succeeded

    # The export of every case field holds the cases they may read, and not the other agency's.
    from reports import case_export
    from reports.services import export_request

    job, _created = export_request(actor=outsider, format="csv", received_from=at(2025, 4, 1, 0),
                                   received_to=at(2025, 5, 1, 0))
    job = case_export.export_run(job_id=job.pk)
    assert (job.status, job.rows_total) == ("done", 0)
    insider = UserFactory(roles=[r.REPORTER], agencies=["thai-binh-svhttdl"])
    job, _created = export_request(actor=insider, format="csv", received_from=at(2025, 4, 1, 0),
                                   received_to=at(2025, 5, 1, 0))
    job = case_export.export_run(job_id=job.pk)
    with open(job.file.path, encoding="utf-8-sig", newline="") as handle:
        assert [row[0] for row in csv.reader(handle)][1:] == [theirs.reference]

    # The page: never another agency's numbers, nor the cases behind them.
    client.force_login(outsider)
    page = client.get(f"/reports/quarterly/?quarter=2025-Q2&agency={svhttdl.pk}").content.decode()
    assert 'id="report-agency">Sở Khoa học và Công nghệ tỉnh Thái Bình<' in page
    assert theirs.reference not in page and f'value="{svhttdl.pk}"' not in page
    cells = client.get(f"/reports/quarterly/cases/?quarter=2025-Q2&agency={svhttdl.pk}&type=bulletin"
                       "&metric=results")
    assert cells.status_code == 404


# --- The migration -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_figures_the_agency_of_their_cases(officer):
    """Figures kept before reports became per agency (reports 0003) get the agency of their cases; a frozen quarter
    that counted two agencies' cases is split between them, its totals unchanged."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from reports.models import CaseContribution, QuarterCell

    old_case = receive(officer, "bulletin", at(2019, 10, 7, 9))
    february = receive(officer, "bulletin", at(2025, 2, 10, 9))
    march = receive(officer, "bulletin", at(2025, 3, 10, 9))
    stttt, svhttdl = agency("thai-binh-stttt").pk, agency("thai-binh-svhttdl").pk
    february = transfer(february, agency("thai-binh-svhttdl"), at(2025, 4, 3, 9))  # moved after Q1/2025 ended
    assert (old_case.agency_id, february.agency_id, march.agency_id) == (stttt, svhttdl, svhttdl)
    t = old_case.case_type_id
    before = [("reports", "0003_closed_quarter")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("reports")
    executor.migrate(before)
    try:
        old = MigrationExecutor(connection).loader.project_state(before).apps
        Contribution, Cell, Closed = (old.get_model("reports", name)
                                      for name in ("CaseContribution", "QuarterCell", "ClosedQuarter"))
        Contribution.objects.all().delete()
        Cell.objects.all().delete()
        for case, cells in ((old_case, {"2019-Q4:received": 1, "2019-Q4:pending_within": 1}),
                            (february, {"2025-Q1:received": 1, "2025-Q1:results": 1}),
                            (march, {"2025-Q1:received": 1})):
            Contribution.objects.create(case_id=case.pk, cells=cells, until="2025-Q2")
        for year, number, metric, value in ((2019, 4, "received", 1), (2019, 4, "pending_within", 1),
                                            (2025, 1, "received", 2), (2025, 1, "results", 1)):
            Cell.objects.create(case_type_id=t, year=year, quarter=number, metric=metric, value=value)
        frozen_at = timezone.now()
        for year, number, cells in ((2019, 4, {f"{t}:received": 1, f"{t}:pending_within": 1}), (2024, 4, {}),
                                    (2025, 1, {f"{t}:received": 2, f"{t}:results": 1, f"{t}:withdrawn": 1})):
            Closed.objects.create(year=year, quarter=number, cells=cells, frozen_at=frozen_at)
    finally:
        MigrationExecutor(connection).migrate(latest)

    assert CaseContribution.objects.get(case=old_case).cells == {f"2019-Q4:received@{stttt}": 1,
                                                                f"2019-Q4:pending_within@{stttt}": 1}
    assert CaseContribution.objects.get(case=march).cells == {f"2025-Q1:received@{svhttdl}": 1}
    # the transferred case's Q1/2025 stays with the agency that held it when Q1/2025 ended
    assert CaseContribution.objects.get(case=february).cells == {f"2025-Q1:received@{stttt}": 1,
                                                                f"2025-Q1:results@{stttt}": 1}
    assert {(c.agency_id, c.year, c.quarter, c.metric): c.value for c in QuarterCell.objects.all()} == {
        (stttt, 2019, 4, "received"): 1, (stttt, 2019, 4, "pending_within"): 1, (stttt, 2025, 1, "received"): 1,
        (stttt, 2025, 1, "results"): 1, (svhttdl, 2025, 1, "received"): 1}
    assert {(s.year, s.quarter, s.agency_id): s.cells for s in ClosedQuarter.objects.all()} == {
        (2019, 4, stttt): {f"{t}:received": 1, f"{t}:pending_within": 1},
        (2024, 4, stttt): {},  # nothing counted: the agency that held the procedures then
        # split as the cases fall; the withdrawal no case accounts for any more stays whole (drift, as before)
        (2025, 1, stttt): {f"{t}:received": 1, f"{t}:results": 1, f"{t}:withdrawn": 1},
        (2025, 1, svhttdl): {f"{t}:received": 1}}
    result, processing = bulletin(report(Q1_2025, "thai-binh-svhttdl"))
    assert (result["count"], processing["received"]) == (0, 1)
