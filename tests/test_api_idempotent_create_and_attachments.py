"""Retried creates give one case; files are checked by content and stored once; /me, schema and docs."""

import hashlib
import io
import json
import re
import uuid
from pathlib import Path

import docx
import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from PIL import Image

from cases import roles as r
from cases.models import Attachment, Case, CaseEvent
from worker.models import OutboxMessage

from .factories import UserFactory, case_make
from .support_licensing import applicant, application_body, application_received

pytestmark = pytest.mark.django_db


# --- Idempotent create ----------------------------------------------------------------------------
# POST /api/v1/cases/ opens the bare cases of the inspection domain (licensing dossiers are received through
# /api/v1/licensing/applications/, which has its own retry tests in test_licensing_api_validation.py): the
# engine's retry rules are tested here on an inspection case opened by an inspection lead.


def dossier(client_id, **overrides) -> dict:
    body = {
        "uuid": str(client_id), "type": "printing", "subject_name": "Công ty TNHH In Hoàng Long",
        "subject_address": "Số 5 Lý Bôn, TP Thái Bình", "contact_email": "inhoanglong@example.vn",
        "summary": "Kiểm tra hoạt động in năm 2024", "data": {"machines": 3},
        "received_at": "2024-03-04T08:30:00+07:00",
    }
    body.update(overrides)
    return body


def test_create_twice_with_the_same_uuid_gives_one_case(api, lead):
    client = api.as_user(lead)
    client_id = uuid.uuid4()
    first = client.post("/api/v1/cases/", dossier(client_id), format="json")
    second = client.post("/api/v1/cases/", dossier(client_id), format="json")
    assert first.status_code == 201, first.content
    assert second.status_code == 200, second.content
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["reference"] == second.json()["reference"]
    assert first.json()["uuid"] == str(client_id)
    assert Case.objects.count() == 1
    case = Case.objects.get()
    assert case.events.filter(kind=CaseEvent.Kind.CREATED).count() == 1
    # The work after receipt is queued once, not once per delivery.
    assert OutboxMessage.objects.filter(task_name="cases.case_intake").count() == 1
    # The next case gets the next number: the retry consumed none.
    third = client.post("/api/v1/cases/", dossier(uuid.uuid4(), subject_name="Cơ sở in Minh Phát"), format="json")
    assert third.status_code == 201
    assert third.json()["reference"] == "KTIN-2024-00002"
    assert first.json()["reference"] == "KTIN-2024-00001"


def test_a_licensing_type_is_refused_here_even_with_a_uuid(api, officer):
    """A licensing case is its procedure's dossier: this door refuses it, and the dossier's door receives it."""
    client = api.as_user(officer)
    client_id = uuid.uuid4()
    body = dossier(client_id, type="printing_licence")
    for _attempt in range(2):  # a retry is refused the same way: nothing was stored the first time
        response = client.post("/api/v1/cases/", body, format="json")
        assert response.status_code == 400, response.content
        assert response["Content-Type"].startswith("application/problem+json")
        assert response.json()["code"] == "validation"
        assert "/api/v1/licensing/applications/" in " ".join(response.json()["errors"]["type"])
    assert not Case.objects.exists()
    assert not OutboxMessage.objects.filter(task_name="cases.case_intake").exists()


def test_retry_after_the_case_moved_on_returns_the_stored_case(api, lead):
    client = api.as_user(lead)
    client_id = uuid.uuid4()
    created = client.post("/api/v1/cases/", dossier(client_id), format="json").json()
    moved = client.post(f"/api/v1/cases/{created['id']}/transitions/",
                        {"action": "announce", "version": created["version"]}, format="json")
    assert moved.status_code == 200
    again = client.post("/api/v1/cases/", dossier(client_id), format="json")
    assert again.status_code == 200
    assert again.json()["state"] == "announced"
    assert Case.objects.count() == 1


@pytest.mark.parametrize("change", [
    {"subject_name": "Công ty khác"},
    {"type": "prepaid_sim"},
    {"summary": ""},
    {"data": {"machines": 4}},
    {"contact_email": "khac@example.vn"},
    {"received_at": "2024-03-05T08:30:00+07:00"},
])
def test_same_uuid_different_content_is_409_conflict(api, lead, change):
    client = api.as_user(lead)
    client_id = uuid.uuid4()
    first = client.post("/api/v1/cases/", dossier(client_id), format="json")
    assert first.status_code == 201
    response = client.post("/api/v1/cases/", dossier(client_id, **change), format="json")
    assert response.status_code == 409, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "conflict"
    assert body["stored"]["reference"] == first.json()["reference"]
    assert Case.objects.count() == 1
    case = Case.objects.get()
    assert case.subject_name == "Công ty TNHH In Hoàng Long"
    assert case.events.count() == 1


def test_same_uuid_from_another_user_is_409_conflict(api, lead):
    lead2 = UserFactory(roles=[r.INSPECTION_LEAD])
    client_id = uuid.uuid4()
    assert api.as_user(lead).post("/api/v1/cases/", dossier(client_id), format="json").status_code == 201
    response = api.as_user(lead2).post("/api/v1/cases/", dossier(client_id), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert Case.objects.count() == 1


def test_without_uuid_two_posts_are_two_cases(api, lead):
    client = api.as_user(lead)
    body = dossier(uuid.uuid4())
    del body["uuid"]
    a = client.post("/api/v1/cases/", body, format="json")
    b = client.post("/api/v1/cases/", body, format="json")
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["reference"] != b.json()["reference"]
    assert Case.objects.count() == 2


def test_created_case_response(api, lead):
    response = api.as_user(lead).post("/api/v1/cases/", dossier(uuid.uuid4()), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "planned"
    assert body["type"] == "printing"
    assert body["version"] == 1
    assert body["due_at"] is None  # an inspection has no legal time limit
    assert body["created_by"]["id"] == lead.pk
    assert [event["kind"] for event in body["timeline"]] == ["created"]
    assert {a["action"] for a in body["actions"]} >= {"announce", "cancel"}


def test_received_dossier_response(api, officer):
    """The licensing door answers with the same case detail, its deadline and the officer's first actions."""
    response = api.as_user(officer).post("/api/v1/licensing/applications/",
                                         application_body("printing_licence", uuid=str(uuid.uuid4())), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "received"
    assert body["type"] == "printing_licence"
    assert body["version"] == 1
    assert body["due_at"] is not None
    assert body["created_by"]["id"] == officer.pk
    assert [event["kind"] for event in body["timeline"]] == ["created"]
    assert {a["action"] for a in body["actions"]} >= {"start_review", "request_supplement"}


# --- Attachments ----------------------------------------------------------------------------------


def image_bytes(fmt: str, size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 140, 60)).save(buffer, format=fmt)
    return buffer.getvalue()


def noise_png(side=64) -> bytes:
    import os

    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


MINIMAL_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n160\n%%EOF\n"
)


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("Biên bản kiểm tra", level=1)
    document.add_paragraph("Cơ sở in Minh Phát, ngày 05 tháng 01 năm 2020.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def upload(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def case(officer):
    """A licensing application as received, before any file: the files below are the only ones on it."""
    return application_received(officer)


def attachments_url(case) -> str:
    return f"/api/v1/cases/{case.pk}/attachments/"


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(("make", "name", "content_type", "extension", "kept"), [
    (lambda: image_bytes("PNG"), "Ảnh hiện trường.png", "image/png", ".png", "Ảnh hiện trường.png"),
    (lambda: image_bytes("JPEG"), "IMG_2020.jpg", "image/jpeg", ".jpg", "IMG_2020.jpg"),
    (lambda: image_bytes("WEBP"), "photo.webp", "image/webp", ".webp", "photo.webp"),
    (lambda: MINIMAL_PDF, "Đơn đề nghị cấp phép.pdf", "application/pdf", ".pdf", "Đơn đề nghị cấp phép.pdf"),
    (docx_bytes, "Biên bản.docx", DOCX_TYPE, ".docx", "Biên bản.docx"),
    # The name lies; the content decides, and the name kept takes the extension of the type found.
    (lambda: image_bytes("JPEG"), "scan.png", "image/jpeg", ".jpg", "scan.jpg"),
    (lambda: MINIMAL_PDF, "../../../etc/passwd", "application/pdf", ".pdf", "passwd.pdf"),
])
def test_real_files_are_accepted_and_stored_under_a_generated_name(api, officer, case, make, name, content_type,
                                                                   extension, kept):
    data = make()
    response = api.as_user(officer).post(attachments_url(case), {"file": upload(data, name), "description": "Hồ sơ"},
                                         format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == content_type
    assert body["sha256"] == hashlib.sha256(data).hexdigest()  # of the bytes sent: a retry is recognised by them
    assert body["original_name"] == kept  # never a path
    assert body["uploaded_by"]["id"] == officer.pk
    attachment = Attachment.objects.get()
    assert attachment.case_id == case.pk
    stored_name = attachment.file.name
    assert re.fullmatch(rf"cases/\d{{4}}/\d{{2}}/{attachment.uuid}{re.escape(extension)}", stored_name), stored_name
    assert Path(name).stem not in stored_name
    files = stored_files()
    assert len(files) == 1
    assert body["size"] == files[0].stat().st_size
    if content_type.startswith("image/"):  # images are stored encoded again (tests/test_uploads_hostile.py)
        with Image.open(files[0]) as stored, Image.open(io.BytesIO(data)) as sent:
            assert (stored.format, stored.size) == (sent.format, sent.size)
    else:
        assert files[0].read_bytes() == data
    assert files[0].resolve().is_relative_to(Path(django_settings.MEDIA_ROOT).resolve())


def test_upload_writes_an_attachment_event(api, officer, case):
    data = image_bytes("PNG")
    response = api.as_user(officer).post(attachments_url(case), {"file": upload(data, "bien-ban.png")},
                                         format="multipart")
    assert response.status_code == 201
    event = case.events.get(kind=CaseEvent.Kind.ATTACHMENT)
    assert event.actor_id == officer.pk
    assert event.after["attachment"] == response.json()["uuid"]
    assert event.after["name"] == "bien-ban.png"
    assert event.after["size"] == len(data)
    timeline = api.as_user(officer).get(f"/api/v1/cases/{case.pk}/").json()["timeline"]
    # On the timeline (followed by the dossier's completeness check, which the new file triggers).
    assert [row["after"]["attachment"] for row in timeline if row["kind"] == "attachment"] == [
        response.json()["uuid"]]


def test_the_same_file_twice_is_stored_once(api, officer, officer2, case):
    data = image_bytes("JPEG")
    first = api.as_user(officer).post(attachments_url(case), {"file": upload(data, "a.jpg")}, format="multipart")
    # Sent again, under another name and by a colleague: still the same file.
    second = api.as_user(officer2).post(attachments_url(case), {"file": upload(data, "copy of a.jpg")},
                                        format="multipart")
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert Attachment.objects.count() == 1
    assert len(stored_files()) == 1
    assert case.events.filter(kind=CaseEvent.Kind.ATTACHMENT).count() == 1
    listing = api.as_user(officer).get(attachments_url(case)).json()
    assert [row["id"] for row in listing] == [first.json()["id"]]


def test_the_same_file_on_another_case_is_a_new_attachment(api, officer, case):
    other = application_received(officer, organisation=applicant("printing_licence", name="Cơ sở in khác",
                                                                 tax_code="1001999888"))
    data = image_bytes("PNG")
    a = api.as_user(officer).post(attachments_url(case), {"file": upload(data, "a.png")}, format="multipart")
    b = api.as_user(officer).post(attachments_url(other), {"file": upload(data, "a.png")}, format="multipart")
    assert (a.status_code, b.status_code) == (201, 201)
    assert Attachment.objects.count() == 2


def test_client_uuid_makes_upload_retries_safe(api, officer, case):
    client = api.as_user(officer)
    client_id = str(uuid.uuid4())
    data = image_bytes("PNG")
    first = client.post(attachments_url(case), {"file": upload(data, "a.png"), "uuid": client_id},
                        format="multipart")
    again = client.post(attachments_url(case), {"file": upload(data, "a.png"), "uuid": client_id},
                        format="multipart")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["uuid"] == client_id
    other = client.post(attachments_url(case), {"file": upload(image_bytes("JPEG"), "b.jpg"), "uuid": client_id},
                        format="multipart")
    assert other.status_code == 409
    assert other.json()["code"] == "conflict"
    assert Attachment.objects.count() == 1


def _truncated_jpeg() -> bytes:
    """The first half of a real JPEG: the header is intact (Pillow opens and "verifies" it), the pixels are not."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    cut = data[: len(data) // 2]
    with Image.open(io.BytesIO(cut)) as image:
        assert image.format == "JPEG"
        image.verify()
    return cut


@pytest.mark.parametrize(("data", "name"), [
    (b"This is a text file, not a picture.\n", "anh.png"),
    (b"<html><script>alert(1)</script></html>", "report.pdf"),
    (b"GIF89a" + b"\x00" * 40, "animation.gif"),
    (None, "cut.jpg"),  # a truncated JPEG
    (b"", "empty.png"),
    (b"PK\x03\x04" + b"\x00" * 60, "not-really.docx"),
])
def test_files_that_are_not_what_they_claim_are_refused(api, officer, case, data, name):
    if data is None:
        data = _truncated_jpeg()
    response = api.as_user(officer).post(attachments_url(case), {"file": upload(data, name)}, format="multipart")
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "validation"
    assert body["errors"]["file"]
    assert not Attachment.objects.exists()
    assert not case.events.filter(kind=CaseEvent.Kind.ATTACHMENT).exists()
    assert stored_files() == []


def test_a_zip_without_a_word_document_is_refused(api, officer, case):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a docx")
    response = api.as_user(officer).post(attachments_url(case), {"file": upload(buffer.getvalue(), "x.docx")},
                                         format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_a_file_over_the_size_limit_is_refused(api, officer, case, settings):
    settings.ATTACHMENT_MAX_BYTES = 4096
    big = noise_png(64)
    assert len(big) > 4096
    response = api.as_user(officer).post(attachments_url(case), {"file": upload(big, "big.png")}, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"]["file"]
    assert not Attachment.objects.exists()
    assert stored_files() == []
    # Just under the limit passes.
    small = image_bytes("PNG")
    assert len(small) <= 4096
    ok = api.as_user(officer).post(attachments_url(case), {"file": upload(small, "small.png")}, format="multipart")
    assert ok.status_code == 201


def test_download_returns_the_bytes(api, officer, head, case):
    data = docx_bytes()
    created = api.as_user(officer).post(attachments_url(case), {"file": upload(data, "Biên bản.docx")},
                                        format="multipart").json()
    assert created["download_url"].endswith(f"/api/v1/cases/{case.pk}/attachments/{created['id']}/download/")
    response = api.as_user(head).get(f"/api/v1/cases/{case.pk}/attachments/{created['id']}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == DOCX_TYPE
    assert response["Content-Disposition"].startswith("attachment")
    # The detail lists it.
    detail = api.as_user(head).get(f"/api/v1/cases/{case.pk}/").json()
    assert [a["id"] for a in detail["attachments"]] == [created["id"]]


def test_download_needs_sign_in(api, officer, case):
    created = api.as_user(officer).post(attachments_url(case), {"file": upload(image_bytes("PNG"), "a.png")},
                                        format="multipart").json()
    api.credentials()
    response = api.get(f"/api/v1/cases/{case.pk}/attachments/{created['id']}/download/")
    assert response.status_code == 401
    # Media is not served as static files either.
    stored = Attachment.objects.get().file.name
    assert api.get(f"/media/{stored}").status_code == 404


# --- /me, schema, docs ----------------------------------------------------------------------------


def test_me_returns_the_roles(api, officer):
    body = api.as_user(officer).get("/api/v1/me/").json()
    assert body["id"] == officer.pk
    assert body["username"] == officer.username
    assert body["roles"] == [r.LICENSING_OFFICER]
    assert len(body["role_labels"]) == 1 and body["role_labels"][0]


def test_me_with_two_roles_and_with_none(api):
    both = UserFactory(roles=[r.INSPECTOR, r.INSPECTION_LEAD])
    assert api.as_user(both).get("/api/v1/me/").json()["roles"] == sorted([r.INSPECTOR, r.INSPECTION_LEAD])
    nobody = UserFactory()
    response = api.as_user(nobody).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["roles"] == []


def test_schema_is_openapi_3_with_the_transitions_path(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/cases/{id}/transitions/" in schema["paths"]
    post = schema["paths"]["/api/v1/cases/{id}/transitions/"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"action", "version"} <= set(request_schema["required"])
    for path in ("/api/v1/cases/", "/api/v1/cases/{id}/assign/", "/api/v1/cases/{id}/notes/",
                 "/api/v1/cases/{case_pk}/attachments/", "/api/v1/me/"):
        assert path in schema["paths"], path


def test_schema_yaml_by_default(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3." in response.content
    assert b"/api/v1/cases/{id}/transitions/" in response.content


def test_docs_use_local_static_files_only(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        # The file is really there to be served by collectstatic / the static finders.
        assert finders.find(asset.removeprefix("/static/")), asset
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert cdn not in html


def test_a_retried_note_is_stored_once(api, officer):
    from cases.models import CaseEvent

    case = case_make(actor=officer)
    api.as_user(officer)
    request_id = str(uuid.uuid4())
    body = {"text": "Đã gọi điện cho đơn vị đề nghị bổ sung.", "uuid": request_id}
    first = api.post(f"/api/v1/cases/{case.pk}/notes/", body, format="json")
    again = api.post(f"/api/v1/cases/{case.pk}/notes/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert CaseEvent.objects.filter(case=case, kind="note").count() == 1
    changed = api.post(f"/api/v1/cases/{case.pk}/notes/", {**body, "text": "Nội dung khác"}, format="json")
    assert changed.status_code == 409 and changed.json()["code"] == "conflict"
