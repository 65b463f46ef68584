"""The quarter's tables, read from the kept figures (one small query per table)."""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Q

from cases.models import CaseType

from .contributions import METRICS
from .models import ClosedQuarter, QuarterCell
from .quarters import Quarter

PROCESSING_METRICS = ("carried_over", "received", "early", "on_time", "late", "refused", "withdrawn",
                      "pending_within", "pending_late")


def count_text(value: int) -> str:
    """Counts as the department writes them: "01", "09", "19", "1.836"."""
    return f"{value:02d}" if 0 <= value < 10 else f"{value:,}".replace(",", ".")


def change_text(value: int) -> str:
    return "0" if value == 0 else f"{value:+,}".replace(",", ".")


def _figures(quarters: list[Quarter]) -> dict[tuple[str, int, str], int]:
    """The figures of the quarters: a closed quarter's as they were frozen when it ended (what was reported, even
    if a later repair changed the kept cells), the others' as kept."""
    figures: dict[tuple[str, int, str], int] = defaultdict(int)
    closed = set()
    condition = Q(pk__in=[])
    for quarter in quarters:
        condition |= Q(year=quarter.year, quarter=quarter.number)
    for frozen in ClosedQuarter.objects.filter(condition):
        closed.add((frozen.year, frozen.quarter))
        for key, value in frozen.cells.items():
            type_id, metric = key.split(":")
            figures[(f"{frozen.year}-Q{frozen.quarter}", int(type_id), metric)] = value
    for type_id, year, number, metric, value in QuarterCell.objects.filter(condition).values_list(
            "case_type_id", "year", "quarter", "metric", "value"):
        if (year, number) not in closed:
            figures[(f"{year}-Q{number}", type_id, metric)] = value
    return figures


def report_agency(quarter: Quarter):
    """The agency whose report this is: the one that held the licensing procedures on the quarter's last day."""
    from agencies.models import Agency
    from cases.models import CaseTypeAgency

    last_day = quarter.end.date() - timedelta(days=1)
    rows = CaseTypeAgency.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=last_day),
                                         valid_from__lte=last_day, case_type__domain="licensing")
    return Agency.objects.filter(pk__in=rows.values("agency_id")).order_by("pk").first()


def _agency_block(agency, quarter: Quarter) -> dict:
    from agencies.selectors import signature_on

    if agency is None:
        return {"parent_name": "", "name": "", "symbol": "", "place_name": "", "signer_title": "GIÁM ĐỐC",
                "signer_name": ""}
    signed = signature_on(agency, quarter.end.date() - timedelta(days=1))
    return {"id": agency.pk, "parent_name": agency.parent_name, "name": agency.name, "symbol": agency.symbol,
            "place_name": agency.place_name, "signer_title": signed.title, "signer_name": signed.name}


def quarterly_report(quarter: Quarter) -> dict:
    previous = quarter.previous()
    figures = _figures([quarter, previous])
    procedures = list(CaseType.objects.filter(domain="licensing").order_by("report_order", "code")
                      .prefetch_related("terms"))
    last_day = quarter.end.date() - timedelta(days=1)
    results, processing = [], []
    for order, case_type in enumerate(procedures, start=1):
        # the terms in force on the quarter's last day (prefetched: no query per procedure)
        terms = max((t for t in case_type.terms.all() if t.effective_from <= last_day),
                    key=lambda t: t.effective_from, default=None)
        count = figures[(str(quarter), case_type.pk, "results")]
        before = figures[(str(previous), case_type.pk, "results")]
        results.append({
            "tt": order, "code": case_type.code, "name": case_type.name_vi,
            "unit": terms.result_unit if terms else "", "count": count, "count_text": count_text(count),
            "previous": before, "change": count - before, "change_text": change_text(count - before),
        })
        row = {"tt": order, "code": case_type.code, "name": case_type.name_vi}
        row.update({metric: figures[(str(quarter), case_type.pk, metric)] for metric in PROCESSING_METRICS})
        row["resolved"] = row["early"] + row["on_time"] + row["late"]
        processing.append(row)
    return {
        "agency": _agency_block(report_agency(quarter), quarter),
        "inspections": inspections_table(quarter),
        "quarter": str(quarter), "label": quarter.label_vi, "previous_quarter": str(previous),
        "period": {"start": quarter.start.isoformat(), "end": quarter.end.isoformat()},
        "procedure_results": results,
        "processing": processing,
        "metrics": list(METRICS),
    }


INSPECTION_METRICS = ("inspected", "compliant", "reminders", "violations", "sanctions", "fines_vnd")


def inspection_cells(quarter: Quarter):
    """Per inspection type, the querysets behind each number (outcomes and decisions dated in the quarter)."""
    from inspections.models import Outcome, SanctionDecision, Target

    in_quarter = {"outcome_at__gte": quarter.start, "outcome_at__lt": quarter.end}
    targets = Target.objects.filter(**in_quarter).exclude(outcome=Outcome.PENDING)
    return {
        "inspected": targets,
        "compliant": targets.filter(outcome=Outcome.COMPLIANT),
        "reminders": targets.filter(outcome=Outcome.REMINDER),
        "violations": targets.filter(outcome=Outcome.VIOLATION),
        "sanctions": Target.objects.filter(violation__sanction__decided_at__gte=quarter.start,
                                           violation__sanction__decided_at__lt=quarter.end),
        "_decisions": SanctionDecision.objects.filter(decided_at__gte=quarter.start, decided_at__lt=quarter.end),
    }


def inspections_table(quarter: Quarter) -> list[dict]:
    """Table 3: per inspection type, targets inspected, compliant, reminders, violations, sanction decisions
    and fines (VND) in the quarter. Read straight from the inspection tables: one grouped query per figure."""
    from django.db.models import Count, Sum

    cells = inspection_cells(quarter)
    counts: dict[str, dict[int, int]] = {}
    for metric in ("inspected", "compliant", "reminders", "violations", "sanctions"):
        counts[metric] = dict(cells[metric].values_list("campaign__case__case_type_id")
                              .annotate(n=Count("id")).values_list("campaign__case__case_type_id", "n"))
    fines = dict(cells["_decisions"].values_list("violation__target__campaign__case__case_type_id")
                 .annotate(total=Sum("fine_vnd")).values_list("violation__target__campaign__case__case_type_id",
                                                               "total"))
    rows = []
    for order, case_type in enumerate(CaseType.objects.filter(domain="inspection").order_by("report_order", "code"),
                                      start=1):
        row = {"tt": order, "code": case_type.code, "name": case_type.name_vi}
        row.update({metric: counts[metric].get(case_type.pk, 0) for metric in counts})
        row["fines_vnd"] = int(fines.get(case_type.pk) or 0)
        row["fines_text"] = count_text(row["fines_vnd"]) if row["fines_vnd"] else "0"
        rows.append(row)
    return rows
