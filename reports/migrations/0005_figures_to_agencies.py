"""The quarterly figures become per agency.

Existing figures get the agency of their cases: each case's contribution cells become the cells of the agency that
held the case at each quarter's end ("2019-Q4:results" → "2019-Q4:results@3"): the case's agency, unless a transfer
event after that end names the agency it was moved from (reports/contributions.py reads it the same way), and the
kept cells are summed again from the contributions, per agency (the sum of the contributions
is what the kept cells are). A closed quarter goes to the agency whose cases it counted; one that counted the cases
of several agencies is split among them as their cases fall, where the cases still add up to the frozen figure, and
a frozen figure they no longer add up to stays whole with the agency holding most of its cases (the nightly check
reports that drift as before). Nothing frozen changes its total.

The columns come in 0004 and the NOT NULL in 0006: PostgreSQL cannot alter a table with pending deferred foreign-key
checks in the same transaction, whichever way the migrations run.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations
from django.db.models import Q


def _quarter_days(year: int, number: int) -> tuple[date, date]:
    first = date(year, 3 * number - 2, 1)
    following = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return first, following - timedelta(days=1)


def _contributions_convert(schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("""
                UPDATE reports_casecontribution AS cc
                SET cells = COALESCE((SELECT jsonb_object_agg(e.key || '@' || c.agency_id, e.value)
                                      FROM jsonb_each(cc.cells) AS e), '{}'::jsonb)
                FROM cases_case AS c
                WHERE c.id = cc.case_id AND cc.cells <> '{}'::jsonb AND cc.cells::text NOT LIKE '%@%'
            """)
        elif connection.vendor == "sqlite":
            cursor.execute("""
                UPDATE reports_casecontribution
                SET cells = (SELECT json_group_object(e.key || '@' || c.agency_id, e.value)
                             FROM json_each(reports_casecontribution.cells) AS e, cases_case AS c
                             WHERE c.id = reports_casecontribution.case_id)
                WHERE cells <> '{}' AND cells NOT LIKE '%@%'
            """)
        else:
            raise RuntimeError(f"reports 0004: no conversion written for {connection.vendor}")


def _transferred_convert(apps) -> None:
    """The cases moved to another agency since: each quarter's cells go to the agency that held the case at that
    quarter's end (the "before" of the first transfer at or after it), the quarter under way's to the holder now."""
    Contribution = apps.get_model("reports", "CaseContribution")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    moves: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for case_id, at, before in (CaseEvent.objects.filter(kind="transfer").order_by("case_id", "at", "id")
                                .values_list("case_id", "at", "before")):
        if before.get("agency"):
            moves[case_id].append((at, int(before["agency"])))
    tz = ZoneInfo(settings.TIME_ZONE)
    for contribution in Contribution.objects.filter(case_id__in=list(moves)).select_related("case"):
        cells = {}
        for key, value in contribution.cells.items():
            cell = key.rpartition("@")[0]
            year, number = (int(part) for part in cell.split(":")[0].split("-Q"))
            end = datetime(year + 1, 1, 1, tzinfo=tz) if number == 4 else datetime(year, 3 * number + 1, 1, tzinfo=tz)
            held = next((agency for at, agency in moves[contribution.case_id] if at >= end),
                        contribution.case.agency_id)
            cells[f"{cell}@{held}"] = value
        Contribution.objects.filter(pk=contribution.pk).update(cells=cells)


def figures_to_agencies(apps, schema_editor):
    Contribution = apps.get_model("reports", "CaseContribution")
    QuarterCell = apps.get_model("reports", "QuarterCell")
    ClosedQuarter = apps.get_model("reports", "ClosedQuarter")
    Agency = apps.get_model("agencies", "Agency")
    CaseTypeAgency = apps.get_model("cases", "CaseTypeAgency")

    _contributions_convert(schema_editor)
    _transferred_convert(apps)

    # The kept cells, summed again per agency: {(agency, type, year, quarter, metric): n}.
    totals: dict[tuple[int, int, int, int, str], int] = defaultdict(int)
    rows = Contribution.objects.exclude(cells={}).values_list("case__case_type_id", "cells")
    for type_id, cells in rows.iterator(chunk_size=2000):
        for key, value in cells.items():
            cell, _at, agency_id = key.rpartition("@")
            quarter, metric = cell.split(":")
            year, number = quarter.split("-Q")
            totals[(int(agency_id), type_id, int(year), int(number), metric)] += value
    QuarterCell.objects.all().delete()
    QuarterCell.objects.bulk_create(
        [QuarterCell(agency_id=agency_id, case_type_id=type_id, year=year, quarter=number, metric=metric, value=value)
         for (agency_id, type_id, year, number, metric), value in totals.items() if value], batch_size=2000)

    shares: dict[tuple[int, int], dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for (agency_id, type_id, year, number, metric), value in totals.items():
        if value:
            shares[(year, number)][f"{type_id}:{metric}"][agency_id] = value
    for snapshot in list(ClosedQuarter.objects.filter(agency__isnull=True).order_by("year", "quarter")):
        by_cell = shares.get((snapshot.year, snapshot.quarter), {})
        involved = {agency_id for counts in by_cell.values() for agency_id in counts}
        if not involved:  # nothing counted: the agency that held the procedures on the quarter's last day
            first_day, last_day = _quarter_days(snapshot.year, snapshot.quarter)
            holder = (CaseTypeAgency.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=last_day),
                                                    valid_from__lte=last_day, case_type__domain="licensing")
                      .order_by("agency_id").values_list("agency_id", flat=True).first()
                      or Agency.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first_day),
                                               valid_from__lte=last_day).order_by("pk").values_list("pk", flat=True)
                      .first()
                      or Agency.objects.order_by("pk").values_list("pk", flat=True).first())
            if holder is None:
                if snapshot.cells:
                    raise RuntimeError(f"reports 0004: the closed quarter {snapshot.year}-Q{snapshot.quarter} holds "
                                       "figures, but there is no agency to give them to")
                snapshot.delete()  # an empty snapshot of an installation without agencies (and so without cases)
                continue
            involved = {holder}
        split: dict[int, dict[str, int]] = {agency_id: {} for agency_id in involved}
        for key, frozen in snapshot.cells.items():
            counts = by_cell.get(key, {})
            if counts and sum(counts.values()) == frozen:
                for agency_id, value in counts.items():
                    split[agency_id][key] = value
            else:
                owner = max(counts, key=lambda agency_id: (counts[agency_id], -agency_id)) if counts \
                    else min(involved)
                split[owner][key] = frozen
        first, *others = sorted(split)
        snapshot.agency_id, snapshot.cells = first, split[first]
        snapshot.save(update_fields=["agency", "cells"])
        ClosedQuarter.objects.bulk_create([
            ClosedQuarter(year=snapshot.year, quarter=snapshot.quarter, agency_id=agency_id, cells=split[agency_id],
                          frozen_at=snapshot.frozen_at) for agency_id in others])


def figures_to_one_table(apps, schema_editor):
    """Back to one table for the installation: every agency's cells summed, contributions without their agency."""
    Contribution = apps.get_model("reports", "CaseContribution")
    QuarterCell = apps.get_model("reports", "QuarterCell")
    ClosedQuarter = apps.get_model("reports", "ClosedQuarter")
    for contribution in Contribution.objects.exclude(cells={}).iterator(chunk_size=2000):
        cells: dict[str, int] = defaultdict(int)
        for key, value in contribution.cells.items():
            cells[key.rpartition("@")[0] or key] += value
        Contribution.objects.filter(pk=contribution.pk).update(cells=dict(cells))
    totals: dict[tuple[int, int, int, str], int] = defaultdict(int)
    for type_id, year, number, metric, value in QuarterCell.objects.values_list("case_type_id", "year", "quarter",
                                                                                "metric", "value"):
        totals[(type_id, year, number, metric)] += value
    QuarterCell.objects.all().delete()
    QuarterCell.objects.bulk_create([QuarterCell(case_type_id=type_id, year=year, quarter=number, metric=metric,
                                                 value=value)
                                     for (type_id, year, number, metric), value in totals.items()], batch_size=2000)
    merged: dict[tuple[int, int], list] = defaultdict(list)
    for snapshot in ClosedQuarter.objects.order_by("year", "quarter", "frozen_at", "pk"):
        merged[(snapshot.year, snapshot.quarter)].append(snapshot)
    for snapshots in merged.values():
        first, *others = snapshots
        cells = defaultdict(int)
        for snapshot in snapshots:
            for key, value in snapshot.cells.items():
                cells[key] += value
        ClosedQuarter.objects.filter(pk=first.pk).update(cells=dict(cells), agency=None)
        ClosedQuarter.objects.filter(pk__in=[snapshot.pk for snapshot in others]).delete()


class Migration(migrations.Migration):

    dependencies = [("reports", "0004_figures_agency")]

    operations = [migrations.RunPython(figures_to_agencies, figures_to_one_table, elidable=False)]
