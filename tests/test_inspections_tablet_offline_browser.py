"""A real browser on a tablet screen (Debian's Chromium through Playwright, 768×1024) against the live server:
an inspector opens a visit, loses the connection, records two findings and a photo, and when the connection
returns they reach the server exactly once, however often they are sent again; a conflict is shown."""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from inspections.models import Finding, Photo

from .support_browser import SCREENS
from .support_inspections import campaign_make, checklists_load, items_of

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


TABLET = {"width": 768, "height": 1024}
WHERE = {"latitude": 20.4463129, "longitude": 106.3421871, "accuracy": 12}

# No skip when chromium is missing: .ci/run installs Debian's chromium, and a missing browser must fail loudly.

# The test reads what the tablet keeps in IndexedDB, and puts rows back as a lost answer would leave them.
READ_QUEUE = """async () => {
  const db = await new Promise((ok, ko) => { const r = indexedDB.open("sttt-inspections"); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  const all = (store) => new Promise((ok, ko) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  const rows = { findings: await all("findings"), photos: await all("photos") };
  db.close();
  return rows;
}"""
PUT_ROWS = """async ([store, rows]) => {
  const db = await new Promise((ok, ko) => { const r = indexedDB.open("sttt-inspections"); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  await new Promise((ok, ko) => { const tx = db.transaction(store, "readwrite"); rows.forEach((row) => tx.objectStore(store).put(row)); tx.oncomplete = ok; tx.onerror = () => ko(tx.error); });
  db.close();
}"""
KEEP_SNAPSHOT = f"async () => {{ window.__queueAsRecorded = await ({READ_QUEUE})(); return true; }}"
RESTORE_SNAPSHOT = f"""async () => {{
  const put = {PUT_ROWS};
  await put(["findings", window.__queueAsRecorded.findings]);
  await put(["photos", window.__queueAsRecorded.photos]);
}}"""




def photo_file(tmp_path) -> Path:
    """A small real JPEG, as a tablet camera would give (smaller)."""
    image = Image.new("RGB", (640, 480), (236, 232, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 80, 580, 200), fill=(164, 22, 26))
    draw.rectangle((60, 260, 580, 420), outline=(29, 39, 51), width=8)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path = tmp_path / "so-quan-ly-an-pham.jpg"
    path.write_bytes(buffer.getvalue())
    return path


def shoot(page, name: str, focus=None) -> None:
    """What the tablet's screen shows (768×1024): the top of the page, and the part around `focus`."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENS / f"{name}.png"))
    if focus is not None:
        focus.evaluate("node => node.scrollIntoView({block: 'center'})")
        page.screenshot(path=str(SCREENS / f"{name}-item.png"))
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} is {overflow}px too wide"


def stored() -> tuple[list, list]:
    findings = list(Finding.objects.order_by("item__order").values_list("pk", "item_id", "result", "note",
                                                                         "received_at", "latitude", "longitude",
                                                                         "accuracy"))
    photos = list(Photo.objects.values_list("pk", "finding_id", "sha256", "received_at"))
    return findings, photos


@pytest.mark.django_db(transaction=True)
def test_findings_and_a_photo_recorded_offline_reach_the_server_exactly_once(live_server, browser, lead, inspector,
                                                                            tmp_path):
    checklists_load()
    campaign = campaign_make(lead=lead, members=[inspector], shops=2, path=("announce", "start_fieldwork"),
                             title="Kiểm tra hoạt động in năm 2020")
    target = campaign.targets.order_by("pk").first()
    items = items_of(campaign)
    with_photo = next(item for item in items if item.photo_required)  # "sổ quản lý ấn phẩm"
    plain = next(item for item in items if not item.photo_required)

    context = browser.new_context(viewport=TABLET, device_scale_factor=1, is_mobile=True, has_touch=True,
                                  locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", geolocation=WHERE,
                                  permissions=["geolocation"], service_workers="allow")
    context.set_default_timeout(20_000)
    page = context.new_page()
    answers = []
    page.on("response", lambda response: answers.append((response.url.split(live_server.url, 1)[-1],
                                                         response.status))
            if "/api/" in response.url else None)

    # sign in, open my visits: the service worker installs and keeps the visits for use without a connection
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", inspector.username)
    page.fill("#id_password", "pw-test-1234")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")
    page.locator("nav.menu").get_by_role("link", name="Lượt kiểm tra hôm nay").click()
    page.wait_for_selector("html[data-offline-ready]", state="attached")
    visit = page.locator(f'a[data-target="{target.pk}"]')
    expect(visit).to_contain_text(target.establishment.name)
    expect(page.locator("#offline-ready")).to_have_text("Trang đã được lưu trên máy để dùng khi mất kết nối.")
    shoot(page, "tablet-visits")
    visit.click()
    page.wait_for_url(f"{live_server.url}/inspections/targets/{target.pk}/")
    page.wait_for_selector("html[data-offline-ready]", state="attached")
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    expect(page.locator("#location-status")).to_have_text("Vị trí: sai số ±12 m")

    # the connection goes: the page still opens, from the tablet's copy
    context.set_offline(True)
    page.reload()
    expect(page.locator("#establishment-name")).to_have_text(target.establishment.name)
    expect(page.locator("#net-state")).to_have_text("Không có kết nối")
    page.wait_for_selector("#tablet-page[data-ready]", state="attached")

    # two findings and a photo, recorded without a connection
    first = page.locator(f"#item-{with_photo.pk}")
    first.get_by_role("button", name="Vi phạm").click()
    expect(first.get_by_role("button", name="Vi phạm")).to_have_attribute("aria-pressed", "true")
    first.locator("textarea.note").fill("Không có sổ quản lý ấn phẩm nhận in.")
    first.locator("textarea.note").blur()
    first.locator("input.photo-input").set_input_files(str(photo_file(tmp_path)))
    expect(first.locator(".thumbs img")).to_have_count(1)
    expect(first.locator(".photo-status")).to_have_text("1 ảnh đang chờ đồng bộ")
    second = page.locator(f"#item-{plain.pk}")
    second.get_by_role("button", name="Đạt").click()
    expect(page.locator("#pending-count")).to_have_text("Đang chờ đồng bộ: 2 kết quả, 1 ảnh")
    expect(first.locator(".item-status")).to_have_text("Đang chờ đồng bộ")
    page.get_by_role("button", name="Đồng bộ").click()  # nothing can go: it says so
    expect(page.locator("#sync-status")).to_contain_text("Không có kết nối: dữ liệu ghi nhận được lưu trên máy")
    shoot(page, "tablet-visit-offline", focus=first)
    # the list of visits opens too, and counts what waits for each visit
    page.get_by_role("link", name="Quay lại lượt kiểm tra hôm nay").click()
    expect(page.locator(f'[data-target-pending="{target.pk}"]')).to_have_text("Chờ đồng bộ: 2 kết quả, 1 ảnh")
    expect(page.locator("#pending-count")).to_have_text("Đang chờ đồng bộ: 2 kết quả, 1 ảnh")
    shoot(page, "tablet-visits-offline")
    page.locator(f'a[data-target="{target.pk}"]').click()
    expect(page.locator("#establishment-name")).to_have_text(target.establishment.name)
    page.wait_for_selector("#tablet-page[data-ready]", state="attached")
    expect(first.get_by_role("button", name="Vi phạm")).to_have_attribute("aria-pressed", "true")
    expect(first.locator("textarea.note")).to_have_value("Không có sổ quản lý ấn phẩm nhận in.")
    assert stored() == ([], [])
    queued = page.evaluate(READ_QUEUE)
    assert len(queued["findings"]) == 2 and len(queued["photos"]) == 1
    photo_finding = queued["photos"][0]["finding"]
    assert photo_finding == next(f["uuid"] for f in queued["findings"] if f["item"] == with_photo.pk)
    page.evaluate(KEEP_SNAPSHOT)  # the queue as recorded, to be sent again later

    # the connection returns: the page syncs by itself
    context.set_offline(False)
    expect(page.locator("#pending-count")).to_have_text("Đang chờ đồng bộ: 0 kết quả, 0 ảnh")
    expect(page.locator("#sync-status")).to_contain_text("máy chủ đã xác nhận 2 kết quả và 1 ảnh")
    expect(first.locator(".item-status")).to_contain_text("Đã đồng bộ")
    findings, photos = stored()
    assert [(f[1], f[2], f[3]) for f in findings] == sorted(
        [(with_photo.pk, "violation", "Không có sổ quản lý ấn phẩm nhận in."), (plain.pk, "compliant", "")],
        key=lambda f: next(i.order for i in items if i.pk == f[0]))
    assert {str(f[0]) for f in findings} == {f["uuid"] for f in queued["findings"]}
    assert all((f[5], f[6], f[7]) == (Decimal("20.446313"), Decimal("106.342187"), Decimal("12.0")) for f in findings)
    assert [(str(p[0]), str(p[1])) for p in photos] == [(queued["photos"][0]["uuid"], photo_finding)]
    assert ("/api/v1/inspections/findings/batch/", 200) in answers and ("/api/v1/inspections/photos/", 201) in answers
    synced = page.evaluate(READ_QUEUE)  # each item answered 201: stored now
    assert [(f["state"], f["answer"]) for f in synced["findings"]] == [("synced", 201)] * 2
    assert [(p["state"], p["answer"], p["data"]) for p in synced["photos"]] == [("synced", 201, None)]
    expect(first.locator(".photo-status")).to_have_text("1 ảnh đã lưu trên máy chủ")
    shoot(page, "tablet-visit-synced", focus=first)
    for name, size in (("landscape", {"width": 1024, "height": 768}), ("phone", {"width": 390, "height": 844})):
        page.set_viewport_size(size)  # turned sideways, or on a phone: still nothing sticks out
        shoot(page, f"tablet-visit-{name}", focus=first)
    page.set_viewport_size(TABLET)

    # sync again, and again as if every answer had been lost: the same ids go, the server answers 200
    page.get_by_role("button", name="Đồng bộ").click()
    expect(page.locator("#sync-status")).to_contain_text("không có dữ liệu nào chờ gửi")
    answers.clear()
    page.evaluate(RESTORE_SNAPSHOT)
    page.get_by_role("button", name="Đồng bộ").click()
    expect(page.locator("#sync-status")).to_contain_text("máy chủ đã xác nhận 2 kết quả và 1 ảnh")
    expect(page.locator("#pending-count")).to_have_text("Đang chờ đồng bộ: 0 kết quả, 0 ảnh")
    # (besides the reads: the ping that checks the server answers, and the fieldwork read again after a sync)
    writes = [a for a in answers if "/ping/" not in a[0] and "/fieldwork/" not in a[0]]
    assert writes == [("/api/v1/inspections/findings/batch/", 200), ("/api/v1/inspections/photos/", 200)]
    resent = page.evaluate(READ_QUEUE)  # each item answered 200: already stored, nothing changed
    assert [(f["state"], f["answer"]) for f in resent["findings"]] == [("synced", 200)] * 2
    assert [(p["state"], p["answer"]) for p in resent["photos"]] == [("synced", 200)]
    assert stored() == (findings, photos)

    # the same id with other content: the server keeps its version, the page shows the conflict
    changed = next(dict(f) for f in queued["findings"] if f["item"] == with_photo.pk)
    changed.update(note="Đã có sổ nhưng ghi chưa đầy đủ.", state="pending", sent=True)
    page.evaluate(PUT_ROWS, ["findings", [changed]])
    page.get_by_role("button", name="Đồng bộ").click()
    expect(page.locator("#problem-count")).to_have_text("Xung đột: 1")
    expect(first.locator(".item-status")).to_contain_text(
        "Xung đột: máy chủ đã lưu một kết quả khác với cùng mã này (Vi phạm, “Không có sổ quản lý ấn phẩm nhận in.”)")
    shoot(page, "tablet-visit-conflict", focus=first)
    assert stored() == (findings, photos)

    # choosing the result again records the tablet's version as a new finding (the server keeps findings as
    # they came; the latest counts); the photo stays with the finding it was taken for
    first.get_by_role("button", name="Vi phạm").click()
    page.get_by_role("button", name="Đồng bộ").click()
    expect(page.locator("#sync-status")).to_contain_text("máy chủ đã xác nhận 1 kết quả và 0 ảnh")
    expect(page.locator("#problem-count")).to_be_hidden()
    expect(first.locator(".photo-status")).to_have_text("Kết quả này cần có ảnh.")
    assert Finding.objects.count() == 3 and Photo.objects.count() == 1
    latest = Finding.objects.filter(item=with_photo).latest("device_time")
    assert (latest.result, latest.note) == ("violation", "Đã có sổ nhưng ghi chưa đầy đủ.")
    assert str(latest.pk) not in {f["uuid"] for f in queued["findings"]}
    context.close()
