"""Celery entry points for cases: thin, taking ids, safe to run twice."""

import logging

from celery import shared_task
from django.db import transaction

from worker.outbox import RETRY, TRANSIENT, outbox_batched, outbox_mark_done  # noqa: F401 (shared by the apps)

from . import services
from .errors import NotFound
from .models import Case
from .selectors import overdue_q

logger = logging.getLogger(__name__)


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
    """One intake per message: rows sent one by one (the tests' direct deliveries, messages of older releases)."""
    task_run(services.case_intake, case_id, outbox_id)


@outbox_batched("cases.case_intake")
def case_intake_batch(kwargs_list: list[dict]) -> None:
    """Intake rows as the outbox runs them: a batch at a time (cases that are gone are skipped)."""
    services.cases_intake(case_ids=[kwargs["case_id"] for kwargs in kwargs_list])


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
