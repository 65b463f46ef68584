"""Every inspection document as a signed PDF anyone can check (issue 15 for inspections; inspections/electronic.py):
the decision to inspect made once when the campaign is announced, the visit minutes, the violation record, the
sanction decision and the conclusion each print their verification code and QR code, are signed by a task, validate
with pyHanko and with poppler's pdfsig, their QR decodes to their /verify/ page, which shows issuer, number, date,
subject and holder. A signing failure is shown once on the campaign's timeline and retried; nothing twice.

Real parts: LibreOffice (documents.pdf), pyHanko with the demo CA (documents.signing), poppler and zbar."""

import hashlib
import subprocess

import pytest
from django.test import Client

from cases import services as case_services
from cases.models import CaseEvent
from documents.demo_ca import demo_credentials
from documents.qr import verification_url
from documents.signing import SigningUnavailable, credentials_forget
from documents.validation import pdf_signature_check
from inspections import electronic, services
from inspections import tasks as inspection_tasks
from inspections.models import Document, SanctionProvision
from worker.models import OutboxMessage

from .support_inspections import campaign_make, checklists_load, local
from .support_pki import nss_db
from .support_sanctions import violation_made
from .test_electronic_results import first_page_footer_lines, qr_of_first_page

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_signing(demo_signing, catalogue):
    checklists_load()


def rows(task, **kwargs):
    filters = {f"kwargs__{key}": value for key, value in kwargs.items()}
    return list(OutboxMessage.objects.filter(task_name=task, **filters))


def sign(document: Document) -> bytes:
    (row,) = rows(electronic.SIGN_TASK, document_id=document.pk)
    inspection_tasks.document_sign(document_id=document.pk, outbox_id=row.pk)
    row.refresh_from_db()
    assert row.done_at is not None
    document.verifiable.refresh_from_db()
    return document.verifiable.pdf.open("rb").read()


def test_the_decision_to_inspect_is_made_once_on_announce(lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=2, path=("announce",))
    (row,) = rows("inspections.decision_render", campaign_id=campaign.pk)
    first = services.decision_issue(campaign_id=campaign.pk)
    inspection_tasks.decision_render(campaign_id=campaign.pk, outbox_id=row.pk)  # a second delivery
    assert services.decision_issue(campaign_id=campaign.pk) is None
    (document,) = campaign.documents.filter(kind=Document.Kind.DECISION)
    assert document.pk == first.pk and document.number_text == campaign.decision_number_text
    assert len(rows(electronic.SIGN_TASK, document_id=document.pk)) == 1
    assert campaign.case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="decision").count() == 1
    lines = first_page_footer_lines(document.file.open("rb").read())
    assert f"Mã tra cứu: {document.verifiable.code_printed}" in lines


def test_every_inspection_document_is_signed_and_checks_out(api, lead, inspector, head, tmp_path):
    violation = violation_made(api, lead, inspector, recorded_at=local(2020, 3, 10, 9, 30))
    campaign = violation.target.campaign
    overprint = SanctionProvision.objects.get(key="ND159-25-2-overprint")  # a print shop's law in 2020
    services.violation_offender_set(actor=lead, violation_id=violation.pk, offender_kind="organisation",
                                    offender_name="Công ty TNHH In Thái Bình", provision_ids=[overprint.pk])
    services.sanction_decide(actor=lead, sanction_id=violation.sanction.pk, fines={overprint.pk: 12_000_000},
                             remedial_measures="Nộp lại số lợi bất hợp pháp.")
    services.decision_issue(campaign_id=campaign.pk)
    services.visit_minutes_issue(target_id=violation.target_id)
    services.violation_record_issue(violation_id=violation.pk)
    services.sanction_decision_issue(sanction_id=violation.sanction.pk)
    case_services.case_transition(case_id=campaign.case_id, actor=lead, action="close_findings")
    campaign.case.refresh_from_db()
    case_services.case_transition(case_id=campaign.case_id, actor=head, action="conclude",
                                  note="Cơ sở vi phạm đã bị xử phạt.")
    services.conclusion_issue(campaign_id=campaign.pk)
    documents = {d.kind: d for d in campaign.documents.select_related("verifiable")}
    assert set(documents) == set(Document.Kind.values)

    nss = nss_db(tmp_path / "nss", demo_credentials().root)
    client = api.as_user(lead)
    for kind, document in documents.items():
        verifiable = document.verifiable
        url = f"/api/v1/inspections/documents/{document.pk}/download/"
        assert client.get(url, {"format": "pdf"}).status_code == 409, kind
        pdf = sign(document)
        response = client.get(url, {"format": "pdf"})
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf", kind
        assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == verifiable.sha256
        check = pdf_signature_check(pdf)
        assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (True,) * 4, (kind, check)
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(pdf)
        report = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True,
                                timeout=60)
        assert "Signature is Valid" in report.stdout and "Certificate is Trusted" in report.stdout, report
        shots = tmp_path / kind
        shots.mkdir()
        assert qr_of_first_page(pdf, shots) == verification_url(verifiable.code), kind
        page = Client().get(f"/verify/{verifiable.code_printed}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
        assert verifiable.issuer_name in page and verifiable.kind in page, kind
        assert verifiable.issued_on.strftime("%d/%m/%Y") in page, kind
        if document.number_text:
            assert document.number_text in page, kind
        if verifiable.holder:
            assert verifiable.holder in page, kind
        assert client.get(f"/api/v1/inspections/documents/{document.pk}/").json()["pdf_url"].endswith("format=pdf")
    assert documents["sanction_decision"].verifiable.holder == "Công ty TNHH In Thái Bình"
    text = subprocess.run(["pdftotext", "-", "-"], input=documents["sanction_decision"].verifiable.pdf.open(
        "rb").read(), capture_output=True, timeout=60).stdout.decode()
    assert "12.000.000 đồng" in text and "Điều 25" in text
    # Signing again changes nothing and counts nothing twice.
    decision = documents["decision"]
    assert electronic.document_sign(document_id=decision.pk) is True
    assert campaign.case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="signed").count() == len(documents)


def test_a_signing_failure_is_shown_once_and_retried(lead, inspector, settings):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce",))
    document = services.decision_issue(campaign_id=campaign.pk)
    (row,) = rows(electronic.SIGN_TASK, document_id=document.pk)
    settings.DOCUMENTS_SIGNING_DEMO = False  # no key at all
    credentials_forget()
    for _attempt in range(2):
        with pytest.raises(SigningUnavailable):
            inspection_tasks.document_sign(document_id=document.pk, outbox_id=row.pk)
    failures = campaign.case.events.filter(kind=CaseEvent.Kind.ISSUE_FAILED, action=electronic.SIGN_FAILED_ACTION)
    assert failures.count() == 1 and "SigningUnavailable" in failures.get().note
    row.refresh_from_db()
    assert row.done_at is None
    settings.DOCUMENTS_SIGNING_DEMO = True
    credentials_forget()
    inspection_tasks.document_sign(document_id=document.pk, outbox_id=row.pk)
    document.verifiable.refresh_from_db()
    assert document.verifiable.is_signed
    assert campaign.case.events.filter(kind=CaseEvent.Kind.DOCUMENT, action="signed").count() == 1
