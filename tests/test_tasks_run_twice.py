"""Each task, run twice, has one effect: in process, and when the broker delivers the same message twice."""

import base64
import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from cases import tasks as case_tasks
from cases.models import Case, CaseEvent, Sequence
from licensing import tasks as licensing_tasks
from tests.support_licensing import counter_key
from worker import tasks as worker_tasks
from worker.models import OutboxMessage

from .conftest import wait_for
from .factories import case_make
from .support_concurrency import (
    redis_client,
    worker_successes,
    worker_wait_successes,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def _outbox(case: Case, task_name: str) -> OutboxMessage:
    return OutboxMessage.objects.get(task_name=task_name, kwargs__case_id=case.pk)


def _snapshot(case: Case) -> dict:
    case = Case.objects.get(pk=case.pk)
    return {
        "state": case.state, "version": case.version, "assignee": case.assignee_id,
        "intake_completed_at": case.intake_completed_at, "overdue_flagged_at": case.overdue_flagged_at,
        "result_number": case.result_number, "updated_at": case.updated_at,
        "events": list(case.events.order_by("id").values_list("id", "kind", "action")),
    }


# --- In process: the task function called twice ----------------------------------------------------


@pytest.mark.django_db
def test_intake_twice_assigns_once(officer, officer2):
    case = case_make(actor=officer)
    message = _outbox(case, "cases.case_intake")
    received = _snapshot(case)["events"]  # the receipt, and the dossier's file with its completeness check

    case_tasks.case_intake(case_id=case.pk, outbox_id=message.pk)
    after_first = _snapshot(case)
    done_at = OutboxMessage.objects.get(pk=message.pk).done_at
    case_tasks.case_intake(case_id=case.pk, outbox_id=message.pk)

    assert _snapshot(case) == after_first
    assert after_first["assignee"] == officer.pk
    assert after_first["intake_completed_at"] is not None
    assert [kind for _, kind, _ in received] == ["created", "attachment", "dossier"]
    assert after_first["events"][:len(received)] == received
    assert [kind for _, kind, _ in after_first["events"][len(received):]] == ["assignment", "intake"]
    assert done_at is not None
    assert OutboxMessage.objects.get(pk=message.pk).done_at == done_at


@pytest.mark.django_db
def test_result_issue_twice_takes_one_number(officer, head):
    case = case_make(actor=officer, path=("start_review", "propose_grant", "approve"), head=head)
    message = _outbox(case, "licensing.result_issue")
    year = timezone.localtime(case.decided_at).year

    licensing_tasks.result_issue(case_id=case.pk, outbox_id=message.pk)
    after_first = _snapshot(case)
    licensing_tasks.result_issue(case_id=case.pk, outbox_id=message.pk)

    assert _snapshot(case) == after_first
    assert after_first["state"] == "issued"
    assert after_first["result_number"] == "01/GP-SVHTTDL"
    assert Sequence.objects.get(key=counter_key("GP"), year=year).last_value == 1
    assert case.events.filter(kind="transition", action="issue").count() == 1
    assert OutboxMessage.objects.get(pk=message.pk).done_at is not None


@pytest.mark.django_db
def test_overdue_flag_twice_records_one_overdue_event(officer):
    received = datetime(2019, 12, 2, 9, 0, tzinfo=HCM)  # a Monday morning in Thái Bình
    with time_machine.travel(received, tick=False):
        case = case_make(actor=officer, received_at=received)
    assert case.due_at > received

    with time_machine.travel(case.due_at - timedelta(hours=1), tick=False):
        case_tasks.case_overdue_flag(case_id=case.pk)  # not late yet: nothing recorded
    assert _snapshot(case)["overdue_flagged_at"] is None

    late = case.due_at + timedelta(minutes=1)
    with time_machine.travel(late, tick=False):
        case_tasks.case_overdue_flag(case_id=case.pk)
        after_first = _snapshot(case)
        case_tasks.case_overdue_flag(case_id=case.pk)

    assert _snapshot(case) == after_first
    assert after_first["overdue_flagged_at"] == late
    assert case.events.filter(kind=CaseEvent.Kind.OVERDUE).count() == 1


@pytest.mark.django_db
def test_recovery_sweep_twice_publishes_once(officer, settings):
    settings.OUTBOX_SEND_GRACE = timedelta(0)
    case = case_make(actor=officer)  # in this test's transaction, nothing was sent after commit
    message = _outbox(case, "cases.case_intake")
    assert message.sent_at is None
    queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    before = redis_client().llen(queue)

    # The receipt accepted two tasks: the intake and the refresh of the quarterly figures.
    pending = set(OutboxMessage.objects.filter(sent_at__isnull=True).values_list("task_name", flat=True))
    assert pending == {"cases.case_intake", "reports.case_refresh"}
    assert worker_tasks.outbox_recovery_sweep() == 2
    sent = OutboxMessage.objects.get(pk=message.pk)
    assert worker_tasks.outbox_recovery_sweep() == 0

    assert redis_client().llen(queue) == before + 2
    assert OutboxMessage.objects.get(pk=message.pk).sent_at == sent.sent_at is not None
    assert sent.send_attempts == 1
    # Intake and refresh are batched task names: the sweep wakes each once, and the run claims the rows.
    published = [json.loads(item) for item in redis_client().lrange(queue, 0, 1)]  # the two newest (LPUSH)
    bodies = [json.loads(base64.b64decode(p["body"]))[:2] for p in published
              if p["headers"]["task"] == "worker.outbox_batch_run"]
    assert sorted(kwargs["task_name"] for _args, kwargs in bodies) == ["cases.case_intake", "reports.case_refresh"]
    assert worker_tasks.outbox_batch_run("cases.case_intake") == 1
    assert worker_tasks.outbox_batch_run("cases.case_intake") == 0
    case.refresh_from_db()
    assert case.intake_completed_at is not None and case.events.filter(kind=CaseEvent.Kind.INTAKE).count() == 1


# --- Through the real worker: the same message delivered twice --------------------------------------


def _deliver_twice(task_name: str, kwargs: dict) -> str:
    """Publish one message twice under one task id, as a broker redelivery would."""
    from worker.celery import app

    task_id = str(uuid.uuid4())
    for _ in range(2):
        app.send_task(task_name, kwargs=kwargs, task_id=task_id)
    return task_id


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_sends_held")  # the test delivers the messages itself
def test_worker_given_each_message_twice_has_one_effect(celery_worker, officer, officer2, head):
    """One worker (two processes) gets every message twice in a row, so the copies may run side by side."""
    received = case_make(actor=officer, subject_name="Cơ sở in Hoàng Gia")
    intake = _outbox(received, "cases.case_intake")
    approved = case_make(actor=officer, path=("start_review", "propose_grant", "approve"), head=head,
                         subject_name="Công ty In Tân Tiến")
    issue = _outbox(approved, "licensing.result_issue")
    late = case_make(actor=officer, received_at=timezone.now() - timedelta(days=60), path=("start_review",),
                     subject_name="Xưởng in Minh Khai")
    assert late.is_overdue
    assert not OutboxMessage.objects.filter(sent_at__isnull=False).exists()  # nothing reached the broker yet

    deliveries = [
        ("cases.case_intake", _deliver_twice("cases.case_intake", {"case_id": received.pk, "outbox_id": intake.pk})),
        ("licensing.result_issue",
         _deliver_twice("licensing.result_issue", {"case_id": approved.pk, "outbox_id": issue.pk})),
        ("cases.case_overdue_flag", _deliver_twice("cases.case_overdue_flag", {"case_id": late.pk})),
    ]
    for task_name, task_id in deliveries:
        worker_wait_successes(celery_worker, task_name, 2, task_id=task_id)

    received.refresh_from_db()
    assert received.assignee_id == officer.pk
    assert received.version == 2  # created, then one assignment
    assert received.events.filter(kind=CaseEvent.Kind.INTAKE).count() == 1
    assert received.events.filter(kind=CaseEvent.Kind.ASSIGNMENT).count() == 1

    approved.refresh_from_db()
    assert (approved.state, approved.result_number) == ("issued", "01/GP-SVHTTDL")
    year = timezone.localtime(approved.decided_at).year
    assert Sequence.objects.get(key=counter_key("GP"), year=year).last_value == 1
    assert approved.events.filter(kind="transition", action="issue").count() == 1

    late.refresh_from_db()
    assert late.overdue_flagged_at is not None
    assert late.events.filter(kind=CaseEvent.Kind.OVERDUE).count() == 1

    done = OutboxMessage.objects.filter(pk__in=[intake.pk, issue.pk], done_at__isnull=False)
    assert done.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_sends_held")  # as if the web process died between commit and send
def test_worker_running_the_recovery_sweep_twice_resends_once(celery_worker, officer):
    from worker.celery import app

    case = case_make(actor=officer)  # committed, but its message never reached the broker
    message = _outbox(case, "cases.case_intake")
    # Older than the worker's grace period (OUTBOX_SEND_GRACE, 30 s by default).
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    task_id = str(uuid.uuid4())
    app.send_task("worker.outbox_recovery_sweep", task_id=task_id)
    assert worker_wait_successes(celery_worker, "worker.outbox_recovery_sweep", 1, task_id=task_id) == ["1"]
    wait_for(lambda: OutboxMessage.objects.get(pk=message.pk).done_at, message="the resent intake to finish")
    app.send_task("worker.outbox_recovery_sweep", task_id=task_id)  # the same message, delivered again
    assert worker_wait_successes(celery_worker, "worker.outbox_recovery_sweep", 2, task_id=task_id) == ["1", "0"]

    message.refresh_from_db()
    case.refresh_from_db()
    assert message.sent_at is not None and message.send_attempts == 1
    assert case.assignee_id == officer.pk
    assert case.events.filter(kind=CaseEvent.Kind.INTAKE).count() == 1
    # The sweep woke the batched intake once; its one run took the one row.
    assert worker_successes(celery_worker, "worker.outbox_batch_run") == ["1"]
