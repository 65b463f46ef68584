"""The reporter's page: pick a quarter, read the tables with the change against the previous quarter,
a chart of the last four quarters per procedure, and download any format."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _

from cases import roles as r

from .exports import INSPECTION_COLUMNS, PROCESSING_COLUMNS
from .quarters import Quarter
from .services import quarters_with_activity
from .tables import INSPECTION_METRICS, inspection_cells, quarterly_report

INSPECTION_LABELS = dict(INSPECTION_COLUMNS)

READERS = {r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}
CHART_COLOURS = ["#c7d2e0", "#8fa6c4", "#4f6f99", "#a4161a"]


def _chart(quarters: list[Quarter], reports: list[dict]) -> dict:
    """Grouped bars: one group per procedure, one bar per quarter (oldest to newest), as SVG geometry."""
    procedures = [(row["tt"], row["name"]) for row in reports[-1]["procedure_results"]]
    peak = max([row["count"] for report in reports for row in report["procedure_results"]] + [1])
    height, bar, gap, group_gap, top = 180, 14, 3, 26, 16
    group_width = len(quarters) * (bar + gap) + group_gap
    groups = []
    for index, (tt, name) in enumerate(procedures):
        bars = []
        for q_index, report in enumerate(reports):
            count = report["procedure_results"][index]["count"]
            h = round(height * count / peak)
            bars.append({"x": 40 + index * group_width + q_index * (bar + gap), "y": top + height - h, "h": h,
                         "w": bar, "count": count, "colour": CHART_COLOURS[q_index], "quarter": quarters[q_index]})
        groups.append({"tt": tt, "name": name, "bars": bars, "label_x": 40 + index * group_width + 2 * (bar + gap)})
    return {"groups": groups, "width": 40 + len(procedures) * group_width, "height": height + top + 40,
            "base_y": top + height, "peak": peak, "legend": list(zip(quarters, CHART_COLOURS, strict=True))}


@login_required
def quarterly(request):
    if not (r.user_roles(request.user) & READERS):
        raise PermissionDenied
    current = Quarter.current()
    # Offered: every quarter in which something happened, and the current one; shown first: the latest quarter
    # that has ended and has data (the previous quarter when none has).
    with_data = quarters_with_activity()
    default = max((q for q in with_data if q < current), default=current.previous())
    error = ""
    try:
        quarter = Quarter.parse(request.GET.get("quarter") or str(default))
    except ValueError:
        quarter, error = default, _("The quarter must look like 2019-Q4.")
    quarters = [quarter.previous().previous().previous(), quarter.previous().previous(), quarter.previous(), quarter]
    reports = [quarterly_report(q) for q in quarters]
    report = reports[-1]
    choices = sorted({*with_data, current, quarter}, reverse=True)
    columns = PROCESSING_COLUMNS[2:]
    processing_rows = [
        {"tt": row["tt"], "name": row["name"],
         "cells": [{"metric": key, "value": row[key], "link": key != "resolved"} for key, _label in columns],
         "code": row["code"]}
        for row in report["processing"]
    ]
    return render(request, "reports/quarterly.html", {
        "quarter": quarter, "report": report, "chart": _chart(quarters, reports), "error": error,
        "choices": choices, "processing_columns": columns, "processing_rows": processing_rows,
        "formats": [("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("docx", "Word (DOCX)"), ("json", "JSON")],
    })


@login_required
def cell_cases(request):
    """The exact cases behind one number of the tables."""
    if not (r.user_roles(request.user) & READERS):
        raise PermissionDenied
    from django.http import Http404

    from cases.models import CaseType
    from cases.selectors import cases_visible

    from .contributions import METRICS, cell_key

    try:
        quarter = Quarter.parse(request.GET.get("quarter", ""))
    except ValueError:
        raise Http404 from None
    metric = request.GET.get("metric", "")
    case_type = CaseType.objects.filter(code=request.GET.get("type", "")).first()
    if case_type is not None and case_type.domain == "inspection" and metric in INSPECTION_METRICS[:5]:
        targets = (inspection_cells(quarter)[metric]
                   .filter(campaign__case__in=cases_visible(user=request.user), campaign__case__case_type=case_type)
                   .select_related("establishment", "campaign__case").order_by("outcome_at", "id"))
        return render(request, "reports/cell_targets.html", {
            "quarter": quarter, "case_type": case_type, "metric_label": INSPECTION_LABELS[metric],
            "targets": targets})
    if metric not in METRICS or case_type is None:
        raise Http404
    cases = (cases_visible(user=request.user)
             .filter(case_type=case_type, contribution__cells__has_key=cell_key(quarter, metric))
             .order_by("decided_at", "received_at", "id"))
    labels = dict(PROCESSING_COLUMNS)
    labels["results"] = _("Results issued")
    return render(request, "reports/cell_cases.html", {
        "quarter": quarter, "case_type": case_type, "metric_label": labels.get(metric, metric), "cases": cases,
    })
