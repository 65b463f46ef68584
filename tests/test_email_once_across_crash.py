"""A worker killed in the middle of a burst costs neither a duplicate email nor a long wait.

Each email's "sending" mark is committed before the email is handed to the mail server and its "sent" mark right
after: an email whose sender died in between may have gone out, is "uncertain", and is never sent again without a
person's decision (the admin's notifications list). A starting worker wakes every batched name that has rows
waiting, after giving up the claims of workers that no longer answer: the intakes and emails whose wake-up died with
the killed worker are taken up within seconds, not after OUTBOX_RESEND_AFTER (10 minutes).

The mail server is real (aiosmtpd on a loopback port, spoken to by Django's SMTP backend in a real worker process),
and it holds its answer to one email until the worker has been SIGKILLed: the kill lands while that email is handed
over. The intake of the burst is held in the same way (the test holds the cases' rows), so that the wake-up of the
intake dies with the worker too, as in the incident (40 cases waited 10.5 minutes for an officer).
"""

import asyncio
import email
import smtplib
import threading
import time
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test import Client
from django.utils import timezone

from cases.models import Case, CaseEvent
from licensing import services as licensing_services
from licensing.models import Notification
from licensing.notifications import notification_message_id, notification_send
from worker import outbox
from worker.models import OutboxMessage

from .conftest import wait_for
from .support_faults import free_port, own_redis, worker_factory  # noqa: F401
from .support_licensing import school_application

RECEIPTS = 50
HELD = 5  # the mail server holds its answer to the 5th email until the worker is dead


class MailServer:
    """aiosmtpd handler: records every message it receives (Message-ID, recipients), answers each after a short
    pause, and the `hold`-th only once `released` is set."""

    def __init__(self, *, hold: int | None = None, pause: float = 0.05):
        self.received: list[tuple[str, tuple[str, ...]]] = []
        self.hold, self.pause = hold, pause
        self.released = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.received.append((message["Message-ID"], tuple(envelope.rcpt_tos)))
            position = len(self.received)
        if position == self.hold:
            while not self.released.is_set():  # the message is in: the sender waits for the answer
                await asyncio.sleep(0.02)
        await asyncio.sleep(self.pause)
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def ids(self) -> Counter:
        with self.lock:
            return Counter(message_id for message_id, _to in self.received)


@pytest.fixture
def mail_server():
    handler = MailServer(hold=HELD)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        handler.released.set()
        controller.stop()


def receive_burst(officer, count: int) -> list[int]:
    ids = []
    for n in range(count):
        body = school_application(n)
        case, _ = licensing_services.application_receive(
            actor=officer, procedure="bulletin", fields=body["fields"], organisation=body["organisation"],
            contact_email=body["contact_email"])
        ids.append(case.pk)
    return ids


def sessions_besides(*pids: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND NOT (pid = ANY(%s))", [list(pids)])
        return cursor.fetchone()[0]


def lock_waits() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


def taken_in() -> int:
    return Case.objects.filter(intake_completed_at__isnull=False).count()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_sends_no_email_twice_and_the_next_worker_takes_up_the_burst_at_once(
        worker_factory, own_redis, mail_server, officer):  # noqa: F811
    smtp_env = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(mail_server.port), "EMAIL_TIMEOUT_SECONDS": "30"}
    # A burst of receipts: rows for intake, figures and emails; one wake-up per name waits in Redis.
    case_ids = receive_burst(officer, RECEIPTS)
    notifications = list(Notification.objects.filter(case_id__in=case_ids).order_by("pk"))
    assert len(notifications) == RECEIPTS

    # The cases' rows are held, so that the worker is in the middle of the intake when it is killed.
    db = django_settings.DATABASES["default"]
    blocker = psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"])
    blocker.execute("SELECT id FROM cases_case WHERE id = ANY(%s) FOR NO KEY UPDATE", [case_ids])
    try:
        first = worker_factory(concurrency=3, env=smtp_env)
        first.start()
        wait_for(lambda: lock_waits() >= 1, timeout=60, message="the intake to wait for the cases' rows")
        wait_for(lambda: mail_server.count() >= HELD, timeout=60, interval=0.02,
                 message="the worker to hand over emails")
        # The 5th email is with the mail server, which has not answered yet: the worker dies now.
        first.kill()
        mail_server.released.set()
    finally:
        # Let go of the rows: the dead worker's intake, waiting for them, finds its client gone and rolls back
        # (a session waiting for a lock does not notice before).
        blocker.rollback()
        blocker.close()
    wait_for(lambda: sessions_besides() == 0, timeout=30, message="the killed worker's database sessions to end")

    # What the dead worker left: no intake committed; four emails sent and marked, one uncertain.
    assert taken_in() == 0
    sent_before = set(Notification.objects.filter(pk__in=[n.pk for n in notifications], sent_at__isnull=False)
                      .values_list("pk", flat=True))
    uncertain = list(Notification.objects.filter(pk__in=[n.pk for n in notifications], sent_at__isnull=True,
                                                 sending_at__isnull=False))
    assert len(sent_before) == HELD - 1 and len(uncertain) == 1, (sent_before, uncertain)
    assert mail_server.ids()[notification_message_id(uncertain[0])] == 1  # it did reach the server
    assert OutboxMessage.objects.filter(task_name="licensing.notification_send", claimed_at__isnull=False).exists()

    # A new worker: the intakes and the emails left are taken up within seconds of its start.
    second = worker_factory(concurrency=2, env=smtp_env)
    second.start()
    started = time.monotonic()
    wait_for(lambda: taken_in() == RECEIPTS, timeout=60, message="the burst to be taken in")
    intake_wait = time.monotonic() - started
    assert intake_wait < 15, intake_wait  # not OUTBOX_RESEND_AFTER (600 s), nor the wake-up flag's 30 s
    rest = [n.pk for n in notifications if n.pk not in sent_before and n.pk != uncertain[0].pk]
    wait_for(lambda: Notification.objects.filter(pk__in=rest, sent_at__isnull=False).count() == len(rest),
             timeout=60, message="the emails not handed over to be sent")
    assert time.monotonic() - started < 30
    wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), timeout=30,
             message="every outbox row to be done")

    # Each email reached the mail server at most once, with its own stable Message-ID; the uncertain one was not
    # sent again, and says so.
    received = mail_server.ids()
    assert set(received.values()) == {1}, [m for m, c in received.items() if c > 1]
    recipients = Counter(to for _id, to in mail_server.received)
    assert recipients == Counter((n.recipient,) for n in notifications), recipients  # once each, whatever the id
    assert set(received) == {notification_message_id(n) for n in notifications}
    uncertain[0].refresh_from_db()
    assert uncertain[0].sent_at is None and uncertain[0].sending_at is not None
    assert Counter(CaseEvent.objects.filter(case_id__in=case_ids, kind=CaseEvent.Kind.NOTIFICATION)
                   .values_list("case_id", flat=True)) == Counter(set(case_ids) - {uncertain[0].case_id})
    assert not OutboxMessage.objects.filter(claimed_at__isnull=False).exists()
    assert " raised " not in second.log(), second.log()[-4000:]
    assert "claims of dead workers given up" in second.log()

    # A person decides that it did not arrive (the admin's action): it is sent once more, with the same Message-ID.
    admin = get_user_model().objects.create_superuser("quantri", "quantri@sotttt.example", "x")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/licensing/notification/?delivery=uncertain")
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    response = client.post("/admin/licensing/notification/",
                           {"action": "send_again", "_selected_action": [uncertain[0].pk], "index": 0})
    assert response.status_code == 302
    wait_for(lambda: Notification.objects.filter(pk=uncertain[0].pk, sent_at__isnull=False).exists(), timeout=30,
             message="the email a person chose to send again")
    assert mail_server.ids()[notification_message_id(uncertain[0])] == 2


# --- Without a worker: which failures make an email uncertain, and what a person can do ---------------------


class BrokenOffBackend(locmem.EmailBackend):
    """A mail server whose connection breaks while it is handed the email to `broken`, or that refuses it."""

    broken: str = ""
    error: type[Exception] = smtplib.SMTPServerDisconnected

    def send_messages(self, messages):
        for message in messages:
            if self.broken in message.to:
                raise self.error("Connection unexpectedly closed") if self.error is not smtplib.SMTPRecipientsRefused \
                    else self.error({self.broken: (550, b"mailbox unavailable")})
        return super().send_messages(messages)


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox_sends_held")
def test_a_connection_broken_while_an_email_is_handed_over_leaves_it_uncertain_and_never_resent(
        officer, settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenOffBackend"
    monkeypatch.setattr(BrokenOffBackend, "broken", "th1@vuthu.example.vn")
    case_ids = receive_burst(officer, 3)
    notifications = list(Notification.objects.filter(case_id__in=case_ids).order_by("pk"))

    assert outbox.outbox_batch_run("licensing.notification_send") == 2  # the first, and the uncertain one's row
    first, broken, third = (Notification.objects.get(pk=n.pk) for n in notifications)
    assert first.sent_at and not broken.sent_at and broken.sending_at and not third.sending_at
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [notification_message_id(first)]
    rows = OutboxMessage.objects.filter(task_name="licensing.notification_send")
    assert rows.filter(done_at__isnull=True).get().kwargs == {"notification_id": third.pk}

    # The server is fine again: the waiting one goes out; the uncertain one is never sent again by itself.
    monkeypatch.setattr(BrokenOffBackend, "broken", "")
    with time_machine.travel(timezone.now() + django_settings.OUTBOX_RESEND_AFTER + timedelta(seconds=1)):
        assert outbox.outbox_batch_run("licensing.notification_send") == 1
        assert notification_send(notification_id=broken.pk) is False  # an old-style message: nothing either
    assert [m.to[0] for m in mail.outbox] == ["th0@vuthu.example.vn", "th2@vuthu.example.vn"]
    assert not rows.filter(done_at__isnull=True).exists()

    # The admin lists it as uncertain; a person who found it in the mail server's log marks it sent.
    admin = get_user_model().objects.create_superuser("quantri", "quantri@sotttt.example", "x")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/licensing/notification/?delivery=uncertain")
    assert [n.pk for n in page.context["cl"].result_list] == [broken.pk]
    response = client.post("/admin/licensing/notification/",
                           {"action": "confirm_sent", "_selected_action": [broken.pk], "index": 0})
    assert response.status_code == 302
    broken.refresh_from_db()
    assert broken.sent_at is not None
    event = CaseEvent.objects.get(case_id=broken.case_id, kind=CaseEvent.Kind.NOTIFICATION)
    assert event.actor == admin and event.after["confirmed"] is True
    assert len(mail.outbox) == 2  # marking it sent sent nothing


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox_sends_held")
def test_an_email_the_server_refuses_is_not_uncertain_and_is_tried_again_later(officer, settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenOffBackend"
    monkeypatch.setattr(BrokenOffBackend, "broken", "th0@vuthu.example.vn")
    monkeypatch.setattr(BrokenOffBackend, "error", smtplib.SMTPRecipientsRefused)
    (case_id,) = receive_burst(officer, 1)

    assert outbox.outbox_batch_run("licensing.notification_send") == 0
    notification = Notification.objects.get(case_id=case_id)
    assert notification.sending_at is None and notification.sent_at is None  # the server said no: not uncertain
    monkeypatch.setattr(BrokenOffBackend, "broken", "")
    with time_machine.travel(timezone.now() + django_settings.OUTBOX_RESEND_AFTER + timedelta(seconds=1)):
        assert outbox.outbox_batch_run("licensing.notification_send") == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox_sends_held")
def test_claims_of_dead_workers_are_given_up_and_their_names_woken(officer, monkeypatch):
    receive_burst(officer, 2)
    rows = OutboxMessage.objects.filter(task_name="licensing.notification_send")
    rows.update(claimed_at=timezone.now(), claimed_by="dead@host")
    assert "licensing.notification_send" not in outbox.outbox_batched_waiting()  # held by a claim
    assert outbox.outbox_claims_release(alive={"alive@host"}) == 2
    assert set(outbox.outbox_batched_waiting()) == {"cases.case_intake", "reports.case_refresh",
                                                    "licensing.notification_send", "licensing.receipt_issue"}
    rows.update(claimed_at=timezone.now(), claimed_by="alive@host")
    assert outbox.outbox_claims_release(alive={"alive@host"}) == 0
    # A claim nobody gave up ends after OUTBOX_RESEND_AFTER.
    with time_machine.travel(timezone.now() + django_settings.OUTBOX_RESEND_AFTER + timedelta(seconds=1)):
        assert "licensing.notification_send" in outbox.outbox_batched_waiting()
