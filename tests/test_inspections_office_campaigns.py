"""Planning from the office: the risk score's ranking from hand-made histories, the campaign pages' permissions,
planning through the page with the proposed targets, and announcing (the decision number on the page)."""

import re
import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone

from agencies.models import Agency
from cases import roles as r
from inspections.models import Campaign, Establishment, FollowUp, Outcome, Target, ViolationRecord
from inspections.risk import risk_scores

from .factories import UserFactory
from .support_inspections import campaign_make, checklists_load, shop

CULTURE = "hung-yen-svhttdl"


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def culture():
    return Agency.objects.get(code=CULTURE)


@pytest.fixture
def lead_c(db):
    return UserFactory(roles=[r.INSPECTION_LEAD], agencies=[CULTURE])


@pytest.fixture
def inspector_c(db):
    return UserFactory(roles=[r.INSPECTOR], agencies=[CULTURE])


def _history(target, *, visited_days_ago=None, outcome=None, violation=False, follow_up_open=False, lead=None):
    now = timezone.now()
    if visited_days_ago is not None:
        Target.objects.filter(pk=target.pk).update(visited_at=now - timedelta(days=visited_days_ago))
    if outcome:
        Target.objects.filter(pk=target.pk).update(outcome=outcome, outcome_at=now)
    if violation:
        record = ViolationRecord.objects.create(target=target, year=2024, number=target.pk,
                                                number_text=f"{target.pk:02d}/BB-VPHC", description="x",
                                                recorded_at=now, recorded_by=lead)
        if follow_up_open:
            FollowUp.objects.create(violation=record, correction_due_on=date.today(), created_by=lead)


@pytest.mark.django_db
def test_risk_ranks_by_history_and_says_why(lead_c, culture):
    campaign = campaign_make(lead=lead_c, shops=4, agency=culture)
    owed, violated, reminded, recent = list(campaign.targets.order_by("pk"))
    _history(owed, visited_days_ago=200, outcome=Outcome.VIOLATION, violation=True, follow_up_open=True, lead=lead_c)
    _history(violated, visited_days_ago=200, outcome=Outcome.VIOLATION, violation=True, lead=lead_c)
    _history(reminded, visited_days_ago=200, outcome=Outcome.REMINDER)
    _history(recent, visited_days_ago=10, outcome=Outcome.COMPLIANT)
    never = shop(99, agency=culture)
    scores = risk_scores(Establishment.objects.filter(agency=culture))
    order = [s.establishment.pk for s in scores]
    # 27 (violation 10 + follow-up 15 + time 2), never visited 20, 12, 5, 0.
    assert order == [owed.establishment_id, never.pk, violated.establishment_id, reminded.establishment_id,
                     recent.establishment_id]
    by_pk = {s.establishment.pk: s for s in scores}
    # 200 days = 6 full months → 2 points of time; one violation 10; an open follow-up 15.
    assert by_pk[owed.establishment_id].parts == {"violations": 10, "reminders": 0, "follow_ups": 15, "time": 2}
    assert by_pk[violated.establishment_id].score == 12
    assert by_pk[never.pk].parts["time"] == 20 and by_pk[never.pk].months_since_visit is None
    assert by_pk[reminded.establishment_id].score == 3 + 2
    assert by_pk[recent.establishment_id].score == 0


@pytest.mark.django_db
def test_campaign_pages_permissions(client, lead_c, inspector_c, culture):
    other_inspector = UserFactory(roles=[r.INSPECTOR], agencies=[CULTURE])
    campaign = campaign_make(lead=lead_c, members=[inspector_c], agency=culture)
    client.force_login(inspector_c)  # on the team: reads the campaign, plans nothing, announces nothing
    assert client.get("/campaigns/").status_code == 200
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200
    assert b'id="actions"' not in client.get(f"/campaigns/{campaign.pk}/").content
    assert client.get("/campaigns/new/").status_code == 403
    client.post(f"/campaigns/{campaign.pk}/action/", {"action": "announce"})
    assert Campaign.objects.get(pk=campaign.pk).case.state == "planned"
    client.force_login(other_inspector)  # not on the team: not found
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    for role in (r.LICENSING_OFFICER, r.REPORTER):
        client.force_login(UserFactory(roles=[role]))
        assert client.get("/campaigns/").status_code == 403
        assert client.get(f"/campaigns/{campaign.pk}/").status_code == 403
        assert client.get("/registry/").status_code == 403
    client.logout()
    assert client.get("/campaigns/").status_code == 302  # to the login page


@pytest.mark.django_db
def test_plan_through_the_page_with_proposed_targets_then_announce(client, lead_c, inspector_c, culture):
    history = campaign_make(lead=lead_c, shops=1, agency=culture)
    risky = history.targets.get()
    _history(risky, visited_days_ago=400, outcome=Outcome.VIOLATION, violation=True, follow_up_open=True, lead=lead_c)
    calm = shop(50, agency=culture)
    client.force_login(lead_c)
    page = client.get("/campaigns/new/?type=printing").content.decode()
    rows = re.findall(r'<tr data-id="(\d+)" data-score="(\d+)"( data-proposed="1")?>', page)
    assert [int(pk) for pk, _s, _p in rows][:2] == [risky.establishment_id, calm.pk]
    assert all(p for _pk, _s, p in rows)  # both have a score > 0 and are proposed (ticked)
    assert "10 × violation records" in page or "10 ×" in page  # the formula is on the page

    key = str(uuid.uuid4())
    data = {"type": "printing", "uuid": key, "title": "Kiểm tra hoạt động in quý II", "legal_basis": "Luật Xuất bản 2012",
            "scope": "", "period_start": "2026-06-01", "period_end": "2026-06-05", "lead": lead_c.pk,
            "members": [inspector_c.pk], "targets": [risky.establishment_id, calm.pk]}
    response = client.post("/campaigns/new/", data)
    assert response.status_code == 302
    campaign = Campaign.objects.get(case__uuid=key)
    assert set(campaign.targets.values_list("establishment_id", flat=True)) == {risky.establishment_id, calm.pk}
    assert client.post("/campaigns/new/", data).status_code == 302  # sent again: the same campaign
    assert Campaign.objects.filter(case__uuid=key).count() == 1

    response = client.post(f"/campaigns/{campaign.pk}/action/", {"action": "announce"}, follow=True)
    campaign.refresh_from_db()
    assert campaign.decision_number_text and campaign.case.state == "announced"
    assert campaign.decision_number_text in response.content.decode().split('id="decision-number"')[1][:200]


@pytest.mark.django_db
def test_announce_without_targets_shows_the_services_error(client, lead_c, culture):
    campaign = campaign_make(lead=lead_c, shops=0, agency=culture)
    client.force_login(lead_c)
    from django.utils import translation

    with translation.override("en"):
        response = client.post(f"/campaigns/{campaign.pk}/action/", {"action": "announce"}, follow=True,
                               HTTP_ACCEPT_LANGUAGE="en")
    assert Campaign.objects.get(pk=campaign.pk).case.state == "planned"
    assert b'<li class="error">' in response.content


@pytest.mark.django_db
def test_home_of_a_lead_links_to_the_office_pages(client, lead_c):
    client.force_login(lead_c)
    body = client.get("/").content.decode()
    for url in ("/registry/", "/campaigns/", "/registry/map/", "/campaigns/new/"):
        assert f'href="{url}"' in body


@pytest.mark.django_db
def test_campaign_page_adds_and_takes_out_targets_and_sets_the_team(client, lead_c, inspector_c, culture):
    campaign = campaign_make(lead=lead_c, shops=0, agency=culture)
    first, second = shop(70, agency=culture), shop(71, agency=culture)
    foreign = shop(72, Establishment.Kind.BTS_SITE, agency=Agency.objects.get(code="hung-yen-skhcn"))
    client.force_login(lead_c)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="targets-add"' in page and f'id="add-{first.pk}"' in page and f'id="add-{foreign.pk}"' not in page
    client.post(f"/campaigns/{campaign.pk}/team/", {"lead": lead_c.pk, "members": [inspector_c.pk]})
    assert set(campaign.case.members.values_list("pk", flat=True)) == {inspector_c.pk}
    client.post(f"/campaigns/{campaign.pk}/targets/", {"establishments": [first.pk, second.pk, foreign.pk]})
    targets = {t.establishment_id: t for t in campaign.targets.all()}
    assert set(targets) == {first.pk, second.pk}  # another agency's entry is not found, so not added
    assert list(targets[first.pk].inspectors.values_list("pk", flat=True)) == [inspector_c.pk]
    client.post(f"/campaigns/{campaign.pk}/targets/{targets[second.pk].pk}/remove/")
    assert set(campaign.targets.values_list("establishment_id", flat=True)) == {first.pk}
    # An inspector on the team cannot change the team.
    client.force_login(inspector_c)
    assert client.post(f"/campaigns/{campaign.pk}/team/", {"lead": inspector_c.pk}).status_code == 403


@pytest.mark.django_db
def test_a_lead_adds_an_establishment_to_the_registry(client, lead_c, inspector_c, culture):
    data = {"kind": "print_shop", "name": "Cơ sở in Hưng Long", "address": "Số 3 Chùa Chuông, Phường Phố Hiến",
            "commune": "", "operator": "", "site_code": "", "latitude": "20.650000", "longitude": "106.050000",
            "representative": "", "phone": "", "active": "on"}
    client.force_login(inspector_c)
    assert client.post("/registry/new/", data).status_code == 403
    client.force_login(lead_c)
    response = client.post("/registry/new/", data)
    entry = Establishment.objects.get(name="Cơ sở in Hưng Long")
    assert response.status_code == 302 and (entry.agency, entry.commune) == (culture, "Phường Phố Hiến")
    response = client.post("/registry/new/", {**data, "kind": "bts_site", "name": "Trạm"})  # a BTS site needs a code
    assert response.status_code == 200 and b"has-error" in response.content


@pytest.mark.django_db
def test_a_planner_of_two_competent_agencies_chooses_one(client, culture):
    from cases.models import CaseType, CaseTypeAgency

    science = Agency.objects.get(code="hung-yen-skhcn")
    CaseTypeAgency.objects.create(case_type=CaseType.objects.get(code="printing"), agency=science,
                                  valid_from=date(2025, 7, 1))
    head = UserFactory(roles=[r.DEPARTMENT_HEAD, r.INSPECTION_LEAD], agencies=[culture, science])
    client.force_login(head)
    page = client.get("/campaigns/new/?type=printing").content.decode()
    assert 'name="agency"' in page and f'value="{science.pk}"' in page and 'id="plan-form"' not in page
    page = client.get(f"/campaigns/new/?type=printing&agency={science.pk}").content.decode()
    assert 'id="plan-form"' in page and f'name="agency" value="{science.pk}"' in page
    assert science.name in page


@pytest.mark.django_db
def test_campaign_documents_download_for_whoever_sees_the_campaign(client, lead_c, inspector_c, culture):
    from django.core.files.base import ContentFile

    from inspections.models import Document

    campaign = campaign_make(lead=lead_c, members=[inspector_c], agency=culture)
    document = Document(campaign=campaign, kind=Document.Kind.CONCLUSION, number_text="01/KL-SVHTTDL",
                        issued_at=timezone.now(), sha256="0" * 64)
    document.file.save("ket-luan.docx", ContentFile(b"PK\x03\x04 a docx"), save=True)
    url = f"/campaigns/{campaign.pk}/documents/{document.pk}/"
    client.force_login(inspector_c)
    assert f'href="{url}"' in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"PK\x03\x04 a docx"
    assert client.get(url + "?format=pdf").status_code == 404  # not signed (no verifiable copy)
    client.force_login(UserFactory(roles=[r.INSPECTOR], agencies=[CULTURE]))  # not on the team
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_campaign_list_filters_by_state(client, lead_c, culture):
    planned = campaign_make(lead=lead_c, agency=culture)
    announced = campaign_make(lead=lead_c, agency=culture, path=("announce",))
    client.force_login(lead_c)

    def ids(query=""):
        return [int(x) for x in re.findall(r'<tr data-id="(\d+)"', client.get(f"/campaigns/{query}").content.decode())]

    assert set(ids()) == {planned.pk, announced.pk}
    assert ids("?state=announced") == [announced.pk]
    assert ids("?state=closed") == []
