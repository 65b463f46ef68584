"""What one case adds to the quarterly tables: a set of cells "2019-Q4:results@3" → 1 (agency 3's figure).

The kept aggregates are the sum of every case's cells; the rebuild recomputes cells from the cases.
Both use this one function, so the incremental figures and the rebuild agree by construction, and
the drill-down lists exactly the cases whose cells hold a number.

Metrics per licensing case type (DESIGN.md, "The quarter's numbers"):
  results        granted and its result document written (state issued, or revoked since), counted in the
                 quarter of the issue (closed_at); a case approved and not yet issued is still pending.
                 Refusals and withdrawals never count.
  received       received in the quarter
  carried_over   received before the quarter and still open at its start
  early/on_time/late   a grant at its issue moment, a refusal at its decision, against the due date as it stood
                 at that moment (a case that needed an apology letter is late whatever its new appointment)
  refused        refused in the quarter
  withdrawn      withdrawn in the quarter
  pending_within / pending_late   open at the quarter's end, judged on the due date and the pause as they stood at
                 that end; for the quarter under way "the end" is now (refreshed when a case goes overdue)

A due time is a minute: a result at 17:00:16 on a case due at 17:00 is on time, and a pending case is past its
due date only once the due minute has passed.

Every cell belongs to one agency: the one that held the case at the quarter's end (the quarter under way: now).
That is the case's agency unless it was transferred since; a "transfer" event holds the agency before and after
the move, so a case transferred to a successor counts for the old agency in the quarters that ended before the
transfer and for the successor from the quarter of the transfer on. The moment is the event's (when the case
changed hands in the service): a transfer run late never moves the figures of a quarter that had already ended.

A closed quarter never changes: it is judged on the case as it stood then, not on today's due date or pause. Both
change on the case's timeline: a "due_date" event holds the due date before and after each change (apology
letters, resumed clocks), and the supplement transitions hold paused_at before and after. The value of such a
field at a moment is the "before" of its first change after that moment, or the case's current value when it has
not changed since. Cases without such events (most of them) need nothing but their own row.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from cases.models import CaseEvent, minute_floor
from cases.workflow import Outcome, State

from .quarters import Quarter, quarters_between

METRICS = ("results", "received", "carried_over", "early", "on_time", "late", "refused", "withdrawn",
           "pending_within", "pending_late")
# Cells that say something happened in the quarter (the others describe the cases standing open in it).
ACTIVITY_METRICS = ("results", "received", "early", "on_time", "late", "refused", "withdrawn")
# A grant is a result once its document exists: issued, and still counted once revoked.
RESULT_STATES = frozenset({State.ISSUED, State.REVOKED})
# The transitions that pause and resume the deadline clock (their before/after hold paused_at).
PAUSE_ACTIONS = ("request_supplement", "receive_supplement")
HISTORY_CHUNK = 2000


def cell_key(quarter: Quarter, metric: str, agency_id: int) -> str:
    """The key of one agency's cell: "2019-Q4:results@3"."""
    return f"{quarter}:{metric}@{agency_id}"


def cell_split(key: str) -> tuple[str, int]:
    """ "2019-Q4:results@3" → ("2019-Q4:results", 3): the cell as the tables name it, and its agency."""
    cell, _at, agency = key.rpartition("@")
    return cell, int(agency)


def _local_date(moment: datetime):
    return timezone.localtime(moment).date()


def past_due(due: datetime, moment: datetime) -> bool:
    """Whether `moment` is past a due time read to the minute: due 17:00 is met until 17:00:59.999…, late from
    17:01:00 (the rule of Case.is_overdue)."""
    return due < minute_floor(moment)


# --- The case as it stood at a moment ---------------------------------------------------------------------------


def _parse(value) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass
class CaseHistory:
    """The changes of a case's due date, pause and agency, in timeline order: (moment of the change, value before
    it)."""

    due: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    paused: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    agency: list[tuple[datetime, int]] = field(default_factory=list)


def case_histories(case_ids) -> dict[int, CaseHistory]:
    """The due-date, pause and agency history of the given cases that have any, one query per 2,000 cases. A case
    missing from the answer never changed these fields: its row says how it always stood.

    Ids that lie close together (a rebuild reads the cases in id order) are read as one range of the events'
    case index rather than 2,000 probes of it; the events of other cases in the range are skipped."""
    histories: dict[int, CaseHistory] = {}
    ids = sorted(set(case_ids))
    wanted = (Q(kind=CaseEvent.Kind.DUE_DATE) | Q(kind=CaseEvent.Kind.TRANSITION, action__in=PAUSE_ACTIONS)
              | Q(kind=CaseEvent.Kind.TRANSFER))
    for start in range(0, len(ids), HISTORY_CHUNK):
        chunk = ids[start:start + HISTORY_CHUNK]
        if chunk[-1] - chunk[0] < 2 * len(chunk):
            events = CaseEvent.objects.filter(wanted, case_id__gte=chunk[0], case_id__lte=chunk[-1])
        else:
            events = CaseEvent.objects.filter(wanted, case_id__in=chunk)
        members = set(chunk)
        rows = events.order_by("case_id", "at", "id").values_list("case_id", "kind", "at", "before")
        for case_id, kind, at, before in rows:
            if case_id not in members:
                continue
            if kind == CaseEvent.Kind.DUE_DATE and "due_at" in before:
                histories.setdefault(case_id, CaseHistory()).due.append((at, _parse(before["due_at"])))
            elif kind == CaseEvent.Kind.TRANSITION and "paused_at" in before:
                histories.setdefault(case_id, CaseHistory()).paused.append((at, _parse(before["paused_at"])))
            elif kind == CaseEvent.Kind.TRANSFER and before.get("agency"):
                histories.setdefault(case_id, CaseHistory()).agency.append((at, int(before["agency"])))
    return histories


def _as_of(changes: list[tuple[datetime, datetime | None]], current, moment: datetime, *, inclusive: bool):
    """The value at `moment`: the value before the first change after it, else the current value. `inclusive`:
    a change at the moment itself has happened (for "now" and a decision); not for a quarter's exclusive end."""
    for at, before in changes:
        if at > moment or (at == moment and not inclusive):
            return before
    return current


class _AsOf:
    def __init__(self, case, history: CaseHistory | None):
        self.case, self.history = case, history

    def due(self, moment: datetime, *, inclusive: bool = True) -> datetime | None:
        if self.history is None:
            return self.case.due_at
        return _as_of(self.history.due, self.case.due_at, moment, inclusive=inclusive)

    def paused(self, moment: datetime, *, inclusive: bool = True) -> datetime | None:
        if self.history is None:
            return self.case.paused_at
        return _as_of(self.history.paused, self.case.paused_at, moment, inclusive=inclusive)

    def agency(self, moment: datetime, *, inclusive: bool = True) -> int:
        if self.history is None:
            return self.case.agency_id
        return _as_of(self.history.agency, self.case.agency_id, moment, inclusive=inclusive)


# --- The cells ----------------------------------------------------------------------------------------------------

_FETCH = object()


def _timing(case, moment: datetime, as_of: _AsOf) -> str:
    """Early, on time or late: a result at `moment` against the due date as it stood then."""
    if case.apologised_at is not None and case.apologised_at <= moment:
        return "late"
    due = as_of.due(moment)
    if due is None:
        return "on_time"
    if past_due(due, moment):
        return "late"
    return "early" if _local_date(moment) < _local_date(due) else "on_time"


def _judged_at(quarter: Quarter, now: datetime) -> tuple[datetime, bool]:
    """The moment a quarter is judged at, and whether a change at that very moment counts: an ended quarter at its
    end (a change at that instant belongs to the next quarter), the quarter under way now."""
    ended = quarter.end <= now
    return (quarter.end, False) if ended else (now, True)


def case_cells(case, *, until: Quarter, now: datetime | None = None, history=_FETCH) -> dict[str, int]:
    """The cells of one licensing case, for the quarters up to `until` (open cases run on until then), each the
    figure of the agency that held the case at that quarter's end: {"2019-Q4:results@3": 1}.

    `history` is the case's entry of `case_histories` (None: the case has none); callers that compute many cases
    fetch it for a chunk at a time. Left out, it is read for this one case."""
    now = now or timezone.now()
    if case.case_type.domain != "licensing":
        return {}
    if history is _FETCH:
        history = case_histories([case.pk]).get(case.pk)
    as_of = _AsOf(case, history)
    cells: dict[tuple[Quarter, str], int] = {}
    received_q = Quarter.of(case.received_at)
    cells[(received_q, "received")] = 1
    # The moment the case stopped being pending: its result issued, its refusal, its withdrawal.
    finished = None
    if case.outcome == Outcome.GRANTED:
        if case.state in RESULT_STATES and case.closed_at is not None:
            finished = case.closed_at
            quarter = Quarter.of(finished)
            cells[(quarter, "results")] = 1
            cells[(quarter, _timing(case, finished, as_of))] = 1
    elif case.outcome == Outcome.REFUSED and case.decided_at is not None:
        finished = case.decided_at
        quarter = Quarter.of(finished)
        cells[(quarter, "refused")] = 1
        cells[(quarter, _timing(case, finished, as_of))] = 1
    elif case.outcome == Outcome.WITHDRAWN and case.closed_at is not None:
        finished = case.closed_at
        cells[(Quarter.of(finished), "withdrawn")] = 1
    elif case.outcome == "" and case.closed_at is not None:
        finished = case.closed_at
    for quarter in quarters_between(received_q, until):
        if finished is not None and finished < quarter.start:
            break
        if case.received_at < quarter.start:
            cells[(quarter, "carried_over")] = 1
        if finished is None or finished >= quarter.end:
            moment, inclusive = _judged_at(quarter, now)
            due = as_of.due(moment, inclusive=inclusive)
            paused = as_of.paused(moment, inclusive=inclusive)
            late = due is not None and paused is None and past_due(due, moment)
            cells[(quarter, "pending_late" if late else "pending_within")] = 1
    agencies: dict[Quarter, int] = {}
    for quarter, _metric in cells:
        if quarter not in agencies:
            moment, inclusive = _judged_at(quarter, now)
            agencies[quarter] = as_of.agency(moment, inclusive=inclusive)
    return {cell_key(quarter, metric, agencies[quarter]): value for (quarter, metric), value in cells.items()}


def cases_cells(cases, *, until: Quarter, now: datetime | None = None):
    """(case, cells) for each of `cases` (an iterable, read as it goes): the histories of each 2,000 cases are
    read in one query, so a rebuild over a million cases costs one extra query per chunk, never one per case."""
    now = now or timezone.now()
    chunk = []
    for case in cases:
        chunk.append(case)
        if len(chunk) >= HISTORY_CHUNK:
            yield from _chunk_cells(chunk, until=until, now=now)
            chunk = []
    yield from _chunk_cells(chunk, until=until, now=now)


def _chunk_cells(chunk, *, until: Quarter, now: datetime):
    if not chunk:
        return
    histories = case_histories(case.pk for case in chunk)
    for case in chunk:
        yield case, case_cells(case, until=until, now=now, history=histories.get(case.pk))

