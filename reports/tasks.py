"""Celery entry points for the quarterly figures."""

from celery import shared_task

from cases.models import Case
from cases.tasks import RETRY, outbox_done
from cases.workflow import TERMINAL

from . import services


@shared_task(name="reports.case_refresh", **RETRY)
def case_refresh(case_id: int, outbox_id: int | None = None) -> None:
    services.contribution_refresh(case_id=case_id)
    outbox_done(outbox_id)


@shared_task(name="reports.quarter_rollover")
def quarter_rollover() -> int:
    """At a new quarter, open cases are carried over into it: refresh each (one task per case)."""
    ids = list(Case.objects.filter(case_type__domain__in=services.REPORTED_DOMAINS).exclude(state__in=TERMINAL)
               .values_list("pk", flat=True))
    for case_id in ids:
        case_refresh.delay(case_id=case_id)
    return len(ids)


@shared_task(name="reports.check")
def check() -> int:
    return len(services.figures_check().mismatches)


@shared_task(name="reports.export_run", **RETRY)
def export_run(job_id: int, outbox_id: int | None = None) -> None:
    from .case_export import export_run as run

    run(job_id=job_id)
    outbox_done(outbox_id)
