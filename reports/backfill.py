"""The figures and cases entered from a past register (cases.backoffice): which quarters they touch, which of those
are closed, and a refresh of each touched quarter's figures.

Entering a register writes one outbox row per quarter its cases count in (received, carried over, results,
refusals, withdrawals), not one per case: the row's task refreshes the contribution of every case that counts in
that quarter, in batches, so the kept figures of the quarter equal a rebuild from its cases. A closed quarter's frozen
figures are never touched (the importer refuses rows that would count in one: cases.backoffice.quarters_closed).
"""

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from cases import backoffice
from cases.models import Case
from cases.tasks import RETRY, outbox_done
from worker.outbox import outbox_enqueue

from . import services
from .contributions import case_cells
from .models import ClosedQuarter
from .quarters import Quarter

REFRESH_BATCH = 2000


@backoffice.on_entered
def _cases_entered(cases) -> None:
    """One figures refresh per quarter the entered cases count in, queued in the transaction that entered them."""
    until = Quarter.current()
    now = timezone.now()
    quarters = set()
    for case in cases:
        if case.case_type.domain in services.REPORTED_DOMAINS:
            # history=None: an entered case has no due-date, pause or transfer events
            quarters |= {key.split(":", 1)[0] for key in case_cells(case, until=until, now=now, history=None)}
    for quarter in sorted(quarters, key=Quarter.parse):
        outbox_enqueue("reports.quarter_refresh", quarter=quarter)


@backoffice.closed_quarters_source
def _quarters_closed(*, agency_id: int, quarters: list[str]) -> dict:
    condition = Q(pk__in=[])
    for text in quarters:
        quarter = Quarter.parse(text)
        condition |= Q(year=quarter.year, quarter=quarter.number)
    rows = ClosedQuarter.objects.filter(condition, agency_id=agency_id).values_list("year", "quarter", "frozen_at")
    return {f"{year}-Q{number}": frozen_at for year, number, frozen_at in rows}


def quarter_cases(quarter: Quarter):
    """The ids of the licensing cases that count in `quarter`: received before it ends and not finished before it
    starts (as services.figures_compute selects them)."""
    return (Case.objects.filter(case_type__domain__in=services.REPORTED_DOMAINS, received_at__lt=quarter.end)
            .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=quarter.start) | Q(decided_at__gte=quarter.start))
            .order_by("pk").values_list("pk", flat=True))


def quarter_refresh(*, quarter: str) -> int:
    """Refresh the contribution of every case that counts in `quarter` (batches of 2,000, each its own transaction).
    The quarter's kept figures then equal a rebuild from its cases; a second run changes nothing. Returns the cells
    changed."""
    ids = list(quarter_cases(Quarter.parse(quarter)))
    changed = 0
    for start in range(0, len(ids), REFRESH_BATCH):
        changed += services.contributions_refresh(case_ids=ids[start:start + REFRESH_BATCH])
    return changed


@shared_task(name="reports.quarter_refresh", **RETRY)
def quarter_refresh_task(quarter: str, outbox_id: int | None = None) -> None:
    quarter_refresh(quarter=quarter)
    outbox_done(outbox_id)
