"""Who sees which campaign; planning a campaign through the API; the establishment registry; the shipped
checklists and the version a campaign keeps; the admin pages."""

import uuid
from datetime import date

import pytest

from cases import roles as r
from inspections.models import Campaign, ChecklistItem, ChecklistTemplate, Establishment

from .factories import UserFactory
from .support_inspections import campaign_make, checklists_load, finding_body, items_of, shop

CAMPAIGNS = "/api/v1/inspections/campaigns/"
ESTABLISHMENTS = "/api/v1/inspections/establishments/"
EN = {"accept-language": "en"}


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def inspector2(db):
    return UserFactory(roles=[r.INSPECTOR])


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- Scoping -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_inspector_sees_only_the_campaigns_they_are_on(api, lead, inspector, inspector2):
    member_of = campaign_make(lead=lead, members=[inspector], path=("announce", "start_fieldwork"))
    not_on = campaign_make(lead=lead, members=[inspector2], path=("announce", "start_fieldwork"))
    leading = campaign_make(lead=inspector, members=[inspector2], planner=lead,
                            title="Kiểm tra in do thanh tra viên làm trưởng đoàn")

    client = api.as_user(inspector)
    assert ids(client.get(CAMPAIGNS)) == {member_of.pk, leading.pk}
    assert client.get(f"{CAMPAIGNS}{not_on.pk}/").status_code == 404
    detail = client.get(f"{CAMPAIGNS}{member_of.pk}/").json()
    assert [m["id"] for m in detail["team"]] == [inspector.pk] and detail["lead"]["id"] == lead.pk
    assert len(detail["targets"]) == 2 and detail["targets"][0]["inspectors"][0]["id"] == inspector.pk
    assert detail["checklist"]["type"] == "printing" and len(detail["checklist"]["items"]) == 8

    targets = client.get("/api/v1/inspections/targets/").json()["results"]
    assert {t["campaign"] for t in targets} == {member_of.pk, leading.pk}
    mine = client.get("/api/v1/inspections/targets/?mine=true").json()["results"]
    assert {t["campaign"] for t in mine} == {member_of.pk}  # assigned visits; as lead of the other, none assigned

    # Writing to a campaign one is not on fails as well.
    response = client.post("/api/v1/inspections/findings/",
                           finding_body(not_on.targets.first(), items_of(not_on)[0]), format="json")
    assert response.status_code == 403
    assert api.as_user(inspector2).get("/api/v1/inspections/findings/").json()["count"] == 0

    assert ids(api.as_user(inspector2).get(CAMPAIGNS)) == {not_on.pk, leading.pk}
    assert ids(api.as_user(lead).get(CAMPAIGNS)) == {member_of.pk, not_on.pk, leading.pk}


@pytest.mark.django_db
def test_a_licensing_officer_sees_no_campaign(api, lead, inspector, officer):
    campaign = campaign_make(lead=lead, members=[inspector])
    client = api.as_user(officer)
    assert ids(client.get(CAMPAIGNS)) == set()
    assert client.get(f"{CAMPAIGNS}{campaign.pk}/").status_code == 404
    assert client.get("/api/v1/inspections/targets/").json()["count"] == 0
    assert client.get(ESTABLISHMENTS).status_code == 403
    assert client.get("/api/v1/inspections/checklist-templates/").status_code == 403
    response = client.post(CAMPAIGNS, {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission"


@pytest.mark.django_db
def test_head_and_reporter_read_every_campaign_and_the_reporter_writes_nothing(api, lead, inspector, head, reporter):
    campaign = campaign_make(lead=lead, members=[inspector])
    assert ids(api.as_user(head).get(CAMPAIGNS)) == {campaign.pk}
    client = api.as_user(reporter)
    assert ids(client.get(CAMPAIGNS)) == {campaign.pk}
    assert client.post(f"{CAMPAIGNS}{campaign.pk}/transitions/", {"action": "announce", "version": 1},
                       format="json").status_code == 403
    assert client.post("/api/v1/inspections/findings/", {}, format="json").status_code == 403


@pytest.mark.django_db
def test_anonymous_requests_are_401(api):
    assert api.get(CAMPAIGNS).status_code == 401
    assert api.post("/api/v1/inspections/findings/batch/", {}, format="json").status_code == 401


# --- Planning through the API -------------------------------------------------------------------------------


def plan_body(establishments, *, lead, members, **extra) -> dict:
    body = {
        "type": "printing", "title": "Kiểm tra hoạt động in năm 2020 trên địa bàn TP Thái Bình",
        "legal_basis": "Luật Xuất bản 2012;\nNghị định 60/2014/NĐ-CP; Nghị định 25/2018/NĐ-CP",
        "scope": "Cơ sở in, cơ sở photocopy trên địa bàn TP Thái Bình",
        "period_start": "2020-06-08", "period_end": "2020-06-19", "lead": lead.pk,
        "members": [m.pk for m in members],
        "targets": [{"establishment": e.pk, "inspectors": [members[0].pk], "planned_on": "2020-06-10"}
                    for e in establishments],
    }
    body.update(extra)
    return body


@pytest.mark.django_db
def test_a_lead_plans_a_campaign_with_team_and_targets(api, lead, inspector, inspector2):
    shops = [shop(1), shop(2), shop(3, Establishment.Kind.PHOTOCOPY_SHOP)]
    client_id = str(uuid.uuid4())
    body = plan_body(shops, lead=lead, members=[inspector, inspector2], uuid=client_id)
    response = api.as_user(lead).post(CAMPAIGNS, body, format="json")
    assert response.status_code == 201, response.content
    detail = response.json()
    assert detail["state"] == "planned" and detail["decision_number_text"] == ""
    assert detail["reference"].startswith("KTIN-")
    assert detail["lead"]["id"] == lead.pk
    assert {m["id"] for m in detail["team"]} == {inspector.pk, inspector2.pk}
    assert [t["establishment"]["name"] for t in detail["targets"]] == [e.name for e in shops]
    # June 2020: the printing checklist under Nghị định 159/2013 (Nghị định 119/2020 applies from 01/12/2020).
    assert detail["checklist"]["version"] == 1 and detail["checklist"]["sanction_basis"] == "Nghị định 159/2013/NĐ-CP"
    assert {a["action"] for a in detail["actions"]} == {"announce", "cancel"}
    # The case engine sees the team: the inspectors are members of the case.
    campaign = Campaign.objects.get(pk=detail["id"])
    assert campaign.case.assignee == lead
    assert set(campaign.case.members.all()) == {inspector, inspector2}
    assert campaign.case.events.filter(action="target_add").count() == 3

    again = api.as_user(lead).post(CAMPAIGNS, body, format="json")
    assert again.status_code == 200 and again.json()["id"] == detail["id"]
    assert Campaign.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field"), [
    ({"period_end": "2020-06-01"}, "period_end"),
    ({"legal_basis": "   "}, "legal_basis"),
    ({"type": "bulletin"}, "type"),
    ("bts", "targets"),
    ("officer_member", "members"),
    ("outsider_assigned", "targets"),
    ("twice", "targets"),
])
def test_a_campaign_that_does_not_hold_together_is_refused(api, lead, inspector, officer, change, field):
    shops = [shop(1)]
    body = plan_body(shops, lead=lead, members=[inspector])
    if change == "bts":
        body["targets"].append({"establishment": shop(2, Establishment.Kind.BTS_SITE).pk})
    elif change == "officer_member":
        body["members"].append(officer.pk)
    elif change == "outsider_assigned":
        body["targets"][0]["inspectors"] = [UserFactory(roles=[r.INSPECTOR]).pk]
    elif change == "twice":
        body["targets"].append(body["targets"][0])
    else:
        body.update(change)
    response = api.as_user(lead).post(CAMPAIGNS, body, format="json", headers=EN)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_an_inspector_cannot_plan_a_campaign(api, inspector):
    response = api.as_user(inspector).post(CAMPAIGNS, plan_body([shop(1)], lead=inspector, members=[inspector]),
                                           format="json")
    assert response.status_code == 403


@pytest.mark.django_db
def test_team_changes_drop_the_assignments_of_who_left(api, lead, inspector, inspector2):
    campaign = campaign_make(lead=lead, members=[inspector, inspector2])
    response = api.as_user(lead).post(f"{CAMPAIGNS}{campaign.pk}/team/",
                                      {"lead": lead.pk, "members": [inspector2.pk]}, format="json")
    assert response.status_code == 200, response.content
    detail = response.json()
    assert [m["id"] for m in detail["team"]] == [inspector2.pk]
    assert all([u["id"] for u in t["inspectors"]] == [inspector2.pk] for t in detail["targets"])
    assert api.as_user(inspector).get(f"{CAMPAIGNS}{campaign.pk}/").status_code == 404


# --- The establishment registry ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_leads_keep_the_registry_and_inspectors_read_it(api, lead, inspector):
    bts = {"kind": "bts_site", "name": "Trạm BTS Tiền Phong", "address": "Phường Tiền Phong, TP Thái Bình",
           "operator": "Viettel", "site_code": "TBH045", "latitude": "20.453100", "longitude": "106.338700"}
    response = api.as_user(lead).post(ESTABLISHMENTS, bts, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["site_code"], created["latitude"], created["longitude"]) == ("TBH045", 20.4531, 106.3387)
    assert api.as_user(inspector).post(ESTABLISHMENTS, {**bts, "site_code": "TBH046"},
                                       format="json").status_code == 403
    shop(7)
    shop(8, Establishment.Kind.PHOTOCOPY_SHOP)
    client = api.as_user(inspector)
    assert [e["name"] for e in client.get(f"{ESTABLISHMENTS}?kind=bts_site").json()["results"]] == ["Trạm BTS Tiền Phong"]
    assert [e["name"] for e in client.get(f"{ESTABLISHMENTS}?q=photocopy").json()["results"]] == ["Photocopy 8"]
    assert client.get(f"{ESTABLISHMENTS}?kind=print_shop&kind=photocopy_shop").json()["count"] == 2

    updated = api.as_user(lead).patch(f"{ESTABLISHMENTS}{created['id']}/", {"representative": "Trần Văn Bình"},
                                      format="json")
    assert updated.status_code == 200 and updated.json()["representative"] == "Trần Văn Bình"


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field"), [
    ({"latitude": "91", "longitude": "106.3"}, "latitude"),
    ({"latitude": "20.4", "longitude": "181"}, "longitude"),
    ({"latitude": "20.4", "longitude": None}, "latitude"),
    ({"site_code": ""}, "site_code"),
    ({"site_code": "TBH001"}, "site_code"),  # the operator already has a site with this code
    ({"kind": "hair_salon"}, "kind"),
])
def test_establishments_are_validated(api, lead, change, field):
    shop(1, Establishment.Kind.BTS_SITE)  # Viettel TBH001
    body = {"kind": "bts_site", "name": "Trạm BTS", "address": "Vũ Thư, Thái Bình", "operator": "Viettel",
            "site_code": "TBH099", "latitude": "20.43", "longitude": "106.29", **change}
    response = api.as_user(lead).post(ESTABLISHMENTS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_an_establishment_that_was_inspected_stays(api, lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1)
    target = campaign.targets.get()
    response = api.as_user(lead).delete(f"{ESTABLISHMENTS}{target.establishment_id}/")
    assert response.status_code == 409 and response.json()["code"] == "in_use"
    spare = shop(99)
    assert api.as_user(lead).delete(f"{ESTABLISHMENTS}{spare.pk}/").status_code == 204


# --- Checklists ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_inspection_type_has_a_vietnamese_checklist_with_legal_references(api, inspector):
    response = api.as_user(inspector).get("/api/v1/inspections/checklist-templates/")
    assert response.status_code == 200
    templates = response.json()
    types = {t["type"] for t in templates}
    assert types == {"prepaid_sim", "internet_service", "bts_station", "publication_distribution", "printing",
                     "conformity_labelling"}
    for template in templates:
        assert len(template["items"]) >= 6
        assert any(item["photo_required"] for item in template["items"])
        assert all(item["question"] and any(ch in item["question"] for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệ")
                   for item in template["items"])
        assert sum(bool(item["legal_reference"]) for item in template["items"]) >= len(template["items"]) - 1
    printing = [t for t in templates if t["type"] == "printing"]
    assert {t["sanction_basis"] for t in printing} == {"Nghị định 159/2013/NĐ-CP", "Nghị định 119/2020/NĐ-CP"}
    assert any("Nghị định 60/2014/NĐ-CP" in i["legal_reference"] for i in printing[0]["items"])
    sim = [t for t in templates if t["type"] == "prepaid_sim"]
    assert any("Thông tư 04/2012/TT-BTTTT" in i["legal_reference"] for i in sim[0]["items"])
    assert api.as_user(inspector).get("/api/v1/inspections/checklist-templates/?type=bts_station").json()[0][
        "type"] == "bts_station"


@pytest.mark.django_db
@pytest.mark.parametrize(("type_code", "start", "decree"), [
    ("prepaid_sim", date(2020, 4, 14), "Nghị định 174/2013/NĐ-CP"),
    ("prepaid_sim", date(2020, 4, 15), "Nghị định 15/2020/NĐ-CP"),
    ("printing", date(2020, 11, 30), "Nghị định 159/2013/NĐ-CP"),
    ("printing", date(2020, 12, 1), "Nghị định 119/2020/NĐ-CP"),
])
def test_a_campaign_takes_the_checklist_in_force_on_its_first_day_and_keeps_it(lead, inspector, type_code, start,
                                                                                decree):
    kind = Establishment.Kind.POINT_OF_SALE if type_code == "prepaid_sim" else Establishment.Kind.PRINT_SHOP
    campaign = campaign_make(lead=lead, members=[inspector], type_code=type_code, kind=kind, period_start=start)
    assert campaign.checklist.sanction_basis == decree
    kept = campaign.checklist_id
    newer = ChecklistTemplate.objects.create(case_type=campaign.case.case_type, version=9, title="Phiên bản mới",
                                             effective_from=start, sanction_basis="Nghị định mới")
    ChecklistItem.objects.create(template=newer, order=1, code="new", question="Câu hỏi mới")
    campaign.refresh_from_db()
    assert campaign.checklist_id == kept


@pytest.mark.django_db
def test_the_admin_pages_open(client, lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector])
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    template = campaign.checklist
    for url in ["/admin/inspections/establishment/", "/admin/inspections/checklisttemplate/",
                f"/admin/inspections/checklisttemplate/{template.pk}/change/", "/admin/inspections/campaign/",
                f"/admin/inspections/campaign/{campaign.pk}/change/", "/admin/inspections/finding/",
                "/admin/inspections/establishment/add/"]:
        assert client.get(url).status_code == 200, url
    # A checklist version a campaign uses cannot be edited: a change is a new version.
    response = client.post(f"/admin/inspections/checklisttemplate/{template.pk}/change/", {"title": "Khác"})
    assert response.status_code == 403
    assert client.get("/admin/inspections/campaign/add/").status_code == 403
