from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A task the database has accepted, written in the same transaction as the change that needs it.

    It is sent to the broker after commit; if the broker was unreachable, the recovery sweep
    finds the row and sends it again. Tasks are idempotent, so a second delivery is harmless.
    """

    task_name = models.CharField(_("task"), max_length=200)
    kwargs = models.JSONField(_("arguments"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    send_attempts = models.PositiveIntegerField(_("send attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # A run of a batched name whose handler commits as it goes (emails) claims its rows in a transaction of their
    # own first: other runs leave them alone while the claim is held (worker/outbox.py).
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(fields=["created_at"], name="outbox_pending_idx", condition=models.Q(done_at__isnull=True)),
            # The batch claim: the waiting rows of one task name, oldest first.
            models.Index(fields=["task_name", "id"], name="outbox_batch_idx", condition=models.Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}({self.kwargs}) #{self.pk}"
