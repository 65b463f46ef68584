"""Every outcome walked as its users would, in Chromium against the live server and a real worker, at a tablet's
width (768 px) and a desktop's (1366 px): grant, grant against a refusal proposal (the browser will not send it
without reasons), refusal against a grant proposal (an official letter in its own series), return to the officer,
withdrawal, supplement (clock paused and resumed), and a late case with its apology (new appointment, letter).
Nothing on any page sticks out sideways at either width."""

import re
from datetime import timedelta

import pytest

from cases import services as case_services
from cases.models import Case
from licensing import services as licensing_services

from .support_browser import no_sideways_scroll
from .support_licensing import APPLICANTS, dossier, required_upload
from .test_pages_browser_officer_and_head import action, reload_until, sign_in

pytestmark = [pytest.mark.worker]
WIDTHS = {"tablet": {"width": 768, "height": 1024}, "desktop": {"width": 1366, "height": 900}}


def received(officer, procedure="bulletin", name=""):
    """A dossier received at the counter with its required file, under review, assigned to `officer`."""
    organisation = {**APPLICANTS[procedure], **({"name": name, "tax_code": ""} if name else {})}
    case, _ = licensing_services.application_receive(actor=officer, procedure=procedure, fields=dossier(procedure),
                                                     organisation=organisation)
    kind, upload = required_upload(procedure)
    case_services.attachment_add(case_id=case.pk, actor=officer, upload=upload, kind=kind)
    case_services.case_assign(case_id=case.pk, actor=None, assignee=officer)
    case_services.case_transition(case_id=case.pk, actor=officer, action="start_review")
    return case


def open_case(page, live_server, case):
    page.goto(f"{live_server.url}/licensing/cases/{case.pk}/")
    return page.locator("#case-state").inner_text()


def state(case) -> str:
    return Case.objects.get(pk=case.pk).state


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_outcome_through_the_pages(width, celery_worker, live_server, browser, officer, head):
    viewport = WIDTHS[width]
    grant = received(officer, name="Trường THPT Bắc Duyên Hà")
    against_refusal = received(officer, name="Trường THPT Nam Tiền Hải")
    against_grant = received(officer, "printing_licence", name="Công ty TNHH In Sao Mai")
    returned = received(officer, name="Trường THCS Kiến Xương")
    withdrawn = received(officer, name="Trường Tiểu học Vũ Thư")
    supplement = received(officer, name="Trường Mầm non Hoa Sen")
    late = received(officer, name="Trường THPT Quỳnh Côi")
    Case.objects.filter(pk=late.pk).update(due_at=late.received_at - timedelta(hours=2))  # its due date has passed

    desk = sign_in(browser, live_server, officer, viewport=viewport)
    # The officer's queue: every case, the late one first and marked.
    desk.goto(f"{live_server.url}/licensing/")
    rows = desk.locator("#my-cases tbody tr")
    assert late.reference in rows.first.inner_text() and "Quá hạn" in rows.first.inner_text()
    no_sideways_scroll(desk, f"the queue at {width}")

    # The officer proposes: a grant, a refusal, and a grant the head will refuse.
    open_case(desk, live_server, grant)
    action(desk, "propose_grant")
    open_case(desk, live_server, against_refusal)
    action(desk, "propose_refusal", note="Tên bản tin trùng với bản tin đã cấp phép.")
    open_case(desk, live_server, against_grant)
    action(desk, "propose_grant")
    open_case(desk, live_server, returned)
    action(desk, "propose_grant")
    no_sideways_scroll(desk, f"the case page at {width}")

    # Withdrawal at the applicant's request.
    open_case(desk, live_server, withdrawn)
    action(desk, "withdraw", note="Nhà trường có văn bản xin rút hồ sơ.")
    assert desk.locator("#case-state").inner_text() == "Đã rút hồ sơ" and state(withdrawn) == "withdrawn"

    # A supplement pauses the clock; its receipt resumes it.
    open_case(desk, live_server, supplement)
    action(desk, "request_supplement", note="Bổ sung bản mẫu trình bày có chữ ký.")
    assert desk.locator("#case-state").inner_text() == "Chờ bổ sung hồ sơ"
    assert "Bổ sung bản mẫu trình bày có chữ ký." in desk.locator("#timeline").inner_text()
    action(desk, "receive_supplement")
    assert desk.locator("#case-state").inner_text() == "Đang thẩm định"

    # Late: the officer apologises with a new appointment date; the slip is written by the worker.
    open_case(desk, live_server, late)
    desk.locator('details:has(form[data-action="apologise_late"]) > summary').click()
    form = desk.locator('form[data-action="apologise_late"]')
    form.locator("input[name=new_due_at]").fill("2099-01-05T10:00")
    form.locator("textarea[name=note]").fill("Chờ ý kiến của Cục Báo chí.")
    form.locator("button[type=submit]").click()
    desk.wait_for_load_state()
    assert "05/01/2099" in desk.locator("#timeline").inner_text()
    reload_until(desk, lambda: "Phiếu xin lỗi" in desk.locator("#documents").inner_text()
                 or "xin lỗi" in desk.locator("#documents").inner_text().lower(),
                 message="the apology slip")

    # The head decides on the approvals page.
    chair = sign_in(browser, live_server, head, viewport=viewport)
    chair.goto(f"{live_server.url}/licensing/approvals/")
    no_sideways_scroll(chair, f"the approvals page at {width}")
    card = chair.locator(f"#proposal-{grant.pk}")
    assert card.locator('form[data-action="approve"] button').inner_text() == "Cấp giấy phép"
    card.locator('form[data-action="approve"] button').click()
    chair.wait_for_load_state()
    assert "Đã thực hiện “Cấp giấy phép”" in chair.locator(".messages").inner_text()

    # Against a refusal proposal: the button says so, and the browser will not send it without reasons.
    card = chair.locator(f"#proposal-{against_refusal.pk}")
    summary = card.locator('details:has(form[data-action="approve"]) > summary')
    assert summary.inner_text() == "Cấp giấy phép (khác đề xuất)"
    summary.click()
    card.locator('form[data-action="approve"] button').click()
    assert state(against_refusal) == "proposed"  # the required reasons stopped it in the browser
    card.locator('form[data-action="approve"] textarea[name=note]').fill("Đã kiểm tra: không trùng tên.")
    card.locator('form[data-action="approve"] button').click()
    chair.wait_for_load_state()

    # Against a grant proposal: a refusal with reasons.
    card = chair.locator(f"#proposal-{against_grant.pk}")
    card.locator('details:has(form[data-action="refuse"]) > summary').click()
    assert card.locator('details:has(form[data-action="refuse"]) > summary').inner_text() == "Từ chối (khác đề xuất)"
    card.locator('form[data-action="refuse"] textarea[name=note]').fill("Thiết bị in chưa rõ nguồn gốc.")
    card.locator('form[data-action="refuse"] button').click()
    chair.wait_for_load_state()

    # Return to the officer.
    card = chair.locator(f"#proposal-{returned.pk}")
    card.locator('details:has(form[data-action="return_for_review"]) > summary').click()
    card.locator('form[data-action="return_for_review"] textarea[name=note]').fill("Làm rõ số lượng phát hành.")
    card.locator('form[data-action="return_for_review"] button').click()
    chair.wait_for_load_state()
    assert "Trả lại chuyên viên" in chair.locator(".messages").inner_text()
    assert state(returned) == "in_review"

    # The worker writes the results; the case pages show them as the head and the officer read them.
    for case, expected in ((grant, "issued"), (against_refusal, "issued"), (against_grant, "refused")):
        open_case(chair, live_server, case)
        reload_until(chair, lambda e=expected, c=case: state(c) == e and chair.locator("#documents a").count(),
                     message=f"the result of {case.reference}")
        no_sideways_scroll(chair, f"the decided case page at {width}")
    open_case(chair, live_server, against_refusal)
    assert chair.locator("#case-state").inner_text() == "Đã trả kết quả"
    assert "Lý do: Đã kiểm tra: không trùng tên." in chair.locator("#against-proposal").inner_text()
    assert re.fullmatch(r"\d{2}/GP-SVHTTDL", chair.locator("#result-number").inner_text())
    open_case(chair, live_server, against_grant)
    assert chair.locator("#case-state").inner_text() == "Từ chối"
    reload_until(chair, lambda: "/SVHTTDL-QLBCXB" in chair.locator("#documents").inner_text(),
                 message="the refusal letter")

    # The officer sees the returned case back in review, with the head's reasons on its timeline.
    open_case(desk, live_server, returned)
    assert desk.locator("#case-state").inner_text() == "Đang thẩm định"
    assert "Làm rõ số lượng phát hành." in desk.locator("#timeline").inner_text()
    desk.context.close()
    chair.context.close()
