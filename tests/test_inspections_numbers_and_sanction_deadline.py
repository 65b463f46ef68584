"""Numbers and deadlines of inspections, on real calendar dates.

Decisions to inspect are "01/QĐ-STTTT", violation records "01/BB-VPHC", sanction decisions "01/QĐ-XPVPHC": each
gap-free per calendar year (Asia/Ho_Chi_Minh), taken in the transaction that needs them.

The sanction decision is due 7 working days after the violation record. Counted by hand for a record on
Friday 17/01/2020: counting starts the next day; Sat 18 and Sun 19 are off; Mon 20 (1), Tue 21 (2), Wed 22 (3);
Tết 2020 is off from Thu 23 to Wed 29/01; Thu 30 (4), Fri 31 (5); Sat 01 and Sun 02/02 off; Mon 03/02 (6),
Tue 04/02 (7). Due: Tuesday 04/02/2020 at the close of office, 17:00.
"""

from datetime import date

import pytest
import time_machine

from cases import services as case_services
from cases.models import CalendarDay, CaseEvent
from inspections import services
from inspections.models import Campaign, SanctionDecision, ViolationRecord

from .support_concurrency import run_together, token_client
from .support_inspections import campaign_make, checklists_load, finding_body, items_of, local

CAMPAIGNS = "/api/v1/inspections/campaigns/"
EN = {"accept-language": "en"}


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


def announce(api, user, campaign):
    campaign.case.refresh_from_db()
    return api.as_user(user).post(f"{CAMPAIGNS}{campaign.pk}/transitions/",
                                  {"action": "announce", "version": campaign.case.version}, format="json")


# --- Decision numbers ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_decision_numbers_are_gap_free_per_year(api, lead, inspector):
    with time_machine.travel(local(2020, 1, 6, 9, 0), tick=False):
        first = campaign_make(lead=lead, members=[inspector], title="Kiểm tra hoạt động in quý I/2020")
        empty = campaign_make(lead=lead, members=[inspector], shops=0, title="Kiểm tra chưa có cơ sở")
        second = campaign_make(lead=lead, members=[inspector], title="Kiểm tra photocopy quý I/2020")

        response = announce(api, lead, first)
        assert response.status_code == 200, response.content
        assert response.json()["decision_number_text"] == "01/QĐ-STTTT"
        assert response.json()["state"] == "announced"
        refused = api.as_user(lead).post(f"{CAMPAIGNS}{empty.pk}/transitions/",
                                         {"action": "announce", "version": empty.case.version}, format="json",
                                         headers=EN)
        assert refused.status_code == 409 and refused.json()["code"] == "campaign_not_ready"
        assert announce(api, lead, second).json()["decision_number_text"] == "02/QĐ-STTTT"  # the refusal took none

    with time_machine.travel(local(2020, 12, 31, 23, 30), tick=False):  # still 2020 in Thái Bình
        late = campaign_make(lead=lead, members=[inspector])
        assert announce(api, lead, late).json()["decision_number_text"] == "03/QĐ-STTTT"
    with time_machine.travel(local(2021, 1, 1, 0, 30), tick=False):  # 2020 in UTC, 2021 here
        new_year = campaign_make(lead=lead, members=[inspector])
        assert announce(api, lead, new_year).json()["decision_number_text"] == "01/QĐ-STTTT"

    numbers = sorted((c.decision_year or 0, c.decision_number or 0) for c in Campaign.objects.all())
    assert numbers == [(0, 0), (2020, 1), (2020, 2), (2020, 3), (2021, 1)]
    first.refresh_from_db()
    assert first.case.result_number == "01/QĐ-STTTT"
    assert first.case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="decision_number").count() == 1
    # Cancelling an announced campaign keeps its number: the decision was issued.
    case_services.case_transition(case_id=second.case_id, actor=lead, action="cancel", note="Trùng kế hoạch")
    second.refresh_from_db()
    assert second.decision_number_text == "02/QĐ-STTTT"


@pytest.mark.django_db(transaction=True)
def test_campaigns_announced_at_the_same_moment_get_consecutive_numbers(lead, inspector):
    campaigns = [campaign_make(lead=lead, members=[inspector], shops=1) for _ in range(6)]
    token_client(lead)

    def go(campaign):
        response = token_client(lead).post(f"{CAMPAIGNS}{campaign.pk}/transitions/",
                                           {"action": "announce", "version": campaign.case.version}, format="json")
        return response.status_code, response.json().get("decision_number_text")

    results = run_together([lambda c=c: go(c) for c in campaigns])
    assert {status for status, _n in results} == {200}, results
    year = Campaign.objects.first().decision_year
    # Announced today: by the department of Hưng Yên that holds print inspections since 01/07/2025, in its series.
    assert sorted(n for _s, n in results) == [f"{i:02d}/QĐ-SVHTTDL" for i in range(1, 7)]
    assert sorted(Campaign.objects.values_list("decision_number", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert year is not None


# --- Violation records and the sanction deadline ---------------------------------------------------------------


def in_field_with_violations(api, lead, inspector, *, shops: int):
    campaign = campaign_make(lead=lead, members=[inspector], shops=shops, path=("announce", "start_fieldwork"))
    licence_item = items_of(campaign)[0]  # "licence": no photo required
    assert licence_item.code == "licence" and not licence_item.photo_required
    client = api.as_user(inspector)
    for target in campaign.targets.order_by("pk"):
        response = client.post("/api/v1/inspections/findings/",
                               finding_body(target, licence_item, result="violation",
                                            note="Hoạt động in khi chưa đăng ký với Sở"), format="json")
        assert response.status_code == 201, response.content
    return campaign


def record_violation(api, user, target, **extra):
    return api.as_user(user).post(f"/api/v1/inspections/targets/{target.pk}/outcome/", {
        "outcome": "violation", "violation_description": "Hoạt động cơ sở in khi chưa đăng ký hoạt động với Sở "
                                                          "Thông tin và Truyền thông.", **extra}, format="json")


@pytest.mark.django_db
def test_a_record_on_friday_17_01_2020_is_due_for_decision_on_tuesday_04_02_2020_after_tet(api, lead, inspector):
    with time_machine.travel(local(2020, 1, 17, 10, 0), tick=False):
        campaign = in_field_with_violations(api, lead, inspector, shops=2)
        first, second = campaign.targets.order_by("pk")
        response = record_violation(api, inspector, first)
        assert response.status_code == 200, response.content
        assert response.json()["outcome"] == "violation"
        assert record_violation(api, inspector, second).status_code == 200

    records = list(ViolationRecord.objects.order_by("number"))
    assert [v.number_text for v in records] == ["01/BB-VPHC", "02/BB-VPHC"]
    sanction = records[0].sanction
    assert sanction.due_at == local(2020, 2, 4, 17, 0)
    assert sanction.due_at.astimezone(local(2020, 1, 1).tzinfo).strftime("%A") == "Tuesday"
    event = campaign.case.events.get(action="violation_record", after__number="01/BB-VPHC")
    assert event.after["sanction_due_at"] == "2020-02-04T17:00:00+07:00"

    detail = api.as_user(lead).get(f"/api/v1/inspections/violations/{records[0].pk}/").json()
    assert detail["sanction"]["due_at"] == "2020-02-04T17:00:00+07:00"
    assert detail["establishment"]["name"] == first.establishment.name

    # The next year's records start again at 01.
    with time_machine.travel(local(2021, 1, 5, 9, 0), tick=False):
        later = in_field_with_violations(api, lead, inspector, shops=1)
        assert record_violation(api, inspector, later.targets.get()).status_code == 200
    assert ViolationRecord.objects.get(target__campaign=later).number_text == "01/BB-VPHC"


@pytest.mark.django_db
def test_an_extra_day_off_in_the_calendar_moves_the_deadline(api, lead, inspector):
    CalendarDay.objects.create(date=date(2020, 2, 3), kind=CalendarDay.Kind.DAY_OFF, note="Nghỉ bù (thử nghiệm)")
    with time_machine.travel(local(2020, 1, 17, 10, 0), tick=False):
        campaign = in_field_with_violations(api, lead, inspector, shops=1)
        assert record_violation(api, inspector, campaign.targets.get()).status_code == 200
    assert SanctionDecision.objects.get().due_at == local(2020, 2, 5, 17, 0)


@pytest.mark.django_db
def test_a_violation_record_dated_earlier_takes_its_year_and_its_deadline(api, lead, inspector):
    """Drawn up on paper in the field on 17/01/2020 and entered on 20/01: dated and due from the 17th."""
    with time_machine.travel(local(2020, 1, 20, 8, 0), tick=False):
        campaign = in_field_with_violations(api, lead, inspector, shops=1)
        response = record_violation(api, inspector, campaign.targets.get(), recorded_at="2020-01-17T15:30:00+07:00")
        assert response.status_code == 200, response.content
    assert SanctionDecision.objects.get().due_at == local(2020, 2, 4, 17, 0)


# --- The sanction decision and the follow-up -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_sanction_decision_is_numbered_and_a_late_one_is_shown_late(api, lead, inspector):
    with time_machine.travel(local(2020, 1, 17, 10, 0), tick=False):
        campaign = in_field_with_violations(api, lead, inspector, shops=2)
        first, second = campaign.targets.order_by("pk")
        record_violation(api, inspector, first)
        record_violation(api, inspector, second)
    on_time, late = SanctionDecision.objects.order_by("violation__number")
    sanctions = "/api/v1/inspections/sanctions/"

    with time_machine.travel(local(2020, 2, 5, 9, 0), tick=False):
        assert api.as_user(lead).get(f"{sanctions}?decided=false").json()["count"] == 2
        assert api.as_user(lead).get(f"{sanctions}{on_time.pk}/").json()["is_overdue"] is True
        body = {"fine_vnd": 5_000_000, "remedial_measures": "Buộc nộp lại số lợi bất hợp pháp có được.",
                "decided_at": "2020-02-04T16:00:00+07:00"}
        assert api.as_user(inspector).post(f"{sanctions}{on_time.pk}/decide/", body,
                                           format="json").status_code == 403
        for fine in (0, -5, "năm triệu"):
            response = api.as_user(lead).post(f"{sanctions}{on_time.pk}/decide/", {**body, "fine_vnd": fine},
                                              format="json")
            assert response.status_code == 400 and "fine_vnd" in response.json()["errors"]
        decided = api.as_user(lead).post(f"{sanctions}{on_time.pk}/decide/", body, format="json")
        assert decided.status_code == 200, decided.content
        assert decided.json()["number_text"] == "01/QĐ-XPVPHC"
        assert (decided.json()["fine_vnd"], decided.json()["decided_late"]) == (5_000_000, False)
        assert api.as_user(lead).post(f"{sanctions}{on_time.pk}/decide/", body, format="json").json() == decided.json()
        changed = api.as_user(lead).post(f"{sanctions}{on_time.pk}/decide/", {**body, "fine_vnd": 7_000_000},
                                         format="json")
        assert changed.status_code == 409 and changed.json()["code"] == "already_decided"

        late_decision = api.as_user(lead).post(f"{sanctions}{late.pk}/decide/", {"fine_vnd": 2_500_000},
                                               format="json").json()
        assert late_decision["number_text"] == "02/QĐ-XPVPHC"
        assert late_decision["decided_late"] is True

    on_time.refresh_from_db()
    assert (on_time.fine_vnd, on_time.decided_by, on_time.decided_at) == (5_000_000, lead, local(2020, 2, 4, 16, 0))
    assert campaign.case.events.filter(action="sanction_decide").count() == 2


@pytest.mark.django_db
def test_follow_up_comes_after_the_decision_and_the_campaign_closes_when_done(api, lead, inspector):
    campaign = in_field_with_violations(api, lead, inspector, shops=1)
    target = campaign.targets.get()
    assert record_violation(api, inspector, target).status_code == 200
    violation = ViolationRecord.objects.get()
    follow_ups = "/api/v1/inspections/follow-ups/"
    due = violation.recorded_at.date().replace(year=violation.recorded_at.year + 1).isoformat()
    early = api.as_user(inspector).post(follow_ups, {"violation": violation.pk, "correction_due_on": due},
                                        format="json")
    assert early.status_code == 409 and early.json()["code"] == "sanction_not_decided"

    services.sanction_decide(actor=lead, sanction_id=violation.sanction.pk, fine_vnd=3_000_000,
                             remedial_measures="Buộc đăng ký hoạt động cơ sở in")
    follow_up = api.as_user(inspector).post(follow_ups, {"violation": violation.pk, "correction_due_on": due,
                                                         "note": "Kiểm tra lại việc đăng ký"}, format="json")
    assert follow_up.status_code == 201, follow_up.content

    for action in ("close_findings",):
        case_services.case_transition(case_id=campaign.case_id, actor=lead, action=action)
    services.campaign_conclude(actor=lead, campaign_id=campaign.pk, conclusion="Cơ sở vi phạm đã bị xử phạt.")
    campaign.case.refresh_from_db()
    refused = api.as_user(lead).post(f"{CAMPAIGNS}{campaign.pk}/transitions/",
                                     {"action": "close", "version": campaign.case.version}, format="json")
    assert refused.status_code == 409
    assert refused.json()["follow_ups_open"] == ["01/BB-VPHC"]

    done = api.as_user(inspector).post(f"{follow_ups}{follow_up.json()['id']}/done/",
                                       {"done_note": "Cơ sở đã có văn bản xác nhận đăng ký"}, format="json")
    assert done.status_code == 200 and done.json()["done_at"]
    closed = api.as_user(lead).post(f"{CAMPAIGNS}{campaign.pk}/transitions/",
                                    {"action": "close", "version": campaign.case.version}, format="json")
    assert closed.status_code == 200, closed.content
    assert closed.json()["state"] == "closed"
