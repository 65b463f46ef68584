"""Fault: Redis (broker and cache) is down while 100 applications are received through the API.

The test runs a Redis of its own and really shuts it down (the shared one is left alone). Every request is
answered 201 at once and its case, dossier and tasks are stored; the tasks wait in the outbox. Redis comes back
empty (no dump) on the same port; one recovery sweep sends every waiting task, and the worker, reconnected by
itself, takes every case in: assigned, completeness checked, the applicant's email sent, the figures refreshed.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from cases.models import Case, CaseEvent
from licensing.models import Dossier, Notification
from worker.models import OutboxMessage
from worker.tasks import outbox_recovery_sweep

from .conftest import wait_for
from .support_concurrency import token_client
from .support_faults import own_redis, worker_factory  # noqa: F401
from .support_licensing import school_application

pytestmark = pytest.mark.django_db(transaction=True)

APPLICATIONS = 100
# A web request may wait this long for the broker, no more (connect timeout 2 s, one publish retry).
REQUEST_BUDGET_SECONDS = 5.0
APPLICATIONS_URL = "/api/v1/licensing/applications/"


def receive(client, n: int):
    started = time.monotonic()
    response = client.post(APPLICATIONS_URL, school_application(n), format="json")
    return response, time.monotonic() - started


def messages_of(case_ids):
    return OutboxMessage.objects.filter(kwargs__case_id__in=list(case_ids))


def all_done() -> bool:
    return not OutboxMessage.objects.filter(done_at__isnull=True).exists()


def test_applications_received_while_redis_is_down_are_all_processed_after_one_recovery_sweep(
        worker_factory, own_redis, officer, officer2):  # noqa: F811
    worker = worker_factory()
    worker.start()
    client = token_client(officer)

    # Redis up: an application goes through it to the worker at once.
    response, _ = receive(client, 0)
    assert response.status_code == 201, response.content
    before = response.json()["id"]
    wait_for(all_done, timeout=30, message="the first application's tasks")
    assert Case.objects.get(pk=before).intake_completed_at is not None

    # Redis down: every application is accepted and stored, quickly; its tasks wait in the outbox.
    own_redis.stop()
    answers = [receive(client, n) for n in range(1, APPLICATIONS + 1)]
    assert [response.status_code for response, _ in answers] == [201] * APPLICATIONS, \
        [response.content[:300] for response, _ in answers if response.status_code != 201]
    slowest = max(elapsed for _, elapsed in answers)
    assert slowest < REQUEST_BUDGET_SECONDS, slowest
    case_ids = [response.json()["id"] for response, _ in answers]
    assert len(set(case_ids)) == APPLICATIONS
    cases = Case.objects.filter(pk__in=case_ids)
    assert set(cases.values_list("state", flat=True)) == {"received"}
    assert Dossier.objects.filter(case_id__in=case_ids).count() == APPLICATIONS
    waiting = messages_of(case_ids) | OutboxMessage.objects.filter(
        task_name="licensing.notification_send",
        kwargs__notification_id__in=list(Notification.objects.filter(case_id__in=case_ids).values_list("pk", flat=True)))
    per_case = Counter(waiting.values_list("task_name", flat=True))
    assert per_case == {"cases.case_intake": APPLICATIONS, "reports.case_refresh": APPLICATIONS,
                        "licensing.notification_send": APPLICATIONS, "licensing.receipt_issue": APPLICATIONS}, per_case
    assert not waiting.filter(sent_at__isnull=False).exists()
    assert not waiting.filter(done_at__isnull=False).exists()
    assert not waiting.filter(last_error="").exists()
    assert set(waiting.values_list("send_attempts", flat=True)) == {1}
    assert not cases.filter(intake_completed_at__isnull=False).exists()
    pending = set(OutboxMessage.objects.filter(done_at__isnull=True).values_list("pk", flat=True))
    assert pending == set(waiting.values_list("pk", flat=True))

    # Redis back, empty, on the same port. One sweep (beat runs it every minute; the messages are older than
    # OUTBOX_SEND_GRACE by then) sends every waiting task; the worker reconnects by itself and does them.
    own_redis.start()
    with time_machine.travel(timezone.now() + django_settings.OUTBOX_SEND_GRACE + timedelta(minutes=1)):
        assert outbox_recovery_sweep() == len(pending)
    wait_for(all_done, timeout=90, message="every task sent by the sweep to be done")
    assert worker.process.poll() is None  # the same worker process, reconnected

    cases = list(Case.objects.filter(pk__in=case_ids).select_related("dossier"))
    assert all(case.intake_completed_at is not None for case in cases)
    assert {case.assignee_id for case in cases} == {officer.pk, officer2.pk}
    assert all(case.dossier.complete is False for case in cases)  # the layout sample is still to come
    for kind in (CaseEvent.Kind.INTAKE, CaseEvent.Kind.ASSIGNMENT, CaseEvent.Kind.NOTIFICATION):
        assert Counter(CaseEvent.objects.filter(case_id__in=case_ids, kind=kind).values_list("case_id", flat=True)) \
            == Counter(case_ids), kind
    assert Notification.objects.filter(case_id__in=case_ids, sent_at__isnull=False).count() == APPLICATIONS
    assert set(waiting.values_list("send_attempts", flat=True)) == {2}
    assert not waiting.filter(sent_at__isnull=True).exists()
    assert " raised " not in worker.log(), worker.log()[-4000:]
