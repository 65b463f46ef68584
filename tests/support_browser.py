"""Debian's Chromium through Playwright, one browser per test (`browser` fixture, registered in conftest).

No skip when chromium is missing: .ci/run installs Debian's chromium, and a missing browser must fail loudly."""

import os
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENS = Path(os.environ.get("STTT_SCREENSHOTS", "/tmp/sttt-screens"))
PHONE = {"width": 390, "height": 844}  # an applicant's phone


def signed_in(browser, live_server, user, viewport, **context_options):
    """A page in a browser context carrying the user's session (the sign-in pages are tested on their own)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=viewport, locale="vi-VN", **context_options)
    context.set_default_timeout(20_000)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
    return context.new_page()


def no_sideways_scroll(page, where: str, *, screens: str = "") -> None:
    """Nothing sticks out sideways: the page is no wider than its window. screens: a prefix under which the page is
    kept as a screenshot first (SCREENS/<screens>-<where>.png)."""
    if screens:
        page.screenshot(path=str(SCREENS / f"{screens}-{where}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{where} is {overflow}px too wide"


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # The test thread reads the database while Playwright's event loop runs in it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # With a loop running, Django keeps this thread's connection apart (asgiref's Local): close it
            # here, or it outlives the test and the test database cannot be dropped.
            connections.close_all()
