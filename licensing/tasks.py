"""Celery entry points for licensing: thin, taking ids, safe to run twice."""

from celery import shared_task

from cases.errors import NotFound
from cases.tasks import RETRY, TRANSIENT, outbox_done, task_run
from worker.outbox import outbox_batched

from . import electronic, notifications, services, slips
from .models import Notification


@shared_task(name="licensing.result_issue", **RETRY)
def result_issue(case_id: int, outbox_id: int | None = None) -> None:
    """Issue the result; a failure other than a passing outage is put on the case's timeline for the officers and
    the head (with their way forward), and the outbox row stays undone, so the recovery sweep tries again."""
    try:
        task_run(services.result_issue, case_id, outbox_id)
    except TRANSIENT:
        raise
    except Exception as exc:
        services.result_issue_failed(case_id=case_id, error=exc)
        raise


@shared_task(name="licensing.refusal_letter_issue", **RETRY)
def refusal_letter_issue(case_id: int, outbox_id: int | None = None) -> None:
    task_run(services.refusal_letter_issue, case_id, outbox_id)


@shared_task(name="licensing.apology_letter_issue", **RETRY)
def apology_letter_issue(case_id: int, event_id: int, outbox_id: int | None = None) -> None:
    services.apology_letter_issue(case_id=case_id, event_id=event_id)
    outbox_done(outbox_id)


@outbox_batched("licensing.receipt_issue")
def receipt_issue_batch(kwargs_list: list[dict]) -> dict[int, str] | None:
    """The receipts of a burst of received dossiers (licensing/slips.py), rendered in one run like the intake and
    the receipt emails, once per case (each queues its own signing). A receipt that cannot be made (a case without
    its dossier) leaves its row undone with the error, and the others done; a passing outage retries the run."""
    failed = {}
    for index, kwargs in enumerate(kwargs_list):
        try:
            slips.receipt_issue(case_id=kwargs["case_id"])
        except TRANSIENT:
            raise
        except Exception as exc:  # noqa: BLE001 - kept on the row for a person; the others go on
            failed[index] = f"{type(exc).__name__}: {exc}"[:2000]
    return failed or None


@shared_task(name="licensing.supplement_slip_issue", **RETRY)
def supplement_slip_issue(case_id: int, event_id: int, outbox_id: int | None = None) -> None:
    """The supplement request slip of one request; once per request event."""
    slips.supplement_slip_issue(case_id=case_id, event_id=event_id)
    outbox_done(outbox_id)


@shared_task(name="licensing.document_sign", **RETRY)
def document_sign(document_id: int, outbox_id: int | None = None) -> None:
    """The signed PDF of an issued document. A failure other than a passing outage goes on the case's timeline
    (once per distinct error) and the outbox row stays undone, so the recovery sweep tries again."""
    try:
        electronic.document_sign(document_id=document_id)
    except TRANSIENT:
        raise
    except Exception as exc:
        electronic.document_sign_failed(document_id=document_id, error=exc)
        raise
    outbox_done(outbox_id)


@shared_task(name="licensing.notification_send", **RETRY)
def notification_send(notification_id: int, outbox_id: int | None = None) -> None:
    """One email per message (messages of older releases; the outbox runs emails in batches)."""
    try:
        notifications.notification_send(notification_id=notification_id)
    except NotFound:
        pass  # nothing to send; finish instead of being resent
    outbox_done(outbox_id)


@outbox_batched("licensing.notification_send", atomic=False)
def notification_send_batch(kwargs_list: list[dict]) -> dict[int, str] | None:
    """Email rows as the outbox runs them: a batch over one connection, outside a transaction (each email's
    "sending" mark is committed before it leaves: notifications.notifications_send). Rows of emails sent, or
    marked "sending" by an earlier try (uncertain: a person decides), are done; the rows of emails not handed over
    are left with the error (tried again after OUTBOX_RESEND_AFTER)."""
    ids = [kwargs["notification_id"] for kwargs in kwargs_list]
    sent, error = notifications.notifications_send(notification_ids=ids)
    if error is None:
        return None
    if isinstance(error, TRANSIENT) and not sent:
        raise error  # nothing went out: the whole run is retried with backoff
    waiting = set(Notification.objects.filter(pk__in=ids, sent_at__isnull=True, sending_at__isnull=True)
                  .values_list("pk", flat=True))
    return {i: f"{type(error).__name__}: {error}" for i, pk in enumerate(ids) if pk in waiting}
