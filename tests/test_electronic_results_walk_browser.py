"""Issue 15's "done means", walked in a browser on the embedded mode as `make run` gives it (SQLite, `load_demo`,
`manage.py runserver`, tasks in process): the head signs in, approves a licence the demo has waiting for the head's
decision, the signed PDF appears on the case page and is downloaded; the QR code on its first page (rendered by
pdftoppm, read by zbarimg) is the address of its verification page, which says it is valid; on /verify/, a copy
changed by one byte is refused and the untouched file is recognised as exact and intact.

The SQLite demo is built once per test process and shared with tests/test_settings_and_embedded_mode.py
(tests/support_demo.py); this test serves its own copy of it."""

import re

import pytest

from .conftest import wait_for
from .support_demo import qr_of_first_page

pytestmark = pytest.mark.xdist_group("embedded-demo")  # with the other test of the embedded demo: built once

HEAD = "lanhdao"
PASSWORD = "demo-sttt-2026"
PDF_LINK = re.compile(r"^/api/v1/licensing/documents/(\d+)/download/\?format=pdf$")


def _one_byte_changed(data: bytes) -> bytes:
    """The same file but for one byte: the binary marker on the PDF's second line (signed over like the rest; any
    reader still opens the file)."""
    at = data.index(b"\n%", 0, 64) + 2
    assert data[at] >= 0x80, data[:32]
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_the_head_approves_a_licence_and_its_signed_pdf_checks_out_by_its_qr_code_and_on_verify(
        served_demo, browser, tmp_path):
    base = served_demo
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", HEAD)
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{base}/")

    # A licence proposed for the head's decision, as the demo leaves some.
    page.goto(f"{base}/licensing/approvals/")
    proposals = page.locator("article.proposal:has(form[data-action='approve'])")
    assert proposals.count() >= 1, page.content()
    proposal = proposals.first
    case_path = proposal.locator("h2 a").get_attribute("href")
    assert re.fullmatch(r"/licensing/cases/\d+/", case_path), case_path
    case_id = case_path.rstrip("/").rsplit("/", 1)[1]
    proposal.locator("form[data-action='approve'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(f"#proposal-{case_id}").count() == 0  # decided: no longer waiting

    # The result is issued and signed by the tasks the server runs in process; the case page links its PDF.
    def signed_pdf_link():
        page.goto(f"{base}{case_path}")
        links = [link for link in page.locator("td a[href*='format=pdf']").all()
                 if PDF_LINK.match(link.get_attribute("href") or "")]
        return links[-1] if links else None

    link = wait_for(signed_pdf_link, timeout=120, interval=1.0, message="the signed PDF of the licence")
    code_link = link.locator("xpath=..").locator("a[href^='/verify/']")
    printed = code_link.inner_text().strip()  # the code as printed under the QR code
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}", printed), printed
    assert code_link.get_attribute("href") == f"/verify/{printed.replace('-', '')}/"
    verify_path = f"/verify/{printed}/"

    with page.expect_download() as downloaded:
        link.click()
    assert downloaded.value.suggested_filename.endswith(".pdf"), downloaded.value.suggested_filename
    pdf = tmp_path / "giay-phep.pdf"
    downloaded.value.save_as(pdf)
    signed = pdf.read_bytes()
    assert signed.startswith(b"%PDF-")

    # The QR code of its first page is the address of its verification page, which says it is valid.
    address = qr_of_first_page(pdf)
    assert address == f"{base}{verify_path}", address
    page.goto(address)
    assert page.locator("#status .badge.ok").count() == 1, page.locator("main").inner_html()
    assert page.locator("#status .badge.late, #status .badge.soon").count() == 0
    assert page.locator("#download").get_attribute("href") == f"{verify_path}pdf/"

    # On /verify/: a copy changed by one byte is not the document and its signature is broken.
    tampered = tmp_path / "giay-phep-sua.pdf"
    tampered.write_bytes(_one_byte_changed(signed))
    page.goto(f"{base}/verify/")
    page.set_input_files("#verify-pdf", str(tampered))
    page.locator("form.upload button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#match > p > .badge.late").count() == 1, page.locator("main").inner_html()
    assert page.locator("#match > p > .badge.ok, #status").count() == 0
    assert page.locator("#sig-intact").get_attribute("class") == "missing"

    # The untouched file is exactly the signed document, intact, and in force.
    page.goto(f"{base}/verify/")
    page.set_input_files("#verify-pdf", str(pdf))
    page.locator("form.upload button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#match > p > .badge.ok").count() == 1, page.locator("main").inner_html()
    assert page.locator("#match #status .badge.ok").count() == 1
    assert page.locator("#sig-intact").get_attribute("class") == "ok"
    assert page.locator("#sig-whole").get_attribute("class") == "ok"
    assert page.locator(f"#match a[href='{verify_path}']").count() == 1
    context.close()
