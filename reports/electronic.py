"""The issued report's signed PDF (issue 15), the way licensing's results get theirs (licensing/electronic.py):

1. At the issue (report_services.report_issue, in its transaction) the report's verification code is reserved, the
   frozen content prints it with its QR code in the first page's footer, and a task is queued through the outbox.
2. The task (`reports.report_sign`) makes the PDF/A from the very DOCX of the frozen content (documents.pdf), signs
   it with the agency's key (documents.signing) and completes the public record (documents.services): from then on
   the PDF downloads and /verify/<code>/ shows the report as valid.
3. A failure goes on the report case's timeline once per distinct error; the outbox tries again; signing twice
   changes nothing.
"""

import logging

from django.db import transaction
from django.utils import timezone

from cases.models import CaseEvent
from cases.services import sign_failure_record
from documents.codes import code_format
from documents.qr import verification_url
from documents.services import verifiable_complete, verifiable_reserve
from worker.outbox import outbox_enqueue

from .models import Report

logger = logging.getLogger(__name__)
SIGN_TASK = "reports.report_sign"
KIND = "Báo cáo"


def report_verification_reserve(report: Report) -> None:
    """Reserve the report's verification record (idempotent per report); its first page prints the code."""
    verifiable = verifiable_reserve(issuer=report.agency, kind=KIND, number_text=report.number_text,
                                    issued_on=timezone.localtime(report.issued_at).date(), subject=report.summary[:500],
                                    reference=f"reports:{report.pk}")
    report.verification_code = verifiable.code


def verification_printed(code: str) -> dict:
    return {"code": code_format(code), "url": verification_url(code)}


def report_sign_enqueue(report: Report) -> None:
    outbox_enqueue(SIGN_TASK, report_id=report.pk)


def _verifiable(report: Report):
    from documents.models import VerifiableDocument

    return VerifiableDocument.objects.filter(code=report.verification_code).first() \
        if report.verification_code else None


def report_sign(*, report_id: int) -> bool:
    """Convert, sign and complete the issued report. True if it is signed (now or before)."""
    from documents.pdf import pdf_from_docx
    from documents.signing import pdf_sign

    from .report_document import report_docx

    report = Report.objects.select_related("agency", "case").get(pk=report_id)
    verifiable = _verifiable(report)
    if verifiable is None or report.frozen is None:
        return False
    if verifiable.is_signed:
        return True
    pdf = pdf_from_docx(report_docx(report.frozen))
    signed = pdf_sign(pdf, reason=f"{KIND} số {report.number_text}", location=report.frozen["agency"]["place"],
                      signer_name=report.frozen["signer"]["name"])
    with transaction.atomic():
        completed = verifiable_complete(code=verifiable.code, pdf=signed)
        if not report.case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="signed").exists():
            CaseEvent.objects.create(case=report.case, kind=CaseEvent.Kind.DOCUMENT, action="signed",
                                     after={"number": report.number_text, "code": code_format(completed.code)})
    return True


def report_sign_failed(*, report_id: int, error: Exception) -> bool:
    """The failure on the report's timeline, once per distinct error in a row. True if written."""
    report = Report.objects.filter(pk=report_id).select_related("case").first()
    if report is None or not sign_failure_record(report.case, error=error):
        return False
    logger.error("report %s could not be signed: %s", report_id, error)
    return True


def signed_pdf(report: Report) -> bytes | None:
    """The signed PDF of an issued report, once signed."""
    verifiable = _verifiable(report)
    if verifiable is None or not verifiable.is_signed or not verifiable.pdf:
        return None
    with verifiable.pdf.open("rb") as handle:
        return handle.read()
