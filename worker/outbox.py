"""Enqueue tasks through the outbox: accepted work is never lost when the broker is down.

Two ways a row reaches a worker:

* One message per row (issuing a licence, rendering a document, an export): published after commit by
  `outbox_send`; the task gets the row's kwargs plus `outbox_id` and marks the row done.
* Batched task names (`outbox_batched`: intake, the figures' refresh, receipt emails): many rows, one message.
  After commit the web side only *wakes* the task name: a flag in Redis (`SET NX`) lets one wake-up message be
  queued at a time, and the worker that runs it clears the flag, claims up to `OUTBOX_BATCH_SIZE` rows with
  `FOR UPDATE SKIP LOCKED`, runs them set-based in one transaction, marks them done in the same transaction and
  goes on until fewer than a batch are left (waking the task again when a batch was full, so that another worker
  joins in). Any row committed before the flag was cleared is seen by that claim; any row committed after sets the
  flag again and queues a new message. A lost wake-up loses nothing: the rows are still in the database, and the
  recovery sweep wakes every task name that has rows never sent (the wake-up failed) after `OUTBOX_SEND_GRACE`,
  or sent and not done after `OUTBOX_RESEND_AFTER`, as it resends single messages.
* A batched name whose handler commits as it goes (`outbox_batched(..., atomic=False)`: emails, which must be marked
  before they leave) has its rows claimed in a transaction of their own (`claimed_at`, `claimed_by`: the worker's
  node name) and run outside it; other runs leave claimed rows alone. A claim whose holder died is given up when a
  worker starts (`outbox_claims_release`, with the workers that answer a ping) or, failing that, after
  `OUTBOX_RESEND_AFTER`.
* A starting worker wakes every batched name that has rows waiting (`outbox_wake_waiting`): a wake-up that died with
  a killed worker costs seconds, not `OUTBOX_RESEND_AFTER`.
"""

import logging
import os
import socket
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from functools import cache

import redis
from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# Transient failures only (database restarting, connection dropped): retried with backoff.
TRANSIENT = (OperationalError, ConnectionError, TimeoutError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 2, "retry_backoff_max": 300, "retry_jitter": True,
         "max_retries": 8}

BATCH_RUN_TASK = "worker.outbox_batch_run"
# A run gives way after this many batches (a message of its own carries on), so that a stream of receipts does
# not keep a worker from issuing and the other messages behind it.
BATCHES_PER_RUN = 20

# task name → handler(list of kwargs) → {position in the list: reason} for rows it left undone (None: all done).
# The handler runs in the claiming transaction; raising means none of the batch was done.
_batched: dict[str, Callable[[list[dict]], dict[int, str] | None]] = {}
# Batched names whose handler commits as it goes: run outside the claiming transaction, on rows claimed first.
_committing: set[str] = set()


def outbox_batched(task_name: str, *, atomic: bool = True):
    """Register the set-based handler of a task name: its rows are then run in batches, not one message each.

    atomic (the default): the handler runs in the transaction that claimed the rows and marks them done; its
    work and the rows' state commit together. atomic=False, for a handler that must commit as it goes (an email's
    "sending" mark is committed before the email leaves): the rows are claimed in a transaction of their own, the
    handler runs outside any transaction and must be safe to run again on a row whose run died part way."""
    def register(handler):
        _batched[task_name] = handler
        if atomic:
            _committing.discard(task_name)
        else:
            _committing.add(task_name)
        return handler
    return register


def outbox_is_batched(task_name: str) -> bool:
    return task_name in _batched


def outbox_enqueue(task_name: str, **kwargs) -> OutboxMessage:
    """Record the task in the current transaction and send (or wake) it after commit.

    kwargs must be plain JSON (ids, strings). A task sent one per row receives them plus `outbox_id`.
    """
    message = OutboxMessage.objects.create(task_name=task_name, kwargs=kwargs)
    transaction.on_commit(lambda: outbox_dispatch(message_id=message.pk, task_name=task_name))
    return message


def outbox_enqueue_many(task_name: str, kwargs_list: list[dict]) -> int:
    """Many rows of one task name in one INSERT (a sweep's fan-out); each is sent or woken after commit."""
    messages = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task_name=task_name, kwargs=kwargs) for kwargs in kwargs_list], batch_size=2000)
    if task_name in _batched:
        if messages:
            transaction.on_commit(lambda: outbox_dispatch(message_id=messages[0].pk, task_name=task_name))
    else:
        for message in messages:
            transaction.on_commit(lambda pk=message.pk: outbox_dispatch(message_id=pk, task_name=task_name))
    return len(messages)


def outbox_dispatch(*, message_id: int, task_name: str) -> bool:
    """After commit: wake a batched task name, or publish the row as a message of its own."""
    if task_name in _batched:
        rows = OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True)
        return outbox_wake_rows(task_name, rows) is None
    return outbox_send(message_id=message_id)


def outbox_wake_rows(task_name: str, rows, *, force: bool = False) -> Exception | None:
    """Wake a batched task name for these rows (a queryset of its rows not done), marked sent first.

    The mark is written, and committed, before the wake-up leaves: from then on a run may claim the rows at any
    moment, and a claim passes over rows another transaction holds locked (FOR UPDATE SKIP LOCKED). A mark written
    after the wake-up could hide its rows from the very run it woke, which would find nothing, and they would wait
    for the recovery sweep. If the broker cannot be reached, the mark is taken back: the rows are left unsent, with
    the error, for the sweep. Call it outside any transaction (after commit, or from the sweep), or the mark's
    commit waits for the caller's. Returns that error, else None."""
    rows.update(send_attempts=F("send_attempts") + 1, sent_at=timezone.now(), last_error="")
    error = outbox_wake(task_name, force=force)
    if error is not None:
        rows.update(sent_at=None, last_error=str(error)[:2000])
    return error


def outbox_send(*, message_id: int) -> bool:
    """Publish one outbox message; on a broker error leave it for the recovery sweep."""
    from worker.celery import app

    message = OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).first()
    if message is None:
        return False
    OutboxMessage.objects.filter(pk=message_id).update(send_attempts=F("send_attempts") + 1)
    kwargs = {**message.kwargs, "outbox_id": message.pk}
    try:
        if settings.CELERY_TASK_ALWAYS_EAGER:  # embedded mode: run in process
            app.tasks[message.task_name].apply(kwargs=kwargs)
        else:
            app.send_task(message.task_name, kwargs=kwargs)
    except Exception as exc:  # broker down or unreachable: the sweep will retry from the database
        logger.warning("outbox %s: broker unreachable, left for the recovery sweep: %s", message_id, exc)
        OutboxMessage.objects.filter(pk=message_id).update(last_error=str(exc)[:2000])
        return False
    # In eager mode the task has already run and marked the row done; keep done_at as it is.
    OutboxMessage.objects.filter(pk=message_id).update(sent_at=timezone.now(), last_error="")
    return True


def outbox_mark_done(outbox_id: int | None) -> None:
    if outbox_id is not None:
        OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=True).update(done_at=timezone.now())


def outbox_due_for_resend():
    """Messages not done that were never sent, or sent long enough ago that the delivery looks lost."""
    cutoff = timezone.now() - settings.OUTBOX_RESEND_AFTER
    return OutboxMessage.objects.filter(done_at__isnull=True).filter(
        Q(sent_at__isnull=True, created_at__lt=timezone.now() - settings.OUTBOX_SEND_GRACE)
        | Q(sent_at__lt=cutoff)
    )


# --- Batched task names ---------------------------------------------------------------------------------------


@cache
def _redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def _wake_key(task_name: str) -> str:
    return f"sttt:outbox-wake:{settings.CELERY_TASK_DEFAULT_QUEUE}:{task_name}"


def outbox_wake(task_name: str, *, force: bool = False) -> Exception | None:
    """Queue one run of a batched task name unless one is already queued (force: queue one anyway).

    Returns the error when the broker could not be reached (the rows wait for the recovery sweep), else None.
    """
    from worker.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:  # embedded mode: run the batch in process
        app.tasks[BATCH_RUN_TASK].apply(kwargs={"task_name": task_name})
        return None
    key = _wake_key(task_name)
    client = _redis_for(app.conf.broker_url)
    try:
        # The flag outlives a wake-up that waits behind a long queue only by OUTBOX_WAKE_TTL: after that a
        # new commit queues another, which finds little or nothing to do.
        ttl = int(settings.OUTBOX_WAKE_TTL.total_seconds() * 1000)
        if client.set(key, "1", nx=not force, px=ttl) is None:
            return None  # a wake-up is queued and has not started yet: it will see this row
        queue = settings.CELERY_DOCUMENTS_QUEUE if task_name in settings.OUTBOX_DOCUMENTS_BATCHED else None
        app.send_task(BATCH_RUN_TASK, kwargs={"task_name": task_name}, queue=queue)
    except Exception as exc:  # broker down or unreachable: the sweep will wake it from the database
        logger.warning("outbox %s: broker unreachable, left for the recovery sweep: %s", task_name, exc)
        try:
            client.delete(key)
        except Exception:  # noqa: S110 (the flag expires on its own)
            pass
        return exc
    return None


def _process_name() -> str:
    """Who claims rows when no worker node name is given (a run in this process: tests, embedded mode)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _claimable(task_name: str, now):
    """The rows of a batched name a run may take: not done, not failed lately (left alone for OUTBOX_RESEND_AFTER,
    as a failed message would be) and not claimed by a run that may still be at work."""
    recent_failure = Q(last_error__gt="", sent_at__gte=now - settings.OUTBOX_RESEND_AFTER)
    held = Q(claimed_at__gte=now - settings.OUTBOX_RESEND_AFTER)
    return (OutboxMessage.objects.filter(task_name=task_name, done_at__isnull=True)
            .exclude(recent_failure).exclude(held))


def outbox_batch_run(task_name: str, *, claimer: str = "") -> int:
    """Run every waiting row of a batched task name, a batch at a time. Returns the rows this run did.

    claimer: the worker's node name (recorded on the rows claimed by a handler that commits as it goes)."""
    handler = _batched[task_name]
    atomic = task_name not in _committing
    claimer = claimer or _process_name()
    from worker.celery import app

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        # Cleared before the first claim: a row committed from now on wakes the task again.
        _redis_for(app.conf.broker_url).delete(_wake_key(task_name))
    size = settings.OUTBOX_BATCH_SIZE
    done = batches = 0
    while True:
        if atomic:
            with transaction.atomic():
                rows = _claim(task_name, size)
                if not rows:
                    return done
                _more_invite(task_name, rows, size)
                failed = _batch_apply(handler, task_name, rows)
                done += _batch_finish(rows, failed)
        else:
            with transaction.atomic():
                rows = _claim(task_name, size)
                OutboxMessage.objects.filter(pk__in=[pk for pk, _kwargs in rows]).update(
                    claimed_at=timezone.now(), claimed_by=claimer[:200])
            if not rows:
                return done
            _more_invite(task_name, rows, size)
            try:
                failed = _batch_apply(handler, task_name, rows, atomic=False)
            except BaseException:
                _claims_give_up(rows)  # a transient failure: the retry (or another run) takes them at once
                raise
            with transaction.atomic():
                done += _batch_finish(rows, failed)
        batches += 1
        if len(rows) < size:
            return done
        if batches >= BATCHES_PER_RUN and not settings.CELERY_TASK_ALWAYS_EAGER:
            # The wake-up sent with this full batch carries on; meanwhile other messages get their turn.
            return done


def _claim(task_name: str, size: int) -> list[tuple[int, dict]]:
    return list(_claimable(task_name, timezone.now()).select_for_update(skip_locked=True)
                .order_by("pk").values_list("pk", "kwargs")[:size])


def _more_invite(task_name: str, rows: list, size: int) -> None:
    if len(rows) == size and not settings.CELERY_TASK_ALWAYS_EAGER:
        outbox_wake(task_name)  # more are probably waiting: let another worker take the next batch


def _batch_finish(rows: list[tuple[int, dict]], failed: dict[int, str]) -> int:
    """Mark a batch's rows done, or failed with their error (left alone for OUTBOX_RESEND_AFTER); claims end.
    Returns the rows marked done now (a row another run finished meanwhile is not counted twice)."""
    now = timezone.now()
    ok = [pk for pk, _kwargs in rows if pk not in failed]
    done = OutboxMessage.objects.filter(pk__in=ok, done_at__isnull=True).update(
        done_at=now, sent_at=Coalesce("sent_at", Value(now)), claimed_at=None, claimed_by="")
    for pk, error in failed.items():
        OutboxMessage.objects.filter(pk=pk, done_at__isnull=True).update(
            sent_at=now, last_error=error[:2000], send_attempts=F("send_attempts") + 1, claimed_at=None, claimed_by="")
    return done


def _claims_give_up(rows: list[tuple[int, dict]]) -> None:
    try:
        OutboxMessage.objects.filter(pk__in=[pk for pk, _kwargs in rows], done_at__isnull=True).update(
            claimed_at=None, claimed_by="")
    except Exception:  # the database is gone too: the claims end when a worker starts, or after OUTBOX_RESEND_AFTER
        logger.warning("outbox: claims of %s rows could not be given up", len(rows))


def outbox_claims_release(*, alive: Iterable[str]) -> int:
    """Give up the claims of holders that are not in `alive` (workers that died with rows claimed): their rows can
    be taken at once. What such a holder had already done is safe to do again (see outbox_batched)."""
    return (OutboxMessage.objects.filter(done_at__isnull=True, claimed_at__isnull=False)
            .exclude(claimed_by__in=list(alive)).update(claimed_at=None, claimed_by=""))


def outbox_batched_waiting() -> list[str]:
    """The batched task names that have rows a run would take now."""
    now = timezone.now()
    return [name for name in sorted(_batched) if _claimable(name, now).exists()]


def outbox_wake_waiting() -> list[str]:
    """Wake every batched name that has rows waiting (a worker starting: the wake-up of those rows may have died
    with a worker). Returns the names woken."""
    return [name for name in outbox_batched_waiting() if outbox_wake(name, force=True) is None]


def _batch_apply(handler, task_name: str, rows: list[tuple[int, dict]], *, atomic: bool = True) -> dict[int, str]:
    """Run a batch; if it fails for a reason other than a transient one, run its rows one by one so that one bad
    row does not hold the others back. Returns {row id: error} for the rows left undone. atomic: the batch, then each
    row, runs in a savepoint (undone as a whole when it fails); otherwise the handler commits as it goes."""
    block = transaction.atomic if atomic else nullcontext
    try:
        with block():
            undone = handler([kwargs for _pk, kwargs in rows]) or {}
        return {rows[i][0]: reason for i, reason in undone.items()}
    except TRANSIENT:
        raise  # the whole run is retried with backoff
    except Exception:
        logger.exception("outbox %s: a batch of %s failed; running its rows one by one", task_name, len(rows))
    failed = {}
    for pk, kwargs in rows:
        try:
            with block():
                for reason in (handler([kwargs]) or {}).values():
                    failed[pk] = reason
        except TRANSIENT:
            raise
        except Exception as exc:
            logger.exception("outbox %s: row %s failed", task_name, pk)
            failed[pk] = f"{type(exc).__name__}: {exc}"
    return failed
