"""The lead's review of submissions (issue 17, item 3): received → accepted / needs correction / rejected, with
explicit permissions, RFC 7807 errors, a timeline event per review, and a correction received again."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from cases import roles as r
from cases.models import CaseEvent
from inspections.models import Finding

from .factories import UserFactory
from .support_inspections import HCM, campaign_make, checklists_load, finding_body, items_of

API = "/api/v1/inspections/"
EN = {"accept-language": "en"}


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
def submitted(lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    target = campaign.targets.get()
    item = items_of(campaign)[0]
    body = finding_body(target, item, result="violation", note="Thiếu sổ theo dõi", device_time=at(20))
    assert client_of(inspector).post(f"{API}findings/", body, format="json").status_code == 201
    return {"campaign": campaign, "target": target, "item": item, "body": body}


def review(client, uuid, **body):
    return client.post(f"{API}findings/{uuid}/review/", body, format="json", headers=EN)


@pytest.mark.django_db
def test_only_leads_review_and_errors_are_problems(submitted, inspector, lead, head):
    uuid = submitted["body"]["uuid"]
    refused = review(client_of(inspector), uuid, state="accepted")
    assert refused.status_code == 403 and refused["content-type"].startswith("application/problem+json")
    reporter = UserFactory(roles=[r.REPORTER])  # reads campaigns, reviews nothing
    assert review(client_of(reporter), uuid, state="accepted").status_code == 403
    missing_note = review(client_of(lead), uuid, state="needs_correction")
    assert missing_note.status_code == 400 and missing_note.json()["code"] == "validation"
    assert review(client_of(lead), "0b7f1a6e-1111-4e0f-9d3c-6f4f3b1f0a01", state="accepted").status_code == 404
    accepted = review(client_of(head), uuid, state="accepted")
    assert accepted.status_code == 200 and accepted.json()["review"]["state"] == "accepted"
    assert accepted.json()["review"]["by"]["id"] == head.pk


@pytest.mark.django_db
def test_needs_correction_goes_to_the_tablet_and_the_correction_is_received_again(submitted, inspector, lead):
    uuid, target, item = submitted["body"]["uuid"], submitted["target"], submitted["item"]
    response = review(client_of(lead), uuid, state="needs_correction", note="Chụp lại sổ theo dõi")
    assert response.status_code == 200, response.content
    event = CaseEvent.objects.get(case=submitted["campaign"].case, action="finding_review")
    assert (event.actor_id, event.after["state"], event.note) == (lead.pk, "needs_correction", "Chụp lại sổ theo dõi")
    # the inspector's tablet reads the note back through the fieldwork
    data = client_of(inspector).get(f"{API}targets/{target.pk}/fieldwork/").json()
    (finding,) = [f for row in data["items"] for f in row["current"]]
    assert finding["review"] == {**finding["review"], "state": "needs_correction", "note": "Chụp lại sổ theo dõi"}
    # the correction: a new finding by the same inspector, received again; the old one can no longer be reviewed
    correction = finding_body(target, item, result="violation", note="Không có sổ theo dõi", device_time=at(5))
    assert client_of(inspector).post(f"{API}findings/", correction, format="json").status_code == 201
    assert Finding.objects.get(pk=correction["uuid"]).review_state == "received"
    stale = review(client_of(lead), uuid, state="accepted")
    assert stale.status_code == 409 and stale.json()["code"] == "finding_superseded"
    assert stale.json()["current"] == correction["uuid"]


@pytest.mark.django_db
def test_two_reviews_at_once_one_wins_and_the_same_review_again_changes_nothing(submitted, lead, head):
    uuid = submitted["body"]["uuid"]
    assert review(client_of(lead), uuid, state="rejected", note="Sai cơ sở", expected_state="received").status_code \
        == 200
    late = review(client_of(head), uuid, state="accepted", expected_state="received")
    assert late.status_code == 409 and late.json()["code"] == "review_conflict"
    assert late.json()["stored"]["state"] == "rejected"
    again = review(client_of(lead), uuid, state="rejected", note="Sai cơ sở", expected_state="received")
    assert again.status_code == 200
    assert CaseEvent.objects.filter(action="finding_review").count() == 1
    # a rejected finding drops out of the counts
    listed = client_of(lead).get(f"{API}targets/{submitted['target'].pk}/").json()
    assert (listed["findings_count"], listed["violations_count"]) == (0, 0)


@pytest.mark.django_db
def test_a_photo_only_item_takes_only_a_photo_answer(submitted, inspector):
    target, item = submitted["target"], submitted["item"]
    item.photo_only = True
    item.save(update_fields=["photo_only"])
    client = client_of(inspector)
    wrong = client.post(f"{API}findings/", finding_body(target, item, result="compliant"), format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "result_not_for_item"
    batch = client.post(f"{API}findings/batch/", {"findings": [finding_body(target, item, result="compliant"),
                                                               finding_body(target, item, result="photo")]},
                        format="json").json()["results"]
    assert [answer["status"] for answer in batch] == [400, 201]


@pytest.mark.django_db
def test_the_ping_answers_without_a_session(client):
    response = client.get(f"{API}ping/")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert response["cache-control"] == "no-store"
