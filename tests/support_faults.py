"""Helpers for the fault tests: a Redis server of the test's own that can really be stopped and started again,
and real Celery worker processes that can be SIGKILLed with every process they forked.

The shared Redis on 6379 is never stopped: other test processes use it. A fault test starts its own
`redis-server` on a free port and points both sides at it: this process's Celery app (broker) and Django cache,
and the worker subprocess (REDIS_URL, which gives it the broker and the cache).
"""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from worker.models import OutboxMessage

from .conftest import ROOT, process_end, wait_for, worker_queues
from .support_broker_proxy import celery_pools_reset

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A `redis-server` without persistence on a port of its own: stopping it loses what it held, as a Redis
    restarted without a dump does."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        # No retries: redis-py would otherwise back off for seconds before saying a stopped server is down.
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=5,
                           retry=Retry(NoBackoff(), 0))

    def up(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        log = open(self.directory / f"redis-{self.starts}.log", "w")  # noqa: SIM115  closed with the process
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: self.process.poll() is not None or self.up(), timeout=15, message="redis-server to answer")
        assert self.process.poll() is None, (self.directory / f"redis-{self.starts}.log").read_text()

    def stop(self) -> None:
        """Shut the server down without saving; its port refuses connections afterwards."""
        if self.process is None or self.process.poll() is not None:
            return
        subprocess.run([REDIS_CLI, "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=15)
        process_end(self.process, timeout=15, terminate=False)
        assert not self.up()


@pytest.fixture
def own_redis(tmp_path, settings):
    """A Redis of this test's own, used by this process as Celery broker and as Django cache."""
    from worker.celery import app

    server = RedisServer(tmp_path / "redis")
    server.start()
    original_url = app.conf.broker_url
    celery_pools_reset(app)
    app.conf.broker_url = server.url
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": server.url, "KEY_PREFIX": "fault"}}
    try:
        yield server
    finally:
        server.stop()  # first: closing the pooled connections of a stopped server does not wait on it
        celery_pools_reset(app)
        app.conf.broker_url = original_url


class WorkerProcess:
    """A real `celery worker` (prefork) on a given broker, in a session of its own so that a SIGKILL of its
    process group kills the main process and its pool processes at once, as an OOM kill of the container does."""

    def __init__(self, *, broker_url: str, log_dir: Path, concurrency: int = 2, env: dict | None = None,
                 queues: str | None = None):
        self.broker_url = broker_url
        self.queues = queues  # -Q; by default the run's queue and its documents queue
        self.log_dir = log_dir
        self.concurrency = concurrency
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.name = ""
        self.log_path: Path | None = None
        self.runs = 0

    def start(self) -> None:
        from worker.celery import app

        assert app.conf.broker_url == self.broker_url, "this process must talk to the worker's broker"
        self.runs += 1
        self.name = f"fault-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = self.log_dir / f"worker-{self.runs}.log"
        db = settings.DATABASES["default"]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": self.broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "worker.celery", "worker", "--pool=prefork",
                 f"--concurrency={self.concurrency}", "--loglevel=INFO", "--without-gossip", "--without-mingle",
                 "-n", self.name, "-Q", self.queues or worker_queues()],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()

    def answers(self) -> bool:
        from worker.celery import app

        return bool(app.control.ping(destination=[self.name], timeout=0.5))

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(lambda: self.process.poll() is not None or self.answers(), timeout=timeout,
                 message="the Celery worker to answer a ping")
        assert self.process.poll() is None, "worker exited:\n" + self.log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the worker and every pool process: no task gets to finish, commit or acknowledge."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        # The pool processes, orphaned, are reaped by init; wait until none is left in the group.
        wait_for(lambda: not self.group_alive(), timeout=10, message="every worker process to be gone")

    def stop(self) -> None:
        """At the end of a test: nothing is left to finish, so the quickest stop (SIGKILL) will do."""
        if self.process is None or self.process.poll() is not None:
            return
        self.kill()


@pytest.fixture
def worker_factory(own_redis, transactional_db, tmp_path):
    """Make worker processes on the test's own Redis; every one still running is stopped at the end."""
    made: list[WorkerProcess] = []

    def make(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(broker_url=own_redis.url, log_dir=tmp_path, **kwargs)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()


def unacked_outbox_ids(server: RedisServer) -> set[int]:
    """Outbox ids of the messages a worker took from the queue and never acknowledged (kombu keeps them in the
    `unacked` hash until the visibility timeout puts them back)."""
    ids = set()
    for raw in server.client().hvals("unacked"):
        payload, _exchange, _routing_key = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(payload["body"]))
        if kwargs.get("outbox_id") is not None:
            ids.add(kwargs["outbox_id"])
    return ids


def queue_length(server: RedisServer) -> int:
    client = server.client()
    return client.llen(settings.CELERY_TASK_DEFAULT_QUEUE) + client.llen(settings.CELERY_DOCUMENTS_QUEUE)


def approved_cases_like(template, count: int) -> list[int]:
    """`count` more approved cases made after `template` (a case walked to "approved" through the services),
    inserted in bulk with its timeline, its dossier (nothing is granted without one) and its accepted result_issue
    task, as `bench.generate` inserts cases: making a thousand through the services would cost half a minute that
    the test does not spend on what it checks. References continue the procedure's counter, which is moved on by
    as many."""
    from cases.models import Case, CaseEvent, Sequence, state_write_allowed
    from licensing.models import Dossier

    assert template.state == "approved"
    fields = [f.attname for f in Case._meta.concrete_fields if f.attname not in {"id", "uuid", "reference"}]
    year = timezone.localtime(template.received_at).year
    key = f"case:{template.case_type.code}"
    events = list(CaseEvent.objects.filter(case=template).order_by("pk"))
    dossier = Dossier.objects.get(case=template)
    with transaction.atomic():
        sequence = Sequence.objects.select_for_update().get(key=key, year=year)
        first = sequence.last_value + 1
        sequence.last_value += count
        sequence.save(update_fields=["last_value"])
        prefix = template.reference.rsplit("-", 1)[0]
        with state_write_allowed():
            cases = Case.objects.bulk_create([
                Case(uuid=uuid.uuid4(), reference=f"{prefix}-{number:05d}",
                     **{name: getattr(template, name) for name in fields})
                for number in range(first, first + count)])
        CaseEvent.objects.bulk_create([
            CaseEvent(case=case, actor_id=event.actor_id, at=event.at, kind=event.kind, action=event.action,
                      from_state=event.from_state, to_state=event.to_state, before=event.before,
                      after={**event.after, "reference": case.reference} if "reference" in event.after else event.after,
                      note=event.note)
            for case in cases for event in events])
        Dossier.objects.bulk_create([
            Dossier(case=case, organisation_id=dossier.organisation_id, print_facility_id=dossier.print_facility_id,
                    fields=dossier.fields, complete=dossier.complete, missing=dossier.missing,
                    checked_at=dossier.checked_at)
            for case in cases])
        OutboxMessage.objects.bulk_create([
            OutboxMessage(task_name="licensing.result_issue", kwargs={"case_id": case.pk}) for case in cases])
    return [case.pk for case in cases]
