"""A dossier refused online gets its refusal to receive (Mẫu 03) as an issued, signed document: the officer gives the
reasons, a task renders the slip from licensing's one definition, signs it, and the applicant downloads the signed
PDF from their dossier page (page and API); anyone holding it checks it on /verify/. Once, however often retried;
another organisation never reaches it."""

import hashlib
import importlib
import io
import subprocess

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from docx import Document

from applicants import slips
from applicants import submissions as services
from applicants import tasks as applicant_tasks
from applicants.models import Submission
from cases.models import Case
from documents.validation import pdf_signature_check
from licensing.models import Notification
from licensing.notifications import notification_send
from worker.models import OutboxMessage

from .support_portal_submit import submitted

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.support_portal_submit", "tests.support_smtp"]

REASONS = "Thủ tục cấp giấy phép này thuộc thẩm quyền của Cục Xuất bản, In và Phát hành."


@pytest.fixture(autouse=True)
def _slips_catalogue():
    """The instruments the slips cite (migration licensing 0010; a transactional test empties them)."""
    importlib.import_module("licensing.migrations.0010_one_stop_shop_instruments").load(apps, None)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _slip_rows(submission) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(task_name=slips.TASK, kwargs__submission_id=submission.pk))


def test_the_officer_refuses_and_the_applicant_downloads_the_signed_slip_that_verify_accepts(
        applicant, applicant_other, officer, smtp_server, demo_signing, api, tmp_path):  # noqa: F811
    submission = submitted(applicant)
    officer.first_name, officer.last_name = "Nguyễn Thu", "Hà"  # as the demo names people
    officer.save()
    office = _client(officer)
    answer = reverse("portal-office:answer", args=[submission.uuid, "refuse"])
    assert office.post(answer, {"version": submission.version, "reasons": REASONS}).status_code == 302
    submission.refresh_from_db()
    assert submission.state == Submission.State.NOT_RECEIVED and Case.objects.count() == 0
    (row,) = _slip_rows(submission)
    verifiable = submission.refusal_document
    assert verifiable is not None and not verifiable.is_signed and not submission.refusal_slip

    # The same refusal again (a retried request): no second slip.
    services.submission_refuse(actor=officer, submission_uuid=submission.uuid, version=1, reasons=REASONS)
    assert len(_slip_rows(submission)) == 1

    # Before the task: the applicant is told it is being prepared; nothing to download yet.
    owner = _client(applicant.user)
    dossier_url = reverse("portal:dossier", args=[submission.uuid])
    slip_url = reverse("portal:refusal-slip", args=[submission.uuid])
    page = owner.get(dossier_url).content.decode()
    assert 'id="refusal-slip" data-format="pending"' in page and REASONS in page
    assert owner.get(slip_url).status_code == 404

    # The task (after commit; here by hand): the DOCX from licensing's Mẫu 03, then the signed PDF.
    applicant_tasks.refusal_slip_issue(submission_id=submission.pk, outbox_id=row.pk)
    row.refresh_from_db()
    assert row.done_at is not None
    submission.refresh_from_db()
    verifiable.refresh_from_db()
    assert verifiable.is_signed and verifiable.issuer_id == submission.agency_id
    text = _text(submission.refusal_slip.open("rb").read())
    for expected in ("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", applicant.organisation.name, REASONS,
                     str(submission.uuid), "Nguyễn Thu Hà", "Nghị định số 118/2025/NĐ-CP"):
        assert expected in text, expected
    signed = verifiable.pdf.open("rb").read()
    # Run again (a redelivered task): nothing changes.
    assert slips.refusal_slip_issue(submission_id=submission.pk) is True
    verifiable.refresh_from_db()
    assert hashlib.sha256(verifiable.pdf.open("rb").read()).hexdigest() == hashlib.sha256(signed).hexdigest()

    # The applicant's page offers the signed PDF; the download is exactly it, and it validates.
    page = owner.get(dossier_url).content.decode()
    assert 'id="refusal-slip" data-format="pdf"' in page and slip_url in page
    response = owner.get(slip_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = b"".join(response.streaming_content)
    assert pdf == signed
    check = pdf_signature_check(pdf)
    assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (True, True, True, True), check
    (tmp_path / "slip.pdf").write_bytes(pdf)
    pdfsig = subprocess.run(["pdfsig", str(tmp_path / "slip.pdf")], capture_output=True, text=True, timeout=60)
    report = pdfsig.stdout + pdfsig.stderr
    assert "Signature is Valid" in report and "Total document signed" in report, report  # poppler, independently
    pdf_text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, timeout=60).stdout.decode()
    assert REASONS.split(",")[0] in " ".join(pdf_text.split()) and verifiable.code_printed in pdf_text

    # Anyone holding the slip checks it: the public page, and the exact file.
    public = Client().get(f"/verify/{verifiable.code_printed}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Phiếu từ chối tiếp nhận giải quyết hồ sơ" in public and applicant.organisation.name in public
    assert REASONS not in public  # the page shows the facts printed on top, never the dossier's contents
    upload = io.BytesIO(pdf)
    upload.name = "phieu.pdf"
    assert "Đúng bản gốc" in Client().post("/verify/", {"pdf": upload}, HTTP_ACCEPT_LANGUAGE="vi").content.decode()

    # The API says the same, and gives the same file.
    client = api.as_user(applicant.user)
    detail = client.get(f"/api/v1/portal/dossiers/{submission.uuid}/").json()
    assert detail["refusal_slip"] == "pdf" and detail["state"] == "not_received"
    download = client.get(detail["refusal_slip_download"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == signed

    # Another organisation's representative reaches nothing (404, as for a dossier that does not exist).
    stranger = _client(applicant_other.user)
    assert stranger.get(slip_url).status_code == 404
    assert api.as_user(applicant_other.user).get(
        f"/api/v1/portal/dossiers/{submission.uuid}/refusal-slip/download/").status_code == 404
    assert Client().get(slip_url).status_code in (302, 403)  # signed out: to the sign-in page

    # The e-mail tells the applicant where the slip is.
    for notification in Notification.objects.filter(sent_at__isnull=True, case__isnull=True):
        notification_send(notification_id=notification.pk)
    message = smtp_server.wait_for(to=applicant.user.email, subject_contains="Từ chối tiếp nhận")
    assert REASONS in message.text and "Phiếu từ chối tiếp nhận" in message.text


def test_a_completion_request_or_a_receipt_makes_no_refusal_slip(applicant, officer):
    asked = submitted(applicant)
    services.submission_request_completion(actor=officer, submission_uuid=asked.uuid, version=asked.version,
                                           reasons="Thiếu bản sao giấy đăng ký kinh doanh.")
    received = submitted(applicant)
    services.submission_receive(actor=officer, submission_uuid=received.uuid, version=received.version)
    assert not OutboxMessage.objects.filter(task_name=slips.TASK).exists()
    for submission in (asked, received):
        submission.refresh_from_db()
        assert submission.refusal_document is None
        assert _client(applicant.user).get(reverse("portal:refusal-slip", args=[submission.uuid])).status_code == 404
