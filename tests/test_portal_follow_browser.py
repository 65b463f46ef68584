"""A real browser on a phone-sized window (390 px): the print company's representative follows an online dossier
from their list, answers the supplement request with a file, finds the result once the head has decided, downloads
it (its electronic delivery, recorded once) and rates the handling. Nothing sticks out sideways, on the phone or on
a desktop."""

import pytest

from applicants.models import Rating, ResultDelivery
from cases import services as case_services
from cases.models import Case
from cases.workflow import State

from . import support_licensing as sl
from .support_browser import PHONE, signed_in
from .support_browser import no_sideways_scroll as _no_sideways_scroll
from .support_portal_follow import issued, online_received, representative_make

playwright_sync = pytest.importorskip("playwright.sync_api")

DESKTOP = {"width": 1280, "height": 900}
pytestmark = pytest.mark.django_db(transaction=True)


def no_sideways_scroll(page, name: str) -> None:
    _no_sideways_scroll(page, name, screens="portal-follow")


def test_follow_a_dossier_answer_its_supplement_download_the_result_and_rate_it_on_a_phone(
        browser, live_server, officer, head, tmp_path):
    rep = representative_make("print")
    submission = online_received(rep, officer, path=("start_review", "request_supplement"))
    page = signed_in(browser, live_server, rep, PHONE, accept_downloads=True)
    page.goto(f"{live_server.url}/portal/")
    page.wait_for_selector(f'[data-dossier="{submission.uuid}"][data-state="supplement"]')
    no_sideways_scroll(page, "list")
    page.locator(f'[data-dossier="{submission.uuid}"] a').first.click()
    page.wait_for_selector('#dossier[data-state="supplement"]')
    assert "giấy chứng nhận đăng ký doanh nghiệp" in page.inner_text("#supplement-request")
    assert page.locator("#dossier-paused").count() == 1
    no_sideways_scroll(page, "supplement-requested")

    plan = tmp_path / "so-do-mat-bang.pdf"
    plan.write_bytes(sl.pdf_bytes("So do mat bang noi dat may in"))
    page.select_option("#supplement-kind-1", "other")
    page.set_input_files("#supplement-file-1", str(plan))
    page.fill("#supplement-message", "Kính gửi sơ đồ mặt bằng theo yêu cầu.")
    page.locator("#supplement-send").click()
    page.wait_for_selector('#dossier[data-state="in_progress"]')
    assert page.locator(".messages li.success").count() == 1
    assert page.locator('#timeline [data-event="supplement_received"]').count() == 1
    no_sideways_scroll(page, "supplement-sent")
    case = Case.objects.get(pk=submission.case_id)
    assert case.state == State.IN_REVIEW and case.paused_at is None

    # The officers decide; the result is issued.
    case_services.case_transition(case_id=case.pk, actor=officer, action="propose_grant")
    case_services.case_transition(case_id=case.pk, actor=head, action="approve")
    document = issued(submission)
    page.reload()
    page.wait_for_selector('#dossier[data-state="result"]')
    assert page.locator('#timeline [data-event="result_issued"]').count() == 1
    no_sideways_scroll(page, "result")
    with page.expect_download() as download_info:
        page.locator(f'[data-download="{document.pk}"]').click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.suffix == ".docx" and saved.read_bytes()[:2] == b"PK"
    assert ResultDelivery.objects.filter(document=document, user=rep).count() == 1

    page.locator("#score-4").check()
    page.fill("#rating-comment", "Cán bộ hướng dẫn tận tình.")
    page.locator("#rating-send").click()
    page.wait_for_selector('#rating[data-score="4"]')
    no_sideways_scroll(page, "rated")
    rating = Rating.objects.get(case=case)
    assert (rating.score, rating.comment, rating.user_id) == (4, "Cán bộ hướng dẫn tận tình.", rep.pk)

    desktop = signed_in(browser, live_server, rep, DESKTOP, accept_downloads=True)
    desktop.goto(f"{live_server.url}/portal/dossiers/{submission.uuid}/")
    desktop.wait_for_selector('#rating[data-score="4"]')
    no_sideways_scroll(desktop, "rated-desktop")
