"""A campaign of the seed's kind, through the API and the real worker: 15 print shops and 2 photocopy shops are
planned, announced (decision 01/QĐ-STTTT), visited (findings in batches, photos), closed with 14 compliant, 2
reminders and 1 violation (record → sanction → follow-up), concluded and closed. The worker renders the visit
minutes, the violation record and the conclusion; running the renderers again changes nothing."""

import uuid

import pytest
from django.utils import timezone

from cases.models import CaseEvent
from inspections import services, tasks
from inspections.models import Campaign, Document, Finding, Photo
from licensing.models import PrintFacility
from worker.models import OutboxMessage

from .conftest import wait_for
from .factories import UserFactory
from .support_concurrency import token_client, worker_log
from .support_inspections import (
    checklists_load,
    docx_category,
    docx_text,
    image_bytes,
    registry_agency,
    upload,
)

API = "/api/v1/inspections/"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def findings_for(target: dict, items: list[dict], *, shop_kind: str, violations: dict[str, str]) -> list[dict]:
    """A visit's answers: photocopy shops have no printing licence or print equipment to check."""
    now = timezone.now().isoformat()
    not_for_photocopy = {"licence", "equipment_declared", "register_book", "order_documents", "manager_training"}
    answers = []
    for item in items:
        if shop_kind == "photocopy_shop" and item["code"] in not_for_photocopy:
            result, note = "not_applicable", ""
        elif item["code"] in violations:
            result, note = "violation", violations[item["code"]]
        elif item["code"] == "photocopy_declared" and shop_kind == "print_shop":
            result, note = "not_applicable", ""
        else:
            result, note = "compliant", ""
        answers.append({"uuid": str(uuid.uuid4()), "target": target["id"], "item": item["id"], "result": result,
                        "note": note, "latitude": target["establishment"]["latitude"],
                        "longitude": target["establishment"]["longitude"], "accuracy": 12.0, "device_time": now})
    return answers


@pytest.mark.django_db(transaction=True)
def test_a_printing_campaign_from_plan_to_closed_documents_by_the_worker(celery_worker, lead, inspector, head):
    inspector2 = UserFactory(roles=["inspector"], first_name="Trần", last_name="Thị Hoa")
    lead_client, head_client = token_client(lead), token_client(head)
    clients = {inspector.pk: token_client(inspector), inspector2.pk: token_client(inspector2)}

    # The registry: 15 print shops (one known from its licence) and 2 photocopy shops.
    licensed = PrintFacility.objects.create(agency=registry_agency("print_shop"), name="Công ty TNHH In Hoàng Long",
                                            address="Số 5 Lý Bôn, TP Thái Bình")
    establishments = []
    for n in range(1, 18):
        kind = "print_shop" if n <= 15 else "photocopy_shop"
        name = licensed.name if n == 1 else (f"Cơ sở in số {n}" if kind == "print_shop" else f"Photocopy Minh Đức {n}")
        establishments.append(ok(lead_client.post(f"{API}establishments/", {
            "kind": kind, "name": name, "address": f"Số {n} đường Trần Hưng Đạo, TP Thái Bình",
            "latitude": f"20.44{n:02d}00", "longitude": f"106.33{n:02d}00", "representative": f"Ông Nguyễn Văn {n}",
            "print_facility": licensed.pk if n == 1 else None}, format="json"), 201))

    # Planning: the lead, two inspectors, each visit assigned to one of them.
    today = timezone.localdate()
    campaign = ok(lead_client.post(f"{API}campaigns/", {
        "type": "printing", "title": "Kiểm tra hoạt động in, photocopy trên địa bàn TP Thái Bình",
        "legal_basis": "Luật Xuất bản 2012; Nghị định 60/2014/NĐ-CP; Nghị định 25/2018/NĐ-CP",
        "scope": "15 cơ sở in và 2 cơ sở dịch vụ photocopy trên địa bàn TP Thái Bình",
        "period_start": today.isoformat(), "period_end": today.isoformat(), "lead": lead.pk,
        "members": [inspector.pk, inspector2.pk],
        "targets": [{"establishment": e["id"], "inspectors": [inspector.pk if i < 9 else inspector2.pk],
                     "planned_on": today.isoformat()} for i, e in enumerate(establishments)],
    }, format="json"), 201)
    campaign_url = f"{API}campaigns/{campaign['id']}/"
    assert len(campaign["targets"]) == 17

    def step(action, note="", client=lead_client):
        version = ok(client.get(campaign_url))["version"]
        return ok(client.post(f"{campaign_url}transitions/", {"action": action, "version": version, "note": note},
                              format="json"))

    announced = step("announce")
    assert announced["decision_number_text"] == "01/QĐ-SVHTTDL"
    step("start_fieldwork")

    # Field work: each inspector syncs their visits in batches, then the photos the checklist asks for.
    detail = ok(lead_client.get(campaign_url))
    items = detail["checklist"]["items"]
    photo_items = {i["id"] for i in items if i["photo_required"]}
    targets = sorted(detail["targets"], key=lambda t: t["establishment"]["id"])
    violations_at = {
        targets[3]["id"]: {"register_book": "Sổ quản lý ấn phẩm nhận in ghi chép chưa đầy đủ"},
        targets[16]["id"]: {"photocopy_declared": "Chưa khai báo hoạt động photocopy với Sở"},
        targets[7]["id"]: {"licence": "Hoạt động in khi chưa đăng ký với Sở",
                           "no_unlawful_products": "In 2.000 tờ lịch không có giấy phép xuất bản"},
    }
    photos_sent = 0
    for target in targets:
        client = clients[target["inspectors"][0]["id"]]
        answers = findings_for(target, items, shop_kind=target["establishment"]["kind"],
                               violations=violations_at.get(target["id"], {}))
        results = ok(client.post(f"{API}findings/batch/", {"findings": answers}, format="json"))["results"]
        assert {r["status"] for r in results} == {201}
        for answer in answers:
            if answer["item"] in photo_items and answer["result"] != "not_applicable":
                ok(client.post(f"{API}photos/", {
                    "uuid": str(uuid.uuid4()), "finding": answer["uuid"],
                    "file": upload(image_bytes(size=(640, 480), color=(photos_sent % 255, 80, 120)))},
                    format="multipart"), 201)
                photos_sent += 1
        # A tablet that lost the answers resends the whole visit: nothing doubles.
        if target is targets[0]:
            again = ok(client.post(f"{API}findings/batch/", {"findings": answers}, format="json"))["results"]
            assert {r["status"] for r in again} == {200}
    assert Finding.objects.count() == 17 * len(items)
    assert Photo.objects.count() == photos_sent

    # Outcomes: 14 compliant, 2 reminders, 1 violation with its record.
    for target in targets:
        client = clients[target["inspectors"][0]["id"]]
        url = f"{API}targets/{target['id']}/outcome/"
        if target["id"] == targets[7]["id"]:
            outcome = ok(client.post(url, {"outcome": "violation", "violation_description":
                                           "Hoạt động in khi chưa đăng ký với Sở; in 2.000 tờ lịch không có giấy phép "
                                           "xuất bản."}, format="json"))
        elif target["id"] in violations_at:
            outcome = ok(client.post(url, {"outcome": "reminder",
                                           "note": next(iter(violations_at[target["id"]].values()))}, format="json"))
        else:
            outcome = ok(client.post(url, {"outcome": "compliant"}, format="json"))
        assert outcome["outcome"] in {"compliant", "reminder", "violation"}
    violation = ok(lead_client.get(f"{API}violations/?campaign={campaign['id']}"))["results"][0]
    assert violation["number_text"] == "01/BB-VPHC"
    assert violation["establishment"]["name"] == "Cơ sở in số 8"

    # Sanction, follow-up of the correction; conclusion; closed.
    sanction = ok(head_client.post(f"{API}sanctions/{violation['sanction']['id']}/decide/", {
        "fine_vnd": 7_500_000, "remedial_measures": "Buộc tiêu hủy 2.000 tờ lịch in trái phép."}, format="json"))
    assert sanction["number_text"] == "01/QĐ-XPVPHC" and sanction["decided_late"] is False
    follow_up = ok(lead_client.post(f"{API}follow-ups/", {
        "violation": violation["id"], "correction_due_on": today.isoformat(),
        "note": "Kiểm tra việc tiêu hủy và đăng ký hoạt động"}, format="json"), 201)
    step("close_findings")
    conclusion = ("Các cơ sở in, photocopy cơ bản chấp hành quy định về hoạt động in.\n"
                  "Yêu cầu Cơ sở in số 8 thực hiện ngay việc đăng ký hoạt động với Sở.")
    concluded = step("conclude", note=conclusion, client=head_client)  # the head concludes and signs
    assert concluded["conclusion"] == conclusion and concluded["state"] == "concluded"
    ok(clients[inspector.pk].post(f"{API}follow-ups/{follow_up['id']}/done/",
                                  {"done_note": "Đã tiêu hủy, có biên bản"}, format="json"))
    assert step("close")["state"] == "closed"

    # The worker: a thumbnail per photo, 17 visit minutes, 1 violation record, 1 conclusion.
    assert photos_sent == 15 * 3 + 2 * 2  # print shops: 3 items need a photo; photocopy shops: 2 of them apply
    wait_for(lambda: Document.objects.count() == 21 and not Photo.objects.filter(thumbnail="").exists(),
             timeout=60, message="the worker to render the documents and thumbnails")
    wait_for(lambda: not OutboxMessage.objects.filter(task_name__startswith="inspections.",
                                                      done_at__isnull=True).exists(),
             timeout=30, message="every inspections task marked done")
    assert " raised" not in worker_log(celery_worker)
    documents = ok(clients[inspector2.pk].get(f"{API}documents/?campaign={campaign['id']}&page_size=50"))
    kinds = sorted(d["kind"] for d in documents["results"])
    # The decision to inspect (made on announce) and the sanction decision are documents too (issue 17).
    assert kinds == ["conclusion", "decision", "sanction_decision", "violation_record"] + ["visit_minutes"] * 17

    def download(kind, target_id=None):
        [document] = [d for d in documents["results"] if d["kind"] == kind and (target_id is None
                                                                                or d["target"] == target_id)]
        response = clients[inspector2.pk].get(document["download_url"])
        assert response.status_code == 200 and response["Content-Type"] == DOCX
        return b"".join(response.streaming_content)

    stored = Campaign.objects.get(pk=campaign["id"])
    conclusion_docx = download("conclusion")
    text = docx_text(conclusion_docx)
    assert docx_category(conclusion_docx) == "kết luận kiểm tra"
    assert "KẾT LUẬN KIỂM TRA" in text
    assert "Căn cứ Quyết định số 01/QĐ-SVHTTDL" in text
    assert "Đã kiểm tra 17/17 cơ sở: 14 cơ sở chấp hành tốt, 2 cơ sở bị nhắc nhở, 1 cơ sở vi phạm" in text
    assert "1 quyết định xử phạt vi phạm hành chính, tổng số tiền phạt 7.500.000 đồng" in text
    assert "Biên bản vi phạm hành chính số 01/BB-VPHC" in text and "Quyết định xử phạt số 01/QĐ-XPVPHC" in text
    assert all(e["name"] in text for e in establishments)
    assert "Yêu cầu Cơ sở in số 8 thực hiện ngay việc đăng ký hoạt động với Sở." in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[lines.index("GIÁM ĐỐC") + 1] == head.get_full_name()  # the signature block

    record = docx_text(download("violation_record", targets[7]["id"]))
    assert "BIÊN BẢN VI PHẠM HÀNH CHÍNH" in record and "Số: 01/BB-VPHC" in record
    assert f"Căn cứ {stored.checklist.sanction_basis};" in record
    assert "In 2.000 tờ lịch không có giấy phép xuất bản" in record

    minutes = docx_text(download("visit_minutes", targets[3]["id"]))
    assert "BIÊN BẢN KIỂM TRA" in minutes and "Cơ sở in số 4" in minutes
    assert "Vi phạm. Sổ quản lý ấn phẩm nhận in ghi chép chưa đầy đủ (kèm 1 ảnh)" in minutes
    assert "Kết luận tại cơ sở: Nhắc nhở: Sổ quản lý ấn phẩm nhận in ghi chép chưa đầy đủ" in minutes
    photocopy_minutes = docx_text(download("visit_minutes", targets[15]["id"]))
    assert "Không áp dụng" in photocopy_minutes and "Chấp hành tốt các quy định" in photocopy_minutes

    # Run every renderer again, as a second delivery would: nothing new.
    case = stored.case
    events_before = case.events.filter(kind=CaseEvent.Kind.DOCUMENT).count()
    for target in targets:
        tasks.visit_minutes_render(target_id=target["id"])
    tasks.violation_record_render(violation_id=violation["id"])
    tasks.conclusion_render(campaign_id=campaign["id"])
    assert services.conclusion_issue(campaign_id=campaign["id"]) is None
    assert Document.objects.count() == 21  # with the decision to inspect and the sanction decision
    assert case.events.filter(kind=CaseEvent.Kind.DOCUMENT).count() == events_before
    assert ok(lead_client.get(f"{API}establishments/{establishments[0]['id']}/"))["print_facility"] == licensed.pk
