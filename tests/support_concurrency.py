"""Helpers for tests that run work at the same moment, or through the real Celery worker."""

import re
import threading
import time

import pytest
import redis
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

from .conftest import wait_for


def run_together(calls, *, timeout: float = 60.0) -> list:
    """Run each callable in its own thread, all released at once by a barrier.

    Each thread uses its own database connection (Django's are per thread) and closes it at the end.
    Returns, in order, each call's result or the exception it raised.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def runner(index, call):
        try:
            barrier.wait(timeout=timeout)
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001  the test inspects what each thread got
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a thread is still running: deadlock?"
    return results


def token_client(user) -> APIClient:
    """A fresh API client signed in with the user's token: one per thread, never shared."""
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def slow_after_lock(monkeypatch):
    """Hold every case a little after reading it under lock, so that racing writers really overlap.

    With the row lock this only makes the others wait; without it they would all read the same state.
    """
    from cases import services

    original = services.case_lock

    def lock_then_pause(case_id):
        case = original(case_id)
        time.sleep(0.05)
        return case

    monkeypatch.setattr(services, "case_lock", lock_then_pause)


@pytest.fixture
def outbox_sends_held(monkeypatch):
    """Record outbox messages without publishing (or waking) them after commit, so the test delivers them itself."""
    import worker.outbox

    held: list[int] = []
    monkeypatch.setattr(worker.outbox, "outbox_dispatch",
                        lambda *, message_id, task_name: held.append(message_id) or False)
    return held


def redis_client():
    return redis.Redis.from_url(settings.REDIS_URL)


def worker_log(worker) -> str:
    return worker.log_path.read_text(errors="replace")


def worker_successes(worker, task_name: str, task_id: str | None = None) -> list[str]:
    """Return values the worker logged for each successful run of `task_name` (of one task id, if given)."""
    task = re.escape(task_id) if task_id else r"[0-9a-f-]+"
    pattern = rf"Task {re.escape(task_name)}\[{task}\] succeeded in [0-9.e-]+s: (.*)"
    return re.findall(pattern, worker_log(worker))


def worker_wait_successes(worker, task_name: str, count: int, *, task_id: str | None = None,
                          timeout: float = 30.0) -> list[str]:
    """Wait until the worker has logged `count` successful runs of the task; fail on a task error."""

    def enough():
        log = worker_log(worker)
        if re.search(rf"Task {re.escape(task_name)}\[[0-9a-f-]+\] (raised|retry)", log):
            raise AssertionError(f"{task_name} failed in the worker:\n{log[-4000:]}")
        found = worker_successes(worker, task_name, task_id)
        return (found,) if len(found) >= count else None  # a tuple: truthy even when nothing is expected

    [found] = wait_for(enough, timeout=timeout, message=f"{count} successful run(s) of {task_name}")
    return found
