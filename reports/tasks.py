"""Celery entry points for the quarterly figures."""

from celery import shared_task
from django.db import transaction

from cases.models import Case
from cases.tasks import RETRY, TRANSIENT, outbox_done
from cases.workflow import TERMINAL
from worker.outbox import outbox_batched, outbox_enqueue_many

from . import services


@shared_task(name="reports.case_refresh", **RETRY)
def case_refresh(case_id: int, outbox_id: int | None = None) -> None:
    services.contribution_refresh(case_id=case_id)
    outbox_done(outbox_id)


@outbox_batched("reports.case_refresh")
def case_refresh_batch(kwargs_list: list[dict]) -> None:
    """Refresh rows as the outbox runs them: a batch of cases in one transaction."""
    services.contributions_refresh(case_ids=[kwargs["case_id"] for kwargs in kwargs_list])


@shared_task(name="reports.quarter_rollover")
def quarter_rollover() -> int:
    """At a new quarter (00:05 on its first day), open cases are carried over into it: a refresh row per case
    through the outbox, run in batches by the workers. The quarter that ended is frozen: its figures rebuilt from
    the cases as they stood at its end (whatever the refreshes still queued), kept as they are from now on. Returns
    the refresh rows written."""
    ids = list(Case.objects.filter(case_type__domain__in=services.REPORTED_DOMAINS).exclude(state__in=TERMINAL)
               .values_list("pk", flat=True))
    with transaction.atomic():
        queued = outbox_enqueue_many("reports.case_refresh", [{"case_id": case_id} for case_id in ids])
    services.quarters_freeze()
    return queued


@shared_task(name="reports.check")
def check() -> int:
    """Nightly: freeze any ended quarter the rollover missed, then compare kept, rebuilt and frozen figures (kept
    mismatches are repaired; drift of a closed quarter is only reported). Returns the problems found."""
    services.quarters_freeze()
    result = services.figures_check()
    return len(result.mismatches) + result.contributions_mismatched + len(result.drift)


@shared_task(name="reports.export_run", **RETRY)
def export_run(job_id: int, outbox_id: int | None = None) -> None:
    from .case_export import export_run as run

    run(job_id=job_id)
    outbox_done(outbox_id)


@shared_task(name="reports.report_sign", **RETRY)
def report_sign(report_id: int, outbox_id: int | None = None) -> None:
    """The signed PDF of an issued periodic report (reports/electronic.py). A failure other than a passing outage
    goes on the report's timeline (once per distinct error) and the outbox row stays undone: the sweep retries."""
    from . import electronic

    try:
        electronic.report_sign(report_id=report_id)
    except TRANSIENT:
        raise
    except Exception as exc:
        electronic.report_sign_failed(report_id=report_id, error=exc)
        raise
    outbox_done(outbox_id)
