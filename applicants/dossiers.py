"""The applicant's side of a dossier after it is submitted: what they may follow (the state in plain words, the due
date, the public events of the timeline, the documents addressed to them), and what they may do (answer a supplement
request online, download a document, rate the handling once after the result).

What the applicant sees of the timeline is a whitelist (PUBLIC_TRANSITIONS, PUBLIC_DOCUMENT_ACTIONS): never the
officers' notes, assignments, proposals, intake checks or failures, nor anyone's name. Reads go through
access.submissions_visible (their organisation's dossiers only); the writes take the case's lock like every other
service (cases.services)."""

import hashlib
import logging
import uuid as uuid_lib
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import hooks
from cases.attachments import name_for_type, upload_inspect
from cases.errors import Conflict, InvalidTransition, NotAllowed, StaleVersion, ValidationFailed
from cases.models import Attachment, Case, CaseEvent
from cases.services import case_lock, case_transition
from cases.workflow import TERMINAL, State
from licensing.models import IssuedDocument
from licensing.procedures import PROCEDURES

from .access import representative_for, submissions_visible
from .models import Rating, ResultDelivery, Submission

logger = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# --- The state in plain words ----------------------------------------------------------------------------------------

# (code, wording) shown to the applicant. The codes are stable (API, data-state attributes); the wording is theirs.
APPLICANT_STATES = {
    "draft": gettext_lazy("Draft, not submitted yet"),
    "submitted": gettext_lazy("Submitted, waiting to be received"),
    "completion_requested": gettext_lazy("To be completed before it is received"),
    "not_received": gettext_lazy("Not received"),
    "withdrawn": gettext_lazy("Withdrawn"),
    "in_progress": gettext_lazy("Being processed"),
    "supplement": gettext_lazy("Supplement needed"),
    "late": gettext_lazy("Overdue"),
    "late_apologised": gettext_lazy("Late – apology letter sent"),
    "result": gettext_lazy("Result available"),
    "refused": gettext_lazy("Refused"),
    "revoked": gettext_lazy("Licence revoked"),
}
_SUBMISSION_STATES = {
    Submission.State.DRAFT: "draft", Submission.State.SUBMITTED: "submitted",
    Submission.State.COMPLETION_REQUESTED: "completion_requested", Submission.State.NOT_RECEIVED: "not_received",
    Submission.State.WITHDRAWN: "withdrawn",
}
_CASE_STATES = {
    State.SUPPLEMENT_REQUESTED: "supplement", State.ISSUED: "result", State.REFUSED: "refused",
    State.WITHDRAWN: "withdrawn", State.REVOKED: "revoked",
}
RESULT_STATES = frozenset({State.ISSUED, State.REFUSED, State.REVOKED})  # a result was given: it may be rated


def case_state_code(case: Case) -> str:
    """The applicant's word for a case's state: processing, supplement needed, late (and whether an apology letter
    set a new date), result, refused, withdrawn."""
    code = _CASE_STATES.get(case.state)
    if code is not None:
        return code
    if case.apologised_at is not None:
        return "late_apologised"
    if case.is_overdue:
        return "late"
    return "in_progress"


def state_code(submission: Submission) -> str:
    if submission.state == Submission.State.ACCEPTED and submission.case_id:
        return case_state_code(submission.case)
    return _SUBMISSION_STATES.get(submission.state, "submitted")


def state_label(code: str) -> str:
    return str(APPLICANT_STATES[code])


# --- The public timeline ---------------------------------------------------------------------------------------------

# What the applicant reads of the timeline is licensing's whitelist (licensing.selectors.timeline_public: the
# receipt and the transitions they are entitled to know of, with only the notes written for them); here, its words.
EVENT_LABELS = {
    "received": gettext_lazy("The dossier was received"),
    "in_review": gettext_lazy("The dossier is being reviewed"),
    "supplement_requested": gettext_lazy("A supplement to the dossier was requested"),
    "supplement_received": gettext_lazy("The supplement was received; processing resumed"),
    "refused": gettext_lazy("The application was refused"),
    "result_issued": gettext_lazy("The result was issued"),
    "apology": gettext_lazy("Apology for the delay, with a new appointment date"),
    "withdrawn": gettext_lazy("The dossier was withdrawn at the applicant's request"),
    "revoked": gettext_lazy("The licence was revoked"),
}
# IssuedDocument kinds never shown to the applicant (none today: every document licensing issues on a case, results
# and one-stop-shop slips, is addressed to the applicant; a later internal kind is added here).
INTERNAL_DOCUMENT_KINDS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PublicEvent:
    at: datetime
    code: str  # one of licensing.selectors.PUBLIC_KINDS
    label: str
    note: str = ""
    due_at: datetime | None = None
    number: str = ""


def timeline_public(case: Case) -> list[PublicEvent]:
    """The events of the case the applicant may read, oldest first, in the applicant's words."""
    from licensing.selectors import timeline_public as licensing_timeline_public

    return [PublicEvent(at=line.at, code=line.kind, label=str(EVENT_LABELS.get(line.kind, line.kind)),
                        note=line.note, due_at=_moment(line.details.get("due_at")),
                        number=line.details.get("number", ""))
            for line in licensing_timeline_public(case)]


def _moment(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


# --- Reads -----------------------------------------------------------------------------------------------------------


def dossiers_of(user) -> QuerySet:
    """The representative's organisation's online dossiers, newest first, with their cases."""
    return (submissions_visible(user).select_related("case__case_type", "case__agency", "agency",
                                                     "refusal_document")
            .order_by("-created_at", "-id"))


def dossier_get(user, uuid) -> Submission:
    """One online dossier of the user's organisation; 404 for any other (nothing is said about it)."""
    submission = dossiers_of(user).filter(uuid=uuid).first()
    if submission is None:
        raise Http404
    return submission


def procedure_name(submission: Submission) -> str:
    if submission.case_id:
        return submission.case.case_type.name_vi
    from cases.models import CaseType

    return CaseType.objects.filter(code=submission.procedure).values_list("name_vi", flat=True).first() or \
        submission.procedure


def documents_public(case: Case | None) -> QuerySet:
    """The documents addressed to the applicant: every document issued on the case but internal ones, with a file."""
    if case is None:
        return IssuedDocument.objects.none()
    return (IssuedDocument.objects.filter(case=case).exclude(kind__in=INTERNAL_DOCUMENT_KINDS).exclude(file="")
            .select_related("verifiable").order_by("issued_at", "id"))


def document_format(document: IssuedDocument) -> str:
    """"pdf" when its signed electronic copy exists, else "docx" (the document as issued)."""
    verifiable = document.verifiable
    return "pdf" if verifiable is not None and verifiable.is_signed else "docx"


@dataclass
class DossierView:
    """Everything the applicant's dossier page (and the API) shows."""

    submission: Submission
    case: Case | None
    state: str
    state_label: str
    procedure_name: str
    due_at: datetime | None
    paused: bool
    events: list[PublicEvent]
    documents: list[IssuedDocument]
    may_supplement: bool
    supplement_request: str
    may_rate: bool
    rating: Rating | None
    refusal_slip: str = ""  # "pdf" signed, "docx" rendered and being signed, "pending" not yet made, "" none


def dossier_view(submission: Submission) -> DossierView:
    case = submission.case if submission.case_id else None
    code = state_code(submission)
    events = timeline_public(case) if case is not None else []
    request = ""
    if case is not None and case.state == State.SUPPLEMENT_REQUESTED:
        request = next((e.note for e in reversed(events) if e.code == "supplement_requested"), "")
    rating = Rating.objects.filter(case=case).first() if case is not None else None
    return DossierView(
        submission=submission, case=case, state=code, state_label=state_label(code),
        procedure_name=procedure_name(submission),
        due_at=case.due_at if case is not None and case.state not in TERMINAL else None,
        paused=bool(case is not None and case.paused_at),
        events=events, documents=list(documents_public(case)),
        may_supplement=bool(case is not None and case.state == State.SUPPLEMENT_REQUESTED),
        supplement_request=request,
        may_rate=bool(case is not None and case.state in RESULT_STATES and rating is None),
        rating=rating, refusal_slip=refusal_slip_format(submission),
    )


def refusal_slip_format(submission: Submission) -> str:
    """The refusal to receive as the applicant may download it: "pdf" (signed), "docx" (made, being signed),
    "pending" (to be made), "" (the dossier was not refused)."""
    if submission.state != Submission.State.NOT_RECEIVED or submission.refusal_document_id is None:
        return ""
    if submission.refusal_document.is_signed and submission.refusal_document.pdf:
        return "pdf"
    return "docx" if submission.refusal_slip else "pending"


def document_open(document: IssuedDocument, *, stem: str) -> tuple[object, str, str]:
    """A document addressed to the applicant, as a file to send: its signed PDF when it exists, else the DOCX as
    issued: (open handle, file name, content type); 404 when storage has lost it."""
    try:
        if document_format(document) == "pdf":
            return document.verifiable.pdf.open("rb"), f"{stem}.pdf", "application/pdf"
        return document.file.open("rb"), f"{stem}.docx", DOCX
    except FileNotFoundError:
        logger.error("portal: the file of document %s is missing from storage", document.pk)
        raise Http404 from None


def refusal_slip_open(submission: Submission) -> tuple[object, str, str]:
    """The refusal slip's file to send: (open handle, file name, content type); 404 while there is none."""
    kind = refusal_slip_format(submission)
    try:
        if kind == "pdf":
            return submission.refusal_document.pdf.open("rb"), "phieu-tu-choi-tiep-nhan.pdf", "application/pdf"
        if kind == "docx":
            return submission.refusal_slip.open("rb"), "phieu-tu-choi-tiep-nhan.docx", DOCX
    except FileNotFoundError:
        logger.error("the refusal slip of online dossier %s is missing from storage", submission.pk)
    raise Http404


def case_public_view(case: Case) -> dict:
    """What anyone holding the receipt may see (the public lookup): state, due date, public timeline. Nothing else."""
    code = case_state_code(case)
    return {"reference": case.reference, "procedure_name": case.case_type.name_vi, "state": code,
            "state_label": state_label(code), "due_at": case.due_at if case.state not in TERMINAL else None,
            "paused": bool(case.paused_at), "events": timeline_public(case)}


def document_of(submission: Submission, document_id: int) -> IssuedDocument:
    document = documents_public(submission.case if submission.case_id else None).filter(pk=document_id).first()
    if document is None:
        raise Http404
    return document


# --- Receive: a download is a delivery -------------------------------------------------------------------------------


def document_delivered(*, document: IssuedDocument, user) -> bool:
    """The first download of a document by a representative of its applicant is its electronic delivery: recorded
    once (a second download, by anyone, records nothing). Returns True if recorded now."""
    if representative_for(user) is None:
        return False
    if ResultDelivery.objects.filter(document=document).exists():
        return False
    try:
        with transaction.atomic():
            ResultDelivery.objects.create(case_id=document.case_id, document=document, user=user)
    except IntegrityError:  # two downloads at once: the other one recorded it
        return False
    return True


# --- Supplement online -----------------------------------------------------------------------------------------------

SUPPLEMENT_NOTE = "Tổ chức đã bổ sung hồ sơ trực tuyến"


def supplement_kinds(case: Case) -> list[tuple[str, str]]:
    """The kinds of file the applicant may send: the procedure's required files, or another document."""
    spec = PROCEDURES.get(case.case_type.code)
    kinds = [(kind, str(label)) for kind, label in (spec.required_files if spec else ())]
    return [*kinds, ("other", _("Other document"))]


def supplement_submit(*, submission: Submission, user, files: list[tuple[str, object]], message: str = "",
                      version: int | None = None) -> Case:
    """The applicant answers a supplement request online: the files (checked as at the counter) become the case's
    attachments, and the case resumes ("receive_supplement"): its clock starts again exactly as when an officer
    records a supplement brought to the counter (cases.services, Effect.RESUME_CLOCK).

    The applicant holds no department role: the transition is taken by the system (actor None, as the workflow's
    system transitions are), in the same transaction as the files, which are recorded under the applicant's name."""
    representative = representative_for(user)
    if representative is None or submission.organisation_id != representative.organisation_id:
        raise NotAllowed(_("This account does not represent the applicant of this dossier."))
    if not submission.case_id:
        raise InvalidTransition(_("This dossier has not been received yet."))
    kinds = {kind for kind, _label in supplement_kinds(submission.case)}
    if not files:
        raise ValidationFailed(_("Attach at least one file."), extra={"errors": {"files": [
            _("Attach at least one file.")]}})
    if len(files) > 10:
        raise ValidationFailed(_("Send at most 10 files at a time."), extra={"errors": {"files": [
            _("Send at most 10 files at a time.")]}})
    checked = []
    for kind, upload in files:
        if kind not in kinds:
            raise ValidationFailed(_("Unknown document kind."), extra={"errors": {"kind": [
                _("Unknown document kind.")]}})
        stored = upload_inspect(upload)  # checked (images re-encoded) before anything is written
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        checked.append((kind, upload, stored, digest.hexdigest()))
    message = (message or "").strip()[:2000]
    written = []
    try:
        with transaction.atomic():
            case = case_lock(submission.case_id)
            if version is not None and version != case.version:
                raise StaleVersion(extra={"current_version": case.version})
            if case.state != State.SUPPLEMENT_REQUESTED:
                raise InvalidTransition(_("No supplement is requested for this dossier now."),
                                        extra={"state": case.state})
            for kind, upload, stored, sha256 in checked:
                if Attachment.objects.filter(case=case, sha256=sha256).exists():
                    continue  # the same file sent before is stored once
                attachment = Attachment(
                    uuid=uuid_lib.uuid4(), case=case,
                    original_name=name_for_type(upload.name, stored.extension) or f"file{stored.extension}",
                    content_type=stored.content_type, extension=stored.extension, size=stored.file.size,
                    sha256=sha256, description=_("Supplement sent online"), kind="" if kind == "other" else kind,
                    uploaded_by=user)
                attachment.file.save(f"upload{stored.extension}", stored.file, save=False)
                written.append(attachment)
                attachment.save()
                CaseEvent.objects.create(case=case, actor=user, kind=CaseEvent.Kind.ATTACHMENT, action="online",
                                         after={"attachment": str(attachment.uuid), "name": attachment.original_name,
                                                "size": attachment.size, "type": attachment.content_type,
                                                "kind": attachment.kind})
                hooks.attachment_run(case, attachment)
            note = SUPPLEMENT_NOTE + (f": {message}" if message else ".")
            case = case_transition(case_id=case.pk, actor=None, action="receive_supplement", note=note)
    except Exception:
        for attachment in written:  # the rows were rolled back: their files must not stay behind
            attachment.file.delete(save=False)
        raise
    return case


# --- Rate ------------------------------------------------------------------------------------------------------------


def rating_give(*, submission: Submission, user, score, comment: str = "") -> Rating:
    """The applicant's satisfaction with the handling, once, after the result (a licence, a refusal)."""
    representative = representative_for(user)
    if representative is None or submission.organisation_id != representative.organisation_id:
        raise NotAllowed(_("This account does not represent the applicant of this dossier."))
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationFailed(_("Choose a score from 1 to 5."), extra={"errors": {"score": [
            _("Choose a score from 1 to 5.")]}})
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationFailed(_("The comment is too long (2000 characters at most)."),
                               extra={"errors": {"comment": [_("2000 characters at most.")]}})
    if not submission.case_id:
        raise InvalidTransition(_("A dossier is rated after its result."))
    try:
        with transaction.atomic():
            case = Case.objects.select_for_update(of=("self",)).get(pk=submission.case_id)
            if case.state not in RESULT_STATES:
                raise InvalidTransition(_("A dossier is rated after its result."), extra={"state": case.state})
            if Rating.objects.filter(case=case).exists():
                raise Conflict(_("This dossier has already been rated."))
            return Rating.objects.create(case=case, organisation_id=submission.organisation_id, user=user,
                                         score=score, comment=comment, created_at=timezone.now())
    except IntegrityError:
        raise Conflict(_("This dossier has already been rated.")) from None


def ratings_unsatisfied(cases: QuerySet) -> QuerySet:
    """The unsatisfied ratings (score 2 or less) of the given cases, newest first: what the head reads."""
    return (Rating.objects.filter(case__in=cases.values("pk"), score__lte=Rating.UNSATISFIED_AT_MOST)
            .select_related("case__case_type", "organisation").order_by("-created_at", "-id"))
