"""Celery entry points for licensing: thin, taking ids, safe to run twice."""

from celery import shared_task

from cases.errors import NotFound
from cases.tasks import RETRY, outbox_done, task_run

from . import services


@shared_task(name="licensing.result_issue", **RETRY)
def result_issue(case_id: int, outbox_id: int | None = None) -> None:
    task_run(services.result_issue, case_id, outbox_id)


@shared_task(name="licensing.refusal_letter_issue", **RETRY)
def refusal_letter_issue(case_id: int, outbox_id: int | None = None) -> None:
    task_run(services.refusal_letter_issue, case_id, outbox_id)


@shared_task(name="licensing.apology_letter_issue", **RETRY)
def apology_letter_issue(case_id: int, event_id: int, outbox_id: int | None = None) -> None:
    services.apology_letter_issue(case_id=case_id, event_id=event_id)
    outbox_done(outbox_id)


@shared_task(name="licensing.notification_send", **RETRY)
def notification_send(notification_id: int, outbox_id: int | None = None) -> None:
    try:
        services.notification_send(notification_id=notification_id)
    except NotFound:
        pass  # nothing to send; finish instead of being resent
    outbox_done(outbox_id)
