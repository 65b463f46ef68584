"""Electronic results: every document licensing issues gets a signed PDF/A that anyone can check (documents/).

1. When a document is issued (services._document_store, in the issuing transaction), its verification code is
   reserved first, so that the DOCX prints the QR code and the code on its first page; then a task is queued.
2. The task (`licensing.document_sign`) turns the stored DOCX into PDF/A (documents.pdf), signs it with the agency's
   key (documents.signing) and completes the verification record (documents.services.verifiable_complete): from
   then on the PDF is downloadable and `/verify/<code>/` shows the document as valid. The PDF comes from the very
   DOCX that was issued: one definition, two formats.
3. If signing fails (no key, token absent, wrong PIN, TSA down, LibreOffice failing), the document stays issued as
   DOCX and unsigned: the case's timeline says so once per distinct error, and the outbox tries again. Signing is
   idempotent: a second run finds the record complete and does nothing, so nothing is signed or counted twice.
4. A revoked permit shows as revoked on its verification page (permit_revoke_record); a re-issued one as
   replaced, leading to its replacement (permit_replace_earlier).
"""

import logging

from django.db import transaction
from django.utils import timezone

from cases.models import CaseEvent
from cases.services import sign_failure_record
from documents.codes import code_format
from documents.qr import verification_url
from documents.services import verifiable_complete, verifiable_replace, verifiable_reserve, verifiable_revoke

from .documents import KINDS
from .models import IssuedDocument

logger = logging.getLogger(__name__)

SIGN_TASK = "licensing.document_sign"
SIGN_FAILED_ACTION = "sign"


def verification_reserve(case, *, kind: str, number_text: str, issued_on, subject: str, holder: str,
                         event_id=None):
    """The verification record of a document about to be rendered (idempotent per case, kind and event)."""
    label = KINDS[kind]
    return verifiable_reserve(
        issuer=case.agency, kind=label[:1].upper() + label[1:], number_text=number_text, issued_on=issued_on,
        subject=subject[:500], holder=holder[:300],
        reference=f"licensing:{case.pk}:{kind}:{event_id or ''}")


def verification_fields(verifiable) -> dict[str, str]:
    """What OfficialDocument prints: the code as printed and the page's address."""
    return {"verification_code": code_format(verifiable.code), "verification_url": verification_url(verifiable.code)}


def document_sign(*, document_id: int) -> bool:
    """Convert, sign and complete one issued document. Returns True if it is signed (now or before)."""
    from documents.pdf import pdf_from_docx
    from documents.signing import pdf_sign

    document = IssuedDocument.objects.select_related("verifiable", "issuer", "case").get(pk=document_id)
    verifiable = document.verifiable
    if verifiable is None or not document.file:
        return False  # issued before electronic results, or imported from a past register
    if verifiable.is_signed:
        return True
    with document.file.open("rb") as handle:
        docx = handle.read()
    pdf = pdf_from_docx(docx)
    issuer = document.issuer
    reason = f"{verifiable.kind} số {document.number_text}" if document.number_text else verifiable.kind
    signed = pdf_sign(pdf, reason=reason, location=issuer.place_name if issuer else "",
                      signer_name=document.signer_name)
    with transaction.atomic():
        completed = verifiable_complete(code=verifiable.code, pdf=signed)
        if not document.case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="signed",
                                           after__document=document.pk).exists():
            CaseEvent.objects.create(case=document.case, kind=CaseEvent.Kind.DOCUMENT, action="signed",
                                     after={"document": document.pk, "number": document.number_text,
                                            "code": code_format(completed.code)})
    return True


def document_sign_failed(*, document_id: int, error: Exception) -> bool:
    """Put a signing failure on the case's timeline, once per distinct error in a row. Returns True if written."""
    document = IssuedDocument.objects.filter(pk=document_id).select_related("case").first()
    if document is None or not sign_failure_record(document.case, error=error, action=SIGN_FAILED_ACTION,
                                                   after={"document": document.pk}):
        return False
    logger.error("document %s of case %s could not be signed: %s", document.pk, document.case_id, error)
    return True


def verification_revoke(document: IssuedDocument, *, note: str) -> None:
    """The verification page of a revoked permit says so, with the note that revoked it."""
    if document.verifiable_id:
        verifiable_revoke(document=document.verifiable, note=note or "Thu hồi", on=timezone.localdate())


def verification_replace(document: IssuedDocument, *, by: IssuedDocument, note: str) -> None:
    """The verification page of a re-issued licence says "replaced" and, once the new one is signed, leads to it."""
    if document.verifiable_id and by.verifiable_id:
        verifiable_replace(old=document.verifiable, new=by.verifiable, note=note, on=timezone.localdate())
