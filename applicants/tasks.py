"""Celery entry points of the applicants' app: thin, taking ids, safe to run twice."""

import logging

from celery import shared_task

from cases.tasks import RETRY, TRANSIENT, outbox_done

from . import slips

logger = logging.getLogger(__name__)


@shared_task(name="applicants.refusal_slip_issue", **RETRY)  # slips.TASK
def refusal_slip_issue(submission_id: int, outbox_id: int | None = None) -> None:
    """The signed refusal-to-receive slip of a dossier refused online. A failure other than a passing outage is
    logged and the outbox row stays undone, so the recovery sweep tries again."""
    try:
        slips.refusal_slip_issue(submission_id=submission_id)
    except TRANSIENT:
        raise
    except Exception:
        logger.exception("the refusal slip of online dossier %s could not be made", submission_id)
        raise
    outbox_done(outbox_id)
