"""Repeated failed sign-ins are slowed down and logged, on the API's token login and on the sign-in page.

Each test signs in from its own made-up client address, so that the address counter of one test never reaches
another's (the cache outlives a test).
"""

import http.client
import json
import logging
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from cases import roles as r
from cases.security import _counters

from .factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "pw-test-1234"
SECURITY = "sttt.security"

pytestmark = pytest.mark.django_db


@pytest.fixture
def address():
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def throttled_message_vi(minutes: int) -> str:
    with translation.override("vi"):
        text = ngettext("Too many failed sign-in attempts. Please wait %(minutes)s minute and try again.",
                        "Too many failed sign-in attempts. Please wait %(minutes)s minutes and try again.",
                        minutes) % {"minutes": minutes}
    assert not text.startswith("Too many"), "the throttle message has no Vietnamese translation"
    return text


def token_login(api, username, password, address):
    return api.post(TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


def security_records(caplog, message_start: str) -> list[logging.LogRecord]:
    return [rec for rec in caplog.records if rec.name == SECURITY and rec.getMessage().startswith(message_start)]


def test_api_token_login_is_throttled_after_five_failures_and_every_failure_is_logged(api, officer, address,
                                                                                       caplog):
    caplog.set_level(logging.INFO, logger=SECURITY)
    for attempt in range(1, 6):
        response = token_login(api, officer.username, f"wrong-{attempt}", address)
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "validation"
    # The sixth attempt is refused without checking the password, even the right one.
    refused = token_login(api, officer.username, PASSWORD, address)
    assert refused.status_code == 429, refused.content
    assert refused["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "throttled" and problem["status"] == 429
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    assert problem["detail"] == throttled_message_vi(15)
    # Logged: each failure with the user name tried, the client address and the count; the lockout; the refusal.
    failed = security_records(caplog, "sign-in failed")
    assert [(rec.username, rec.client_ip, rec.failures, rec.channel) for rec in failed] == [
        (officer.username, address, n, "api") for n in range(1, 6)]
    assert all(rec.levelno == logging.WARNING for rec in failed)
    locked = security_records(caplog, "sign-in throttled")
    assert [(rec.username, rec.client_ip, rec.scope) for rec in locked] == [(officer.username, address, "user_ip")]
    refusals = security_records(caplog, "sign-in refused")
    assert [(rec.username, rec.client_ip, rec.failures) for rec in refusals] == [(officer.username, address, 5)]
    assert officer.username in refusals[0].getMessage() and address in refusals[0].getMessage()
    # Another address is not locked out of this account by the guesses from this one.
    elsewhere = token_login(api, officer.username, PASSWORD, "192.0.2.10")
    assert elsewhere.status_code == 200 and elsewhere.json()["token"]


def test_a_successful_sign_in_clears_the_count_of_its_address(api, officer, address):
    for attempt in range(4):
        assert token_login(api, officer.username, f"wrong-{attempt}", address).status_code == 400
    assert token_login(api, officer.username, PASSWORD, address).status_code == 200
    for attempt in range(4):
        assert token_login(api, officer.username, f"again-{attempt}", address).status_code == 400
    assert token_login(api, officer.username, PASSWORD, address).status_code == 200


def test_guesses_at_many_accounts_from_one_address_are_throttled(api, address, settings, caplog):
    settings.LOGIN_FAILURES_PER_IP = 6
    caplog.set_level(logging.INFO, logger=SECURITY)
    target = UserFactory(roles=[r.LICENSING_OFFICER])
    for n in range(6):  # one guess per user name: the per-account counter never reaches its limit
        assert token_login(api, f"guess-{n}-{uuid.uuid4().hex[:6]}", "123456", address).status_code == 400
    refused = token_login(api, target.username, PASSWORD, address)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert [rec.scope for rec in security_records(caplog, "sign-in refused")] == ["ip"]


def test_guesses_at_one_account_from_many_addresses_are_throttled(api, officer, settings, caplog):
    settings.LOGIN_FAILURES_PER_USER = 4
    caplog.set_level(logging.INFO, logger=SECURITY)
    for n in range(4):
        assert token_login(api, officer.username, "123456", f"172.16.{n}.{random.randint(1, 254)}").status_code == 400
    refused = token_login(api, officer.username, PASSWORD, "172.16.200.1")
    assert refused.status_code == 429
    assert [rec.scope for rec in security_records(caplog, "sign-in refused")] == ["user"]


def test_sign_in_page_is_throttled_with_a_vietnamese_message_and_logged(officer, address, caplog):
    caplog.set_level(logging.INFO, logger=SECURITY)
    client = Client(REMOTE_ADDR=address)
    for attempt in range(5):
        page = client.post(reverse("login"), {"username": officer.username, "password": f"sai-{attempt}"})
        assert page.status_code == 200
        assert "Sai tên đăng nhập hoặc mật khẩu" in page.content.decode()
    page = client.post(reverse("login"), {"username": officer.username, "password": PASSWORD})
    assert page.status_code == 429
    assert 0 < int(page["Retry-After"]) <= 15 * 60
    text = page.content.decode()
    assert throttled_message_vi(15) in text
    assert "Sai tên đăng nhập" not in text
    assert f'value="{officer.username}"' in text  # the form is shown again, filled in
    assert "_auth_user_id" not in client.session  # the right password did not sign in
    failed = security_records(caplog, "sign-in failed")
    assert [(rec.username, rec.client_ip, rec.failures, rec.channel) for rec in failed] == [
        (officer.username, address, n, "page") for n in range(1, 6)]
    assert len(security_records(caplog, "sign-in refused")) == 1
    # The API refuses this user name from this address too: one count for every sign-in form.
    assert Client(REMOTE_ADDR=address).post(TOKEN_URL, {"username": officer.username, "password": PASSWORD},
                                            content_type="application/json").status_code == 429


def test_the_admin_sign_in_is_covered_by_the_same_lockout(address):
    staff = UserFactory(is_staff=True, is_superuser=True)
    elsewhere = Client(REMOTE_ADDR="192.0.2.77")
    elsewhere.post("/admin/login/", {"username": staff.username, "password": PASSWORD})
    assert elsewhere.session.get("_auth_user_id") == str(staff.pk)  # the right password works from elsewhere
    client = Client(REMOTE_ADDR=address)
    for attempt in range(5):
        client.post(reverse("login"), {"username": staff.username, "password": f"sai-{attempt}"})
    client.post("/admin/login/", {"username": staff.username, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_with_its_window(api, officer, address, settings):
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 2
    for attempt in range(5):
        assert token_login(api, officer.username, f"wrong-{attempt}", address).status_code == 400
    refused = token_login(api, officer.username, PASSWORD, address)
    assert refused.status_code == 429 and int(refused["Retry-After"]) <= 2
    time.sleep(2.2)
    assert token_login(api, officer.username, PASSWORD, address).status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_the_count_holds_across_gunicorn_workers(settings, tmp_path):
    """Two gunicorn worker processes share the count through the cache (Redis): the sixth attempt is refused
    whichever worker takes it."""
    user = UserFactory(roles=[r.LICENSING_OFFICER], username=f"cross-{uuid.uuid4().hex[:8]}")
    db = settings.DATABASES["default"]
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "DJANGO_DEBUG": "0",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
           "LOGIN_FAILURES_PER_IP": "100000",  # loopback is shared with every other run: only this user counts
           "TOKEN_LOGIN_RATE": "1000/min"}
    log_path = tmp_path / "gunicorn.log"

    def post(password):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            connection.request("POST", TOKEN_URL, body=json.dumps({"username": user.username, "password": password}),
                               headers={"Content-Type": "application/json", "Connection": "close"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-w", "2", "-b",
                                    f"127.0.0.1:{port}", "--log-level", "warning"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                post("")
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()
                time.sleep(0.1)
        for attempt in range(5):
            status, _body = post(f"wrong-{attempt}")
            assert status == 400
        for _ in range(4):
            status, body = post(PASSWORD)
            assert status == 429, body
        stderr = log_path.read_text()
        assert stderr.count("sign-in failed") >= 5 and user.username in stderr
    finally:
        process.terminate()
        process.wait(timeout=20)
        keys = [key for _scope, key, _limit in _counters(user.username, "127.0.0.1")]
        redis.Redis.from_url(settings.REDIS_URL).delete(*keys[:2], *[f"{key}:start" for key in keys[:2]])


def test_production_logging_sends_failed_sign_ins_to_stderr():
    username = f"probe-{uuid.uuid4().hex[:8]}"
    code = ("from django.test import RequestFactory; from cases.security import login_failure_record; "
            f"login_failure_record(RequestFactory().post('/accounts/login/', REMOTE_ADDR='198.51.100.9'), '{username}')")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                "DJANGO_ALLOWED_HOSTS": "testserver", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
                "REDIS_URL": "redis://127.0.0.1:6379/15", "LOG_LEVEL": "ERROR"})
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if "sign-in failed" in line)
    assert username in line and "198.51.100.9" in line and "failures=1" in line
