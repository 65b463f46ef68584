"""Keeping the quarterly figures: incremental refresh per case, full rebuild, the check of one by the other, and the
frozen figures of closed quarters.

Figures are kept per agency (the agency that held each case at each quarter's end, reports/contributions.py); every
comparison below is made agency by agency.

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
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from cases import hooks
from cases.bulk import update_by_value
from cases.models import Case, CaseType
from worker.outbox import outbox_enqueue

from .contributions import ACTIVITY_METRICS, case_cells, case_histories, cases_cells, cell_split
from .models import CaseContribution, ClosedQuarter, QuarterCell, ReportCheck
from .quarters import Quarter

logger = logging.getLogger(__name__)
REPORTED_DOMAINS = ("licensing",)
CONTRIBUTION_EXAMPLES = 100  # contribution mismatches recorded in full on a check (all are counted)


# Figures by agency: {(agency_id, case_type_id, "2019-Q4:results"): n}. The public readers (figures_kept,
# figures_compute) answer {(case_type_id, "2019-Q4:results"): n} for one agency, or summed over all of them.
Figures = dict[tuple[int, int, str], int]


def _split(cell: str) -> tuple[int, int, str]:
    quarter, metric = cell.split(":")
    parsed = Quarter.parse(quarter)
    return parsed.year, parsed.number, metric


def _cells_add(deltas: Figures) -> None:
    """Add deltas to the kept cells in one statement, creating the cells that are missing. Rows are written in
    one sorted order by every writer, so two refreshes that touch the same cells never deadlock."""
    rows = []
    for (agency_id, case_type_id, cell), delta in sorted(deltas.items()):
        year, number, metric = _split(cell)
        rows.append((agency_id, case_type_id, year, number, metric, delta))
    if not rows:
        return
    table = connection.ops.quote_name(QuarterCell._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:  # PostgreSQL and SQLite (3.24+) share this upsert
        cursor.execute(
            f"INSERT INTO {table} (agency_id, case_type_id, year, quarter, metric, value) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (year, quarter, agency_id, case_type_id, metric) "
            f"DO UPDATE SET value = {table}.value + excluded.value",
            [field for row in rows for field in row])


def contribution_refresh(*, case_id: int, until: Quarter | None = None) -> int:
    """Bring the kept figures in line with one case's current cells (see contributions_refresh)."""
    return contributions_refresh(case_ids=[case_id], until=until)


def contributions_refresh(*, case_ids, until: Quarter | None = None) -> int:
    """Bring the kept figures in line with the current cells of many cases, in one transaction. Returns the number
    of cells changed; a second run changes nothing. A transferred case moves its cells from one agency's figures to
    the other's in the quarters its transfer changed (the quarter under way), and in no other.

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
        histories = case_histories(reported)  # the due-date, pause and agency history of the batch: one query
        now = timezone.now()
        deltas: Figures = defaultdict(int)
        rows = {}
        for contribution in contributions:
            case = cases[contribution.case_id]
            new = case_cells(case, until=until, now=now, history=histories.get(case.pk))
            old = contribution.cells
            for key in set(new) | set(old):
                cell, agency_id = cell_split(key)
                deltas[(agency_id, case.case_type_id, cell)] += new.get(key, 0) - old.get(key, 0)
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
    qs = qs.only("id", "reference", "case_type", "agency", "received_at", "decided_at", "closed_at", "due_at",
                 "paused_at", "outcome", "state", "apologised_at", "case_type__domain")
    if with_kept:
        qs = qs.annotate(kept_cells=F("contribution__cells"))
    return qs.order_by("id")  # id order: each chunk's history is one range of the events' case index


def _under_way_pending(key: str, now: datetime) -> bool:
    """The quarter under way: its pending figures move with the clock between refreshes and are not compared."""
    return key.startswith(f"{Quarter.of(now)}:pending_")


def _by_type(figures: Figures, agency) -> dict[tuple[int, str], int]:
    """Figures as the public readers answer them: one agency's (`agency`, a row or an id), or all summed."""
    agency_id = getattr(agency, "pk", agency)
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for (owner, type_id, cell), value in figures.items():
        if agency_id is None or owner == agency_id:
            totals[(type_id, cell)] += value
    return {key: value for key, value in totals.items() if value}


def _figures_rebuilt(*, quarters: list[Quarter] | None, until: Quarter | None = None,
                     now: datetime | None = None) -> Figures:
    now = now or timezone.now()
    until = until or Quarter.of(now)
    wanted = {str(q) for q in quarters} if quarters else None
    totals: Figures = defaultdict(int)
    for case, cells in cases_cells(_relevant_cases(quarters).iterator(chunk_size=2000), until=until, now=now):
        for key, value in cells.items():
            cell, agency_id = cell_split(key)
            if wanted is None or cell.split(":")[0] in wanted:
                totals[(agency_id, case.case_type_id, cell)] += value
    return {key: value for key, value in totals.items() if value}


def figures_compute(*, quarters: list[Quarter] | None = None, until: Quarter | None = None,
                    now: datetime | None = None, agency=None) -> dict[tuple[int, str], int]:
    """The figures recomputed from the cases themselves: {(case_type_id, "2019-Q4:results"): n}, of one agency or of
    every agency summed."""
    return _by_type(_figures_rebuilt(quarters=quarters, until=until, now=now), agency)


def _quarters_condition(quarters: list[Quarter]) -> Q:
    condition = Q(pk__in=[])
    for quarter in quarters:
        condition |= Q(year=quarter.year, quarter=quarter.number)
    return condition


def _kept(*, quarters: list[Quarter] | None = None) -> Figures:
    qs = QuarterCell.objects.exclude(value=0)
    if quarters:
        qs = qs.filter(_quarters_condition(quarters))
    return {(agency_id, type_id, f"{year}-Q{number}:{metric}"): value for agency_id, type_id, year, number, metric,
            value in qs.values_list("agency_id", "case_type_id", "year", "quarter", "metric", "value")}


def figures_kept(*, quarters: list[Quarter] | None = None, agency=None) -> dict[tuple[int, str], int]:
    """The kept figures: {(case_type_id, "2019-Q4:results"): n}, of one agency or of every agency summed."""
    return _by_type(_kept(quarters=quarters), agency)


def figures_rebuild() -> int:
    """Recompute every case's contribution and every kept figure from the cases. Returns the cells written.
    The frozen figures of closed quarters are not touched."""
    now = timezone.now()
    until = Quarter.of(now)
    with transaction.atomic():
        if connection.vendor == "postgresql":  # incremental refreshes wait until the rebuild is done
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE reports_casecontribution IN EXCLUSIVE MODE")
        totals: Figures = defaultdict(int)
        contributions = []
        for case, cells in cases_cells(_relevant_cases(None).iterator(chunk_size=2000), until=until, now=now):
            contributions.append(CaseContribution(case_id=case.pk, cells=cells, until=str(until)))
            for key, value in cells.items():
                cell, agency_id = cell_split(key)
                totals[(agency_id, case.case_type_id, cell)] += value
            if len(contributions) >= 2000:
                _contributions_store(contributions)
                contributions = []
        _contributions_store(contributions)
        QuarterCell.objects.all().delete()
        QuarterCell.objects.bulk_create(
            [QuarterCell(agency_id=agency_id, case_type_id=type_id, year=_split(cell)[0], quarter=_split(cell)[1],
                         metric=_split(cell)[2], value=value)
             for (agency_id, type_id, cell), value in totals.items() if value],
            batch_size=2000)
    return len(totals)


def _contributions_store(rows: list[CaseContribution]) -> None:
    if rows:
        CaseContribution.objects.bulk_create(rows, update_conflicts=True, unique_fields=["case"],
                                             update_fields=["cells", "until"], batch_size=2000)


# --- Which quarters and agencies have figures ------------------------------------------------------------------


def agencies_during(quarter: Quarter, agency_ids=None):
    """The agencies that existed on at least one day of the quarter (among `agency_ids` when given)."""
    first_day, last_day = quarter.start.date(), quarter.end.date() - timedelta(days=1)
    qs = Agency.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first_day), valid_from__lte=last_day)
    if agency_ids is not None:
        qs = qs.filter(pk__in=agency_ids)
    return qs.order_by("valid_from", "name", "pk")


def quarters_with_figures(*, agency_ids=None) -> list[Quarter]:
    """Every quarter with a non-zero kept cell (of the given agencies), oldest first (cases standing open
    included)."""
    qs = QuarterCell.objects.exclude(value=0)
    if agency_ids is not None:
        qs = qs.filter(agency_id__in=agency_ids)
    pairs = qs.order_by().values_list("year", "quarter").distinct()
    return sorted(Quarter(year, number) for year, number in pairs)


def quarters_with_activity(*, agency_ids=None) -> list[Quarter]:
    """The quarters in which something happened (in the given agencies), oldest first: a dossier received, a
    result, a refusal or a withdrawal (kept cells), or an inspection outcome or sanction decision of a campaign
    they hold. A quarter in which cases only stood open is not among them."""
    from django.db.models.functions import TruncQuarter

    from inspections.models import Outcome, SanctionDecision, Target

    cells = QuarterCell.objects.exclude(value=0).filter(metric__in=ACTIVITY_METRICS)
    targets = Target.objects.exclude(outcome=Outcome.PENDING).exclude(outcome_at=None)
    decisions = SanctionDecision.objects.exclude(decided_at=None)
    if agency_ids is not None:
        cells = cells.filter(agency_id__in=agency_ids)
        targets = targets.filter(campaign__case__agency_id__in=agency_ids)
        decisions = decisions.filter(violation__target__campaign__case__agency_id__in=agency_ids)
    pairs = set(cells.order_by().values_list("year", "quarter").distinct())
    quarters = {Quarter(year, number) for year, number in pairs}
    tz = timezone.get_current_timezone()
    for qs, name in ((targets, "outcome_at"), (decisions, "decided_at")):
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


def _frozen_pairs() -> set[tuple[Quarter, int]]:
    return {(Quarter(year, number), agency_id)
            for year, number, agency_id in ClosedQuarter.objects.values_list("year", "quarter", "agency_id")}


def quarters_freeze(*, quarters: list[Quarter] | None = None, now: datetime | None = None) -> list[ClosedQuarter]:
    """Freeze the figures of ended quarters that have no snapshot yet, one snapshot per agency: a rebuild from the
    cases as they stood at each quarter's end. An ended quarter is frozen for every agency that existed in it and
    every agency with figures in it. Without `quarters`: every ended quarter with figures, and the one that just
    ended. An existing snapshot is never touched (of two freezes of one quarter at once, the first stands).
    Returns the snapshots written."""
    now = now or timezone.now()
    current = Quarter.of(now)
    if quarters is None:
        quarters = [*quarters_with_figures(), current.previous()]
    ended = sorted({q for q in quarters if q < current})
    if not ended:
        return []
    frozen = _frozen_pairs()
    expected = {(Quarter.parse(cell.split(":")[0]), agency_id) for agency_id, _type, cell in _kept(quarters=ended)}
    for quarter in ended:
        expected |= {(quarter, agency_id) for agency_id in agencies_during(quarter).values_list("pk", flat=True)}
    todo_quarters = sorted({quarter for quarter, _agency in expected - frozen})
    if not todo_quarters:
        return []
    fresh = _figures_rebuilt(quarters=todo_quarters, now=now)
    cells: dict[tuple[Quarter, int], dict[str, int]] = defaultdict(dict)
    for pair in expected:  # an agency that existed in the quarter is frozen even with nothing to report
        if pair[0] in todo_quarters:
            cells.setdefault(pair, {})
    for (agency_id, type_id, cell), value in sorted(fresh.items()):
        quarter, metric = cell.split(":")
        cells[(Quarter.parse(quarter), agency_id)][f"{type_id}:{metric}"] = value
    todo = sorted(set(cells) - frozen)
    if not todo:
        return []
    snapshots = [ClosedQuarter(year=q.year, quarter=q.number, agency_id=agency_id, cells=cells[(q, agency_id)],
                               frozen_at=now) for q, agency_id in todo]
    ClosedQuarter.objects.bulk_create(snapshots, ignore_conflicts=True)
    logger.info("froze the figures of %s", ", ".join(f"{q}@{agency_id}" for q, agency_id in todo))
    return snapshots


# --- The check ---------------------------------------------------------------------------------------------------


def figures_check(*, quarters: list[Quarter] | None = None, repair: bool = True,
                  now: datetime | None = None) -> ReportCheck:
    """Compare the kept figures and contributions with a rebuild from the cases, and the frozen figures of closed
    quarters with the same rebuild, agency by agency; record the result. Without `quarters`: the quarter under way
    and the two before it.

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

    fresh: Figures = defaultdict(int)
    differing, examples = 0, []
    cases = _relevant_cases(quarters, with_kept=True).iterator(chunk_size=2000)
    for case, cells in cases_cells(cases, until=current, now=now):
        rebuilt = {key: value for key, value in cells.items() if compared(key)}
        for key, value in rebuilt.items():
            cell, agency_id = cell_split(key)
            fresh[(agency_id, case.case_type_id, cell)] += value
        kept_cells = {key: value for key, value in (case.kept_cells or {}).items() if compared(key) and value}
        if kept_cells != rebuilt:
            differing += 1
            if len(examples) < CONTRIBUTION_EXAMPLES:
                examples.append({"case": case.pk, "reference": case.reference, "kept": kept_cells,
                                 "rebuilt": rebuilt})
    fresh = {k: v for k, v in fresh.items() if v}
    kept = {k: v for k, v in _kept(quarters=quarters).items() if compared(k[2])}
    codes = dict(CaseType.objects.values_list("pk", "code"))
    agency_codes = dict(Agency.objects.values_list("pk", "code"))

    def entry(agency_id: int, type_id: int, cell: str, **values) -> dict:
        quarter, metric = cell.split(":")
        return {"agency": agency_id, "agency_code": agency_codes.get(agency_id, str(agency_id)),
                "case_type": type_id, "code": codes.get(type_id, str(type_id)), "cell": cell, "quarter": quarter,
                "metric": metric, **values}

    mismatches = [entry(*key, kept=kept.get(key, 0), rebuilt=fresh.get(key, 0))
                  for key in sorted(set(fresh) | set(kept)) if kept.get(key, 0) != fresh.get(key, 0)]
    snapshots = list(ClosedQuarter.objects.filter(_quarters_condition([q for q in quarters if q < current]))
                     .order_by("year", "quarter", "agency_id"))
    drift = []
    for snapshot in snapshots:
        frozen = {(snapshot.agency_id, type_id, cell): value
                  for (type_id, cell), value in frozen_figures(snapshot).items()}
        prefix = f"{snapshot.year}-Q{snapshot.quarter}:"
        in_quarter = {key for key in set(fresh) | set(kept)
                      if key[0] == snapshot.agency_id and key[2].startswith(prefix)} | set(frozen)
        drift += [entry(*key, frozen=frozen.get(key, 0), rebuilt=fresh.get(key, 0), kept=kept.get(key, 0),
                        frozen_at=snapshot.frozen_at.isoformat())
                  for key in sorted(in_quarter) if frozen.get(key, 0) != fresh.get(key, 0)]
    check = ReportCheck.objects.create(
        quarters=[str(q) for q in quarters], cells_compared=len(set(fresh) | set(kept)), mismatches=mismatches,
        closed_quarters_compared=[f"{s.year}-Q{s.quarter}@{agency_codes.get(s.agency_id, s.agency_id)}"
                                  for s in snapshots],
        drift=drift, contributions_mismatched=differing, contribution_mismatches=examples)
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
