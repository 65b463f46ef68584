"""Several people act on the same case at the same moment: exactly one wins, the rest get a 409.

Every thread has its own database connection and API client, as separate gunicorn workers would.
"""

import uuid

import pytest
from django.utils import timezone

from cases import services
from cases.errors import InvalidTransition, StaleVersion
from cases.models import Case, CaseEvent, Sequence
from licensing import services as licensing_services
from licensing.models import Dossier, IssuedDocument, Organisation
from worker.models import OutboxMessage

from .factories import case_make
from .support_concurrency import run_together, token_client
from .support_licensing import applicant, application_body, counter_key

pytestmark = pytest.mark.django_db(transaction=True)

CONFLICT_CODES = {"stale_version", "invalid_transition"}


def _post_transition(user, case_id: int, body: dict):
    client = token_client(user)  # made in the main thread: the token row exists before the race
    return lambda: client.post(f"/api/v1/cases/{case_id}/transitions/", body, format="json")


def _statuses(responses) -> list[int]:
    for response in responses:
        assert not isinstance(response, BaseException), repr(response)
    return sorted(response.status_code for response in responses)


def _transition_events(case: Case, *actions: str):
    return CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION, action__in=actions)


@pytest.mark.parametrize("threads", [2, 8])
@pytest.mark.usefixtures("slow_after_lock")
def test_same_action_with_the_same_version_succeeds_once(threads, officer):
    case = case_make(actor=officer)
    calls = [_post_transition(officer, case.pk, {"action": "start_review", "version": case.version})
             for _ in range(threads)]

    responses = run_together(calls)

    assert _statuses(responses) == [200] + [409] * (threads - 1)
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] in CONFLICT_CODES
    winner = next(response for response in responses if response.status_code == 200)
    case.refresh_from_db()
    assert case.state == "in_review"
    assert case.version == winner.json()["version"] == 2
    assert _transition_events(case, "start_review").count() == 1


@pytest.mark.parametrize("threads", [2, 8])
@pytest.mark.usefixtures("slow_after_lock")
def test_head_approving_and_refusing_at_once_gives_one_decision(threads, officer, head):
    case = case_make(actor=officer, path=("start_review", "propose_grant"))
    actions = ["approve", "refuse"] * (threads // 2)
    notes = {"approve": "", "refuse": "Cơ sở không đủ điều kiện về thiết bị in."}
    calls = [_post_transition(head, case.pk, {"action": action, "version": case.version, "note": notes[action]})
             for action in actions]

    responses = run_together(calls)

    assert _statuses(responses) == [200] + [409] * (threads - 1)
    assert all(response.json()["code"] in CONFLICT_CODES for response in responses if response.status_code == 409)
    winner_action = actions[[response.status_code for response in responses].index(200)]
    case.refresh_from_db()
    assert case.state == {"approve": "approved", "refuse": "refused"}[winner_action]
    assert case.outcome == {"approve": "granted", "refuse": "refused"}[winner_action]
    decisions = _transition_events(case, "approve", "refuse")
    assert list(decisions.values_list("action", flat=True)) == [winner_action]
    # Only an approval queues the issuing of a result number, and only once.
    issue_messages = OutboxMessage.objects.filter(task_name="licensing.result_issue", kwargs__case_id=case.pk)
    assert issue_messages.count() == (1 if winner_action == "approve" else 0)


@pytest.mark.usefixtures("slow_after_lock")
def test_racing_decisions_without_a_version_are_serialised_by_the_row_lock(officer, head):
    """No version sent (an internal caller): the lock alone decides, the loser sees the moved state."""
    case = case_make(actor=officer, path=("start_review", "propose_grant"))

    def decide(action):
        return lambda: services.case_transition(case_id=case.pk, actor=head, action=action, note="Lý do.")

    results = run_together([decide("approve"), decide("refuse"), decide("approve"), decide("refuse")])

    won = [result for result in results if isinstance(result, Case)]
    lost = [result for result in results if not isinstance(result, Case)]
    assert len(won) == 1
    assert all(isinstance(error, InvalidTransition) for error in lost), lost
    case.refresh_from_db()
    assert case.state == won[0].state
    assert _transition_events(case, "approve", "refuse").count() == 1
    assert case.version == won[0].version


@pytest.mark.usefixtures("slow_after_lock")
def test_two_people_with_the_same_version_one_gets_stale_version(officer, head):
    """Different, both valid actions from one state: the second, holding the old version, is refused."""
    case = case_make(actor=officer, path=("start_review",))

    def act(action, **extra):
        return lambda: services.case_transition(case_id=case.pk, actor=officer, action=action,
                                                version=case.version, **extra)

    results = run_together([act("propose_grant"), act("request_supplement", note="Thiếu bản sao giấy phép.")])

    won = [result for result in results if isinstance(result, Case)]
    assert len(won) == 1
    assert [type(result) for result in results if not isinstance(result, Case)] == [StaleVersion]
    case.refresh_from_db()
    assert case.state == won[0].state
    assert _transition_events(case, "propose_grant", "request_supplement").count() == 1


def test_the_same_new_case_sent_eight_times_at_once_is_stored_once(officer):
    client_uuid = str(uuid.uuid4())
    body = application_body("printing_licence", uuid=client_uuid,
                            organisation=applicant("printing_licence", name="Công ty TNHH In Thành Công"))
    clients = [token_client(officer) for _ in range(8)]

    responses = run_together([lambda c=c: c.post("/api/v1/licensing/applications/", body, format="json")
                              for c in clients])

    assert _statuses(responses) == [200] * 7 + [201]
    assert len({response.json()["id"] for response in responses}) == 1
    case = Case.objects.get(uuid=client_uuid)
    assert Case.objects.count() == 1
    assert Dossier.objects.filter(case=case).count() == 1 and Organisation.objects.count() == 1
    assert case.events.filter(kind=CaseEvent.Kind.CREATED).count() == 1
    assert OutboxMessage.objects.filter(task_name="cases.case_intake").count() == 1
    assert OutboxMessage.objects.filter(task_name="licensing.notification_send").count() == 1  # one receipt email
    # The losers' numbers were rolled back: the reference counter has no gap.
    year = timezone.localtime(case.received_at).year
    assert case.reference == f"GPIN-{year}-00001"
    assert Sequence.objects.get(key="case:printing_licence", year=year).last_value == 1


def test_twenty_approvals_at_once_get_result_numbers_1_to_20(officer, head):
    cases = [case_make(actor=officer, path=("start_review", "propose_grant"), subject_name=f"Cơ sở in số {i}")
             for i in range(20)]

    def approve_and_issue(case):
        def run():
            services.case_transition(case_id=case.pk, actor=head, action="approve", version=case.version)
            return licensing_services.result_issue(case_id=case.pk)
        return run

    results = run_together([approve_and_issue(case) for case in cases])

    for result in results:
        assert isinstance(result, IssuedDocument), repr(result)
    issued = Case.objects.filter(pk__in=[case.pk for case in cases])
    assert set(issued.values_list("state", flat=True)) == {"issued"}
    numbers = sorted(int(number.split("/")[0]) for number in issued.values_list("result_number", flat=True))
    assert numbers == list(range(1, 21))
    assert set(number.split("/", 1)[1] for number in issued.values_list("result_number", flat=True)) == {"GP-SVHTTDL"}
    year = timezone.localtime(timezone.now()).year
    assert Sequence.objects.get(key=counter_key("GP"), year=year).last_value == 20
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSITION, action="issue").count() == 20


def test_a_failed_result_issue_gives_its_number_back(officer, head, monkeypatch):
    """A result issue that fails after taking a number rolls the number back: the next case gets it."""
    first = case_make(actor=officer, path=("start_review", "propose_grant", "approve"), head=head)
    second = case_make(actor=officer, path=("start_review", "propose_grant", "approve"), head=head)
    original_apply = services._transition_apply

    def failing_apply(*args, **kwargs):
        raise RuntimeError("disk full while rendering the licence")

    monkeypatch.setattr(services, "_transition_apply", failing_apply)
    with pytest.raises(RuntimeError):
        licensing_services.result_issue(case_id=first.pk)
    monkeypatch.setattr(services, "_transition_apply", original_apply)

    licensing_services.result_issue(case_id=second.pk)
    licensing_services.result_issue(case_id=first.pk)

    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.result_number, first.result_number) == ("01/GP-SVHTTDL", "02/GP-SVHTTDL")
