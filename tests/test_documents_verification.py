"""What anyone may check about an issued document: the public /verify/ pages.

Signed out, a reader types the code printed under the QR code (or follows the QR code) and sees what the document
prints and whether it is still valid, revoked (by which decision, when) or replaced (by which document); an unknown
code says nothing about any document. A PDF sent to /verify/ is recognised when it is exactly a document the
service signed, and its signature is checked for real (documents.validation, pyHanko) against the demo CA's root:
one byte changed and it neither matches nor validates. Each test comes from its own made-up client address, so
that the throttle's counts (in the shared cache, which outlives a test) never reach another test.
"""

import hashlib
import io
import random
import re
import subprocess
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from agencies.models import Agency
from documents import services
from documents.codes import ALPHABET, code_format, code_generate, code_normalise
from documents.models import VerifiableDocument
from documents.qr import qr_png, qr_svg, verification_url
from documents.selectors import verifiable_by_sha256, verifiable_public, verifiable_signed_count

pytestmark = pytest.mark.django_db

HOLDER = "Cong ty TNHH In Hoang Long"  # ASCII: the test PDF prints it with a standard Type 1 font
KIND = "Giấy phép hoạt động in"


def random_address() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture
def visitor():
    """Someone who never signed in, from an address of their own."""
    return Client(REMOTE_ADDR=random_address())


@pytest.fixture
def agency():
    return Agency.objects.get(code="hung-yen-svhttdl")


@pytest.fixture(scope="session")
def demo_ca_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-ca")


@pytest.fixture
def demo_signing(settings, demo_ca_dir):
    """Signing and validation in the demo mode, with this process's own demo CA (made on first use)."""
    settings.DOCUMENTS_SIGNING_DEMO = True
    settings.DOCUMENTS_DEMO_CA_DIR = str(demo_ca_dir)
    settings.DOCUMENTS_SIGNING_PKCS11_MODULE = ""
    settings.DOCUMENTS_SIGNING_PKCS12 = ""
    settings.DOCUMENTS_TRUST_ROOTS = []
    settings.DOCUMENTS_TSA_URL = ""
    return settings


def pdf_printing(text: str) -> bytes:
    """A one-page PDF printing `text` (an uncompressed content stream, so that a test can change one letter;
    letters outside ASCII print as "?")."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 72 770 Td ({text}) Tj ET".encode("ascii", "replace"))
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def issued(agency, *, number="12/GP-SVHTTDL", holder=HOLDER, pdf: bytes | None = None, **extra):
    """A document issued as the services issue one: code reserved, then the signed PDF stored."""
    reserved = services.verifiable_reserve(issuer=agency, kind=KIND, number_text=number,
                                           issued_on=extra.pop("issued_on", date(2026, 11, 20)),
                                           subject=extra.pop("subject", "In xuất bản phẩm, bao bì"), holder=holder,
                                           **extra)
    pdf = pdf if pdf is not None else pdf_printing(f"GIAY PHEP {number} - {holder} - {reserved.code}")
    return services.verifiable_complete(code=reserved.code, pdf=pdf)


def signed_pdf(text: str) -> bytes:
    from documents.signing import pdf_sign

    return pdf_sign(pdf_printing(text), reason="Cấp giấy phép", location="Hưng Yên", signer_name="Nguyễn Văn An")


def main_text(response) -> str:
    html = response.content.decode()
    body = html.split("<main>", 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


# --- Codes ---------------------------------------------------------------------------------------------------


def test_codes_are_unique_random_and_read_back_however_they_are_typed():
    codes = {code_generate() for _ in range(5000)}
    assert len(codes) == 5000
    assert all(len(code) == 10 and set(code) <= set(ALPHABET) for code in codes)
    assert not set("ILOU") & set("".join(codes))  # the letters one misreads are never printed
    # every character of the alphabet turns up: drawn at random, not from a narrow pattern
    assert set("".join(codes)) == set(ALPHABET)

    assert code_format("7K3Q9XME2B") == "7K3Q-9XME-2B"
    for typed in ["7K3Q-9XME-2B", "7k3q-9xme-2b", " 7K3Q 9XME 2B ", "7K3Q9XME2B", "7k3q–9xme–2b"]:
        assert code_normalise(typed) == "7K3Q9XME2B"
    assert code_normalise("7K3O-9XME-2B") == "7K309XME2B"  # O read as zero
    assert code_normalise("1IL0-9XME-2B") == code_normalise("1110-9XME-2B") == "11109XME2B"
    for wrong in ["7K3Q-9XME-2", "7K3Q-9XME-2BB", "7K3Q-9XME-2U", "7K3Q/9XME/2B", "", None, "x" * 500]:
        assert code_normalise(wrong) is None


def test_each_reserved_document_gets_its_own_code_and_a_retry_finds_its_reservation(agency):
    first = services.verifiable_reserve(issuer=agency, kind=KIND, number_text="01/GP-SVHTTDL",
                                        issued_on=date(2026, 11, 2), reference="licensing.issueddocument:1")
    again = services.verifiable_reserve(issuer=agency, kind=KIND, number_text="01/GP-SVHTTDL",
                                        issued_on=date(2026, 11, 2), reference="licensing.issueddocument:1")
    other = services.verifiable_reserve(issuer=agency, kind=KIND, number_text="02/GP-SVHTTDL",
                                        issued_on=date(2026, 11, 2), reference="licensing.issueddocument:2")
    assert again.pk == first.pk and again.code == first.code
    assert other.code != first.code
    assert first.issuer_name == agency.name and first.issuer_parent_name == agency.parent_name
    assert verifiable_public(first.code) is None  # not public before its signed PDF exists

    pdf = pdf_printing("first signature")
    done = services.verifiable_complete(code=code_format(first.code).lower(), pdf=pdf)
    assert done.is_signed and verifiable_public(first.code) == done
    assert done.pdf.name.endswith(f"{first.code}.pdf")
    with done.pdf.open("rb") as handle:
        assert handle.read() == pdf
    # a retry that signed again keeps the PDF stored first: that one is the issued document
    retried = services.verifiable_complete(code=first.code, pdf=pdf_printing("second signature"))
    assert retried.sha256 == done.sha256 == verifiable_by_sha256(done.sha256).sha256
    assert VerifiableDocument.objects.filter(reference="licensing.issueddocument:1").count() == 1
    # the report's count of signed documents: the signed one, once; the reserved one not at all
    now = timezone.now()
    window = {"start": now - timedelta(hours=1), "end": now + timedelta(hours=1)}
    assert verifiable_signed_count(issuer_ids=[agency.pk], **window) == 1
    assert verifiable_signed_count(issuer_ids=[agency.pk], start=window["end"], end=window["end"] + timedelta(1)) == 0
    assert verifiable_signed_count(issuer_ids=[0], **window) == 0


@pytest.mark.django_db(transaction=True)
def test_two_attempts_of_one_issue_at_once_make_one_document_with_one_pdf():
    """Two workers running the same issue task at the same moment (a redelivered message): one row, and the PDF
    of whichever completed first stays the document for both."""
    from .support_concurrency import run_together

    agency = Agency.objects.get(code="hung-yen-svhttdl")

    def reserve():
        return services.verifiable_reserve(issuer=agency, kind=KIND, number_text="05/GP-SVHTTDL",
                                           issued_on=date(2026, 12, 2), reference="licensing.issueddocument:5")

    reserved = run_together([reserve] * 4)
    assert not [r for r in reserved if isinstance(r, BaseException)], reserved
    assert len({r.code for r in reserved}) == 1
    code = reserved[0].code
    completed = run_together([lambda n=n: services.verifiable_complete(code=code, pdf=pdf_printing(f"attempt {n}"))
                              for n in range(4)])
    assert not [r for r in completed if isinstance(r, BaseException)], completed
    assert len({r.sha256 for r in completed}) == 1
    stored = VerifiableDocument.objects.get(reference="licensing.issueddocument:5")
    with stored.pdf.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == stored.sha256 == completed[0].sha256
    assert VerifiableDocument.objects.filter(number_text="05/GP-SVHTTDL").count() == 1


# --- The page of a code --------------------------------------------------------------------------------------


def test_a_valid_document_shows_what_it_prints_to_someone_signed_out(visitor, agency):
    document = issued(agency, reference="licensing.issueddocument:77")
    url = f"/verify/{document.code_printed}/"
    response = visitor.get(url)
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    text = main_text(response)
    for printed in [agency.name, agency.parent_name, KIND, "12/GP-SVHTTDL", "20/11/2026", "In xuất bản phẩm, bao bì",
                    HOLDER, document.code_printed]:
        assert printed in text, printed
    assert 'class="badge ok"' in response.content.decode()
    # nothing the document does not print: no internal reference, no file path
    assert "licensing.issueddocument" not in response.content.decode()
    assert "documents/signed" not in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["X-Robots-Tag"] == "noindex, nofollow"  # holders' names stay out of search engines

    download = visitor.get(f"{url}pdf/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert f'filename="{document.code_printed}.pdf"' in download["Content-Disposition"]
    with document.pdf.open("rb") as handle:
        assert b"".join(download.streaming_content) == handle.read()

    # typed by hand: any case, no dashes, O for 0 — one redirect to the printed form
    typed = visitor.get(f"/verify/{document.code.lower()}/")
    assert typed.status_code == 301 and typed["Location"] == url
    form = visitor.get("/verify/", {"code": f"  {document.code_printed.lower()} "})
    assert form.status_code == 302 and form["Location"] == url


def test_a_revoked_document_says_by_which_decision_and_when(visitor, agency):
    document = issued(agency)
    services.verifiable_revoke(document=document.code_printed, note="Quyết định số 31/QĐ-SVHTTDL",
                               on=date(2026, 12, 1))
    # revoking again changes nothing (a retried task)
    services.verifiable_revoke(document=document, note="another note", on=date(2026, 12, 5))
    response = visitor.get(f"/verify/{document.code_printed}/")
    assert response.status_code == 200
    text = main_text(response)
    assert "Quyết định số 31/QĐ-SVHTTDL" in text and "01/12/2026" in text
    assert "another note" not in text and "05/12/2026" not in text
    assert 'class="badge late"' in response.content.decode()
    assert 'class="badge ok"' not in response.content.decode()


def test_a_replaced_document_leads_to_its_replacement(visitor, agency):
    old = issued(agency, number="12/GP-SVHTTDL")
    new = issued(agency, number="40/GP-SVHTTDL", issued_on=date(2026, 12, 2))
    services.verifiable_replace(old=old, new=new, note="Cấp lại do thay đổi địa chỉ", on=date(2026, 12, 2))
    services.verifiable_replace(old=old.code, new=new.code)  # repeated: nothing changes
    response = visitor.get(f"/verify/{old.code_printed}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(rf'<a href="/verify/{new.code_printed}/" id="replacement">40/GP-SVHTTDL \(02/12/2026\)</a>', html)
    assert "02/12/2026" in main_text(response) and "Cấp lại do thay đổi địa chỉ" in main_text(response)
    assert 'class="badge ok"' not in html
    replacement = visitor.get(f"/verify/{new.code_printed}/")
    assert 'class="badge ok"' in replacement.content.decode()

    with pytest.raises(services.DocumentStatusConflict):
        services.verifiable_replace(old=old, new=issued(agency, number="41/GP-SVHTTDL"))
    with pytest.raises(services.DocumentStatusConflict):
        services.verifiable_revoke(document=old, note="Quyết định số 32/QĐ-SVHTTDL")
    old.refresh_from_db()
    assert old.status == "replaced" and old.replaced_by == new


def test_an_unknown_code_is_a_404_that_says_nothing_about_any_document(visitor, agency):
    issued(agency, number="12/GP-SVHTTDL")
    reserved = services.verifiable_reserve(issuer=agency, kind="Giấy phép bí mật", number_text="99/GP-SVHTTDL",
                                           issued_on=date(2026, 12, 1), holder="Công ty Chưa Ký")
    unknown = code_format(code_generate())
    pages = {}
    for code in [unknown, reserved.code_printed]:
        response = visitor.get(f"/verify/{code}/")
        assert response.status_code == 404
        assert visitor.get(f"/verify/{code}/pdf/").status_code == 404
        pages[code] = response.content.decode().replace(code, "CODE")
    # a code reserved for a document not yet signed answers exactly as one that never existed
    assert pages[unknown] == pages[reserved.code_printed]
    page = pages[unknown]
    for secret in ["99/GP-SVHTTDL", "Công ty Chưa Ký", "Giấy phép bí mật", "12/GP-SVHTTDL", HOLDER, agency.name]:
        assert secret not in page
    assert '<html lang="vi">' in page and 'id="verify-code"' in page  # a Vietnamese page, with the form again
    assert visitor.get("/verify/not-a-code/").status_code == 404
    malformed = visitor.get("/verify/", {"code": "12345"})
    assert malformed.status_code == 400 and 'aria-invalid="true"' in malformed.content.decode()


# --- A PDF sent to be checked -------------------------------------------------------------------------------


def upload(client, data: bytes, name="giay-phep.pdf"):
    file = io.BytesIO(data)
    file.name = name
    return client.post("/verify/", {"pdf": file})


def test_the_stored_pdf_matches_and_one_byte_changed_neither_matches_nor_validates(visitor, agency, demo_signing):
    pdf = signed_pdf(f"GIAY PHEP 12/GP-SVHTTDL - {HOLDER}")
    document = issued(agency, pdf=pdf)

    exact = upload(visitor, pdf)
    assert exact.status_code == 200
    html, text = exact.content.decode(), main_text(exact)
    assert 'id="match"' in html and 'class="badge ok"' in html
    assert "12/GP-SVHTTDL" in text and HOLDER in text and document.code_printed in text
    check = exact.context["check"]
    assert check.signed and check.intact and check.trusted and check.covers_whole_file
    assert 'id="sig-intact"' in html and '<li class="ok" id="sig-intact">' in html

    # the holder's name changed by one letter, inside the signed bytes
    position = pdf.index(HOLDER.encode()) + len(HOLDER) - 1
    forged = pdf[:position] + b"h" + pdf[position + 1:]
    assert len(forged) == len(pdf) and sum(a != b for a, b in zip(pdf, forged, strict=True)) == 1
    changed = upload(visitor, forged)
    assert changed.status_code == 200
    html = changed.content.decode()
    assert changed.context["document"] is None
    assert "12/GP-SVHTTDL" not in main_text(changed)  # no document is named
    assert changed.context["check"].signed and not changed.context["check"].intact
    assert '<li class="missing" id="sig-intact">' in html


def test_an_unsigned_pdf_is_no_match_and_carries_no_signature(visitor, demo_signing):
    response = upload(visitor, pdf_printing("a PDF made elsewhere"))
    assert response.status_code == 200
    assert response.context["document"] is None and not response.context["check"].signed


def test_what_is_not_a_pdf_is_refused_with_a_readable_message(visitor, settings):
    png = qr_png("https://example.org/")
    response = upload(visitor, png, name="giay-phep.pdf")
    assert response.status_code == 400
    assert "upload_error" in response.context and response.context["upload_error"]
    assert 'id="verify-pdf-error"' in response.content.decode()

    damaged = upload(visitor, b"%PDF-1.7\n" + b"\x00garbage" * 100)
    assert damaged.status_code == 400
    assert damaged.context["upload_error"] == "Không đọc được tệp PDF: tệp bị hỏng hoặc không phải PDF."

    empty = upload(visitor, b"")
    assert empty.status_code == 400 and empty.context["upload_error"] == "Tệp rỗng."
    assert visitor.post("/verify/", {}).context["upload_error"] == "Chưa gửi tệp nào."

    settings.DOCUMENTS_VERIFY_UPLOAD_MAX_BYTES = 1000
    large = upload(visitor, pdf_printing("x" * 2000))
    assert large.status_code == 400 and large.context["upload_error"].startswith("Tệp lớn hơn")


# --- Throttling ----------------------------------------------------------------------------------------------


def test_lookups_and_uploads_are_throttled_per_address(agency, settings):
    settings.DOCUMENTS_VERIFY_LOOKUPS_PER_WINDOW = 3
    settings.DOCUMENTS_VERIFY_UPLOADS_PER_WINDOW = 2
    settings.DOCUMENTS_VERIFY_WINDOW_SECONDS = 120
    document = issued(agency)
    guesser, neighbour = Client(REMOTE_ADDR=random_address()), Client(REMOTE_ADDR=random_address())
    for _ in range(3):
        assert guesser.get(f"/verify/{code_format(code_generate())}/").status_code == 404
    refused = guesser.get(f"/verify/{document.code_printed}/")
    assert refused.status_code == 429
    assert 60 < int(refused["Retry-After"]) <= 120
    assert '<html lang="vi">' in refused.content.decode() and document.number_text not in refused.content.decode()
    assert guesser.get(f"/verify/{document.code_printed}/pdf/").status_code == 429
    # another address is not held back
    assert neighbour.get(f"/verify/{document.code_printed}/").status_code == 200

    for _ in range(2):
        assert upload(neighbour, b"not a pdf").status_code == 400
    assert upload(neighbour, b"not a pdf").status_code == 429
    assert neighbour.get("/verify/").status_code == 200  # the form itself is always there


# --- The QR code --------------------------------------------------------------------------------------------


def test_the_qr_code_decodes_to_the_verification_page(visitor, agency, settings, tmp_path):
    settings.DOCUMENTS_PUBLIC_BASE_URL = "https://dichvucong.example.gov.vn/"
    document = issued(agency)
    url = verification_url(document.code.lower())
    assert url == f"https://dichvucong.example.gov.vn/verify/{document.code_printed}/"
    image = tmp_path / "qr.png"
    image.write_bytes(qr_png(url))
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True,
                             timeout=30, check=True).stdout.strip()
    assert decoded == url
    assert visitor.get(url.removeprefix("https://dichvucong.example.gov.vn")).status_code == 200
    svg = qr_svg(url)
    assert svg.startswith("<svg") and "style" not in svg
    with pytest.raises(ValueError):
        verification_url("not a code")


# --- In a browser, on a phone and a laptop ----------------------------------------------------------------------


@pytest.fixture
def licence_signed(demo_signing):
    # Signed before the browser starts: Playwright's sync API keeps an event loop running in the test's thread,
    # and pyHanko's synchronous signing starts one of its own.
    return signed_pdf("GIAY PHEP 12/GP-SVHTTDL")


@pytest.mark.django_db(transaction=True)
def test_the_pages_read_on_a_phone_and_a_laptop_with_no_violation(licence_signed, live_server, browser, tmp_path):
    agency = Agency.objects.get(code="hung-yen-svhttdl")
    old = issued(agency, number="12/GP-SVHTTDL", pdf=licence_signed)
    with old.pdf.open("rb") as handle:
        (tmp_path / "giay-phep.pdf").write_bytes(handle.read())
    new = issued(agency, number="40/GP-SVHTTDL", holder="Công ty TNHH Một Thành Viên In và Thương mại Hoàng Long")
    services.verifiable_replace(old=old, new=new, note="Cấp lại do thay đổi tên doanh nghiệp")
    for width, height in [(390, 844), (1366, 900)]:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        page = context.new_page()
        problems = []
        # Chromium reports what the CSP blocked as console errors ("Refused to load/apply/execute ...").
        page.on("console", lambda message, problems=problems: "Refused to" in message.text
                and problems.append(message.text))
        page.on("pageerror", lambda error, problems=problems: problems.append(str(error)))
        page.goto(f"{live_server.url}/verify/")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{width}px: the form is {overflow}px wider than the screen"
        page.fill("#verify-code", old.code.lower())
        page.click("form.verify-code button[type=submit]")
        page.wait_for_url(f"{live_server.url}/verify/{old.code_printed}/")
        assert "12/GP-SVHTTDL" in page.locator("main").inner_text()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{width}px: {overflow}px wider than the screen"
        page.click("#replacement")
        page.wait_for_url(f"{live_server.url}/verify/{new.code_printed}/")
        assert "Hoàng Long" in page.locator("main").inner_text()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{width}px: {overflow}px wider than the screen"
        page.screenshot(path=f"/tmp/sttt-screens/verify-{width}.png", full_page=True)

        page.goto(f"{live_server.url}/verify/")
        page.set_input_files("#verify-pdf", str(tmp_path / "giay-phep.pdf"))
        page.click("form.upload button[type=submit]")
        page.wait_for_selector("#sig-summary")
        assert "12/GP-SVHTTDL" in page.locator("#match").inner_text()
        assert page.locator("#sig-intact.ok").count() == 1 and page.locator("#sig-trusted.ok").count() == 1
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{width}px: {overflow}px wider than the screen"
        page.screenshot(path=f"/tmp/sttt-screens/verify-result-{width}.png", full_page=True)
        assert not problems, problems
        context.close()


# --- The admin -----------------------------------------------------------------------------------------------


def test_the_admin_finds_a_document_by_its_printed_code_and_changes_nothing(client, agency):
    from .factories import UserFactory

    document = issued(agency)
    other = issued(agency, number="13/GP-SVHTTDL")
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    found = client.get("/admin/documents/verifiabledocument/", {"q": document.code_printed.lower()})
    assert found.status_code == 200
    assert list(found.context["cl"].result_list) == [document]
    by_number = client.get("/admin/documents/verifiabledocument/", {"q": "13/GP"})
    assert list(by_number.context["cl"].result_list) == [other]
    page = client.get(f"/admin/documents/verifiabledocument/{document.pk}/change/")
    assert page.status_code == 200 and document.sha256 in page.content.decode()
    assert 'name="status"' not in page.content.decode()  # read only: a status changes with its decision
    assert client.post(f"/admin/documents/verifiabledocument/{document.pk}/change/",
                       {"status": "revoked"}).status_code == 403
    assert client.get("/admin/documents/verifiabledocument/add/").status_code == 403
    document.refresh_from_db()
    assert document.status == "valid"
