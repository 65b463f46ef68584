"""Hostile input, browser side: every response carries the Content-Security-Policy and the Permissions-Policy;
no template holds an inline script, an on* handler or an inline style (a scan, so that none comes back); and in a
real browser (Debian's Chromium through Playwright) the officer's pages, the head's and reporter's, the tablet
pages, the admin and Swagger UI load and work with no CSP violation at all."""

import io
import re
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from PIL import Image

from cases import roles as r
from cases.middleware import permissions_policy_header
from cases.models import Case

from .factories import UserFactory
from .support_inspections import campaign_make, checklists_load, items_of

ROOT = Path(__file__).resolve().parent.parent
PROJECT_APPS = ("cases", "licensing", "inspections", "reports", "worker", "config")

CSP_EXPECTED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self'",
    "worker-src": "'self'",
    "manifest-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
BULLETIN = {
    "publisher": "Trường Đại học Thái Bình", "bulletin_name": "Bản tin Đại học Thái Bình",
    "purpose": "Thông tin hoạt động đào tạo", "periodicity": "3 tháng/số", "pages": 24, "copies": 500,
    "format": "19 x 27 cm", "printing_place": "Công ty TNHH In Hoàng Long", "responsible_person": "PGS.TS. Lê Văn Hòa",
}
SCHOOL = {"name": "Trường Đại học Thái Bình", "kind": "school", "email": "vanphong@tbu.example"}


def csp_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
            for part in (p.strip() for p in header.split(";")) if part}


def assert_hardened(response, what: str) -> None:
    assert "Content-Security-Policy" in response, f"{what}: no Content-Security-Policy"
    policy = csp_of(response)
    for directive, value in CSP_EXPECTED.items():
        assert policy.get(directive) == value, f"{what}: {directive} is {policy.get(directive)!r}"
    assert not any("unsafe" in value for value in policy.values()), f"{what}: {policy}"
    permissions = response["Permissions-Policy"]
    assert "camera=(self)" in permissions and "geolocation=(self)" in permissions, what
    for feature in ("microphone", "payment", "usb", "serial", "hid", "display-capture"):
        assert f"{feature}=()" in permissions, f"{what}: {feature} is not off"


@pytest.fixture
def world(officer, head, reporter, lead, inspector):
    """A case on the officer's queue, one awaiting the head's decision, a campaign in the field."""
    from cases import services as case_services
    from licensing import services as licensing_services

    checklists_load()
    queued, _ = licensing_services.application_receive(actor=officer, procedure="bulletin", fields=BULLETIN,
                                                       organisation=SCHOOL)
    case_services.case_assign(case_id=queued.pk, actor=None, assignee=officer)
    proposed, _ = licensing_services.application_receive(actor=officer, procedure="bulletin", fields=BULLETIN,
                                                         organisation={**SCHOOL, "name": "Trường THPT Lê Quý Đôn"})
    case_services.case_assign(case_id=proposed.pk, actor=None, assignee=officer)
    case_services.case_transition(case_id=proposed.pk, actor=officer, action="start_review")
    case_services.case_transition(case_id=proposed.pk, actor=officer, action="propose_refusal",
                                  note="Thiếu bản mẫu trình bày bản tin.")
    campaign = campaign_make(lead=lead, members=[inspector], shops=2, path=("announce", "start_fieldwork"),
                             title="Kiểm tra hoạt động in quý II")
    admin = UserFactory(roles=[r.ADMINISTRATOR], is_staff=True, is_superuser=True)
    return {"case": Case.objects.get(pk=queued.pk), "proposed": Case.objects.get(pk=proposed.pk),
            "campaign": campaign, "target": campaign.targets.order_by("pk").first(), "admin": admin}


# --- Headers on every response ------------------------------------------------------------------------------


def pages_by_role(world, users) -> list[tuple[object, str]]:
    case, target = world["case"], world["target"]
    officer, head = users[r.LICENSING_OFFICER], users[r.DEPARTMENT_HEAD]
    reporter, inspector, admin = users[r.REPORTER], users[r.INSPECTOR], world["admin"]
    return [
        (None, "/accounts/login/"),
        (None, "/api/docs/"),
        (None, "/api/schema/"),
        (None, "/api/v1/me/"),  # 401 problem JSON
        (None, "/inspections/sw.js"),
        (None, "/inspections/offline/"),
        (None, "/no-such-page/"),  # 404 page
        (None, "/media/attachments/anything.pdf"),  # 404: files leave only through the API's downloads
        (None, "/admin/login/"),
        (officer, "/"),
        (officer, "/licensing/"),
        (officer, f"/licensing/cases/{case.pk}/"),
        (officer, "/licensing/receive/"),
        (officer, "/licensing/receive/?procedure=bulletin"),
        (officer, "/licensing/permits/"),
        (officer, "/reports/quarterly/"),  # 403 page
        (head, "/licensing/approvals/"),
        (head, "/reports/quarterly/"),
        (reporter, "/reports/quarterly/?quarter=2019-Q4"),
        (inspector, "/inspections/"),
        (inspector, f"/inspections/targets/{target.pk}/"),
        (admin, "/admin/"),
        (admin, "/admin/cases/case/"),
        (admin, f"/admin/cases/case/{case.pk}/change/"),
        (admin, "/admin/cases/calendarday/add/"),
        (admin, "/admin/auth/user/"),
    ]


@pytest.mark.django_db
def test_every_page_a_role_reaches_carries_the_csp_and_the_permissions_policy(client, world, users):
    for user, url in pages_by_role(world, users):
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code in {200, 401, 403, 404}, (url, response.status_code)
        assert_hardened(response, f"{url} ({getattr(user, 'username', 'anonymous')}, {response.status_code})")
        if response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", html), url
            assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html, re.I), url


@pytest.mark.django_db
def test_posts_redirects_and_error_pages_carry_them_too(officer, world):
    client = Client()
    # a sign-in (POST, then a redirect)
    response = client.post("/accounts/login/", {"username": officer.username, "password": "pw-test-1234"})
    assert response.status_code == 302
    assert_hardened(response, "sign-in redirect")
    # a workflow action from the case page
    case = world["case"]
    response = client.post(reverse("licensing:case-transition", args=[case.pk]),
                           {"action": "request_supplement", "version": case.version, "note": "Bổ sung bản mẫu."})
    assert response.status_code == 302
    assert_hardened(response, "transition redirect")

    # a form sent without its CSRF token: the site's own page, with no inline style
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": officer.username, "password": "pw-test-1234"})
    assert response.status_code == 403
    assert_hardened(response, "CSRF failure")
    html = response.content.decode()
    assert "<style" not in html and "style=" not in html
    assert "Không có quyền truy cập" in html

    # the database is unreachable: the 503 page (stand-alone, its style from a static file)
    broken = Client(raise_request_exception=False)
    broken.force_login(officer)
    with mock.patch("cases.roles.user_roles", side_effect=OperationalError("connection refused")):
        response = broken.get("/")
    assert response.status_code == 503
    assert_hardened(response, "503 page")
    html = response.content.decode()
    assert "<style" not in html and "sttt/plain.css" in html

    # media files are never served as such; Swagger UI keeps the site's opener policy
    assert Client().get("/media/attachments/anything.pdf").status_code == 404
    docs = Client().get("/api/docs/")
    assert docs["Cross-Origin-Opener-Policy"] == "same-origin"
    assert 'id="swagger-config" type="application/json"' in docs.content.decode()


def test_the_permissions_policy_header_is_built_from_the_setting():
    assert permissions_policy_header({"camera": ["self"], "usb": [], "fullscreen": ["self", "https://a.example"]}) \
        == 'camera=(self), usb=(), fullscreen=(self "https://a.example")'
    header = permissions_policy_header(settings.PERMISSIONS_POLICY)
    assert header.startswith("camera=(self), geolocation=(self), ")
    assert "microphone=()" in header and "payment=()" in header and "usb=()" in header


# --- Templates: nothing inline, so that nothing inline comes back ----------------------------------------------


def template_files() -> list[Path]:
    folders = [ROOT / "templates", *[ROOT / app / "templates" for app in PROJECT_APPS]]
    files = [path for folder in folders if folder.is_dir() for path in folder.rglob("*.html")]
    assert len(files) > 20  # the scan sees the templates
    return sorted(files)


INLINE = [
    (re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I), "an inline <script> (use a static file)"),
    (re.compile(r"<script\b[^>]*\bsrc\s*=[^>]*>\s*[^<\s]", re.I), "a <script src> with a body"),
    (re.compile(r"<[a-zA-Z][^>]*?\son[a-zA-Z]+\s*=", re.S), "an on* handler attribute (addEventListener in a file)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"<style\b", re.I), "a <style> block (use a static CSS file)"),
    (re.compile(r"<[a-zA-Z][^>]*?\sstyle\s*=", re.S), "a style= attribute (use a class)"),
]


def test_no_template_holds_inline_script_handlers_or_styles():
    problems = []
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}: {match.group(0)[:80]!r}")
    assert not problems, "\n".join(problems)


def test_no_python_code_writes_inline_script_or_style_into_html():
    """format_html / mark_safe in views, admin or template tags would get past the template scan."""
    problems = []
    for app in PROJECT_APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            for pattern, what in INLINE[:4] + INLINE[5:]:
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not problems, "\n".join(problems)


def test_the_scan_finds_what_it_looks_for():
    samples = ['<script>alert(1)</script>', '<script type="module">x()</script>', '<button onclick="go()">',
               '<a href="javascript:go()">', '<style>p{}</style>', '<p class="x" style="color:red">',
               '<script src="/static/a.js">alert(1)</script>', '<img\n  src="x" onerror="go()">']
    for sample in samples:
        assert any(pattern.search(sample) for pattern, _what in INLINE), sample
    allowed = ['<script src="/static/a.js" defer></script>', '<li data-on="x" class="onward">',
               '<input name="onsite" value="1">', '<a href="/licensing/" rel="next">']
    for sample in allowed:
        assert not any(pattern.search(sample) for pattern, _what in INLINE), sample


# --- In Chromium: the pages load with no violation, and their scripts work -------------------------------------

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
TABLET = {"width": 768, "height": 1024}
WHERE = {"latitude": 20.4463129, "longitude": 106.3421871, "accuracy": 12}
# Reported to the console by the page, whatever the browser writes there itself.
VIOLATION_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => console.error(
  "CSP violation: " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":"
  + e.lineNumber));"""
POLICY_PROBLEM = re.compile(r"Content Security Policy|Content-Security-Policy|CSP violation|Refused to|"
                            r"Permissions[- ]Policy|Unrecognized feature", re.I)




def watched_page(browser, **context_options):
    """A page whose CSP violations and Permissions-Policy complaints land in `page.problems`."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **context_options)
    context.set_default_timeout(20_000)
    context.add_init_script(VIOLATION_LISTENER)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda message: page.problems.append(f"{page.url}: {message.type}: {message.text}")
            if POLICY_PROBLEM.search(message.text) else None)
    page.on("pageerror", lambda error: page.problems.append(f"{page.url}: page error: {error}"))
    return page


def sign_in(page, live_server, user, url="/accounts/login/"):
    page.goto(f"{live_server.url}{url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-test-1234")
    page.locator("[type=submit]").last.click()
    page.wait_for_load_state()


def visit(page, url: str, ready: str) -> None:
    response = page.goto(url)
    assert response.ok, (url, response.status)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "camera=(self)" in response.headers["permissions-policy"]
    page.wait_for_selector(ready, state="attached")
    page.wait_for_load_state("load")


@pytest.mark.django_db(transaction=True)
def test_the_violation_watch_sees_a_violation(live_server, browser):
    """The watch itself: content the policy refuses is reported (else a silent watch would prove nothing)."""
    page = watched_page(browser)
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate("""() => { const img = document.createElement("img"); img.src = "https://cdn.example/x.png";
                             document.body.append(img); }""")
    page.wait_for_timeout(500)
    assert any("img-src" in problem for problem in page.problems), page.problems


@pytest.mark.django_db(transaction=True)
def test_officer_head_and_reporter_pages_load_with_no_violation(live_server, browser, world, officer, head,
                                                                 reporter):
    base = live_server.url
    case = world["case"]
    page = watched_page(browser, viewport={"width": 1024, "height": 768})
    sign_in(page, live_server, officer)
    page.wait_for_url(f"{base}/")
    for url, ready in (("/", "ul.links"), ("/licensing/", "#my-cases"), (f"/licensing/cases/{case.pk}/", "#timeline"),
                       ("/licensing/receive/", "#id_procedure_choice"), ("/licensing/permits/", "form.filters")):
        visit(page, base + url, ready)
    # the forms still post (form-action 'self', redirect included): choose a procedure, take an action
    visit(page, f"{base}/licensing/receive/", "#id_procedure_choice")
    page.select_option("#id_procedure_choice", "bulletin")
    page.get_by_role("button", name="Chọn").click()
    page.wait_for_selector("#id_dossier_bulletin_name")
    visit(page, f"{base}/licensing/cases/{case.pk}/", "#actions")
    page.locator('details:has(form[data-action="request_supplement"]) > summary').click()
    page.locator('form[data-action="request_supplement"] textarea[name=note]').fill("Đề nghị bổ sung bản mẫu.")
    page.locator('form[data-action="request_supplement"] button[type=submit]').click()
    page.wait_for_load_state()
    expect(page.locator("#case-state")).to_have_text("Chờ bổ sung hồ sơ")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))

    sign_in(page, live_server, head)
    visit(page, f"{base}/licensing/approvals/", f"#proposal-{world['proposed'].pk}")
    visit(page, f"{base}/reports/quarterly/", "svg.chart")
    assert page.locator(".legend svg.swatch").count() == 4
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    sign_in(page, live_server, reporter)
    visit(page, f"{base}/reports/quarterly/?quarter=2019-Q4", "#procedure-results")
    swatch = page.locator(".legend svg.swatch").first.bounding_box()
    assert swatch and swatch["width"] > 5 and swatch["height"] > 5  # the legend's colours are still drawn
    assert page.problems == [], "\n".join(page.problems)


@pytest.mark.django_db(transaction=True)
def test_tablet_pages_work_with_no_violation(live_server, browser, world, inspector, tmp_path):
    """The tablet's script under the policy: service worker, IndexedDB, location, a camera photo shown from a
    blob: URL, and the sync to the API."""
    from inspections.models import Finding, Photo

    base = live_server.url
    target = world["target"]
    item = next(i for i in items_of(world["campaign"]) if i.photo_required)
    page = watched_page(browser, viewport=TABLET, is_mobile=True, has_touch=True, geolocation=WHERE,
                        permissions=["geolocation"], service_workers="allow")
    sign_in(page, live_server, inspector)
    visit(page, f"{base}/inspections/", "html[data-offline-ready]")
    page.locator(f'a[data-target="{target.pk}"]').click()
    page.wait_for_url(f"{base}/inspections/targets/{target.pk}/")
    page.wait_for_selector("#tablet-page[data-ready]", state="attached")
    page.wait_for_selector("html[data-offline-ready]", state="attached")
    expect(page.locator("#location-status")).to_have_text("Vị trí: sai số ±12 m")
    row = page.locator(f"#item-{item.pk}")
    row.get_by_role("button", name="Vi phạm").click()
    photo = tmp_path / "anh.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (164, 22, 26)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())
    row.locator("input.photo-input").set_input_files(str(photo))
    thumb = row.locator(".thumbs img")
    expect(thumb).to_have_count(1)
    assert thumb.get_attribute("src").startswith("blob:")
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") > 0  # img-src blob: lets it show
    page.get_by_role("button", name="Đồng bộ").click()
    expect(page.locator("#pending-count")).to_have_text("Đang chờ đồng bộ: 0 kết quả, 0 ảnh", timeout=20_000)
    assert Finding.objects.filter(target=target, item=item).count() == 1 and Photo.objects.count() == 1
    # reloaded, the page reads what the server holds
    page.reload()
    page.wait_for_selector("#tablet-page[data-ready]", state="attached")
    expect(row.locator(".photo-status")).to_have_text("1 ảnh đã lưu trên máy chủ")
    visit(page, f"{base}/inspections/offline/", "#offline-page")
    assert page.problems == [], "\n".join(page.problems)


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_and_works_with_no_violation(live_server, browser):
    page = watched_page(browser, viewport={"width": 1280, "height": 900})
    visit(page, f"{live_server.url}/api/docs/", "#swagger-ui")
    # the schema is generated on request: slow on a loaded machine
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("STTTT case management API", timeout=60_000)
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=20_000)
    assert operations.count() > 50
    # its script works: an operation opens, "Try it out" sends a request through the page (connect-src 'self')
    me = page.locator('.opblock:has(.opblock-summary-path[data-path="/api/v1/me/"])').first
    me.locator(".opblock-summary").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table .response .response-col_status").first).to_contain_text(
        "401", timeout=20_000)
    # a request with the session that is not a GET carries Django's CSRF token (from the page's JSON data)
    sent = page.evaluate("""() => window.ui.getConfigs().requestInterceptor(
        {method: "POST", credentials: "same-origin", headers: {}}).headers""")
    token = page.evaluate("JSON.parse(document.getElementById('swagger-config').textContent).csrf_token")
    assert sent == {"X-CSRFTOKEN": token} and len(token) == 64
    assert page.problems == [], "\n".join(page.problems)


@pytest.mark.django_db(transaction=True)
def test_the_admin_works_with_no_violation(live_server, browser, world):
    base = live_server.url
    page = watched_page(browser, viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world["admin"], url="/admin/login/?next=/admin/")
    page.wait_for_url(f"{base}/admin/")
    for url, ready in (("/admin/", "#content-main"), ("/admin/cases/case/", "#result_list"),
                       (f"/admin/cases/case/{world['case'].pk}/change/", "#case_form"),
                       ("/admin/auth/user/", "#result_list")):
        visit(page, base + url, ready)
    # the admin's scripts: the date widget's calendar, and the changelist's select-all box
    visit(page, f"{base}/admin/cases/calendarday/add/", "#calendarday_form")
    page.locator(".datetimeshortcuts a").last.click()
    expect(page.locator(".calendarbox").first).to_be_visible()
    page.locator(".calendarbox .calendar td a").first.click()
    assert page.input_value("#id_date")
    visit(page, f"{base}/admin/auth/user/", "#result_list")
    page.locator("#action-toggle").check()
    assert page.locator("input.action-select:checked").count() >= 1
    assert page.problems == [], "\n".join(page.problems)
