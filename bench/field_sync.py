"""python -m bench.field_sync [--photos 8]   (part of `make bench`; docs/PERFORMANCE.md, "Field sync")

One visit synced over a slow mobile network (issue 17, item 8): an inspector's tablet (Debian's Chromium through
Playwright, 768×1024) records 8 findings with 8 camera photos (4000×3000 JPEGs of realistic entropy, ~4-5 MB
each, with EXIF capture time and GPS) while offline; the tablet scales each photo to 1600 px and JPEG quality 0.8
before queueing it (inspections/static/inspections/tablet.js). Then the connection returns through Chromium's
network emulation (CDP Network.emulateNetworkConditions) at 1.6 Mbit/s down, 750 kbit/s up, 300 ms latency,
and the tablet syncs by itself. Measured: from the connection's return to the moment nothing waits on the
tablet (goal ≤ 45 s), and the bytes sent per photo (request bodies of the photo uploads).

Server: gunicorn with 2 sync workers against the benchmark database (bench._server), the campaign of
bench.framework_floor (bench_inspector on a printing campaign in the field)."""

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench._setup import django_setup, summary  # (also: the benchmark database and Redis)

DOWN_BPS, UP_BPS, LATENCY_MS = 1_600_000, 750_000, 300
GOAL_S = 45.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
READ_QUEUED = """async () => {
  const db = await new Promise((ok, ko) => { const r = indexedDB.open("sttt-inspections"); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  const rows = await new Promise((ok, ko) => { const r = db.transaction("photos").objectStore("photos").getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
  db.close();
  return rows.filter((p) => p.state === "pending").map((p) => ({ width: p.width, height: p.height, bytes: p.data.byteLength }));
}"""


def camera_photo(path: Path, seed: int) -> int:
    """A 4000×3000 JPEG like a tablet camera's: structure at several scales (shapes, texture) and sensor noise, so
    that it neither compresses to nothing nor is pure noise; EXIF capture time and GPS. Returns its size."""
    import random

    from PIL import Image, ImageChops

    random.seed(seed)
    size = (4000, 3000)

    def channel():
        layers = [Image.effect_noise((w, w * 3 // 4), 64).resize(size, Image.BICUBIC) for w in (40, 250, 800)]
        base = Image.blend(Image.blend(layers[0], layers[1], 0.5), layers[2], 0.35)
        return ImageChops.add(base, Image.effect_noise(size, 5), 1, -128)

    image = Image.merge("RGB", [channel() for _ in range(3)])
    exif = Image.Exif()
    exif[0x010F] = "Tablet camera"
    exif[0x0132] = "2026:06:10 09:15:00"
    exif.get_ifd(0x8769)[0x9003] = f"2026:06:10 09:{15 + seed:02d}:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (20.0, 26.0, 46.8)
    gps[3], gps[4] = "E", (106.0, 20.0, 31.92)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    path.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def _static_from_disk(route) -> None:
    import mimetypes
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.contrib.staticfiles import finders

    name = urlsplit(route.request.url).path.removeprefix(settings.STATIC_URL)
    found = finders.find(name)
    if not found:
        route.fulfill(status=404, body="")
        return
    route.fulfill(status=200, path=found, content_type=mimetypes.guess_type(found)[0] or "application/octet-stream")


def _standalone_ready() -> None:
    """On a benchmark database made by bench.generate this changes nothing. Run on its own against a database
    only migrated (no agencies, no bench users): the province's agency history, and the two bench users working
    for the agency that inspects printing today, as bench.generate would have made them."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from agencies.models import Agency, Membership
    from cases.competence import agencies_competent, agency_history_load_file
    from cases.models import CaseType

    if not Agency.objects.exists():
        agency_history_load_file()
    agency = agencies_competent(case_type=CaseType.objects.get(code="printing"), day=timezone.localdate()).first()
    for name, group in (("bench_lead", "inspection_lead"), ("bench_inspector", "inspector")):
        user, created = User.objects.get_or_create(username=name)
        if created:
            user.set_password("bench-pass-1234")
            user.save()
            user.groups.add(Group.objects.get(name=group))
        if not Membership.objects.filter(user=user).exists():
            Membership.objects.create(user=user, agency=agency)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=8)
    args = parser.parse_args()
    from bench.photo_bomb import database_ready

    database_ready()
    django_setup()
    from playwright.sync_api import expect, sync_playwright

    from bench._server import gunicorn
    from bench.framework_floor import campaign_in_field
    from inspections.models import Finding, Photo

    _standalone_ready()
    campaign, inspector = campaign_in_field()
    items = [i for i in campaign.checklist.items.order_by("order") if not i.photo_only]
    # targets without findings yet (each run takes fresh ones; the campaign has 20)
    needed = -(-args.photos // len(items))
    targets = list(campaign.targets.filter(findings__isnull=True).distinct().order_by("pk"))[:needed]
    while len(targets) < needed:  # every run takes fresh targets: add more when the campaign's are used up
        from inspections import services
        from inspections.models import Establishment

        shop = Establishment.objects.create(agency=campaign.case.agency, kind=Establishment.Kind.PRINT_SHOP,
                                            name=f"Cơ sở in (field sync) {Establishment.objects.count() + 1}",
                                            address="Lý Bôn, TP Thái Bình")
        targets.append(services.target_add(actor=campaign.case.assignee, campaign_id=campaign.pk,
                                           establishment=shop, inspectors=[inspector], planned_on=None))
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        paths, sizes = [], []
        for n in range(args.photos):
            path = Path(folder) / f"IMG_{n:04d}.jpg"
            sizes.append(camera_photo(path, n))
            paths.append(path)
        print(f"{args.photos} camera photos 4000×3000: {statistics.mean(sizes) / 1e6:.2f} MB each on average "
              f"(made in {time.monotonic() - started:.0f} s)", flush=True)
        findings_before, photos_before = Finding.objects.count(), Photo.objects.count()
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with gunicorn(2) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 768, "height": 1024}, is_mobile=True, has_touch=True,
                                          locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", service_workers="block")
            context.set_default_timeout(120_000)
            # gunicorn serves no static files (a reverse proxy does in production): the tablet's script and styles
            # come from the project's files here, loaded before the network is slowed (not part of the figure)
            context.route("**/static/**", _static_from_disk)
            login = context.new_page()
            login.goto(f"{base}/accounts/login/")
            login.fill("#id_username", inspector.username)
            login.fill("#id_password", "bench-pass-1234")
            login.locator("form button[type=submit]").last.click()
            login.wait_for_url(f"{base}/")
            login.close()
            # 8 findings on the checklist's items in turn; a checklist shorter than that continues on the next
            # target of the same day (one tab each, recorded offline, the last tab syncs them all)
            plan = [(targets[n // len(items)], items[n % len(items)], n) for n in range(args.photos)]
            offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
            tabs = {}
            for target in dict.fromkeys(t for t, _item, _n in plan):  # opened online: nothing waits yet
                tab = context.new_page()
                tab.goto(f"{base}/inspections/targets/{target.pk}/")
                tab.wait_for_selector("#tablet-page[data-ready=true]", state="attached")
                cdp = context.new_cdp_session(tab)
                cdp.send("Network.enable")
                tabs[target] = (tab, cdp)
            for tab, cdp in tabs.values():
                cdp.send("Network.emulateNetworkConditions", offline)
                while tab.evaluate("navigator.onLine"):
                    time.sleep(0.05)
            for target, item, n in plan:
                page = tabs[target][0]
                li = page.locator(f"#item-{item.pk}")
                li.locator("button.choice-violation" if n % 2 else "button.choice-compliant").click()
                li.locator("textarea.note").fill(f"Ghi nhận {n + 1} (benchmark)")
                li.locator("textarea.note").blur()
                expect(page.locator("#pending-count")).to_have_attribute("data-findings", str(n + 1))
                li.locator("input.photo-input").set_input_files(str(paths[n]))
                expect(page.locator("#pending-count")).to_have_attribute("data-photos", str(n + 1), timeout=120_000)
            *others, (page, cdp) = tabs.values()
            for tab, _cdp in others:
                tab.close()
            queued = page.evaluate(READ_QUEUED)
            sent: list[int] = []
            page.on("request", lambda request: sent.append(len(request.post_data_buffer or b""))
                    if request.method == "POST" and request.url.endswith("/api/v1/inspections/photos/") else None)
            # the connection returns, slow: the tablet syncs by itself ("online" event, then a ping)
            reconnected = time.monotonic()
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": LATENCY_MS,
                                                          "downloadThroughput": DOWN_BPS / 8,
                                                          "uploadThroughput": UP_BPS / 8})
            # (the page's CSP forbids wait_for_function's string eval: expect polls the attributes instead)
            expect(page.locator("#pending-count")).to_have_attribute("data-findings", "0", timeout=600_000)
            expect(page.locator("#pending-count")).to_have_attribute("data-photos", "0", timeout=600_000)
            seconds = time.monotonic() - reconnected
            browser.close()
    stored_findings = Finding.objects.count() - findings_before
    stored_photos = Photo.objects.count() - photos_before
    per_photo = statistics.mean(sent) if sent else 0
    print(f"queued on the tablet: {[(q['width'], q['height']) for q in queued]}, "
          f"{statistics.mean(q['bytes'] for q in queued) / 1e3:.0f} KB each on average")
    print(f"sync at {DOWN_BPS / 1e6:.1f} Mbit/s down, {UP_BPS / 1e3:.0f} kbit/s up, {LATENCY_MS} ms: "
          f"{seconds:.1f} s for {stored_findings} findings and {stored_photos} photos "
          f"({seconds / max(stored_photos, 1):.1f} s per photo); {len(sent)} photo uploads, "
          f"{per_photo / 1e3:.0f} KB sent per photo (originals {statistics.mean(sizes) / 1e3:.0f} KB)")
    complete = stored_findings == args.photos and stored_photos == args.photos
    summary(f"field sync: {args.photos} findings + {args.photos} camera photos", f"{seconds:.1f} s",
            f"≤ {GOAL_S:.0f} s", complete and seconds <= GOAL_S)
    summary("  bytes sent per photo (originals ~4-5 MB)", f"{per_photo / 1e3:.0f} KB", "(none)", complete)


if __name__ == "__main__":
    main()
