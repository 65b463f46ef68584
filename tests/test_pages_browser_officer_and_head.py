"""A real browser (Chromium through Playwright) against the live server and a real Celery worker:
an officer receives a dossier, asks for a supplement, resumes and proposes; the head approves; the worker
numbers and issues the licence, and the case page shows it."""

import io
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from cases.models import Case

from .conftest import wait_for
from .support_browser import SCREENS

playwright_sync = pytest.importorskip("playwright.sync_api")


TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}

# No skip when chromium is missing: .ci/run installs Debian's chromium, and a missing browser must fail loudly.
pytestmark = [pytest.mark.worker]




def sign_in(browser, live_server, user, *, viewport=TABLET):
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-test-1234")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")
    return page


def shoot(page, name: str) -> None:
    """The same page on a tablet and on a phone, whole length."""
    for label, viewport in (("tablet", TABLET), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENS / f"{name}-{label}.png"), full_page=True)
        # nothing may stick out sideways: the page scrolls only down
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} is {overflow}px too wide on a {label}"
    page.set_viewport_size(TABLET)


def menu(page, name: str):
    return page.locator("nav.menu").get_by_role("link", name=name)


def reload_until(page, predicate, *, timeout: float = 60.0, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
        page.reload()
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def action(page, name: str, note: str | None = None) -> None:
    """Take a workflow action from the case page's forms."""
    form = page.locator(f'form[data-action="{name}"]')
    if note is not None:
        page.locator(f'details:has(form[data-action="{name}"]) > summary').click()
        form.locator("textarea[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def layout_sample(tmp_path) -> Path:
    path = tmp_path / "ban-mau-trinh-bay.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (164, 22, 26)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.django_db(transaction=True)
def test_officer_and_head_take_a_bulletin_licence_from_receipt_to_issue(celery_worker, live_server, browser,
                                                                       officer, head, tmp_path):
    page = sign_in(browser, live_server, officer)

    # receive the dossier on the page
    menu(page, "Tiếp nhận hồ sơ").click()
    page.select_option("#id_procedure_choice", "bulletin")
    page.get_by_role("button", name="Chọn").click()
    page.fill("#id_org_name", "Trường Đại học Thái Bình")
    page.select_option("#id_org_kind", "school")
    page.fill("#id_org_email", "vanphong@tbu.example")
    for name, value in {"publisher": "Trường Đại học Thái Bình", "bulletin_name": "Bản tin Đại học Thái Bình",
                        "purpose": "Thông tin hoạt động đào tạo, nghiên cứu khoa học", "periodicity": "3 tháng/số",
                        "pages": "24", "copies": "500", "format": "19 x 27 cm",
                        "printing_place": "Công ty TNHH In Hoàng Long",
                        "responsible_person": "PGS.TS. Lê Văn Hòa"}.items():
        page.fill(f"#id_dossier_{name}", value)
    page.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    page.wait_for_url(re.compile(r"/licensing/cases/\d+/$"))
    reference = page.locator("h1").inner_text()
    case = Case.objects.get(reference=reference)
    assert "Đã tiếp nhận hồ sơ" in page.locator(".messages").inner_text()

    # the worker's intake assigns it to the only officer: it shows in the queue
    wait_for(lambda: Case.objects.get(pk=case.pk).intake_completed_at, message="the intake task")
    menu(page, "Hồ sơ của tôi").click()
    reload_until(page, lambda: page.locator("#my-cases").count() and reference in page.locator("#my-cases")
                 .inner_text(), message="the case in the officer's queue")
    assert "Cấp giấy phép xuất bản bản tin" in page.locator("#my-cases").inner_text()
    shoot(page, "queue")

    # open the case; the dossier lacks its layout sample
    page.get_by_role("link", name=reference).click()
    assert page.locator("#case-state").inner_text() == "Đã tiếp nhận"
    assert "Tên bản tin" in page.locator("#dossier").inner_text()
    assert "Hồ sơ chưa đầy đủ" in page.locator("#files").inner_text()

    action(page, "request_supplement", note="Đề nghị bổ sung bản mẫu trình bày bản tin.")
    assert page.locator("#case-state").inner_text() == "Chờ bổ sung hồ sơ"
    assert "Đề nghị bổ sung bản mẫu trình bày bản tin." in page.locator("#timeline").inner_text()

    # the supplement arrives: attach it, record it, propose to grant
    page.set_input_files("#id_file", str(layout_sample(tmp_path)))
    page.select_option("#id_kind", "layout_sample")
    page.get_by_role("button", name="Tải lên").click()
    page.wait_for_load_state()
    assert "Hồ sơ đầy đủ" in page.locator("#files").inner_text()
    action(page, "receive_supplement")
    assert page.locator("#case-state").inner_text() == "Đang thẩm định"
    shoot(page, "case")
    action(page, "propose_grant")
    assert page.locator("#case-state").inner_text() == "Đã trình lãnh đạo"
    assert "Đã thực hiện “Trình cấp phép”" in page.locator(".messages").inner_text()

    # the head, on a tablet, approves from the approval queue
    head_page = sign_in(browser, live_server, head)
    menu(head_page, "Chờ phê duyệt").click()
    card = head_page.locator(f"#proposal-{case.pk}")
    assert "Trình cấp phép" in card.inner_text()
    shoot(head_page, "approvals")
    card.locator('form[data-action="approve"] button').click()
    head_page.wait_for_load_state()
    assert "Đã thực hiện “Cấp giấy phép”" in head_page.locator(".messages").inner_text()
    assert head_page.locator(f"#proposal-{case.pk}").count() == 0

    # the worker numbers and issues the licence; the case page shows the number and the document
    head_page.goto(f"{live_server.url}/licensing/cases/{case.pk}/")
    assert head_page.locator("#case-state").inner_text() in {"Đã phê duyệt, đang phát hành kết quả",
                                                             "Đã trả kết quả"}
    reload_until(head_page, lambda: head_page.locator("#case-state").inner_text() == "Đã trả kết quả",
                 message="the worker to issue the licence")
    number = head_page.locator("#result-number").inner_text()
    assert re.fullmatch(r"01/GP-SVHTTDL", number)
    documents = head_page.locator("#documents")
    assert number in documents.inner_text()
    link = documents.get_by_role("link", name="Giấy phép")
    download = head_page.request.get(live_server.url + link.get_attribute("href"))
    assert download.status == 200 and download.body()[:2] == b"PK"
    shoot(head_page, "case-issued")

    # and the registry lists it
    menu(head_page, "Sổ giấy phép").click()
    assert number in head_page.locator("#permits").inner_text()
    shoot(head_page, "permits")
    page.context.close()
    head_page.context.close()
