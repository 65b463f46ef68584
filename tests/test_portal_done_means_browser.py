"""Issue 16's "Done means", walked in Debian's Chromium on the embedded mode as `make run` gives it (SQLite,
`load_demo`, `manage.py runserver`, tasks in process): `doanhnghiep1` signs in on a phone-sized window (390 px),
submits a printing-licence dossier with its file, and follows it to its result while the officers process it on
their own pages at desktop width: an officer receives it from the online queue, the officer in charge asks for a
supplement, the applicant answers it on the phone, the officer proposes a grant, the head approves, and the
applicant downloads the signed licence and rates the handling. Then the other outcomes an applicant meets: a
dossier refused before receipt (with its signed refusal slip, whose QR code leads to a valid verification page)
and a dossier withdrawn by the applicant before receipt. Nothing sticks out sideways on the phone."""

import re
import sqlite3
import subprocess

import pytest

from . import support_licensing as sl
from .conftest import wait_for
from .support_browser import PHONE
from .support_browser import no_sideways_scroll as _no_sideways_scroll
from .support_demo import qr_of_first_page
from .test_pages_browser_officer_and_head import action

pytestmark = pytest.mark.xdist_group("embedded-demo")  # with the other tests of the embedded demo: built once

PASSWORD = "demo-sttt-2026"
DESKTOP = {"width": 1366, "height": 900}
APPLICANT = "doanhnghiep1"
RECEIVING_OFFICER = "canbo1"
HEAD = "lanhdao"


def _context(browser, viewport):
    context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  accept_downloads=True, service_workers="block")
    context.set_default_timeout(30_000)
    return context


def no_sideways_scroll(page, name: str) -> None:
    _no_sideways_scroll(page, name, screens="portal-done")


def applicant_signed_in(browser, base):
    page = _context(browser, PHONE).new_page()
    page.goto(f"{base}/portal/accounts/login/")
    page.fill("#id_username", APPLICANT)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/portal/")
    return page


def officer_signed_in(browser, base, username: str):
    page = _context(browser, DESKTOP).new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/")
    return page


def submit_printing_licence(page, base, tmp_path, facility: str) -> str:
    """Fill and submit a printing-licence dossier with its equipment papers on the phone; returns its uuid."""
    page.goto(f"{base}/portal/dossiers/new/")
    page.locator("#start-printing_licence").click()
    page.wait_for_selector("#submission-form")
    uuid = re.search(r"/portal/dossiers/drafts/([0-9a-f-]{36})/", page.url).group(1)
    fields = sl.dossier("printing_licence")
    page.fill("#id_dossier_facility_name", facility)
    page.fill("#id_dossier_facility_address", fields["facility_address"])
    page.fill("#id_dossier_owner", fields["owner"])
    page.fill("#id_dossier_equipment", "Máy in offset Heidelberg SM 74 | 2")
    page.fill("#id_dossier_products", fields["products"])
    scan = tmp_path / f"giay-to-thiet-bi-{uuid[:8]}.png"
    scan.write_bytes(sl.png_bytes())
    page.set_input_files("#id_file_equipment_documents", str(scan))
    page.check("#id_declaration")
    page.locator("#submit-dossier").click()
    page.wait_for_selector('#submission[data-state="submitted"]')
    return uuid


def case_assignee(sqlite_path, case_id: int) -> str | None:
    """The officer in charge of the case, read from the embedded database the server writes."""
    with sqlite3.connect(sqlite_path) as db:
        row = db.execute("SELECT u.username FROM cases_case c JOIN auth_user u ON u.id = c.assignee_id "
                         "WHERE c.id = ?", (case_id,)).fetchone()
    return row[0] if row else None


def signature_valid(path) -> None:
    report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    assert "Signature is Valid" in report.stdout + report.stderr, report.stdout + report.stderr


def test_doanhnghiep1_submits_on_a_phone_and_follows_the_dossier_to_its_signed_licence_while_officers_work(
        served_demo, embedded_demo, browser, tmp_path):  # noqa: F811
    base = served_demo
    phone = applicant_signed_in(browser, base)
    no_sideways_scroll(phone, "home")
    uuid = submit_printing_licence(phone, base, tmp_path, "Công ty TNHH In Hoàng Long - Xưởng in số 2")
    no_sideways_scroll(phone, "submitted")

    # An officer receives it from the online queue: the case begins and its officer in charge is chosen.
    desk = officer_signed_in(browser, base, RECEIVING_OFFICER)
    desk.goto(f"{base}/online/")
    desk.locator(f'tr[data-submission="{uuid}"] a').click()
    desk.locator("#receive").click()
    desk.wait_for_url(re.compile(rf"{re.escape(base)}/licensing/cases/\d+/"))
    case_id = int(re.search(r"/licensing/cases/(\d+)/", desk.url).group(1))
    in_charge = wait_for(lambda: case_assignee(embedded_demo.sqlite, case_id), timeout=30,
                         message="the intake to choose the officer in charge")
    if in_charge != RECEIVING_OFFICER:
        desk = officer_signed_in(browser, base, in_charge)
    case_url = f"{base}/licensing/cases/{case_id}/"

    # The applicant sees it received, with its code and the appointment date; the receipt slip is theirs.
    phone.goto(f"{base}/portal/dossiers/{uuid}/")
    phone.wait_for_selector('#dossier[data-state="in_progress"]')
    reference = phone.inner_text("#dossier-reference")
    assert re.fullmatch(r"[A-Z]+-\d{4}-\d{5}", reference), reference
    assert phone.locator("#dossier-due").count() == 1
    assert phone.locator('#documents [data-kind="receipt"]').count() == 1
    no_sideways_scroll(phone, "received")

    # The officer in charge reviews and asks for a supplement on the case page.
    desk.goto(case_url)
    action(desk, "start_review")
    action(desk, "request_supplement", note="Đề nghị bổ sung sơ đồ mặt bằng nơi đặt máy in.")
    assert desk.locator("#case-state").inner_text() == "Chờ bổ sung hồ sơ"

    # The applicant answers it on the phone; the clock resumes.
    phone.reload()
    phone.wait_for_selector('#dossier[data-state="supplement"]')
    assert "sơ đồ mặt bằng" in phone.inner_text("#supplement-request")
    assert phone.locator("#dossier-paused").count() == 1
    no_sideways_scroll(phone, "supplement-requested")
    plan = tmp_path / "so-do-mat-bang.pdf"
    plan.write_bytes(sl.pdf_bytes("So do mat bang noi dat may in"))
    phone.select_option("#supplement-kind-1", "other")
    phone.set_input_files("#supplement-file-1", str(plan))
    phone.fill("#supplement-message", "Kính gửi sơ đồ mặt bằng theo yêu cầu.")
    phone.locator("#supplement-send").click()
    phone.wait_for_selector('#dossier[data-state="in_progress"]')
    assert phone.locator('#timeline [data-event="supplement_received"]').count() == 1

    # The officer sees the file and proposes a grant; the head approves on the approvals page.
    desk.goto(case_url)
    assert desk.locator("#case-state").inner_text() == "Đang thẩm định"
    assert "so-do-mat-bang.pdf" in desk.content()
    action(desk, "propose_grant")
    head = officer_signed_in(browser, base, HEAD)
    head.goto(f"{base}/licensing/approvals/")
    head.locator(f"#proposal-{case_id} form[data-action='approve'] button[type=submit]").click()
    head.wait_for_load_state()
    assert head.locator(f"#proposal-{case_id}").count() == 0

    # The applicant finds the result, signed, and downloads it (its electronic delivery).
    def signed_result():
        phone.goto(f"{base}/portal/dossiers/{uuid}/")
        link = phone.locator('#documents [data-kind="permit"] a[data-download]')
        return link if link.count() == 1 and "PDF" in link.inner_text() else None

    link = wait_for(signed_result, timeout=120, interval=1.0, message="the signed licence on the dossier page")
    assert phone.get_attribute("#dossier", "data-state") == "result"
    assert phone.locator('#timeline [data-event="result_issued"]').count() == 1
    no_sideways_scroll(phone, "result")
    with phone.expect_download() as downloaded:
        link.click()
    pdf = tmp_path / "giay-phep.pdf"
    downloaded.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    signature_valid(pdf)

    # And rates the handling.
    phone.goto(f"{base}/portal/dossiers/{uuid}/")
    phone.locator("#score-5").check()
    phone.fill("#rating-comment", "Hồ sơ được xử lý nhanh, cán bộ hướng dẫn rõ ràng.")
    phone.locator("#rating-send").click()
    phone.wait_for_selector('#rating[data-score="5"]')
    no_sideways_scroll(phone, "rated")

    # The officers' queue of online dossiers no longer lists it.
    desk.goto(f"{base}/online/")
    assert desk.locator(f'tr[data-submission="{uuid}"]').count() == 0


def test_doanhnghiep1_is_refused_before_receipt_with_a_signed_slip_and_withdraws_another_dossier(
        served_demo, browser, tmp_path):  # noqa: F811
    base = served_demo
    phone = applicant_signed_in(browser, base)
    refused = submit_printing_licence(phone, base, tmp_path, "Xưởng in Hoàng Long - Chi nhánh Hà Nội")

    reasons = "Cơ sở in đặt tại Hà Nội: hồ sơ nộp tại Sở Văn hóa và Thể thao Hà Nội, không thuộc thẩm quyền của Sở."
    desk = officer_signed_in(browser, base, RECEIVING_OFFICER)
    desk.goto(f"{base}/online/{refused}/")
    desk.fill("#reasons-refuse", reasons)
    desk.locator("#refuse").click()
    desk.wait_for_url(f"{base}/online/")

    # The applicant reads why, and downloads the signed refusal slip once it is made.
    def slip_signed():
        phone.goto(f"{base}/portal/dossiers/{refused}/")
        return phone.get_attribute("#refusal-slip", "data-format") == "pdf"

    wait_for(slip_signed, timeout=120, interval=1.0, message="the signed refusal slip")
    assert phone.get_attribute("#dossier", "data-state") == "not_received"
    assert reasons in phone.inner_text("#dossier-reasons")
    no_sideways_scroll(phone, "not-received")
    with phone.expect_download() as downloaded:
        phone.locator("#refusal-slip-download").click()
    slip = tmp_path / "phieu-tu-choi.pdf"
    downloaded.value.save_as(slip)
    signature_valid(slip)
    address = qr_of_first_page(slip)
    assert address.startswith(f"{base}/verify/"), address
    phone.goto(address)
    assert phone.locator("#status .badge.ok").count() == 1, phone.locator("main").inner_html()
    assert reasons not in phone.content()  # the public page shows what the slip prints on top, not the dossier
    no_sideways_scroll(phone, "refusal-verified")

    # Another dossier, submitted and then withdrawn by the applicant before any officer received it.
    withdrawn = submit_printing_licence(phone, base, tmp_path, "Xưởng in Hoàng Long - Kho Tiền Phong")
    phone.on("dialog", lambda dialog: dialog.accept())
    phone.locator("#withdraw").click()
    phone.wait_for_selector('[data-state="withdrawn"]')
    no_sideways_scroll(phone, "withdrawn")
    desk.goto(f"{base}/online/")
    assert desk.locator(f'tr[data-submission="{withdrawn}"]').count() == 0
    phone.goto(f"{base}/portal/")
    assert phone.get_attribute(f'[data-dossier="{withdrawn}"]', "data-state") == "withdrawn"
    assert phone.get_attribute(f'[data-dossier="{refused}"]', "data-state") == "not_received"
