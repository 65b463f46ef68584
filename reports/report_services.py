"""Writes on periodic reports: open one for a period, the divisions' sections (versioned: an edit made on an older
version is a conflict), the workflow (reports are the only door: the engine's own transition endpoint refuses report
actions), and the issue: a gap-free number of the agency's report series, the date, and every figure and text of the
report frozen (reports/report_content.py), so that an issued report prints the same bytes for ever."""

import contextlib
import contextvars
import hashlib
import json
from datetime import date
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import hooks
from cases import roles as r
from cases.errors import InvalidTransition, NotAllowed, NotFound, StaleVersion, ValidationFailed
from cases.models import Case, CaseEvent, CaseType, CaseTypeAgency, CaseTypeTerms
from cases.services import agency_member_required, case_create, case_transition, sequence_next
from cases.text import text_clean
from cases.workflow import State

from .models import Report, ReportDivision, ReportSection, ReportSectionVersion
from .periods import Period

REPORT_TYPE = "periodic_report"
DIVISIONS_FILE = Path(__file__).resolve().parent / "data" / "report_divisions.json"
SERIES = "BC"
# The written sections, in print order: (code, heading, the division that writes it). Document text: Vietnamese.
SECTIONS = (
    ("I.1", "1. Về Công nghệ thông tin", "cntt"),
    ("I.2", "2. Về Bưu chính, Viễn thông", "bcvt"),
    ("I.3", "3. Về Báo chí, Xuất bản", "ttbcxb"),
    ("I.4", "4. Công tác thanh tra, kiểm tra", "thanhtra"),
    ("III", "", "vanphong"),  # heading from the next period: "III. MỘT SỐ NHIỆM VỤ TRỌNG TÂM QUÝ I/2020"
)
# States in which the divisions write.
WRITING = frozenset({State.REPORT_DRAFT, State.REPORT_CONTRIBUTING})
BEFORE_ISSUE = frozenset({State.REPORT_DRAFT, State.REPORT_CONTRIBUTING, State.REPORT_REVIEW, State.REPORT_APPROVED})
OFFICE = frozenset({r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
MAX_TEXT = 50_000

_door = contextvars.ContextVar("report_door", default=False)


@contextlib.contextmanager
def _through_reports():
    token = _door.set(True)
    try:
        yield
    finally:
        _door.reset(token)


def report_door_guard(case, transition, *, actor, note, **params) -> None:
    """Report actions are taken through the reports service (sections checked, number and freeze on issue)."""
    if not _door.get():
        raise NotAllowed(_("Reports are moved on through the reports page or /api/v1/reports/documents/."))


def _defaults() -> dict:
    return json.loads(DIVISIONS_FILE.read_text(encoding="utf-8"))


def report_type() -> CaseType:
    """The case type of periodic reports (made once; data, like the rest of the catalogue)."""
    case_type, _created = CaseType.objects.get_or_create(code=REPORT_TYPE, defaults={
        "name_vi": "Báo cáo định kỳ", "name_en": "Periodic report", "domain": "report", "reference_prefix": "BC"})
    CaseTypeTerms.objects.get_or_create(case_type=case_type, effective_from=date(2000, 1, 1))
    return case_type


def _competence_ensure(case_type: CaseType, agency) -> None:
    """Every agency reports on its own work for as long as it exists."""
    CaseTypeAgency.objects.get_or_create(case_type=case_type, agency=agency, valid_from=agency.valid_from,
                                         defaults={"valid_to": agency.valid_to})


def divisions_ensure(agency) -> dict[str, ReportDivision]:
    """The agency's report divisions (made from reports/data/report_divisions.json when missing)."""
    for item in _defaults()["divisions"]:
        ReportDivision.objects.get_or_create(agency=agency, code=item["code"],
                                             defaults={"name": item["name"], "order": item["order"]})
    return {d.code: d for d in ReportDivision.objects.filter(agency=agency)}


def summary_for(period: Period) -> str:
    """ "Kết quả hoạt động thông tin truyền thông quý IV/2019 và nhiệm vụ trọng tâm quý I năm 2020"."""
    return (f"Kết quả hoạt động thông tin truyền thông {period.words()} và nhiệm vụ trọng tâm "
            f"{period.next().words(long_year=True)}")


def _event(case, *, actor, action: str, note: str = "", after: dict | None = None) -> None:
    CaseEvent.objects.create(case=case, actor=actor, kind=CaseEvent.Kind.NOTE, action=action, note=note,
                             after=after or {})


# --- Open ---------------------------------------------------------------------------------------------------------


def report_create(*, actor, agency, period: Period) -> tuple[Report, bool]:
    """Open the agency's report of the period: its case (state draft), its sections (I.4 drafted from the
    period's campaigns) and its recipients (the last report's, or the usual list). One report per agency and period:
    asked again, the stored one is returned."""
    from .inspection_summary import inspections_draft

    if not (r.user_roles(actor) & OFFICE):
        raise NotAllowed(_("Your role cannot open reports."))
    existing = Report.objects.filter(agency=agency, period=str(period)).first()
    if existing is not None:
        return existing, False
    case_type = report_type()
    _competence_ensure(case_type, agency)
    divisions = divisions_ensure(agency)
    previous = Report.objects.filter(agency=agency).exclude(recipients=[]).order_by("-created_at").first()
    recipients = previous.recipients if previous else _defaults()["recipients"]
    try:
        with transaction.atomic():
            case, _created = case_create(actor=actor, case_type=case_type, agency=agency,
                                         subject_name=f"Báo cáo {period.words()}", summary=summary_for(period),
                                         data={"period": str(period)})
            report = Report.objects.create(case=case, agency=agency, period=str(period), kind=period.kind,
                                           summary=summary_for(period), recipients=recipients)
            now = timezone.now()
            for order, (code, heading, division) in enumerate(SECTIONS):
                text = inspections_draft(agency, period.start, period.end) if code == "I.4" else ""
                section = ReportSection.objects.create(report=report, code=code, heading=heading, order=order,
                                                       division=divisions[division], text=text, updated_by=None)
                ReportSectionVersion.objects.create(section=section, version=1, text=text, author=None, at=now,
                                                    note="draft" if text else "")
    except IntegrityError:
        existing = Report.objects.filter(agency=agency, period=str(period)).first()
        if existing is None:
            raise
        return existing, False
    return report, True


# --- Reads used by the writes ---------------------------------------------------------------------------------------


def report_get(report_id: int) -> Report:
    report = Report.objects.select_related("case", "agency").filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("Report not found."))
    return report


def may_edit_section(user, section: ReportSection) -> bool:
    """Each division writes its own sections: its members, nobody else (the head returns a report with a note)."""
    return section.division.members.filter(pk=user.pk).exists()


def _lock(report_id: int) -> tuple[Report, Case]:
    report = report_get(report_id)
    case = Case.objects.select_for_update(of=("self",)).select_related("case_type").get(pk=report.case_id)
    report = Report.objects.select_for_update().get(pk=report.pk)
    return report, case


def _section_locked(report: Report, code: str) -> ReportSection:
    section = (ReportSection.objects.select_for_update(of=("self",)).select_related("division")
               .filter(report=report, code=code).first())
    if section is None:
        raise NotFound(_("This report has no such section."))
    return section


# --- Sections -------------------------------------------------------------------------------------------------------


def section_edit(*, actor, report_id: int, code: str, text: str, version: int, note: str = "") -> ReportSection:
    """Replace a section's text. `version` is the version the writer started from: if someone saved in between,
    the edit is refused (StaleVersion) and nothing is overwritten."""
    if not isinstance(text, str):
        raise ValidationFailed(_("The text must be a string."), extra={"errors": {"text": [_("Not text.")]}})
    text = "\n".join(line.rstrip() for line in text_clean(text).split("\n")).strip()
    if len(text) > MAX_TEXT:
        raise ValidationFailed(_("The text is too long."), extra={"errors": {"text": [_("Too long.")]}})
    with transaction.atomic():
        report, case = _lock(report_id)
        section = _section_locked(report, code)
        if not may_edit_section(actor, section):
            raise NotAllowed(_("Only the members of %(division)s write this section.")
                             % {"division": section.division.name})
        agency_member_required(case, actor)
        if case.state not in WRITING:
            raise InvalidTransition(_("The sections are no longer open for writing."), extra={"state": case.state})
        if version != section.version:
            raise StaleVersion(_("Someone saved this section in the meantime; reload it and write your changes "
                                 "again."), extra={"current_version": section.version})
        if text == section.text:
            return section
        section.text = text
        section.version += 1
        section.updated_by = actor
        section.submitted_at, section.submitted_by = None, None  # changed text is submitted again
        section.save()
        ReportSectionVersion.objects.create(section=section, version=section.version, text=text, author=actor,
                                            at=timezone.now(), note=note[:200])
        _event(case, actor=actor, action="section_edit", after={"section": code, "version": section.version})
    return section


def section_submit(*, actor, report_id: int, code: str, version: int) -> ReportSection:
    """The division hands in its section as it stands at `version`."""
    with transaction.atomic():
        report, case = _lock(report_id)
        section = _section_locked(report, code)
        if not may_edit_section(actor, section):
            raise NotAllowed(_("Only the members of %(division)s write this section.")
                             % {"division": section.division.name})
        agency_member_required(case, actor)
        if case.state not in WRITING:
            raise InvalidTransition(_("The sections are no longer open for writing."), extra={"state": case.state})
        if version != section.version:
            raise StaleVersion(extra={"current_version": section.version})
        if not section.text.strip():
            raise ValidationFailed(_("An empty section cannot be handed in."),
                                   extra={"errors": {"text": [_("This field is required.")]}})
        if section.submitted_at is None:
            section.submitted_at, section.submitted_by = timezone.now(), actor
            section.save(update_fields=["submitted_at", "submitted_by", "updated_at"])
            _event(case, actor=actor, action="section_submit", after={"section": code, "version": section.version})
    return section


def section_redraft(*, actor, report_id: int, version: int) -> ReportSection:
    """Draft I.4 again from the campaigns (a new version; the writer's earlier text stays in the versions)."""
    from .inspection_summary import inspections_draft

    report = report_get(report_id)
    period = Period.parse(report.period)
    return section_edit(actor=actor, report_id=report_id, code="I.4", version=version, note="draft",
                        text=inspections_draft(report.agency, period.start, period.end))


def sections_owed(report: Report) -> list[ReportSection]:
    return list(report.sections.select_related("division").filter(submitted_at__isnull=True).order_by("order"))


def recipients_set(*, actor, report_id: int, lines: list[str], version: int) -> Report:
    if not (r.user_roles(actor) & OFFICE):
        raise NotAllowed(_("Your role cannot change the recipients."))
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise ValidationFailed(_("The recipients are a list of lines."),
                               extra={"errors": {"recipients": [_("A list of lines is required.")]}})
    cleaned = [text_clean(line, multiline=False).strip() for line in lines if line.strip()]
    with transaction.atomic():
        report, case = _lock(report_id)
        agency_member_required(case, actor)
        if case.state not in BEFORE_ISSUE:
            raise InvalidTransition(_("An issued report does not change."), extra={"state": case.state})
        if version != report.version:
            raise StaleVersion(extra={"current_version": report.version})
        report.recipients = cleaned
        report.version += 1
        report.save(update_fields=["recipients", "version", "updated_at"])
    return report


# --- Workflow -------------------------------------------------------------------------------------------------------


def report_transition(*, actor, report_id: int, action: str, version: int | None = None, note: str = "") -> Report:
    """One workflow action on the report's case (issue: report_issue)."""
    if action == "issue_report":
        return report_issue(actor=actor, report_id=report_id, version=version)
    report = report_get(report_id)
    with transaction.atomic(), _through_reports():
        if action == "submit_for_review":
            if not (r.user_roles(actor) & OFFICE):
                raise NotAllowed(_("Your role cannot take this action."))
            Case.objects.select_for_update().get(pk=report.case_id)
            owed = sections_owed(report)
            if owed:
                raise InvalidTransition(
                    _("Sections still owed: %(owed)s.") % {"owed": ", ".join(f"{s.code} ({s.division.name})"
                                                                               for s in owed)},
                    extra={"owed": [s.code for s in owed]})
        case_transition(case_id=report.case_id, actor=actor, action=action, version=version, note=note)
    report.refresh_from_db()
    report.case.refresh_from_db()
    return report


def report_issue(*, actor, report_id: int, version: int | None = None) -> Report:
    """Issue an approved report: the next number of the agency's report series in the year ("12/BC-STTTT", taken
    in this transaction, so a rollback gives it back), the date, and the whole content frozen. The DOCX's SHA-256
    is stored: regenerating the issued report must give it again."""
    from .electronic import report_sign_enqueue, report_verification_reserve
    from .report_content import report_content
    from .report_document import report_docx

    report = report_get(report_id)
    with transaction.atomic(), _through_reports():
        locked, case = _lock(report.pk)
        if version is not None and version != case.version:
            raise StaleVersion(extra={"current_version": case.version})
        if case.state != State.REPORT_APPROVED:
            raise InvalidTransition(_("Only an approved report is issued."), extra={"state": case.state})
        case_transition(case_id=case.pk, actor=actor, action="issue_report", version=None)
        now = timezone.now()
        agency = locked.agency
        year = timezone.localtime(now).year
        number = sequence_next(key=f"document:{agency.pk}:{SERIES}:{agency.symbol}", year=year)
        locked.number, locked.number_text, locked.issued_at = number, f"{number:02d}/{SERIES}-{agency.symbol}", now
        report_verification_reserve(locked)  # its code and QR code print on the first page
        locked.frozen = report_content(locked)
        locked.docx_sha256 = hashlib.sha256(report_docx(locked.frozen)).hexdigest()
        locked.version += 1
        locked.save()
        _event(case, actor=actor, action="report_issued", after={"number": locked.number_text,
                                                                 "sha256": locked.docx_sha256})
        report_sign_enqueue(locked)  # the signed PDF (reports/electronic.py), once this commits
    locked.refresh_from_db()
    return locked


def report_hooks_register() -> None:
    from cases.workflow import WORKFLOWS

    hooks.guard("report", *WORKFLOWS["report"])(report_door_guard)
    hooks.receives_own_cases("report", "/api/v1/reports/documents/")

