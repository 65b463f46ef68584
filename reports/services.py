"""Keeping the quarterly figures: incremental refresh per case, full rebuild, the check of one by the other, and the
frozen figures of closed quarters.

A closed quarter never changes. When a quarter ends its figures are frozen (`quarters_freeze`, run by the quarter's
rollover and caught up by the nightly check): a rebuild from the cases as they stood at the quarter's end. The check
(`figures_check`, nightly and `manage.py figures_check`) compares three things:
  * kept cells vs rebuilt cells (mismatch): the worker's incremental figures went wrong; repair rebuilds the kept
    cells and every case's contribution from the cases;
  * each case's kept contribution vs its rebuilt cells (what the drill-down lists); repaired the same way;
  * for closed quarters, frozen cells vs rebuilt cells (drift): something changed a quarter that had ended (a case
    edited behind the services, a counting rule changed). Drift is logged at ERROR and recorded, and never repaired:
    the frozen figures are what was reported and stay as they are; a person has to explain the difference.
"""

import logging
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import hooks
from cases.bulk import update_by_value
from cases.models import Case, CaseType
from worker.outbox import outbox_enqueue

from .contributions import ACTIVITY_METRICS, case_cells, case_histories, cases_cells
from .models import CaseContribution, ClosedQuarter, QuarterCell, ReportCheck
from .quarters import Quarter

logger = logging.getLogger(__name__)
REPORTED_DOMAINS = ("licensing",)
CONTRIBUTION_EXAMPLES = 100  # contribution mismatches recorded in full on a check (all are counted)


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
        histories = case_histories(reported)  # the due-date and pause history of the batch: one query
        now = timezone.now()
        deltas: dict[tuple[int, str], int] = defaultdict(int)
        rows = {}
        for contribution in contributions:
            case = cases[contribution.case_id]
            new = case_cells(case, until=until, now=now, history=histories.get(case.pk))
            old = contribution.cells
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


def _relevant_cases(quarters: list[Quarter] | None, *, with_kept: bool = False):
    qs = Case.objects.filter(case_type__domain__in=REPORTED_DOMAINS).select_related("case_type")
    if quarters:
        first, last = min(quarters), max(quarters)
        # received before the last quarter ends, and not finished before the first one starts (every finished case
        # has closed_at; a grant approved but not yet issued has none and is still pending)
        qs = qs.filter(received_at__lt=last.end).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=first.start) | Q(decided_at__gte=first.start))
    qs = qs.only("id", "reference", "case_type", "received_at", "decided_at", "closed_at", "due_at", "paused_at",
                 "outcome", "state", "apologised_at", "case_type__domain")
    if with_kept:
        qs = qs.annotate(kept_cells=F("contribution__cells"))
    return qs.order_by("id")  # id order: each chunk's history is one range of the events' case index


def _under_way_pending(key: str, now: datetime) -> bool:
    """The quarter under way: its pending figures move with the clock between refreshes and are not compared."""
    return key.startswith(f"{Quarter.of(now)}:pending_")


def figures_compute(*, quarters: list[Quarter] | None = None, until: Quarter | None = None,
                    now: datetime | None = None) -> dict[tuple[int, str], int]:
    """The figures recomputed from the cases themselves: {(case_type_id, "2019-Q4:results"): n}."""
    now = now or timezone.now()
    until = until or Quarter.of(now)
    wanted = {str(q) for q in quarters} if quarters else None
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for case, cells in cases_cells(_relevant_cases(quarters).iterator(chunk_size=2000), until=until, now=now):
        for key, value in cells.items():
            if wanted is None or key.split(":")[0] in wanted:
                totals[(case.case_type_id, key)] += value
    return dict(totals)


def _quarters_condition(quarters: list[Quarter]) -> Q:
    condition = Q(pk__in=[])
    for quarter in quarters:
        condition |= Q(year=quarter.year, quarter=quarter.number)
    return condition


def figures_kept(*, quarters: list[Quarter] | None = None) -> dict[tuple[int, str], int]:
    qs = QuarterCell.objects.exclude(value=0)
    if quarters:
        qs = qs.filter(_quarters_condition(quarters))
    return {(c.case_type_id, f"{c.year}-Q{c.quarter}:{c.metric}"): c.value for c in qs}


def figures_rebuild() -> int:
    """Recompute every case's contribution and every kept figure from the cases. Returns the cells written.
    The frozen figures of closed quarters are not touched."""
    now = timezone.now()
    until = Quarter.of(now)
    with transaction.atomic():
        if connection.vendor == "postgresql":  # incremental refreshes wait until the rebuild is done
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE reports_casecontribution IN EXCLUSIVE MODE")
        totals: dict[tuple[int, str], int] = defaultdict(int)
        contributions = []
        for case, cells in cases_cells(_relevant_cases(None).iterator(chunk_size=2000), until=until, now=now):
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


# --- Which quarters have figures ------------------------------------------------------------------------------


def quarters_with_figures() -> list[Quarter]:
    """Every quarter with a non-zero kept cell, oldest first (cases standing open included)."""
    pairs = QuarterCell.objects.exclude(value=0).order_by().values_list("year", "quarter").distinct()
    return sorted(Quarter(year, number) for year, number in pairs)


def quarters_with_activity() -> list[Quarter]:
    """The quarters in which something happened, oldest first: a dossier received, a result, a refusal or a
    withdrawal (kept cells), or an inspection outcome or sanction decision. A quarter in which cases only stood
    open is not among them."""
    from django.db.models.functions import TruncQuarter

    from inspections.models import Outcome, SanctionDecision, Target

    pairs = set(QuarterCell.objects.exclude(value=0).filter(metric__in=ACTIVITY_METRICS).order_by()
                .values_list("year", "quarter").distinct())
    quarters = {Quarter(year, number) for year, number in pairs}
    tz = timezone.get_current_timezone()
    for qs, name in ((Target.objects.exclude(outcome=Outcome.PENDING).exclude(outcome_at=None), "outcome_at"),
                     (SanctionDecision.objects.exclude(decided_at=None), "decided_at")):
        starts = qs.annotate(q=TruncQuarter(name, tzinfo=tz)).order_by().values_list("q", flat=True).distinct()
        quarters |= {Quarter.of(start) for start in starts}
    return sorted(quarters)


# --- Closed quarters ---------------------------------------------------------------------------------------------


def frozen_figures(snapshot: ClosedQuarter) -> dict[tuple[int, str], int]:
    """A snapshot's cells in the shape of figures_kept: {(case_type_id, "2019-Q4:results"): n}."""
    quarter = f"{snapshot.year}-Q{snapshot.quarter}"
    figures = {}
    for key, value in snapshot.cells.items():
        type_id, metric = key.split(":")
        figures[(int(type_id), f"{quarter}:{metric}")] = value
    return figures


def quarters_freeze(*, quarters: list[Quarter] | None = None, now: datetime | None = None) -> list[ClosedQuarter]:
    """Freeze the figures of ended quarters that have no snapshot yet: a rebuild from the cases as they stood at
    each quarter's end. Without `quarters`: every ended quarter with figures, and the one that just ended. An
    existing snapshot is never touched (of two freezes of one quarter at once, the first stands). Returns the
    snapshots written."""
    now = now or timezone.now()
    current = Quarter.of(now)
    if quarters is None:
        quarters = [*quarters_with_figures(), current.previous()]
    frozen = {Quarter(year, number) for year, number in ClosedQuarter.objects.values_list("year", "quarter")}
    todo = sorted({q for q in quarters if q < current} - frozen)
    if not todo:
        return []
    fresh = figures_compute(quarters=todo, now=now)
    cells: dict[Quarter, dict[str, int]] = {quarter: {} for quarter in todo}
    for (type_id, key), value in sorted(fresh.items()):
        quarter, metric = key.split(":")
        if value:
            cells[Quarter.parse(quarter)][f"{type_id}:{metric}"] = value
    snapshots = [ClosedQuarter(year=q.year, quarter=q.number, cells=cells[q], frozen_at=now) for q in todo]
    ClosedQuarter.objects.bulk_create(snapshots, ignore_conflicts=True)
    logger.info("froze the figures of %s", ", ".join(str(q) for q in todo))
    return snapshots


# --- The check ---------------------------------------------------------------------------------------------------


def figures_check(*, quarters: list[Quarter] | None = None, repair: bool = True,
                  now: datetime | None = None) -> ReportCheck:
    """Compare the kept figures and contributions with a rebuild from the cases, and the frozen figures of closed
    quarters with the same rebuild; record the result. Without `quarters`: the quarter under way and the two
    before it.

    repair: a mismatch of kept cells or contributions is repaired by rebuilding them from the cases (the kept
    figures follow the cases). Drift of a closed quarter is never repaired: the frozen figures stay, the drift is
    logged at ERROR and recorded on the check, and stays reported until a person explains it."""
    now = now or timezone.now()
    current = Quarter.of(now)
    if quarters is None:
        quarters = [current.previous().previous(), current.previous(), current]
    quarters = sorted(set(quarters))
    wanted = {str(q) for q in quarters}

    def compared(key: str) -> bool:
        return key.split(":")[0] in wanted and not _under_way_pending(key, now)

    fresh: dict[tuple[int, str], int] = defaultdict(int)
    differing, examples = 0, []
    cases = _relevant_cases(quarters, with_kept=True).iterator(chunk_size=2000)
    for case, cells in cases_cells(cases, until=current, now=now):
        rebuilt = {key: value for key, value in cells.items() if compared(key)}
        for key, value in rebuilt.items():
            fresh[(case.case_type_id, key)] += value
        kept_cells = {key: value for key, value in (case.kept_cells or {}).items() if compared(key) and value}
        if kept_cells != rebuilt:
            differing += 1
            if len(examples) < CONTRIBUTION_EXAMPLES:
                examples.append({"case": case.pk, "reference": case.reference, "kept": kept_cells,
                                 "rebuilt": rebuilt})
    fresh = {k: v for k, v in fresh.items() if v}
    kept = {k: v for k, v in figures_kept(quarters=quarters).items() if compared(k[1])}
    codes = dict(CaseType.objects.values_list("pk", "code"))

    def entry(type_id: int, key: str, **values) -> dict:
        quarter, metric = key.split(":")
        return {"case_type": type_id, "code": codes.get(type_id, str(type_id)), "cell": key, "quarter": quarter,
                "metric": metric, **values}

    mismatches = [entry(type_id, key, kept=kept.get((type_id, key), 0), rebuilt=fresh.get((type_id, key), 0))
                  for type_id, key in sorted(set(fresh) | set(kept))
                  if kept.get((type_id, key), 0) != fresh.get((type_id, key), 0)]
    snapshots = list(ClosedQuarter.objects.filter(_quarters_condition([q for q in quarters if q < current])))
    drift = []
    for snapshot in snapshots:
        frozen = frozen_figures(snapshot)
        prefix = f"{snapshot.year}-Q{snapshot.quarter}:"
        in_quarter = {cell for cell in set(fresh) | set(kept) if cell[1].startswith(prefix)} | set(frozen)
        drift += [entry(type_id, key, frozen=frozen.get((type_id, key), 0), rebuilt=fresh.get((type_id, key), 0),
                        kept=kept.get((type_id, key), 0), frozen_at=snapshot.frozen_at.isoformat())
                  for type_id, key in sorted(in_quarter)
                  if frozen.get((type_id, key), 0) != fresh.get((type_id, key), 0)]
    check = ReportCheck.objects.create(
        quarters=[str(q) for q in quarters], cells_compared=len(set(fresh) | set(kept)), mismatches=mismatches,
        closed_quarters_compared=[f"{s.year}-Q{s.quarter}" for s in snapshots], drift=drift,
        contributions_mismatched=differing, contribution_mismatches=examples)
    if mismatches or differing:
        logger.error("quarterly figures differ from a rebuild in %d cells and %d case contributions: %s",
                     len(mismatches), differing, (mismatches or examples)[:10])
        if repair:
            figures_rebuild()
            check.repaired = True
            check.save(update_fields=["repaired"])
    if drift:
        logger.error("closed quarters changed since they were frozen (drift, not repaired) in %d cells: %s",
                     len(drift), drift[:10])
    return check


def check_unresolved(check: ReportCheck) -> bool:
    """Whether a check leaves something wrong: drift always, a mismatch unless it was repaired."""
    return bool(check.drift) or (bool(check.mismatches or check.contributions_mismatched) and not check.repaired)


def export_request(*, actor, format: str, received_from, received_to, uuid=None):
    """Queue an export of every case received in [from, to). A retried request (the same `uuid` from the same user)
    returns the same job, also when the two arrive at the same moment; a `uuid` that names another user's job is a
    Conflict, which says nothing about that job."""
    from django.db import IntegrityError

    from cases.errors import Conflict, ValidationFailed

    from .models import ExportJob

    if format not in ("csv", "xlsx"):
        raise ValidationFailed(_("Exports are CSV or XLSX."), extra={"errors": {"format": [_("csv or xlsx")]}})
    if received_to <= received_from:
        raise ValidationFailed(_("The period ends before it starts."),
                               extra={"errors": {"received_to": [_("Must be after received_from.")]}})

    def stored() -> ExportJob | None:
        job = ExportJob.objects.filter(request_uuid=uuid).first()
        if job is not None and job.requested_by_id != actor.pk:
            raise Conflict(_("This request id is already used; make a new one for a new export."))
        return job

    if uuid is not None and (existing := stored()) is not None:
        return existing, False
    try:
        with transaction.atomic():
            job = ExportJob.objects.create(requested_by=actor, request_uuid=uuid, format=format,
                                           received_from=received_from, received_to=received_to)
            outbox_enqueue("reports.export_run", job_id=job.pk)
    except IntegrityError:  # the same id stored meanwhile (a retry racing its original, or another user's job)
        if uuid is None or (existing := stored()) is None:
            raise
        return existing, False
    return job, True
