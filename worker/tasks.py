"""Cross-app tasks: the recovery sweep of the outbox and the run of a batched task name; what a worker does as it
starts (take up the batched work a dead worker left)."""

import logging
from collections import defaultdict

from celery import shared_task
from celery.signals import worker_ready
from django.db import connections

from . import outbox
from .models import OutboxMessage
from .outbox import RETRY, outbox_due_for_resend, outbox_send, outbox_wake_rows

logger = logging.getLogger(__name__)
# How long a starting worker waits for the others to answer its ping (their claims are kept; the rest are given up).
PING_TIMEOUT = 1.0


@shared_task(name="worker.outbox_recovery_sweep")
def outbox_recovery_sweep() -> int:
    """Send again every accepted task that never reached the broker (or whose delivery was lost).

    Rows of a batched task name are covered by one wake-up per name. Returns the rows whose delivery was started.
    """
    sent = 0
    batched: dict[str, list[int]] = defaultdict(list)
    for message_id, task_name in outbox_due_for_resend().order_by("pk").values_list("pk", "task_name")[:1000]:
        if outbox.outbox_is_batched(task_name):
            batched[task_name].append(message_id)
        else:
            sent += outbox_send(message_id=message_id)
    for task_name, ids in batched.items():
        rows = OutboxMessage.objects.filter(pk__in=ids, done_at__isnull=True)
        if outbox_wake_rows(task_name, rows, force=True) is None:
            sent += len(ids)
    return sent


@shared_task(name=outbox.BATCH_RUN_TASK, bind=True, **RETRY)
def outbox_batch_run(self, task_name: str) -> int:
    return outbox.outbox_batch_run(task_name, claimer=self.request.hostname or "")


def workers_answering(app, *, own: str) -> set[str] | None:
    """Node names of the other workers that answer a ping (None if the broker could not be asked)."""
    try:
        replies = app.control.ping(timeout=PING_TIMEOUT) or []
    except Exception as exc:
        logger.warning("worker start: the other workers could not be pinged: %s", exc)
        return None
    return {name for reply in replies for name in reply} - {own}


@worker_ready.connect
def outbox_take_up_on_start(sender=None, **kwargs) -> None:
    """A worker that starts takes up at once the batched work that waits, instead of after OUTBOX_RESEND_AFTER:
    the wake-up of those rows may have died with a killed worker (Redis holds it unacknowledged for an hour).

    Claims held by workers that do not answer a ping are given up first (their rows would wait for
    OUTBOX_RESEND_AFTER): the claims of a worker that died part way through a batch of emails. This worker has run
    nothing yet (the signal comes before its first message), so a claim under its own node name is a previous
    life's. Runs in the worker's main process before it takes its first message; never stops the worker."""
    own = getattr(sender, "hostname", "") or ""
    try:
        alive = workers_answering(sender.app, own=own) if sender is not None else None
        released = outbox.outbox_claims_release(alive=alive) if alive is not None else \
            OutboxMessage.objects.filter(done_at__isnull=True, claimed_by=own).exclude(claimed_by="").update(
                claimed_at=None, claimed_by="")
        woken = outbox.outbox_wake_waiting()
        if released or woken:
            logger.info("worker start: %s claims of dead workers given up; woken: %s", released,
                        ", ".join(woken) or "nothing")
    except Exception:  # the database or Redis is down: the recovery sweep will do it
        logger.exception("worker start: waiting batched work could not be taken up")
    finally:
        connections.close_all()  # pool processes forked later must not share this process's connection
