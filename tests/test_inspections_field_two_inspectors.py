"""Two inspectors, one item (issue 17, item 6): both findings stay visible with who and when, a disagreement is
flagged and waits for the lead, counts follow selectors' THE RULE, and nobody's note lands under another's name."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inspections import selectors
from inspections.models import Finding, Target

from .factories import UserFactory
from .support_inspections import HCM, campaign_make, checklists_load, finding_body, items_of

API = "/api/v1/inspections/"


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def at(minutes_ago: int) -> str:
    return (timezone.now() - timedelta(minutes=minutes_ago)).astimezone(HCM).replace(microsecond=0).isoformat()


@pytest.fixture
def pair(lead, inspector):
    from cases import roles as r
    colleague = UserFactory(roles=[r.INSPECTOR], first_name="Bình", last_name="Trần")
    campaign = campaign_make(lead=lead, members=[inspector, colleague], shops=1, path=("announce", "start_fieldwork"))
    target = campaign.targets.get()
    items = {item.code: item for item in items_of(campaign)}
    return {"campaign": campaign, "target": target, "items": items, "a": client_of(inspector),
            "b": client_of(colleague), "lead": client_of(lead), "inspector": inspector, "colleague": colleague}


def batch(client, *bodies):
    response = client.post(f"{API}findings/batch/", {"findings": list(bodies)}, format="json")
    assert response.status_code == 200, response.content
    assert all(answer["status"] == 201 for answer in response.json()["results"]), response.json()
    return response


@pytest.mark.django_db
def test_both_offline_findings_on_one_item_are_shown_with_who_and_when_and_flagged(pair):
    """Before: the later device time silently won and the other inspector's finding disappeared."""
    target, licence = pair["target"], pair["items"]["licence"]
    batch(pair["a"], finding_body(target, licence, result="violation", note="Thiếu hợp đồng in",
                                  device_time=at(30)))
    batch(pair["b"], finding_body(target, licence, result="compliant", note="", device_time=at(10)))
    data = pair["lead"].get(f"{API}targets/{target.pk}/fieldwork/").json()
    (entry,) = [row for row in data["items"] if row["item"] == licence.pk]
    assert entry["disputed"] is True and entry["answer"] is None
    by_name = {f["inspector"]["id"]: f for f in entry["current"]}
    assert set(by_name) == {pair["inspector"].pk, pair["colleague"].pk}
    assert by_name[pair["inspector"].pk]["note"] == "Thiếu hợp đồng in"
    assert by_name[pair["colleague"].pk]["note"] == ""  # nobody's words under another's name
    assert all(f["device_time"] and f["review"]["state"] == "received" for f in entry["current"])
    assert data["counts"] == {"items_recorded": 1, "violations": 0, "disputed": 1}
    # the API's list counts the same way, and the outcome waits for the lead's review
    listed = pair["lead"].get(f"{API}targets/{target.pk}/").json()
    assert (listed["findings_count"], listed["violations_count"], listed["disputed_count"]) == (1, 0, 1)
    refused = pair["a"].post(f"{API}targets/{target.pk}/outcome/", {"outcome": "violation",
                                                                  "violation_description": "Thiếu hợp đồng"},
                             format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "outcome_not_ready"
    assert refused.json()["disputed_items"] == [licence.pk]


@pytest.mark.django_db
def test_counts_take_each_inspectors_current_finding_once(pair):
    """Before: violations_count counted replaced findings too (3 where the current findings held 2)."""
    target, items = pair["target"], list(pair["items"].values())
    batch(pair["a"],
          finding_body(target, items[0], result="violation", device_time=at(40)),
          finding_body(target, items[0], result="compliant", device_time=at(20)),  # replaces the violation
          finding_body(target, items[1], result="violation", device_time=at(40)),
          finding_body(target, items[2], result="violation", device_time=at(40)))
    batch(pair["b"], finding_body(target, items[1], result="violation", device_time=at(35)))  # agrees: counts once
    row = selectors.target_counts(Target.objects.filter(pk=target.pk)).get()
    assert (row.findings_count, row.violations_count, row.disputed_count) == (3, 2, 0)
    assert Finding.objects.filter(target=target, result="violation").count() == 4  # nothing dropped
    python_rule = selectors.item_findings(target)
    assert sum(1 for e in python_rule.values() if e.answer and e.answer.result == "violation") == 2


@pytest.mark.django_db
def test_the_lead_settles_a_disagreement_and_the_counts_follow(pair):
    target, licence = pair["target"], pair["items"]["licence"]
    a_body = finding_body(target, licence, result="violation", note="Thiếu hợp đồng in", device_time=at(30))
    b_body = finding_body(target, licence, result="compliant", device_time=at(10))
    batch(pair["a"], a_body)
    batch(pair["b"], b_body)
    response = pair["lead"].post(f"{API}findings/{a_body['uuid']}/review/", {"state": "accepted"}, format="json")
    assert response.status_code == 200, response.content
    row = selectors.target_counts(Target.objects.filter(pk=target.pk)).get()
    assert (row.violations_count, row.disputed_count) == (1, 0)
    assert selectors.findings_current(target)[licence.pk].pk == Finding.objects.get(pk=a_body["uuid"]).pk


@pytest.mark.django_db
def test_a_second_inspector_is_no_longer_told_a_conflict_of_ids(pair):
    """Each inspector's own finding ids: the colleague's replacement never reuses the other's id or note."""
    target, licence = pair["target"], pair["items"]["licence"]
    first = finding_body(target, licence, result="violation", note="Thiếu hợp đồng in", device_time=at(30))
    batch(pair["a"], first)
    second = finding_body(target, licence, result="compliant", device_time=at(5))
    batch(pair["b"], second)
    stored = Finding.objects.get(pk=second["uuid"])
    assert (stored.inspector_id, stored.note) == (pair["colleague"].pk, "")
