"""Findings of one campaign go in side by side, and closing the findings waits for those under way.

A finding takes a share lock on its campaign's case: two tablets never wait for each other, while the lead's
"close findings" (which takes the row for update) waits until the findings being stored are committed, so no
finding is ever stored after the findings were closed.
"""

import threading
import time

import pytest

from cases.models import CaseEvent
from inspections import services
from inspections.models import Finding

from .factories import UserFactory
from .support_concurrency import run_together, token_client
from .support_inspections import campaign_make, checklists_load, finding_body, items_of

FINDINGS = "/api/v1/inspections/findings/"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


def _hold_inside_the_lock(monkeypatch, *, entered: threading.Semaphore, release: threading.Event):
    """Every finding, once it holds the campaign's lock, signals and waits for `release`."""
    real = services.fieldwork.on_team

    def on_team_then_wait(case, user):
        entered.release()
        assert release.wait(timeout=20), "never released"
        return real(case, user)

    monkeypatch.setattr(services.fieldwork, "on_team", on_team_then_wait)


def test_two_findings_of_one_campaign_hold_its_lock_at_the_same_time(monkeypatch, lead, inspector):
    inspector2 = UserFactory(roles=["inspector"])
    campaign = campaign_make(lead=lead, members=[inspector, inspector2], shops=2, path=("announce", "start_fieldwork"))
    target, item = campaign.targets.first(), items_of(campaign)[0]
    entered, release = threading.Semaphore(0), threading.Event()
    _hold_inside_the_lock(monkeypatch, entered=entered, release=release)
    clients = {user.pk: token_client(user) for user in (inspector, inspector2)}

    def both_inside():
        # Both requests must be inside their transactions at once: with an exclusive lock the second would
        # wait at the lock and never get here while the first is held.
        ok = entered.acquire(timeout=15) and entered.acquire(timeout=15)
        release.set()
        return ok

    results = run_together([
        lambda: clients[inspector.pk].post(FINDINGS, finding_body(target, item), format="json").status_code,
        lambda: clients[inspector2.pk].post(FINDINGS, finding_body(target, item), format="json").status_code,
        both_inside,
    ])
    assert results == [201, 201, True], results
    assert Finding.objects.filter(target=target).count() == 2


def test_closing_the_findings_waits_for_a_finding_being_stored(monkeypatch, lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    target, item = campaign.targets.first(), items_of(campaign)[0]
    entered, release = threading.Semaphore(0), threading.Event()
    _hold_inside_the_lock(monkeypatch, entered=entered, release=release)
    finding_client, lead_client = token_client(inspector), token_client(lead)
    case_url = f"/api/v1/cases/{campaign.case_id}/"
    version = lead_client.get(case_url).json()["version"]
    closed = {}

    def finding():
        return finding_client.post(FINDINGS, finding_body(target, item), format="json").status_code

    def close_while_the_finding_is_held():
        assert entered.acquire(timeout=15), "the finding never took the lock"
        started = time.monotonic()
        threading.Timer(1.0, release.set).start()  # the finding commits one second from now
        response = lead_client.post(f"{case_url}transitions/", {"action": "close_findings", "version": version},
                                    format="json")
        closed["waited"] = time.monotonic() - started
        return response.status_code

    results = run_together([finding, close_while_the_finding_is_held])
    assert results == [201, 200], results
    assert closed["waited"] >= 0.9, closed  # the transition waited for the finding's transaction
    stored = Finding.objects.get(target=target)
    closing = CaseEvent.objects.get(case_id=campaign.case_id, action="close_findings")
    assert stored.received_at <= closing.at


def test_a_finding_after_the_findings_were_closed_is_refused_and_not_stored(lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1,
                             path=("announce", "start_fieldwork", "close_findings"))
    target, item = campaign.targets.first(), items_of(campaign)[0]
    response = token_client(inspector).post(FINDINGS, finding_body(target, item), format="json")
    assert response.status_code == 409, response.content
    assert Finding.objects.count() == 0


# --- Batches: new findings go in by one insert; a clash with another device falls back item by item ---------


def test_a_batch_of_new_findings_is_stored_at_once_and_the_visit_is_its_earliest_time(lead, inspector):
    from datetime import timedelta

    from django.utils import timezone

    campaign = campaign_make(lead=lead, members=[inspector], shops=2, path=("announce", "start_fieldwork"))
    first, second = campaign.targets.order_by("pk")
    items = items_of(campaign)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    bodies = [finding_body(first, item, device_time=(start + timedelta(minutes=10 - n)).isoformat())
              for n, item in enumerate(items)] + [finding_body(second, items[0], device_time=start.isoformat())]
    response = token_client(inspector).post(f"{FINDINGS}batch/", {"findings": bodies}, format="json")
    assert [row["status"] for row in response.json()["results"]] == [201] * len(bodies)
    assert Finding.objects.count() == len(bodies)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.visited_at == start + timedelta(minutes=10 - (len(items) - 1))
    assert second.visited_at == start
    # A later batch with an older finding moves the visit back; a newer one leaves it.
    older = finding_body(second, items[1], device_time=(start - timedelta(minutes=30)).isoformat())
    newer = finding_body(first, items[0], device_time=(start + timedelta(hours=1)).isoformat())
    token_client(inspector).post(f"{FINDINGS}batch/", {"findings": [older, newer]}, format="json")
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.visited_at == start - timedelta(minutes=30)
    assert first.visited_at == start + timedelta(minutes=10 - (len(items) - 1))


def test_an_id_arriving_from_another_campaign_meanwhile_makes_the_batch_answer_item_by_item(monkeypatch, lead,
                                                                                              inspector):
    one = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    other = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    shared = finding_body(one.targets.get(), items_of(one)[0])
    clash = {**finding_body(other.targets.get(), items_of(other)[0]), "uuid": shared["uuid"]}
    plain = finding_body(other.targets.get(), items_of(other)[1])
    inserted, release = threading.Event(), threading.Event()
    real_bulk_create = Finding.objects.bulk_create

    def bulk_create_then_hold(rows, *args, **kwargs):
        created = real_bulk_create(rows, *args, **kwargs)
        if any(str(row.pk) == shared["uuid"] for row in rows) and not inserted.is_set():
            inserted.set()  # the first batch holds its uncommitted row until told to go on
            assert release.wait(timeout=20)
        return created

    monkeypatch.setattr(Finding.objects, "bulk_create", bulk_create_then_hold)
    first_client, second_client = token_client(inspector), token_client(inspector)

    def first():
        return first_client.post(f"{FINDINGS}batch/", {"findings": [shared]}, format="json").json()["results"]

    def second():
        assert inserted.wait(timeout=15)
        threading.Timer(0.5, release.set).start()  # the second batch's insert waits on the first's id meanwhile
        return second_client.post(f"{FINDINGS}batch/", {"findings": [clash, plain]},
                                  format="json").json()["results"]

    first_results, second_results = run_together([first, second])
    assert [row["status"] for row in first_results] == [201]
    assert [row["status"] for row in second_results] == [409, 201]
    assert second_results[0]["body"]["code"] == "finding_conflict"
    assert Finding.objects.count() == 2
    assert Finding.objects.get(pk=shared["uuid"]).target_id == one.targets.get().pk
