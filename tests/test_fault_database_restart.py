"""Fault test: the database stops under a load of writes and comes back.

While it is down every request gets a 503 problem (API) or a readable Vietnamese 503 page, never a 500; once it is
back requests succeed again without restarting the service; nothing is half-written, and the requests that got a
503, sent again with the same client uuid, create each case exactly once. The writes are dossiers received by an
officer through /api/v1/licensing/applications/ (each a case, its dossier, its intake and its receipt email).

The service runs as in production (gunicorn, 2 workers) against a private PostgreSQL cluster, so that stopping it
disturbs no other test process.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
import redis
from django.utils import translation

from .conftest import process_end
from .support_licensing import HCM, application_body
from .support_private_postgres import PrivatePostgres, free_port

ROOT = Path(__file__).resolve().parent.parent
LOAD_THREADS = 4
SETUP = """
import json
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.authtoken.models import Token
from agencies.models import Agency, Membership
from cases import roles as r
from cases.competence import agency_history_load_file
agency_history_load_file()
user = User.objects.create_user("canbo_fault", password="fault-test-password-1")
user.groups.add(Group.objects.get(name=r.LICENSING_OFFICER))
Membership.objects.create(user=user, agency=Agency.objects.get(code="hung-yen-svhttdl"))
client = Client()
client.force_login(user)
print(json.dumps({"token": Token.objects.create(user=user).key, "session": client.cookies["sessionid"].value}))
"""


APPLICATIONS = "/api/v1/licensing/applications/"


def dossier(client_id: str) -> dict:
    """A printing licence application received now (a receipt cannot be dated into an ended quarter)."""
    return application_body("printing_licence", uuid=client_id)


class Server:
    def __init__(self, port: int, token: str, session: str):
        self.port, self.token, self.session = port, token, session

    def call(self, method: str, path: str, body: dict | None = None, *, page: bool = False):
        headers = {"Cookie": f"sessionid={self.session}"} if page else {"Authorization": f"Token {self.token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def sql(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        return connection.execute(query).fetchall()


def wait_until(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture
def cluster():
    pg = PrivatePostgres()
    try:
        pg.init()
        pg.start()
        pg.createdb("sttt")
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def service(cluster, tmp_path):
    """Migrated database, an officer with a token and a page session, gunicorn with 2 workers."""
    queue = f"fault-db-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "DATABASE_URL": cluster.url("sttt"),
           "REDIS_URL": "redis://127.0.0.1:6379/15", "CELERY_TASK_DEFAULT_QUEUE": queue,
           "MEDIA_ROOT": str(tmp_path / "media"), "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "LOG_LEVEL": "WARNING"}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    setup = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    credentials = json.loads(setup.stdout.strip().splitlines()[-1])
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-w", "2", "-b",
                                    f"127.0.0.1:{port}", "--log-level", "warning"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(port, credentials["token"], credentials["session"])
    server.log_path = log_path
    try:
        def answers():
            try:
                return server.call("GET", "/api/v1/me/")[0] == 200
            except OSError:
                return False

        wait_until(lambda: process.poll() is not None or answers(), 30, "gunicorn to answer")
        assert process.poll() is None, log_path.read_text()
        yield server
    finally:
        process_end(process)
        redis.Redis.from_url("redis://127.0.0.1:6379/15").delete(queue, f"{queue}-documents")


def test_database_restart_under_load_gives_503s_then_recovers_with_nothing_half_written(cluster, service):
    results: list[dict] = []  # one per request: uuid, status, headers, body, sent/done times
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[BaseException] = []

    def load():
        try:
            while not stop.is_set():
                client_id = str(uuid.uuid4())
                sent = time.monotonic()
                status, headers, body = service.call("POST", APPLICATIONS, dossier(client_id))
                with lock:
                    results.append({"uuid": client_id, "status": status, "headers": headers, "body": body,
                                    "sent": sent, "done": time.monotonic()})
                if status >= 500:
                    time.sleep(0.1)  # a polite client backs off (the server asks for Retry-After seconds)
        except BaseException as exc:  # a reset connection or a timeout is a failure of the test
            failures.append(exc)

    def count(predicate) -> int:
        with lock:
            return sum(1 for r in results if predicate(r))

    threads = [threading.Thread(target=load, daemon=True) for _ in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: count(lambda r: r["status"] == 201) >= 8, 30, "writes before the outage")
        assert service.call("GET", "/licensing/", page=True)[0] == 200

        cluster.stop("immediate")
        stopped = time.monotonic()
        time.sleep(1.0)
        page_status, page_headers, page_body = service.call("GET", "/licensing/", page=True)
        api_status, api_headers, api_body = service.call("GET", "/api/v1/cases/")
        wait_until(lambda: count(lambda r: r["sent"] > stopped) >= 10 and time.monotonic() > stopped + 3, 20,
                   "requests during the outage")
        restarting = time.monotonic()
        cluster.start()
        started = time.monotonic()
        wait_until(lambda: count(lambda r: r["sent"] > started and r["status"] == 201) >= 10, 30,
                   "writes after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not failures, failures
    page_after = service.call("GET", "/licensing/", page=True)

    with translation.override("vi"):
        title = translation.gettext("The service is temporarily unavailable.")
        page_title = translation.gettext("The service is temporarily unavailable")
    assert title != "The service is temporarily unavailable.", "the 503 title has no Vietnamese translation"

    # Only successes and 503s: no 500, no HTML for the API.
    statuses = {r["status"] for r in results}
    assert statuses <= {200, 201, 503}, (statuses, service.log_path.read_text()[-3000:])
    unavailable = [r for r in results if r["status"] == 503]
    for r in unavailable + [{"status": api_status, "headers": api_headers, "body": api_body}]:
        assert r["status"] == 503
        assert r["headers"]["Content-Type"].startswith("application/problem+json"), r["headers"]
        assert int(r["headers"]["Retry-After"]) > 0
        problem = json.loads(r["body"])
        assert problem["code"] == "service_unavailable" and problem["status"] == 503
        assert problem["title"] == title and problem["detail"]
    # Every request sent and answered while the database was down got a 503; there were plenty of them.
    during = [r for r in results if r["sent"] > stopped and r["done"] < restarting]
    assert len(during) >= 10
    assert {r["status"] for r in during} == {503}
    # Pages: a readable Vietnamese page, not a traceback.
    assert page_status == 503, page_body[:500]
    assert page_headers["Content-Type"].startswith("text/html")
    assert int(page_headers["Retry-After"]) > 0
    page_text = page_body.decode()
    assert page_title in page_text and "Traceback" not in page_text and "OperationalError" not in page_text
    # Back without restarting the service: every request sent after the restart succeeded.
    after = [r for r in results if r["sent"] > started]
    assert after and {r["status"] for r in after} == {201}
    assert page_after[0] == 200

    # Nothing half-written: every case has its creation event, its dossier and its intake message, and nothing
    # else is there.
    url = cluster.url("sttt")
    stored = {str(row[0]): row[1:] for row in sql(url, """
        SELECT c.uuid, c.reference,
               (SELECT count(*) FROM cases_caseevent e WHERE e.case_id = c.id AND e.kind = 'created'),
               (SELECT count(*) FROM worker_outboxmessage o
                 WHERE o.task_name = 'cases.case_intake' AND (o.kwargs->>'case_id')::bigint = c.id),
               (SELECT count(*) FROM licensing_dossier d WHERE d.case_id = c.id)
          FROM cases_case c""")}
    answered = {r["uuid"] for r in results if r["status"] in (200, 201)}
    assert answered <= set(stored)
    assert all(events == messages == dossiers == 1 for _ref, events, messages, dossiers in stored.values()), stored
    assert sql(url, "SELECT count(*) FROM cases_caseevent e LEFT JOIN cases_case c ON c.id = e.case_id "
                    "WHERE c.id IS NULL")[0][0] == 0
    assert set(stored) <= {r["uuid"] for r in results}

    # The requests that got a 503, sent again with the same uuid: each case exists exactly once.
    for r in unavailable:
        status, _headers, body = service.call("POST", APPLICATIONS, dossier(r["uuid"]))
        assert status in (200, 201), body
        assert json.loads(body)["uuid"] == r["uuid"]
    again = sql(url, "SELECT uuid::text, count(*) FROM cases_case GROUP BY uuid")
    assert {u for u, _n in again} == {r["uuid"] for r in results}
    assert all(n == 1 for _u, n in again)
    rows = sql(url, """
        SELECT c.reference,
               (SELECT count(*) FROM cases_caseevent e WHERE e.case_id = c.id AND e.kind = 'created'),
               (SELECT count(*) FROM worker_outboxmessage o
                 WHERE o.task_name = 'cases.case_intake' AND (o.kwargs->>'case_id')::bigint = c.id),
               (SELECT count(*) FROM licensing_dossier d WHERE d.case_id = c.id)
          FROM cases_case c""")
    assert all(events == messages == dossiers == 1 for _ref, events, messages, dossiers in rows)
    # The yearly counter is transactional: a write cut by the outage gave its number back, none is taken twice.
    references = sorted(reference for reference, *_counts in rows)
    year = datetime.now(HCM).year
    assert references == [f"GPIN-{year}-{n:05d}" for n in range(1, len(rows) + 1)]


@pytest.mark.parametrize(("path", "api"), [("/api/v1/cases/", True), ("/licensing/", False)])
def test_a_database_failure_outside_a_view_is_a_503_too(rf, path, api):
    """Raised by a middleware (reading the session, say), the failure reaches handler500, which answers 503."""
    from django.db import OperationalError

    from config.urls import handler500

    request = rf.get(path)
    try:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    except OperationalError:
        with translation.override("vi"):
            response = handler500(request)
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    if api:
        assert response["Content-Type"].startswith("application/problem+json")
        assert json.loads(response.content)["code"] == "service_unavailable"
    else:
        assert response["Content-Type"].startswith("text/html")
        assert "Dịch vụ tạm thời gián đoạn" in response.content.decode()
    other = handler500(request)  # any other failure stays a 500
    assert other.status_code == 500
