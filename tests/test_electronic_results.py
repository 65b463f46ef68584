"""Electronic results (licensing/electronic.py): every document licensing issues prints its verification code and QR
code, and a task makes its signed PDF/A from the very DOCX that was issued; the PDF downloads, validates, and
its QR code leads to the public page, which shows it valid, then revoked. Signing that fails leaves the document
issued as DOCX, says so on the case's timeline once, and is retried; nothing is signed or counted twice.

Real parts: LibreOffice (documents.pdf), pyHanko with the demo CA (documents.signing), poppler and zbar."""

import hashlib
import io
import subprocess
from datetime import datetime

import pytest
from django.test import Client
from docx import Document

from cases import services as case_services
from cases.models import Case, CaseEvent
from documents.models import VerifiableDocument
from documents.qr import verification_url
from documents.selectors import verifiable_signed_count
from documents.signing import SigningUnavailable, credentials_forget
from documents.validation import pdf_signature_check
from licensing import electronic
from licensing import services as licensing_services
from licensing import tasks as licensing_tasks
from licensing.models import IssuedDocument
from worker.models import OutboxMessage

from .support_licensing import HCM, application_body, required_upload

pytestmark = pytest.mark.django_db
APPLICATIONS = "/api/v1/licensing/applications/"


@pytest.fixture(autouse=True)
def _demo_signing(demo_signing):
    """Every test here signs with the demo CA (conftest.demo_signing)."""


def approved(api, officer, head, procedure="bulletin") -> Case:
    response = api.as_user(officer).post(APPLICATIONS, application_body(procedure), format="json")
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    kind, upload = required_upload(procedure)
    case_services.attachment_add(case_id=case.pk, actor=officer, upload=upload, kind=kind)
    case_services.case_intake(case_id=case.pk)
    for user, action in ((officer, "start_review"), (officer, "propose_grant"), (head, "approve")):
        case.refresh_from_db()
        case_services.case_transition(case_id=case.pk, actor=user, action=action)
    case.refresh_from_db()
    return case


def first_page_footer_lines(data: bytes) -> list[str]:
    footer = Document(io.BytesIO(data)).sections[0].first_page_footer
    lines = [p.text for p in footer.paragraphs]
    for table in footer.tables:
        for cell in table.rows[0].cells:
            lines += [p.text for p in cell.paragraphs]
    return [line.strip() for line in lines if line.strip()]


def sign_rows(document: IssuedDocument) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(task_name=electronic.SIGN_TASK, kwargs__document_id=document.pk))


def qr_of_first_page(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "result.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
                   check=True, timeout=60)
    page = next(tmp_path.glob("page*.png"))
    found = subprocess.run(["zbarimg", "-q", "--raw", str(page)], capture_output=True, text=True, timeout=60)
    return found.stdout.strip()


def test_an_issued_licence_prints_its_code_is_signed_and_checks_out_until_revoked(api, officer, head, tmp_path):
    case = approved(api, officer, head)
    document = licensing_services.result_issue(case_id=case.pk)
    verifiable = document.verifiable
    assert verifiable is not None and not verifiable.is_signed
    lines = first_page_footer_lines(document.file.open("rb").read())
    assert f"Mã tra cứu: {verifiable.code_printed}" in lines
    assert any(line.endswith(verification_url(verifiable.code)) for line in lines), lines
    (row,) = sign_rows(document)

    # Before signing: the DOCX is there, the PDF is not yet, and the public page knows nothing.
    client = api.as_user(officer)
    url = f"/api/v1/licensing/documents/{document.pk}/download/"
    assert client.get(url).status_code == 200
    waiting = client.get(url, {"format": "pdf"})
    assert waiting.status_code == 409 and waiting.json()["code"] == "conflict"
    assert Client().get(f"/verify/{verifiable.code_printed}/").status_code == 404

    licensing_tasks.document_sign(document_id=document.pk, outbox_id=row.pk)
    row.refresh_from_db()
    assert row.done_at is not None
    verifiable.refresh_from_db()
    assert verifiable.is_signed

    response = client.get(url, {"format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = b"".join(response.streaming_content)
    assert hashlib.sha256(pdf).hexdigest() == verifiable.sha256
    check = pdf_signature_check(pdf)
    assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (True, True, True, True), check
    assert document.signer_name in check.signer or check.signer
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, timeout=60).stdout.decode()
    assert document.number_text in text and verifiable.code_printed in text
    assert qr_of_first_page(pdf, tmp_path) == verification_url(verifiable.code)

    # The API and the page point to it; the public page says valid; the exact file is recognised.
    (listed,) = client.get(f"/api/v1/licensing/applications/{case.pk}/").json()["documents"]
    assert listed["pdf_url"] == f"{url}?format=pdf" and listed["verification_url"] == verification_url(verifiable.code)
    page = Client().get(f"/verify/{verifiable.code_printed}/", HTTP_ACCEPT_LANGUAGE="vi")
    assert page.status_code == 200 and document.number_text in page.content.decode()
    assert "Còn hiệu lực" in page.content.decode()
    upload = io.BytesIO(pdf)
    upload.name = "ban-sao.pdf"
    checked = Client().post("/verify/", {"pdf": upload}, HTTP_ACCEPT_LANGUAGE="vi")
    assert "Đúng bản gốc" in checked.content.decode()
    events = case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="signed")
    assert events.count() == 1 and events.get().after["code"] == verifiable.code_printed

    # Signing again (a redelivered task) changes nothing and counts nothing twice.
    assert electronic.document_sign(document_id=document.pk) is True
    verifiable.refresh_from_db()
    assert hashlib.sha256(verifiable.pdf.open("rb").read()).hexdigest() == hashlib.sha256(pdf).hexdigest()
    assert case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="signed").count() == 1
    day = datetime.now(HCM)
    assert verifiable_signed_count(issuer_ids=[case.agency_id], start=day.replace(hour=0, minute=0),
                                   end=day.replace(hour=23, minute=59)) == 1

    # Revoked: the page says so, with the decision's note.
    case.refresh_from_db()
    case_services.case_transition(case_id=case.pk, actor=head, action="revoke",
                                  note="Quyết định thu hồi số 02/QĐ-SVHTTDL")
    verifiable.refresh_from_db()
    assert verifiable.status == VerifiableDocument.Status.REVOKED
    revoked = Client().get(f"/verify/{verifiable.code_printed}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "02/QĐ-SVHTTDL" in revoked and "thu hồi" in revoked.lower()


def test_signing_that_fails_is_shown_once_retried_and_signs_once(api, officer, head, settings):
    case = approved(api, officer, head)
    document = licensing_services.result_issue(case_id=case.pk)
    (row,) = sign_rows(document)
    settings.DOCUMENTS_SIGNING_DEMO = False  # no key at all: the token is "absent"
    credentials_forget()
    for _attempt in range(2):
        with pytest.raises(SigningUnavailable):
            licensing_tasks.document_sign(document_id=document.pk, outbox_id=row.pk)
    failures = case.events.filter(kind=CaseEvent.Kind.ISSUE_FAILED, action=electronic.SIGN_FAILED_ACTION)
    assert failures.count() == 1 and "SigningUnavailable" in failures.get().note
    row.refresh_from_db()
    assert row.done_at is None  # the outbox keeps it for the recovery sweep
    case.refresh_from_db()
    assert case.state == "issued"  # the result stands as DOCX; only its electronic copy waits
    client = api.as_user(head)
    assert client.get(f"/api/v1/licensing/documents/{document.pk}/download/", {"format": "pdf"}).status_code == 409
    assert client.get(f"/api/v1/licensing/documents/{document.pk}/download/").status_code == 200

    settings.DOCUMENTS_SIGNING_DEMO = True
    credentials_forget()
    licensing_tasks.document_sign(document_id=document.pk, outbox_id=row.pk)
    document.verifiable.refresh_from_db()
    assert document.verifiable.is_signed
    assert case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="signed").count() == 1
    assert client.get(f"/api/v1/licensing/documents/{document.pk}/download/", {"format": "pdf"}).status_code == 200


def test_a_refusal_letter_gets_its_electronic_copy_too(api, officer, head):
    response = api.as_user(officer).post(APPLICATIONS, application_body("bulletin"), format="json")
    case = Case.objects.get(pk=response.json()["id"])
    case_services.case_intake(case_id=case.pk)
    case.refresh_from_db()
    case_services.case_transition(case_id=case.pk, actor=officer, action="start_review")
    case_services.case_transition(case_id=case.pk, actor=officer, action="propose_refusal",
                                  note="Nội dung bản tin không phù hợp tôn chỉ, mục đích.")
    case_services.case_transition(case_id=case.pk, actor=head, action="refuse",
                                  note="Nội dung bản tin không phù hợp tôn chỉ, mục đích.")
    letter = licensing_services.refusal_letter_issue(case_id=case.pk)
    assert letter.verifiable is not None and letter.verifiable.kind.startswith("Văn bản từ chối")
    assert electronic.document_sign(document_id=letter.pk) is True
    letter.verifiable.refresh_from_db()
    assert pdf_signature_check(letter.verifiable.pdf.open("rb").read()).intact


def test_the_download_names_its_formats(api, officer, head):
    case = approved(api, officer, head)
    document = licensing_services.result_issue(case_id=case.pk)
    response = api.as_user(head).get(f"/api/v1/licensing/documents/{document.pk}/download/", {"format": "odt"})
    assert response.status_code == 400 and response.json()["code"] == "validation"
    assert "format" in response.json()["errors"]
