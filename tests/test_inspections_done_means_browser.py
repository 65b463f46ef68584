"""Issue 17's "Done means", in Debian's Chromium against a live server and a real Celery worker: `truongdoan`
(inspection lead, 1366 px) plans a campaign from the registry and announces it (the decision document appears);
`thanhtra1` records findings on the tablet page (768 px), a violation among them; the lead reviews them (accepts),
writes the violation record with a provision of the sanctions catalogue, decides the sanction with a fine from
its range (one outside it refused first, the value kept), records the follow-up done, concludes the campaign (the
conclusion document appears) and closes it: all on pages."""

import re

import pytest
from django.utils import timezone

from agencies.models import Agency
from cases import roles as r
from inspections.models import Campaign, Document, Finding, FollowUp, SanctionDecision, ViolationRecord

from .factories import UserFactory
from .support_browser import SCREENS, no_sideways_scroll
from .support_inspections import checklists_load, items_of, shop
from .support_sanctions import provision_make
from .test_inspections_field_tablets_browser import synced, tablet
from .test_pages_browser_officer_and_head import reload_until

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

OFFICE = {"width": 1366, "height": 900}


def office(browser, live_server, user):
    context = browser.new_context(viewport=OFFICE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  service_workers="block")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-test-1234")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def document_listed(page, campaign, kind: str) -> bool:
    document = Document.objects.filter(campaign=campaign, kind=kind).first()
    return document is not None and page.locator(
        f"a[href='/campaigns/{campaign.pk}/documents/{document.pk}/']").count() > 0


@pytest.mark.django_db(transaction=True)
def test_plan_announce_field_review_violation_sanction_follow_up_conclude_and_close(celery_worker, live_server,
                                                                                   browser):
    checklists_load()
    culture = Agency.objects.get(code="hung-yen-svhttdl")
    lead = UserFactory(username="truongdoan", first_name="Lê Văn", last_name="Thành", roles=[r.INSPECTION_LEAD],
                       agencies=[culture])
    inspector = UserFactory(username="thanhtra1", first_name="Đỗ Thị", last_name="Hoa", roles=[r.INSPECTOR],
                            agencies=[culture])
    printer = shop(1, agency=culture, name="Cơ sở in Hưng Long", address="Số 3 Chùa Chuông, Phường Phố Hiến")
    other = shop(2, agency=culture)
    provision = provision_make()  # organisation: 10–20 million đồng

    # --- the lead plans from the registry and announces -------------------------------------------------------
    context, page = office(browser, live_server, lead)
    page.goto(f"{live_server.url}/campaigns/new/")
    page.select_option("#id_type", "printing")
    page.locator("#plan-type button[type=submit]").click()
    page.locator(f"#target-{other.pk}").uncheck()
    expect(page.locator(f"#target-{printer.pk}")).to_be_checked()
    page.fill("#id_title", "Kiểm tra hoạt động in tại Phố Hiến")
    page.fill("#id_legal_basis", "Luật Xuất bản 2012; Nghị định 60/2014/NĐ-CP")
    today = timezone.localdate().isoformat()
    page.fill("#id_period_start", today)
    page.fill("#id_period_end", today)
    page.select_option("#id_lead", str(lead.pk))
    page.locator(f"#members input[value='{inspector.pk}']").check()
    page.locator("#plan-submit").click()
    page.wait_for_selector("#campaign-state[data-state='planned']")
    campaign = Campaign.objects.get()
    target = campaign.targets.get()
    assert target.establishment_id == printer.pk
    page.locator("#action-announce").click()
    page.wait_for_selector("#campaign-state[data-state='announced']")
    campaign.refresh_from_db()
    expect(page.locator("#decision-number")).to_contain_text(campaign.decision_number_text)
    reload_until(page, lambda: document_listed(page, campaign, Document.Kind.DECISION),
                 message="the decision document on the campaign page")
    page.screenshot(path=str(SCREENS / "done-means-1-announced-1366.png"), full_page=True)
    page.locator("#action-start_fieldwork").click()
    page.wait_for_selector("#campaign-state[data-state='in_field']")

    # --- thanhtra1 on the tablet -----------------------------------------------------------------------------------
    licence, equipment = items_of(campaign)[:2]
    tablet_context, pad = tablet(browser, live_server, inspector)
    pad.goto(f"{live_server.url}/inspections/")
    pad.locator(f"a.visit-link[data-target='{target.pk}']").click()
    pad.wait_for_selector("#tablet-page[data-ready=true]", state="attached")
    pad.locator(f"#item-{licence.pk} button.choice-violation").click()
    pad.locator(f"#item-{licence.pk} textarea.note").fill("Chưa đăng ký hoạt động cơ sở in với Sở")
    pad.locator(f"#item-{licence.pk} textarea.note").blur()
    pad.locator(f"#item-{equipment.pk} button.choice-compliant").click()
    synced(pad)
    expect(pad.locator("#pending-count")).to_have_attribute("data-findings", "0", timeout=20_000)
    assert Finding.objects.filter(target=target, inspector=inspector).count() >= 2
    pad.screenshot(path=str(SCREENS / "done-means-2-tablet-768.png"), full_page=True)
    tablet_context.close()

    # --- the lead reviews and writes the violation record --------------------------------------------------------
    page.goto(f"{live_server.url}/campaigns/targets/{target.pk}/")
    for item in (licence, equipment):
        card = page.locator(f"#item-{item.pk} .finding-card[data-inspector='{inspector.pk}']")
        card.locator('button[name=state][value="accepted"]').click()
        expect(page.locator(f"#item-{item.pk} .finding-card[data-inspector='{inspector.pk}']")).to_have_attribute(
            "data-review", "accepted")
    expect(page.locator("#counts")).to_have_attribute("data-violations", "1")
    page.locator("#to-violation-new").click()
    expect(page.locator("#id_violation_description")).to_have_value(re.compile("Chưa đăng ký hoạt động cơ sở in với Sở"))
    expect(page.locator("input[name=offender_kind][value=organisation]")).to_be_checked()
    page.fill("#id_offender_name", "Cơ sở in Hưng Long (hộ kinh doanh)")
    page.locator(f"#provision-{provision.pk}").check()
    no_sideways_scroll(page, "the violation record's form")
    page.locator("#violation-submit").click()
    page.wait_for_selector("#violation[data-number]")
    violation = ViolationRecord.objects.get(target=target)
    expect(page.locator("#violation")).to_have_attribute("data-number", violation.number_text)
    reload_until(page, lambda: page.locator("#documents li[data-kind='violation_record'] a").count() > 0,
                 message="the violation record's document")
    page.screenshot(path=str(SCREENS / "done-means-3-violation-1366.png"), full_page=True)

    # --- the sanction decision: a fine outside the range refused, one inside decided -----------------------------
    page.locator("#to-sanction").click()
    fine = page.locator(f"#fine-{provision.pk}")
    fine.fill("5000000")  # an individual's range; the offender is an organisation
    page.locator("#decide-submit").click()
    expect(page.locator(f"[data-provision='{provision.pk}'] .field-error")).to_be_visible()
    expect(page.locator(f"#fine-{provision.pk}")).to_have_value("5000000")
    assert SanctionDecision.objects.get().decided_at is None
    page.locator(f"#fine-{provision.pk}").fill("12000000")
    expect(page.locator("#remedial_measures")).to_have_value(provision.remedial_measures)
    page.locator("#decide-submit").click()
    page.wait_for_selector("#sanction[data-decided='true']")
    sanction = SanctionDecision.objects.get()
    assert (sanction.fine_vnd, sanction.decided_by_id) == (12_000_000, lead.pk)
    expect(page.locator("#payment-due")).to_have_attribute("data-due", sanction.payment_due_on.isoformat())
    reload_until(page, lambda: page.locator("#documents li[data-kind='sanction_decision'] a").count() > 0,
                 message="the sanction decision's document")

    # --- the follow-up of the correction -------------------------------------------------------------------------
    page.fill("#id_correction_due_on", timezone.localdate().isoformat())
    page.fill("#id_note", "Đăng ký hoạt động cơ sở in với Sở")
    page.locator("#follow-up-submit").click()
    follow_up = page.locator("#follow-ups li.follow-up")
    expect(follow_up).to_have_count(1)
    item = FollowUp.objects.get()
    page.fill(f"#done-note-{item.pk}", "Đã nộp hồ sơ đăng ký")
    page.locator(f"#follow-up-done-{item.pk}").click()
    expect(page.locator(f"#follow-ups li.follow-up[data-id='{item.pk}']")).to_have_attribute("data-done", "true")
    page.screenshot(path=str(SCREENS / "done-means-4-sanction-1366.png"), full_page=True)
    no_sideways_scroll(page, "the sanction page")

    # --- conclude and close ------------------------------------------------------------------------------------
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    page.locator("#action-close_findings").click()
    page.wait_for_selector("#campaign-state[data-state='findings_closed']")
    page.locator("#action-conclude").click()
    expect(page.locator("#conclusion")).to_have_value(re.compile(re.escape(violation.number_text)))
    page.locator("#conclude-submit").click()
    page.wait_for_selector("#campaign-state[data-state='concluded']")
    reload_until(page, lambda: page.locator("#conclusion-document a").count() > 0,
                 message="the conclusion document")
    page.screenshot(path=str(SCREENS / "done-means-5-concluded-1366.png"), full_page=True)
    page.locator("#campaign-close").click()
    page.wait_for_selector("#campaign-state[data-state='closed']")
    campaign.refresh_from_db()
    assert campaign.case.state == "closed"
    kinds = set(Document.objects.filter(campaign=campaign).values_list("kind", flat=True))
    assert {"decision", "violation_record", "sanction_decision", "conclusion", "visit_minutes"} <= kinds
    no_sideways_scroll(page, "the closed campaign")
    context.close()
