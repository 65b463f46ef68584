"""The refusal to receive an online dossier (Mẫu số 03 of Thông tư 01/2018/TT-VPCP) as an issued document.

An officer who refuses to receive a dossier submitted online (applicants/submissions.py, submission_refuse) gives
the reasons; in the same transaction its verification code is reserved (documents/) and a task is queued. The task
renders the slip from licensing's one definition (licensing/slips.py, refusal_to_receive_content: the same words
the counter's slips use), keeps the DOCX on the submission, converts it to PDF/A, signs it with the agency's key and
completes the verification record, so that the applicant downloads the signed PDF on their dossier page and anyone
holding it can check it on /verify/<code>/. No case exists (the dossier was never received): nothing is counted.

Run twice, the task does nothing more; if signing fails the outbox row stays undone and the recovery sweep tries
again, and the applicant meanwhile sees the slip as being signed."""

import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from documents.services import verifiable_complete, verifiable_reserve
from licensing.electronic import verification_fields
from licensing.services import dossier_summary
from licensing.slips import SubmissionFacts, refusal_to_receive_render

from .models import Submission

logger = logging.getLogger(__name__)

TASK = "applicants.refusal_slip_issue"
KIND = "Phiếu từ chối tiếp nhận giải quyết hồ sơ"


def _facts(submission: Submission) -> SubmissionFacts:
    from .dossiers import procedure_name

    organisation = submission.organisation
    officer = submission.handled_by
    return SubmissionFacts(
        agency=submission.agency, procedure_name=procedure_name(submission), applicant_name=organisation.name,
        applicant_address=organisation.address, phone=organisation.phone,
        email=submission.created_by.email or organisation.email,
        summary=dossier_summary(submission.procedure, submission.fields or {}),
        submitted_at=submission.submitted_at, reasons=submission.reasons, refused_at=submission.handled_at,
        officer_name=(officer.get_full_name() or officer.username) if officer else "", code=str(submission.uuid))


def refusal_reserve(submission: Submission) -> None:
    """In the refusal's transaction: the slip's verification code, and the task that makes the slip after commit."""
    from worker.outbox import outbox_enqueue

    facts = _facts(submission)
    subject = facts.procedure_name + (f" ({facts.summary})" if facts.summary else "")
    submission.refusal_document = verifiable_reserve(
        issuer=submission.agency, kind=KIND, number_text="", issued_on=timezone.localtime(facts.refused_at).date(),
        subject=subject[:500], holder=facts.applicant_name[:300], reference=f"applicants:{submission.pk}:refusal")
    submission.save(update_fields=["refusal_document", "updated_at"])
    outbox_enqueue(TASK, submission_id=submission.pk)


def _refused(submission_id: int) -> Submission | None:
    submission = Submission.objects.select_related(
        "agency", "organisation", "created_by", "handled_by", "refusal_document").get(pk=submission_id)
    if submission.refusal_document is None or submission.state != Submission.State.NOT_RECEIVED:
        return None
    return submission


def refusal_slip_render(*, submission_id: int) -> Submission | None:
    """The slip's DOCX, rendered once with its verification code and kept on the submission (the applicant may
    download it while it is being signed). None for a dossier that was not refused."""
    submission = _refused(submission_id)
    if submission is None or submission.refusal_slip:
        return submission
    docx = refusal_to_receive_render(_facts(submission), **verification_fields(submission.refusal_document))
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission_id)
        if not locked.refusal_slip:
            locked.refusal_slip.save(f"{submission.uuid}-refusal.docx", ContentFile(docx), save=False)
            locked.save(update_fields=["refusal_slip", "updated_at"])
    return _refused(submission_id)


def refusal_slip_issue(*, submission_id: int) -> bool:
    """Render (once), convert, sign and complete the refusal slip. True if it is signed (now or before)."""
    from documents.pdf import pdf_from_docx
    from documents.signing import pdf_sign

    submission = _refused(submission_id)
    if submission is None:
        return False
    verifiable = submission.refusal_document
    if verifiable.is_signed:
        return True
    if not submission.refusal_slip:
        submission = refusal_slip_render(submission_id=submission_id)
    with submission.refusal_slip.open("rb") as handle:
        docx = handle.read()
    officer = submission.handled_by
    signed = pdf_sign(pdf_from_docx(docx), reason=KIND, location=submission.agency.place_name or "",
                      signer_name=(officer.get_full_name() or officer.username) if officer else "")
    verifiable_complete(code=verifiable.code, pdf=signed)
    return True
