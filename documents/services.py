"""Writes on verifiable documents, one transaction each.

An issue goes in two steps, because the PDF prints its own verification code and QR code:
1. `verifiable_reserve(...)` makes the row (a new code, the facts the document prints), not public yet;
2. `verifiable_complete(code=..., pdf=...)` stores the signed PDF and its SHA-256: from then on the public page
   shows it.
Both may be repeated: a reserve with the same `reference` returns the row reserved before, and completing a row
already completed changes nothing (the first signed PDF stays the document; the caller serves the stored one).
"""

import hashlib
from datetime import date, datetime

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from .codes import code_generate, code_normalise
from .models import VerifiableDocument

CODE_ATTEMPTS = 8  # 50 random bits: a collision is already unlikely once, eight in a row never happen


class DocumentStatusConflict(Exception):
    """A status change that contradicts the document's current status (revoking a replaced document, replacing
    one by another twice...). `code` is stable, for the callers' error handlers."""

    code = "document_status_conflict"


def _printed(issuer, kind, number_text, issued_on, subject, holder) -> dict:
    return {"issuer": issuer, "issuer_name": issuer.name, "issuer_parent_name": issuer.parent_name or "",
            "kind": kind, "number_text": number_text, "issued_on": issued_on, "subject": subject or "",
            "holder": holder or ""}


def verifiable_reserve(*, issuer, kind: str, number_text: str, issued_on: date, subject: str = "",
                       holder: str = "", reference: str | None = None) -> VerifiableDocument:
    """A new verification code and the facts the document will print (issuer's names as of today, kind, number,
    date, subject, holder), before the PDF exists. With `reference`, a second call returns the row of the first
    (its facts brought up to date while it is not yet signed)."""
    fields = _printed(issuer, kind, number_text, issued_on, subject, holder)
    with transaction.atomic():
        if reference:
            existing = VerifiableDocument.objects.select_for_update().filter(reference=reference).first()
            if existing is not None:
                if not existing.is_signed:
                    for name, value in fields.items():
                        setattr(existing, name, value)
                    existing.save(update_fields=list(fields))
                return existing
        for attempt in range(CODE_ATTEMPTS):
            try:
                with transaction.atomic():
                    return VerifiableDocument.objects.create(code=code_generate(), reference=reference or None,
                                                             **fields)
            except IntegrityError:
                if reference and VerifiableDocument.objects.filter(reference=reference).exists():
                    # Reserved at the same moment by another attempt of the same issue: that row is the one.
                    return VerifiableDocument.objects.get(reference=reference)
                if attempt == CODE_ATTEMPTS - 1:
                    raise
    raise AssertionError("unreachable")


def _locked(document) -> VerifiableDocument:
    """The row of a document (an instance or a code as printed or typed), locked for this transaction."""
    if isinstance(document, VerifiableDocument):
        return VerifiableDocument.objects.select_for_update().get(pk=document.pk)
    code = code_normalise(document)
    if code is None:
        raise VerifiableDocument.DoesNotExist(f"not a verification code: {document!r}")
    return VerifiableDocument.objects.select_for_update().get(code=code)


def verifiable_complete(*, code, pdf: bytes, signed_at: datetime | None = None) -> VerifiableDocument:
    """Store the signed PDF of a reserved document and its SHA-256: the document becomes public. Repeated on a row
    already completed, returns it unchanged (the PDF stored first is the one that was issued)."""
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf).startswith(b"%PDF-"):
        raise ValueError("the signed document must be a PDF")
    pdf = bytes(pdf)
    with transaction.atomic():
        document = _locked(code)
        if document.is_signed:
            return document
        document.sha256 = hashlib.sha256(pdf).hexdigest()
        document.pdf.save(f"{document.code}.pdf", ContentFile(pdf), save=False)
        document.signed_at = signed_at or timezone.now()
        document.save(update_fields=["sha256", "pdf", "signed_at"])
        return document


def verifiable_revoke(*, document, note: str, on: date | None = None) -> VerifiableDocument:
    """Mark a document revoked, with what revoked it ("Quyết định số 12/QĐ-SVHTTDL") and the day. Revoking it again
    changes nothing; a replaced document cannot be revoked (its replacement is the one in force)."""
    note = (note or "").strip()
    if not note:
        raise ValueError("a revocation names the decision that revokes")
    with transaction.atomic():
        row = _locked(document)
        if row.status == VerifiableDocument.Status.REVOKED:
            return row
        if row.status == VerifiableDocument.Status.REPLACED:
            raise DocumentStatusConflict(f"{row} was replaced; revoke its replacement instead")
        row.status = VerifiableDocument.Status.REVOKED
        row.status_note = note[:500]
        row.status_changed_on = on or timezone.localdate()
        row.save(update_fields=["status", "status_note", "status_changed_on"])
        return row


def verifiable_replace(*, old, new, note: str = "", on: date | None = None) -> VerifiableDocument:
    """Mark `old` replaced by `new` (a re-issue): its page then leads to the replacement. Repeating the same
    replacement changes nothing; replacing by another document, replacing a revoked one, or by a document that
    is not valid itself, is a conflict."""
    with transaction.atomic():
        old_pk = old.pk if isinstance(old, VerifiableDocument) else _locked(old).pk
        new_pk = new.pk if isinstance(new, VerifiableDocument) else _locked(new).pk
        if old_pk == new_pk:
            raise DocumentStatusConflict("a document cannot replace itself")
        # Both rows locked in one order, so that two replacements never wait on each other.
        rows = {row.pk: row for row in VerifiableDocument.objects.select_for_update().filter(pk__in=[old_pk, new_pk])
                .order_by("pk")}
        old_row, new_row = rows[old_pk], rows[new_pk]
        if old_row.status == VerifiableDocument.Status.REPLACED:
            if old_row.replaced_by_id == new_pk:
                return old_row
            raise DocumentStatusConflict(f"{old_row} was already replaced by another document")
        if old_row.status == VerifiableDocument.Status.REVOKED:
            raise DocumentStatusConflict(f"{old_row} was revoked and cannot be replaced")
        if new_row.status != VerifiableDocument.Status.VALID:
            raise DocumentStatusConflict(f"the replacement {new_row} is not valid itself")
        old_row.status = VerifiableDocument.Status.REPLACED
        old_row.replaced_by = new_row
        old_row.status_note = (note or "").strip()[:500]
        old_row.status_changed_on = on or timezone.localdate()
        old_row.save(update_fields=["status", "replaced_by", "status_note", "status_changed_on"])
        return old_row
