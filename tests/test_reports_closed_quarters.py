"""A closed quarter never changes: each quarter is judged on the cases as they stood at its end.

Everything here goes through the services with the clock moved (time_machine), as the department lived it: the
figures are kept by the refresh rows the services write (run here as the worker's batches would), the quarter's
rollover freezes the quarter that ended, and the check compares kept, rebuilt and frozen figures. Also: a grant
counts once its result is issued, in the quarter of the issue; due times are read to the minute; the report page
offers the quarters that have data and opens on the latest one that has ended.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from agencies.models import Agency
from cases import services as case_services
from cases.models import Case
from licensing import services as licensing_services
from reports import services as report_services
from reports import tasks as report_tasks
from reports.contributions import case_cells, cell_key
from reports.models import ClosedQuarter
from reports.quarters import Quarter
from reports.tables import quarterly_report
from worker import outbox

from .factories import case_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_sends_held")]
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
Q3_2019, Q4_2019, Q1_2020 = Quarter(2019, 3), Quarter(2019, 4), Quarter(2020, 1)
REASONS = "Hồ sơ cần xin ý kiến cơ quan chuyên môn."


def at(year, month, day, hour=9, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=HCM)


def receive(officer, code: str, moment: datetime) -> Case:
    """A dossier received at `moment` (the clock at that moment: nothing is backdated)."""
    with time_machine.travel(moment, tick=False):
        case = case_make(actor=officer, type_code=code)
    figures_refresh(moment)
    return case


def act(case: Case, actor, action: str, moment: datetime, **extra) -> Case:
    """An action taken at `moment` through the service, then the figures' refresh rows it wrote."""
    note = REASONS if action in ("request_supplement", "apologise_late", "propose_refusal", "refuse", "withdraw") \
        else ""
    with time_machine.travel(moment, tick=False):
        case_services.case_transition(case_id=case.pk, actor=actor, action=action, note=note, **extra)
    figures_refresh(moment)
    case.refresh_from_db()
    return case


def issue(case: Case, moment: datetime) -> Case:
    """The worker's issue task, run at `moment`: the result document is written and the case becomes issued."""
    with time_machine.travel(moment, tick=False):
        assert licensing_services.result_issue(case_id=case.pk) is not None
    figures_refresh(moment)
    case.refresh_from_db()
    return case


def figures_refresh(moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        outbox.outbox_batch_run("reports.case_refresh")


def rollover(moment: datetime) -> None:
    """The beat's rollover at 00:05 on a quarter's first day, and the refresh batches it queues."""
    with time_machine.travel(moment, tick=False):
        report_tasks.quarter_rollover()
    figures_refresh(moment)


def report(quarter: Quarter) -> dict:
    """The report of Thái Bình's Sở TTTT, which held every case of these years."""
    return quarterly_report(quarter, agency=Agency.objects.get(code="thai-binh-stttt"))


def row(quarter: Quarter, code: str) -> dict:
    return next(r for r in report(quarter)["processing"] if r["code"] == code)


def results(quarter: Quarter, code: str) -> int:
    return next(r for r in report(quarter)["procedure_results"] if r["code"] == code)["count"]


def key(quarter: Quarter, metric: str, case: Case) -> str:
    return cell_key(quarter, metric, case.agency_id)


def check_at(moment: datetime, quarters: list[Quarter]):
    with time_machine.travel(moment, tick=False):
        return report_services.figures_check(quarters=quarters, repair=False)


def assert_clean(check) -> None:
    assert (check.mismatches, check.drift, check.contributions_mismatched) == ([], [], 0)


# --- The apology letter of the issue ------------------------------------------------------------------------------


def test_an_apology_letter_in_october_leaves_the_third_quarter_as_it_stood(officer, head):
    # A print-shop registration (3 working days) received on Monday 23/09/2019 is due Thursday 26/09 at 17:00.
    case = receive(officer, "print_registration", at(2019, 9, 23, 9))
    assert timezone.localtime(case.due_at) == at(2019, 9, 26, 17)
    case = act(case, officer, "start_review", at(2019, 9, 23, 10))
    figures_refresh(at(2019, 9, 30, 16))
    rollover(at(2019, 10, 1, 0, 5))
    assert ClosedQuarter.objects.filter(year=2019, quarter=3).exists()  # the rollover froze Q3
    q3_kept = report_services.figures_kept(quarters=[Q3_2019])
    q3_report = report(Q3_2019)
    assert (row(Q3_2019, "print_registration")["pending_late"],
            row(Q3_2019, "print_registration")["pending_within"]) == (1, 0)

    # October: an apology letter sets a new appointment, 09/10 at 17:00.
    case = act(case, officer, "apologise_late", at(2019, 10, 2, 9), new_due_at=at(2019, 10, 9, 17))
    assert timezone.localtime(case.due_at) == at(2019, 10, 9, 17)
    assert report_services.figures_kept(quarters=[Q3_2019]) == q3_kept
    assert report(Q3_2019) == q3_report
    assert row(Q4_2019, "print_registration")["pending_within"] == 1  # now due next week: within, today
    # Judged on today's due date, Q3 would read "within": the timeline is what keeps it as it stood.
    assert key(Q3_2019, "pending_within", case) in case_cells(case, until=Q4_2019, now=at(2019, 10, 2, 10),
                                                              history=None)
    assert key(Q3_2019, "pending_late", case) in case_cells(case, until=Q4_2019, now=at(2019, 10, 2, 10))
    check = check_at(at(2019, 10, 2, 10), [Q3_2019, Q4_2019])
    assert_clean(check)
    assert check.closed_quarters_compared == ["2019-Q3@thai-binh-stttt"]

    # Granted and issued on 08/10, before the new appointment: late all the same (it needed an apology letter).
    act(case, officer, "propose_grant", at(2019, 10, 8, 9))
    act(case, head, "approve", at(2019, 10, 8, 10))
    issue(case, at(2019, 10, 8, 10, 5))
    q4 = row(Q4_2019, "print_registration")
    assert (results(Q4_2019, "print_registration"), q4["late"], q4["on_time"], q4["early"]) == (1, 1, 0, 0)
    assert report(Q3_2019) == q3_report

    # The rebuild (the nightly check's other side) judges Q3 the same way.
    with time_machine.travel(at(2019, 10, 9, 1, 30), tick=False):
        report_services.figures_rebuild()
    assert report_services.figures_kept(quarters=[Q3_2019]) == q3_kept
    assert_clean(check_at(at(2019, 10, 9, 1, 31), [Q3_2019, Q4_2019]))


# --- Pauses across a quarter's end ----------------------------------------------------------------------------


def test_a_pause_across_the_quarter_end_is_judged_as_it_stood_at_the_end(officer):
    # Bulletins (30 calendar days) received on 20/11/2019 are due 20/12/2019 at 17:00.
    paused_over = receive(officer, "bulletin", at(2019, 11, 20, 9))
    paused_after = receive(officer, "bulletin", at(2019, 11, 20, 10))
    assert timezone.localtime(paused_over.due_at) == at(2019, 12, 20, 17)
    for case in (paused_over, paused_after):
        act(case, officer, "start_review", at(2019, 11, 21))
    # One is paused before its due date and stays paused over New Year; the other runs past its due date.
    act(paused_over, officer, "request_supplement", at(2019, 12, 18, 10))
    rollover(at(2020, 1, 1, 0, 5))
    q4 = row(Q4_2019, "bulletin")
    assert (q4["pending_within"], q4["pending_late"]) == (1, 1)
    q4_kept = report_services.figures_kept(quarters=[Q4_2019])
    frozen = ClosedQuarter.objects.get(year=2019, quarter=4).cells
    assert frozen == {f"{paused_over.case_type_id}:{m}": n for m, n in
                      (("received", 2), ("pending_within", 1), ("pending_late", 1))}

    # January: the first is resumed (a new due date), the second is paused now, late as it already was.
    paused_over = act(paused_over, officer, "receive_supplement", at(2020, 1, 6, 9))
    assert paused_over.due_at > Q4_2019.end
    paused_after = act(paused_after, officer, "request_supplement", at(2020, 1, 3, 9))
    assert paused_after.paused_at is not None
    assert report_services.figures_kept(quarters=[Q4_2019]) == q4_kept
    # Judged on its row as it is today (paused), the second would read "within" in Q4.
    assert key(Q4_2019, "pending_within", paused_after) in case_cells(paused_after, until=Q1_2020,
                                                                      now=at(2020, 1, 6, 10), history=None)
    q1_now = row(Q1_2020, "bulletin")  # the quarter under way: one running within its new date, one paused
    assert (q1_now["carried_over"], q1_now["pending_within"], q1_now["pending_late"]) == (2, 2, 0)
    assert_clean(check_at(at(2020, 1, 6, 10), [Q4_2019, Q1_2020]))

    # Resumed after its due date had passed, the second stays late (no time left); Q4 still as it stood.
    paused_after = act(paused_after, officer, "receive_supplement", at(2020, 1, 10, 9))
    assert timezone.localtime(paused_after.due_at) == at(2019, 12, 20, 17)
    assert row(Q1_2020, "bulletin")["pending_late"] == 1
    assert report_services.figures_kept(quarters=[Q4_2019]) == q4_kept
    with time_machine.travel(at(2020, 1, 10, 10), tick=False):
        report_services.figures_rebuild()
    assert report_services.figures_kept(quarters=[Q4_2019]) == q4_kept
    assert_clean(check_at(at(2020, 1, 10, 10), [Q4_2019, Q1_2020]))


# --- Due times are minutes ------------------------------------------------------------------------------------


def test_a_result_within_the_due_minute_is_on_time_and_one_a_minute_later_is_late(officer, head):
    # Print-shop registrations received Monday 23/09/2019 are due Thursday 26/09 at 17:00.
    cases = [receive(officer, "print_registration", at(2019, 9, 23, 9, n)) for n in range(3)]
    assert {timezone.localtime(c.due_at) for c in cases} == {at(2019, 9, 26, 17)}
    for case in cases:
        act(case, officer, "start_review", at(2019, 9, 24))
    within, late, refused = cases
    for case in (within, late):
        act(case, officer, "propose_grant", at(2019, 9, 26, 10))
        act(case, head, "approve", at(2019, 9, 26, 16, 50))
    act(refused, officer, "propose_refusal", at(2019, 9, 26, 10))
    act(refused, head, "refuse", at(2019, 9, 26, 17, 0, 59))  # a refusal is judged at its decision
    issue(within, at(2019, 9, 26, 17, 0, 16))
    issue(late, at(2019, 9, 26, 17, 1, 0))  # approved in time, but the licence was written a minute late
    q3 = row(Q3_2019, "print_registration")
    assert results(Q3_2019, "print_registration") == 2
    assert (q3["early"], q3["on_time"], q3["late"], q3["refused"]) == (0, 2, 1, 1)
    assert key(Q3_2019, "on_time", within) in within.contribution.cells
    assert key(Q3_2019, "late", late) in late.contribution.cells
    assert key(Q3_2019, "on_time", refused) in refused.contribution.cells


def test_a_pending_case_is_past_due_only_once_its_due_minute_has_passed(officer):
    case = receive(officer, "print_registration", at(2019, 9, 23, 9))
    act(case, officer, "start_review", at(2019, 9, 23, 10))
    assert key(Q3_2019, "pending_within", case) in case_cells(case, until=Q3_2019, now=at(2019, 9, 26, 17, 0, 59))
    assert key(Q3_2019, "pending_late", case) in case_cells(case, until=Q3_2019, now=at(2019, 9, 26, 17, 1, 0))


# --- A grant counts once issued -------------------------------------------------------------------------------


def test_a_grant_approved_but_not_issued_is_pending_and_counts_in_the_quarter_of_its_issue(officer, head,
                                                                                           client, reporter):
    # A bulletin received on 20/12/2019 is due 19/01/2020 at 17:00; the head grants it on New Year's Eve.
    case = receive(officer, "bulletin", at(2019, 12, 20, 9))
    act(case, officer, "start_review", at(2019, 12, 23))
    act(case, officer, "propose_grant", at(2019, 12, 30))
    case = act(case, head, "approve", at(2019, 12, 31, 16))
    assert case.state == "approved" and case.decided_at is not None
    q4 = row(Q4_2019, "bulletin")
    assert results(Q4_2019, "bulletin") == 0
    assert (q4["pending_within"], q4["early"] + q4["on_time"] + q4["late"]) == (1, 0)

    rollover(at(2020, 1, 1, 0, 5))  # the licence is still not written when the quarter ends
    assert ClosedQuarter.objects.get(year=2019, quarter=4).cells == {
        f"{case.case_type_id}:received": 1, f"{case.case_type_id}:pending_within": 1}
    assert row(Q1_2020, "bulletin")["carried_over"] == 1

    case = issue(case, at(2020, 1, 2, 9))
    assert case.state == "issued" and timezone.localtime(case.closed_at) == at(2020, 1, 2, 9)
    q1 = row(Q1_2020, "bulletin")
    assert (results(Q1_2020, "bulletin"), q1["early"], q1["pending_within"]) == (1, 1, 0)
    assert results(Q4_2019, "bulletin") == 0 and row(Q4_2019, "bulletin")["pending_within"] == 1
    assert_clean(check_at(at(2020, 1, 2, 10), [Q4_2019, Q1_2020]))

    client.force_login(reporter)
    with time_machine.travel(at(2020, 1, 2, 10), tick=False):
        drill = client.get("/reports/quarterly/cases/?quarter=2020-Q1&type=bulletin&metric=results")
        assert case.reference in drill.content.decode()
        drill = client.get("/reports/quarterly/cases/?quarter=2019-Q4&type=bulletin&metric=results")
        assert case.reference not in drill.content.decode()
        drill = client.get("/reports/quarterly/cases/?quarter=2019-Q4&type=bulletin&metric=pending_within")
        assert case.reference in drill.content.decode()


# --- Freezing -------------------------------------------------------------------------------------------------


def test_a_frozen_quarter_is_written_once_and_never_changed(officer, head):
    case = receive(officer, "bulletin", at(2019, 11, 4, 9))
    act(case, officer, "start_review", at(2019, 11, 5))
    rollover(at(2020, 1, 1, 0, 5))
    snapshot = ClosedQuarter.objects.get(year=2019, quarter=4)
    assert timezone.localtime(snapshot.frozen_at) == at(2020, 1, 1, 0, 5)
    with time_machine.travel(at(2020, 1, 2, 1, 30), tick=False):
        assert report_services.quarters_freeze() == []  # the nightly catch-up finds it frozen
        report_tasks.check()
    act(case, officer, "withdraw", at(2020, 1, 3))
    rollover(at(2020, 1, 1, 0, 6))  # a second delivery of the rollover
    assert ClosedQuarter.objects.get(year=2019, quarter=4).cells == snapshot.cells
    assert ClosedQuarter.objects.filter(year=2019, quarter=4).count() == 1
    with pytest.raises(PermissionError):
        ClosedQuarter.objects.filter(pk=snapshot.pk).update(cells={})
    with pytest.raises(PermissionError):
        snapshot.save()
    with pytest.raises(PermissionError):
        snapshot.delete()


def test_the_nightly_check_freezes_a_quarter_the_rollover_missed(officer):
    receive(officer, "bulletin", at(2019, 11, 4, 9))
    figures_refresh(at(2020, 1, 1, 0, 10))
    assert not ClosedQuarter.objects.exists()  # the beat was down at 00:05
    with time_machine.travel(at(2020, 1, 2, 1, 30), tick=False):
        report_tasks.check()
    assert [(s.year, s.quarter) for s in ClosedQuarter.objects.all()] == [(2019, 4)]


# --- The report page --------------------------------------------------------------------------------------------

OPTION = re.compile(r'<option value="(\d{4}-Q\d)"( selected)?>')


def options(html: str) -> tuple[list[str], str | None]:
    found = OPTION.findall(html)
    return [value for value, _sel in found], next((value for value, sel in found if sel), None)


def test_the_report_page_offers_the_quarters_with_data_and_opens_on_the_latest_ended_one(client, officer, head,
                                                                                        reporter):
    granted = receive(officer, "bulletin", at(2019, 8, 5, 9))
    act(granted, officer, "start_review", at(2019, 8, 6))
    act(granted, officer, "propose_grant", at(2019, 8, 7))
    act(granted, head, "approve", at(2019, 8, 8))
    issue(granted, at(2019, 8, 8, 9, 5))
    withdrawn = receive(officer, "bulletin", at(2019, 11, 5, 9))
    act(withdrawn, officer, "withdraw", at(2019, 11, 6))
    still_open = receive(officer, "bulletin", at(2020, 2, 10, 9))  # open ever since: carried into every quarter
    today = at(2026, 12, 15, 10)
    with time_machine.travel(today, tick=False):
        report_services.contribution_refresh(case_id=still_open.pk)
        assert report_services.figures_kept(quarters=[Quarter(2023, 2)])  # it stands open in 2023 too
        client.force_login(reporter)
        values, selected = options(client.get("/reports/quarterly/").content.decode())
        assert values == ["2026-Q4", "2020-Q1", "2019-Q4", "2019-Q3"]
        assert selected == "2020-Q1"
        html = client.get("/reports/quarterly/?quarter=2023-Q2").content.decode()
        values, selected = options(html)
        assert selected == "2023-Q2" and "2023-Q2" in values
        html = client.get("/reports/quarterly/?quarter=2019-Q7").content.decode()
        assert options(html)[1] == "2020-Q1" and "2019-Q4" in html  # the message says what a quarter looks like


def test_the_report_page_without_data_opens_on_the_previous_quarter(client, reporter):
    client.force_login(reporter)
    with time_machine.travel(at(2026, 12, 15, 10), tick=False):
        values, selected = options(client.get("/reports/quarterly/").content.decode())
    assert (values, selected) == (["2026-Q4", "2026-Q3"], "2026-Q3")
