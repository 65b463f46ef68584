"""Tablets send findings under their own ids, again and again, in any order: each is stored exactly once.

The same id with the same content answers 200 with the stored finding; the same id with other content is 409
with both versions; a batch answers item by item and keeps every valid item whatever the others do.
"""

import random
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import services as case_services
from inspections.models import Finding, Target

from .factories import UserFactory
from .support_concurrency import run_together, token_client
from .support_inspections import campaign_make, checklists_load, finding_body, items_of

FINDINGS = "/api/v1/inspections/findings/"


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def inspector2(db):
    from cases import roles as r

    return UserFactory(roles=[r.INSPECTOR])


@pytest.fixture
def in_field(lead, inspector, inspector2):
    return campaign_make(lead=lead, members=[inspector, inspector2], shops=3,
                         path=("announce", "start_fieldwork"))


@pytest.mark.django_db
def test_a_finding_sent_twice_is_stored_once_and_the_second_answer_is_the_stored_one(api, inspector, in_field):
    target = in_field.targets.first()
    body = finding_body(target, items_of(in_field)[0], result="violation", note="Không có sổ quản lý ấn phẩm.")
    client = api.as_user(inspector)
    first = client.post(FINDINGS, body, format="json")
    second = client.post(FINDINGS, body, format="json")
    assert first.status_code == 201, first.content
    assert second.status_code == 200, second.content
    assert second.json() == first.json()
    assert first.json()["uuid"] == body["uuid"]
    assert first.json()["latitude"] == 20.446313  # rounded to 6 places (about 10 cm)
    assert Finding.objects.count() == 1
    finding = Finding.objects.get()
    assert (finding.result, finding.note, finding.inspector) == ("violation", "Không có sổ quản lý ấn phẩm.", inspector)
    target.refresh_from_db()
    assert target.visited_at == finding.device_time


@pytest.mark.django_db
def test_the_same_finding_written_differently_is_still_the_same(api, inspector, in_field):
    """A resend may spell the time in UTC and carry more decimals; the content is what is compared."""
    target, item = in_field.targets.first(), items_of(in_field)[0]
    body = finding_body(target, item, device_time="2020-06-10T09:15:00+07:00", latitude=20.4463131)
    again = {**body, "device_time": "2020-06-10T02:15:00Z", "latitude": 20.44631309}
    client = api.as_user(inspector)
    assert client.post(FINDINGS, body, format="json").status_code == 201
    assert client.post(FINDINGS, again, format="json").status_code == 200
    assert Finding.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("change", [
    {"result": "violation"},
    {"note": "Đã sửa ghi chú"},
    {"latitude": 20.5, "longitude": 106.3},
    {"device_time": "2020-06-10T09:16:00+07:00"},
    {"item": "second"},
    {"target": "second"},
])
def test_a_used_id_with_other_content_is_409_with_both_versions(api, inspector, in_field, change):
    targets, items = list(in_field.targets.order_by("pk")), items_of(in_field)
    body = finding_body(targets[0], items[0], device_time="2020-06-10T09:15:00+07:00", note="Đạt")
    client = api.as_user(inspector)
    assert client.post(FINDINGS, body, format="json").status_code == 201
    changed = {**body, **change}
    if change.get("item") == "second":
        changed["item"] = items[1].pk
    if change.get("target") == "second":
        changed["target"] = targets[1].pk
    response = client.post(FINDINGS, changed, format="json")
    assert response.status_code == 409, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "finding_conflict"
    stored, sent = problem["stored"], problem["sent"]
    assert stored["uuid"] == sent["uuid"] == body["uuid"]
    assert stored["note"] == "Đạt" and stored["result"] == "compliant"
    assert stored["device_time"] == "2020-06-10T02:15:00.000000+00:00"
    assert {k for k in stored if stored[k] != sent[k]} == set(change)
    assert Finding.objects.count() == 1
    assert Finding.objects.get().note == "Đạt"


@pytest.mark.django_db
def test_the_same_id_from_another_inspector_is_a_conflict(api, inspector, inspector2, in_field):
    body = finding_body(in_field.targets.first(), items_of(in_field)[0])
    assert api.as_user(inspector).post(FINDINGS, body, format="json").status_code == 201
    response = api.as_user(inspector2).post(FINDINGS, body, format="json")
    assert response.status_code == 409
    assert response.json()["stored"]["inspector"] == inspector.pk
    assert response.json()["sent"]["inspector"] == inspector2.pk


@pytest.mark.django_db
def test_only_the_team_submits_and_only_while_in_the_field(api, lead, inspector, in_field):
    target, item = in_field.targets.first(), items_of(in_field)[0]
    outsider = UserFactory(roles=["inspector"])
    response = api.as_user(outsider).post(FINDINGS, finding_body(target, item), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_on_team"

    stored = finding_body(target, item)
    assert api.as_user(inspector).post(FINDINGS, stored, format="json").status_code == 201
    # The lead is on the team too.
    assert api.as_user(lead).post(FINDINGS, finding_body(target, items_of(in_field)[1]), format="json").status_code \
        == 201

    case_services.case_transition(case_id=in_field.case_id, actor=lead, action="close_findings")
    late = api.as_user(inspector).post(FINDINGS, finding_body(target, item), format="json")
    assert late.status_code == 409
    assert late.json()["code"] == "campaign_not_in_field"
    assert late.json()["state"] == "findings_closed"
    # A finding the server already has is answered as before: the tablet may mark it synced.
    again = api.as_user(inspector).post(FINDINGS, stored, format="json")
    assert again.status_code == 200
    assert Finding.objects.count() == 2


@pytest.mark.django_db
def test_findings_are_refused_before_the_field_work_starts(api, lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], path=("announce",))
    response = api.as_user(inspector).post(FINDINGS, finding_body(campaign.targets.first(), items_of(campaign)[0]),
                                           format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "campaign_not_in_field"
    assert not Finding.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field"), [
    ({"result": "maybe"}, "result"),
    ({"latitude": 91}, "latitude"),
    ({"longitude": -181}, "longitude"),
    ({"longitude": None}, "latitude"),
    ({"accuracy": -1}, "accuracy"),
    ({"device_time": "yesterday"}, "device_time"),
    ({"uuid": "not-a-uuid"}, "uuid"),
])
def test_invalid_findings_are_400_with_the_field(api, inspector, in_field, change, field):
    body = {**finding_body(in_field.targets.first(), items_of(in_field)[0]), **change}
    response = api.as_user(inspector).post(FINDINGS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Finding.objects.exists()


@pytest.mark.django_db
def test_an_item_of_another_checklist_or_a_future_time_is_refused(api, inspector, in_field):
    from inspections.models import ChecklistItem

    target = in_field.targets.first()
    other = ChecklistItem.objects.exclude(template=in_field.checklist).first()
    response = api.as_user(inspector).post(FINDINGS, finding_body(target, other), format="json")
    assert response.status_code == 400
    assert "item" in response.json()["errors"]
    future = (timezone.now() + timedelta(days=2)).isoformat()  # a clock wrong by hours is tolerated, not days
    response = api.as_user(inspector).post(FINDINGS, finding_body(target, items_of(in_field)[0], device_time=future),
                                           format="json")
    assert response.status_code == 400
    assert "device_time" in response.json()["errors"]


# --- Concurrency on PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_each_finding_sent_three_times_in_shuffled_order_from_parallel_threads_is_stored_once(lead, inspector):
    inspector2 = UserFactory(roles=["inspector"])
    campaign = campaign_make(lead=lead, members=[inspector, inspector2], shops=4, path=("announce", "start_fieldwork"))
    targets, items = list(campaign.targets.order_by("pk")), items_of(campaign)
    rng = random.Random(20200610)
    authors = {}
    bodies = []
    for t_index, target in enumerate(targets):
        for item in items[:4]:
            body = finding_body(target, item, result=rng.choice(["compliant", "violation", "not_applicable"]),
                                note=f"Ghi nhận {t_index}-{item.code}")
            authors[body["uuid"]] = inspector if t_index % 2 == 0 else inspector2
            bodies.append(body)
    sends = [body for body in bodies for _ in range(3)]
    rng.shuffle(sends)
    token_client(inspector), token_client(inspector2)  # tokens made here, not raced for by the threads
    threads = 8
    chunks = [sends[i::threads] for i in range(threads)]

    def sender(chunk):
        clients = {user.pk: token_client(user) for user in (inspector, inspector2)}  # this thread's own clients
        answers = []
        for body in chunk:
            response = clients[authors[body["uuid"]].pk].post(FINDINGS, body, format="json")
            answers.append((body["uuid"], response.status_code, response.json()))
        return answers

    results = run_together([lambda c=chunk: sender(c) for chunk in chunks])
    answers = [answer for result in results for answer in (result if isinstance(result, list) else [result])]
    assert all(isinstance(a, tuple) for a in answers), [a for a in answers if not isinstance(a, tuple)]
    assert len(answers) == 3 * len(bodies)
    statuses = Counter(status for _uuid, status, _body in answers)
    assert statuses == {201: len(bodies), 200: 2 * len(bodies)}, statuses
    created = Counter(uuid for uuid, status, _body in answers if status == 201)
    assert set(created.values()) == {1} and len(created) == len(bodies)
    # Every answer, first or repeated, carries the same stored finding.
    by_uuid = {}
    for finding_uuid, _status, body in answers:
        assert by_uuid.setdefault(finding_uuid, body) == body
    assert Finding.objects.count() == len(bodies)
    for body in bodies:
        finding = Finding.objects.get(pk=body["uuid"])
        assert (finding.result, finding.note, finding.inspector_id) == (
            body["result"], body["note"], authors[body["uuid"]].pk)


@pytest.mark.django_db(transaction=True)
def test_one_id_with_two_contents_at_the_same_moment_stores_one_and_refuses_the_other(lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    target, item = campaign.targets.get(), items_of(campaign)[0]
    finding_id = uuid.uuid4()
    token_client(inspector)
    versions = [finding_body(target, item, finding_id=finding_id, result=result)
                for result in ("compliant", "violation", "compliant", "violation")]

    def send(body):
        response = token_client(inspector).post(FINDINGS, body, format="json")
        return response.status_code, response.json()

    results = run_together([lambda b=body: send(b) for body in versions])
    statuses = sorted(status for status, _body in results)
    assert statuses == [200, 201, 409, 409], results
    stored = Finding.objects.get(pk=finding_id)
    for status, body in results:
        if status == 409:
            assert body["stored"]["result"] == stored.result != body["sent"]["result"]
        else:
            assert body["result"] == stored.result


# --- Batches -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_answers_each_item_and_stores_the_valid_ones(api, inspector, in_field):
    targets, items = list(in_field.targets.order_by("pk")), items_of(in_field)
    client = api.as_user(inspector)
    already = finding_body(targets[0], items[0], note="Gửi trước khi mất kết nối")
    assert client.post(FINDINGS, already, format="json").status_code == 201
    new_a = finding_body(targets[0], items[1], result="violation", note="Máy photocopy màu chưa khai báo")
    new_b = finding_body(targets[1], items[0])
    conflicting = {**already, "note": "Nội dung khác"}
    invalid_shape = {**finding_body(targets[1], items[1]), "result": "không rõ"}
    unknown_target = {**finding_body(targets[1], items[2]), "target": 999999}
    batch = [new_a, already, conflicting, invalid_shape, new_b, unknown_target, new_a, "not an object"]

    response = client.post(f"{FINDINGS}batch/", {"findings": batch}, format="json")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    assert [r["status"] for r in results] == [201, 200, 409, 400, 201, 400, 200, 400]
    assert results[0]["body"]["uuid"] == new_a["uuid"] and results[0]["body"]["result"] == "violation"
    assert results[1]["body"]["note"] == "Gửi trước khi mất kết nối"
    assert results[2]["body"]["code"] == "finding_conflict"
    assert results[2]["body"]["sent"]["note"] == "Nội dung khác"
    assert results[2]["body"]["stored"]["note"] == "Gửi trước khi mất kết nối"
    assert results[3]["body"]["code"] == "validation" and "result" in results[3]["body"]["errors"]
    assert results[3]["uuid"] == invalid_shape["uuid"]
    assert "target" in results[5]["body"]["errors"]
    assert results[6]["body"] == results[0]["body"]  # the same finding twice in one batch: once
    assert results[7]["uuid"] is None
    assert set(Finding.objects.values_list("pk", flat=True)) == {
        uuid.UUID(already["uuid"]), uuid.UUID(new_a["uuid"]), uuid.UUID(new_b["uuid"])}

    # The tablet sends the whole batch again: nothing new, nothing lost.
    again = client.post(f"{FINDINGS}batch/", {"findings": batch}, format="json").json()["results"]
    assert [r["status"] for r in again] == [200, 200, 409, 400, 200, 400, 200, 400]
    assert Finding.objects.count() == 3


@pytest.mark.django_db
def test_a_batch_from_someone_off_the_team_refuses_each_item(api, in_field):
    outsider = UserFactory(roles=["inspector"])
    target = in_field.targets.first()
    batch = [finding_body(target, item) for item in items_of(in_field)[:2]]
    results = api.as_user(outsider).post(f"{FINDINGS}batch/", {"findings": batch}, format="json").json()["results"]
    assert [(r["status"], r["body"]["code"]) for r in results] == [(403, "not_on_team")] * 2
    assert not Finding.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{}, {"findings": []}, {"findings": "x"}, {"findings": [{}] * 501}])
def test_a_malformed_batch_is_400(api, inspector, in_field, payload):
    response = api.as_user(inspector).post(f"{FINDINGS}batch/", payload, format="json")
    assert response.status_code == 400
    assert "findings" in response.json()["errors"]


@pytest.mark.django_db
def test_the_latest_finding_of_an_item_counts(api, inspector, in_field):
    """A correction is a new finding (new id) on the same item; the one made last on the device counts."""
    from inspections.selectors import findings_current

    target, item = in_field.targets.first(), items_of(in_field)[0]
    client = api.as_user(inspector)
    client.post(FINDINGS, finding_body(target, item, result="violation", device_time="2020-06-10T09:15:00+07:00"),
                format="json")
    client.post(FINDINGS, finding_body(target, item, result="compliant", device_time="2020-06-10T09:20:00+07:00"),
                format="json")
    assert findings_current(Target.objects.get(pk=target.pk))[item.pk].result == "compliant"
    assert Finding.objects.filter(target=target, item=item).count() == 2
