"""gunicorn on loopback against the benchmark database: 2 sync workers (what the figures of report_floor and lists
were measured with), or the production configuration as it is (`config/gunicorn.conf.py`, only its bind address
changed), which is what photo_bomb measures."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PRODUCTION_CONFIG = Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(workers: int = 2, *, production: bool = False, database: str | None = None):
    """The server's base URL while it runs: `workers` sync workers, or with `production` the production
    configuration (its workers, threads and timeouts, from the environment as in production); against the
    benchmark database, or the one named `database` on the same PostgreSQL."""
    from bench._setup import database_url

    port = _free_port()
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    if database:
        env["DATABASE_URL"] = database_url(database)
    shape = ["-c", str(PRODUCTION_CONFIG)] if production else ["-w", str(workers)]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *shape, "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "config.wsgi"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                # One probe at a time (the first schema takes a while): drf-spectacular's schema generation is not
                # thread-safe, and overlapping probes made a threaded worker answer 500.
                urllib.request.urlopen(f"{base}/api/schema/", timeout=60)
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def token_for(username: str, using: str = "default") -> str:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    user = User.objects.using(using).get(username=username)
    return Token.objects.using(using).get_or_create(user=user)[0].key


def timed_get(url: str, token: str) -> tuple[float, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body
