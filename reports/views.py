"""The reporter's page: pick a quarter (and the agency, for a reader who sees several), read the agency's tables
with the change against the previous quarter, a chart of the last four quarters per procedure, and download any
format."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from agencies.selectors import agency_ids_member, agency_ids_visible
from cases import roles as r
from cases.errors import DomainError

from .exports import INSPECTION_COLUMNS, PROCESSING_COLUMNS
from .quality import INDICATORS, PARTS, quality_cases
from .quarters import Quarter
from .services import agencies_during, quarters_with_activity
from .tables import (
    INSPECTION_METRICS,
    agencies_reporting,
    agencies_with_figures,
    agency_named,
    inspection_cells,
    quarterly_report,
    report_agency,
)

INSPECTION_LABELS = dict(INSPECTION_COLUMNS)

READERS = {r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}
CHART_COLOURS = ["#c7d2e0", "#8fa6c4", "#4f6f99", "#a4161a"]


def _chart(quarters: list[Quarter], reports: list[dict]) -> dict:
    """Grouped bars: one group per procedure of the quarter shown, one bar per quarter (oldest to newest), as SVG
    geometry. A procedure missing from an older quarter's report (the agency was not competent for it then) has a
    bar of 0."""
    procedures = [(row["tt"], row["name"], row["code"]) for row in reports[-1]["procedure_results"]]
    counts = [{row["code"]: row["count"] for row in report["procedure_results"]} for report in reports]
    peak = max([count for by_code in counts for count in by_code.values()] + [1])
    height, bar, gap, group_gap, top = 180, 14, 3, 26, 16
    group_width = len(quarters) * (bar + gap) + group_gap
    groups = []
    for index, (tt, name, code) in enumerate(procedures):
        bars = []
        for q_index, by_code in enumerate(counts):
            count = by_code.get(code, 0)
            h = round(height * count / peak)
            bars.append({"x": 40 + index * group_width + q_index * (bar + gap), "y": top + height - h, "h": h,
                         "w": bar, "count": count, "colour": CHART_COLOURS[q_index], "quarter": quarters[q_index]})
        groups.append({"tt": tt, "name": name, "bars": bars, "label_x": 40 + index * group_width + 2 * (bar + gap)})
    return {"groups": groups, "width": 40 + len(procedures) * group_width, "height": height + top + 40,
            "base_y": top + height, "peak": peak, "legend": list(zip(quarters, CHART_COLOURS, strict=True))}


def _page_agency(request, quarter: Quarter, agencies: list, visible) -> tuple[object | None, str]:
    """The agency the page shows, and a message when the one asked for has no report for the quarter. Asked for
    (`agency`) when it has one; else among those that existed in the quarter (or, none did, those holding figures
    of it): the reader's own agencies first, then those with figures of the quarter, then those still there at its
    end."""
    requested = request.GET.get("agency") or ""
    by_id = {agency.pk: agency for agency in agencies}
    message = ""
    if requested:
        try:
            return report_agency(quarter, agency_ids=visible, requested=requested), ""
        except DomainError as error:
            message = str(error.detail)
    if not agencies:
        return None, message
    during = set(agencies_during(quarter, list(by_id)).values_list("pk", flat=True))
    pool = [agency for agency in agencies if agency.pk in during] or agencies
    member = agency_ids_member(request.user)
    pool = [agency for agency in pool if agency.pk in member] or pool
    with_figures = agencies_with_figures(quarter, {agency.pk for agency in pool})
    pool = [agency for agency in pool if agency.pk in with_figures] or pool
    last_day = quarter.end.date() - timedelta(days=1)
    pool = [agency for agency in pool if agency.in_force_on(last_day)] or pool
    return pool[0], message


def _periodic(request, agency, quarter: Quarter) -> dict | None:
    """The agency's periodic report of the quarter (reports/report_*.py), when one is open: its state and who still
    owes a section."""
    from .report_selectors import report_summary, reports_visible

    report = reports_visible(user=request.user).filter(agency=agency, period=str(quarter)).first()
    if report is None:
        return None
    return {"report": report, "owed": report_summary(report)["owed"]}


@login_required
def quarterly(request):
    if not (r.user_roles(request.user) & READERS):
        raise PermissionDenied
    visible = agency_ids_visible(request.user)
    current = Quarter.current()
    # Offered: every quarter in which something happened in the reader's agencies, and the current one; shown first:
    # the latest quarter that has ended and has data (the previous quarter when none has).
    with_data = quarters_with_activity(agency_ids=visible)
    default = max((q for q in with_data if q < current), default=current.previous())
    error = ""
    try:
        quarter = Quarter.parse(request.GET.get("quarter") or str(default))
    except ValueError:
        quarter, error = default, _("The quarter must look like 2019-Q4.")
    agencies = agencies_reporting(quarter, visible)
    agency, agency_error = _page_agency(request, quarter, agencies, visible)
    choices = sorted({*with_data, current, quarter}, reverse=True)
    context = {"quarter": quarter, "error": error or agency_error, "choices": choices, "agency": agency,
               "agencies": [{"id": a.pk, "label": agency_named(a)} for a in agencies],
               "formats": [("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("docx", "Word (DOCX)"), ("json", "JSON")]}
    if agency is None:
        context["no_agency"] = _("None of your agencies has a report for %(quarter)s.") % {"quarter": quarter.label_vi}
        return render(request, "reports/quarterly.html", context)
    quarters = [quarter.previous().previous().previous(), quarter.previous().previous(), quarter.previous(), quarter]
    reports = [quarterly_report(q, agency=agency) for q in quarters]
    report = reports[-1]
    columns = PROCESSING_COLUMNS[2:]
    processing_rows = [
        {"tt": row["tt"], "name": row["name"],
         "cells": [{"metric": key, "value": row[key], "link": key != "resolved"} for key, _label in columns],
         "code": row["code"]}
        for row in report["processing"]
    ]
    context.update({"report": report, "chart": _chart(quarters, reports), "processing_columns": columns,
                    "processing_rows": processing_rows, "periodic": _periodic(request, agency, quarter),
                    "quality_indicators": INDICATORS,
                    "quality_rows": [{**row, "cells": [{"key": i.key, **row["indicators"][i.key]} for i in INDICATORS]}
                                     for row in report["quality"]]})
    return render(request, "reports/quarterly.html", context)


@login_required
def cell_cases(request):
    """The exact cases behind one number of an agency's tables."""
    if not (r.user_roles(request.user) & READERS):
        raise PermissionDenied
    from cases.models import CaseType
    from cases.selectors import cases_visible

    from .contributions import METRICS, cell_key

    try:
        quarter = Quarter.parse(request.GET.get("quarter", ""))
    except ValueError:
        raise Http404 from None
    try:
        agency = report_agency(quarter, agency_ids=agency_ids_visible(request.user),
                               requested=request.GET.get("agency"))
    except DomainError:
        raise Http404 from None
    metric = request.GET.get("metric", "")
    case_type = CaseType.objects.filter(code=request.GET.get("type", "")).first()
    if case_type is not None and case_type.domain == "inspection" and metric in INSPECTION_METRICS[:5]:
        targets = (inspection_cells(quarter, agency=agency)[metric]
                   .filter(campaign__case__in=cases_visible(user=request.user), campaign__case__case_type=case_type)
                   .select_related("establishment", "campaign__case").order_by("outcome_at", "id"))
        return render(request, "reports/cell_targets.html", {
            "quarter": quarter, "agency": agency, "case_type": case_type, "metric_label": INSPECTION_LABELS[metric],
            "targets": targets})
    if metric not in METRICS or case_type is None:
        raise Http404
    cases = (cases_visible(user=request.user)
             .filter(case_type=case_type, contribution__cells__has_key=cell_key(quarter, metric, agency.pk))
             .order_by("decided_at", "received_at", "id"))
    labels = dict(PROCESSING_COLUMNS)
    labels["results"] = _("Results issued")
    return render(request, "reports/cell_cases.html", {
        "quarter": quarter, "agency": agency, "case_type": case_type, "metric_label": labels.get(metric, metric),
        "cases": cases,
    })


@login_required
def quality_cell_cases(request):
    """The exact cases behind one number of the service quality table (reports/quality.py): an indicator's
    numerator or denominator, for one procedure, agency and quarter."""
    if not (r.user_roles(request.user) & READERS):
        raise PermissionDenied
    from cases.models import CaseType
    from cases.selectors import cases_visible

    try:
        quarter = Quarter.parse(request.GET.get("quarter", ""))
        agency = report_agency(quarter, agency_ids=agency_ids_visible(request.user),
                               requested=request.GET.get("agency"))
    except (ValueError, DomainError):
        raise Http404 from None
    indicators = {indicator.key: indicator for indicator in INDICATORS}
    indicator, part = indicators.get(request.GET.get("indicator", "")), request.GET.get("part", "")
    case_type = CaseType.objects.filter(code=request.GET.get("type", ""), domain="licensing").first()
    if indicator is None or part not in PARTS or case_type is None:
        raise Http404
    cases = quality_cases(cases_visible(user=request.user).filter(case_type=case_type), quarter=quarter,
                          agency=agency, indicator=indicator.key, part=part) \
        .order_by("decided_at", "received_at", "id")
    label = indicator.numerator_label if part == "numerator" else indicator.denominator_label
    return render(request, "reports/cell_cases.html", {
        "quarter": quarter, "agency": agency, "case_type": case_type, "cases": cases,
        "metric_label": f"{indicator.label}: {label}", "indicator": indicator.key, "part": part,
    })
