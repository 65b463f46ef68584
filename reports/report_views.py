"""The periodic reports' pages: the list (each report's state and who still owes a section; the office opens a
report for a period) and a report's page (its sections, the form of each section the user's division writes, the
actions the user may take, a preview of the document as printed, DOCX and PDF downloads). Every page needs a
department role and shows only reports of the user's agencies (reports_visible); what a user may do, the services
check, and a refusal is a readable message with nothing typed lost."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agencies.models import Agency
from agencies.selectors import agency_ids_member
from cases import roles as r
from cases.errors import DomainError, StaleVersion

from . import report_services as rs
from .indicator_import import indicators_import
from .periods import Period
from .report_content import report_printed
from .report_selectors import actions_for, report_file, report_summary, reports_visible

IMPORT_MAX_BYTES = 5 * 1024 * 1024


def _role_required(request) -> None:
    if not r.user_roles(request.user):
        raise PermissionDenied


def _report(request, pk: int):
    report = reports_visible(user=request.user).filter(pk=pk).first()
    if report is None:
        raise Http404
    return report


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
def report_list(request):
    _role_required(request)
    reports = list(reports_visible(user=request.user).order_by("-period", "agency_id")[:100])
    rows = [{"report": report, "owed": report_summary(report)["owed"]} for report in reports]
    may_open = bool(r.user_roles(request.user) & rs.OFFICE)
    agencies = [a for a in Agency.objects.filter(pk__in=agency_ids_member(request.user)).order_by("pk")
                if a.valid_to is None] if may_open else []
    error = ""
    if request.method == "POST":
        if not may_open:
            raise PermissionDenied
        try:
            period = Period.parse(request.POST.get("period", ""))
            agency = next((a for a in agencies if a.pk == _int(request.POST.get("agency"))), None)
            if agency is None:
                raise DomainError(_("Choose one of your agencies."))
            report, _created = rs.report_create(actor=request.user, agency=agency, period=period)
            return redirect("reports:document", pk=report.pk)
        except ValueError:
            error = _("The period must look like 2019-Q4, 2020-H1 or 2020.")
        except DomainError as refused:
            error = str(refused.detail)
    return render(request, "reports/documents.html", {"rows": rows, "may_open": may_open, "agencies": agencies,
                                                      "error": error, "period": request.POST.get("period", "")})


def _context(request, report, *, drafts: dict | None = None, error: str = "") -> dict:
    summary = report_summary(report)
    sections = [{"section": s, "may_edit": rs.may_edit_section(request.user, s) and report.case.state in rs.WRITING,
                 "draft": (drafts or {}).get(s.code)} for s in summary["sections"]]
    roles = r.user_roles(request.user)
    open_ = report.case.state in rs.BEFORE_ISSUE
    may_import = open_ and (bool(roles & {r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
                            or report.agency.report_divisions.filter(members=request.user).exists())
    return {"may_recipients": open_ and bool(roles & rs.OFFICE), "may_import": may_import,
            "indicator_rows": _indicator_rows(request.user, report) if may_import else [],
            "recipients_text": "\n".join(report.recipients),
            "report": report, "state_label": report.case.get_state_display(), "sections": sections,
            "owed": summary["owed"], "missing": summary["indicators_missing"],
            "actions": actions_for(request.user, report), "content": report_printed(report), "error": error}


@login_required
def report_page(request, pk: int):
    _role_required(request)
    report = _report(request, pk)
    return render(request, "reports/document.html", _context(request, report))


def _refused(request, pk: int, refused: DomainError, **context):
    """The report's page again, as it now stands, with the service's reason (and its status: 403, 409...)."""
    report = _report(request, pk)
    return render(request, "reports/document.html", _context(request, report, error=str(refused.detail), **context),
                  status=refused.status)

@login_required
@require_POST
def section_save(request, pk: int, code: str):
    _role_required(request)
    report = _report(request, pk)
    text = request.POST.get("text", "")
    version = _int(request.POST.get("version")) or 0
    try:
        section = rs.section_edit(actor=request.user, report_id=report.pk, code=code, text=text, version=version)
        if request.POST.get("submit"):
            rs.section_submit(actor=request.user, report_id=report.pk, code=code, version=section.version)
            messages.success(request, _("Section %(code)s saved and handed in.") % {"code": code})
        else:
            messages.success(request, _("Section %(code)s saved.") % {"code": code})
    except StaleVersion:
        report = _report(request, pk)
        error = _("Someone saved section %(code)s in the meantime. Your text is kept below; the saved text is "
                  "shown in the preview. Merge them and save again.") % {"code": code}
        return render(request, "reports/document.html",
                      _context(request, report, drafts={code: text}, error=error), status=409)
    except DomainError as refused:
        return _refused(request, pk, refused, drafts={code: text})
    return redirect("reports:document", pk=report.pk)


@login_required
@require_POST
def report_action(request, pk: int):
    _role_required(request)
    report = _report(request, pk)
    action = request.POST.get("action", "")
    try:
        rs.report_transition(actor=request.user, report_id=report.pk, action=action,
                             version=_int(request.POST.get("version")), note=request.POST.get("note", ""))
    except DomainError as refused:
        return _refused(request, pk, refused)
    messages.success(request, _("Done."))
    return redirect("reports:document", pk=report.pk)


def _indicator_rows(user, report) -> list[dict]:
    """The indicators this user enters for the report's agency and period, with their stored value and version."""
    from .indicators import may_enter
    from .models import Indicator, IndicatorValue

    stored = {v.indicator_id: v for v in IndicatorValue.objects.filter(agency=report.agency, period=report.period)}
    return [{"indicator": indicator, "value": stored.get(indicator.pk)}
            for indicator in Indicator.objects.filter(active=True).order_by("order", "code")
            if may_enter(user, indicator, report.agency)]


@login_required
@require_POST
def indicator_save(request, pk: int):
    """One indicator value of the report's period, entered by its division (the version read: a stale one is
    refused)."""
    from .indicators import indicator_get, value_set

    _role_required(request)
    report = _report(request, pk)
    try:
        value_set(actor=request.user, indicator=indicator_get(request.POST.get("indicator", "")),
                  agency=report.agency, period=Period.parse(report.period), value=request.POST.get("value", ""),
                  version=_int(request.POST.get("version")))
    except DomainError as refused:
        return _refused(request, pk, refused)
    messages.success(request, _("Value saved."))
    return redirect("reports:document", pk=report.pk)


@login_required
@require_POST
def recipients_save(request, pk: int):
    _role_required(request)
    report = _report(request, pk)
    lines = request.POST.get("recipients", "").splitlines()
    try:
        rs.recipients_set(actor=request.user, report_id=report.pk, lines=lines,
                          version=_int(request.POST.get("version")) or 0)
    except DomainError as refused:
        return _refused(request, pk, refused)
    messages.success(request, _("Recipients saved."))
    return redirect("reports:document", pk=report.pk)


@login_required
@require_POST
def indicators_upload(request, pk: int):
    """Indicator values of the report's agency from a CSV or XLSX file: every row or none; the page lists the bad
    rows."""
    _role_required(request)
    report = _report(request, pk)
    upload = request.FILES.get("file")
    try:
        if upload is None or upload.size > IMPORT_MAX_BYTES:
            raise DomainError(_("Choose a CSV or XLSX file (at most 5 MB)."))
        result = indicators_import(actor=request.user, agency=report.agency, name=upload.name or "",
                                   data=upload.read(IMPORT_MAX_BYTES + 1))
    except DomainError as refused:
        report = _report(request, pk)
        context = _context(request, report, error=str(refused.detail))
        context["import_rows"] = refused.extra.get("rows", [])
        return render(request, "reports/document.html", context, status=refused.status)
    messages.success(request, _("%(count)s indicator values imported.") % {"count": result["imported"]})
    return redirect("reports:document", pk=report.pk)


@login_required
def report_download(request, pk: int, fmt: str):
    _role_required(request)
    report = _report(request, pk)
    if fmt not in ("docx", "pdf"):
        raise Http404
    data, content_type, name = report_file(report, fmt)
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
