"""One demo department per test run, shared by the tests that read it: the one `make run` builds.

`load_demo` is the slowest thing the suite does (a minute and more: hundreds of dossiers walked through the services,
their documents rendered, converted by LibreOffice and signed). It is built once per test process, as `make run`
builds it (`manage.py migrate` and `manage.py load_demo` on a fresh SQLite file, in the embedded mode), and every
test gets its own copy of the file and of the media directory:

- `embedded_demo`: the copy, with the environment to run `manage.py` on it (a server, a command);
- `served_demo`: `manage.py runserver` on the copy, as `make run` serves it;
- `embedded_db`: the copy read and changed in this process, through the ORM: the default connection is an
  embedded-mode SQLite connection to it for the test's duration (MEDIA_ROOT its media).

The demo used to be built a second time, on PostgreSQL, for the tests that read it through the ORM; no user runs
the demo on PostgreSQL (`make run` unsets DATABASE_URL), so those tests now read the one `make run` builds. The
tests that use it are in the xdist group "embedded-demo", so that one process builds it.
"""

import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import process_group_end, wait_for
from .support_faults import free_port

ROOT = Path(__file__).resolve().parent.parent
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "RUN_MAIN"}}


# --- The embedded mode (SQLite) ---------------------------------------------------------------------------------

def manage(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env or CLEAN_ENV, capture_output=True,
                          text=True, timeout=timeout)


@dataclass
class EmbeddedDemo:
    env: dict  # the environment `manage.py` runs with: SQLITE_PATH and MEDIA_ROOT of this copy
    sqlite: Path
    media: Path
    stdout: str  # what load_demo printed
    stderr: str


def _embedded_env(directory: Path) -> dict:
    return {**CLEAN_ENV, "SQLITE_PATH": str(directory / "db.sqlite3"), "MEDIA_ROOT": str(directory / "media")}


@pytest.fixture(scope="session")
def embedded_demo_built(tmp_path_factory) -> EmbeddedDemo:
    """What `make run` does before it serves, once: migrate a fresh SQLite file, load the demo into it."""
    directory = tmp_path_factory.mktemp("embedded-demo")
    env = _embedded_env(directory)
    migrated = manage("migrate", "--noinput", env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    demo = manage("load_demo", env=env, timeout=900)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    return EmbeddedDemo(env=env, sqlite=directory / "db.sqlite3", media=directory / "media", stdout=demo.stdout,
                        stderr=demo.stderr)


@pytest.fixture
def embedded_demo(embedded_demo_built, tmp_path) -> EmbeddedDemo:
    """This test's own copy of the embedded demo (the SQLite file and the media directory)."""
    directory = tmp_path / "embedded"
    directory.mkdir()
    for path in embedded_demo_built.sqlite.parent.glob("db.sqlite3*"):  # with its -wal/-shm files, if any
        shutil.copy2(path, directory / path.name)
    if embedded_demo_built.media.exists():
        shutil.copytree(embedded_demo_built.media, directory / "media")
    env = _embedded_env(directory)
    return EmbeddedDemo(env=env, sqlite=directory / "db.sqlite3", media=directory / "media",
                        stdout=embedded_demo_built.stdout, stderr=embedded_demo_built.stderr)


__all__ = ["embedded_db", "embedded_demo", "embedded_demo_built", "manage", "served_demo"]


# --- The embedded demo served, as `make run` serves it -------------------------------------------------------

def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def served_demo(embedded_demo, tmp_path):
    """`make run`'s server on this test's copy of the embedded demo; the public address printed in the QR codes
    is this server's, so that the decoded address can be opened as it is."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**embedded_demo.env, "DOCUMENTS_PUBLIC_BASE_URL": base, "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "runserver.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: server.poll() is not None or _answers(f"{base}/verify/"), timeout=60,
                 message="the development server to answer")
        assert server.poll() is None, log_path.read_text()
        yield base
    finally:
        process_group_end(server)


def qr_of_first_page(pdf: Path) -> str:
    """The text of the QR code on the PDF's first page: rendered to PNG by pdftoppm, decoded by zbarimg."""
    png = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "200", "-png", "-singlefile", str(pdf), str(png)],
                   check=True, capture_output=True, timeout=60)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f"{png}.png"],
                             capture_output=True, text=True, timeout=60)
    assert decoded.returncode == 0, decoded.stderr
    codes = decoded.stdout.split()
    assert len(codes) == 1, codes
    return codes[0]


# --- The embedded demo read in this process -------------------------------------------------------------------

def _caches_clear() -> None:
    """The per-process caches read from a database, forgotten (another database is about to be read)."""
    from django.contrib.contenttypes.models import ContentType

    from cases import selectors

    ContentType.objects.clear_cache()
    selectors._share_cache.clear()


@pytest.fixture
def embedded_db(embedded_demo, transactional_db, settings) -> EmbeddedDemo:
    """This test's copy of the embedded demo, read and changed through this process's ORM: the default connection
    is, for the test's duration, a SQLite connection to the copy with the embedded mode's settings
    (config/settings/base.py), and MEDIA_ROOT the copy's media. The test database's connection is back after
    (and flushed as usual: nothing was written to it)."""
    from django.db import connections
    from django.db.backends.sqlite3.base import DatabaseWrapper

    original = connections["default"]
    original.close()
    embedded = {**original.settings_dict, "ENGINE": "django.db.backends.sqlite3", "NAME": str(embedded_demo.sqlite),
                "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "CONN_MAX_AGE": 0,
                "CONN_HEALTH_CHECKS": False, "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"}}
    settings.MEDIA_ROOT = embedded_demo.media
    connections["default"] = DatabaseWrapper(embedded, alias="default")
    _caches_clear()
    try:
        assert connections["default"].vendor == "sqlite"
        yield embedded_demo
    finally:
        connections["default"].close()
        connections["default"] = original
        _caches_clear()
