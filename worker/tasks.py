"""Cross-app tasks: the recovery sweep of the outbox."""

from celery import shared_task

from .outbox import outbox_due_for_resend, outbox_send


@shared_task(name="worker.outbox_recovery_sweep")
def outbox_recovery_sweep() -> int:
    """Send again every accepted task that never reached the broker (or whose delivery was lost)."""
    sent = 0
    for message_id in outbox_due_for_resend().order_by("pk").values_list("pk", flat=True)[:1000]:
        sent += outbox_send(message_id=message_id)
    return sent
