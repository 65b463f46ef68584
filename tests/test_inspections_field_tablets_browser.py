"""Two tablets (768×1024, Debian's Chromium) on one target (issue 17, items 6-8): each inspector's finding stays
theirs (the colleague's note is never copied: tablet.js record() did), both are shown with who and when, the
disagreement is flagged on both tablets, queued findings sync by themselves when the connection returns, every
control is at least 44×44 px, and a camera photo is scaled below 1600 px before it is queued, keeping its EXIF
time and place."""

import io
import random
import time
from datetime import datetime

import pytest
from PIL import Image

from cases import roles as r
from inspections.models import Finding, Photo

from .factories import UserFactory
from .support_browser import SCREENS
from .support_inspections import campaign_make, checklists_load, items_of

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

TABLET = {"width": 768, "height": 1024}
WHERE = {"latitude": 20.4463129, "longitude": 106.3421871, "accuracy": 12}
READ_PHOTOS = """async () => {
  const db = await new Promise((ok, ko) => { const r = indexedDB.open("sttt-inspections"); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  const rows = await new Promise((ok, ko) => { const r = db.transaction("photos").objectStore("photos").getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  db.close();
  return rows.map((p) => ({ width: p.width, height: p.height, bytes: p.data ? p.data.byteLength : null, type: p.type,
                            original: p.original_size, taken_at: p.taken_at, lat: p.taken_latitude,
                            lon: p.taken_longitude, state: p.state }));
}"""
# Every control a finger may need: buttons, links, the photo buttons, text fields.
MEASURE = """() => Array.from(document.querySelectorAll('button, a[href], label.photo-button, textarea, select, input:not([type=hidden]):not(.photo-input)'))
  .filter((el) => { const s = getComputedStyle(el); const b = el.getBoundingClientRect(); return s.display !== 'none' && s.visibility !== 'hidden' && b.width > 0 && b.height > 0; })
  .map((el) => { const b = el.getBoundingClientRect(); return { what: el.outerHTML.slice(0, 90), width: b.width, height: b.height }; })"""


def tablet(browser, live_server, user):
    context = browser.new_context(viewport=TABLET, device_scale_factor=1, is_mobile=True, has_touch=True,
                                  locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", geolocation=WHERE,
                                  permissions=["geolocation"], service_workers="block")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-test-1234")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def open_target(page, live_server, target):
    page.goto(f"{live_server.url}/inspections/targets/{target.pk}/")
    page.wait_for_selector("#tablet-page[data-ready=true]", state="attached")


def synced(page):
    """Nothing waits on the tablet (the pending counter's data, not its words)."""
    expect(page.locator("#pending-count")).to_have_attribute("data-findings", "0", timeout=15_000)
    expect(page.locator("#pending-count")).to_have_attribute("data-photos", "0", timeout=15_000)


@pytest.mark.django_db(transaction=True)
def test_two_tablets_one_item_never_mix_their_words_and_both_see_the_disagreement(live_server, browser, lead,
                                                                                inspector):
    checklists_load()
    colleague = UserFactory(roles=[r.INSPECTOR], first_name="Trần", last_name="Thị Bình")
    campaign = campaign_make(lead=lead, members=[inspector, colleague], shops=1,
                             path=("announce", "start_fieldwork"))
    target = campaign.targets.get()
    item = next(i for i in items_of(campaign) if not i.photo_required)
    context_a, a = tablet(browser, live_server, inspector)
    context_b, b = tablet(browser, live_server, colleague)
    open_target(a, live_server, target)
    open_target(b, live_server, target)
    li_a, li_b = a.locator(f"#item-{item.pk}"), b.locator(f"#item-{item.pk}")

    # both tablets lose the connection; the badge says so (not "connected")
    context_a.set_offline(True)
    context_b.set_offline(True)
    expect(a.locator("#net-state")).to_have_attribute("data-state", "offline")
    li_a.locator("button.choice-violation").click()
    li_a.locator("textarea.note").fill("Thiếu hợp đồng in")
    li_a.locator("textarea.note").blur()
    expect(a.locator("#pending-count")).to_have_attribute("data-findings", "1")

    # A's connection returns: the finding goes by itself within seconds, without a tap on "Sync"
    started = time.monotonic()
    context_a.set_offline(False)
    synced(a)
    assert time.monotonic() - started < 12
    expect(a.locator("#net-state")).to_have_attribute("data-state", "online")
    assert list(Finding.objects.values_list("inspector_id", "result", "note")) == [
        (inspector.pk, "violation", "Thiếu hợp đồng in")]

    # B (still offline) reloads nothing; B comes back, reads A's finding, and taps "compliant" over it
    context_b.set_offline(False)
    b.reload()
    b.wait_for_selector("#tablet-page[data-ready=true]", state="attached")
    others = b.locator(f"#others-{item.pk}")
    expect(others).to_be_visible()
    expect(others.locator(f'li.other[data-inspector="{inspector.pk}"]')).to_contain_text(inspector.get_full_name())
    expect(others).to_contain_text("Thiếu hợp đồng in")
    expect(li_b.locator("textarea.note")).to_have_value("")  # A's words are not in B's field
    context_b.set_offline(True)
    li_b.locator("button.choice-compliant").click()
    expect(b.locator("#pending-count")).to_have_attribute("data-findings", "1")
    context_b.set_offline(False)
    synced(b)
    mine = Finding.objects.get(inspector=colleague)
    assert (mine.result, mine.note) == ("compliant", "")  # before: A's note under B's name
    assert Finding.objects.get(inspector=inspector).note == "Thiếu hợp đồng in"

    # the disagreement is flagged on both tablets (A reads it at its next sync)
    expect(b.locator(f"#disputed-{item.pk}")).to_be_visible()
    a.locator("#sync-button").click()
    expect(a.locator(f"#disputed-{item.pk}")).to_be_visible()
    expect(a.locator(f'#others-{item.pk} li.other[data-inspector="{colleague.pk}"]')).to_contain_text(
        colleague.get_full_name())
    SCREENS.mkdir(parents=True, exist_ok=True)
    a.locator(f"#item-{item.pk}").screenshot(path=str(SCREENS / "tablet-two-inspectors.png"))

    # every control at least 44×44 px, the header's "Đăng xuất" included
    small = [c for c in a.evaluate(MEASURE) if c["height"] < 44 or c["width"] < 44]
    assert small == [], small
    a.goto(f"{live_server.url}/inspections/")  # my visits too
    a.wait_for_selector("#tablet-page[data-ready=true]", state="attached")
    small = [c for c in a.evaluate(MEASURE) if c["height"] < 44 or c["width"] < 44]
    assert small == [], small
    context_a.close()
    context_b.close()


def camera_jpeg(path, *, size=(4000, 3000)) -> bytes:
    """A camera-sized JPEG with EXIF capture time and GPS (noise over a gradient: real photos do not compress
    to nothing)."""
    width, height = size
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 48)
    image = Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    exif[0x0132] = "2026:06:10 09:15:00"
    exif.get_ifd(0x8769)[0x9003] = "2026:06:10 09:15:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (20.0, 26.0, 46.8)
    gps[3], gps[4] = "E", (106.0, 20.0, 31.92)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_camera_photo_is_scaled_before_it_is_queued_and_the_visit_is_finished_on_the_tablet(
        live_server, browser, lead, inspector, tmp_path):
    random.seed(17)
    checklists_load()
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    target = campaign.targets.get()
    items = items_of(campaign)
    shopfront = next(i for i in items if i.photo_required)
    shopfront.photo_only = True  # "a photo of the premises": no compliant / violation answer
    shopfront.save(update_fields=["photo_only"])
    plain = next(i for i in items if not i.photo_required)
    original = camera_jpeg(tmp_path / "IMG_0001.jpg")
    context, page = tablet(browser, live_server, inspector)
    open_target(page, live_server, target)
    photo_item = page.locator(f"#item-{shopfront.pk}")
    expect(photo_item.locator("button.choice")).to_have_count(0)  # no "Đạt / Vi phạm" on a photo-only item

    context.set_offline(True)
    photo_item.locator("input.photo-input").set_input_files(str(tmp_path / "IMG_0001.jpg"))
    expect(page.locator("#pending-count")).to_have_attribute("data-photos", "1")
    (queued,) = page.evaluate(READ_PHOTOS)
    assert max(queued["width"], queued["height"]) == 1600 and min(queued["width"], queued["height"]) == 1200
    assert queued["type"] == "image/jpeg" and queued["original"] == len(original)
    assert queued["bytes"] < len(original) / 4, queued
    assert (queued["lat"], queued["lon"]) == (20.446333, 106.3422)
    assert datetime.fromisoformat(queued["taken_at"].replace("Z", "+00:00")).isoformat() == \
        "2026-06-10T02:15:00+00:00"  # 09:15 on the tablet's clock (UTC+7)
    page.locator(f"#item-{plain.pk} button.choice-violation").click()

    context.set_offline(False)
    synced(page)
    photo = Photo.objects.get()
    assert (photo.width, photo.height, photo.finding.result) == (1600, 1200, "photo")
    assert (float(photo.taken_latitude), float(photo.taken_longitude)) == (20.446333, 106.3422)
    assert photo.taken_at.isoformat() == "2026-06-10T02:15:00+00:00"
    # reopened, the visit shows its photo from the server
    page.reload()
    page.wait_for_selector("#tablet-page[data-ready=true]", state="attached")
    expect(photo_item.locator(f'a.thumb.stored[data-photo="{photo.pk}"]')).to_have_count(1)

    # finish the visit on the tablet: the outcome goes through the API's rules
    page.fill("#finish-description", "Không có sổ theo dõi ấn phẩm nhận in")
    page.locator('#finish-visit button[data-outcome="violation"]').click()
    expect(page.locator("#finish-visit")).to_have_attribute("data-outcome", "violation")
    target.refresh_from_db()
    assert (target.outcome, target.outcome_by_id) == ("violation", inspector.pk)
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_badge_says_whether_the_server_answers_and_the_sync_line_agrees(live_server, browser, lead, inspector):
    """Before: "Có kết nối" while the server was down (navigator.onLine only)."""
    checklists_load()
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    target = campaign.targets.get()
    item = items_of(campaign)[0]
    context, page = tablet(browser, live_server, inspector)
    open_target(page, live_server, target)
    expect(page.locator("#net-state")).to_have_attribute("data-state", "online")
    # the device has a network, the server does not answer (every API call fails)
    context.route("**/api/v1/**", lambda route: route.abort())
    page.locator(f"#item-{item.pk} button.choice-compliant").click()
    page.locator("#sync-button").click()
    expect(page.locator("#net-state")).to_have_attribute("data-state", "down")
    expect(page.locator("#net-state")).not_to_have_text("Có kết nối")
    assert page.evaluate("navigator.onLine") is True
    status = page.locator("#sync-status").inner_text()
    assert status and "đã xác nhận" not in status  # not "synced" beside "not answering"
    expect(page.locator("#pending-count")).to_have_attribute("data-findings", "1")
    # the server answers again: the timer's ping finds it and the finding goes without a tap
    context.unroute("**/api/v1/**")
    expect(page.locator("#pending-count")).to_have_attribute("data-findings", "0", timeout=25_000)  # timer: 15 s
    expect(page.locator("#net-state")).to_have_attribute("data-state", "online")
    assert Finding.objects.filter(inspector=inspector).count() == 1
    context.close()
