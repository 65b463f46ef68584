"""Keeping the quarterly figures: incremental refresh per case, full rebuild, and the check of one by the other."""

import logging
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import hooks
from cases.bulk import update_by_value
from cases.models import Case
from worker.outbox import outbox_enqueue

from .contributions import case_cells
from .models import CaseContribution, QuarterCell, ReportCheck
from .quarters import Quarter

logger = logging.getLogger(__name__)
REPORTED_DOMAINS = ("licensing",)


def _split(key: str) -> tuple[int, int, str]:
    quarter, metric = key.split(":")
    parsed = Quarter.parse(quarter)
    return parsed.year, parsed.number, metric


def _cells_add(deltas: dict[tuple[int, str], int]) -> None:
    """Add deltas to the kept cells in one statement, creating the cells that are missing. Rows are written in
    one sorted order by every writer, so two refreshes that touch the same cells never deadlock."""
    rows = []
    for (case_type_id, key), delta in sorted(deltas.items()):
        year, number, metric = _split(key)
        rows.append((case_type_id, year, number, metric, delta))
    if not rows:
        return
    table = connection.ops.quote_name(QuarterCell._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:  # PostgreSQL and SQLite (3.24+) share this upsert
        cursor.execute(
            f"INSERT INTO {table} (case_type_id, year, quarter, metric, value) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (year, quarter, case_type_id, metric) DO UPDATE SET value = {table}.value + excluded.value",
            [field for row in rows for field in row])


def contribution_refresh(*, case_id: int, until: Quarter | None = None) -> int:
    """Bring the kept figures in line with one case's current cells (see contributions_refresh)."""
    return contributions_refresh(case_ids=[case_id], until=until)


def contributions_refresh(*, case_ids, until: Quarter | None = None) -> int:
    """Bring the kept figures in line with the current cells of many cases, in one transaction. Returns the number
    of cells changed; a second run changes nothing.

    Each case's contribution row is locked before the case is read: of two refreshes of one case, the one that
    locks last reads the case last, so the figures end at the case's latest state whatever the order."""
    until = until or Quarter.current()
    with transaction.atomic():
        reported = list(Case.objects.filter(pk__in=set(case_ids), case_type__domain__in=REPORTED_DOMAINS)
                        .order_by("pk").values_list("pk", flat=True))
        if not reported:
            return 0
        CaseContribution.objects.bulk_create([CaseContribution(case_id=pk, cells={}, until="") for pk in reported],
                                             ignore_conflicts=True)
        contributions = list(CaseContribution.objects.select_for_update().filter(case_id__in=reported)
                             .order_by("case_id"))
        cases = Case.objects.select_related("case_type").in_bulk(reported)
        deltas: dict[tuple[int, str], int] = defaultdict(int)
        rows = {}
        for contribution in contributions:
            case = cases[contribution.case_id]
            new, old = case_cells(case, until=until), contribution.cells
            for key in set(new) | set(old):
                deltas[(case.case_type_id, key)] += new.get(key, 0) - old.get(key, 0)
            rows[contribution.pk] = {"cells": new, "until": str(until)}
        changed = {cell: delta for cell, delta in deltas.items() if delta}
        _cells_add(changed)
        # Cases received in one quarter share their cells: one UPDATE per distinct set.
        update_by_value(CaseContribution.objects.all(), rows)
        CaseContribution.objects.filter(pk__in=rows).update(computed_at=timezone.now())
    return len(changed)


@hooks.on_case_changed
def _case_changed(case) -> None:
    if case.case_type.domain in REPORTED_DOMAINS:
        outbox_enqueue("reports.case_refresh", case_id=case.pk)


def _relevant_cases(quarters: list[Quarter] | None):
    qs = Case.objects.filter(case_type__domain__in=REPORTED_DOMAINS).select_related("case_type")
    if quarters:
        first, last = min(quarters), max(quarters)
        # received before the last quarter ends, and not finished before the first one starts
        qs = qs.filter(received_at__lt=last.end).filter(
            Q(decided_at__isnull=True, closed_at__isnull=True) | Q(decided_at__gte=first.start)
            | Q(closed_at__gte=first.start))
    return qs.only("id", "case_type", "received_at", "decided_at", "closed_at", "due_at", "paused_at", "outcome",
                   "state", "apologised_at", "case_type__domain")


def figures_compute(*, quarters: list[Quarter] | None = None, until: Quarter | None = None
                    ) -> dict[tuple[int, str], int]:
    """The figures recomputed from the cases themselves: {(case_type_id, "2019-Q4:results"): n}."""
    until = until or Quarter.current()
    wanted = {str(q) for q in quarters} if quarters else None
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for case in _relevant_cases(quarters).iterator(chunk_size=2000):
        for key, value in case_cells(case, until=until).items():
            if wanted is None or key.split(":")[0] in wanted:
                totals[(case.case_type_id, key)] += value
    return dict(totals)


def figures_kept(*, quarters: list[Quarter] | None = None) -> dict[tuple[int, str], int]:
    qs = QuarterCell.objects.exclude(value=0)
    if quarters:
        condition = Q(pk__in=[])
        for quarter in quarters:
            condition |= Q(year=quarter.year, quarter=quarter.number)
        qs = qs.filter(condition)
    return {(c.case_type_id, f"{c.year}-Q{c.quarter}:{c.metric}"): c.value for c in qs}


def figures_rebuild() -> int:
    """Recompute every case's contribution and every figure from the cases. Returns the cells written."""
    until = Quarter.current()
    with transaction.atomic():
        if connection.vendor == "postgresql":  # incremental refreshes wait until the rebuild is done
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE reports_casecontribution IN EXCLUSIVE MODE")
        totals: dict[tuple[int, str], int] = defaultdict(int)
        contributions = []
        for case in _relevant_cases(None).iterator(chunk_size=2000):
            cells = case_cells(case, until=until)
            contributions.append(CaseContribution(case_id=case.pk, cells=cells, until=str(until)))
            for key, value in cells.items():
                totals[(case.case_type_id, key)] += value
            if len(contributions) >= 2000:
                _contributions_store(contributions)
                contributions = []
        _contributions_store(contributions)
        QuarterCell.objects.all().delete()
        QuarterCell.objects.bulk_create(
            [QuarterCell(case_type_id=type_id, year=_split(key)[0], quarter=_split(key)[1], metric=_split(key)[2],
                         value=value) for (type_id, key), value in totals.items() if value],
            batch_size=2000)
    return len(totals)


def _contributions_store(rows: list[CaseContribution]) -> None:
    if rows:
        CaseContribution.objects.bulk_create(rows, update_conflicts=True, unique_fields=["case"],
                                             update_fields=["cells", "until"], batch_size=2000)


def figures_check(*, quarters: list[Quarter] | None = None, repair: bool = True) -> ReportCheck:
    """Compare the kept figures with a rebuild from the cases; record the result and repair a mismatch."""
    if quarters is None:
        current = Quarter.current()
        quarters = [current.previous().previous(), current.previous(), current]
    fresh = figures_compute(quarters=quarters)
    kept = figures_kept(quarters=quarters)
    # The quarter under way: its pending figures move with the clock between refreshes; compare the rest.
    under_way = f"{Quarter.current()}:pending_"
    fresh = {k: v for k, v in fresh.items() if not k[1].startswith(under_way)}
    kept = {k: v for k, v in kept.items() if not k[1].startswith(under_way)}
    mismatches = [
        {"case_type": type_id, "cell": key, "kept": kept.get((type_id, key), 0), "rebuilt": fresh.get((type_id, key), 0)}
        for type_id, key in sorted(set(fresh) | set(kept))
        if kept.get((type_id, key), 0) != fresh.get((type_id, key), 0)
    ]
    check = ReportCheck.objects.create(quarters=[str(q) for q in quarters], cells_compared=len(set(fresh) | set(kept)),
                                       mismatches=mismatches)
    if mismatches:
        logger.error("quarterly figures differ from a rebuild in %d cells: %s", len(mismatches), mismatches[:10])
        if repair:
            figures_rebuild()
            check.repaired = True
            check.save(update_fields=["repaired"])
    return check


def export_request(*, actor, format: str, received_from, received_to, uuid=None):
    """Queue an export of every case received in [from, to); a retried request returns the same job."""
    from cases.errors import ValidationFailed

    from .models import ExportJob

    if format not in ("csv", "xlsx"):
        raise ValidationFailed(_("Exports are CSV or XLSX."), extra={"errors": {"format": [_("csv or xlsx")]}})
    if received_to <= received_from:
        raise ValidationFailed(_("The period ends before it starts."),
                               extra={"errors": {"received_to": [_("Must be after received_from.")]}})
    if uuid is not None:
        existing = ExportJob.objects.filter(request_uuid=uuid, requested_by=actor).first()
        if existing is not None:
            return existing, False
    with transaction.atomic():
        job = ExportJob.objects.create(requested_by=actor, request_uuid=uuid, format=format,
                                       received_from=received_from, received_to=received_to)
        outbox_enqueue("reports.export_run", job_id=job.pk)
    return job, True
