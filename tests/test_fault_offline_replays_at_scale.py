"""Fault: tablets that were offline replay their findings, again and again, from several devices at once.

A thousand findings of four inspectors, on two campaigns in the field, are each sent three times in random
order, by eight parallel clients (two per inspector, each with its own API client and token), in batches of the
tablets' size through the batch endpoint the tablet pages use. Exactly a thousand findings are stored, each
answered 201 once and 200 the other times, every answer carrying the stored finding.
"""

import random
from collections import Counter, defaultdict

import pytest

from cases import roles as r
from inspections.models import Finding
from inspections.views import BATCH_SIZE

from .factories import UserFactory
from .support_concurrency import run_together, token_client
from .support_inspections import campaign_make, checklists_load, finding_body, items_of

pytestmark = pytest.mark.django_db(transaction=True)

FINDINGS = 1000
COPIES = 3
INSPECTORS = 4
CLIENTS_PER_INSPECTOR = 2
BATCH_URL = "/api/v1/inspections/findings/batch/"


def test_a_thousand_findings_each_sent_three_times_from_parallel_clients_are_stored_once(lead):
    checklists_load()  # a transaction=True test starts with the tables emptied
    inspectors = [UserFactory(roles=[r.INSPECTOR]) for _ in range(INSPECTORS)]
    campaigns = [campaign_make(lead=lead, members=inspectors, shops=5, path=("announce", "start_fieldwork"),
                               title=title)
                 for title in ("Kiểm tra hoạt động in quý II", "Kiểm tra cơ sở photocopy quý II")]
    places = [(target, items_of(campaign)) for campaign in campaigns for target in campaign.targets.order_by("pk")]
    rng = random.Random(20200611)
    bodies, author = [], {}
    for n in range(FINDINGS):
        target, items = rng.choice(places)
        body = finding_body(target, rng.choice(items), result=rng.choice(["compliant", "violation", "not_applicable"]),
                            note=f"Ghi nhận số {n + 1} tại {target.establishment.name}")
        bodies.append(body)
        author[body["uuid"]] = inspectors[n % INSPECTORS]

    # Each inspector's sends (three of each finding), shuffled and shared between two of their devices.
    sends = defaultdict(list)
    for body in bodies:
        sends[author[body["uuid"]].pk] += [body] * COPIES
    plans = []
    for inspector in inspectors:
        mine = sends[inspector.pk]
        rng.shuffle(mine)
        plans += [(inspector, mine[i::CLIENTS_PER_INSPECTOR]) for i in range(CLIENTS_PER_INSPECTOR)]
    clients = [token_client(inspector) for inspector, _ in plans]  # tokens made before the race

    def device(client, queue):
        answers = []
        for start in range(0, len(queue), BATCH_SIZE):
            batch = queue[start:start + BATCH_SIZE]
            response = client.post(BATCH_URL, {"findings": batch}, format="json")
            assert response.status_code == 200, response.content[:500]
            results = response.json()["results"]
            assert [result["index"] for result in results] == list(range(len(batch)))
            answers += [(sent["uuid"], result["uuid"], result["status"], result["body"])
                        for sent, result in zip(batch, results, strict=True)]
        return answers

    outcomes = run_together([(lambda c=client, q=queue: device(c, q)) for client, (_, queue) in zip(
        clients, plans, strict=True)], timeout=300)

    for outcome in outcomes:
        assert not isinstance(outcome, BaseException), repr(outcome)
    answers = [answer for outcome in outcomes for answer in outcome]
    assert len(answers) == FINDINGS * COPIES
    assert all(sent == answered for sent, answered, _status, _body in answers)
    statuses = Counter(status for _uuid, _answered, status, _body in answers)
    assert statuses == {201: FINDINGS, 200: (COPIES - 1) * FINDINGS}, statuses
    created = Counter(uuid for uuid, _answered, status, _body in answers if status == 201)
    assert len(created) == FINDINGS and set(created.values()) == {1}
    first_answer = {}
    for finding_uuid, _answered, _status, body in answers:
        assert first_answer.setdefault(finding_uuid, body) == body  # every answer is the one stored finding

    assert Finding.objects.count() == FINDINGS
    stored = {str(f.pk): f for f in Finding.objects.all()}
    assert set(stored) == {body["uuid"] for body in bodies}
    for body in bodies:
        finding = stored[body["uuid"]]
        assert (finding.target_id, finding.item_id, finding.result, finding.note, finding.inspector_id) == (
            body["target"], body["item"], body["result"], body["note"], author[body["uuid"]].pk)
