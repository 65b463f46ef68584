"""/api/v1/reports/documents/: every endpoint needs a department role; the services decide who may do what, and
refusals are RFC 7807 problems (a stale section edit: 409 stale_version; another division's section: 403; a file
with bad rows: 400 listing them)."""

import io

import pytest
from docx import Document
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from reports.models import IndicatorValue

from .factories import UserFactory
from .support_reports import report_world, walk_to_issued

pytestmark = pytest.mark.django_db
BASE = "/api/v1/reports/documents/"


def as_user(user) -> APIClient:
    """A client of its own per user (the `api` fixture's client is one, shared)."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_open_read_write_and_issue_through_the_api():
    world = report_world()
    office = as_user(world.office)
    response = office.post(BASE, {"period": "2026-Q2", "agency": world.agency.pk}, format="json")
    assert response.status_code == 201, response.content
    again = office.post(BASE, {"period": "2026-Q2", "agency": world.agency.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]  # a retry opens nothing new

    pk = world.report.pk
    detail = office.get(f"{BASE}{pk}/").json()
    assert detail["state"] == "report_draft"
    assert [s["code"] for s in detail["owed"]] == ["I.1", "I.2", "I.3", "I.4", "III"]
    assert [a["action"] for a in detail["actions"]] == ["open_contributions"]
    assert office.post(f"{BASE}{pk}/transitions/", {"action": "open_contributions"}, format="json").status_code == 200

    writer = as_user(world.writers["cntt"])
    saved = writer.put(f"{BASE}{pk}/sections/I.1/", {"text": "Văn bản mới.", "version": 1}, format="json")
    assert saved.status_code == 200 and saved.json()["version"] == 2
    stale = writer.put(f"{BASE}{pk}/sections/I.1/", {"text": "Ghi đè?", "version": 1}, format="json")
    assert problem(stale, 409)["code"] == "stale_version"
    foreign = writer.put(f"{BASE}{pk}/sections/I.2/", {"text": "Không phải phần của tôi.", "version": 1},
                         format="json")
    assert problem(foreign, 403)["code"] == "permission"
    submitted = writer.post(f"{BASE}{pk}/sections/I.1/submit/", {"version": 2}, format="json")
    assert submitted.status_code == 200
    not_office = writer.post(f"{BASE}{pk}/transitions/", {"action": "submit_for_review"}, format="json")
    assert problem(not_office, 403)["code"] == "permission"  # and learns nothing of what is owed
    early = office.post(f"{BASE}{pk}/transitions/", {"action": "submit_for_review"}, format="json")
    assert problem(early, 409)["owed"] == ["I.2", "I.3", "I.4", "III"]
    head_writes = as_user(world.head).put(f"{BASE}{pk}/sections/I.2/", {"text": "x", "version": 1},
                                              format="json")
    assert problem(head_writes, 403)["code"] == "permission"

    docx = office.get(f"{BASE}{pk}/file.docx")
    assert docx.status_code == 200 and docx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "Văn bản mới." in [p.text for p in Document(io.BytesIO(docx.content)).paragraphs]
    assert problem(office.get(f"{BASE}{pk}/file.odt"), 400)["code"] == "validation"


def test_an_issued_report_from_the_api_prints_its_frozen_bytes():
    world = report_world()
    walk_to_issued(world)
    office = as_user(world.office)
    first = office.get(f"{BASE}{world.report.pk}/file.docx").content
    assert office.get(f"{BASE}{world.report.pk}/file.docx").content == first
    detail = office.get(f"{BASE}{world.report.pk}/").json()
    assert (detail["state"], detail["number"], detail["owed"]) == ("report_issued", "01/BC-SVHTTDL", [])


def test_who_may_read_and_the_engine_door():
    world = report_world()
    nobody = UserFactory(roles=[], agencies=[world.agency])
    assert as_user(nobody).get(BASE).status_code == 403
    stranger = UserFactory(roles=["licensing_officer"], agencies=["thai-binh-skhcn"])
    assert problem(as_user(stranger).get(f"{BASE}{world.report.pk}/"), 404)["code"] == "not_found"
    # The engine's own transition endpoint refuses report actions.
    engine = as_user(world.office).post(f"/api/v1/cases/{world.report.case_id}/transitions/",
                                            {"action": "open_contributions", "version": 1}, format="json")
    assert problem(engine, 403)["code"] == "permission"
    world.report.case.refresh_from_db()
    assert (world.report.case.state, world.report.case.version) == ("report_draft", 1)


def test_indicator_values_and_import_through_the_api():
    world = report_world()
    writer = as_user(world.writers["bcvt"])
    entered = writer.post("/api/v1/reports/indicators/values/",
                          {"indicator": "phone_subscribers", "period": "2026-Q3", "value": 1307424,
                           "agency": world.agency.pk}, format="json")
    assert entered.status_code == 200 and entered.json()["version"] == 1
    stale = writer.post("/api/v1/reports/indicators/values/",
                        {"indicator": "phone_subscribers", "period": "2026-Q3", "value": 1, "version": 7,
                         "agency": world.agency.pk}, format="json")
    assert problem(stale, 409)["code"] == "stale_version"
    bad = io.BytesIO(b"indicator,period,value\nfixed_internet_subscribers,2026-Q3,211049\n"
                     b"fixed_internet_subscribers,2026-Q9,5\n")
    bad.name = "chi-tieu.csv"
    refused = writer.post("/api/v1/reports/indicators/import/", {"file": bad, "agency": world.agency.pk},
                          format="multipart")
    body = problem(refused, 400)
    assert body["rows"] == [{"row": 3, "column": "period",
                             "message": "Kỳ báo cáo phải có dạng 2019-Q4, 2020-H1 hoặc 2020."}]
    assert IndicatorValue.objects.count() == 1


def test_recipients_and_the_inspections_draft_through_the_api():
    world = report_world()
    office = as_user(world.office)
    pk = world.report.pk
    lines = ["- Bộ TT&TT;", "- Văn phòng Tỉnh ủy;", "- Lưu: VT."]
    saved = office.put(f"{BASE}{pk}/recipients/", {"recipients": lines, "version": world.report.version},
                       format="json")
    assert saved.status_code == 200 and saved.json()["recipients"] == lines
    stale = office.put(f"{BASE}{pk}/recipients/", {"recipients": ["- Khác;"], "version": world.report.version},
                       format="json")
    assert problem(stale, 409)["code"] == "stale_version"
    writer = as_user(world.writers["thanhtra"])
    office.post(f"{BASE}{pk}/transitions/", {"action": "open_contributions"}, format="json")
    writer.put(f"{BASE}{pk}/sections/I.4/", {"text": "Bản tự viết.", "version": 1}, format="json")
    redrafted = writer.post(f"{BASE}{pk}/sections/I.4/redraft/", {"version": 2}, format="json")
    assert redrafted.status_code == 200, redrafted.content
    assert redrafted.json()["version"] == 3 and redrafted.json()["text"] != "Bản tự viết."
    assert problem(as_user(world.writers["cntt"]).post(f"{BASE}{pk}/sections/I.4/redraft/", {"version": 3},
                                                           format="json"), 403)["code"] == "permission"


def test_hostile_input_is_a_problem_never_a_server_error():
    world = report_world()
    office = as_user(world.office)
    writer = as_user(world.writers["cntt"])
    pk = world.report.pk
    office.post(f"{BASE}{pk}/transitions/", {"action": "open_contributions"}, format="json")
    assert office.get(f"{BASE}99999999999999999999/").status_code == 404
    saved = writer.put(f"{BASE}{pk}/sections/I.1/", {"text": "Dòng\x00một\x07.", "version": 1}, format="json")
    assert saved.status_code in (200, 400), saved.content
    assert "\x00" not in world.report.sections.get(code="I.1").text
    assert office.post(BASE, {"period": "0000-Q1", "agency": world.agency.pk}, format="json").status_code == 400
    assert office.post(BASE, {"period": "2026-Q3", "agency": 99999999999999999999},
                       format="json").status_code == 400
    unknown = writer.post("/api/v1/reports/indicators/values/", {"indicator": "nope", "period": "2026-Q3",
                                                                 "value": 1, "agency": world.agency.pk}, format="json")
    assert problem(unknown, 400)["code"] == "validation"
    recipients = office.put(f"{BASE}{pk}/recipients/", {"recipients": ["- Bộ\x00;"], "version": world.report.version},
                            format="json")
    assert recipients.status_code in (200, 400), recipients.content
