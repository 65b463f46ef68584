"""An applicant's online dossier, from the draft to the officer's receipt: the pages and the API, with the
counter's rules (the procedure's own fields, the counter's file checks), nothing typed lost on an error, and another
organisation's dossier never found."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from applicants import submissions as services
from applicants.models import Submission
from cases.deadlines import due_at_compute
from cases.errors import InvalidTransition, StaleVersion, ValidationFailed
from cases.models import Attachment, Case, CaseEvent

from . import support_licensing as sl
from .support_portal_submit import PROCEDURE, equipment_png, submitted

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.support_portal_submit"]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form_fields(fields: dict) -> dict:
    """The printing licence's fields as the page's inputs take them (one equipment per line, "name | quantity")."""
    return {"dossier_facility_name": fields["facility_name"], "dossier_facility_address": fields["facility_address"],
            "dossier_owner": fields["owner"], "dossier_products": fields["products"],
            "dossier_equipment": "\n".join(f"{item['name']} | {item['quantity']}" for item in fields["equipment"])}


def test_the_whole_path_on_the_pages_draft_bad_file_submit_and_receipt(applicant, officer):
    client = _client(applicant.user)
    page = client.get(reverse("portal:submission-new"))
    assert page.status_code == 200
    assert f'data-procedure="{PROCEDURE}"' in page.content.decode()
    token = uuid.uuid4()
    response = client.post(reverse("portal:submission-new"), {"procedure": PROCEDURE, "uuid": str(token)})
    submission = Submission.objects.get(uuid=token)
    assert response.status_code == 302 and response["Location"] == reverse("portal:submission-edit",
                                                                           args=[submission.uuid])
    # The same click sent twice makes one draft.
    client.post(reverse("portal:submission-new"), {"procedure": PROCEDURE, "uuid": str(token)})
    assert Submission.objects.filter(organisation=applicant.organisation).count() == 1
    assert submission.agency is not None and submission.state == Submission.State.DRAFT

    edit = reverse("portal:submission-edit", args=[submission.uuid])
    page = client.get(edit)
    assert page.status_code == 200
    for name in ("dossier_facility_name", "dossier_equipment", "file_equipment_documents", "declaration"):
        assert f'name="{name}"' in page.content.decode()

    # A partial draft is saved: only what was typed.
    response = client.post(edit, {"version": submission.version, "dossier_facility_name": "Công ty TNHH In Hoàng Long",
                                  "action": "save"})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.fields == {"facility_name": "Công ty TNHH In Hoàng Long"}

    # A file that is no accepted file is refused, a quantity that is no number too; what was typed comes back.
    fields = sl.dossier(PROCEDURE)
    typed = _form_fields(fields)
    typed["dossier_equipment"] = "Máy in offset Heidelberg SM 74 | hai"
    bad = SimpleUploadedFile("giay-to.pdf", b"MZ\x90\x00 this is a program", "application/pdf")
    response = client.post(edit, {**typed, "version": submission.version, "file_equipment_documents": bad,
                                  "action": "submit", "declaration": "on"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="form-errors"' in body
    assert "giay-to.pdf" in body  # the file's error names it
    assert fields["products"] in body and "Heidelberg SM 74 | hai" in body  # nothing typed is lost
    submission.refresh_from_db()
    assert submission.state == Submission.State.DRAFT and not submission.files.exists()
    assert submission.fields == {"facility_name": "Công ty TNHH In Hoàng Long"}  # the invalid save wrote nothing

    # Submitting without the declaration is refused, with everything else kept (the file is stored meanwhile).
    version = int(re.search(r'name="version" value="(\d+)"', body).group(1))
    response = client.post(edit, {**_form_fields(fields), "version": version, "file_equipment_documents": equipment_png(),
                                  "action": "submit"})
    assert response.status_code == 400
    submission.refresh_from_db()
    assert submission.state == Submission.State.DRAFT
    assert submission.files.get().kind == "equipment_documents"
    assert submission.fields["equipment"] == [{"name": "Máy in offset Heidelberg SM 74", "quantity": 2}]

    version = int(re.search(r'name="version" value="(\d+)"', response.content.decode()).group(1))
    response = client.post(edit, {**_form_fields(fields), "version": version, "declaration": "on", "action": "submit"})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == Submission.State.SUBMITTED
    assert submission.declared_at and submission.submitted_at
    page = client.get(edit)
    assert 'data-state="submitted"' in page.content.decode() and 'id="withdraw"' in page.content.decode()

    # The officer sees it waiting, opens it, downloads its file and receives it.
    office = _client(officer)
    queue = office.get(reverse("portal-office:queue"))
    assert f'data-submission="{submission.uuid}"' in queue.content.decode()
    detail = office.get(reverse("portal-office:submission", args=[submission.uuid]))
    assert detail.status_code == 200 and 'id="receive"' in detail.content.decode()
    item = submission.files.get()
    download = office.get(reverse("portal-office:file", args=[submission.uuid, item.uuid]))
    assert download.status_code == 200 and b"".join(download.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    before = timezone.now()
    response = office.post(reverse("portal-office:answer", args=[submission.uuid, "receive"]),
                           {"version": submission.version})
    submission.refresh_from_db()
    case = submission.case
    assert response.status_code == 302 and response["Location"] == reverse("licensing:case", args=[case.pk])
    assert submission.state == Submission.State.ACCEPTED and submission.handled_by == officer
    # The clock starts at the receipt, not at the submission.
    assert case.received_at >= before > submission.submitted_at
    assert case.due_at == due_at_compute(start=case.received_at, amount=case.terms.limit_amount,
                                         unit=case.terms.limit_unit)
    assert case.dossier.fields == submission.fields
    assert case.dossier.organisation.tax_code == applicant.organisation.tax_code
    assert case.contact_email == applicant.user.email
    attachment = Attachment.objects.get(case=case)
    assert (attachment.sha256, attachment.kind) == (item.sha256, "equipment_documents")
    assert attachment.file.read() == item.file.open("rb").read()
    case.dossier.refresh_from_db()
    assert case.dossier.complete is True
    assert case.events.filter(kind=CaseEvent.Kind.INTAKE, action="online").exists()

    # The counter's queue marks it online, and links to the online dossiers.
    queue = office.get(reverse("licensing:queue"))
    text = queue.content.decode()
    assert 'id="online-queue-link"' in text and 'data-online="1"' in text
    assert 'id="online-waiting-count">0<' in text
    # The applicant's page now says received, with the dossier code.
    page = client.get(edit)
    assert 'data-state="accepted"' in page.content.decode() and case.reference in page.content.decode()


def test_a_file_can_be_removed_and_submit_needs_the_required_files(applicant):
    submission, _ = services.submission_create(representative=applicant, procedure=PROCEDURE)
    services.submission_update(representative=applicant, submission_uuid=submission.uuid,
                               fields=sl.dossier(PROCEDURE), version=submission.version)
    item, created = services.file_add(representative=applicant, submission_uuid=submission.uuid,
                                      upload=equipment_png(), kind="equipment_documents")
    again, created_again = services.file_add(representative=applicant, submission_uuid=submission.uuid,
                                             upload=equipment_png("lan-2.png"), kind="equipment_documents")
    assert created and not created_again and again.pk == item.pk
    client = _client(applicant.user)
    submission.refresh_from_db()
    response = client.post(reverse("portal:submission-edit", args=[submission.uuid]),
                           {**_form_fields(sl.dossier(PROCEDURE)), "version": submission.version,
                            "action": f"remove:{item.uuid}"})
    assert response.status_code == 302
    assert not submission.files.exists()
    submission.refresh_from_db()
    with pytest.raises(ValidationFailed) as refused:
        services.submission_submit(representative=applicant, submission_uuid=submission.uuid,
                                   version=submission.version, declared=True)
    assert refused.value.extra["missing"] == ["equipment_documents"]


def test_a_stale_version_is_refused_and_a_submitted_dossier_is_no_longer_edited(applicant):
    submission = submitted(applicant)
    with pytest.raises(InvalidTransition):
        services.submission_update(representative=applicant, submission_uuid=submission.uuid,
                                   fields={"owner": "Ông Khác"}, version=submission.version)
    draft, _ = services.submission_create(representative=applicant, procedure="bulletin")
    with pytest.raises(StaleVersion):
        services.submission_update(representative=applicant, submission_uuid=draft.uuid, fields={}, version=99)
    # A new draft names the organisation where the procedure asks for it.
    assert draft.fields == {"publisher": applicant.organisation.name}


def test_a_retried_submit_changes_nothing(applicant):
    submission = submitted(applicant)
    again = services.submission_submit(representative=applicant, submission_uuid=submission.uuid,
                                       version=submission.version - 1, declared=True)
    assert (again.version, again.submitted_at) == (submission.version, submission.submitted_at)


def test_the_api_draft_files_submit_withdraw(applicant, api):
    client = api.as_user(applicant.user)
    procedures = client.get("/api/v1/portal/procedures/")
    assert procedures.status_code == 200
    assert {p["code"] for p in procedures.json()} >= {PROCEDURE, "bulletin"}
    token = str(uuid.uuid4())
    created = client.post("/api/v1/portal/submissions/", {"procedure": PROCEDURE, "uuid": token}, format="json")
    assert created.status_code == 201, created.content
    again = client.post("/api/v1/portal/submissions/", {"procedure": PROCEDURE, "uuid": token}, format="json")
    assert again.status_code == 200 and again.json()["uuid"] == token
    url = f"/api/v1/portal/submissions/{token}/"
    bad = client.put(url, {"fields": {"equipment": [{"name": "Máy in", "quantity": 0}]}, "version": 1}, format="json")
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/problem+json")
    assert "equipment" in bad.json()["errors"]["fields"]
    saved = client.put(url, {"fields": sl.dossier(PROCEDURE), "version": 1}, format="json")
    assert saved.status_code == 200 and saved.json()["version"] == 2
    assert saved.json()["missing_files"] == ["equipment_documents"]
    stale = client.put(url, {"fields": sl.dossier(PROCEDURE), "version": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    refused = client.post(url + "files/", {"file": SimpleUploadedFile("x.png", b"GIF89a not a png"),
                                           "kind": "equipment_documents"}, format="multipart")
    assert refused.status_code == 400 and "file" in refused.json()["errors"]
    wrong_kind = client.post(url + "files/", {"file": equipment_png(), "kind": "manuscript"}, format="multipart")
    assert wrong_kind.status_code == 400
    stored = client.post(url + "files/", {"file": equipment_png(), "kind": "equipment_documents"},
                         format="multipart")
    assert stored.status_code == 201
    assert client.post(url + "files/", {"file": equipment_png(), "kind": "equipment_documents"},
                       format="multipart").status_code == 200
    version = client.get(url).json()["version"]
    undeclared = client.post(url + "submit/", {"version": version, "declaration": False}, format="json")
    assert undeclared.status_code == 400 and "declaration" in undeclared.json()["errors"]
    done = client.post(url + "submit/", {"version": version, "declaration": True}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "submitted"
    retried = client.post(url + "submit/", {"version": version, "declaration": True}, format="json")
    assert retried.status_code == 200 and retried.json()["version"] == done.json()["version"]
    assert client.delete(url + f"files/{stored.json()['uuid']}/").status_code == 409  # submitted: not changed
    withdrawn = client.post(url + "withdraw/", {"version": done.json()["version"]}, format="json")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    listed = client.get("/api/v1/portal/submissions/").json()
    assert [row["uuid"] for row in listed["results"]] == [token]


def test_a_draft_can_be_withdrawn_on_its_page_and_is_then_read_only(applicant):
    submission = submitted(applicant)
    client = _client(applicant.user)
    response = client.post(reverse("portal:submission-withdraw", args=[submission.uuid]),
                           {"version": submission.version})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == Submission.State.WITHDRAWN
    page = client.get(reverse("portal:submission-edit", args=[submission.uuid])).content.decode()
    assert 'id="submission-form"' not in page and 'id="withdraw"' not in page
    # Withdrawn before receipt: no officer sees it waiting, no case.
    assert not services.office_queue(submission.created_by).exists()
    assert Case.objects.count() == 0


def test_another_organisation_finds_none_of_it(applicant, applicant_other, api):
    submission = submitted(applicant)
    item = submission.files.get()
    client = _client(applicant_other.user)
    pages = [("get", reverse("portal:submission-edit", args=[submission.uuid])),
             ("post", reverse("portal:submission-edit", args=[submission.uuid])),
             ("post", reverse("portal:submission-withdraw", args=[submission.uuid])),
             ("get", reverse("portal:submission-file", args=[submission.uuid, item.uuid]))]
    for method, url in pages:
        assert getattr(client, method)(url).status_code == 404, url
    other = api.as_user(applicant_other.user)
    base = f"/api/v1/portal/submissions/{submission.uuid}/"
    calls = [("get", base, None), ("put", base, {"fields": {}, "version": submission.version}),
             ("post", base + "files/", None), ("delete", base + f"files/{item.uuid}/", None),
             ("post", base + "submit/", {"version": submission.version, "declaration": True}),
             ("post", base + "withdraw/", {"version": submission.version})]
    for method, url, body in calls:
        response = getattr(other, method)(url, body, format="json") if body is not None else \
            getattr(other, method)(url)
        assert response.status_code == 404, (method, url, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
    assert other.get("/api/v1/portal/submissions/").json()["results"] == []
    # The same client-made id as another organisation's draft is a conflict, never its dossier.
    taken = other.post("/api/v1/portal/submissions/", {"procedure": PROCEDURE, "uuid": str(submission.uuid)},
                       format="json")
    assert taken.status_code == 409 and str(submission.uuid) not in taken.content.decode()
    # Nor may an applicant open the officers' pages and endpoints.
    assert client.get(reverse("portal-office:queue")).status_code == 403
    assert client.get(reverse("portal-office:submission", args=[submission.uuid])).status_code == 403
    assert other.get("/api/v1/portal/office/submissions/").status_code == 403
    submission.refresh_from_db()
    assert submission.state == Submission.State.SUBMITTED


def test_department_staff_are_no_applicants(officer, applicant):
    submission = submitted(applicant)
    client = _client(officer)
    assert client.get(reverse("portal:submission-new")).status_code == 403
    assert client.get(reverse("portal:submission-edit", args=[submission.uuid])).status_code == 403
    assert timedelta(0) <= timezone.now() - submission.submitted_at < timedelta(minutes=1)


def test_a_draft_value_is_checked_whole_even_when_other_fields_are_left_out(applicant, api):
    """A draft may leave fields out, but a list item given without its quantity is an error (400), not a crash."""
    client = api.as_user(applicant.user)
    token = client.post("/api/v1/portal/submissions/", {"procedure": PROCEDURE}, format="json").json()["uuid"]
    url = f"/api/v1/portal/submissions/{token}/"
    half = client.put(url, {"fields": {"equipment": [{"name": "Máy in offset"}]}, "version": 1}, format="json")
    assert half.status_code == 400 and "equipment" in half.json()["errors"]["fields"]
    whole = client.put(url, {"fields": {"equipment": [{"name": "Máy in offset", "quantity": "2"}]}, "version": 1},
                       format="json")
    assert whole.status_code == 200
    assert whole.json()["fields"] == {"equipment": [{"name": "Máy in offset", "quantity": 2}]}
