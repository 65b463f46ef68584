"""Back-office entry: cases decided before the service held them (a department's past registers).

Such a case never went through the workflow here. It is stored in its terminal state, with its real dates, by this
one system path (the only writer of Case.state besides the workflow's transitions), and its timeline says so: a
"created" event at its receipt, then an "imported" event, dated when it was entered, naming the file and the row it
came from and what it held (outcome, decision, result number). Nothing of the live workflow runs for it: no intake,
no guard, no applicant e-mail, no document task.

The domain app that imports (licensing.imports) adds its own rows (dossier, documents, permit) in the same
transaction. Apps above the case engine learn of entered cases through `on_entered` (reports refreshes the figures of
each quarter they touch) and say which quarters are closed through `closed_quarters_source` (a register is not
imported into a closed quarter).
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import roles as r
from .deadlines import WorkCalendar, due_at_compute
from .errors import NotAllowed
from .models import Case, CaseEvent, CaseType, CaseTypeTerms, Sequence, state_write_allowed
from .text import instance_text_clean
from .workflow import INITIAL_STATE, Outcome, State

# Who may enter past cases: they are decisions nobody took through the service, entered on trust.
PAST_ENTRY_ROLES = frozenset({r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
# The terminal state of a past licensing case, by its outcome.
PAST_STATES = {Outcome.GRANTED: State.ISSUED, Outcome.REFUSED: State.REFUSED, Outcome.WITHDRAWN: State.WITHDRAWN}

_entered: list[Callable] = []
_closed_sources: list[Callable] = []


def on_entered(func):
    """`func(cases)` runs in the transaction that entered past cases (stored, with their pks)."""
    if func not in _entered:
        _entered.append(func)
    return func


def closed_quarters_source(func):
    """`func(*, agency_id, quarters)` → {"2019-Q4": frozen_at} for those of `quarters` ("2019-Q4", …) that are closed
    for the agency."""
    if func not in _closed_sources:
        _closed_sources.append(func)
    return func


def quarters_closed(*, agency_id: int, quarters: Iterable[str]) -> dict[str, datetime]:
    """Which of `quarters` are closed for the agency, and since when (empty when no app keeps closed quarters)."""
    quarters = sorted(set(quarters))
    closed: dict[str, datetime] = {}
    for source in _closed_sources:
        closed.update(source(agency_id=agency_id, quarters=quarters))
    return closed


def quarter_of(moment: datetime) -> str:
    """ "2019-Q4": the calendar quarter of `moment` in local time (reports.quarters.Quarter's text)."""
    local = timezone.localtime(moment)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def quarters_spanned(first: datetime, last: datetime) -> list[str]:
    """The quarters from that of `first` to that of `last`, in order: those a case received at `first` and
    finished at `last` counts in (received, carried over, pending, its result)."""
    start, end = timezone.localtime(first), timezone.localtime(last)
    year, number = start.year, (start.month - 1) // 3 + 1
    end_year, end_number = end.year, (end.month - 1) // 3 + 1
    quarters = []
    while (year, number) <= (end_year, end_number):
        quarters.append(f"{year}-Q{number}")
        year, number = (year + 1, 1) if number == 4 else (year, number + 1)
    return quarters


@dataclass(frozen=True)
class PastCase:
    """One past case to enter.

    finished_at: when it stopped being pending: a grant's result issued, a refusal decided, a withdrawal.
    decided_at: the decision (grant or refusal); None for a withdrawal (as the workflow records one).
    due_at: the due date the register gives; None: computed from the terms, as at receipt.
    source: what the "imported" event records of its origin, e.g. {"file": …, "sha256": …, "row": 5}.
    """

    uuid: UUID
    case_type: CaseType
    terms: CaseTypeTerms
    subject_name: str
    received_at: datetime
    outcome: str
    finished_at: datetime
    decided_at: datetime | None = None
    due_at: datetime | None = None
    summary: str = ""
    subject_address: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    outcome_reasons: str = ""
    result_number: str = ""
    source: dict = field(default_factory=dict)


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _references_take(entries: list[PastCase]) -> list[str]:
    """A reference per entry from its type's yearly counter (the year of its receipt), a block per counter."""
    wanted: dict[tuple[str, int], int] = defaultdict(int)
    for entry in entries:
        wanted[(entry.case_type.code, timezone.localtime(entry.received_at).year)] += 1
    next_number: dict[tuple[str, int], int] = {}
    for code, year in sorted(wanted):  # one order for every taker of several counters
        key = f"case:{code}"
        Sequence.objects.get_or_create(key=key, year=year)
        counter = Sequence.objects.select_for_update().get(key=key, year=year)
        next_number[(code, year)] = counter.last_value + 1
        counter.last_value += wanted[(code, year)]
        counter.save(update_fields=["last_value"])
    references = []
    for entry in entries:
        slot = (entry.case_type.code, timezone.localtime(entry.received_at).year)
        references.append(f"{entry.case_type.reference_prefix}-{slot[1]}-{next_number[slot]:05d}")
        next_number[slot] += 1
    return references


def cases_past_enter(*, actor, agency, entries: list[PastCase]) -> list[Case]:
    """Store past licensing cases in their terminal state, held by `agency`, with their timeline. Set-based: a few
    queries per thousand cases. The caller has checked the entries (dates in order, the agency competent, the
    quarters open); runs in the caller's transaction if there is one."""
    if not (PAST_ENTRY_ROLES & r.user_roles(actor)):
        raise NotAllowed(_("Only the department head or an administrator may enter past cases."))
    for entry in entries:
        if entry.case_type.domain != "licensing" or entry.outcome not in PAST_STATES:
            raise ValueError(f"not a past licensing case: {entry.case_type.code} {entry.outcome!r}")
    if not entries:
        return []
    now = timezone.now()
    calendar = WorkCalendar()
    with transaction.atomic():
        references = _references_take(entries)
        cases = []
        with state_write_allowed():  # the one system path besides the transitions that sets a state
            for entry, reference in zip(entries, references, strict=True):
                terms = entry.terms
                due_at = entry.due_at
                if due_at is None and terms.limit_amount is not None:
                    due_at = due_at_compute(start=entry.received_at, amount=terms.limit_amount,
                                            unit=terms.limit_unit, calendar=calendar)
                case = Case(
                    uuid=entry.uuid, reference=reference, case_type=entry.case_type, agency=agency, terms=terms,
                    state=PAST_STATES[entry.outcome], summary=entry.summary, subject_name=entry.subject_name,
                    subject_address=entry.subject_address, contact_email=entry.contact_email,
                    contact_phone=entry.contact_phone, data={}, created_by=actor, received_at=entry.received_at,
                    due_at=due_at, decided_at=entry.decided_at, closed_at=entry.finished_at, outcome=entry.outcome,
                    outcome_reasons=entry.outcome_reasons, result_number=entry.result_number,
                    clock_started_at=entry.received_at, intake_completed_at=now,
                )
                instance_text_clean(Case, case)  # bulk_create sends no pre_save: clean here, as every door does
                cases.append(case)
            Case.objects.bulk_create(cases, batch_size=1000)
        events = []
        for entry, case in zip(entries, cases, strict=True):
            events.append(CaseEvent(
                case=case, actor=None, kind=CaseEvent.Kind.CREATED, at=entry.received_at,
                to_state=INITIAL_STATE["licensing"],
                after={"reference": case.reference, "due_at": _iso(case.due_at), "received_at": _iso(entry.received_at),
                       "imported": True}))
            source = entry.source or {}
            where = ", ".join(part for part in (
                f"tệp {source['file']}" if source.get("file") else "",
                f"dòng {source['row']}" if source.get("row") else "") if part)
            events.append(CaseEvent(
                case=case, actor=actor, kind=CaseEvent.Kind.IMPORTED, action="import", at=now,
                to_state=case.state,
                after={"outcome": case.outcome, "decided_at": _iso(case.decided_at), "closed_at": _iso(case.closed_at),
                       "result_number": case.result_number, "due_at": _iso(case.due_at), **source},
                # Stored text, in the language of the record (as documents are): the case's origin for a reader.
                note=f"Nhập từ sổ theo dõi{': ' + where if where else ''}."))
        for event in events:
            instance_text_clean(CaseEvent, event)
        CaseEvent.objects.bulk_create(events, batch_size=2000)
        for listener in _entered:
            listener(cases)
    return cases
