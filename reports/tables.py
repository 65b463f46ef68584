"""One agency's tables of a quarter, read from the kept figures (one small query per table).

Every report belongs to one agency and prints it as it was in that quarter: its header, symbol, place and signer of
the quarter's last day (of the agency's last day, when it ended within the quarter). An agency's rows never change
meaning: a reorganisation ends an agency and starts its successors, so the 2019 report of the Sở TTTT Thái Bình
prints Thái Bình whatever happened since. A quarter in which the agency started or ended carries a note saying so
(`report["note"]`), and the report covers the agency's own scope: the procedures and inspection types it was
competent for in the quarter, and any other type it holds figures of.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from cases.errors import NotFound, ValidationFailed
from cases.models import CaseEvent, CaseType, CaseTypeAgency

from .contributions import METRICS
from .models import ClosedQuarter, QuarterCell
from .quality import quality_table
from .quarters import Quarter
from .services import agencies_during

PROCESSING_METRICS = ("carried_over", "received", "early", "on_time", "late", "refused", "withdrawn",
                      "pending_within", "pending_late")


def count_text(value: int) -> str:
    """Counts as the department writes them: "01", "09", "19", "1.836"."""
    return f"{value:02d}" if 0 <= value < 10 else f"{value:,}".replace(",", ".")


def change_text(value: int) -> str:
    return "0" if value == 0 else f"{value:+,}".replace(",", ".")


def _days(quarter: Quarter) -> tuple[date, date]:
    return quarter.start.date(), quarter.end.date() - timedelta(days=1)


def _quarters_condition(quarters: list[Quarter]) -> Q:
    condition = Q(pk__in=[])
    for quarter in quarters:
        condition |= Q(year=quarter.year, quarter=quarter.number)
    return condition


def _figures(quarters: list[Quarter], agency_id: int) -> dict[tuple[str, int, str], int]:
    """One agency's figures of the quarters: a closed quarter's as they were frozen when it ended (what was reported,
    even if a later repair changed the kept cells), the others' as kept."""
    figures: dict[tuple[str, int, str], int] = defaultdict(int)
    closed = set()
    condition = _quarters_condition(quarters)
    for frozen in ClosedQuarter.objects.filter(condition, agency_id=agency_id):
        closed.add((frozen.year, frozen.quarter))
        for key, value in frozen.cells.items():
            type_id, metric = key.split(":")
            figures[(f"{frozen.year}-Q{frozen.quarter}", int(type_id), metric)] = value
    for type_id, year, number, metric, value in QuarterCell.objects.filter(condition, agency_id=agency_id) \
            .values_list("case_type_id", "year", "quarter", "metric", "value"):
        if (year, number) not in closed:
            figures[(f"{year}-Q{number}", type_id, metric)] = value
    return figures


# --- Which agency's report ----------------------------------------------------------------------------------------


def _moved_since(quarter: Quarter, cases) -> dict[int, int]:
    """Of `cases` (a queryset of case ids), those transferred since the quarter ended: {case id: the agency that held
    it at the quarter's end} (the "before" of its first transfer since). Read through the events' case index, for
    the few cases asked about. The quarter under way has none: it is judged now."""
    if quarter.end > timezone.now():
        return {}
    moved: dict[int, int] = {}
    events = CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFER, at__gte=quarter.end, case_id__in=cases)
    for case_id, before in events.order_by("case_id", "at", "id").values_list("case_id", "before"):
        if case_id not in moved and before.get("agency"):
            moved[case_id] = int(before["agency"])
    return moved


def _held(agency_id: int, moved: dict[int, int], *, case: str) -> Q:
    """The rows whose case (`case`: the path to it) the agency held at the quarter's end: its cases not transferred
    since, and the cases it transferred away since (`moved`, from _moved_since)."""
    if not moved:
        return Q(**{f"{case}__agency_id": agency_id})
    back = [case_id for case_id, held in moved.items() if held == agency_id]
    return (Q(**{f"{case}__agency_id": agency_id}) & ~Q(**{f"{case}_id__in": list(moved)})) \
        | Q(**{f"{case}_id__in": back})


def agencies_with_figures(quarter: Quarter, agency_ids=None) -> set[int]:
    """The agencies holding figures of the quarter: kept or frozen procedure figures, or inspection outcomes and
    decisions of campaigns they held."""
    condition = _quarters_condition([quarter])
    cells = QuarterCell.objects.filter(condition).exclude(value=0)
    frozen = ClosedQuarter.objects.filter(condition).exclude(cells={})
    if agency_ids is not None:
        cells, frozen = cells.filter(agency_id__in=agency_ids), frozen.filter(agency_id__in=agency_ids)
    found = set(cells.order_by().values_list("agency_id", flat=True).distinct())
    found |= set(frozen.values_list("agency_id", flat=True))
    inspections = inspection_cells(quarter)
    moved = _moved_since(quarter, inspections["_campaigns"])
    for targets in (inspections["inspected"], inspections["sanctions"]):
        holders = set(targets.order_by().values_list("campaign__case__agency_id", flat=True).distinct())
        holders |= set(moved.values())
        for agency_id in holders - found:
            if (agency_ids is None or agency_id in agency_ids) \
                    and targets.filter(_held(agency_id, moved, case="campaign__case")).exists():
                found.add(agency_id)
    return found


def agencies_reporting(quarter: Quarter, agency_ids=None) -> list[Agency]:
    """The agencies with a report for the quarter (among `agency_ids` when given): those that existed in it, and
    those holding figures of it (cases an ended agency still held, never transferred)."""
    ids = set(agencies_during(quarter, agency_ids).values_list("pk", flat=True))
    ids |= agencies_with_figures(quarter, agency_ids)
    return list(Agency.objects.filter(pk__in=ids).order_by("valid_from", "name", "pk"))


def _day_text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _absent_message(agency: Agency, quarter: Quarter) -> str:
    names = {"agency": str(agency), "quarter": quarter.label_vi, "start": _day_text(agency.valid_from)}
    if agency.valid_to is None:
        return _("%(agency)s did not exist in %(quarter)s: it exists from %(start)s.") % names
    return _("%(agency)s did not exist in %(quarter)s: it existed from %(start)s to %(end)s.") % {
        **names, "end": _day_text(agency.valid_to)}


def report_agency(quarter: Quarter, *, agency_ids, requested=None) -> Agency:
    """The agency whose report of the quarter is read, among `agency_ids` (those the reader may see).

    `requested` (an id): that agency, which must be among them (else NotFound, whether or not it exists) and have a
    report for the quarter (else NotFound saying when it existed). Without it: the one agency among them that
    existed in the quarter (or, when none did, the one holding figures of it); several are a ValidationFailed
    listing them (`extra["agencies"]`), none a NotFound."""
    agency_ids = frozenset(agency_ids)
    if requested not in (None, ""):
        try:
            requested = int(requested)
        except (TypeError, ValueError):
            message = _("The agency is given by its number.")
            raise ValidationFailed(message, extra={"errors": {"agency": [message]}}) from None
        agency = Agency.objects.filter(pk=requested, pk__in=agency_ids).first()
        if agency is None:
            raise NotFound(_("No such agency, or its reports are not yours to read."))
        first_day, last_day = _days(quarter)
        existed = agency.valid_from <= last_day and (agency.valid_to is None or agency.valid_to >= first_day)
        if not existed and agency.pk not in agencies_with_figures(quarter, {agency.pk}):
            raise NotFound(_absent_message(agency, quarter))
        return agency
    choices = list(agencies_during(quarter, agency_ids))
    if not choices:
        choices = agencies_reporting(quarter, agency_ids)
    if len(choices) == 1:
        return choices[0]
    if not choices:
        raise NotFound(_("None of your agencies has a report for %(quarter)s.") % {"quarter": quarter.label_vi})
    message = _("Several of your agencies have a report for %(quarter)s: choose one (agency).") % {
        "quarter": quarter.label_vi}
    raise ValidationFailed(message, extra={"errors": {"agency": [message]},
                                           "agencies": [agency_choice(agency) for agency in choices]})


def agency_choice(agency: Agency) -> dict:
    return {"id": agency.pk, "code": agency.code, "name": str(agency),
            "valid_from": agency.valid_from.isoformat(),
            "valid_to": agency.valid_to.isoformat() if agency.valid_to else None}


# --- The agency as the report prints it ---------------------------------------------------------------------------

_UNITS = ("TỈNH ", "THÀNH PHỐ ")


def agency_named(agency: Agency, *, beside: Agency | None = None) -> str:
    """The agency in running text, with its province: "Sở Thông tin và Truyền thông tỉnh Thái Bình". Beside another
    agency of the same province (`beside`), the name alone."""
    if beside is not None and (beside.parent_name, beside.place_name) == (agency.parent_name, agency.place_name):
        return agency.name
    where = agency.parent_name.strip()
    if where.upper().startswith("UBND "):
        where = where[5:].strip()
    for unit in _UNITS:
        if where.upper().startswith(unit):
            return f"{agency.name} {unit.lower()}{where[len(unit):].strip().title()}"
    return f"{agency.name} {agency.place_name}".strip()


def report_note(agency: Agency, quarter: Quarter) -> str:
    """What the report says under its title when the agency started or ended within the quarter, or was not there at
    all: "Sở … tỉnh Thái Bình hoạt động đến ngày 28/02/2025; từ ngày 01/03/2025 các nhiệm vụ được chuyển cho Sở …"
    and "Sở … bắt đầu hoạt động từ ngày 01/03/2025; số liệu trước ngày này do Sở … báo cáo." Empty otherwise. Document
    text, in Vietnamese as the report is."""
    first_day, last_day = _days(quarter)
    notes = []
    if agency.valid_from > first_day:
        text = f"{agency_named(agency)} bắt đầu hoạt động từ ngày {_day_text(agency.valid_from)}"
        before = list(agency.predecessors.order_by("valid_from", "name", "pk"))
        if before:
            text += f"; số liệu trước ngày này do {', '.join(agency_named(a, beside=agency) for a in before)} báo cáo"
        notes.append(text + ".")
    if agency.valid_to is not None and agency.valid_to < last_day:
        text = f"{agency_named(agency)} hoạt động đến ngày {_day_text(agency.valid_to)}"
        after = list(agency.successors.order_by("valid_from", "name", "pk"))
        if after:
            text += (f"; từ ngày {_day_text(agency.valid_to + timedelta(days=1))} các nhiệm vụ được chuyển cho "
                     f"{', '.join(agency_named(a, beside=agency) for a in after)}")
        notes.append(text + ".")
    return " ".join(notes)


def agency_block(agency: Agency, quarter: Quarter) -> dict:
    """The agency as the report's header, date line and signature print it: its row, and who signed for it on the
    quarter's last day (on its own last day, when it ended within the quarter)."""
    from agencies.selectors import signature_on

    _first, last_day = _days(quarter)
    day = min(last_day, agency.valid_to) if agency.valid_to else last_day
    signed = signature_on(agency, max(day, agency.valid_from))
    return {"id": agency.pk, "code": agency.code, "parent_name": agency.parent_name, "name": agency.name,
            "named": agency_named(agency), "symbol": agency.symbol, "place_name": agency.place_name,
            "signer_title": signed.title, "signer_name": signed.name, "valid_from": agency.valid_from.isoformat(),
            "valid_to": agency.valid_to.isoformat() if agency.valid_to else None}


def _competent_type_ids(agency: Agency, quarter: Quarter) -> set[int]:
    """The procedures and inspection types the agency was competent for on at least one day of the quarter."""
    first_day, last_day = _days(quarter)
    return set(CaseTypeAgency.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first_day),
                                             agency=agency, valid_from__lte=last_day)
               .values_list("case_type_id", flat=True))


# --- The tables -----------------------------------------------------------------------------------------------------


def quarterly_report(quarter: Quarter, *, agency: Agency) -> dict:
    """The agency's report of the quarter: its procedure results (seed table I.5) with its previous quarter and the
    change, its processing statistics and its inspections, its header as of the quarter and the note of a quarter
    it started or ended in."""
    previous = quarter.previous()
    figures = _figures([quarter, previous], agency.pk)
    competent = _competent_type_ids(agency, quarter)
    shown = competent | {type_id for (_q, type_id, _m), value in figures.items() if value}
    procedures = list(CaseType.objects.filter(domain="licensing", pk__in=shown).order_by("report_order", "code")
                      .prefetch_related("terms"))
    _first, last_day = _days(quarter)
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
        "agency": agency_block(agency, quarter),
        "note": report_note(agency, quarter),
        "inspections": inspections_table(quarter, agency=agency, competent=competent),
        "quarter": str(quarter), "label": quarter.label_vi, "previous_quarter": str(previous),
        "period": {"start": quarter.start.isoformat(), "end": quarter.end.isoformat()},
        "procedure_results": results,
        "processing": processing,
        "metrics": list(METRICS),
        # Service quality (Quyết định 766/QĐ-TTg): reports/quality.py
        "quality": quality_table(quarter, agency=agency, case_types=procedures),
    }


INSPECTION_METRICS = ("inspected", "compliant", "reminders", "violations", "sanctions", "fines_vnd")


def inspection_cells(quarter: Quarter, *, agency: Agency | None = None):
    """Per inspection type, the querysets behind each number (outcomes and decisions dated in the quarter), of the
    campaigns the agency held at the quarter's end (all agencies' when `agency` is None)."""
    from inspections.models import Outcome, SanctionDecision, Target

    in_quarter = {"outcome_at__gte": quarter.start, "outcome_at__lt": quarter.end}
    targets = Target.objects.filter(**in_quarter).exclude(outcome=Outcome.PENDING)
    sanctioned = Target.objects.filter(violation__sanction__decided_at__gte=quarter.start,
                                       violation__sanction__decided_at__lt=quarter.end)
    decisions = SanctionDecision.objects.filter(decided_at__gte=quarter.start, decided_at__lt=quarter.end)
    # the campaigns behind the quarter's numbers, whoever held them
    campaigns = Target.objects.filter(Q(pk__in=targets.values("pk")) | Q(pk__in=sanctioned.values("pk"))) \
        .values("campaign__case")
    if agency is not None:
        moved = _moved_since(quarter, campaigns)
        held = _held(agency.pk, moved, case="campaign__case")
        targets, sanctioned = targets.filter(held), sanctioned.filter(held)
        decisions = decisions.filter(_held(agency.pk, moved, case="violation__target__campaign__case"))
    return {
        "inspected": targets,
        "compliant": targets.filter(outcome=Outcome.COMPLIANT),
        "reminders": targets.filter(outcome=Outcome.REMINDER),
        "violations": targets.filter(outcome=Outcome.VIOLATION),
        "sanctions": sanctioned,
        "_decisions": decisions,
        "_campaigns": campaigns,
    }


def inspections_table(quarter: Quarter, *, agency: Agency, competent: set[int] | None = None) -> list[dict]:
    """Table 3: per inspection type, targets inspected, compliant, reminders, violations, sanction decisions
    and fines (VND) in the quarter, of the campaigns the agency held: a row per type it was competent for
    (`competent`, read when not given) or holds figures of. Read straight from the inspection tables: one grouped
    query per figure."""
    from django.db.models import Count, Sum

    cells = inspection_cells(quarter, agency=agency)
    counts: dict[str, dict[int, int]] = {}
    for metric in ("inspected", "compliant", "reminders", "violations", "sanctions"):
        counts[metric] = dict(cells[metric].values_list("campaign__case__case_type_id")
                              .annotate(n=Count("id")).values_list("campaign__case__case_type_id", "n"))
    fines = dict(cells["_decisions"].values_list("violation__target__campaign__case__case_type_id")
                 .annotate(total=Sum("fine_vnd")).values_list("violation__target__campaign__case__case_type_id",
                                                               "total"))
    if competent is None:
        competent = _competent_type_ids(agency, quarter)
    shown = competent | set(fines)
    for found in counts.values():
        shown |= set(found)
    rows = []
    for order, case_type in enumerate(CaseType.objects.filter(domain="inspection", pk__in=shown)
                                      .order_by("report_order", "code"), start=1):
        row = {"tt": order, "code": case_type.code, "name": case_type.name_vi}
        row.update({metric: counts[metric].get(case_type.pk, 0) for metric in counts})
        row["fines_vnd"] = int(fines.get(case_type.pk) or 0)
        row["fines_text"] = count_text(row["fines_vnd"]) if row["fines_vnd"] else "0"
        rows.append(row)
    return rows
