"""What /api/v1/licensing/ refuses, and how: RFC 7807 problems naming the field; retries, the organisations
registry, and who may receive dossiers or read the registry."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import services as case_services
from cases.models import Case
from licensing import services as licensing_services
from licensing.models import Dossier, Notification, Organisation
from licensing.procedures import PROCEDURES
from worker.models import OutboxMessage

from .support_licensing import (
    HCM,
    applicant,
    application_body,
    dossier,
    download,
    required_upload,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/licensing/applications/"


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:1000])
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith(f"/{code}")
    assert (body["code"], body["status"]) == (code, status)
    assert body["title"]
    return body


def nothing_stored() -> None:
    assert not Case.objects.exists()
    assert not Organisation.objects.exists()
    assert not OutboxMessage.objects.exists()


def without(procedure: str, *names: str) -> dict:
    fields = dossier(procedure)
    for name in names:
        del fields[name]
    return fields


def in_hours(hours: float) -> str:
    return (timezone.now() + timedelta(hours=hours)).astimezone(HCM).isoformat()


# --- Dossiers checked on the way in ----------------------------------------------------------------------

BAD_DOSSIERS = [
    # Nothing filled in: every field of the procedure is named.
    *[(code, {}, set(spec.fields().fields)) for code, spec in PROCEDURES.items()],
    ("bulletin", without("bulletin", "bulletin_name", "copies"), {"bulletin_name", "copies"}),
    ("bulletin", dossier("bulletin", pages=-4), {"pages"}),
    ("bulletin", dossier("bulletin", periodicity="", responsible_person="   "), {"periodicity", "responsible_person"}),
    ("noncommercial_publication", dossier("noncommercial_publication", pages=-120), {"pages"}),
    ("noncommercial_publication", dossier("noncommercial_publication", copies="hai nghìn"), {"copies"}),
    ("publication_import", dossier("publication_import", titles=[]), {"titles"}),
    ("publication_import", dossier("publication_import", titles=[{"title": "", "quantity": 5, "origin": "Nhật Bản"}]),
     {"titles"}),
    ("printing_licence", dossier("printing_licence", equipment=[]), {"equipment"}),
    ("printing_licence", dossier("printing_licence", equipment=[{"name": "Máy in Komori", "quantity": 0}]),
     {"equipment"}),
    ("print_registration", without("print_registration", "products"), {"products"}),
    ("press_conference", dossier("press_conference", event_at=in_hours(23)), {"event_at"}),
    ("press_conference", dossier("press_conference", event_at="sáng thứ Hai tuần sau"), {"event_at"}),
    ("press_conference", dossier("press_conference", event_at=in_hours(48), expected_press=[]), {"expected_press"}),
]


@pytest.mark.parametrize("procedure, fields, named", BAD_DOSSIERS)
def test_a_bad_dossier_is_a_problem_naming_its_fields(api, officer, procedure, fields, named):
    response = api.as_user(officer).post(URL, application_body(procedure, fields=fields), format="json")

    body = problem(response, 400, "validation")
    assert body["instance"] == URL
    assert set(body["errors"]["fields"]) == named
    nothing_stored()


def test_nested_items_are_named_down_to_the_field(api, officer):
    client = api.as_user(officer)
    titles = [{"title": "Tuyển tập truyện ngắn Nhật Bản", "quantity": 10, "origin": "Nhật Bản"},
              {"title": "  ", "quantity": 0, "origin": "Hàn Quốc"}]
    body = problem(client.post(URL, application_body("publication_import", fields=dossier(
        "publication_import", titles=titles)), format="json"), 400, "validation")
    errors = body["errors"]["fields"]["titles"]
    if isinstance(errors, list):  # DRF's older list format: one entry per item, {} for a valid one
        errors = {str(index): item for index, item in enumerate(errors) if item}
    assert list(errors) == ["1"]  # the second title
    assert set(errors["1"]) == {"title", "quantity"}
    empty = problem(client.post(URL, application_body("publication_import", fields=dossier(
        "publication_import", titles=[])), format="json"), 400, "validation")
    assert empty["errors"]["fields"]["titles"]  # "this list may not be empty", in the reader's language


def test_a_press_conference_notified_exactly_24_hours_ahead_is_received(api, officer):
    received_at = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    fields = dossier("press_conference", event_at=(received_at + timedelta(hours=24)).isoformat())
    response = api.as_user(officer).post(URL, application_body("press_conference", fields=fields,
                                                               received_at=received_at), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["due_at"] == (received_at + timedelta(hours=12)).astimezone(HCM).isoformat()

    late = dossier("press_conference", event_at=(received_at + timedelta(hours=24, seconds=-1)).isoformat())
    body = problem(api.post(URL, application_body("press_conference", fields=late, received_at=received_at),
                            format="json"), 400, "validation")
    assert set(body["errors"]["fields"]) == {"event_at"}


@pytest.mark.parametrize("change, named", [
    ({"procedure": "radio_broadcasting"}, "procedure"),
    ({"procedure": "printing"}, "procedure"),  # an inspection type, not a licensing procedure
    ({"organisation": None, "organisation_id": 987654}, "organisation_id"),
    ({"organisation": None}, "organisation"),
    ({"organisation": {"tax_code": "1000111222"}}, "organisation"),  # a name is required
    ({"fields": ["Bản tin Đại học Thái Bình"]}, "fields"),
    ({"received_at": in_hours(30)}, "received_at"),
    ({"contact_email": "khong-phai-email"}, "contact_email"),
])
def test_procedure_applicant_and_receipt_problems(api, officer, change, named):
    body = application_body("bulletin")
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}

    problem_body = problem(api.as_user(officer).post(URL, body, format="json"), 400, "validation")
    assert named in problem_body["errors"]
    nothing_stored()


# --- Retries -----------------------------------------------------------------------------------------------


def test_a_retried_receipt_returns_the_stored_case_and_a_different_one_conflicts(api, officer, officer2):
    client = api.as_user(officer)
    client_id = str(uuid.uuid4())
    received_at = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    body = application_body("bulletin", uuid=client_id, received_at=received_at)

    first = client.post(URL, body, format="json")
    again = client.post(URL, body, format="json")
    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reference"] == first.json()["reference"]
    assert Case.objects.count() == Dossier.objects.count() == Organisation.objects.count() == 1
    assert Notification.objects.filter(key="received").count() == 1
    assert OutboxMessage.objects.filter(task_name="cases.case_intake").count() == 1

    stored = {"id": first.json()["id"], "reference": first.json()["reference"]}
    for different in (
        {**body, "fields": dossier("bulletin", copies=1000)},
        application_body("noncommercial_publication", uuid=client_id, received_at=received_at),
        {**body, "organisation": applicant("printing_licence")},
        {**body, "received_at": (received_at - timedelta(days=1)).isoformat()},
    ):
        conflict = problem(client.post(URL, different, format="json"), 409, "conflict")
        assert conflict["stored"] == stored
    other_officer = problem(api.as_user(officer2).post(URL, body, format="json"), 409, "conflict")
    assert other_officer["stored"] == stored
    assert Case.objects.count() == Dossier.objects.count() == 1
    assert Dossier.objects.get().fields == body["fields"]

    # The retries took no reference number: the next dossier gets the next one.
    following = api.as_user(officer).post(URL, application_body("bulletin", received_at=received_at),
                                          format="json")
    assert following.status_code == 201
    prefix, year, number = first.json()["reference"].rsplit("-", 2)
    assert following.json()["reference"] == f"{prefix}-{year}-{int(number) + 1:05d}"


# --- The organisations registry ----------------------------------------------------------------------------


def test_organisations_are_kept_once_by_tax_code(api, officer):
    client = api.as_user(officer)
    printer = applicant("printing_licence")
    first = client.post(URL, application_body("printing_licence", organisation=printer), format="json")
    assert first.status_code == 201, first.content
    holder_id = first.json()["dossier"]["organisation"]["id"]

    # The same tax code typed differently: the registry's entry, not a second organisation, not an error.
    retyped = {**printer, "name": "CÔNG TY TNHH IN HOÀNG LONG", "phone": ""}
    second = client.post(URL, application_body("print_registration", organisation=retyped), format="json")
    assert second.status_code == 201, second.content
    assert second.json()["dossier"]["organisation"]["id"] == holder_id
    assert second.json()["dossier"]["organisation"]["name"] == "Công ty TNHH In Hoàng Long"
    by_id_body = {**application_body("bulletin"), "organisation_id": holder_id}
    del by_id_body["organisation"]
    by_id = client.post(URL, by_id_body, format="json")
    assert by_id.status_code == 201, by_id.content
    assert by_id.json()["subject_name"] == "Công ty TNHH In Hoàng Long"
    assert by_id.json()["contact_email"] == "vanphong@dhtb.example.vn"  # the dossier's contact, not the holder's

    registered = client.post("/api/v1/licensing/organisations/", retyped, format="json")
    assert registered.status_code in (200, 201), registered.content
    assert registered.json()["id"] == holder_id
    assert Organisation.objects.count() == 1
    found = client.get("/api/v1/licensing/organisations/", {"tax_code": printer["tax_code"]}).json()
    assert [o["id"] for o in found["results"]] == [holder_id]
    assert [o["id"] for o in client.get("/api/v1/licensing/organisations/", {"q": "hoàng long"}).json()[
        "results"]] == [holder_id]

    # Without a tax code: the same name at the same address is the same organisation.
    club = {"name": "Câu lạc bộ Thơ Thái Bình", "kind": "association", "address": "Số 2 Quang Trung, TP Thái Bình"}
    ids = set()
    for organisation in (club, club, {**club, "address": "Số 9 Hai Bà Trưng, TP Thái Bình"}):
        response = client.post(URL, application_body("noncommercial_publication", organisation=organisation),
                               format="json")
        assert response.status_code == 201, response.content
        ids.add(response.json()["dossier"]["organisation"]["id"])
    assert len(ids) == 2
    assert Organisation.objects.count() == 3


# --- Who may do what ---------------------------------------------------------------------------------------


def test_only_licensing_roles_receive_and_every_role_reads_the_registry(
        api, officer, head, reporter, inspector, lead):
    case, _ = licensing_services.application_receive(
        actor=officer, procedure="printing_licence", fields=dossier("printing_licence"),
        organisation=applicant("printing_licence"), contact_email="inhoanglong@example.vn")
    kind, file = required_upload("printing_licence")
    case_services.attachment_add(case_id=case.pk, actor=officer, upload=file, kind=kind)
    for action, actor in (("start_review", officer), ("propose_grant", officer), ("approve", head)):
        case_services.case_transition(case_id=case.pk, actor=actor, action=action)
    document = licensing_services.result_issue(case_id=case.pk)
    cases_before = Case.objects.count()

    for user in (reporter, inspector, lead):
        client = api.as_user(user)
        problem(client.post(URL, application_body("bulletin"), format="json"), 403, "permission")
        problem(client.put(f"{URL}{case.pk}/dossier/", {"fields": dossier("printing_licence"), "version": 1},
                           format="json"), 403, "permission")
        problem(client.post("/api/v1/licensing/organisations/", applicant("bulletin"), format="json"), 403,
                "permission")
        registry = client.get("/api/v1/licensing/permits/")
        assert registry.status_code == 200
        [permit] = registry.json()["results"]
        assert (permit["number_text"], permit["holder"]["name"]) == ("01/GP-SVHTTDL", "Công ty TNHH In Hoàng Long")
        facilities = client.get("/api/v1/licensing/print-facilities/")
        assert [f["id"] for f in facilities.json()["results"]] == [permit["print_facility"]]
        assert client.get("/api/v1/licensing/procedures/").status_code == 200
    assert Case.objects.count() == cases_before
    assert Organisation.objects.count() == 1

    # The reporter reads the application behind a number; the inspector does not see licensing cases.
    reporter_client = api.as_user(reporter)
    assert reporter_client.get(f"{URL}{case.pk}/").json()["result_number"] == "01/GP-SVHTTDL"
    assert download(reporter_client, document.pk)[0].status_code == 200
    inspector_client = api.as_user(inspector)
    problem(inspector_client.get(f"{URL}{case.pk}/"), 404, "not_found")
    problem(inspector_client.get(f"/api/v1/licensing/documents/{document.pk}/download/"), 404, "not_found")

    api.credentials()  # signed out
    problem(api.post(URL, application_body("bulletin"), format="json"), 401, "not_authenticated")
    problem(api.get("/api/v1/licensing/permits/"), 401, "not_authenticated")


def test_a_dossier_update_is_checked_like_a_receipt(api, officer):
    client = api.as_user(officer)
    created = client.post(URL, application_body("bulletin"), format="json").json()
    url = f"{URL}{created['id']}/dossier/"

    bad = problem(client.put(url, {"fields": dossier("bulletin", pages=-1, bulletin_name=""),
                                   "version": created["version"]}, format="json"), 400, "validation")
    assert set(bad["errors"]["fields"]) == {"pages", "bulletin_name"}
    assert set(problem(client.put(url, {"fields": dossier("bulletin")}, format="json"), 400,
                       "validation")["errors"]) == {"version"}
    stale = problem(client.put(url, {"fields": dossier("bulletin", pages=40), "version": created["version"] + 5},
                               format="json"), 409, "stale_version")
    assert stale["current_version"] == created["version"]
    assert Dossier.objects.get(case_id=created["id"]).fields == dossier("bulletin")
    assert Case.objects.get(pk=created["id"]).version == created["version"]
