"""The lead reviews a target's fieldwork on the office page (1366 px; and 768 px still fits): visited or not,
both inspectors' findings on the item they disagree on with who and when, the photo as a thumbnail opening full
size, the review actions; the needs-correction note reaches the inspector's tablet, and the timeline records it."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import roles as r
from cases.models import CaseEvent
from inspections import services
from inspections.models import Finding

from .factories import UserFactory
from .support_browser import SCREENS
from .support_inspections import campaign_make, checklists_load, image_bytes, items_of, upload

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


def sign_in(browser, live_server, user, viewport):
    context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  service_workers="block")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-test-1234")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def submit(actor, target, item, result, note="", minutes_ago=10):
    finding, _ = services.finding_submit(actor=actor, uuid=uuid.uuid4(), target_id=target.pk, item_id=item.pk,
                                         result=result, note=note,
                                         device_time=timezone.now() - timedelta(minutes=minutes_ago))
    return finding


@pytest.mark.django_db(transaction=True)
def test_the_lead_reviews_two_inspectors_findings_and_the_note_reaches_the_tablet(live_server, browser, lead,
                                                                                  inspector):
    checklists_load()
    colleague = UserFactory(roles=[r.INSPECTOR], first_name="Trần", last_name="Thị Bình")
    campaign = campaign_make(lead=lead, members=[inspector, colleague], shops=2, path=("announce", "start_fieldwork"))
    target, unvisited = campaign.targets.order_by("pk")
    item = next(i for i in items_of(campaign) if not i.photo_required)
    theirs = submit(inspector, target, item, "violation", "Thiếu hợp đồng in", minutes_ago=30)
    services.photo_add(actor=inspector, uuid=uuid.uuid4(), finding_id=theirs.pk,
                       upload=upload(image_bytes(size=(800, 600))))
    submit(colleague, target, item, "compliant", minutes_ago=10)

    context, page = sign_in(browser, live_server, lead, {"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/campaigns/targets/{unvisited.pk}/")
    expect(page.locator("#visited")).to_have_attribute("data-visited", "false")
    page.goto(f"{live_server.url}/campaigns/targets/{target.pk}/")
    expect(page.locator("#visited")).to_have_attribute("data-visited", "true")
    row = page.locator(f"#item-{item.pk}")
    expect(row).to_have_attribute("data-disputed", "true")
    expect(page.locator("#counts")).to_have_attribute("data-disputed", "1")
    expect(page.locator("#counts")).to_have_attribute("data-violations", "0")
    expect(row.locator(".finding-card")).to_have_count(2)
    expect(row.locator(f'.finding-card[data-inspector="{inspector.pk}"]')).to_contain_text("Thiếu hợp đồng in")
    expect(row.locator(f'.finding-card[data-inspector="{colleague.pk}"]')).to_contain_text(colleague.get_full_name())
    thumb = row.locator("a.photo-link img")
    expect(thumb).to_have_count(1)
    with page.expect_popup() as opened:
        row.locator("a.photo-link").click()
    full = opened.value
    full.wait_for_load_state()
    assert full.evaluate("document.images[0].naturalWidth") == 800
    full.close()
    page.screenshot(path=str(SCREENS / "office-target-review-1366.png"), full_page=True)

    card = row.locator(f'.finding-card[data-inspector="{inspector.pk}"]')
    card.locator("textarea[name=note]").fill("Chụp lại hợp đồng in để đối chiếu")
    card.locator('button[name=state][value="needs_correction"]').click()
    card = page.locator(f"#item-{item.pk} .finding-card[data-inspector='{inspector.pk}']")
    expect(card).to_have_attribute("data-review", "needs_correction")
    expect(page.locator("#review-timeline li[data-state=needs_correction]")).to_have_count(1)
    assert Finding.objects.get(pk=theirs.pk).review_state == "needs_correction"
    assert CaseEvent.objects.filter(action="finding_review", actor=lead).count() == 1
    # the colleague's side is accepted: the disagreement is settled, the item counts as compliant
    other = page.locator(f"#item-{item.pk} .finding-card[data-inspector='{colleague.pk}']")
    other.locator('button[name=state][value="accepted"]').click()
    expect(page.locator(f"#item-{item.pk}")).to_have_attribute("data-disputed", "false")
    expect(page.locator(f"#item-{item.pk}")).to_have_attribute("data-answer", "compliant")
    page.set_viewport_size({"width": 768, "height": 1024})
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    context.close()

    # the inspector's tablet shows the lead's note
    context, tablet = sign_in(browser, live_server, inspector, {"width": 768, "height": 1024})
    tablet.goto(f"{live_server.url}/inspections/targets/{target.pk}/")
    tablet.wait_for_selector("#tablet-page[data-ready=true]", state="attached")
    note = tablet.locator(f"#review-{item.pk}")
    expect(note).to_be_visible()
    expect(note).to_have_attribute("data-state", "needs_correction")
    expect(note).to_contain_text("Chụp lại hợp đồng in để đối chiếu")
    # the correction: the same result tapped again is a new finding (received again), the note is the inspector's
    li = tablet.locator(f"#item-{item.pk}")
    li.locator("textarea.note").fill("Không có hợp đồng in cho ấn phẩm A")
    li.locator("textarea.note").blur()
    expect(tablet.locator("#pending-count")).to_have_attribute("data-findings", "1")  # queued, then sent by itself
    expect(tablet.locator("#pending-count")).to_have_attribute("data-findings", "0", timeout=20_000)
    expect(note).to_be_hidden()
    correction = Finding.objects.filter(inspector=inspector).order_by("-received_at").first()
    assert correction.pk != theirs.pk
    assert (correction.result, correction.note, correction.review_state) == (
        "violation", "Không có hợp đồng in cho ấn phẩm A", "received")
    context.close()


@pytest.mark.django_db
def test_the_review_page_is_for_leads_and_a_stale_form_is_a_readable_conflict(client, lead, inspector, reporter):
    checklists_load()
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    target = campaign.targets.get()
    item = items_of(campaign)[0]
    finding = submit(inspector, target, item, "violation", "Thiếu sổ")
    url = f"/campaigns/targets/{target.pk}/"
    client.force_login(inspector)
    html = client.get(url).content.decode()
    assert f'data-finding="{finding.pk}"' in html and 'name="state"' not in html  # reads, no review actions
    assert client.post(f"{url}review/", {"finding": str(finding.pk), "state": "accepted"}).status_code == 403
    client.force_login(reporter)
    assert client.get(url).status_code == 403  # not an office role
    client.force_login(lead)
    assert 'name="state"' in client.get(url).content.decode()
    submit(inspector, target, item, "violation", "Thiếu sổ theo dõi", minutes_ago=1)  # a newer finding
    response = client.post(f"{url}review/", {"finding": str(finding.pk), "state": "accepted",
                                             "expected_state": "received"}, follow=True)
    assert response.status_code == 200
    assert Finding.objects.get(pk=finding.pk).review_state == "received"
    assert any(m.level_tag == "error" for m in response.context["messages"])
