"""The two ways to run: the embedded default (what `make run` does) and the production profile."""

import csv
import io
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY"}}


def manage(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env or CLEAN_ENV, capture_output=True,
                          text=True, timeout=timeout)


def production_env(**extra):
    return {**CLEAN_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64), "DJANGO_ALLOWED_HOSTS": "cases.sotttt.example",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test", "REDIS_URL": "redis://127.0.0.1:6379/0",
            **extra}


def test_production_profile_passes_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_profile_refuses_a_missing_secret_key():
    result = manage("check", env=production_env(DJANGO_SECRET_KEY=""))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_without_environment_the_service_is_embedded():
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps([s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE, "
            "s.LANGUAGE_CODE, s.USE_TZ]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**CLEAN_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.base"}, check=True)
    assert json.loads(out.stdout) == ["django.db.backends.sqlite3", True, "Asia/Ho_Chi_Minh", "vi", True]


def seed_table_i5() -> list[list[str]]:
    """Table I.5 of the department's real Q4/2019 report: TT, Nội dung, Đơn vị, Số lượng."""
    text = (ROOT / "tests" / "data" / "seed_report_q4_2019.txt").read_text(encoding="utf-8")
    section = text.split("5. Kết quả thực hiện thủ tục hành chính", 1)[1].split("II. ", 1)[0]
    rows = [line.split("\t") for line in section.splitlines() if re.match(r"^\d+\t", line)]
    assert len(rows) == 6
    return rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.mark.xdist_group("embedded-demo")  # the embedded demo is built once per process (tests/support_demo.py)
def test_embedded_mode_serves_api_and_docs_with_demo_data(embedded_demo):
    """What `make run` does, on a fresh SQLite file: migrate, load demo data, serve. The migrate and load_demo
    (checked there) are run once for the tests that serve the embedded demo; this test has its own copy."""
    env = embedded_demo.env
    demo = embedded_demo
    # An aligned table, one line per account: user name, role, password, API token (and a few lines of progress).
    tokens = dict(re.findall(r"^\s+(\w+)\s.*\sdemo-sttt-2026\s+([0-9a-f]{40})$", demo.stdout, flags=re.M))
    assert len((demo.stdout + demo.stderr).splitlines()) <= 15, demo.stdout + demo.stderr
    # The demo year's Q4/2019 procedure results are the seed report's table I.5, row for row.
    report = manage("quarterly_report", "--quarter", "2019-Q4", "--format", "csv", env=env)
    assert report.returncode == 0, report.stderr
    produced = [row[:4] for row in csv.reader(io.StringIO(report.stdout.lstrip("\ufeff")))][2:8]
    assert produced == seed_table_i5()
    assert {"canbo1", "lanhdao", "thanhtra1", "vanphong", "admin"} <= set(tokens)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                status, docs = _get(f"{base}/api/docs/")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        assert "swagger" in docs.lower()
        assert not re.findall(r'(?:src|href)="(?:https?:)?//', docs), docs  # nothing from another host
        script = re.search(r'src="(/static/[^"]+swagger-ui-bundle\.js)"', docs).group(1)
        assert _get(base + script)[0] == 200  # vendored, no CDN
        status, body = _get(f"{base}/api/v1/cases/?domain=licensing", tokens["canbo1"])
        cases = json.loads(body)
        assert status == 200 and cases["count"] >= 30
        # the officer's intake ran in process: every licensing case has an assignee
        assert all(c["assignee"] for c in cases["results"])
        status, body = _get(f"{base}/api/v1/cases/", tokens["thanhtra1"])
        assert {c["type"] for c in json.loads(body)["results"]} <= {
            "prepaid_sim", "internet_service", "bts_station", "publication_distribution", "printing",
            "conformity_labelling"}
    finally:
        server.terminate()
        server.wait(timeout=10)
