"""/api/v1/portal/dossiers/: the same follow-up as the pages, for a representative's token: the organisation's
dossiers only, the public timeline and documents, the download as one delivery, the supplement (multipart) that
resumes the case, the rating once; errors as RFC 7807 problems."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from applicants.models import Rating, ResultDelivery
from cases.models import Case
from cases.workflow import State

from . import support_licensing as sl
from .support_portal_follow import issued, online_received, representative_make

pytestmark = pytest.mark.django_db
BASE = "/api/v1/portal/dossiers/"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_list_detail_download_supplement_and_rating(api, officer, head):
    rep = representative_make("print")
    other = representative_make("school")
    granted = online_received(rep, officer, path=("start_review", "propose_grant", "approve"), head=head)
    document = issued(granted)
    waiting = online_received(rep, officer, path=("start_review", "request_supplement"))
    theirs = online_received(other, officer, "bulletin")
    client = api.as_user(rep)

    listed = client.get(BASE).json()
    uuids = {row["uuid"] for row in listed["results"]}
    assert uuids == {str(granted.uuid), str(waiting.uuid)} and str(theirs.uuid) not in uuids
    states = {row["uuid"]: row["state"] for row in listed["results"]}
    assert states == {str(granted.uuid): "result", str(waiting.uuid): "supplement"}

    detail = client.get(f"{BASE}{granted.uuid}/").json()
    assert detail["reference"] == granted.case.reference and detail["may_rate"] is True
    assert [e["code"] for e in detail["events"]][-1] == "result_issued"
    (doc,) = [d for d in detail["documents"] if d["id"] == document.pk]
    assert doc["format"] == "docx" and doc["download"].endswith(f"/documents/{document.pk}/download/")
    for _ in range(2):
        response = client.get(doc["download"])
        assert response.status_code == 200 and b"".join(response.streaming_content)[:2] == b"PK"
    assert ResultDelivery.objects.filter(document=document).count() == 1

    # Supplement: only while one is requested; the case resumes.
    problem(client.post(f"{BASE}{granted.uuid}/supplement/", {
        "files": [SimpleUploadedFile("a.pdf", sl.pdf_bytes("A"), "application/pdf")]}, format="multipart"), 409)
    problem(client.post(f"{BASE}{waiting.uuid}/supplement/", {"kinds": ["other"]}, format="multipart"), 400)
    problem(client.post(f"{BASE}{waiting.uuid}/supplement/", {
        "files": [SimpleUploadedFile("a.pdf", sl.pdf_bytes("A"), "application/pdf")], "signed_by": "x"},
        format="multipart"), 400)
    sent = client.post(f"{BASE}{waiting.uuid}/supplement/", {
        "files": [SimpleUploadedFile("so-do.pdf", sl.pdf_bytes("So do mat bang"), "application/pdf")],
        "kinds": ["other"], "message": "Gửi sơ đồ."}, format="multipart")
    assert sent.status_code == 200 and sent.json()["state"] == "in_progress"
    assert Case.objects.get(pk=waiting.case_id).state == State.IN_REVIEW

    # Rating: once, after the result, 1 to 5.
    problem(client.post(f"{BASE}{waiting.uuid}/rating/", {"score": 5}, format="json"), 409)
    problem(client.post(f"{BASE}{granted.uuid}/rating/", {"score": 9}, format="json"), 400)
    rated = client.post(f"{BASE}{granted.uuid}/rating/", {"score": 1, "comment": "Chậm."}, format="json")
    assert rated.status_code == 201 and rated.json()["score"] == 1
    problem(client.post(f"{BASE}{granted.uuid}/rating/", {"score": 5}, format="json"), 409)
    assert Rating.objects.get(case_id=granted.case_id).score == 1
    assert client.get(f"{BASE}{granted.uuid}/").json()["rating"]["score"] == 1

    # Another organisation's dossier is unknown here.
    problem(client.get(f"{BASE}{theirs.uuid}/"), 404)
    problem(api.as_user(other).get(doc["download"]), 404)
