import importlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.db.models.signals import post_migrate
from rest_framework.test import APIClient

from cases import roles as r

from .factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.support_concurrency", "tests.support_broker_proxy", "tests.support_browser",
                  "tests.support_demo"]


# The suite runs on two processes (pytest-xdist, `--dist loadgroup`; each has its own database, Celery queue and
# cache prefix: config/settings/test.py). The modules that open dozens of database connections at once (threads
# released together, gunicorn and worker processes) run one after another on the same process, so that two of
# them never meet and exceed PostgreSQL's 100 connections.
MANY_CONNECTIONS = {
    "test_agency_transfer", "test_api_hostile_input_problems", "test_concurrent_transitions",
    "test_fault_database_restart", "test_fault_offline_replays_at_scale", "test_fault_races_at_scale",
    "test_gunicorn_production_config", "test_inspections_findings_sent_again_are_stored_once",
    "test_inspections_findings_share_the_campaign_lock", "test_inspections_numbers_and_sanction_deadline",
    "test_inspections_photos_checked_and_stored_once", "test_licensing_numbers_concurrency",
    "test_fault_worker_killed", "test_fault_broker_down",
}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in MANY_CONNECTIONS:
            item.add_marker(pytest.mark.xdist_group("many-connections"))
    if getattr(config.option, "loadgroup", False):  # an xdist worker under --dist loadgroup
        _xdist_groups_named(items)


def _xdist_groups_named(items) -> None:
    """The xdist_group of each test appended to its node id ("…::test_x@many-connections"), which is how
    `--dist loadgroup` sends a group's tests to one process. pytest-xdist 3.8 does it by setting `item._nodeid`,
    which pytest 9 no longer reads (the id is `item._id`): without this, every test was scheduled on its own and
    no group held together. Here, after every marker is placed (this hook runs last)."""
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        if not names:
            continue
        nodeid = item.nodeid
        suffix = "@" + "_".join(names)
        if nodeid.endswith(suffix):  # placed by pytest-xdist itself (a pytest that still reads _nodeid)
            continue
        if hasattr(item, "_id"):
            item._id = NodeId.parse(nodeid + suffix)
        else:
            item._nodeid = nodeid + suffix


def catalogue_load() -> None:
    """Roles and catalogue, loaded the way migration 0002 loads them (idempotent; triggers untouched), the
    agency history of agencies/data/ (Thái Bình's Sở TTTT to 28/02/2025, then its successors) and the
    inspection checklists."""
    from cases.competence import agency_history_load_file

    migration = importlib.import_module("cases.migrations.0002_catalogue_roles_timeline_guard")
    migration.load(apps, SimpleNamespace(connection=SimpleNamespace(vendor="data-only")))
    importlib.import_module("cases.migrations.0009_legal_bases_2019").load(apps, None)
    agency_history_load_file()
    # The inspection checklists of migration inspections 0002 (idempotent), which campaigns need.
    importlib.import_module("inspections.migrations.0002_checklist_templates").load(
        apps, SimpleNamespace(connection=SimpleNamespace(vendor="data-only")))
    # The sanctions catalogue (inspections/data/sanctions_catalogue.json), as migration inspections 0008 loads it.
    from inspections.catalogue import catalogue_load as sanctions_catalogue_load
    sanctions_catalogue_load()


# Whether this process's test database holds the catalogue, committed. A transaction=True test ends by emptying
# every table (Django's `flush`, which sends post_migrate), which removes what the data migrations loaded; so does
# the migration of a new database (its data is checked once). Loading the catalogue costs a quarter of a second; it
# is loaded again, committed, after a test that emptied the tables (pytest_runtest_teardown), not before each of
# the thousand tests.
_catalogue = {"intact": False}


def _catalogue_emptied(**_kwargs):
    _catalogue["intact"] = False


post_migrate.connect(_catalogue_emptied, weak=False, dispatch_uid="tests.conftest.catalogue_emptied")


def _catalogue_present() -> bool:
    """A cheap look at the catalogue a flush would have taken: the roles and the agencies."""
    from django.contrib.auth.models import Group

    from agencies.models import Agency

    return Group.objects.filter(name=r.LICENSING_OFFICER).exists() and Agency.objects.exists()


@pytest.fixture(autouse=True)
def catalogue(db):
    """Every test starts with the migrated roles and catalogue (reloaded after any test that emptied the tables;
    loaded here when they are not known to be there, or are missing all the same)."""
    if not (_catalogue["intact"] and _catalogue_present()):
        catalogue_load()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a test's fixtures are gone (a transaction=True test's flush included): the catalogue put back and
    committed if the tables were emptied, so that the next test finds it as migrated."""
    yield
    if _catalogue["intact"] or "django_db_setup" not in getattr(item, "fixturenames", ()):
        return
    from django.db import transaction
    from pytest_django.plugin import blocking_manager_key

    try:
        with item.config.stash[blocking_manager_key].unblock(), transaction.atomic():
            catalogue_load()
    except Exception:  # noqa: BLE001  (the database down after a fault test): the next test loads it itself
        return
    _catalogue["intact"] = True


@pytest.fixture
def officer(db):
    return UserFactory(roles=[r.LICENSING_OFFICER])


@pytest.fixture
def officer2(db):
    return UserFactory(roles=[r.LICENSING_OFFICER])


@pytest.fixture
def head(db):
    return UserFactory(roles=[r.DEPARTMENT_HEAD])


@pytest.fixture
def inspector(db):
    return UserFactory(roles=[r.INSPECTOR])


@pytest.fixture
def lead(db):
    return UserFactory(roles=[r.INSPECTION_LEAD])


@pytest.fixture
def reporter(db):
    return UserFactory(roles=[r.REPORTER])


@pytest.fixture
def administrator(db):
    return UserFactory(roles=[r.ADMINISTRATOR])


@pytest.fixture
def users(officer, head, inspector, lead, reporter, administrator):
    return {r.LICENSING_OFFICER: officer, r.DEPARTMENT_HEAD: head, r.INSPECTOR: inspector,
            r.INSPECTION_LEAD: lead, r.REPORTER: reporter, r.ADMINISTRATOR: administrator}


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` signs in with a token, as tablets and scripts do."""
    client = APIClient()

    def as_user(user):
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    client.as_user = as_user
    return client


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def worker_queues() -> str:
    """A test worker's -Q: the run's queue and its documents queue (config/settings/base.py, celery_queues)."""
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.CELERY_DOCUMENTS_QUEUE}"


def _redis():
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def _outbox_queue_cleared():
    """No test inherits another's queued messages or wake-up flags (a flag stands for a queued message)."""
    client = _redis()
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_DOCUMENTS_QUEUE)
    for key in client.scan_iter(match=f"sttt:outbox-wake:{settings.CELERY_TASK_DEFAULT_QUEUE}:*"):
        client.delete(key)


def process_end(process: subprocess.Popen, *, timeout: float = 20.0, terminate: bool = True) -> None:
    """Ask a child process to stop (SIGTERM, unless it was told otherwise), and kill it if it does not in time."""
    if terminate:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def process_group_end(process: subprocess.Popen, *, timeout: float = 20.0) -> None:
    """Stop a child started with start_new_session=True and its whole group: SIGTERM (a server's graceful stop),
    SIGKILL if it is not gone in time."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process_group_kill(process)


def process_group_kill(process: subprocess.Popen) -> None:
    """SIGKILL a child started with start_new_session=True and every process of its group, then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=20)


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture
def celery_worker(transactional_db, tmp_path, settings):
    """A real `celery worker` process on Redis, against this test's PostgreSQL database.

    Function-scoped so that no worker sees another test's messages; the queue is purged first.
    """
    from worker.celery import app

    _redis().delete(settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_DOCUMENTS_QUEUE)
    db = settings.DATABASES["default"]
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONUNBUFFERED": "1",
        "DOCUMENTS_DEMO_CA_DIR": str(settings.DOCUMENTS_DEMO_CA_DIR),
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery", "worker", "--pool=prefork", "--concurrency=2",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "-n", name, "-Q", worker_queues()],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for(lambda: process.poll() is not None or app.control.ping(destination=[name], timeout=0.5),
                 timeout=60, message="the Celery worker to answer a ping")
        if process.poll() is not None:
            raise AssertionError("worker exited:\n" + log_path.read_text())
        process.log_path = log_path
        yield process
    finally:
        # The test is over: the worker and its pool are killed at once (a warm shutdown waits seconds for the pool
        # to wind down, and for any task still running). A LibreOffice it started exits when its stdin closes.
        process_group_kill(process)


@pytest.fixture
def demo_signing(settings):
    """Documents signed with the demo CA only: no token, no PKCS#12 file, no TSA, no other trust roots; the
    process's cached credentials forgotten before and after."""
    from documents.signing import credentials_forget

    settings.DOCUMENTS_SIGNING_DEMO = True
    settings.DOCUMENTS_SIGNING_PKCS11_MODULE = ""
    settings.DOCUMENTS_SIGNING_PKCS12 = ""
    settings.DOCUMENTS_TSA_URL = ""
    settings.DOCUMENTS_TRUST_ROOTS = []
    credentials_forget()
    yield
    credentials_forget()
