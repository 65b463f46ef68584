"""The production server's configuration (config/gunicorn.conf.py), as gunicorn reads it and as it serves.

Threads: a request whose body is still arriving holds one thread, not the process, so other requests are answered
meanwhile; and not an upload slot either (cases/upload_gate.py receives the body before it takes one). The API schema is generated once when a worker starts, so that first schemas asked for at once by one
process's threads do not meet drf-spectacular's lazy loading of its extensions (which made one of them a 500).
"""

import concurrent.futures
import http.client
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
from rest_framework.authtoken.models import Token

from cases import roles as r

from .conftest import ROOT
from .factories import UserFactory

CONFIG = ROOT / "config" / "gunicorn.conf.py"


def _config(env: dict[str, str]) -> dict[str, object]:
    """The settings gunicorn takes from the configuration with this environment (a process of its own: the file
    reads the environment when loaded)."""
    code = ("import sys; from gunicorn.app.wsgiapp import WSGIApplication; "
            f"sys.argv = ['gunicorn', '-c', {str(CONFIG)!r}]; cfg = WSGIApplication().cfg; "
            "print(repr({'workers': cfg.workers, 'worker_class': cfg.worker_class_str, 'threads': cfg.threads, "
            "'bind': cfg.bind, 'timeout': cfg.timeout, 'wsgi_app': cfg.wsgi_app}))")
    clean = {key: value for key, value in os.environ.items() if not key.startswith("GUNICORN_")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True,
                            text=True, timeout=60, check=True)
    return eval(result.stdout)  # noqa: S307 (our own repr of plain values)


def test_the_production_shape():
    cores = len(os.sched_getaffinity(0))
    assert _config({}) == {"workers": 2 * cores + 1, "worker_class": "gthread", "threads": 4,
                           "bind": ["127.0.0.1:8000"], "timeout": 60, "wsgi_app": "config.wsgi:application"}
    changed = _config({"GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "8", "GUNICORN_BIND": "10.0.0.5:8000",
                       "GUNICORN_TIMEOUT": "120"})
    assert (changed["workers"], changed["threads"], changed["bind"], changed["timeout"]) == (
        3, 8, ["10.0.0.5:8000"], 120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_one_worker_answers_while_uploads_stall_and_serves_first_schemas_at_once(settings, tmp_path):
    """One worker process of 4 threads (the production file, only its size changed): while two uploads have sent
    their headers and part of their body and then nothing, /api/v1/me/ is answered at once (a sync worker would wait
    for them until its timeout); then 6 first schemas asked for at once are all answered 200."""
    user = UserFactory(roles=[r.INSPECTOR], username=f"gthread-{uuid.uuid4().hex[:8]}")
    token = Token.objects.create(user=user).key
    db = settings.DATABASES["default"]
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "DJANGO_DEBUG": "0",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
           "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "4",
           # One upload slot (cases/upload_gate.py): the stalled bodies must not hold it.
           "UPLOAD_SLOTS": "1", "UPLOAD_SLOT_WAIT_SECONDS": "10", "UPLOAD_SLOTS_DIR": str(tmp_path / "slots")}
    log_path = tmp_path / "gunicorn.log"

    def get(path, headers=None, timeout=30):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "-b", f"127.0.0.1:{port}",
                                    "--log-level", "warning"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    stalled = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert get("/api/v1/me/")[0] == 401
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()
                time.sleep(0.2)
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"POST /api/v1/inspections/photos/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Authorization: Token " + token.encode() + b"\r\n"
                         b"Content-Type: multipart/form-data; boundary=stall\r\nContent-Length: 200000\r\n\r\n"
                         b"--stall\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
                         + b"\x89PNG" + b"\0" * 1000)
            stalled.append(sock)
        time.sleep(0.5)  # both are in the worker, waiting for the rest of their body
        started = time.monotonic()
        status, body = get("/api/v1/me/", {"Authorization": f"Token {token}"}, timeout=20)
        assert status == 200 and user.username.encode() in body
        assert time.monotonic() - started < 5
        # An upload sent whole is worked on at once: a body still arriving holds a thread, never the upload slot.
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            connection.request("POST", "/api/v1/inspections/photos/", body=(
                b"--whole\r\nContent-Disposition: form-data; name=\"finding\"\r\n\r\n" + str(uuid.uuid4()).encode()
                + b"\r\n--whole--\r\n"), headers={"Authorization": f"Token {token}",
                                                 "Content-Type": "multipart/form-data; boundary=whole"})
            whole = connection.getresponse()
            whole_status = whole.status
            whole.read()
        finally:
            connection.close()
        assert whole_status in (400, 409), whole_status
        assert time.monotonic() - started < 5

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _n: get("/api/schema/", timeout=120)[0], range(6)))
        assert answers == [200] * 6, log_path.read_text()
    finally:
        for sock in stalled:
            sock.close()
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in log_path.read_text()
