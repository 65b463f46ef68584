"""Fault: races at scale, on PostgreSQL, every thread on its own connection as separate gunicorn workers would be.

Fifty people take the same transition of one case at once: one wins, the other 49 get a 409 problem, and the
timeline holds the transition once. A thousand results are issued at once by 24 threads through the real
issuing task (numbers, DOCX, registry, timeline), some of them twice: the numbers are 01..1000, each once.
"""

import random
import threading
from collections import Counter

import pytest
from django.utils import timezone

from cases.models import Case, CaseEvent, Sequence
from licensing import tasks as licensing_tasks
from licensing.models import IssuedDocument, Permit
from worker.models import OutboxMessage

from .factories import case_make
from .support_concurrency import run_together, token_client
from .support_faults import approved_cases_like
from .support_licensing import counter_key, docx_lines

pytestmark = pytest.mark.django_db(transaction=True)

CONFLICT_CODES = {"stale_version", "invalid_transition"}
THREADS = 50
ISSUES = 1000
ISSUERS = 24
REPEATED = 100  # cases whose task is delivered twice, the copies racing each other


@pytest.mark.usefixtures("slow_after_lock", "outbox_sends_held")  # the winner holds the row a moment
def test_fifty_heads_approving_the_same_case_at_once_one_wins_and_49_get_409(officer, head):
    case = case_make(actor=officer, path=("start_review", "propose_grant"))
    clients = [token_client(head) for _ in range(THREADS)]  # one client per thread; the token exists already
    body = {"action": "approve", "version": case.version}

    responses = run_together([
        (lambda client=client: client.post(f"/api/v1/cases/{case.pk}/transitions/", body, format="json"))
        for client in clients])

    for response in responses:
        assert not isinstance(response, BaseException), repr(response)
    assert sorted(r.status_code for r in responses) == [200] + [409] * (THREADS - 1)
    winner = next(r for r in responses if r.status_code == 200)
    assert (winner.json()["state"], winner.json()["version"]) == ("approved", case.version + 1)
    for response in responses:
        if response.status_code == 409:
            assert response["Content-Type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["status"] == 409 and problem["code"] in CONFLICT_CODES, problem
            assert problem["title"] and problem["type"]
    case.refresh_from_db()
    assert (case.state, case.outcome, case.version) == ("approved", "granted", winner.json()["version"])
    approvals = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION, action="approve")
    assert approvals.count() == 1
    timeline = token_client(head).get(f"/api/v1/cases/{case.pk}/events/", {"page_size": 100}).json()
    rows = timeline["results"] if isinstance(timeline, dict) else timeline
    assert [row["action"] for row in rows if row["kind"] == "transition"].count("approve") == 1
    # One decision queues the issuing of one result.
    assert OutboxMessage.objects.filter(task_name="licensing.result_issue", kwargs__case_id=case.pk).count() == 1


@pytest.mark.usefixtures("outbox_sends_held")  # no worker: the threads run the issuing task themselves
def test_a_thousand_results_issued_at_once_are_numbered_01_to_1000_each_once(officer, head):
    template = case_make(actor=officer, path=("start_review", "propose_grant", "approve"), head=head,
                         subject_name="Công ty TNHH In Thái Bình")
    case_ids = [template.pk] + approved_cases_like(template, ISSUES - 1)
    outbox = dict(OutboxMessage.objects.filter(task_name="licensing.result_issue")
                  .values_list("kwargs__case_id", "pk"))
    assert sorted(outbox) == sorted(case_ids)
    rng = random.Random(2020)
    deliveries = case_ids + rng.sample(case_ids, REPEATED)
    rng.shuffle(deliveries)
    lock = threading.Lock()
    results: list = []

    def issuer():
        while True:
            with lock:
                if not deliveries:
                    return
                case_id = deliveries.pop()
            try:
                licensing_tasks.result_issue(case_id=case_id, outbox_id=outbox[case_id])
                outcome = None
            except Exception as exc:  # noqa: BLE001  every failure is reported below
                outcome = exc
            with lock:
                results.append((case_id, outcome))

    assert run_together([issuer] * ISSUERS, timeout=600) == [None] * ISSUERS  # each on its own connection

    assert [error for _, error in results if error is not None] == []
    assert len(results) == ISSUES + REPEATED
    year = timezone.localdate().year  # a result is numbered in the year it is issued
    cases = dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "result_number"))
    assert set(Case.objects.filter(pk__in=case_ids).values_list("state", flat=True)) == {"issued"}
    assert sorted(cases.values()) == sorted(f"{n:02d}/GP-SVHTTDL" for n in range(1, ISSUES + 1))
    numbers = sorted(IssuedDocument.objects.filter(series="GP", year=year).values_list("number", flat=True))
    assert numbers == list(range(1, ISSUES + 1))
    assert Sequence.objects.get(key=counter_key("GP"), year=year).last_value == ISSUES
    assert Counter(IssuedDocument.objects.values_list("case_id", flat=True)) == Counter(case_ids)
    assert sorted(Permit.objects.values_list("case_id", flat=True)) == sorted(case_ids)
    assert sorted(Permit.objects.values_list("number_text", flat=True)) == sorted(cases.values())
    issue_events = CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSITION, action="issue")
    assert Counter(issue_events.values_list("case_id", flat=True)) == Counter(case_ids)
    assert not OutboxMessage.objects.filter(pk__in=outbox.values(), done_at__isnull=True).exists()
    # The DOCX of the last number says that number.
    last = IssuedDocument.objects.get(series="GP", year=year, number=ISSUES)
    with last.file.open("rb") as handle:
        assert f"Số: {last.number_text}" in docx_lines(handle.read())
    assert cases[last.case_id] == last.number_text
