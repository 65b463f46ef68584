"""Celery entry points for inspections: thin, taking ids, safe to run twice."""

from celery import shared_task

from cases.errors import NotFound
from cases.tasks import RETRY, TRANSIENT, outbox_done

from . import electronic, services


def task_run(service, outbox_id, **ids) -> None:
    try:
        service(**ids)
    except NotFound:  # the row is gone: nothing to make, and nothing to resend
        pass
    outbox_done(outbox_id)


@shared_task(name="inspections.photo_thumbnail", **RETRY)
def photo_thumbnail(photo_id: str, outbox_id: int | None = None) -> None:
    task_run(services.photo_thumbnail_make, outbox_id, photo_id=photo_id)


@shared_task(name="inspections.visit_minutes_render", **RETRY)
def visit_minutes_render(target_id: int, outbox_id: int | None = None) -> None:
    task_run(services.visit_minutes_issue, outbox_id, target_id=target_id)


@shared_task(name="inspections.violation_record_render", **RETRY)
def violation_record_render(violation_id: int, outbox_id: int | None = None) -> None:
    task_run(services.violation_record_issue, outbox_id, violation_id=violation_id)


@shared_task(name="inspections.conclusion_render", **RETRY)
def conclusion_render(campaign_id: int, outbox_id: int | None = None) -> None:
    task_run(services.conclusion_issue, outbox_id, campaign_id=campaign_id)


@shared_task(name="inspections.decision_render", **RETRY)
def decision_render(campaign_id: int, outbox_id: int | None = None) -> None:
    task_run(services.decision_issue, outbox_id, campaign_id=campaign_id)


@shared_task(name="inspections.sanction_decision_render", **RETRY)
def sanction_decision_render(sanction_id: int, outbox_id: int | None = None) -> None:
    task_run(services.sanction_decision_issue, outbox_id, sanction_id=sanction_id)


@shared_task(name="inspections.document_sign", **RETRY)
def document_sign(document_id: int, outbox_id: int | None = None) -> None:
    """The signed PDF of an inspection document. A failure other than a passing outage goes on the campaign's
    timeline (once per distinct error) and the outbox row stays undone, so the recovery sweep tries again."""
    try:
        electronic.document_sign(document_id=document_id)
    except TRANSIENT:
        raise
    except Exception as exc:
        electronic.document_sign_failed(document_id=document_id, error=exc)
        raise
    outbox_done(outbox_id)
