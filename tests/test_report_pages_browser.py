"""The periodic report in Chromium, from draft to issued, at a desktop's and a tablet's width: the office opens it
to the divisions, each division's writer writes and hands in its own section (seeing only its own form), the list
shows who still owes what, the office sends it to the head, who approves it, and the office issues it: the page
then shows the number and the preview prints it. Nothing sticks out sideways."""

import pytest

from .support_browser import SCREENS
from .support_reports import TEXTS, report_world
from .test_pages_browser_officer_and_head import sign_in


def no_overflow(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{overflow}px too wide"


def act(page, action: str) -> None:
    page.locator(f'form[data-action="{action}"] button').click()
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 768, "height": 1024}])
def test_a_report_goes_from_draft_to_issued_in_the_browser(viewport, live_server, browser):
    world = report_world()
    url = f"{live_server.url}/reports/documents/{world.report.pk}/"

    office = sign_in(browser, live_server, world.office, viewport=viewport)
    office.goto(f"{live_server.url}/reports/documents/")
    row = office.locator(f'tr[data-report="{world.report.pk}"]')
    assert row.get_attribute("data-state") == "report_draft"
    assert "Thanh tra Sở" in row.locator("td.owed").inner_text()
    no_overflow(office)
    row.locator("a").first.click()
    office.wait_for_url(url)
    act(office, "open_contributions")
    assert office.locator("#report").get_attribute("data-state") == "report_contributing"
    office.context.close()

    for code, text in TEXTS.items():
        writer = world.writers[world.report.sections.get(code=code).division.code]
        page = sign_in(browser, live_server, writer, viewport=viewport)
        page.goto(url)
        forms = page.locator("section.section-edit")
        codes = [forms.nth(i).get_attribute("data-section") for i in range(forms.count())]
        assert codes == [code]  # a writer sees the form of the own division's section only
        form = page.locator(f'section.section-edit[data-section="{code}"]')
        form.locator("textarea").fill(text)
        form.locator('button[name="submit"]').click()
        page.wait_for_load_state()
        assert page.locator(f'#owed li[data-section="{code}"]').count() == 0  # handed in
        no_overflow(page)
        if code == "I.2":
            page.screenshot(path=str(SCREENS / f"report-division-{viewport['width']}.png"), full_page=True)
        page.context.close()

    office = sign_in(browser, live_server, world.office, viewport=viewport)
    office.goto(url)
    assert office.locator("#owed li.none").count() == 1
    act(office, "submit_for_review")
    assert office.locator("#report").get_attribute("data-state") == "report_review"
    assert office.locator('form[data-action="approve_report"]').count() == 0  # the head approves
    office.context.close()

    head = sign_in(browser, live_server, world.head, viewport=viewport)
    head.goto(url)
    act(head, "approve_report")
    assert head.locator("#report").get_attribute("data-state") == "report_approved"
    head.context.close()

    office = sign_in(browser, live_server, world.office, viewport=viewport)
    office.goto(url)
    act(office, "issue_report")
    assert office.locator("#report").get_attribute("data-state") == "report_issued"
    assert "01/BC-SVHTTDL" in office.locator("h1").inner_text()
    preview = office.locator("#preview").inner_text()
    assert "Số: 01/BC-SVHTTDL" in preview and "Theo dõi thông tin báo chí trong quý." in preview
    assert office.locator("section.section-edit").count() == 0  # an issued report is not written any more
    no_overflow(office)
    office.screenshot(path=str(SCREENS / f"report-issued-{viewport['width']}.png"), full_page=True)
    with office.expect_download() as download:
        office.locator("#download-docx").click()
    assert download.value.suggested_filename == "bao-cao-2026-Q3.docx"
    office.context.close()
