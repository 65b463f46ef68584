"""A representative registers on a phone (390 px wide, Chromium; the organisation page also at a desktop's width): the form, the verification link read from the real
SMTP server, then signing in lands on /portal/. The pages fit the width, every control is at least 44 px tall,
and the browser reports no CSP violation."""

import random

import pytest

from applicants.models import Representative

from .support_browser import SCREENS
from .support_smtp import outbox_mail_worker, smtp_server  # noqa: F401
from .test_portal_accounts import PASSWORD, tax_code

PHONE = {"width": 390, "height": 844}


def fits_and_taps(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow} px wider than the screen"
    small = page.evaluate("""() => [...document.querySelectorAll(
        'main input:not([type=hidden]):not([type=checkbox]), main select, main button, .portal-menu a, .portal-account a, .portal-account button')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
        .map(e => (e.id || e.name || e.textContent.trim()) + ' ' + e.getBoundingClientRect().height)""")
    assert not small, f"controls under 44 px on {page.url}: {small}"


@pytest.fixture(autouse=True)
def _mail_through_the_outbox(outbox_mail_worker):  # noqa: F811
    """Account e-mails are written to the outbox and sent after commit; smtp_server.wait_for does the worker's
    part (tests/support_smtp.py)."""


@pytest.mark.django_db(transaction=True)
def test_register_verify_from_the_mail_then_sign_in_on_a_phone(live_server, browser, smtp_server):  # noqa: F811
    email = f"thu-{random.randrange(10**9)}@inhue.example"
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)

    page.goto(f"{live_server.url}/portal/accounts/register/")
    fits_and_taps(page)
    page.fill("#id_organisation_name", "Công ty Cổ phần In Huế")
    page.select_option("#id_organisation_kind", "print_facility")
    page.fill("#id_tax_code", tax_code())
    page.fill("#id_organisation_address", "5 Hà Nội, Huế")
    page.fill("#id_full_name", "Hoàng Thị Thu")
    page.fill("#id_position", "Phó giám đốc")
    page.fill("#id_phone", "0905 111 222")
    page.fill("#id_email", email)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.screenshot(path=str(SCREENS / "portal-register-390.png"), full_page=True)
    page.click("#register-submit")
    page.wait_for_url(f"{live_server.url}/portal/accounts/register/sent/")
    assert page.locator("#register-sent").is_visible()

    link = smtp_server.wait_for(to=email).link("/portal/accounts/verify/")
    assert link.startswith(live_server.url)
    page.goto(link)
    assert page.locator("#verify-result").get_attribute("data-outcome") == "confirm"
    fits_and_taps(page)
    page.click("#verify-confirm")
    page.wait_for_load_state()
    assert page.locator("#verify-result").get_attribute("data-outcome") == "approved"
    fits_and_taps(page)
    page.click("#verify-login")
    page.wait_for_url(f"{live_server.url}/portal/accounts/login/")
    fits_and_taps(page)
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.screenshot(path=str(SCREENS / "portal-login-390.png"), full_page=True)
    page.click("#login-submit")
    page.wait_for_url(f"{live_server.url}/portal/**")
    assert page.url == f"{live_server.url}/portal/"
    assert Representative.objects.get(user__email=email).organisation.name == "Công ty Cổ phần In Huế"

    page.goto(f"{live_server.url}/portal/organisation/")
    assert page.locator(f'[data-representative="{email}"]').is_visible()
    fits_and_taps(page)
    page.screenshot(path=str(SCREENS / "portal-organisation-390.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})  # the same pages on a desktop
    fits_and_taps(page)
    page.screenshot(path=str(SCREENS / "portal-organisation-1366.png"), full_page=True)
    page.click("#portal-logout")
    page.wait_for_url(f"{live_server.url}/portal/accounts/login/")
    assert not violations, violations
    context.close()
