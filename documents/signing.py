"""PAdES signatures of issued documents (pyHanko), with the agency's key from a PKCS#12 file or a PKCS#11 token.

Where the key comes from, first match wins:
1. a PKCS#11 token: DOCUMENTS_SIGNING_PKCS11_MODULE, ..._TOKEN_LABEL, ..._KEY_LABEL (..._CERT_LABEL, defaulting
   to the key's label), ..._PIN;
2. a PKCS#12 file: DOCUMENTS_SIGNING_PKCS12, DOCUMENTS_SIGNING_PKCS12_PASSWORD;
3. the demo mode (DOCUMENTS_SIGNING_DEMO, on by default when DEBUG): the demo CA of documents/demo_ca.py.
Otherwise nothing is signed. DOCUMENTS_TSA_URL adds an RFC 3161 timestamp to each signature.

`pdf_sign` returns a complete signed PDF or raises `SigningUnavailable`; it never returns a half-signed file.
Keys are loaded once per process and reused by all threads. A PKCS#11 session is opened once per process (again
after a fork: the child initialises the module anew) and shared; python-pkcs11 serialises the operations on a
session with its own lock (PKCS#11 allows one active operation per session), and everything else (PDF writing,
hashing, timestamp requests) runs in parallel. A PIN the token refused is not tried
again until the configuration changes: a real token locks itself after a few wrong PINs, and retries of a task
must not be what locks it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import model as metadata_model
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError, load_certs_from_pemder
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathError, PathValidationError
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

logger = logging.getLogger(__name__)


class _NoFetchWarningFilter(logging.Filter):
    """pyHanko warns at every signature that revocation data is not fetched; that is this module's choice
    (DOCUMENTS_SIGNING_FETCH_REVOCATION), said once in the settings, not a per-document event."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_NoFetchWarningFilter())


class SigningUnavailable(Exception):
    """The document cannot be signed now. `message` is for people (translated); `detail` is for the logs.
    `retryable` is False only when the input itself is at fault (retrying would fail the same way)."""

    code = "signing_unavailable"

    def __init__(self, message, *, detail: str = "", retryable: bool = True):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.retryable = retryable

    def __str__(self) -> str:
        return str(self.message)


MSG_NOT_CONFIGURED = _("No signing key is configured for the agency.")
MSG_KEY_UNREADABLE = _("The agency's signing key or certificate could not be read.")
MSG_TOKEN_ABSENT = _("The agency's signing token is not available.")
MSG_PIN_REFUSED = _("The agency's signing token refused the PIN.")
MSG_PIN_LOCKED = _("The agency's signing token is locked: its PIN must be unblocked or renewed.")
MSG_TSA_DOWN = _("The timestamp server could not be reached or gave no valid timestamp.")
MSG_TSA_UNTRUSTED = _("The timestamp server's certificate is not issued by a trusted authority.")
MSG_BAD_PDF = _("The document is not a PDF that can be signed.")
MSG_FAILED = _("The document could not be signed.")


@dataclass(frozen=True)
class _Source:
    kind: str  # "pkcs11" | "pkcs12"
    path: str = ""  # PKCS#12 file, or the PKCS#11 module
    password: str = ""  # PKCS#12 password, or the PIN
    token_label: str = ""
    key_label: str = ""
    cert_label: str = ""
    stamp: float = 0.0  # the PKCS#12 file's mtime: a replaced file is read again


def signing_source() -> str:
    """Which key `pdf_sign` would use: "pkcs11", "pkcs12", "demo", or "" when none is configured."""
    if getattr(settings, "DOCUMENTS_SIGNING_PKCS11_MODULE", ""):
        return "pkcs11"
    if getattr(settings, "DOCUMENTS_SIGNING_PKCS12", ""):
        return "pkcs12"
    if getattr(settings, "DOCUMENTS_SIGNING_DEMO", False):
        return "demo"
    return ""


def signing_configured() -> bool:
    return bool(signing_source())


def trust_root_paths() -> list[Path]:
    """The trust roots (DOCUMENTS_TRUST_ROOTS), plus the demo root in demo mode once it exists."""
    paths = [Path(p).expanduser() for p in getattr(settings, "DOCUMENTS_TRUST_ROOTS", [])]
    if getattr(settings, "DOCUMENTS_SIGNING_DEMO", False):
        from .demo_ca import demo_root_path

        demo_root = demo_root_path()
        if demo_root.exists() and demo_root not in paths:
            paths.append(demo_root)
    return paths


def trust_roots_load() -> list[asn1_x509.Certificate]:
    return _certs_load(trust_root_paths())


def _certs_load(paths) -> list[asn1_x509.Certificate]:
    certs = []
    for path in paths:
        try:
            certs.extend(load_certs_from_pemder([str(path)]))
        except (OSError, ValueError) as error:
            logger.warning("documents: certificate file %s unreadable: %s", path, error)
    return certs


def _source_resolve() -> _Source:
    kind = signing_source()
    if kind == "pkcs11":
        return _Source(
            "pkcs11", path=settings.DOCUMENTS_SIGNING_PKCS11_MODULE,
            password=getattr(settings, "DOCUMENTS_SIGNING_PKCS11_PIN", ""),
            token_label=getattr(settings, "DOCUMENTS_SIGNING_PKCS11_TOKEN_LABEL", ""),
            key_label=getattr(settings, "DOCUMENTS_SIGNING_PKCS11_KEY_LABEL", ""),
            cert_label=getattr(settings, "DOCUMENTS_SIGNING_PKCS11_CERT_LABEL", ""))
    if kind == "pkcs12":
        path = settings.DOCUMENTS_SIGNING_PKCS12
        password = getattr(settings, "DOCUMENTS_SIGNING_PKCS12_PASSWORD", "")
    elif kind == "demo":
        from .demo_ca import demo_credentials

        try:
            demo = demo_credentials()
        except OSError as error:
            raise SigningUnavailable(MSG_KEY_UNREADABLE, detail=f"demo CA: {error}") from error
        path, password = str(demo.pkcs12), demo.password.decode()
    else:
        raise SigningUnavailable(MSG_NOT_CONFIGURED, detail="no DOCUMENTS_SIGNING_* setting and demo mode off")
    try:
        stamp = os.stat(path).st_mtime
    except OSError as error:
        raise SigningUnavailable(MSG_KEY_UNREADABLE, detail=f"PKCS#12 {path}: {error}") from error
    return _Source("pkcs12", path=path, password=password, stamp=stamp)


class _Credential:
    """A loaded key: its pyHanko signer, and whether its chain reaches a trust root (then the signature carries
    its validation data: PAdES B-LT)."""

    signer: signers.Signer
    embed_validation: bool = False
    chain: list[asn1_x509.Certificate]
    reserved_sizes: dict[tuple, int]  # (TSA URL, B-LT) -> /Contents size of the first signature

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        instance.reserved_sizes = {}
        return instance

    def close(self) -> None:
        pass


class _CachedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner parses its private key again for every signature, which OpenSSL 3's key checks make
    cost ~60 ms for RSA; this one parses it once. RSA PKCS#1 v1.5 and ECDSA here, the rest through pyHanko."""

    _parsed_key = None

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)["algorithm"].native
        if mechanism not in ("rsassa_pkcs1v15", "sha256_rsa", "sha384_rsa", "sha512_rsa", "ecdsa",
                             "sha256_ecdsa", "sha384_ecdsa", "sha512_ecdsa"):
            return super().sign_raw(data, digest_algorithm)
        if self._parsed_key is None:
            self._parsed_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self._parsed_key, RSAPrivateKey):
            return self._parsed_key.sign(data, PKCS1v15(), hash_algorithm)
        if isinstance(self._parsed_key, EllipticCurvePrivateKey):
            return self._parsed_key.sign(data, ECDSA(hash_algorithm))
        return super().sign_raw(data, digest_algorithm)


class _Pkcs12Credential(_Credential):
    def __init__(self, source: _Source, extra_certs):
        try:
            data = Path(source.path).read_bytes()
            loaded = signers.SimpleSigner.load_pkcs12_data(
                data, other_certs=extra_certs, passphrase=source.password.encode() or None)
            self.signer = _CachedKeySigner(signing_key=loaded.signing_key, signing_cert=loaded.signing_cert,
                                           cert_registry=loaded.cert_registry)
        except (OSError, ValueError) as error:
            raise SigningUnavailable(MSG_KEY_UNREADABLE, detail=f"PKCS#12 {source.path}: {error}") from error
        if self.signer.signing_cert is None:
            raise SigningUnavailable(MSG_KEY_UNREADABLE, detail=f"PKCS#12 {source.path}: no certificate")
        self.chain = list(self.signer.cert_registry)


_refused_pins: set[tuple[str, str, str]] = set()


class _Pkcs11Credential(_Credential):
    def __init__(self, source: _Source, extra_certs):
        import pkcs11
        from pkcs11 import exceptions as p11e

        refusal_key = (source.path, source.token_label, hashlib.sha256(source.password.encode()).hexdigest())
        if refusal_key in _refused_pins:
            raise SigningUnavailable(MSG_PIN_REFUSED, detail="PIN refused before; not tried again")
        try:
            library = pkcs11.lib(source.path)
            if _Pkcs11Credential._library_pid.get(source.path) not in (None, os.getpid()):
                library.reinitialize()  # a forked child must initialise the module again
            _Pkcs11Credential._library_pid[source.path] = os.getpid()
            token = library.get_token(token_label=source.token_label) if source.token_label else None
            if token is None:
                slots = library.get_slots(token_present=True)
                if len(slots) != 1:
                    raise p11e.NoSuchToken()
                token = slots[0].get_token()
            self.session = token.open(user_pin=source.password or None)
        except p11e.PinIncorrect as error:
            _refused_pins.add(refusal_key)
            raise SigningUnavailable(MSG_PIN_REFUSED, detail=f"PKCS#11 {source.token_label}: PIN incorrect"
                                     ) from error
        except (p11e.PinLocked, p11e.PinExpired) as error:
            raise SigningUnavailable(MSG_PIN_LOCKED, detail=f"PKCS#11 {source.token_label}: {type(error).__name__}"
                                     ) from error
        except (p11e.PinInvalid, p11e.PinLenRange) as error:
            raise SigningUnavailable(MSG_PIN_REFUSED, detail=f"PKCS#11 {source.token_label}: {type(error).__name__}"
                                     ) from error
        except (p11e.PKCS11Error, RuntimeError, OSError) as error:
            # RuntimeError/OSError: the module itself cannot be loaded
            raise SigningUnavailable(MSG_TOKEN_ABSENT,
                                     detail=f"PKCS#11 {source.path} {source.token_label}: {type(error).__name__} {error}"
                                     ) from error
        try:
            self.signer = PKCS11Signer(
                self.session, cert_label=source.cert_label or source.key_label, key_label=source.key_label,
                ca_chain=extra_certs, other_certs_to_pull=None)
            self.signer._load_objects()  # the certificate and key handle now, before threads share the signer
        except (p11e.PKCS11Error, SigningError) as error:
            self.close()
            raise SigningUnavailable(MSG_KEY_UNREADABLE,
                                     detail=f"PKCS#11 {source.token_label}/{source.key_label}: {error}") from error
        self.chain = list(self.signer.cert_registry)

    _library_pid: dict[str, int] = {}

    def close(self) -> None:
        try:
            self.session.close()
        except Exception:  # noqa: BLE001 - the session may be gone with the token
            pass


_credentials: dict[tuple, _Credential] = {}
_credentials_lock = threading.Lock()


def _credential() -> _Credential:
    source = _source_resolve()
    chain_paths = tuple(getattr(settings, "DOCUMENTS_SIGNING_CHAIN", []))
    roots = tuple(str(p) for p in trust_root_paths())
    key = (source, chain_paths, roots, os.getpid())
    credential = _credentials.get(key)
    if credential is not None:
        return credential
    with _credentials_lock:
        credential = _credentials.get(key)
        if credential is not None:
            return credential
        # The same key before (a renewed file), another process's (fork), or the same token under another PIN or
        # label: a token's login is shared by all of a process's sessions, so the old session must go first.
        for stale_key in [k for k in _credentials if k[3] != os.getpid() or k[0] == source
                          or (source.kind == "pkcs11" and (k[0].kind, k[0].path) == ("pkcs11", source.path))]:
            stale = _credentials.pop(stale_key)
            if stale_key[3] == os.getpid():
                stale.close()
        extra = _certs_load(chain_paths)
        credential = (_Pkcs11Credential if source.kind == "pkcs11" else _Pkcs12Credential)(source, extra)
        credential.embed_validation = _chain_trusted(credential, extra)
        _credentials[key] = credential
        return credential


def credentials_forget() -> None:
    """Close every loaded key and token session of this process: the next signature loads them again (after a
    token was replaced, or in tests that set up another token)."""
    with _credentials_lock:
        loaded = list(_credentials.items())
        _credentials.clear()
    for key, credential in loaded:
        if key[3] == os.getpid():
            credential.close()


def _credential_forget(credential: _Credential) -> None:
    with _credentials_lock:
        for key in [k for k, v in _credentials.items() if v is credential]:
            del _credentials[key]
    credential.close()


def _validation_context(credential: _Credential) -> ValidationContext | None:
    roots = trust_roots_load()
    if not roots:
        return None
    return ValidationContext(
        trust_roots=roots, other_certs=credential.chain,
        allow_fetching=bool(getattr(settings, "DOCUMENTS_SIGNING_FETCH_REVOCATION", False)),
        revocation_mode="soft-fail")


def _chain_trusted(credential: _Credential, extra) -> bool:
    context = _validation_context(credential)
    if context is None:
        return False
    validator = CertificateValidator(credential.signer.signing_cert, intermediate_certs=credential.chain,
                                     validation_context=context)
    try:
        asyncio.run(validator.async_validate_usage(set()))
    except Exception as error:  # noqa: BLE001 - any path failure means: sign without validation data
        logger.warning("documents: the signing certificate does not chain to a trust root (%s); "
                       "signatures will not carry validation data", error)
        return False
    return True


def pdf_sign(pdf: bytes, *, reason: str, location: str, signer_name: str) -> bytes:
    """The PDF with the agency's PAdES signature (and a timestamp when DOCUMENTS_TSA_URL is set)."""
    credential = _credential()
    writer = _writer(pdf)
    context = _validation_context(credential) if credential.embed_validation else None
    metadata = signers.PdfSignatureMetadata(
        field_name=_field_name(writer),
        reason=reason, location=location, name=signer_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=context is not None,
        validation_context=context,
        # the validation data inside the signed revision: the signature covers the whole file (B-LT in one revision)
        dss_settings=DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE,
                                        include_vri=False),
    )
    tsa_url = getattr(settings, "DOCUMENTS_TSA_URL", "")
    timestamper = _timestamper(tsa_url, float(getattr(settings, "DOCUMENTS_TSA_TIMEOUT", 10))) if tsa_url else None
    signer = signers.PdfSigner(metadata, signer=credential.signer, timestamper=timestamper)
    # pyHanko sizes the signature by making a dummy one first (half the cost of a signature); the size it chose
    # for the first document of a key, TSA and mode is reused, and estimated again should it ever be too small.
    size_key = (tsa_url, context is not None)
    reserved = credential.reserved_sizes.get(size_key)
    try:
        try:
            output = signer.sign_pdf(writer, bytes_reserved=reserved)
        except SigningError as error:
            if reserved is None or "larger than expected" not in str(error):
                raise
            credential.reserved_sizes.pop(size_key, None)
            reserved = None
            output = signer.sign_pdf(_writer(pdf))
    except TimestampRequestError as error:
        raise SigningUnavailable(MSG_TSA_DOWN, detail=f"TSA {tsa_url}: {error}") from error
    except Exception as error:
        _raise_classified(error, credential, tsa_url)
    signed = output.getvalue()
    if reserved is None:
        size = _contents_size(signed)
        if size:
            credential.reserved_sizes[size_key] = size
    return signed


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        _producer_align(writer)
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise SigningUnavailable(MSG_BAD_PDF, detail=f"unreadable PDF: {error}", retryable=False) from error
    return writer


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _contents_size(signed: bytes) -> int | None:
    """The hex characters reserved for the last signature's /Contents: the gap in its /ByteRange, less < and >."""
    ranges = _BYTE_RANGE.findall(signed[-200_000:])
    if not ranges:
        return None
    start, first, second_start, _length = (int(n) for n in ranges[-1])
    return second_start - (start + first) - 2


@functools.lru_cache(maxsize=4)
def _timestamper(url: str, timeout: float) -> RequestsHTTPTimeStamper:
    """One client per server: it keeps the sample token pyHanko sizes the signature with (else each signature
    asks the server twice)."""
    return RequestsHTTPTimeStamper(url, timeout=timeout)


def _raise_classified(error: Exception, credential: _Credential, tsa_url: str):
    from pkcs11 import exceptions as p11e

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, TimestampRequestError):
            raise SigningUnavailable(MSG_TSA_DOWN, detail=f"TSA {tsa_url}: {cause}") from error
        if isinstance(cause, p11e.PKCS11Error):
            # the token went away or the session broke: open a new one next time
            _credential_forget(credential)
            raise SigningUnavailable(MSG_TOKEN_ABSENT, detail=f"PKCS#11: {type(cause).__name__} {cause}") from error
        cause = cause.__cause__ or cause.__context__
    if tsa_url and credential.embed_validation and isinstance(error, (PathError, PathValidationError)):
        # the signer's own chain was checked when its key was loaded: the path that failed is the TSA's
        raise SigningUnavailable(MSG_TSA_UNTRUSTED, detail=f"TSA {tsa_url}: {error} (add its root to "
                                 "DOCUMENTS_TRUST_ROOTS)") from error
    if tsa_url and "timestamp" in str(error).lower():
        raise SigningUnavailable(MSG_TSA_DOWN, detail=f"TSA {tsa_url}: {error}") from error
    logger.exception("documents: signing failed")
    raise SigningUnavailable(MSG_FAILED, detail=f"{type(error).__name__}: {error}") from error


def _producer_align(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A wants the Info dictionary and the XMP metadata to agree. pyHanko sets XMP's pdf:Producer to its own
    name but appends that name to Info's /Producer ("LibreOffice 7.4; pyHanko 0.38.0"): give Info the same value
    first, so that both say the same."""
    if "/Metadata" not in writer.root:
        return
    info_ref = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if not isinstance(info_ref, generic.IndirectObject):
        return
    info = info_ref.get_object()
    if info.get("/Producer") != metadata_model.VENDOR:
        info["/Producer"] = generic.TextStringObject(metadata_model.VENDOR)
        writer.mark_update(info_ref)


def _field_name(writer: IncrementalPdfFileWriter) -> str:
    """A fresh field name: a document signed twice keeps both signatures."""
    existing = {name for name, _value, _ref in fields.enumerate_sig_fields(writer.prev, filled_status=None)}
    number = 1
    while f"Signature{number}" in existing:
        number += 1
    return f"Signature{number}"
