"""Cross-app tasks: the recovery sweep of the outbox and the run of a batched task name."""

from collections import defaultdict

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from . import outbox
from .models import OutboxMessage
from .outbox import RETRY, outbox_due_for_resend, outbox_send, outbox_wake


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
        error = outbox_wake(task_name, force=True)
        rows = OutboxMessage.objects.filter(pk__in=ids, done_at__isnull=True)  # (embedded mode ran them already)
        if error is None:
            rows.update(sent_at=timezone.now(), last_error="", send_attempts=F("send_attempts") + 1)
            sent += len(ids)
        else:
            rows.update(last_error=str(error)[:2000], send_attempts=F("send_attempts") + 1)
    return sent


@shared_task(name=outbox.BATCH_RUN_TASK, **RETRY)
def outbox_batch_run(task_name: str) -> int:
    return outbox.outbox_batch_run(task_name)
