"""Every API failure has one shape: RFC 7807 problem details with a stable code."""

import io

import pytest
from PIL import Image

from cases import roles as r
from cases.models import Attachment, Case, CaseEvent

from .factories import UserFactory, case_make
from .support_licensing import application_body

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].split(";")[0].strip() == PROBLEM, response["Content-Type"]
    body = response.json()
    assert {"type", "code", "title", "status"} <= set(body), body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"].endswith("/" + code)
    assert isinstance(body["title"], str) and body["title"]
    return body


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def named(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


@pytest.fixture
def case(officer):
    return case_make(actor=officer)


@pytest.fixture(autouse=True)
def _token_login_not_throttled_here(monkeypatch):
    """The token login is throttled per client address in the shared cache; these tests are about the error
    shape, so a generous rate keeps them independent of other tests' logins."""
    from cases.api.auth import TokenLoginThrottle

    monkeypatch.setattr(TokenLoginThrottle, "rate", "100000/min", raising=False)


# --- 400 with field errors on every write endpoint ------------------------------------------------


# Bare cases are inspection cases opened by an inspection lead (licensing dossiers have their own door).
@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"type", "subject_name"}),
    ({"type": "no_such_procedure", "subject_name": "Công ty A"}, {"type"}),
    ({"type": "printing", "subject_name": ""}, {"subject_name"}),
    ({"type": "printing", "subject_name": "Công ty A", "contact_email": "not-an-email"}, {"contact_email"}),
    ({"type": "printing", "subject_name": "Công ty A", "data": [1, 2]}, {"data"}),
    ({"type": "printing", "subject_name": "Công ty A", "uuid": "not-a-uuid"}, {"uuid"}),
    ({"type": "printing", "subject_name": "Công ty A", "received_at": "hôm qua"}, {"received_at"}),
    ({"type": "printing", "subject_name": "Công ty A", "received_at": "2099-01-01T08:00:00+07:00"},
     {"received_at"}),
    # A licensing case is received with its dossier at /api/v1/licensing/applications/, never here.
    ({"type": "printing_licence", "subject_name": "Công ty A"}, {"type"}),
])
def test_create_case_bad_input(api, lead, body, fields):
    response = api.as_user(lead).post("/api/v1/cases/", body, format="json")
    problem = assert_problem(response, 400, "validation")
    assert fields <= set(problem["errors"]), problem["errors"]
    assert Case.objects.count() == 0


@pytest.mark.parametrize("role", [r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR, r.INSPECTION_LEAD])
def test_a_licensing_type_is_refused_with_the_way_to_its_own_door(api, users, role):
    body = {"type": "bulletin", "subject_name": "Trường Đại học Thái Bình",
            "received_at": "2024-03-04T08:30:00+07:00"}
    problem = assert_problem(api.as_user(users[role]).post("/api/v1/cases/", body, format="json"), 400, "validation")
    assert "/api/v1/licensing/applications/" in problem["detail"]
    assert any("/api/v1/licensing/applications/" in message for message in problem["errors"]["type"])
    assert Case.objects.count() == 0


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"action", "version"}),
    ({"action": "start_review"}, {"version"}),
    ({"action": "start_review", "version": 0}, {"version"}),
    ({"action": "start_review", "version": "một"}, {"version"}),
    ({"action": "apologise_late", "version": 1, "note": "Xin lỗi", "new_due_at": "sớm"}, {"new_due_at"}),
    ({"action": "apologise_late", "version": 1, "note": "Xin lỗi"}, {"new_due_at"}),  # the service's rule
])
def test_transition_bad_input(api, officer, case, body, fields):
    response = api.as_user(officer).post(f"/api/v1/cases/{case.pk}/transitions/", body, format="json")
    problem = assert_problem(response, 400, "validation")
    assert fields <= set(problem["errors"]), problem["errors"]
    case.refresh_from_db()
    assert (case.state, case.version) == ("received", 1)


def test_assign_bad_input(api, head, officer, reporter, case):
    client = api.as_user(head)
    url = f"/api/v1/cases/{case.pk}/assign/"
    problem = assert_problem(client.post(url, {"assignee": 999999, "version": 1}, format="json"), 400, "validation")
    assert "assignee" in problem["errors"]
    problem = assert_problem(client.post(url, {"assignee": officer.pk}, format="json"), 400, "validation")
    assert "version" in problem["errors"]
    # A reporter does not work on cases: not eligible as assignee (a rule of the service, same shape).
    problem = assert_problem(client.post(url, {"assignee": reporter.pk, "version": 1}, format="json"), 400,
                             "validation")
    assert "assignee" in problem["errors"]
    case.refresh_from_db()
    assert case.assignee_id is None
    assert not case.events.filter(kind=CaseEvent.Kind.ASSIGNMENT).exists()


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 5001}])
def test_note_bad_input(api, officer, case, body):
    response = api.as_user(officer).post(f"/api/v1/cases/{case.pk}/notes/", body, format="json")
    problem = assert_problem(response, 400, "validation")
    assert "text" in problem["errors"]
    assert not case.events.filter(kind=CaseEvent.Kind.NOTE).exists()


def test_attachment_bad_input(api, officer, case):
    dossier_files = set(Attachment.objects.filter(case=case).values_list("pk", flat=True))
    client = api.as_user(officer)
    url = f"/api/v1/cases/{case.pk}/attachments/"
    problem = assert_problem(client.post(url, {"description": "không có tệp"}, format="multipart"), 400,
                             "validation")
    assert "file" in problem["errors"]
    problem = assert_problem(client.post(url, {"file": named(b"MZ\x90\x00 not a picture", "anh.png")},
                                         format="multipart"), 400, "validation")
    assert "file" in problem["errors"]
    problem = assert_problem(client.post(url, {"file": named(png_bytes(), "a.png"), "uuid": "nope"},
                                         format="multipart"), 400, "validation")
    assert "uuid" in problem["errors"]
    assert set(Attachment.objects.values_list("pk", flat=True)) == dossier_files  # the dossier's own file only


def test_attachment_as_json_is_unsupported_media_type(api, officer, case):
    response = api.as_user(officer).post(f"/api/v1/cases/{case.pk}/attachments/", {"file": "abc"}, format="json")
    assert_problem(response, 415, "unsupported_media_type")


def test_auth_token_bad_input(api, officer):
    problem = assert_problem(api.post("/api/v1/auth/token/", {}, format="json"), 400, "validation")
    assert {"username", "password"} <= set(problem["errors"])
    wrong = {"username": officer.username, "password": "wrong-password"}
    problem = assert_problem(api.post("/api/v1/auth/token/", wrong, format="json"), 400, "validation")
    assert problem["errors"]  # non_field_errors: the credentials are refused, without saying which
    # The right password gives a token that works.
    response = api.post("/api/v1/auth/token/", {"username": officer.username, "password": "pw-test-1234"},
                        format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").json()["username"] == officer.username


@pytest.mark.parametrize("path", ["/api/v1/cases/", "/api/v1/auth/token/", "transitions", "assign", "notes"])
def test_malformed_json_is_400_problem(api, officer, case, path):
    if not path.startswith("/"):
        path = f"/api/v1/cases/{case.pk}/{path}/"
    response = api.as_user(officer).post(path, data='{"action": "start_review", "version": 1,',
                                         content_type="application/json")
    problem = assert_problem(response, 400, "validation")
    assert "detail" in problem
    case.refresh_from_db()
    assert case.version == 1


# --- 401, 403, 404, 405 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/cases/"),
    ("post", "/api/v1/cases/"),
    ("get", "/api/v1/me/"),
    ("get", "/api/v1/case-types/"),
    ("get", "/api/v1/cases/{pk}/"),
    ("post", "/api/v1/cases/{pk}/transitions/"),
    ("post", "/api/v1/cases/{pk}/attachments/"),
])
def test_unauthenticated_is_401_problem(api, case, method, path):
    response = getattr(api, method)(path.format(pk=case.pk), {}, format="json" if method == "post" else None)
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_wrong_token_is_401_problem(api, case):
    api.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    assert_problem(api.get("/api/v1/cases/"), 401, "authentication_failed")


def test_a_user_without_role_is_403_problem(api, case):
    nobody = UserFactory()  # signed in, but in none of the department's groups
    client = api.as_user(nobody)
    assert_problem(client.get("/api/v1/cases/"), 403, "permission")
    assert_problem(client.get(f"/api/v1/cases/{case.pk}/"), 403, "permission")
    assert_problem(client.post("/api/v1/cases/", {"type": "printing_licence", "subject_name": "Công ty B"},
                               format="json"), 403, "permission")
    assert_problem(client.post(f"/api/v1/cases/{case.pk}/transitions/",
                               {"action": "start_review", "version": 1}, format="json"), 403, "permission")
    assert_problem(client.get("/api/v1/case-types/"), 403, "permission")
    assert Case.objects.count() == 1
    case.refresh_from_db()
    assert case.state == "received"


def test_an_inactive_user_cannot_use_a_token(api, officer, case):
    client = api.as_user(officer)
    officer.is_active = False
    officer.save()
    response = client.get("/api/v1/cases/")
    assert response.status_code == 401
    assert response["Content-Type"].startswith(PROBLEM)


def test_role_that_cannot_open_this_kind_of_case_is_403(api, officer, inspector, lead):
    response = api.as_user(lead).post("/api/v1/licensing/applications/", application_body("printing_licence"),
                                      format="json")
    assert_problem(response, 403, "permission")
    response = api.as_user(inspector).post("/api/v1/cases/", {"type": "prepaid_sim", "subject_name": "Đại lý D"},
                                           format="json")
    assert_problem(response, 403, "permission")
    response = api.as_user(officer).post("/api/v1/cases/", {"type": "printing", "subject_name": "Cơ sở in E"},
                                         format="json")
    assert_problem(response, 403, "permission")
    assert Case.objects.count() == 0


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/cases/{pk}/"),
    ("get", "/api/v1/cases/{pk}/events/"),
    ("post", "/api/v1/cases/{pk}/transitions/"),
    ("post", "/api/v1/cases/{pk}/assign/"),
    ("post", "/api/v1/cases/{pk}/notes/"),
    ("get", "/api/v1/cases/{pk}/attachments/"),
    ("post", "/api/v1/cases/{pk}/attachments/"),
    ("get", "/api/v1/cases/{pk}/attachments/1/download/"),
    ("get", "/api/v1/case-types/no_such_code/"),
])
def test_unknown_case_is_404_problem(api, administrator, case, method, path):
    url = path.format(pk=case.pk + 1000)
    client = api.as_user(administrator)
    if method == "post" and "attachments" in path:
        response = client.post(url, {"file": named(png_bytes(), "a.png")}, format="multipart")
    elif method == "post":
        response = client.post(url, {"action": "start_review", "version": 1, "assignee": None, "text": "ghi chú"},
                               format="json")
    else:
        response = client.get(url)
    body = assert_problem(response, 404, "not_found")
    assert body["instance"] == url


def test_unknown_attachment_of_a_known_case_is_404_problem(api, officer, case):
    response = api.as_user(officer).get(f"/api/v1/cases/{case.pk}/attachments/999999/download/")
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/nothing", "/api/v2/cases/", "/api/v1/cases/abc/"])
def test_unknown_url_under_api_is_404_problem_json(api, officer, path):
    response = api.as_user(officer).get(path)
    body = assert_problem(response, 404, "not_found")
    assert body["instance"] == path


def test_unknown_url_outside_the_api_is_not_problem_json(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith(PROBLEM)


def test_method_not_allowed_is_405_problem(api, administrator, case):
    response = api.as_user(administrator).delete(f"/api/v1/cases/{case.pk}/")
    assert_problem(response, 405, "method_not_allowed")
    assert Case.objects.filter(pk=case.pk).exists()


def test_invalid_list_filter_is_400_problem(api, head):
    response = api.as_user(head).get("/api/v1/cases/", {"state": "no_such_state"})
    problem = assert_problem(response, 400, "validation")
    assert "state" in problem["errors"]


def test_domain_errors_carry_detail_and_instance(api, officer, head):
    case = case_make(actor=officer, path=("start_review", "propose_grant"), head=head)
    url = f"/api/v1/cases/{case.pk}/transitions/"
    response = api.as_user(officer).post(url, {"action": "approve", "version": case.version}, format="json")
    body = assert_problem(response, 403, "permission")
    assert body["instance"] == url
    assert body["detail"]
