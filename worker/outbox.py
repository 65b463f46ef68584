"""Enqueue tasks through the outbox: accepted work is never lost when the broker is down."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)


def outbox_enqueue(task_name: str, **kwargs) -> OutboxMessage:
    """Record the task in the current transaction and send it after commit.

    kwargs must be plain JSON (ids, strings). The task receives them plus `outbox_id`.
    """
    message = OutboxMessage.objects.create(task_name=task_name, kwargs=kwargs)
    transaction.on_commit(lambda: outbox_send(message_id=message.pk))
    return message


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
    from django.db.models import Q

    cutoff = timezone.now() - settings.OUTBOX_RESEND_AFTER
    return OutboxMessage.objects.filter(done_at__isnull=True).filter(
        Q(sent_at__isnull=True, created_at__lt=timezone.now() - settings.OUTBOX_SEND_GRACE)
        | Q(sent_at__lt=cutoff)
    )
