"""The reporter, in Chromium: the home page leads to the quarterly report, which opens on the last ended quarter
with data; its I.5 number is the licence issued in that quarter (not the grant still waiting for its document), and
the number opens the case behind it. At a desktop's and a tablet's width."""

from datetime import datetime

import pytest
import time_machine

from cases import services as case_services
from licensing import services as licensing_services
from reports.services import figures_rebuild, quarters_freeze

from .support_licensing import HCM, applicant, application_received, required_upload
from .test_pages_browser_officer_and_head import sign_in


def granted(officer, head, *, issue: bool, name: str):
    case = application_received(officer, "bulletin", organisation=applicant("bulletin", name=name, tax_code=""))
    kind, upload = required_upload("bulletin")
    case_services.attachment_add(case_id=case.pk, actor=officer, upload=upload, kind=kind)
    for actor, action in ((officer, "start_review"), (officer, "propose_grant"), (head, "approve")):
        case_services.case_transition(case_id=case.pk, actor=actor, action=action)
    if issue:
        licensing_services.result_issue(case_id=case.pk)
    return case


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 768, "height": 1024}])
def test_the_reporter_reads_the_last_ended_quarter_and_opens_the_case_behind_a_number(
        viewport, live_server, browser, officer, head, reporter):
    with time_machine.travel(datetime(2026, 8, 10, 9, 0, tzinfo=HCM), tick=False):
        issued = granted(officer, head, issue=True, name="Trường THPT Đông Thụy Anh")
        waiting = granted(officer, head, issue=False, name="Trường THPT Tây Thụy Anh")
    figures_rebuild()
    quarters_freeze()

    page = sign_in(browser, live_server, reporter, viewport=viewport)
    page.locator("main").get_by_role("link", name="Báo cáo quý").click()  # the home page links to the work
    page.wait_for_url(f"{live_server.url}/reports/quarterly/")
    assert page.locator("#id_quarter option:checked").inner_text() == "Quý III/2026"  # the last ended quarter
    row = page.locator("#procedure-results tr", has_text="Cấp giấy phép xuất bản bản tin")
    number = row.locator("td.num a").first
    assert number.inner_text() == "01"  # the issued licence; the grant without its document is not counted
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    number.click()
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert issued.reference in text and waiting.reference not in text
    page.context.close()
