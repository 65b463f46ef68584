"""Celery entry points for cases: thin, taking ids, safe to run twice."""

import logging

from celery import shared_task
from django.db import OperationalError, transaction

from worker.outbox import outbox_mark_done

from . import services
from .errors import NotFound
from .models import Case
from .selectors import overdue_q

logger = logging.getLogger(__name__)

# Transient failures only (database restarting, connection dropped): retried with backoff.
TRANSIENT = (OperationalError, ConnectionError, TimeoutError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 2, "retry_backoff_max": 300, "retry_jitter": True,
         "max_retries": 8}


def outbox_done(outbox_id) -> None:
    with transaction.atomic():
        outbox_mark_done(outbox_id)


def task_run(service, case_id: int, outbox_id: int | None) -> None:
    try:
        service(case_id=case_id)
    except NotFound:  # nothing to do for a case that is not there; do not resend forever
        logger.warning("%s: case %s not found", service.__name__, case_id)
    outbox_done(outbox_id)


@shared_task(name="cases.case_intake", **RETRY)
def case_intake(case_id: int, outbox_id: int | None = None) -> None:
    task_run(services.case_intake, case_id, outbox_id)


@shared_task(name="cases.case_overdue_flag", **RETRY)
def case_overdue_flag(case_id: int) -> None:
    task_run(services.case_overdue_flag, case_id, None)


@shared_task(name="cases.overdue_sweep")
def overdue_sweep() -> int:
    """Fan out one task per case that went overdue and is not yet flagged."""
    ids = list(Case.objects.filter(overdue_q(), overdue_flagged_at__isnull=True).values_list("pk", flat=True)[:5000])
    for case_id in ids:
        case_overdue_flag.delay(case_id=case_id)
    return len(ids)
