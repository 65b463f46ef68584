"""Fault: the Celery worker is SIGKILLed (with its pool processes) while it issues results, then restarted.

What it had not committed is rolled back by PostgreSQL when its sessions end, numbers included. The messages it
had taken from Redis stay in kombu's `unacked` hash until the visibility timeout (an hour), so the restarted
worker does not get them; a task it had committed but not yet marked done, or whose follow-ups it had not yet
published, is only in the outbox. The outbox recovery sweep (celery beat, every minute) sends again what was
sent but is not done after OUTBOX_RESEND_AFTER (10 minutes) and what was never sent after OUTBOX_SEND_GRACE:
the restarted worker finishes every case, each issued once, numbered 01..N without a gap.
"""

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from cases.models import Case, CaseEvent, Sequence
from licensing.models import IssuedDocument, Permit
from worker.models import OutboxMessage
from worker.outbox import outbox_send
from worker.tasks import outbox_recovery_sweep

from .conftest import wait_for
from .factories import case_make
from .support_faults import own_redis, queue_length, unacked_outbox_ids, worker_factory  # noqa: F401
from .support_licensing import counter_key, docx_lines

pytestmark = pytest.mark.django_db(transaction=True)

CASES = 40
APPROVED = ("start_review", "propose_grant", "approve")


def issued_count() -> int:
    return Case.objects.filter(state="issued").count()


def other_sessions() -> int:
    """Database sessions on this test database other than this thread's own (the worker's)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def gp_numbers() -> list[int]:
    return sorted(IssuedDocument.objects.filter(series="GP").values_list("number", flat=True))


def gp_counter() -> int:
    year = timezone.localtime(Case.objects.order_by("pk").first().decided_at).year
    sequence = Sequence.objects.filter(key=counter_key("GP"), year=year).first()
    return sequence.last_value if sequence else 0


def test_worker_killed_while_issuing_then_restarted_issues_every_case_once_with_gap_free_numbers(
        worker_factory, own_redis, outbox_sends_held, officer, head):  # noqa: F811
    # The head has approved CASES printing licences (GP series); their tasks were accepted in the outbox.
    case_ids = [case_make(actor=officer, path=APPROVED, head=head, subject_name=f"Cơ sở in số {n}").pk
                for n in range(1, CASES + 1)]
    issue = dict(OutboxMessage.objects.filter(task_name="licensing.result_issue").values_list("pk", "kwargs__case_id"))
    assert sorted(issue.values()) == sorted(case_ids)
    # Sent the way the web process sends after commit: the intake and report refreshes first, then the issues,
    # so that the worker is busy issuing when it is killed.
    for message_id in sorted(outbox_sends_held, key=lambda pk: (pk in issue, pk)):
        assert outbox_send(message_id=message_id)
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()

    # The first worker takes the default queue only (the results' issue), not the documents queue (their
    # signatures): the kill is aimed at issuing. The restarted worker takes both.
    first = worker_factory(queues=django_settings.CELERY_TASK_DEFAULT_QUEUE)
    first.start()
    wait_for(lambda: issued_count() >= CASES // 3, timeout=90, interval=0.02, message="a third of the cases issued")
    first.kill()
    killed_at = timezone.now()

    # The dead worker's sessions are gone: what it had not committed was rolled back, numbers included.
    wait_for(lambda: other_sessions() == 0, timeout=30, message="the killed worker's database sessions to end")
    issued_at_kill = issued_count()
    assert 0 < issued_at_kill < CASES, issued_at_kill
    assert gp_numbers() == list(range(1, issued_at_kill + 1))
    assert gp_counter() == issued_at_kill
    # What it had taken from Redis is held as unacknowledged, out of every worker's reach for an hour.
    stranded = unacked_outbox_ids(own_redis)
    assert stranded and stranded <= set(issue), f"the kill should land on issuing tasks: {stranded}"
    # What it had committed but not yet published (a task's follow-up, sent after commit) is only in the outbox.
    unsent = OutboxMessage.objects.filter(done_at__isnull=True, sent_at__isnull=True, created_at__lt=killed_at)

    taken_before_kill = OutboxMessage.objects.filter(done_at__isnull=True, sent_at__lt=killed_at)

    def drained() -> bool:
        # Queue empty, the new worker holds nothing, and what is left undone was in the dead worker's hands:
        # unacknowledged, or popped from the queue in the instant before Redis recorded it as unacknowledged (a
        # message killed in that instant is in neither; the outbox still has it as sent and not done).
        undone = set(OutboxMessage.objects.filter(done_at__isnull=True).values_list("pk", flat=True))
        return queue_length(own_redis) == 0 and unacked_outbox_ids(own_redis) == stranded and undone <= (
            set(taken_before_kill.values_list("pk", flat=True)) | set(unsent.values_list("pk", flat=True)))

    # A restarted worker takes the rest of the queue; the lost messages are not in it.
    second = worker_factory()
    second.start()
    wait_for(drained, timeout=90, message="the restarted worker to drain the queue")
    lost = set(OutboxMessage.objects.filter(done_at__isnull=True).values_list("pk", flat=True))
    lost_issues = lost & set(issue)
    assert lost_issues, f"the kill interrupted no issuing task (unacknowledged: {stranded})"
    lost_cases = {issue[pk] for pk in lost_issues}
    # Killed before its transaction committed (still approved), or after the commit but before the message was
    # marked done and the follow-ups were published (issued).
    assert set(Case.objects.filter(pk__in=lost_cases).values_list("state", flat=True)) <= {"approved", "issued"}
    assert issued_count() == CASES - Case.objects.filter(pk__in=lost_cases, state="approved").count()

    # The sweep resends nothing sent or accepted only moments ago (it may still be queued, running or on its way)
    assert outbox_recovery_sweep() == 0
    # ... but once OUTBOX_RESEND_AFTER (sent, not done) and OUTBOX_SEND_GRACE (never sent) have passed, it sends
    # every lost message again, once.
    wait = max(django_settings.OUTBOX_RESEND_AFTER, django_settings.OUTBOX_SEND_GRACE) + timedelta(minutes=1)
    with time_machine.travel(timezone.now() + wait):
        assert outbox_recovery_sweep() == len(lost)
        assert outbox_recovery_sweep() == 0
    wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), timeout=60,
             message="the resent messages to be done")

    # Every case issued exactly once, numbers 01..CASES, none taken twice, none lost.
    cases = list(Case.objects.filter(pk__in=case_ids))
    assert {case.state for case in cases} == {"issued"}
    assert sorted(case.result_number for case in cases) == sorted(f"{n:02d}/GP-SVHTTDL" for n in range(1, CASES + 1))
    assert gp_numbers() == list(range(1, CASES + 1))
    assert gp_counter() == CASES
    assert Counter(IssuedDocument.objects.values_list("case_id", flat=True)) == Counter(case_ids)
    assert sorted(Permit.objects.values_list("case_id", flat=True)) == sorted(case_ids)
    issue_events = Counter(CaseEvent.objects.filter(kind="transition", action="issue").values_list("case_id", flat=True))
    assert issue_events == Counter(case_ids)
    assert CaseEvent.objects.filter(kind="document", action="permit").count() == CASES
    # Each licence's signed PDF, made by its own task after the issue, is signed at most once (the worker drains
    # the signing tasks too; a killed one would be retried by the sweep).
    signed = Counter(CaseEvent.objects.filter(kind="document", action="signed").values_list("after__document",
                                                                                            flat=True))
    documents = set(IssuedDocument.objects.filter(case_id__in=case_ids).values_list("pk", flat=True))
    assert set(signed.values()) <= {1} and set(signed) <= documents  # results and receipts, each signed once
    assert set(OutboxMessage.objects.filter(pk__in=lost_issues).values_list("send_attempts", flat=True)) == {2}
    for case in cases:
        document = IssuedDocument.objects.get(case=case, kind__in=IssuedDocument.RESULT_KINDS)
        assert document.number_text == case.result_number
        with document.file.open("rb") as handle:
            assert f"Số: {case.result_number}" in docx_lines(handle.read())
    assert " raised " not in second.log(), second.log()[-4000:]
