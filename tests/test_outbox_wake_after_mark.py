"""A batched row's wake-up leaves only once the row's "sent" mark is committed.

A run claims its rows with FOR UPDATE SKIP LOCKED, so a row another transaction holds locked at that moment is
passed over. If the side that woke the run were still writing the row's mark (an UPDATE not yet committed) when the
run claimed, the run would find nothing and end, and the row would wait for the recovery sweep (up to
OUTBOX_RESEND_AFTER). This is how CI once waited 30 s in vain for an intake under load.

Here the mark's UPDATE is made slow (a PostgreSQL trigger sleeps a second inside it, the row locked) and the run
starts 0.3 s after its wake-up is sent, on its own connection, as a fast worker would: the run must still find and
do the row, whether the wake-up comes from the commit (outbox_dispatch) or from the recovery sweep.
"""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from cases.models import Case
from worker import outbox
from worker.celery import app
from worker.models import OutboxMessage
from worker.tasks import outbox_recovery_sweep

from .factories import case_make
from .support_concurrency import redis_client

INTAKE = "cases.case_intake"
# Sleeps inside the UPDATE that marks a row sent (not done): the row stays locked for that second.
SLOW_MARK = """
CREATE FUNCTION test_outbox_mark_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.sent_at IS DISTINCT FROM OLD.sent_at AND NEW.done_at IS NULL THEN PERFORM pg_sleep(1); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER test_outbox_mark_slow AFTER UPDATE ON worker_outboxmessage
  FOR EACH ROW EXECUTE FUNCTION test_outbox_mark_slow();
"""


@pytest.fixture
def slow_mark(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute(SLOW_MARK)
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_outbox_mark_slow ON worker_outboxmessage;"
                       "DROP FUNCTION test_outbox_mark_slow();")


@contextmanager
def fast_worker(monkeypatch):
    """Each wake-up sent starts a run of its task name 0.3 s later, in a thread with its own connection."""
    runs: list[threading.Thread] = []
    done: list[int] = []

    def run(task_name: str) -> None:
        time.sleep(0.3)
        try:
            done.append(outbox.outbox_batch_run(task_name, claimer="fast-worker"))
        finally:
            connections.close_all()

    def send_task(name, kwargs=None, **options):
        assert name == outbox.BATCH_RUN_TASK
        thread = threading.Thread(target=run, args=(kwargs["task_name"],))
        thread.start()
        runs.append(thread)

    with monkeypatch.context() as patch:
        patch.setattr(app, "send_task", send_task)
        try:
            yield runs, done
        finally:
            for thread in runs:
                thread.join(timeout=30)


def intake_waiting(officer) -> tuple[Case, OutboxMessage]:
    """A received case whose intake row is waiting, never sent, with no wake-up queued."""
    case = case_make(actor=officer)
    row = OutboxMessage.objects.get(task_name=INTAKE, kwargs__case_id=case.pk)
    OutboxMessage.objects.filter(task_name=INTAKE).update(
        sent_at=None, done_at=None, created_at=timezone.now() - timedelta(minutes=5))
    Case.objects.filter(pk=case.pk).update(intake_completed_at=None)
    redis_client().delete(outbox._wake_key(INTAKE))
    return case, row


@pytest.mark.parametrize("wake", ["after commit", "recovery sweep"])
def test_the_run_a_wake_up_starts_finds_the_row_even_when_the_mark_is_slow(wake, officer, monkeypatch, settings,
                                                                            slow_mark):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)  # the case's own dispatches go nowhere
    case, row = intake_waiting(officer)
    OutboxMessage.objects.exclude(pk=row.pk).update(done_at=timezone.now())  # only the intake is left for the sweep

    with fast_worker(monkeypatch) as (runs, done):
        if wake == "after commit":
            assert outbox.outbox_dispatch(message_id=row.pk, task_name=INTAKE) is True
        else:
            assert outbox_recovery_sweep() == 1
        assert len(runs) == 1

    assert done == [1]
    row.refresh_from_db()
    assert row.done_at is not None and row.sent_at is not None
    case.refresh_from_db()
    assert case.intake_completed_at is not None
