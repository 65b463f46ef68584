"""Electronic copies of the inspection documents (issue 15), the way licensing/electronic.py makes licensing's:

1. Before a document is rendered (services.issuing._document_store), its verification code is reserved
   (documents.services.verifiable_reserve, reference "inspections:<campaign>:<kind>:<target>"), so the DOCX prints
   the code and QR code in its first page's footer; the stored Document row links to the record, and a task is
   queued in the same transaction.
2. The task (`inspections.document_sign`) converts the stored DOCX (documents.pdf), signs it (documents.signing) and
   completes the record (verifiable_complete): the PDF is then downloadable and `/verify/<code>/` shows it.
3. A failure leaves the document as DOCX: the campaign's timeline says so once per distinct error, the outbox tries
   again; signing again finds the record complete and does nothing, so nothing is signed or counted twice.
"""

import logging

from django.db import transaction
from django.utils import timezone

from cases.models import CaseEvent
from cases.services import sign_failure_record
from documents.codes import code_format
from documents.services import verifiable_complete, verifiable_reserve

from .documents import KIND_LABEL
from .models import Document

logger = logging.getLogger(__name__)

SIGN_TASK = "inspections.document_sign"
SIGN_FAILED_ACTION = "sign"


def verification_reserve(campaign, *, kind: str, target=None, number_text: str, issued_at, subject: str,
                         holder: str = ""):
    """The verification record of an inspection document about to be rendered (idempotent per campaign, kind
    and target)."""
    return verifiable_reserve(
        issuer=campaign.case.agency, kind=KIND_LABEL[kind], number_text=number_text or "Không số",
        issued_on=timezone.localtime(issued_at).date(), subject=(subject or "")[:500], holder=(holder or "")[:300],
        reference=f"inspections:{campaign.pk}:{kind}:{target.pk if target else ''}")


def document_sign(*, document_id: int) -> bool:
    """Convert, sign and complete one inspection document. Returns True if it is signed (now or before)."""
    from documents.pdf import pdf_from_docx
    from documents.signing import pdf_sign

    document = Document.objects.select_related("verifiable", "campaign__case__agency").get(pk=document_id)
    verifiable = document.verifiable
    if verifiable is None or not document.file:
        return False  # rendered before electronic copies
    if verifiable.is_signed:
        return True
    with document.file.open("rb") as handle:
        docx = handle.read()
    pdf = pdf_from_docx(docx)
    case = document.campaign.case
    reason = f"{verifiable.kind} số {document.number_text}" if document.number_text else verifiable.kind
    signed = pdf_sign(pdf, reason=reason, location=case.agency.place_name or "",
                      signer_name=case.agency.name)
    with transaction.atomic():
        completed = verifiable_complete(code=verifiable.code, pdf=signed)
        if not case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="signed",
                                  after__inspection_document=document.pk).exists():
            CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.DOCUMENT, action="signed",
                                     after={"inspection_document": document.pk, "kind": document.kind,
                                            "number": document.number_text, "code": code_format(completed.code)})
    return True


def document_sign_failed(*, document_id: int, error: Exception) -> bool:
    """Put a signing failure on the campaign's timeline, once per distinct error in a row. True if written."""
    document = Document.objects.filter(pk=document_id).select_related("campaign__case").first()
    if document is None:
        return False
    case = document.campaign.case
    if not sign_failure_record(case, error=error, action=SIGN_FAILED_ACTION,
                               after={"inspection_document": document.pk, "kind": document.kind},
                               same={"after__inspection_document": document.pk}):
        return False
    logger.error("inspection document %s of case %s could not be signed: %s", document.pk, case.pk, error)
    return True
