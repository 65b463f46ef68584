"""A visit's outcome follows its findings: compliant only without violations, a violation only with one, a
reminder with what it is about, photos where the checklist asks for them; recorded once. Targets are added and
taken back by the lead while the field work is open."""

import pytest

from inspections.models import Document, Target, ViolationRecord
from worker.models import OutboxMessage

from .factories import UserFactory
from .support_concurrency import token_client
from .support_inspections import (
    campaign_make,
    checklists_load,
    finding_body,
    image_bytes,
    items_of,
    shop,
    upload,
)

API = "/api/v1/inspections/"
EN = {"accept-language": "en"}


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def visit(api, lead, inspector):
    """A target with a violation on the licence (no photo needed) and the premises compliant (photo needed)."""
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    target = campaign.targets.get()
    items = {item.code: item for item in items_of(campaign)}
    client = api.as_user(inspector)
    licence = finding_body(target, items["licence"], result="violation", note="Chưa đăng ký hoạt động in")
    premises = finding_body(target, items["premises"])
    for body in (licence, premises):
        assert client.post(f"{API}findings/", body, format="json").status_code == 201
    return {"campaign": campaign, "target": target, "premises": premises, "client": client}


def set_outcome(client, target, **body):
    return client.post(f"{API}targets/{target.pk}/outcome/", body, format="json", headers=EN)


@pytest.mark.django_db
def test_an_outcome_waits_for_the_photos_the_checklist_asks_for(visit):
    client, target = visit["client"], visit["target"]
    response = set_outcome(client, target, outcome="reminder", note="Nhắc nhở đăng ký hoạt động in")
    assert response.status_code == 400
    assert response.json()["code"] == "outcome_not_ready" and response.json()["missing_photos"] == ["premises"]
    photo = client.post(f"{API}photos/", {"uuid": "8a1f6f8e-54c7-4f0e-9d3c-6f4f3b1f0a01",
                                          "finding": visit["premises"]["uuid"], "file": upload(image_bytes())},
                        format="multipart")
    assert photo.status_code == 201
    response = set_outcome(client, target, outcome="reminder", note="Nhắc nhở đăng ký hoạt động in")
    assert response.status_code == 200, response.content
    assert (response.json()["outcome"], response.json()["outcome_note"]) == ("reminder",
                                                                             "Nhắc nhở đăng ký hoạt động in")
    assert OutboxMessage.objects.filter(task_name="inspections.visit_minutes_render",
                                        kwargs={"target_id": target.pk}).count() == 1


@pytest.mark.django_db
def test_an_outcome_must_agree_with_the_findings(api, lead, inspector, visit):
    client, target = visit["client"], visit["target"]
    client.post(f"{API}photos/", {"uuid": "8a1f6f8e-54c7-4f0e-9d3c-6f4f3b1f0a02", "finding": visit["premises"]["uuid"],
                                  "file": upload(image_bytes())}, format="multipart")
    compliant = set_outcome(client, target, outcome="compliant")
    assert compliant.status_code == 400 and compliant.json()["violations"] == ["licence"]
    assert set_outcome(client, target, outcome="reminder").json()["errors"]["note"]
    assert set_outcome(client, target, outcome="violation").json()["errors"]["violation_description"]
    assert set_outcome(client, target, outcome="pending").status_code == 400
    assert set_outcome(token_client(UserFactory(roles=["inspector"])), target, outcome="reminder",
                       note="x").status_code == 404  # not on the team: the target is not even visible

    recorded = set_outcome(client, target, outcome="violation", violation_description="Hoạt động in khi chưa đăng ký")
    assert recorded.status_code == 200
    again = set_outcome(client, target, outcome="violation", violation_description="Hoạt động in khi chưa đăng ký")
    assert again.status_code == 200 and again.json() == recorded.json()
    other = set_outcome(client, target, outcome="reminder", note="Đổi ý")
    assert other.status_code == 409 and other.json()["code"] == "outcome_conflict"
    assert ViolationRecord.objects.count() == 1
    assert OutboxMessage.objects.filter(task_name="inspections.violation_record_render").count() == 1


@pytest.mark.django_db
def test_a_target_without_findings_has_no_outcome_and_blocks_the_conclusion(api, lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=2, path=("announce", "start_fieldwork"))
    empty, visited = campaign.targets.order_by("pk")
    client = token_client(inspector)
    assert set_outcome(client, empty, outcome="compliant").json()["code"] == "outcome_not_ready"
    client.post(f"{API}findings/", finding_body(visited, items_of(campaign)[0]), format="json")
    assert set_outcome(client, visited, outcome="compliant").status_code == 200

    lead_client = token_client(lead)
    campaign.case.refresh_from_db()
    lead_client.post(f"{API}campaigns/{campaign.pk}/transitions/",
                     {"action": "close_findings", "version": campaign.case.version}, format="json")
    campaign.case.refresh_from_db()
    response = lead_client.post(f"{API}campaigns/{campaign.pk}/transitions/",
                                {"action": "conclude", "version": campaign.case.version, "note": "Kết luận"},
                                format="json")
    assert response.status_code == 409
    assert response.json()["pending_targets"] == [empty.establishment.name]
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_the_lead_adds_and_takes_back_targets_while_the_field_work_is_open(api, lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    extra = shop(50)
    lead_client, inspector_client = token_client(lead), token_client(inspector)
    body = {"campaign": campaign.pk, "establishment": extra.pk, "inspectors": [inspector.pk],
            "planned_on": "2020-06-11"}
    assert inspector_client.post(f"{API}targets/", body, format="json").status_code == 403
    created = lead_client.post(f"{API}targets/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["inspectors"][0]["id"] == inspector.pk
    twice = lead_client.post(f"{API}targets/", body, format="json")
    assert twice.status_code == 400
    wrong_kind = lead_client.post(f"{API}targets/", {**body, "establishment": shop(51, "bts_site").pk}, format="json")
    assert wrong_kind.status_code == 400 and "targets" in wrong_kind.json()["errors"]

    visited = campaign.targets.exclude(pk=created.json()["id"]).get()
    inspector_client.post(f"{API}findings/", finding_body(visited, items_of(campaign)[0]), format="json")
    refused = lead_client.delete(f"{API}targets/{visited.pk}/")
    assert refused.status_code == 409 and refused.json()["code"] == "in_use"
    assert lead_client.delete(f"{API}targets/{created.json()['id']}/").status_code == 204
    assert list(Target.objects.values_list("pk", flat=True)) == [visited.pk]
    assert campaign.case.events.filter(action="target_remove").count() == 1

    reassigned = lead_client.post(f"{API}targets/{visited.pk}/assign/", {"inspectors": []}, format="json")
    assert reassigned.status_code == 200 and reassigned.json()["inspectors"] == []
    outsider = UserFactory(roles=["inspector"])
    response = lead_client.post(f"{API}targets/{visited.pk}/assign/", {"inspectors": [outsider.pk]}, format="json")
    assert response.status_code == 400 and "inspectors" in response.json()["errors"]
