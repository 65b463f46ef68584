"""Reads of periodic reports: which a user may see, who still owes what, and the report's file."""

from django.db.models import QuerySet

from agencies.selectors import agency_ids_visible
from cases import roles as r

from .models import Report
from .report_content import report_printed
from .report_document import report_docx

READERS = frozenset({r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def reports_visible(*, user) -> QuerySet[Report]:
    """Reports of the agencies the user may read: the office, the head and administrators see them all; a division
    member sees the reports of the agencies whose divisions they sit in."""
    qs = Report.objects.select_related("case", "agency").filter(agency_id__in=agency_ids_visible(user))
    if r.user_roles(user) & READERS:
        return qs
    return qs.filter(agency__report_divisions__members=user).distinct()


def actions_for(user, report: Report) -> list[dict]:
    """The workflow actions the user's roles may take on the report in its state (the services check the rest)."""
    from cases.workflow import WORKFLOWS

    roles = r.user_roles(user)
    state = report.case.state
    return [{"action": t.action, "label": str(t.label), "requires_note": t.requires_note}
            for t in WORKFLOWS["report"].values() if state in t.sources and t.roles & roles]


def report_file(report: Report, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, content type, file name) of the report as DOCX or PDF."""
    data = report_docx(report_printed(report))
    name = f"bao-cao-{report.period}"
    if fmt == "pdf":
        from documents.pdf import pdf_from_docx

        from .electronic import signed_pdf

        signed = signed_pdf(report) if report.frozen is not None else None
        return signed or pdf_from_docx(data), "application/pdf", f"{name}.pdf"
    return data, DOCX_TYPE, f"{name}.docx"


def report_summary(report: Report) -> dict:
    """State, sections and who still owes them, for the page and the API."""
    from .indicators import indicators_missing
    from .periods import Period

    sections = list(report.sections.select_related("division", "updated_by", "submitted_by").order_by("order"))
    issued = report.frozen is not None
    missing = [] if issued else indicators_missing(report.agency, Period.parse(report.period))
    return {
        "sections": sections,
        "owed": [s for s in sections if s.submitted_at is None],
        "indicators_missing": missing,
    }
