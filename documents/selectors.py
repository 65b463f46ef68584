"""Reads on verifiable documents. Only signed documents are public: a reserved code is unknown until its PDF is."""

from datetime import datetime

from .codes import code_normalise
from .models import VerifiableDocument


def _public():
    return VerifiableDocument.objects.filter(signed_at__isnull=False).select_related("replaced_by")


def verifiable_public(code) -> VerifiableDocument | None:
    """The signed document with this code (as printed or typed: any case, dashes, O for 0), or None."""
    normalised = code_normalise(code)
    if normalised is None:
        return None
    return _public().filter(code=normalised).first()


def verifiable_by_sha256(digest: str) -> VerifiableDocument | None:
    """The signed document whose stored PDF has exactly this SHA-256 (hex), or None."""
    digest = (digest or "").strip().lower()
    if len(digest) != 64:
        return None
    return _public().filter(sha256=digest).order_by("id").first()


def verifiable_signed_count(*, issuer_ids, start: datetime, end: datetime) -> int:
    """How many documents the given agencies signed in [start, end) (the report's "Số văn bản ký số")."""
    return VerifiableDocument.objects.filter(issuer_id__in=list(issuer_ids), signed_at__gte=start,
                                             signed_at__lt=end).count()
