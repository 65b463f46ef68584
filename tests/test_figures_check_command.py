"""`manage.py figures_check`: kept vs rebuilt figures, and the frozen figures of closed quarters vs the rebuild.

A kept figure or a case's contribution that went wrong is a mismatch that --repair rebuilds from the cases. A
closed quarter whose rebuild no longer equals what was frozen has drifted: reported (ERROR log, the ReportCheck,
the command's output and exit status) and never repaired by overwriting the frozen figures.
"""

import io
import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from cases.models import Case
from reports import services as report_services
from reports.contributions import cell_key
from reports.models import CaseContribution, ClosedQuarter, QuarterCell, ReportCheck
from reports.quarters import Quarter

from .test_reports_closed_quarters import act, at, figures_refresh, issue, receive, rollover

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_sends_held")]
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
Q4_2019, Q1_2020 = Quarter(2019, 4), Quarter(2020, 1)
TODAY = datetime(2020, 1, 10, 10, tzinfo=HCM)


@pytest.fixture
def closed_q4(officer, head):
    """A bulletin granted and issued in Q4/2019 and one still open, Q4 frozen by the rollover into Q1/2020."""
    granted = receive(officer, "bulletin", at(2019, 10, 7))
    act(granted, officer, "start_review", at(2019, 10, 8))
    act(granted, officer, "propose_grant", at(2019, 10, 15))
    act(granted, head, "approve", at(2019, 10, 21))
    granted = issue(granted, at(2019, 10, 21, 9, 5))
    still_open = receive(officer, "bulletin", at(2019, 12, 2))
    act(still_open, officer, "start_review", at(2019, 12, 3))
    rollover(at(2020, 1, 1, 0, 5))
    figures_refresh(TODAY)
    return granted, still_open


def figures_check(*args) -> tuple[int, str]:
    """Run the command today; (exit status, output)."""
    out = io.StringIO()
    with time_machine.travel(TODAY, tick=False):
        try:
            call_command("figures_check", *args, stdout=out)
        except SystemExit as exit_:
            return exit_.code, out.getvalue()
    return 0, out.getvalue()


def frozen_cells_set(quarter: Quarter, cells: dict) -> None:
    """Change a snapshot behind the code's back (the model refuses to): as a bad migration or a hand edit would."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reports_closedquarter SET cells = %s::jsonb WHERE year = %s AND quarter = %s",
                       [json.dumps(cells), quarter.year, quarter.number])


def test_a_clean_check_says_so_and_exits_zero(closed_q4):
    status, output = figures_check("--quarter", "2019-Q4", "--quarter", "2020-Q1")
    assert status == 0, output
    assert output.splitlines()[-1].startswith("figures_check OK: 2 quarters (2019-Q4…2020-Q1)")
    assert "0 mismatches" in output and "0 drifted cells" in output and "1 closed quarters" in output
    status, output = figures_check()  # every quarter with data
    assert status == 0, output
    check = ReportCheck.objects.first()
    assert check.quarters == ["2019-Q4", "2020-Q1"]
    assert check.closed_quarters_compared == ["2019-Q4@thai-binh-stttt"]


def test_a_changed_snapshot_is_drift_reported_and_never_overwritten(closed_q4, caplog):
    granted, _open = closed_q4
    type_id = granted.case_type_id
    frozen = ClosedQuarter.objects.get(year=2019, quarter=4).cells
    assert frozen[f"{type_id}:results"] == 1
    frozen_cells_set(Q4_2019, {**frozen, f"{type_id}:results": 5})

    with caplog.at_level(logging.ERROR, logger="reports.services"):
        with time_machine.travel(TODAY, tick=False):
            check = report_services.figures_check(quarters=[Q4_2019], repair=True)
    assert check.mismatches == [] and not check.repaired  # the kept figures agree with the cases
    assert [(d["agency_code"], d["code"], d["quarter"], d["metric"], d["frozen"], d["rebuilt"], d["kept"])
            for d in check.drift] == [("thai-binh-stttt", "bulletin", "2019-Q4", "results", 5, 1, 1)]
    assert any("drift" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert report_services.check_unresolved(check)

    status, output = figures_check("--quarter", "2019-Q4", "--repair")
    assert status == 1
    assert "drift     thai-binh-stttt  bulletin  2019-Q4  results  frozen 5  rebuilt 1  kept 1" in output
    assert output.splitlines()[-1].startswith("figures_check FAILED")
    assert "1 drifted cells in 2019-Q4 (not repaired)" in output
    assert ClosedQuarter.objects.get(year=2019, quarter=4).cells[f"{type_id}:results"] == 5  # left as it is


def test_a_case_changed_behind_the_services_drifts_its_closed_quarter(closed_q4):
    granted, _open = closed_q4
    # Someone moves the licence's issue into January by hand: Q4/2019 loses a result it reported.
    Case.objects.filter(pk=granted.pk).update(closed_at=at(2020, 1, 3))
    status, output = figures_check("--quarter", "2019-Q4")
    assert status == 1
    assert "mismatch  thai-binh-stttt  bulletin  2019-Q4  results  kept 1  rebuilt 0" in output
    assert "drift     thai-binh-stttt  bulletin  2019-Q4  results  frozen 1  rebuilt 0  kept 1" in output
    assert f"case      {granted.reference}" in output

    # --repair makes the kept figures follow the cases; the frozen quarter stays as reported, and still differs.
    status, output = figures_check("--quarter", "2019-Q4", "--repair")
    assert status == 1 and "(repaired)" in output
    assert "drift     thai-binh-stttt  bulletin  2019-Q4  results  frozen 1" in output
    assert report_services.figures_kept(quarters=[Q4_2019]).get((granted.case_type_id, "2019-Q4:results")) is None
    assert ClosedQuarter.objects.get(year=2019, quarter=4).cells[f"{granted.case_type_id}:results"] == 1
    status, output = figures_check("--quarter", "2019-Q4")
    assert status == 1 and "0 mismatches" in output and "frozen 1  rebuilt 0  kept 0" in output


def test_a_changed_contribution_is_reported_and_repaired(closed_q4):
    granted, _open = closed_q4
    contribution = CaseContribution.objects.get(case=granted)
    result = cell_key(Q4_2019, "results", granted.agency_id)  # "2019-Q4:results@<Sở TTTT's id>"
    wrong = {key: value for key, value in contribution.cells.items() if key != result}
    CaseContribution.objects.filter(pk=contribution.pk).update(cells=wrong)  # the drill-down would miss it
    with time_machine.travel(TODAY, tick=False):
        check = report_services.figures_check(quarters=[Q4_2019], repair=False)
    assert check.contributions_mismatched == 1 and check.drift == [] and check.mismatches == []
    assert check.contribution_mismatches[0]["case"] == granted.pk
    assert result in check.contribution_mismatches[0]["rebuilt"]
    status, output = figures_check("--quarter", "2019-Q4")
    assert status == 1 and f"case      {granted.reference} (id {granted.pk})" in output
    assert "1 case contributions differing" in output

    # Left as it is, the next refresh of the case would carry the error into the kept figures: a mismatch too.
    figures_refresh(TODAY)  # nothing queued: nothing changes
    status, output = figures_check("--quarter", "2019-Q4", "--repair")
    assert status == 0, output
    assert result in CaseContribution.objects.get(case=granted).cells
    assert figures_check("--quarter", "2019-Q4")[0] == 0


def test_a_wrong_kept_figure_fails_the_check_until_repaired(closed_q4):
    QuarterCell.objects.filter(year=2019, quarter=4, metric="results").update(value=7)
    status, output = figures_check()
    assert status == 1
    assert "mismatch  thai-binh-stttt  bulletin  2019-Q4  results  kept 7  rebuilt 1" in output
    # The kept cell now differs from the frozen one too, but the rebuild still equals the frozen figures: no drift.
    assert "0 drifted cells" in output
    status, output = figures_check("--repair")
    assert status == 0 and "1 mismatches (repaired)" in output
    assert figures_check()[0] == 0
    assert QuarterCell.objects.get(year=2019, quarter=4, metric="results").value == 1


def test_a_bad_quarter_is_refused(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="2019-Q4"):
        call_command("figures_check", "--quarter", "2019-Q5")
