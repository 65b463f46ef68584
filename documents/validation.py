"""What a PDF's signatures say: validated with pyHanko against the configured trust roots.

`pdf_signature_check` never raises on bad input: a file that is not a PDF, or a signature that cannot be parsed,
comes back as a check that says so. The summary is a sentence for people (translated).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from django.utils.translation import gettext as _
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .signing import trust_roots_load

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignatureCheck:
    signed: bool
    intact: bool  # every signature's hash and cryptographic value check out: nothing signed was changed
    trusted: bool  # ... and every signer's certificate chains to a configured trust root
    covers_whole_file: bool  # the last signature covers the file, apart from validation data added after it
    signer: str  # the common name of the last signature's certificate
    signed_at: datetime | None  # the timestamp's time when timestamped, else the time the signer's software claims
    timestamped: bool  # the last signature carries an RFC 3161 timestamp whose token is intact and valid
    summary: str


def _unsigned(summary: str) -> SignatureCheck:
    return SignatureCheck(signed=False, intact=False, trusted=False, covers_whole_file=False, signer="",
                          signed_at=None, timestamped=False, summary=summary)


def _common_name(certificate) -> str:
    try:
        name = certificate.subject.native
        return name.get("common_name") or certificate.subject.human_friendly
    except Exception:  # noqa: BLE001 - a certificate we cannot read names nobody
        return ""


def pdf_signature_check(pdf: bytes) -> SignatureCheck:
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_regular_signatures
    except Exception as error:  # noqa: BLE001 - anything unreadable is "not a PDF we can check"
        logger.info("documents: unreadable PDF in a signature check: %s", error)
        return _unsigned(_("The file is not a readable PDF, so it carries no signature that can be checked."))
    if not signatures:
        return _unsigned(_("The PDF carries no digital signature."))

    roots = trust_roots_load()
    intact = trusted = True
    statuses = []
    trusted_then = False
    for signature in signatures:
        try:
            status = _validate(signature, roots)
            status_trusted = status.trusted and not status.revoked
            if status.intact and status.valid and not status_trusted and _timestamp_ok(status):
                # An agency certificate lives 1-3 years, a licence longer: a signature timestamped while the
                # certificates were valid stays trusted (the timestamp token trusted at its own time too).
                then = _validate(signature, roots, moment=status.timestamp_validity.timestamp)
                status_trusted = bool(then.trusted and not then.revoked and then.timestamp_validity is not None
                                      and then.timestamp_validity.trusted)
                trusted_then = trusted_then or status_trusted
        except Exception as error:  # noqa: BLE001 - a damaged signature is an invalid one, not a crash
            logger.info("documents: signature %s could not be validated: %s", signature.field_name, error)
            statuses.append(None)
            intact = trusted = False
            continue
        statuses.append(status)
        intact = intact and status.intact and status.valid
        trusted = trusted and status_trusted

    last, last_signature = statuses[-1], signatures[-1]
    if last is None:
        return SignatureCheck(signed=True, intact=False, trusted=False, covers_whole_file=False,
                              signer=_common_name(last_signature.signer_cert) if _has_cert(last_signature) else "",
                              signed_at=None, timestamped=False,
                              summary=_("The signature is damaged: the document was changed after it was signed."))
    covers = last.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        last.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and last.modification_level is not None and last.modification_level <= ModificationLevel.LTA_UPDATES)
    timestamped = _timestamp_ok(last)
    signed_at = last.timestamp_validity.timestamp if timestamped else last.signer_reported_dt
    signer = _common_name(last.signing_cert)

    if not intact:
        summary = _("The document was changed after it was signed: the signature does not match its content.")
    elif not covers:
        summary = _("The signature is intact, but content was added to the file after it was signed.")
    elif not trusted:
        summary = _("The document is unchanged since it was signed, but the signer's certificate is not issued "
                    "by a trusted authority.")
    elif trusted_then:
        summary = _("The signature is valid: the document is unchanged since %(signer)s signed it, and the "
                    "certificate was valid at the time of the signature's timestamp.") % {"signer": signer}
    else:
        summary = _("The signature is valid: the document is unchanged since %(signer)s signed it.") % {
            "signer": signer}
    return SignatureCheck(signed=True, intact=intact, trusted=trusted, covers_whole_file=covers, signer=signer,
                          signed_at=signed_at, timestamped=timestamped, summary=summary)


def _has_cert(signature) -> bool:
    try:
        return signature.signer_cert is not None
    except Exception:  # noqa: BLE001
        return False


def _validate(signature, roots, *, moment: datetime | None = None):
    def context():
        return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment,
                                 retroactive_revinfo=moment is not None)

    return validate_pdf_signature(signature, signer_validation_context=context(), ts_validation_context=context())


def _timestamp_ok(status) -> bool:
    """The signature carries an RFC 3161 timestamp whose token is intact and cryptographically valid."""
    timestamp = status.timestamp_validity
    return bool(timestamp is not None and timestamp.intact and timestamp.valid)
