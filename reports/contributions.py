"""What one case adds to the quarterly tables: a set of cells "2019-Q4:results" → 1.

The kept aggregates are the sum of every case's cells; the rebuild recomputes cells from the cases.
Both use this one function, so the incremental figures and the rebuild agree by construction, and
the drill-down lists exactly the cases whose cells hold a number.

Metrics per licensing case type (DESIGN.md, "The quarter's numbers"):
  results        granted, counted in the quarter of the decision (refusals, withdrawals never count)
  received       received in the quarter
  carried_over   received before the quarter and still open at its start
  early/on_time/late   decided (granted or refused) in the quarter, against the due date (a case that
                 needed an apology letter is late whatever its new appointment)
  refused        refused in the quarter
  withdrawn      withdrawn in the quarter
  pending_within / pending_late   open at the quarter's end, due date not passed / passed at that moment;
                 for the quarter under way "the end" is now (refreshed when a case goes overdue)
"""

from datetime import datetime

from django.utils import timezone

from cases.workflow import Outcome

from .quarters import Quarter, quarters_between

METRICS = ("results", "received", "carried_over", "early", "on_time", "late", "refused", "withdrawn",
           "pending_within", "pending_late")


def cell_key(quarter: Quarter, metric: str) -> str:
    return f"{quarter}:{metric}"


def _local_date(moment: datetime):
    return timezone.localtime(moment).date()


def case_cells(case, *, until: Quarter, now: datetime | None = None) -> dict[str, int]:
    """The cells of one licensing case, for the quarters up to `until` (open cases run on until then)."""
    now = now or timezone.now()
    if case.case_type.domain != "licensing":
        return {}
    cells: dict[str, int] = {}
    received_q = Quarter.of(case.received_at)
    cells[cell_key(received_q, "received")] = 1
    decided = case.decided_at if case.outcome in (Outcome.GRANTED, Outcome.REFUSED) else None
    if decided is not None:
        quarter = Quarter.of(decided)
        if case.outcome == Outcome.GRANTED:
            cells[cell_key(quarter, "results")] = 1
        else:
            cells[cell_key(quarter, "refused")] = 1
        if case.apologised_at is None and (case.due_at is None or decided <= case.due_at):
            timing = "early" if case.due_at and _local_date(decided) < _local_date(case.due_at) else "on_time"
        else:
            timing = "late"
        cells[cell_key(quarter, timing)] = 1
    withdrawn = case.closed_at if case.outcome == Outcome.WITHDRAWN else None
    if withdrawn is not None:
        cells[cell_key(Quarter.of(withdrawn), "withdrawn")] = 1
    # The moment the case stopped being pending: its decision or withdrawal.
    finished = decided or withdrawn
    if finished is None and case.outcome == "" and case.closed_at is not None:
        finished = case.closed_at
    for quarter in quarters_between(received_q, until):
        if finished is not None and finished < quarter.start:
            break
        if case.received_at < quarter.start:
            cells[cell_key(quarter, "carried_over")] = 1
        if finished is None or finished >= quarter.end:
            moment = min(quarter.end, now)
            late = case.due_at is not None and case.due_at < moment and case.paused_at is None
            cells[cell_key(quarter, "pending_late" if late else "pending_within")] = 1
    return cells
