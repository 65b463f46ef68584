"""Redis goes down while a dossier is received: the request still succeeds, and nothing is lost or done twice."""

import time
from datetime import timedelta

import pytest

from cases.models import Case, CaseEvent
from licensing.models import Notification
from worker.models import OutboxMessage
from worker.tasks import outbox_recovery_sweep

from .conftest import wait_for
from .support_concurrency import token_client, worker_successes
from .support_licensing import school_application

pytestmark = pytest.mark.django_db(transaction=True)

# A web request may wait this long for the broker, no more (connect timeout 2 s, one publish retry).
REQUEST_BUDGET_SECONDS = 5.0


def _receive(client, n: int):
    """The n-th school's bulletin dossier, received through the licensing door (with its own uuid)."""
    started = time.monotonic()
    response = client.post("/api/v1/licensing/applications/", school_application(n), format="json")
    return response, time.monotonic() - started


def _intake_message(case_id: int) -> OutboxMessage:
    return OutboxMessage.objects.get(task_name="cases.case_intake", kwargs__case_id=case_id)


def _timed(call):
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


def test_case_received_while_the_broker_is_down_is_taken_in_by_the_recovery_sweep(
    celery_worker, broker_proxy, officer, officer2, settings,  # noqa: F811
):
    settings.OUTBOX_SEND_GRACE = timedelta(0)
    client = token_client(officer)

    # Broker up: the first dossier goes through the proxy to the worker at once.
    response, _ = _receive(client, 1)
    assert response.status_code == 201
    first_id = response.json()["id"]
    wait_for(lambda: _intake_message(first_id).done_at, message="the first intake")
    # ... and the rest of its work (its receipt slip and the slip's signing), before the broker goes down.
    wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), message="the first case's tasks")
    assert broker_proxy.connections_accepted >= 1, "the web side did not publish through the proxy"

    # Broker down: the request is answered quickly and the case is stored, its task kept in the outbox.
    broker_proxy.stop()
    response, elapsed = _receive(client, 2)
    assert response.status_code == 201, response.content
    assert elapsed < REQUEST_BUDGET_SECONDS
    case = Case.objects.get(pk=response.json()["id"])
    assert case.reference and case.state == "received"
    message = _intake_message(case.pk)
    assert (message.sent_at, message.done_at, message.send_attempts) == (None, None, 1)
    assert message.last_error

    # A sweep while the broker is still down keeps the message, and does not hang either.
    sent, elapsed = _timed(outbox_recovery_sweep)
    assert sent == 0
    assert elapsed < REQUEST_BUDGET_SECONDS
    message.refresh_from_db()
    assert (message.sent_at, message.send_attempts) == (None, 2)
    case.refresh_from_db()
    assert case.intake_completed_at is None and case.assignee_id is None

    # Broker back: the sweep resends it and the worker completes the intake, once.
    broker_proxy.start()
    # The intake, the refresh of the quarterly figures, the applicant's receipt email and the receipt slip.
    assert outbox_recovery_sweep() == 4
    wait_for(lambda: _intake_message(case.pk).done_at, message="the resent intake")
    wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), message="every resent task")
    assert outbox_recovery_sweep() == 0  # sent and done: never sent again

    message.refresh_from_db()
    case.refresh_from_db()
    assert message.sent_at is not None and message.last_error == "" and message.send_attempts == 3
    assert case.assignee_id == officer2.pk  # the first case went to the other officer
    assert case.events.filter(kind=CaseEvent.Kind.INTAKE).count() == 1
    assert case.events.filter(kind=CaseEvent.Kind.ASSIGNMENT).count() == 1
    first = Case.objects.get(pk=first_id)
    assert first.assignee_id == officer.pk
    assert first.events.filter(kind=CaseEvent.Kind.INTAKE).count() == 1
    assert OutboxMessage.objects.filter(task_name="cases.case_intake").count() == 2
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()
    assert Notification.objects.filter(case__in=[case, first], key="received", sent_at__isnull=False).count() == 2
    # Intake, refresh, receipt emails and receipt slips are batched: the worker's batch runs did the eight rows (two
    # cases × intake, refresh, email, receipt).
    assert sum(int(n) for n in worker_successes(celery_worker, "worker.outbox_batch_run")) == 8
