"""Signed PDFs: PAdES signatures from a PKCS#12 file and from a SoftHSM2 token, RFC 3161 timestamps from a local
server, failures that raise SigningUnavailable, the demo CA, and the validation — by pyHanko (pdf_signature_check)
and independently by poppler's pdfsig against an NSS database trusting the test root.

The test PKI (tests/support_pki.py) is made once per process under tmp_path_factory, on free ports."""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pypdf import PdfReader, PdfWriter

from documents import signing
from documents.signing import SigningUnavailable, pdf_sign
from documents.validation import pdf_signature_check

from .support_pki import SOFTHSM_MODULE, SoftHsmToken, TestCA, TimestampServer, free_port, nss_db

SIGNER_CN = "Sở Văn hoá, Thể thao và Du lịch (test)"
PKCS12_PASSWORD = "mật-khẩu-thử"
TOKEN_LABEL, TOKEN_PIN, KEY_LABEL = "agency-token", "246810", "agency-key"


@pytest.fixture(autouse=True)
def _english_messages():
    """The messages are compared in English here (their Vietnamese is the catalogue's)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _blank_pdf(text: str = "") -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    if text:
        writer.add_metadata({"/Title": text})
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = TestCA(directory / "ca")
    signer = ca.issue(SIGNER_CN)
    p12 = directory / "agency.p12"
    p12.write_bytes(signer.pkcs12(PKCS12_PASSWORD.encode(), [ca.cert]))
    return {"dir": directory, "ca": ca, "signer": signer, "p12": p12, "nss": nss_db(directory / "nss", ca.root_pem)}


@pytest.fixture(scope="session")
def token(pki):
    """A SoftHSM2 token holding the same agency key. SOFTHSM2_CONF must be in the environment when the module
    initialises; if this process loaded it before (another test), it is initialised again."""
    hsm = SoftHsmToken(pki["dir"] / "softhsm", token_label=TOKEN_LABEL, pin=TOKEN_PIN, key_label=KEY_LABEL,
                       issued=pki["signer"])
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(hsm.conf)
    import pkcs11

    if SOFTHSM_MODULE in getattr(pkcs11, "_loaded", {}):
        signing.credentials_forget()
        pkcs11.lib(SOFTHSM_MODULE).reinitialize()
    yield hsm
    signing.credentials_forget()
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(scope="session")
def tsa(pki):
    server = TimestampServer(pki["ca"].issue("Test TSA", timestamping=True), [pki["ca"].cert])
    yield server
    server.stop()


@pytest.fixture
def no_key(settings, tmp_path):
    """Nothing configured, demo mode off, trust roots empty: each test says what it uses."""
    settings.DOCUMENTS_SIGNING_PKCS11_MODULE = ""
    settings.DOCUMENTS_SIGNING_PKCS12 = ""
    settings.DOCUMENTS_SIGNING_DEMO = False
    settings.DOCUMENTS_DEMO_CA_DIR = str(tmp_path / "demo-ca-unused")
    settings.DOCUMENTS_TSA_URL = ""
    settings.DOCUMENTS_TRUST_ROOTS = []
    settings.DOCUMENTS_SIGNING_CHAIN = []
    return settings


@pytest.fixture
def with_pkcs12(no_key, pki):
    no_key.DOCUMENTS_SIGNING_PKCS12 = str(pki["p12"])
    no_key.DOCUMENTS_SIGNING_PKCS12_PASSWORD = PKCS12_PASSWORD
    no_key.DOCUMENTS_TRUST_ROOTS = [str(pki["ca"].root_pem)]
    return no_key


@pytest.fixture
def with_token(no_key, pki, token):
    no_key.DOCUMENTS_SIGNING_PKCS11_MODULE = SOFTHSM_MODULE
    no_key.DOCUMENTS_SIGNING_PKCS11_TOKEN_LABEL = TOKEN_LABEL
    no_key.DOCUMENTS_SIGNING_PKCS11_KEY_LABEL = KEY_LABEL
    no_key.DOCUMENTS_SIGNING_PKCS11_PIN = TOKEN_PIN
    no_key.DOCUMENTS_TRUST_ROOTS = [str(pki["ca"].root_pem)]
    return no_key


def _pdfsig(pki, pdf: bytes, tmp_path) -> str:
    path = tmp_path / f"doc-{time.monotonic_ns()}.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["pdfsig", "-nssdir", f"sql:{pki['nss']}", str(path)], capture_output=True, text=True,
                            timeout=60)
    return result.stdout + result.stderr


def _sign(**overrides) -> bytes:
    fields = {"reason": "Cấp giấy phép", "location": "Hưng Yên", "signer_name": "Nguyễn Văn An"} | overrides
    return pdf_sign(_blank_pdf(), **fields)


def test_pkcs12_signature_is_pades_valid_trusted_and_whole_file_for_pyhanko_and_pdfsig(with_pkcs12, pki, tmp_path):
    signed = _sign()

    check = pdf_signature_check(signed)
    assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (True, True, True, True)
    assert check.signer == SIGNER_CN and not check.timestamped
    assert abs(check.signed_at - datetime.now(UTC)) < timedelta(minutes=2)
    assert SIGNER_CN in check.summary

    signature = PdfReader(BytesIO(signed)).trailer["/Root"]["/AcroForm"]["/Fields"][0]["/V"]
    assert signature["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert (signature["/Reason"], signature["/Location"], signature["/Name"]) == (
        "Cấp giấy phép", "Hưng Yên", "Nguyễn Văn An")
    # The chain reaches a trust root, so its certificates are in the DSS of the signed revision (B-LT)
    assert "/DSS" in PdfReader(BytesIO(signed)).trailer["/Root"]

    report = _pdfsig(pki, signed, tmp_path)
    assert "Signature is Valid" in report, report
    assert "Certificate is Trusted" in report, report
    assert "Total document signed" in report, report
    assert "ETSI.CAdES.detached" in report


XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 pdf:Producer="LibreOffice 7.4" pdfaid:part="2" pdfaid:conformance="B"/>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def test_pdfa_metadata_stays_consistent_after_signing(with_pkcs12):
    """PDF/A wants Info's /Producer to equal XMP's pdf:Producer; pyHanko would make them differ."""
    from pypdf.generic import NameObject, StreamObject

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Producer": "LibreOffice 7.4"})
    stream = StreamObject()
    stream.set_data(XMP.encode())
    stream.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
    writer._root_object[NameObject("/Metadata")] = writer._add_object(stream)
    out = BytesIO()
    writer.write(out)

    signed = pdf_sign(out.getvalue(), reason="r", location="l", signer_name="s")
    reader = PdfReader(BytesIO(signed))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    xmp_producer = re.search(r'pdf:Producer(?:="([^"]*)"|>([^<]*)<)', xmp)
    assert reader.metadata["/Producer"] == (xmp_producer.group(1) or xmp_producer.group(2))
    assert re.search(r'pdfaid:part(?:="|>)2', xmp) and re.search(r'pdfaid:conformance(?:="|>)B', xmp)
    assert pdf_signature_check(signed).trusted


def test_one_byte_changed_is_not_intact_for_pyhanko_nor_pdfsig(with_pkcs12, pki, tmp_path):
    signed = _sign()
    tampered = bytearray(signed)
    position = signed.index(b"/MediaBox") + 2  # inside the signed byte range: the page's size
    tampered[position] ^= 0x01
    check = pdf_signature_check(bytes(tampered))
    assert check.signed and not check.intact and not check.trusted
    assert "changed" in check.summary
    report = _pdfsig(pki, bytes(tampered), tmp_path)
    assert "Signature is Valid" not in report and "Digest Mismatch" in report, report

    # One byte of the signature value itself: the CMS ends with it (the rest of /Contents is zero padding)
    contents = re.search(rb"/Contents <([0-9a-fA-F]+)>", signed)
    hex_position = contents.start(1) + len(contents.group(1).rstrip(b"0")) - 40
    broken = bytearray(signed)
    broken[hex_position:hex_position + 1] = b"0" if signed[hex_position:hex_position + 1] != b"0" else b"1"
    check = pdf_signature_check(bytes(broken))
    assert check.signed and not check.intact


def test_page_added_after_signing_is_intact_but_not_the_whole_file(with_pkcs12):
    signed = _sign()
    writer = PdfWriter(BytesIO(signed), incremental=True)
    writer.add_blank_page(595, 842)
    out = BytesIO()
    writer.write(out)
    check = pdf_signature_check(out.getvalue())
    assert check.signed and check.intact and not check.covers_whole_file
    assert "added" in check.summary


def test_signer_outside_the_trust_roots_is_intact_but_not_trusted(with_pkcs12, pki, tmp_path):
    with_pkcs12.DOCUMENTS_TRUST_ROOTS = []
    signed = _sign()
    check = pdf_signature_check(signed)
    assert check.signed and check.intact and check.covers_whole_file and not check.trusted
    assert "trusted authority" in check.summary
    # No trust root to build a path to, so no validation data either
    assert "/DSS" not in PdfReader(BytesIO(signed)).trailer["/Root"]


def test_signature_space_learnt_from_the_first_document_is_estimated_again_when_too_small(with_pkcs12):
    first = _sign()
    credential = signing._credential()
    (size_key, learnt), = credential.reserved_sizes.items()
    assert learnt == signing._contents_size(first) and learnt > 2000
    second = _sign()
    assert signing._contents_size(second) == learnt  # reused, not estimated again
    credential.reserved_sizes[size_key] = 1000  # far too small for a CMS with a certificate chain
    third = _sign()
    assert pdf_signature_check(third).trusted
    assert credential.reserved_sizes[size_key] == signing._contents_size(third) > 2000


def test_unsigned_and_garbage_inputs_say_so_without_raising(no_key):
    unsigned = pdf_signature_check(_blank_pdf())
    assert (unsigned.signed, unsigned.intact, unsigned.trusted) == (False, False, False)
    assert "no digital signature" in unsigned.summary
    for garbage in (b"", b"hello", b"%PDF-1.7\n" + os.urandom(2000), _blank_pdf()[:200]):
        check = pdf_signature_check(garbage)
        assert not check.signed and check.summary


def test_nothing_configured_raises_signing_unavailable(no_key):
    assert not signing.signing_configured()
    with pytest.raises(SigningUnavailable) as raised:
        _sign()
    assert str(raised.value) == "No signing key is configured for the agency."


def test_wrong_pkcs12_password_or_not_a_pdf_raise_signing_unavailable(with_pkcs12, pki):
    with_pkcs12.DOCUMENTS_SIGNING_PKCS12_PASSWORD = "wrong"
    with pytest.raises(SigningUnavailable, match="could not be read"):
        _sign()
    with_pkcs12.DOCUMENTS_SIGNING_PKCS12_PASSWORD = PKCS12_PASSWORD
    with pytest.raises(SigningUnavailable) as raised:
        pdf_sign(b"not a pdf", reason="r", location="l", signer_name="s")
    assert raised.value.retryable is False


def test_softhsm2_token_signs_and_both_validators_accept(with_token, pki, tmp_path):
    assert signing.signing_source() == "pkcs11"
    signed = _sign()
    check = pdf_signature_check(signed)
    assert (check.intact, check.trusted, check.covers_whole_file, check.signer) == (True, True, True, SIGNER_CN)
    report = _pdfsig(pki, signed, tmp_path)
    assert "Signature is Valid" in report and "Certificate is Trusted" in report, report


def test_softhsm2_token_signs_from_many_threads_at_once(with_token):
    """One PKCS#11 session per process shared by every thread (python-pkcs11 serialises the operations on it):
    24 documents signed by 8 threads at once each come back signed, intact, trusted and with their own content."""
    pdfs = [_blank_pdf(f"document {n}") for n in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        signed = list(pool.map(lambda pdf: pdf_sign(pdf, reason="r", location="l", signer_name="s"), pdfs))
    for n, document in enumerate(signed):
        check = pdf_signature_check(document)
        assert check.intact and check.trusted, n
        assert PdfReader(BytesIO(document)).metadata.title == f"document {n}"


def _sign_in_child(queue):
    try:
        document = _sign()
        queue.put(("ok", pdf_signature_check(document).trusted))
    except Exception as error:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(error)))


def test_softhsm2_token_still_signs_in_a_forked_child(with_token):
    """A prefork worker forks after the parent opened the token: the child initialises the module again."""
    assert pdf_signature_check(_sign()).trusted
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_sign_in_child, args=(queue,))
    child.start()
    outcome = queue.get(timeout=60)
    child.join(timeout=30)
    assert outcome == ("ok", True)
    assert pdf_signature_check(_sign()).trusted  # and the parent's session still works


def test_wrong_pin_or_absent_token_raise_signing_unavailable(with_token):
    with_token.DOCUMENTS_SIGNING_PKCS11_PIN = "000000"
    with pytest.raises(SigningUnavailable) as raised:
        _sign()
    assert str(raised.value) == "The agency's signing token refused the PIN."
    # Not tried on the token again: a real token locks after a few wrong PINs
    with pytest.raises(SigningUnavailable, match="refused the PIN") as again:
        _sign()
    assert "not tried again" in again.value.detail

    with_token.DOCUMENTS_SIGNING_PKCS11_PIN = TOKEN_PIN
    with_token.DOCUMENTS_SIGNING_PKCS11_TOKEN_LABEL = "no-such-token"
    with pytest.raises(SigningUnavailable, match="token is not available"):
        _sign()

    with_token.DOCUMENTS_SIGNING_PKCS11_TOKEN_LABEL = TOKEN_LABEL
    with_token.DOCUMENTS_SIGNING_PKCS11_MODULE = "/nonexistent/libpkcs11-module.so"
    with pytest.raises(SigningUnavailable, match="token is not available"):
        _sign()

    with_token.DOCUMENTS_SIGNING_PKCS11_MODULE = SOFTHSM_MODULE
    assert pdf_signature_check(_sign()).trusted  # the right PIN still works: the token was not locked


def test_local_tsa_timestamps_the_signature(with_pkcs12, tsa):
    with_pkcs12.DOCUMENTS_TSA_URL = tsa.url
    before = tsa.requests
    signed = _sign()
    assert tsa.requests > before
    check = pdf_signature_check(signed)
    assert check.timestamped and check.intact and check.trusted and check.covers_whole_file
    assert abs(check.signed_at - datetime.now(UTC)) < timedelta(minutes=2)


def test_timestamped_signature_stays_trusted_after_the_certificates_expire(with_pkcs12, tsa):
    """The test certificates live 90 days (the root a year): 400 days on, an untimestamped signature is no longer
    trusted, a timestamped one is (validated at its timestamp's time)."""
    plain = _sign()
    with_pkcs12.DOCUMENTS_TSA_URL = tsa.url
    stamped = _sign()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=400), tick=False):
        expired = pdf_signature_check(plain)
        assert expired.intact and not expired.trusted
        later = pdf_signature_check(stamped)
        assert later.intact and later.timestamped and later.trusted
        assert "time of the signature's timestamp" in later.summary


def test_tsa_outside_the_trust_roots_raises_signing_unavailable(with_pkcs12, pki):
    other_ca = TestCA(pki["dir"] / f"other-ca-{os.getpid()}-{time.monotonic_ns()}", "Another root")
    foreign = TimestampServer(other_ca.issue("Foreign TSA", timestamping=True), [other_ca.cert])
    try:
        with_pkcs12.DOCUMENTS_TSA_URL = foreign.url
        with pytest.raises(SigningUnavailable) as raised:
            _sign()
        assert str(raised.value) == "The timestamp server's certificate is not issued by a trusted authority."
        assert "DOCUMENTS_TRUST_ROOTS" in raised.value.detail
        with_pkcs12.DOCUMENTS_TRUST_ROOTS = [str(pki["ca"].root_pem), str(other_ca.root_pem)]
        assert pdf_signature_check(_sign()).timestamped
    finally:
        foreign.stop()


def test_tsa_down_raises_signing_unavailable_and_nothing_is_returned(with_pkcs12):
    with_pkcs12.DOCUMENTS_TSA_URL = f"http://127.0.0.1:{free_port()}/tsa"  # nobody listens there
    with_pkcs12.DOCUMENTS_TSA_TIMEOUT = 3
    with pytest.raises(SigningUnavailable) as raised:
        _sign()
    assert str(raised.value) == "The timestamp server could not be reached or gave no valid timestamp."
    assert raised.value.retryable


def _subject(cert: x509.Certificate, oid) -> str:
    return cert.subject.get_attributes_for_oid(oid)[0].value


def _validity(cert: x509.Certificate) -> tuple[datetime, datetime]:
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def test_the_demo_signs_its_2019_documents_within_its_certificate_and_they_validate_today(no_key, tmp_path,
                                                                                       monkeypatch):
    """The demo department signs each document under the clock of its day, from July 2019 (demo/): the demo
    certificates start before that (DEMO_VALID_FROM), whatever the clock when they are made, and the agency's lasts
    so that a 2019 signature still validates today without a timestamp. A demo CA made under the older rule (valid
    from the clock's day) is made again, once."""
    from documents import demo_ca

    no_key.DOCUMENTS_SIGNING_DEMO = True
    no_key.DOCUMENTS_DEMO_CA_DIR = str(tmp_path / "demo-ca")
    today = datetime.now(UTC)
    # As an earlier version made it: valid from the day it was made (here a test's clock in 2025).
    with monkeypatch.context() as patched:
        patched.setattr(demo_ca, "_validity_start", lambda: (datetime.now(UTC),) * 2)
        with time_machine.travel(datetime(2025, 1, 7, 8, 15, tzinfo=UTC), tick=False):
            old = demo_ca.demo_credentials()
    old_cert = pkcs12.load_key_and_certificates(old.pkcs12.read_bytes(), old.password)[1]
    assert _validity(old_cert)[0] > datetime(2025, 1, 1, tzinfo=UTC)

    signing_day = datetime(2019, 7, 1, 1, 45, tzinfo=UTC)  # the demo's first licence
    with time_machine.travel(signing_day, tick=False):
        signed = _sign()
        made = demo_ca.demo_credentials()
    _key, cert, [root] = pkcs12.load_key_and_certificates(made.pkcs12.read_bytes(), made.password)
    assert cert.serial_number != old_cert.serial_number  # made again
    start, end = _validity(cert)
    assert start <= demo_ca.DEMO_VALID_FROM < signing_day and end > today + timedelta(days=365 * 5)
    assert _validity(root)[0] <= start and _validity(root)[1] >= end
    check = pdf_signature_check(signed)
    assert check.intact and check.trusted and check.signed_at == signing_day  # today, by the root in demo mode
    assert start <= check.signed_at <= end

    # Made once: later signatures, under today's clock or the demo's, keep that certificate.
    stored = made.pkcs12.read_bytes()
    _sign()
    with time_machine.travel(datetime(2026, 3, 2, 2, 0, tzinfo=UTC), tick=False):
        _sign()
    assert demo_ca.demo_credentials() == made and made.pkcs12.read_bytes() == stored
    again = pkcs12.load_key_and_certificates(made.pkcs12.read_bytes(), made.password)[1]
    assert again.serial_number == cert.serial_number


def _demo_in_child(queue, start):
    from documents.demo_ca import demo_credentials

    start.wait(timeout=30)
    try:
        queue.put(("ok", demo_credentials().password.decode()))
    except Exception as error:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(error)))


def test_demo_ca_made_once_says_demo_and_signs_in_demo_mode(no_key, tmp_path):
    from documents.demo_ca import demo_credentials, demo_credentials_ensure

    no_key.DOCUMENTS_DEMO_CA_DIR = str(tmp_path / "demo-ca")
    # Four callers at once (web and worker starting together): one CA, one agency key
    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(lambda _n: demo_credentials(), range(4)))
    assert len({(m.pkcs12, m.password) for m in made}) == 1
    path = demo_credentials_ensure()
    assert path == made[0].pkcs12 and path.parent == tmp_path / "demo-ca"

    # Two processes at once, on a fresh directory (the file lock, not this process's memory, keeps them to one CA)
    no_key.DOCUMENTS_DEMO_CA_DIR = str(tmp_path / "demo-ca-2")
    context = multiprocessing.get_context("fork")
    queue, start = context.Queue(), context.Event()
    children = [context.Process(target=_demo_in_child, args=(queue, start)) for _n in range(2)]
    for child in children:
        child.start()
    start.set()
    answers = [queue.get(timeout=60) for _child in children]
    for child in children:
        child.join(timeout=30)
    assert answers[0] == answers[1] and answers[0][0] == "ok", answers
    assert demo_credentials().password.decode() == answers[0][1]
    no_key.DOCUMENTS_DEMO_CA_DIR = str(tmp_path / "demo-ca")
    stored = path.read_bytes()
    assert demo_credentials_ensure() == path and path.read_bytes() == stored  # reused, not made again
    assert oct((tmp_path / "demo-ca" / "agency.p12.password").stat().st_mode & 0o777) == "0o600"

    _key, cert, cas = pkcs12.load_key_and_certificates(stored, made[0].password)
    for certificate in (cert, *cas):
        assert "DEMO" in _subject(certificate, NameOID.ORGANIZATION_NAME)
        assert "DEMO" in _subject(certificate, NameOID.COMMON_NAME)
    root = x509.load_pem_x509_certificate(made[0].root.read_bytes())
    assert cert.issuer == root.subject

    no_key.DOCUMENTS_SIGNING_DEMO = True
    assert signing.signing_source() == "demo"
    signed = _sign()
    check = pdf_signature_check(signed)
    assert check.intact and check.trusted and check.covers_whole_file  # the demo root is trusted in demo mode
    assert "DEMO" in check.signer
    no_key.DOCUMENTS_SIGNING_DEMO = False  # outside demo mode, a demo signature is intact but trusted by nobody
    check = pdf_signature_check(signed)
    assert check.intact and not check.trusted
