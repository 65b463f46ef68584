"""The one-stop shop's slips (licensing/slips.py) and the receipt secret (licensing.selectors).

Every dossier gets a receipt secret whatever its door (counter page, API, a past register's import); the dossier
code and the secret together find the case, and a wrong secret answers exactly as an unknown code. The public
timeline is a whitelist. The receipt is issued once per case (a redelivered task adds nothing) and gets its signed
PDF like the results; a supplement slip is issued per request; slips are signed documents, never results.

Real parts: LibreOffice (documents.pdf), pyHanko with the demo CA, poppler (pdftotext)."""

import importlib
import io
import subprocess
from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from docx import Document

from cases import services as case_services
from cases.models import Case, CaseEvent
from documents.selectors import verifiable_signed_count
from documents.validation import pdf_signature_check
from licensing import electronic, selectors, slips
from licensing import tasks as licensing_tasks
from licensing.models import RECEIPT_SECRET_ALPHABET, Dossier, IssuedDocument, Permit
from licensing.services import RECEIPT_TASK, SUPPLEMENT_SLIP_TASK
from worker import outbox
from worker.models import OutboxMessage

from .factories import case_make
from .support_licensing import HCM, application_body, application_received, required_upload
from .test_register_import import REGISTER_2019, import_rows

pytestmark = pytest.mark.django_db
APPLICATIONS = "/api/v1/licensing/applications/"


@pytest.fixture(autouse=True)
def _slips_catalogue():
    """The instruments the slips cite, as migration licensing 0010 loads them (a transactional test empties them)."""
    importlib.import_module("licensing.migrations.0010_one_stop_shop_instruments").load(apps, None)


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for cell in table.rows[0].cells:
            lines += [p.text for p in cell.paragraphs]
    return "\n".join(lines)


def receipt_rows(case) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(task_name=RECEIPT_TASK, kwargs__case_id=case.pk))


def well_formed(secret: str) -> bool:
    return len(secret) == 8 and set(secret) <= set(RECEIPT_SECRET_ALPHABET)


# --- The receipt secret ----------------------------------------------------------------------------------------------


def test_every_door_gives_the_dossier_its_own_secret_and_queues_its_receipt(api, client, officer, head):
    by_api = api.as_user(officer).post(APPLICATIONS, application_body("bulletin"), format="json")
    assert by_api.status_code == 201, by_api.content
    api_case = Case.objects.get(pk=by_api.json()["id"])

    client.force_login(officer)
    form = {"uuid": "2b7e4a47-8a7e-4c55-9d3c-5b0c0f3f9a11", "procedure": "printing_licence",
            "org_name": "Cơ sở in Minh Phát", "org_kind": "print_facility", "org_email": "minhphat@example.vn",
            "dossier_facility_name": "Cơ sở in Minh Phát", "dossier_facility_address": "Thị trấn Diêm Điền",
            "dossier_owner": "Phạm Minh Phát", "dossier_products": "Sách, tờ rơi",
            "dossier_equipment": "Máy in offset Heidelberg | 2"}
    page = client.post(reverse("licensing:receive"), form)
    counter_case = Case.objects.exclude(pk=api_case.pk).get()
    assert page.status_code == 302

    report = import_rows(head, REGISTER_2019[:2])
    assert report.ok, report
    imported = list(Case.objects.exclude(pk__in=[api_case.pk, counter_case.pk]))
    assert len(imported) == 2

    secrets = [Dossier.objects.get(case=case).receipt_secret for case in [api_case, counter_case, *imported]]
    assert all(well_formed(secret) for secret in secrets), secrets
    assert len(set(secrets)) == 4
    # A receipt is queued for the dossiers received in the service, once each; none for a past register's rows.
    assert len(receipt_rows(api_case)) == 1 and len(receipt_rows(counter_case)) == 1
    assert all(not receipt_rows(case) for case in imported)
    # A retried request (same uuid) queues nothing more.
    again = api.as_user(officer).post(APPLICATIONS, application_body("bulletin", uuid=str(api_case.uuid)),
                                      format="json")
    assert again.status_code == 200 and len(receipt_rows(api_case)) == 1


def test_the_code_and_secret_find_the_case_and_a_wrong_secret_is_an_unknown_code(officer):
    case = application_received(officer, "bulletin")
    secret = case.dossier.receipt_secret
    assert selectors.dossier_lookup(case.reference, secret) == case
    typed = selectors.receipt_secret_printed(secret).lower()  # as a person types it from the slip
    assert selectors.dossier_lookup(f" {case.reference.lower()} ", f" {typed} ") == case
    wrong = ("3" if secret[0] != "3" else "4") + secret[1:]
    answers = {
        "wrong secret": selectors.dossier_lookup(case.reference, wrong),
        "unknown code": selectors.dossier_lookup("GP-2099-99999", secret),
        "empty secret": selectors.dossier_lookup(case.reference, ""),
        "empty code": selectors.dossier_lookup("", secret),
        "other alphabet": selectors.dossier_lookup(case.reference, "00000000"),
        "too long": selectors.dossier_lookup(case.reference, secret + "A"),
    }
    assert answers == dict.fromkeys(answers)  # all None: nothing tells a wrong secret from an unknown code


def test_the_public_timeline_shows_what_the_applicant_may_know_and_no_internal_note(officer, head):
    case = application_received(officer, "bulletin")
    case_services.case_intake(case_id=case.pk)
    case_services.case_note_add(case_id=case.pk, actor=officer, text="GHI CHÚ NỘI BỘ: gọi lại cho anh Nam")
    for action, note in (("start_review", ""), ("request_supplement", "Bổ sung mẫu trình bày bản tin"),
                         ("receive_supplement", ""), ("propose_refusal", "ĐỀ XUẤT NỘI BỘ của chuyên viên"),
                         ("return_for_review", "TRẢ LẠI NỘI BỘ: xem lại"),
                         ("propose_refusal", "Nội dung không phù hợp tôn chỉ, mục đích"),
                         ("refuse", "Nội dung không phù hợp tôn chỉ, mục đích")):
        case.refresh_from_db()
        case_services.case_transition(case_id=case.pk, actor=head if action in {"refuse", "return_for_review"}
                                      else officer, action=action, note=note)
    case.refresh_from_db()
    lines = selectors.timeline_public(case)
    assert [line.kind for line in lines] == ["received", "in_review", "supplement_requested", "supplement_received",
                                             "refused"]
    assert lines[0].at == case.received_at and lines[0].details == {"due_at": lines[0].details["due_at"]}
    assert lines[2].note == "Bổ sung mẫu trình bày bản tin"
    assert lines[4].note == "Nội dung không phù hợp tôn chỉ, mục đích"
    everything = repr([line.as_dict() for line in lines])
    for internal in ("NỘI BỘ", "anh Nam", officer.username, head.username):
        assert internal not in everything
    assert set(selectors.PUBLIC_KINDS) >= {line.kind for line in lines}


# --- The receipt ------------------------------------------------------------------------------------------------------


def test_the_receipt_is_issued_once_prints_code_secret_papers_and_appointment_and_signs(
        api, officer, demo_signing, tmp_path):
    case = application_received(officer, "bulletin")
    kind, upload = required_upload("bulletin")
    case_services.attachment_add(case_id=case.pk, actor=officer, upload=upload, kind=kind)
    (row,) = receipt_rows(case)
    assert outbox.outbox_is_batched(RECEIPT_TASK)  # a burst of receipts: one run, not a message each
    assert outbox.outbox_batch_run(RECEIPT_TASK) == 1
    row.refresh_from_db()
    assert row.done_at is not None
    assert slips.receipt_issue(case_id=case.pk) is None  # a redelivered task: nothing more
    assert licensing_tasks.receipt_issue_batch([{"case_id": case.pk}]) is None
    (receipt,) = case.documents.filter(kind=IssuedDocument.Kind.RECEIPT)
    assert receipt.number_text == "" and receipt.number is None and receipt.series == ""
    case.refresh_from_db()
    dossier = case.dossier
    text = docx_text(receipt.file.open("rb").read())
    local_due = timezone.localtime(case.due_at)
    for expected in ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", f"Mã hồ sơ: {case.reference}",
                     selectors.receipt_secret_printed(dossier.receipt_secret), upload.name,
                     f"{local_due:%H} giờ {local_due:%M} phút, ngày {local_due:%d} tháng {local_due:%m} năm "
                     f"{local_due:%Y}", "Nghị định số 118/2025/NĐ-CP", "NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ"):
        assert expected in text, expected
    assert "Căn cứ Nghị định số 61/2018/NĐ-CP" not in text  # replaced from 1 July 2025: a slip of today cites the new decree

    (sign_row,) = OutboxMessage.objects.filter(task_name=electronic.SIGN_TASK, kwargs__document_id=receipt.pk)
    licensing_tasks.document_sign(document_id=receipt.pk, outbox_id=sign_row.pk)
    receipt.verifiable.refresh_from_db()
    assert receipt.verifiable.is_signed
    response = api.as_user(officer).get(f"/api/v1/licensing/documents/{receipt.pk}/download/", {"format": "pdf"})
    assert response.status_code == 200
    pdf = b"".join(response.streaming_content)
    check = pdf_signature_check(pdf)
    assert (check.signed, check.intact, check.trusted, check.covers_whole_file) == (True, True, True, True), check
    pdf_text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, timeout=60).stdout.decode()
    assert case.reference in pdf_text and selectors.receipt_secret_printed(dossier.receipt_secret) in pdf_text
    page = Client().get(f"/verify/{receipt.verifiable.code_printed}/")
    assert page.status_code == 200


def test_a_past_dated_receipt_cites_the_decree_in_force_that_day():
    assert any("61/2018/NĐ-CP" in line for line in slips.slip_bases(datetime(2025, 6, 30).date()))
    assert not any("118/2025/NĐ-CP" in line for line in slips.slip_bases(datetime(2025, 6, 30).date()))
    assert any("118/2025/NĐ-CP" in line for line in slips.slip_bases(datetime(2025, 7, 1).date()))


def test_the_case_page_offers_the_receipt_and_its_secret(client, officer, demo_signing):
    case = application_received(officer, "bulletin")
    client.force_login(officer)
    waiting = client.get(reverse("licensing:case", args=[case.pk]))
    assert 'data-receipt="waiting"' in waiting.content.decode()
    receipt = slips.receipt_issue(case_id=case.pk)
    html = client.get(reverse("licensing:case", args=[case.pk])).content.decode()
    assert f'data-receipt="{receipt.pk}"' in html
    assert f'href="/api/v1/licensing/documents/{receipt.pk}/download/"' in html
    assert selectors.receipt_secret_printed(case.dossier.receipt_secret) in html
    assert 'id="receipt-pdf"' not in html  # not signed yet
    electronic.document_sign(document_id=receipt.pk)
    html = client.get(reverse("licensing:case", args=[case.pk])).content.decode()
    assert f'href="/api/v1/licensing/documents/{receipt.pk}/download/?format=pdf"' in html
    # A dossier stored before receipts were issued (no task for it) has none to wait for; its secret is shown.
    older = case_make(actor=officer)
    html = client.get(reverse("licensing:case", args=[older.pk])).content.decode()
    assert 'data-receipt="none"' in html and selectors.receipt_secret_printed(older.dossier.receipt_secret) in html


# --- Supplement slips, refusal to receive -------------------------------------------------------------------------


def test_each_supplement_request_gets_its_slip_listing_what_is_missing(officer):
    case = application_received(officer, "bulletin")
    case_services.case_intake(case_id=case.pk)  # the layout sample is missing
    notes = ["Bổ sung giấy phép thành lập của nhà trường", "Ghi rõ số lượng bản in mỗi kỳ"]
    for note in notes:
        case.refresh_from_db()
        if case.state == "supplement_requested":
            case_services.case_transition(case_id=case.pk, actor=officer, action="receive_supplement")
        case.refresh_from_db()
        case_services.case_transition(case_id=case.pk, actor=officer, action="request_supplement", note=note)
    rows = list(OutboxMessage.objects.filter(task_name=SUPPLEMENT_SLIP_TASK, kwargs__case_id=case.pk))
    assert len(rows) == 2
    for row in rows:
        licensing_tasks.supplement_slip_issue(**row.kwargs, outbox_id=row.pk)
        licensing_tasks.supplement_slip_issue(**row.kwargs)  # redelivered: nothing more
    found = list(case.documents.filter(kind=IssuedDocument.Kind.SUPPLEMENT_SLIP).order_by("event_id"))
    assert [d.event_id for d in found] == sorted(row.kwargs["event_id"] for row in rows)
    for document, note in zip(found, notes, strict=True):
        text = docx_text(document.file.open("rb").read())
        assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text and note in text
        assert "Bổ sung bản mẫu trình bày bản tin" in text  # the dossier's missing required file, named
        assert document.verifiable is not None and document.number_text == ""


def test_a_refusal_to_receive_is_built_from_the_submissions_facts_alone(officer):
    from agencies.models import Agency

    agency = Agency.objects.get(code="thai-binh-stttt")
    now = timezone.now()
    facts = slips.SubmissionFacts(
        agency=agency, procedure_name="Cấp giấy phép xuất bản bản tin", applicant_name="Công ty TNHH Sao Mai",
        applicant_address="Số 1 Lê Lợi", phone="0912 000 111", email="saomai@example.vn", summary="Bản tin Sao Mai",
        submitted_at=now - timedelta(hours=3), reasons="Thủ tục không thuộc thẩm quyền giải quyết của Sở.",
        refused_at=now, officer_name="Nguyễn Thu Hà", code="TT-2026-000123")
    text = docx_text(slips.refusal_to_receive_render(facts))
    for expected in ("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", "Công ty TNHH Sao Mai", "TT-2026-000123",
                     "Thủ tục không thuộc thẩm quyền giải quyết của Sở.", "Xin lỗi và hẹn gặp lại!", "Nguyễn Thu Hà"):
        assert expected in text, expected
    assert IssuedDocument.objects.count() == 0


# --- Slips are signed documents, never results ------------------------------------------------------------------------


def test_slips_count_as_signed_documents_never_as_results(officer, demo_signing):
    case = application_received(officer, "bulletin")
    receipt = slips.receipt_issue(case_id=case.pk)
    electronic.document_sign(document_id=receipt.pk)
    day = datetime.now(HCM)
    start = day.replace(hour=0, minute=0, second=0, microsecond=0)
    assert verifiable_signed_count(issuer_ids=[case.agency_id], start=start, end=start + timedelta(days=1)) == 1
    assert not Permit.objects.exists()
    assert receipt.kind not in IssuedDocument.RESULT_KINDS
    case.refresh_from_db()
    assert case.result_number == "" and case.state == "received"
    # The quarter's tables count it received, not resolved nor issued; its e-delivery share counts no result.
    from reports.quarters import Quarter
    from reports.services import contribution_refresh
    from reports.tables import quarterly_report

    contribution_refresh(case_id=case.pk)
    report = quarterly_report(Quarter.current(), agency=case.agency)
    (results,) = [row for row in report["procedure_results"] if row["code"] == "bulletin"]
    (processing,) = [row for row in report["processing"] if row["code"] == "bulletin"]
    (quality,) = [row for row in report["quality"] if row["code"] == "bulletin"]
    assert (results["count"], processing["received"], processing["resolved"]) == (0, 1, 0)
    assert quality["indicators"]["e_delivered"]["denominator"] == 0
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.DOCUMENT, action="receipt").count() == 1


def test_a_dossier_received_from_an_online_submission_gets_an_online_receipt(officer, django_user_model):
    from applicants.models import ApplicantOrganisation, Submission

    case = application_received(officer, "bulletin")
    organisation = ApplicantOrganisation.objects.create(name="Trường Đại học Thái Bình", tax_code="1001045872",
                                                        address="Xã Tân Bình")
    applicant = django_user_model.objects.create_user("doanhnghiep-slip", password="pw-test-1234")
    Submission.objects.create(organisation=organisation, created_by=applicant, procedure="bulletin",
                              agency=case.agency, state=Submission.State.ACCEPTED, submitted_at=case.received_at,
                              case=case)
    text = docx_text(slips.receipt_issue(case_id=case.pk).file.open("rb").read())
    assert "Cổng dịch vụ công trực tuyến" in text
    assert "NGƯỜI NỘP HỒ SƠ" not in text and "NGƯỜI TIẾP NHẬN HỒ SƠ" in text
    counter = application_received(officer, "printing_licence")
    counter_text = docx_text(slips.receipt_issue(case_id=counter.pk).file.open("rb").read())
    assert "Cổng dịch vụ công trực tuyến" not in counter_text and "NGƯỜI NỘP HỒ SƠ" in counter_text
