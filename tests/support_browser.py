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
