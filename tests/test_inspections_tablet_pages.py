"""The inspectors' tablet pages through the test client: who sees which page, what the checklist page carries
for its script, and the service worker's headers and content."""

import json
import re
import uuid
from datetime import datetime

import pytest
from django.urls import reverse

from cases import roles as r
from inspections import services
from inspections.models import Establishment

from .factories import UserFactory
from .support_inspections import campaign_make, checklists_load, image_bytes, items_of, local, upload

VISITS = "/inspections/"
SW = "/inspections/sw.js"


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def inspector2(db):
    return UserFactory(roles=[r.INSPECTOR])


@pytest.fixture
def in_field(lead, inspector):
    return campaign_make(lead=lead, members=[inspector], shops=2, path=("announce", "start_fieldwork"),
                         title="Kiểm tra hoạt động in quý II")


def target_url(target) -> str:
    return reverse("inspections:target", args=[target.pk])


def page_config(response) -> dict:
    match = re.search(r'<script id="tablet-config" type="application/json">(.*?)</script>', response.content.decode(),
                      re.S)
    assert match, "the page carries its configuration for the script"
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_my_visits_lists_the_targets_assigned_to_me_in_campaigns_in_the_field(client, lead, inspector, inspector2,
                                                                             in_field):
    planned = campaign_make(lead=lead, members=[inspector], shops=1, title="Đợt chưa triển khai")
    others = campaign_make(lead=lead, members=[inspector2], shops=1, path=("announce", "start_fieldwork"),
                           kind=Establishment.Kind.PHOTOCOPY_SHOP, title="Đợt của người khác")
    client.force_login(inspector)
    response = client.get(VISITS)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lượt kiểm tra hôm nay" in html
    assert "Kiểm tra hoạt động in quý II" in html and in_field.decision_number_text in html
    for target in in_field.targets.all():
        assert target.establishment.name in html
        assert f'href="{target_url(target)}"' in html
    assert planned.title not in html and others.title not in html
    assert others.targets.get().establishment.name not in html
    # the script is told which pages to keep for use without a connection
    config = page_config(response)
    assert sorted(config["targets"]) == sorted(target_url(t) for t in in_field.targets.all())
    assert config["urls"] == {"batch": "/api/v1/inspections/findings/batch/", "photos": "/api/v1/inspections/photos/",
                              "sw": SW, "scope": VISITS, "ping": "/api/v1/inspections/ping/"}
    assert config["messages"]["pending"].startswith("Đang chờ đồng bộ")
    # the menu leads there
    assert re.search(r'<nav class="menu".*href="/inspections/" aria-current="page">Lượt kiểm tra hôm nay</a>', html, re.S)
    assert '<script src="/static/inspections/tablet.js" defer>' in html


@pytest.mark.django_db
def test_the_checklist_page_carries_every_item_with_touch_buttons_camera_and_the_stored_findings(
        client, inspector, in_field):
    target = in_field.targets.order_by("pk").first()
    items = items_of(in_field)
    stored, _ = services.finding_submit(actor=inspector, uuid=uuid.uuid4(), target_id=target.pk, item_id=items[0].pk,
                                        result="violation", note="Không có sổ quản lý ấn phẩm.",
                                        device_time=local(2020, 6, 10, 9, 15))
    photo, _ = services.photo_add(actor=inspector, uuid=uuid.uuid4(), finding_id=stored.pk, upload=upload(image_bytes()))
    client.force_login(inspector)
    response = client.get(target_url(target))
    assert response.status_code == 200
    html = response.content.decode()
    assert target.establishment.name in html and target.establishment.address in html
    for item in items:
        assert f'id="item-{item.pk}"' in html
        assert item.question in html
    assert html.count('data-result="compliant"') == len(items)
    assert html.count('capture="environment"') == len(items) and html.count('accept="image/*"') == len(items)
    for label in ("Đạt", "Vi phạm", "Không áp dụng", "Chụp ảnh", "Đồng bộ"):
        assert label in html
    # the stored finding is shown pressed, its note in the field
    first = re.search(rf'<li class="card item result-violation" id="item-{items[0].pk}".*?</li>', html, re.S).group(0)
    assert re.search(r'data-result="violation" aria-pressed="true"', first)
    assert "Không có sổ quản lý ấn phẩm." in first
    assert "1 ảnh đã lưu trên máy chủ" in first
    config = page_config(response)
    assert config["page"] == "target" and config["target"] == target.pk and config["editable"] is True
    assert config["user"] == inspector.pk
    # every inspector's findings per item, as the API's fieldwork gives them (issue 17)
    (entry,) = config["server"]
    assert (entry["item"], entry["disputed"], entry["answer"], entry["replaced"]) == (items[0].pk, False, "violation",
                                                                                     [])
    (server,) = entry["current"]
    assert datetime.fromisoformat(server["device_time"]) == stored.device_time == local(2020, 6, 10, 9, 15)
    assert (server["uuid"], server["result"], server["note"], server["inspector"]) == (
        str(stored.pk), "violation", "Không có sổ quản lý ấn phẩm.",
        {"id": inspector.pk, "name": inspector.get_full_name()})
    assert [p["uuid"] for p in server["photos"]] == [str(photo.pk)] and server["review"]["state"] == "received"
    assert set(config["items"]) == {str(i.pk) for i in items}
    assert config["results"] == {"compliant": "Đạt", "violation": "Vi phạm", "not_applicable": "Không áp dụng"}


@pytest.mark.django_db
def test_pages_refuse_whoever_is_not_on_the_team(client, lead, inspector, inspector2, officer, reporter, head,
                                                 in_field):
    target = in_field.targets.first()
    url = target_url(target)
    # signed out: to the login page
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get(VISITS).status_code == 302
    # an inspector of another team does not see the campaign at all: 404
    client.force_login(inspector2)
    assert client.get(url).status_code == 404
    assert client.get(VISITS).status_code == 200  # their own list, empty
    # a lead or the head sees every campaign, but recording is for the team: 403
    other_lead = UserFactory(roles=[r.INSPECTION_LEAD])
    for user in (other_lead, head):
        client.force_login(user)
        assert client.get(url).status_code == 403, user
    # licensing and reporting roles have no tablet pages
    client.force_login(officer)
    assert client.get(VISITS).status_code == 403
    assert client.get(url).status_code == 404
    client.force_login(reporter)
    assert client.get(VISITS).status_code == 403
    assert client.get(url).status_code == 403
    # the campaign's lead and its member may
    for user in (lead, inspector):
        client.force_login(user)
        assert client.get(url).status_code == 200, user
    assert client.get(reverse("inspections:target", args=[999999])).status_code == 404


@pytest.mark.django_db
def test_after_the_fieldwork_the_page_shows_the_visit_read_only(client, lead, inspector, in_field):
    from cases import services as case_services

    target = in_field.targets.first()
    case_services.case_transition(case_id=in_field.case_id, actor=lead, action="close_findings")
    client.force_login(inspector)
    assert target.establishment.name not in client.get(VISITS).content.decode()
    response = client.get(target_url(target))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="not-in-field"' in html
    assert html.count("disabled") >= 3 * len(items_of(in_field))
    assert page_config(response)["editable"] is False


@pytest.mark.django_db
def test_the_menu_shows_the_visits_to_inspectors_and_leads_only(client, inspector, lead, officer):
    for user, shown in ((inspector, True), (lead, True), (officer, False)):
        client.force_login(user)
        html = client.get("/").content.decode()
        assert ('href="/inspections/"' in html) is shown, user


@pytest.mark.django_db
def test_the_service_worker_is_served_from_the_pages_scope_and_never_cached(client):
    response = client.get(SW)  # no sign-in needed: the browser fetches it on its own, and it holds no data
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    cache_control = response["Cache-Control"]
    assert "no-cache" in cache_control and "no-store" in cache_control and "max-age=0" in cache_control
    assert response["Service-Worker-Allowed"] == VISITS
    body = response.content.decode()
    for listener in ("install", "activate", "fetch", "message"):
        assert f'self.addEventListener("{listener}"' in body
    config = json.loads(re.search(r"const CONFIG = (\{.*?\});\n", body).group(1))
    assert config["scope"] == VISITS and config["offline"] == "/inspections/offline/" and config["sw"] == SW
    assert config["shell"] == [VISITS, "/inspections/offline/", "/static/inspections/tablet.js",
                               "/static/inspections/tablet.css", "/static/sttt/site.css"]
    assert config["api_prefix"] == "/api/" and re.fullmatch(r"[0-9a-f]{16}", config["version"])
    assert "{{" not in body and "{%" not in body
    assert client.get(SW).content == response.content  # the same worker until something in it changes
    assert client.post(SW).status_code == 405
    # the page it falls back on without a connection
    offline = client.get("/inspections/offline/")
    assert offline.status_code == 200 and "Không có kết nối" in offline.content.decode()
