"""Who may take which workflow action through the API: the whole table of cases.workflow, role by role."""

from datetime import timedelta

import pytest

from cases import roles as r
from cases.models import Case, CaseEvent
from cases.workflow import WORKFLOWS, Effect, State
from licensing import services as licensing_services

from .factories import case_make

pytestmark = pytest.mark.django_db

NOTE = "Lý do: hồ sơ thiếu bản sao giấy phép kinh doanh."

# How to bring a case to each state, as users would (actions taken in order).
LICENSING_PATHS = {
    State.RECEIVED: (),
    State.IN_REVIEW: ("start_review",),
    State.SUPPLEMENT_REQUESTED: ("start_review", "request_supplement"),
    State.PROPOSED: ("start_review", "propose_grant"),
    State.APPROVED: ("start_review", "propose_grant", "approve"),
    State.ISSUED: ("start_review", "propose_grant", "approve"),  # then the worker issues the result
}
INSPECTION_PATHS = {
    State.PLANNED: (),
    State.ANNOUNCED: ("announce",),
    State.IN_FIELD: ("announce", "start_fieldwork"),
    State.FINDINGS_CLOSED: ("announce", "start_fieldwork", "close_findings"),
    State.CONCLUDED: ("announce", "start_fieldwork", "close_findings", "conclude"),
}

# Who can read a case of each domain (the inspector is put on the inspection team below).
# Written out here rather than taken from cases.selectors, so that a change of scoping shows up.
SEES = {
    "licensing": {r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.REPORTER, r.ADMINISTRATOR},
    "inspection": {r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.REPORTER, r.ADMINISTRATOR},
}


def case_in_state(domain: str, state: str, users) -> Case:
    if domain == "licensing":
        case = case_make(actor=users[r.LICENSING_OFFICER], path=LICENSING_PATHS[state],
                         head=users[r.DEPARTMENT_HEAD])
        if state == State.ISSUED:
            licensing_services.result_issue(case_id=case.pk)
            case.refresh_from_db()
    else:
        case = case_make(actor=users[r.INSPECTION_LEAD], type_code="prepaid_sim", path=INSPECTION_PATHS[state],
                         subject_name="Viettel Thái Bình, điểm bán 12 Lê Lợi")
        case.members.add(users[r.INSPECTOR])
    assert case.state == state
    return case


def transition_url(case) -> str:
    return f"/api/v1/cases/{case.pk}/transitions/"


def body_for(case: Case, action: str, transition, *, note: str = NOTE) -> dict:
    body = {"action": action, "version": case.version, "note": note}
    if Effect.NEW_DUE_DATE in transition.effects:
        body["new_due_at"] = (case.due_at + timedelta(days=10)).isoformat()
    return body


def problem_code(response) -> str:
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    return response.json()["code"]


def snapshot(case: Case) -> tuple:
    case.refresh_from_db()
    return case.state, case.version, case.events.count(), case.outcome, case.decided_at, case.closed_at


# The domains whose actions are taken through the engine's endpoint. A periodic report's actions go through the
# reports service only (the engine's door refuses them: tests/test_report_workflow_and_sections.py).
ENGINE_WORKFLOWS = {domain: transitions for domain, transitions in WORKFLOWS.items() if domain != "report"}

TABLE = [
    pytest.param(domain, action, source, role, id=f"{domain}-{action}-from-{source}-by-{role}")
    for domain, transitions in ENGINE_WORKFLOWS.items()
    for action, transition in transitions.items()
    for source in sorted(transition.sources)
    for role in r.ALL_ROLES
]


def test_the_table_covers_both_domains_and_every_transition():
    covered = {(p.values[0], p.values[1]) for p in TABLE}
    expected = {(d, a) for d, ts in ENGINE_WORKFLOWS.items() for a in ts}
    assert covered == expected
    assert {"licensing", "inspection"} <= {d for d, _ in covered}
    # The paths above reach every source state of every transition.
    for domain, transitions in ENGINE_WORKFLOWS.items():
        paths = LICENSING_PATHS if domain == "licensing" else INSPECTION_PATHS
        for transition in transitions.values():
            assert transition.sources <= set(paths), transition.action


# The department's policy, written out: the table-driven test below follows cases.workflow, so a change to
# who may do what in that table must also change this, deliberately.
OFFICER_OR_HEAD = {r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}
HEAD = {r.DEPARTMENT_HEAD, r.ADMINISTRATOR}
LEAD = {r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}
OFFICE = {r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}
POLICY = {
    ("licensing", "start_review"): (OFFICER_OR_HEAD, False),
    ("licensing", "request_supplement"): (OFFICER_OR_HEAD, True),
    ("licensing", "receive_supplement"): (OFFICER_OR_HEAD, False),
    ("licensing", "propose_grant"): (OFFICER_OR_HEAD, False),
    ("licensing", "propose_refusal"): (OFFICER_OR_HEAD, True),
    ("licensing", "return_for_review"): (HEAD, True),
    ("licensing", "approve"): (HEAD, False),
    ("licensing", "refuse"): (HEAD, True),
    ("licensing", "issue"): (set(), False),
    ("licensing", "retry_issue"): (OFFICER_OR_HEAD, False),
    ("licensing", "reopen_decision"): (HEAD, True),
    ("licensing", "withdraw"): (OFFICER_OR_HEAD, True),
    ("licensing", "apologise_late"): (OFFICER_OR_HEAD, True),
    ("licensing", "revoke"): (HEAD, True),
    ("inspection", "announce"): (LEAD, False),
    ("inspection", "start_fieldwork"): (LEAD, False),
    ("inspection", "close_findings"): (LEAD, False),
    ("inspection", "conclude"): (LEAD, True),
    ("inspection", "close"): (LEAD, False),
    ("inspection", "cancel"): (LEAD, True),
    ("report", "open_contributions"): (OFFICE, False),
    ("report", "submit_for_review"): (OFFICE, False),
    ("report", "return_for_changes"): (HEAD, True),
    ("report", "approve_report"): (HEAD, False),
    ("report", "issue_report"): (OFFICE, False),
    ("report", "send_report"): (OFFICE, False),
}


def test_the_workflow_table_is_the_departments_policy():
    actual = {(d, a): (set(t.roles), t.requires_note) for d, ts in WORKFLOWS.items() for a, t in ts.items()}
    assert actual == POLICY
    # Nobody who only reads or inspects in the field moves a case through its workflow (the reporter is the office
    # that compiles the periodic report: it moves that case only).
    for transitions in ENGINE_WORKFLOWS.values():
        for transition in transitions.values():
            assert not transition.roles & {r.REPORTER, r.INSPECTOR}, transition.action


@pytest.mark.parametrize(("domain", "action", "source", "role"), TABLE)
def test_transition_by_role(api, users, domain, action, source, role):
    transition = WORKFLOWS[domain][action]
    case = case_in_state(domain, source, users)
    before = snapshot(case)
    user = users[role]

    response = api.as_user(user).post(transition_url(case), body_for(case, action, transition), format="json")

    if role in transition.roles:
        assert response.status_code == 200, response.content
        expected_state = transition.target or source
        data = response.json()
        assert data["state"] == expected_state
        assert data["version"] == before[1] + 1
        case.refresh_from_db()
        assert case.state == expected_state
        assert case.version == before[1] + 1
        event = case.events.filter(kind=CaseEvent.Kind.TRANSITION).order_by("-id").first()
        assert (event.action, event.actor_id, event.from_state, event.to_state) == (
            action, user.pk, source, expected_state)
        if transition.requires_note:
            assert event.note == NOTE
        if transition.outcome:
            assert case.outcome == transition.outcome
        if Effect.DECIDE in transition.effects:
            assert case.decided_at is not None
        if Effect.CLOSE in transition.effects:
            assert case.closed_at is not None
        # The timeline shown by the API ends with this transition.
        assert data["timeline"][-1]["action"] == action
    elif role in SEES[domain]:
        assert response.status_code == 403, response.content
        assert problem_code(response) == "permission"
        assert snapshot(case) == before
    else:
        assert response.status_code == 404, response.content
        assert problem_code(response) == "not_found"
        assert snapshot(case) == before


def test_system_only_transitions_exist_and_are_refused_to_every_role(api, users):
    system_only = [(d, t) for d, ts in WORKFLOWS.items() for t in ts.values() if not t.roles]
    assert ("licensing", "issue") in [(d, t.action) for d, t in system_only]
    case = case_in_state("licensing", State.APPROVED, users)
    for role, user in users.items():
        response = api.as_user(user).post(transition_url(case), {"action": "issue", "version": case.version},
                                          format="json")
        assert response.status_code in (403, 404), (role, response.status_code)
        if role in SEES["licensing"]:
            assert response.status_code == 403 and problem_code(response) == "permission", role
    case.refresh_from_db()
    assert case.state == State.APPROVED
    assert case.result_number == ""
    assert not case.events.filter(action="issue").exists()


def test_a_superuser_without_groups_still_cannot_issue(api, users, django_user_model):
    boss = django_user_model.objects.create_superuser("root", "root@sotttt.example", "pw-test-1234")
    case = case_in_state("licensing", State.APPROVED, users)
    response = api.as_user(boss).post(transition_url(case), {"action": "issue", "version": case.version},
                                      format="json")
    assert response.status_code == 403
    assert problem_code(response) == "permission"


def test_offered_actions_match_what_the_role_may_do(api, users):
    case = case_in_state("licensing", State.RECEIVED, users)
    response = api.as_user(users[r.LICENSING_OFFICER]).get(f"/api/v1/cases/{case.pk}/")
    assert response.status_code == 200
    assert {a["action"] for a in response.json()["actions"]} == {
        "start_review", "request_supplement", "withdraw", "apologise_late"}
    reporter_view = api.as_user(users[r.REPORTER]).get(f"/api/v1/cases/{case.pk}/").json()
    assert reporter_view["actions"] == []
    proposed = case_in_state("licensing", State.PROPOSED, users)
    head_actions = api.as_user(users[r.DEPARTMENT_HEAD]).get(f"/api/v1/cases/{proposed.pk}/").json()["actions"]
    assert {a["action"] for a in head_actions} == {"return_for_review", "approve", "refuse", "withdraw",
                                                    "apologise_late"}
    assert {a["action"]: a["requires_note"] for a in head_actions}["refuse"] is True


# --- 409: the state or the version moved on -------------------------------------------------------


@pytest.mark.parametrize(("domain", "state", "role", "action"), [
    ("licensing", State.RECEIVED, r.DEPARTMENT_HEAD, "approve"),
    ("licensing", State.RECEIVED, r.LICENSING_OFFICER, "propose_grant"),
    ("licensing", State.APPROVED, r.DEPARTMENT_HEAD, "refuse"),
    ("licensing", State.ISSUED, r.LICENSING_OFFICER, "withdraw"),
    ("inspection", State.PLANNED, r.INSPECTION_LEAD, "conclude"),
    ("inspection", State.CONCLUDED, r.INSPECTION_LEAD, "cancel"),
])
def test_action_not_possible_in_the_current_state_is_409(api, users, domain, state, role, action):
    case = case_in_state(domain, state, users)
    before = snapshot(case)
    response = api.as_user(users[role]).post(transition_url(case),
                                             {"action": action, "version": case.version, "note": NOTE},
                                             format="json")
    assert response.status_code == 409, response.content
    assert problem_code(response) == "invalid_transition"
    assert response.json()["state"] == state
    assert snapshot(case) == before


def test_stale_version_is_409_and_changes_nothing(api, users):
    case = case_in_state("licensing", State.IN_REVIEW, users)  # version 2
    before = snapshot(case)
    response = api.as_user(users[r.LICENSING_OFFICER]).post(
        transition_url(case), {"action": "propose_grant", "version": case.version - 1}, format="json")
    assert response.status_code == 409
    assert problem_code(response) == "stale_version"
    assert response.json()["current_version"] == case.version
    assert snapshot(case) == before


def test_double_submit_second_request_gets_stale_version(api, users):
    case = case_in_state("licensing", State.RECEIVED, users)
    client = api.as_user(users[r.LICENSING_OFFICER])
    body = {"action": "start_review", "version": case.version}
    first = client.post(transition_url(case), body, format="json")
    second = client.post(transition_url(case), body, format="json")
    assert first.status_code == 200 and first.json()["state"] == State.IN_REVIEW
    assert second.status_code == 409 and problem_code(second) == "stale_version"
    assert case.events.filter(action="start_review").count() == 1


def test_unknown_action_is_400_validation(api, users):
    case = case_in_state("licensing", State.RECEIVED, users)
    before = snapshot(case)
    for action in ("fly_to_the_moon", "announce"):  # "announce" belongs to the other domain
        response = api.as_user(users[r.DEPARTMENT_HEAD]).post(
            transition_url(case), {"action": action, "version": case.version}, format="json")
        assert response.status_code == 400
        assert problem_code(response) == "validation"
        assert "action" in response.json()["errors"]
    assert snapshot(case) == before


# --- 400: written reasons are required ------------------------------------------------------------

NOTE_REQUIRED = [
    pytest.param(domain, action, source, id=f"{domain}-{action}-from-{source}")
    for domain, transitions in ENGINE_WORKFLOWS.items()
    for action, transition in transitions.items()
    if transition.requires_note
    for source in sorted(transition.sources)
]
# The first of these roles that the transition allows takes it.
PREFERRED = (r.LICENSING_OFFICER, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD)


def test_the_actions_named_in_the_rules_need_a_note():
    needing = {p.values[1] for p in NOTE_REQUIRED}
    assert {"refuse", "propose_refusal", "request_supplement", "withdraw", "conclude", "cancel"} <= needing


@pytest.mark.parametrize("note", [None, "", "   \n\t "], ids=["missing", "empty", "blank"])
@pytest.mark.parametrize(("domain", "action", "source"), NOTE_REQUIRED)
def test_action_without_written_reasons_is_400_and_changes_nothing(api, users, domain, action, source, note):
    transition = WORKFLOWS[domain][action]
    role = next(x for x in PREFERRED if x in transition.roles)
    case = case_in_state(domain, source, users)
    before = snapshot(case)
    body = body_for(case, action, transition, note=note)
    if note is None:
        del body["note"]
    response = api.as_user(users[role]).post(transition_url(case), body, format="json")
    assert response.status_code == 400, response.content
    assert problem_code(response) == "validation"
    assert "note" in response.json()["errors"]
    assert snapshot(case) == before
