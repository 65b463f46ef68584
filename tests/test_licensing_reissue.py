"""A re-issue (licensing.services.permit_replace_earlier): a second printing licence for the same print facility
replaces the first. The registry no longer lists the first as in force, its verification page says "replaced" and
leads to the new licence once that is signed, its case's timeline says so, and revoking it is refused (what is
revoked is the licence in force). A licence of another facility, or of a procedure without a facility, replaces
nothing."""

import pytest
from django.test import Client

from cases import services as case_services
from cases.errors import Conflict
from cases.models import CaseEvent
from documents.models import VerifiableDocument
from licensing import electronic
from licensing import services as licensing_services
from licensing.models import Permit

from .support_licensing import application_body, dossier, required_upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_signing(demo_signing):
    """Every test here signs with the demo CA (conftest.demo_signing)."""


def issued(api, officer, head, procedure="printing_licence", **fields) -> Permit:
    """A dossier received through the API, completed, proposed, approved and its result issued."""
    body = application_body(procedure, fields=dossier(procedure, **fields))
    response = api.as_user(officer).post("/api/v1/licensing/applications/", body, format="json")
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    kind, upload = required_upload(procedure)
    case_services.attachment_add(case_id=case_id, actor=officer, upload=upload, kind=kind)
    case_services.case_intake(case_id=case_id)
    for user, action in ((officer, "start_review"), (officer, "propose_grant"), (head, "approve")):
        case_services.case_transition(case_id=case_id, actor=user, action=action)
    document = licensing_services.result_issue(case_id=case_id)
    assert document is not None
    return Permit.objects.select_related("document__verifiable", "case").get(document=document)


def test_a_second_licence_for_the_facility_replaces_the_first_everywhere(api, officer, head):
    first = issued(api, officer, head)
    assert electronic.document_sign(document_id=first.document_id)
    second = issued(api, officer, head)
    assert second.print_facility_id == first.print_facility_id

    first.refresh_from_db()
    assert first.replaced_by_id == second.pk and first.replaced_at == second.issued_at
    assert list(Permit.objects.in_force().filter(print_facility=first.print_facility)) == [second]
    record = VerifiableDocument.objects.get(pk=first.document.verifiable_id)
    assert record.status == VerifiableDocument.Status.REPLACED
    assert record.replaced_by_id == second.document.verifiable_id
    assert second.number_text in record.status_note
    event = first.case.events.get(kind=CaseEvent.Kind.DOCUMENT, action="replaced")
    assert event.after["replaced_by"] == second.number_text

    # The public page says replaced; it leads to the new licence once that one is signed.
    response = Client().get(f"/verify/{record.code_printed}/", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200, response
    page = response.content.decode()
    assert "Đã được thay thế" in page and 'id="replacement"' not in page
    assert electronic.document_sign(document_id=second.document_id)
    page = Client().get(f"/verify/{record.code_printed}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert 'id="replacement"' in page and second.number_text in page

    # The registry and the API say which one is in force.
    listed = {p["number_text"]: p for p in api.as_user(officer).get("/api/v1/licensing/permits/").json()["results"]}
    assert listed[first.number_text]["in_force"] is False and listed[first.number_text]["replaced_by"] == \
        second.number_text
    assert listed[second.number_text]["in_force"] is True and listed[second.number_text]["replaced_by"] is None
    in_force = api.as_user(officer).get("/api/v1/licensing/permits/", {"in_force": "true"}).json()["results"]
    assert first.number_text not in {p["number_text"] for p in in_force}
    browser = Client()
    browser.force_login(officer)
    response = browser.get("/licensing/permits/", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200
    row = response.content.decode().split(first.number_text, 1)[1].split("</tr>", 1)[0]
    assert "Đã được thay thế" in row and second.number_text in row

    # Revoking the replaced licence is refused; revoking the one in force works.
    with pytest.raises(Conflict):
        case_services.case_transition(case_id=first.case_id, actor=head, action="revoke",
                                      note="Quyết định thu hồi số 03/QĐ-SVHTTDL")
    case_services.case_transition(case_id=second.case_id, actor=head, action="revoke",
                                  note="Quyết định thu hồi số 03/QĐ-SVHTTDL")
    second.refresh_from_db()
    assert second.revoked_at is not None
    record.refresh_from_db()
    assert record.status == VerifiableDocument.Status.REPLACED  # the history stands


def test_other_facilities_and_procedures_without_a_facility_replace_nothing(api, officer, head):
    first = issued(api, officer, head)
    other = issued(api, officer, head, facility_name="Xưởng in Minh Khai", facility_address="12 Lê Lợi, Hưng Yên")
    assert other.print_facility_id != first.print_facility_id
    bulletins = [issued(api, officer, head, "bulletin") for _ in range(2)]
    assert Permit.objects.filter(replaced_by__isnull=False).count() == 0
    assert Permit.objects.in_force().count() == 4
    assert all(p.document.verifiable.status == "valid" for p in (first, other, *bulletins))
