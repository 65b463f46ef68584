"""Batched outbox task names (intake, the figures' refresh, emails): many rows, few messages, each row done once.

The web side wakes a task name after commit instead of publishing a message per row; a worker claims the waiting
rows a batch at a time (FOR UPDATE SKIP LOCKED) and runs them set-based in one transaction. These tests show that
the wake-ups coalesce, that two worker processes sharing the rows do each row once and assign as one would, that a
bad row does not hold its batch back, and that an email batch the mail server breaks off keeps what went out.
"""

import base64
import json
import smtplib
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends import locmem
from django.db import OperationalError
from django.utils import timezone

from cases.models import Case, CaseEvent
from licensing import services as licensing_services
from licensing import tasks as licensing_tasks
from licensing.models import Notification
from reports.quarters import Quarter
from reports.services import figures_check, figures_kept
from worker import outbox
from worker.models import OutboxMessage

from .conftest import wait_for
from .factories import case_make
from .support_concurrency import redis_client, token_client, worker_successes
from .support_licensing import school_application

APPLICATIONS_URL = "/api/v1/licensing/applications/"
BATCHED = ("cases.case_intake", "reports.case_refresh", "licensing.notification_send", "licensing.receipt_issue")
# The receipts' runs render documents: woken on the documents queue (OUTBOX_DOCUMENTS_BATCHED), the others on the
# default one.
WAKE_UPS = [("worker.outbox_batch_run", {"task_name": name}) for name in BATCHED if name != "licensing.receipt_issue"]
DOCUMENT_WAKE_UPS = [("worker.outbox_batch_run", {"task_name": "licensing.receipt_issue"})]


def receive_many(officer, count: int) -> list[int]:
    client = token_client(officer)
    ids = []
    for n in range(count):
        response = client.post(APPLICATIONS_URL, school_application(n), format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    return ids


def queued_tasks(queue: str = "") -> list[tuple[str, dict]]:
    """The messages waiting on `queue` (the default queue unless named)."""
    queue = queue or django_settings.CELERY_TASK_DEFAULT_QUEUE
    published = [json.loads(item) for item in redis_client().lrange(queue, 0, -1)]
    return [(p["headers"]["task"], json.loads(base64.b64decode(p["body"]))[1]) for p in published]


# --- Wake-ups coalesce -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_receipts_queue_one_wake_up_per_task_name_not_sixty_messages(officer):
    queues = (django_settings.CELERY_TASK_DEFAULT_QUEUE, django_settings.CELERY_DOCUMENTS_QUEUE)
    redis_client().delete(*queues)
    case_ids = receive_many(officer, 20)

    rows = OutboxMessage.objects.filter(task_name__in=BATCHED)
    assert Counter(rows.values_list("task_name", flat=True)) == {name: 20 for name in BATCHED}
    # Every row is marked sent: a queued wake-up stands for it.
    assert not rows.filter(sent_at__isnull=True).exists()
    assert sorted(queued_tasks(), key=str) == sorted(WAKE_UPS, key=str)
    assert queued_tasks(django_settings.CELERY_DOCUMENTS_QUEUE) == DOCUMENT_WAKE_UPS

    # The runs (here in this process, one per name) do the rows; a second round finds nothing.
    assert [outbox.outbox_batch_run(name) for name in BATCHED] == [20] * len(BATCHED)
    assert [outbox.outbox_batch_run(name) for name in BATCHED] == [0] * len(BATCHED)
    assert not rows.filter(done_at__isnull=True).exists()
    assert Case.objects.filter(pk__in=case_ids, intake_completed_at__isnull=False).count() == 20
    assert len(mail.outbox) == 20 and mail.outbox[0].to == ["th0@vuthu.example.vn"]

    # A run clears the flag first: the next receipt queues a new wake-up for each name.
    redis_client().delete(*queues)
    receive_many(officer, 1)
    assert sorted(queued_tasks(), key=str) == sorted(WAKE_UPS, key=str)
    assert queued_tasks(django_settings.CELERY_DOCUMENTS_QUEUE) == DOCUMENT_WAKE_UPS


# --- Two worker processes share the rows -------------------------------------------------------------------


@pytest.fixture
def small_batches(monkeypatch, settings):
    """Batches of 7 in this process and in the worker started after this fixture."""
    monkeypatch.setenv("OUTBOX_BATCH_SIZE", "7")
    settings.OUTBOX_BATCH_SIZE = 7


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_sends_held")
def test_two_worker_processes_sharing_sixty_applications_do_each_row_once(small_batches, celery_worker, officer,
                                                                          officer2):
    from worker.celery import app

    case_ids = receive_many(officer, 60)
    rows = OutboxMessage.objects.filter(task_name__in=BATCHED)
    assert rows.count() == 60 * len(BATCHED) and not rows.filter(done_at__isnull=False).exists()

    # Each name is woken three times at once (as repeated wake-ups and a broker redelivery would); the worker's two
    # processes run them side by side, and each full batch of 7 invites another run.
    for name in BATCHED:
        for _ in range(3):
            app.send_task(outbox.BATCH_RUN_TASK, kwargs={"task_name": name})
    wait_for(lambda: not rows.filter(done_at__isnull=True).exists(), timeout=60, message="every row done")
    wait_for(lambda: redis_client().llen(django_settings.CELERY_TASK_DEFAULT_QUEUE) == 0
             and redis_client().llen(django_settings.CELERY_DOCUMENTS_QUEUE) == 0, timeout=30,
             message="the invited runs to finish")

    runs = [int(n) for n in worker_successes(celery_worker, outbox.BATCH_RUN_TASK)]
    assert sum(runs) == 60 * len(BATCHED), runs  # every row counted by exactly one run
    assert len(runs) > 3 * len(BATCHED)  # the full batches invited more runs than the wake-ups
    assert " raised " not in celery_worker.log_path.read_text()

    cases = Case.objects.filter(pk__in=case_ids)
    for kind in (CaseEvent.Kind.INTAKE, CaseEvent.Kind.ASSIGNMENT, CaseEvent.Kind.NOTIFICATION):
        assert Counter(CaseEvent.objects.filter(case_id__in=case_ids, kind=kind).values_list("case_id", flat=True)) \
            == Counter(case_ids), kind
    loads = Counter(cases.values_list("assignee_id", flat=True))
    assert set(loads) == {officer.pk, officer2.pk}
    assert abs(loads[officer.pk] - loads[officer2.pk]) <= 7, loads  # two batches may read the same loads at once
    assert Notification.objects.filter(case_id__in=case_ids, sent_at__isnull=True).count() == 0
    quarter = Quarter.of(cases.first().received_at)
    received = sum(value for (_type, key), value in figures_kept(quarters=[quarter]).items()
                   if key == f"{quarter}:received")
    assert received == 60
    assert figures_check(quarters=[quarter], repair=False).mismatches == []


# --- A bad row, a transient failure ------------------------------------------------------------------------


@pytest.fixture
def flaky_task(monkeypatch):
    """A batched task name whose handler refuses rows marked bad (as a row the code cannot handle would)."""
    seen: list[list[int]] = []

    def handler(kwargs_list):
        seen.append([kwargs["n"] for kwargs in kwargs_list])
        if any(kwargs.get("bad") for kwargs in kwargs_list):
            raise ValueError("row cannot be handled")
        if any(kwargs.get("later") for kwargs in kwargs_list):
            return {i: "waiting for the mail server" for i, kwargs in enumerate(kwargs_list) if kwargs.get("later")}
        return None

    monkeypatch.setitem(outbox._batched, "tests.flaky", handler)
    return seen


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox_sends_held")
def test_a_row_that_fails_leaves_the_rest_of_its_batch_done_and_waits_before_it_is_tried_again(flaky_task):
    rows = [outbox.outbox_enqueue("tests.flaky", n=n, bad=(n == 3), later=(n == 5)) for n in range(1, 8)]

    assert outbox.outbox_batch_run("tests.flaky") == 5
    # The batch failed as a whole, then ran row by row.
    assert flaky_task == [[1, 2, 3, 4, 5, 6, 7], [1], [2], [3], [4], [5], [6], [7]]
    stored = {row.kwargs["n"]: row for row in OutboxMessage.objects.filter(pk__in=[r.pk for r in rows])}
    assert {n for n, row in stored.items() if row.done_at} == {1, 2, 4, 6, 7}
    assert stored[3].last_error == "ValueError: row cannot be handled" and stored[3].sent_at is not None
    assert stored[5].last_error == "waiting for the mail server" and stored[5].done_at is None

    # Left alone for OUTBOX_RESEND_AFTER, as a failed message would be ...
    assert outbox.outbox_batch_run("tests.flaky") == 0
    # ... then claimed again (the cause mended meanwhile).
    OutboxMessage.objects.filter(pk=stored[3].pk).update(kwargs={"n": 3})
    OutboxMessage.objects.filter(pk=stored[5].pk).update(kwargs={"n": 5})
    with time_machine.travel(timezone.now() + django_settings.OUTBOX_RESEND_AFTER + timedelta(seconds=1)):
        assert outbox.outbox_batch_run("tests.flaky") == 2
    assert not OutboxMessage.objects.filter(task_name="tests.flaky", done_at__isnull=True).exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox_sends_held")
def test_a_transient_failure_leaves_the_whole_batch_for_the_retry(monkeypatch, officer):
    case_ids = [case_make(actor=officer, subject_name=f"Cơ sở in số {n}").pk for n in range(3)]

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("cases.services.cases_intake", database_gone)
    with pytest.raises(OperationalError):
        outbox.outbox_batch_run("cases.case_intake")
    assert OutboxMessage.objects.filter(task_name="cases.case_intake", done_at__isnull=True).count() == 3
    assert not OutboxMessage.objects.filter(task_name="cases.case_intake").exclude(last_error="").exists()
    monkeypatch.undo()
    assert outbox.outbox_batch_run("cases.case_intake") == 3
    assert Case.objects.filter(pk__in=case_ids, intake_completed_at__isnull=True).count() == 0


# --- Emails: the server breaks off part way ----------------------------------------------------------------


class RefusingBackend(locmem.EmailBackend):
    """The test's mail server: it takes messages until it reaches a refused recipient, then fails."""

    refused: set[str] = set()

    def send_messages(self, messages):
        for message in messages:
            if set(message.to) & self.refused:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (550, b"mailbox unavailable")})
        return super().send_messages(messages)


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox_sends_held")
def test_an_email_batch_broken_off_part_way_keeps_what_went_out_and_sends_the_rest_once_later(
        officer, settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    monkeypatch.setattr(RefusingBackend, "refused", {"th3@vuthu.example.vn"})
    case_ids = []
    for n in range(6):
        case, _ = licensing_services.application_receive(
            actor=officer, procedure="bulletin", fields=school_application(n)["fields"],
            organisation=school_application(n)["organisation"], contact_email=f"th{n}@vuthu.example.vn")
        case_ids.append(case.pk)
    rows = OutboxMessage.objects.filter(task_name="licensing.notification_send")

    assert outbox.outbox_batch_run("licensing.notification_send") == 3
    assert [m.to[0] for m in mail.outbox] == [f"th{n}@vuthu.example.vn" for n in range(3)]
    notifications = Notification.objects.filter(case_id__in=case_ids).order_by("case_id")
    assert [n.sent_at is not None for n in notifications] == [True] * 3 + [False] * 3
    assert CaseEvent.objects.filter(case_id__in=case_ids, kind=CaseEvent.Kind.NOTIFICATION).count() == 3
    waiting = rows.filter(done_at__isnull=True)
    assert waiting.count() == 3
    assert {row.last_error.split(":")[0] for row in waiting} == {"SMTPRecipientsRefused"}

    # The mailbox is back: after OUTBOX_RESEND_AFTER the three left are sent, and none of the first three again.
    monkeypatch.setattr(RefusingBackend, "refused", set())
    with time_machine.travel(timezone.now() + django_settings.OUTBOX_RESEND_AFTER + timedelta(seconds=1)):
        assert outbox.outbox_batch_run("licensing.notification_send") == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"th{n}@vuthu.example.vn" for n in range(6))
    assert not rows.filter(done_at__isnull=True).exists()
    # A delivery of the one-per-message task for a sent email changes nothing either.
    licensing_tasks.notification_send(notification_id=notifications[0].pk, outbox_id=None)
    assert len(mail.outbox) == 6


# --- The quarter's rollover fans out through the batches -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox_sends_held")
def test_quarter_rollover_carries_open_cases_over_through_one_batch_run(officer, head):
    from reports import tasks as report_tasks

    hcm = timezone.get_current_timezone()
    with time_machine.travel(timezone.datetime(2020, 3, 20, 9, tzinfo=hcm), tick=False):
        open_cases = [case_make(actor=officer, type_code="bulletin", subject_name=f"Trường số {n}") for n in range(4)]
        refused = case_make(actor=officer, type_code="bulletin", path=("start_review", "propose_refusal", "refuse"),
                            head=head)
        outbox.outbox_batch_run("reports.case_refresh")
    assert figures_kept(quarters=[Quarter(2020, 2)]) == {}

    # 00:05 on 1 April: the beat's rollover writes a refresh row per open case; one batch run does them all.
    with time_machine.travel(timezone.datetime(2020, 4, 1, 0, 5, tzinfo=hcm), tick=False):
        rows_before = OutboxMessage.objects.count()
        assert report_tasks.quarter_rollover() == 4
        queued = [row.kwargs["case_id"] for row in
                  OutboxMessage.objects.filter(task_name="reports.case_refresh", done_at__isnull=True)]
        assert sorted(queued) == sorted(case.pk for case in open_cases)  # not the refused one
        assert OutboxMessage.objects.count() == rows_before + 4
        assert outbox.outbox_batch_run("reports.case_refresh") == 4
        kept = figures_kept(quarters=[Quarter(2020, 2)])
        assert figures_check(quarters=[Quarter(2020, 1), Quarter(2020, 2)], repair=False).mismatches == []
    bulletin = open_cases[0].case_type_id
    assert kept[(bulletin, "2020-Q2:carried_over")] == 4
    assert refused.state == "refused"


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox_sends_held")
def test_a_run_gives_way_after_twenty_batches_and_leaves_a_wake_up_to_carry_on(flaky_task, settings):
    settings.OUTBOX_BATCH_SIZE = 2
    redis_client().delete(django_settings.CELERY_TASK_DEFAULT_QUEUE)
    for n in range(50):
        outbox.outbox_enqueue("tests.flaky", n=n)

    assert outbox.outbox_batch_run("tests.flaky") == 40  # 20 batches of 2
    assert queued_tasks() == [(outbox.BATCH_RUN_TASK, {"task_name": "tests.flaky"})]
    assert outbox.outbox_batch_run("tests.flaky") == 10
    assert not OutboxMessage.objects.filter(task_name="tests.flaky", done_at__isnull=True).exists()
