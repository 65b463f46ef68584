"""Each of the six licensing procedures, end to end through the API, on PostgreSQL with a real Celery worker.

Receipt (due date on Vietnam's calendar) → intake by the worker (least-loaded officer) → required files →
review → supplement (clock paused, dossier changed, due date recomputed) → proposal → the head's grant →
the numbered DOCX and the permit, dated when they are issued → the applicant is emailed at each step.
Then the other endings: refusal with written reasons (an official letter), withdrawal, an incomplete dossier, an
apology with a new appointment date, and the revocation of an issued permit.

The test process travels in time (time-machine) so that receipts, supplements, decisions and issues fall on real
calendar dates (Tết 2020, the make-up Saturday 04/05/2019); the worker runs in real time and takes every date
it needs from the database. A result is dated the moment it is issued, so in the granted scenarios the test
issues it itself, a minute after the decision, with the task the worker runs (`results_issued_here`).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from agencies.models import Agency
from cases import services as case_services
from cases.models import Case, CaseEvent, Sequence
from licensing import tasks as licensing_tasks
from licensing.models import Dossier, IssuedDocument, Notification, Permit
from licensing.procedures import PROCEDURES
from worker.models import OutboxMessage

from .conftest import wait_for
from .factories import case_make
from .support_concurrency import token_client
from .support_licensing import (
    HCM,
    REQUIRED_FILE,
    SERIES,
    application_body,
    date_line_expected,
    docx_lines,
    dossier,
    download,
    required_upload,
    upload,
)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def vn_time(moment: datetime) -> str:
    return timezone.localtime(moment, HCM).strftime("%H giờ %M ngày %d/%m/%Y")


@dataclass(frozen=True)
class Scenario:
    procedure: str
    received_at: datetime
    due_at: datetime  # as computed at receipt
    supplement_requested_at: datetime
    supplement_received_at: datetime
    due_after_supplement: datetime  # recomputed when the clock resumes
    decided_at: datetime
    date_line: str  # the day the result is issued (a minute after the decision)
    number: str  # GP and VB series, each restarting at 01 in each year of issue
    summary: str  # the case's summary (trích yếu) after the supplement: the permit's title
    changes: dict  # what the applicant's supplement changes in the dossier
    document_lines: list[str] = field(default_factory=list)  # "Label: value" lines of the DOCX body
    stale_lines: list[str] = field(default_factory=list)  # what the supplement replaced: not in the DOCX

    @property
    def issued_at(self) -> datetime:
        """When the result is written: it is dated, numbered and registered then."""
        return self.decided_at + timedelta(minutes=1)


# One worker serves the six (it takes seconds to start), in the order of their decisions, each issued a minute
# after its decision, so the numbers run per series and year of issue: VB 2019: 01 print_registration,
# 02 press_conference; GP 2019: 01 publication_import; GP 2020: 01 bulletin, 02 noncommercial_publication,
# 03 printing_licence.
SCENARIOS = [
    Scenario(
        # 12 hours from receipt; the supplement took 2 of them off the clock.
        "press_conference",
        received_at=local(2019, 5, 6, 8, 0), due_at=local(2019, 5, 6, 20, 0),
        supplement_requested_at=local(2019, 5, 6, 8, 30), supplement_received_at=local(2019, 5, 6, 10, 30),
        due_after_supplement=local(2019, 5, 6, 22, 0),
        decided_at=local(2019, 5, 6, 14, 0), date_line="Thái Bình, ngày 06 tháng 5 năm 2019",
        number="02/VB-STTTT", summary="Thông tin về Hội chợ nông sản an toàn tỉnh Thái Bình năm 2019",
        changes={"venue": "Phòng họp tầng 3, Trung tâm Hội nghị tỉnh, số 2 Hai Bà Trưng, TP Thái Bình",
                 "expected_press": ["Báo Thái Bình", "Đài Phát thanh và Truyền hình Thái Bình", "Báo Nhân Dân"]},
        document_lines=["Địa điểm: Phòng họp tầng 3, Trung tâm Hội nghị tỉnh, số 2 Hai Bà Trưng, TP Thái Bình",
                        "Thời gian họp báo: 09 giờ 00 ngày 08/05/2019",
                        "Cơ quan báo chí dự kiến tham dự: Báo Thái Bình; Đài Phát thanh và Truyền hình Thái Bình; "
                        "Báo Nhân Dân",
                        "Người chủ trì: Ông Trần Văn Hùng, Chủ tịch Hội Nông dân tỉnh"],
        stale_lines=["Địa điểm: Hội trường Hội Nông dân tỉnh, số 8 Lê Lợi, TP Thái Bình"],
    ),
    Scenario(
        # 30 calendar days end on 01/01/2020, New Year's Day: the next working day. One day used before the
        # supplement, 29 left from 10/12.
        "bulletin",
        received_at=local(2019, 12, 2, 9, 0), due_at=local(2020, 1, 2, 17, 0),
        supplement_requested_at=local(2019, 12, 3, 10, 0), supplement_received_at=local(2019, 12, 10, 9, 0),
        due_after_supplement=local(2020, 1, 8, 17, 0),
        decided_at=local(2020, 1, 6, 10, 0), date_line="Thái Bình, ngày 06 tháng 01 năm 2020",
        number="01/GP-STTTT", summary="Bản tin Đại học Thái Bình",
        changes={"pages": 32, "copies": 800},
        document_lines=["Tên bản tin: Bản tin Đại học Thái Bình", "Kỳ hạn xuất bản: 03 tháng/kỳ", "Số trang: 32",
                        "Số lượng bản mỗi kỳ: 800", "Nơi in: Công ty Cổ phần In Thái Bình"],
        stale_lines=["Số trang: 24", "Số lượng bản mỗi kỳ: 500"],
    ),
    Scenario(
        # 15 working days skip Tết (23–29/01/2020): 17/02/2020. The supplement came back on 03/02: 15 again.
        "printing_licence",
        received_at=local(2020, 1, 20, 8, 30), due_at=local(2020, 2, 17, 17, 0),
        supplement_requested_at=local(2020, 1, 20, 10, 0), supplement_received_at=local(2020, 2, 3, 9, 0),
        due_after_supplement=local(2020, 2, 24, 17, 0),
        decided_at=local(2020, 2, 10, 15, 0), date_line="Thái Bình, ngày 10 tháng 02 năm 2020",
        number="03/GP-STTTT", summary="Công ty TNHH In Hoàng Long",
        changes={"equipment": [{"name": "Máy in offset Heidelberg SM 74", "quantity": 2},
                               {"name": "Máy cắt giấy Polar 115", "quantity": 1}]},
        document_lines=["Thiết bị: Máy in offset Heidelberg SM 74 (2); Máy cắt giấy Polar 115 (1)",
                        "Địa chỉ: Lô C5, Khu công nghiệp Phúc Khánh, TP Thái Bình", "Chủ cơ sở: Bà Phạm Thị Lan"],
        stale_lines=["Thiết bị: Máy in offset Heidelberg SM 74 (2)"],
    ),
    Scenario(
        # 3 working days from Friday 26/04/2019: 29/04–01/05 are off, Saturday 04/05/2019 is a make-up working
        # day. Back on 02/05: 03/05, 04/05, 06/05.
        "print_registration",
        received_at=local(2019, 4, 26, 14, 0), due_at=local(2019, 5, 4, 17, 0),
        supplement_requested_at=local(2019, 4, 26, 15, 0), supplement_received_at=local(2019, 5, 2, 8, 0),
        due_after_supplement=local(2019, 5, 6, 17, 0),
        decided_at=local(2019, 5, 3, 9, 30), date_line="Thái Bình, ngày 03 tháng 5 năm 2019",
        number="01/VB-STTTT", summary="Cơ sở photocopy Minh Khai",
        changes={"products": "Photocopy tài liệu, in danh thiếp, in thẻ nhựa", "owner": "Bà Nguyễn Thị Hoa"},
        document_lines=["Sản phẩm: Photocopy tài liệu, in danh thiếp, in thẻ nhựa", "Chủ cơ sở: Bà Nguyễn Thị Hoa",
                        "Thiết bị: Máy photocopy Ricoh MP 6055 (3)"],
        stale_lines=["Chủ cơ sở: Ông Đỗ Minh Khai", "Sản phẩm: Photocopy tài liệu, in danh thiếp"],
    ),
    Scenario(
        # 15 calendar days end on Saturday 25/01/2020, in Tết: 30/01. Three days used, 12 left from 20/01 end
        # on Saturday 01/02: Monday 03/02.
        "noncommercial_publication",
        received_at=local(2020, 1, 10, 9, 0), due_at=local(2020, 1, 30, 17, 0),
        supplement_requested_at=local(2020, 1, 13, 9, 0), supplement_received_at=local(2020, 1, 20, 14, 0),
        due_after_supplement=local(2020, 2, 3, 17, 0),
        decided_at=local(2020, 1, 22, 10, 0), date_line="Thái Bình, ngày 22 tháng 01 năm 2020",
        number="02/GP-STTTT", summary="Cẩm nang phòng, chống dịch bệnh mùa đông xuân năm 2020",
        changes={"title": "Cẩm nang phòng, chống dịch bệnh mùa đông xuân năm 2020", "copies": 3000},
        document_lines=["Tiêu đề: Cẩm nang phòng, chống dịch bệnh mùa đông xuân năm 2020", "Số lượng bản in: 3000",
                        "Số trang: 48", "Tác giả: Trung tâm Kiểm soát bệnh tật tỉnh Thái Bình"],
        stale_lines=["Tiêu đề: Cẩm nang phòng chống dịch bệnh mùa đông xuân", "Số lượng bản in: 2000",
                     "Cẩm nang phòng chống dịch bệnh mùa đông xuân"],
    ),
    Scenario(
        # 15 calendar days end on Saturday 30/11/2019: Monday 02/12. 12 left from 25/11: Monday 09/12.
        "publication_import",
        received_at=local(2019, 11, 15, 10, 0), due_at=local(2019, 12, 2, 17, 0),
        supplement_requested_at=local(2019, 11, 18, 9, 0), supplement_received_at=local(2019, 11, 25, 9, 0),
        due_after_supplement=local(2019, 12, 9, 17, 0),
        decided_at=local(2019, 11, 28, 16, 0), date_line="Thái Bình, ngày 28 tháng 11 năm 2019",
        number="01/GP-STTTT", summary="Gray's Anatomy for Students, Harrison's Principles of Internal Medicine",
        changes={"titles": [{"title": "Gray's Anatomy for Students", "quantity": 20, "origin": "Hoa Kỳ"},
                            {"title": "Harrison's Principles of Internal Medicine", "quantity": 10,
                             "origin": "Hoa Kỳ"}]},
        document_lines=["Danh mục xuất bản phẩm: Gray's Anatomy for Students (20 bản, xuất xứ Hoa Kỳ); "
                        "Harrison's Principles of Internal Medicine (10 bản, xuất xứ Hoa Kỳ)",
                        "Mục đích: Phục vụ giảng dạy và nghiên cứu tại thư viện nhà trường"],
        stale_lines=["Danh mục xuất bản phẩm: Gray's Anatomy for Students (20 bản, xuất xứ Hoa Kỳ)",
                     "Gray's Anatomy for Students"],
    ),
]


# The legal bases, cited in full, the department's mandate first (cases.LegalInstrument, migration 0009).
MANDATE = ("Căn cứ Thông tư liên tịch số 06/2016/TTLT-BTTTT-BNV ngày 10 tháng 3 năm 2016 của Bộ Thông tin và "
           "Truyền thông và Bộ Nội vụ hướng dẫn chức năng, nhiệm vụ, quyền hạn và cơ cấu tổ chức của Sở Thông tin "
           "và Truyền thông thuộc Ủy ban nhân dân tỉnh, thành phố trực thuộc Trung ương;")
PRESS_LAW = ["Căn cứ Luật Báo chí số 103/2016/QH13 ngày 05 tháng 4 năm 2016;"]
PRINTING = ["Căn cứ Nghị định số 60/2014/NĐ-CP ngày 19 tháng 6 năm 2014 của Chính phủ quy định về hoạt động in;",
            "Căn cứ Nghị định số 25/2018/NĐ-CP ngày 28 tháng 02 năm 2018 của Chính phủ sửa đổi, bổ sung một số điều "
            "của Nghị định số 60/2014/NĐ-CP ngày 19 tháng 6 năm 2014 của Chính phủ quy định về hoạt động in;"]
PUBLISHING = ["Căn cứ Luật Xuất bản số 19/2012/QH13 ngày 20 tháng 11 năm 2012;",
              "Căn cứ Nghị định số 195/2013/NĐ-CP ngày 21 tháng 11 năm 2013 của Chính phủ quy định chi tiết một số "
              "điều và biện pháp thi hành Luật Xuất bản;"]
LEGAL_BASES = {"press_conference": PRESS_LAW, "bulletin": PRESS_LAW, "printing_licence": PRINTING,
               "print_registration": PRINTING, "noncommercial_publication": PUBLISHING,
               "publication_import": PUBLISHING}


# --- Helpers -----------------------------------------------------------------------------------------------


@pytest.fixture
def results_issued_here(monkeypatch):
    """The worker gets every message but the results' issue. A result is dated when it is issued and the worker's
    clock is the real one: the test issues each result itself, under the scenario's clock, with the worker's task."""
    import worker.outbox

    dispatch = worker.outbox.outbox_dispatch

    def dispatch_but_results(*, message_id: int, task_name: str) -> bool:
        return False if task_name == "licensing.result_issue" else dispatch(message_id=message_id,
                                                                             task_name=task_name)

    monkeypatch.setattr(worker.outbox, "outbox_dispatch", dispatch_but_results)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json()


def act(client, case_id: int, action: str, version: int, note: str = "", status: int = 200, **extra):
    body = {"action": action, "version": version, "note": note, **extra}
    return ok(client.post(f"/api/v1/cases/{case_id}/transitions/", body, format="json"), status)


def application(client, case_id: int) -> dict:
    return ok(client.get(f"/api/v1/licensing/applications/{case_id}/"))


def intake_done(case_id: int) -> Case:
    return wait_for(lambda: Case.objects.filter(pk=case_id, intake_completed_at__isnull=False).first(),
                    message=f"the worker's intake of case {case_id}")


def notifications_sent(case_id: int, keys: set[str]) -> dict[str, Notification]:
    """Wait until the worker has sent exactly these emails of the case; return them by key prefix."""

    def sent():
        rows = list(Notification.objects.filter(case_id=case_id))
        if {row.key.split(":")[0] for row in rows} == keys and all(row.sent_at for row in rows):
            return {row.key.split(":")[0]: row for row in rows}
        return None

    return wait_for(sent, message=f"notifications {sorted(keys)} of case {case_id} to be sent")


def timeline(client, case_id: int) -> list[dict]:
    return application(client, case_id)["timeline"]


def officers_loaded(procedure: str, *, officer, officer2, head) -> list[int]:
    """`officer` gets one open case of the procedure; `officer2` none open (one withdrawn) but two open cases of
    another procedure: counting the procedure's open cases, officer2 is the least loaded. Returns the open ones."""
    other = "bulletin" if procedure == "press_conference" else "press_conference"
    loads = []
    for code, assignee in [(procedure, officer), (other, officer2), (other, officer2), (procedure, officer2)]:
        case = case_make(actor=officer, type_code=code, subject_name="Hồ sơ đang xử lý")
        case_services.case_assign(case_id=case.pk, actor=head, assignee=assignee)
        loads.append(case.pk)
    case_services.case_transition(case_id=loads.pop(), actor=officer, action="withdraw",
                                  note="Tổ chức có văn bản xin rút hồ sơ.")
    return loads


def officers_unloaded(case_ids: list[int], *, officer) -> None:
    for case_id in case_ids:
        case_services.case_transition(case_id=case_id, actor=officer, action="withdraw", note="Rút hồ sơ.")


# --- Each procedure, granted --------------------------------------------------------------------------------


def granted_end_to_end(scenario: Scenario, *, officer, officer2, head) -> None:
    procedure, series, number = scenario.procedure, SERIES[scenario.procedure], scenario.number
    spec = PROCEDURES[procedure]
    officer_api, head_api = token_client(officer), token_client(head)
    loads = officers_loaded(procedure, officer=officer, officer2=officer2, head=head)

    with time_machine.travel(scenario.received_at, tick=False) as clock:
        # Receipt: the due date on Vietnam's calendar.
        body = application_body(procedure, received_at=scenario.received_at)
        created = ok(officer_api.post("/api/v1/licensing/applications/", body, format="json"), 201)
        case_id = created["id"]
        assert created["type"] == procedure
        assert created["state"] == "received"
        assert when(created["received_at"]) == scenario.received_at
        assert when(created["due_at"]) == scenario.due_at
        assert created["subject_name"] == body["organisation"]["name"]
        assert created["dossier"]["fields"] == body["fields"]
        assert created["dossier"]["organisation"]["tax_code"] == body["organisation"]["tax_code"]

        # Intake by the worker: the officer with the fewest open cases of this procedure.
        intake_done(case_id)
        received = application(officer_api, case_id)
        assert received["assignee"]["id"] == officer2.pk
        required = [kind for kind, _label in spec.required_files]
        assert received["dossier"]["complete"] is (not required)
        assert received["dossier"]["missing"] == required

        # The required files, real bytes, with their kind; the press conference has none, an invitation is extra.
        kind, file = required_upload(procedure) if REQUIRED_FILE[procedure] else ("other", upload("other", "png"))
        attached = ok(officer_api.post(f"/api/v1/cases/{case_id}/attachments/",
                                       {"file": file, "kind": kind, "description": "Bản chụp kèm hồ sơ"},
                                       format="multipart"), 201)
        assert attached["kind"] == kind
        assert attached["content_type"] == {"pdf": "application/pdf", "png": "image/png", "docx": DOCX_TYPE}[
            file.name.rsplit(".", 1)[1]]
        complete = application(officer_api, case_id)
        assert (complete["dossier"]["complete"], complete["dossier"]["missing"]) == (True, [])

        # Review, and a supplement: the clock pauses, the dossier changes, the due date is recomputed.
        version = act(officer_api, case_id, "start_review", complete["version"])["version"]
        clock.move_to(scenario.supplement_requested_at)
        paused = act(officer_api, case_id, "request_supplement", version,
                     note="Đề nghị bổ sung, chỉnh sửa nội dung hồ sơ theo hướng dẫn của Sở.")
        assert paused["state"] == "supplement_requested"
        assert when(paused["paused_at"]) == scenario.supplement_requested_at
        clock.move_to(scenario.supplement_received_at)
        supplemented = dossier(procedure, **scenario.changes)
        stale = ok(officer_api.put(f"/api/v1/licensing/applications/{case_id}/dossier/",
                                   {"fields": supplemented, "version": version}, format="json"), 409)
        assert stale["code"] == "stale_version"
        updated = ok(officer_api.put(f"/api/v1/licensing/applications/{case_id}/dossier/",
                                     {"fields": supplemented, "version": paused["version"]}, format="json"))
        assert updated["dossier"]["fields"] == supplemented
        assert updated["version"] == paused["version"] + 1
        assert updated["summary"] == scenario.summary
        changed = [e for e in updated["timeline"] if e["kind"] == "dossier" and e["actor"]]
        assert [sorted(e["after"]) for e in changed] == [sorted(scenario.changes)]
        resumed = act(officer_api, case_id, "receive_supplement", updated["version"])
        assert resumed["state"] == "in_review" and resumed["paused_at"] is None
        assert when(resumed["due_at"]) == scenario.due_after_supplement
        [recomputed] = [e for e in resumed["timeline"] if e["kind"] == "due_date"]
        assert recomputed["action"] == "receive_supplement"
        assert when(recomputed["before"]["due_at"]) == scenario.due_at
        assert when(recomputed["after"]["due_at"]) == scenario.due_after_supplement

        proposed = act(officer_api, case_id, "propose_grant", resumed["version"])
        assert (proposed["state"], proposed["proposal"]) == ("proposed", "grant")

        # The head grants; a minute later the result is numbered and issued, by the task the worker runs.
        clock.move_to(scenario.decided_at)
        approved = act(head_api, case_id, "approve", proposed["version"])
        assert approved["state"] == "approved"
        assert when(approved["decided_at"]) == scenario.decided_at
        clock.move_to(scenario.issued_at)
        message = OutboxMessage.objects.get(task_name="licensing.result_issue", kwargs__case_id=case_id,
                                            done_at__isnull=True)
        licensing_tasks.result_issue(case_id=case_id, outbox_id=message.pk)

    wait_for(lambda: Case.objects.get(pk=case_id).state == "issued", message=f"the {procedure} result")
    issued = application(head_api, case_id)
    assert issued["result_number"] == number
    assert issued["outcome"] == "granted"
    assert [e["action"] for e in issued["timeline"] if e["kind"] == "transition"] == [
        "start_review", "request_supplement", "receive_supplement", "propose_grant", "approve", "issue"]
    # The result (the receipt and the supplement slip are slips: test_receipt_slips).
    [document] = [d for d in issued["documents"] if d["kind"] in IssuedDocument.RESULT_KINDS]
    assert document["kind"] == ("permit" if series == "GP" else "approval")
    assert document["number_text"] == number
    assert document["signer_name"] == head.get_full_name()

    # The DOCX, opened as the applicant would.
    response, content = download(officer_api, document["id"])
    assert response.status_code == 200
    assert response["Content-Type"] == DOCX_TYPE
    assert f'{number.replace("/", "-")}.docx' in response["Content-Disposition"]
    lines = docx_lines(content)
    assert f"Số: {number}" in lines
    assert scenario.date_line in lines
    assert date_line_expected(scenario.issued_at) == scenario.date_line
    assert [line for line in lines if line.startswith("Căn cứ ")] == [MANDATE, *LEGAL_BASES[procedure]]
    assert spec.result_title in lines
    assert scenario.summary in lines
    holder = body["organisation"]["name"]
    assert (f"CHO PHÉP: {holder}" if series == "GP" else f"Kính gửi: {holder}") in lines
    assert head.get_full_name() in lines
    for line in scenario.document_lines:
        assert line in lines, (procedure, line, lines)
    for line in scenario.stale_lines:
        assert line not in lines, (procedure, line)

    # The permits registry: the holder, the number, the time of issue, the document.
    listed = ok(head_api.get("/api/v1/licensing/permits/", {"procedure": procedure}))
    assert listed["count"] == 1
    [permit] = listed["results"]
    assert permit["number_text"] == number
    assert permit["result_unit"] == series
    assert permit["holder"]["name"] == holder
    assert permit["holder"]["tax_code"] == body["organisation"]["tax_code"]
    assert when(permit["issued_at"]) == scenario.issued_at
    assert permit["revoked"] is False
    assert permit["document"]["id"] == document["id"]
    assert permit["case_reference"] == issued["reference"]
    assert permit["title"] == scenario.summary
    by_holder = ok(head_api.get("/api/v1/licensing/permits/", {"holder": permit["holder"]["id"]}))
    assert [p["id"] for p in by_holder["results"]] == [permit["id"]]
    if spec.holder_field == "facility":
        # Printing procedures: the permit names a print facility, listed for the inspectors.
        facilities = ok(head_api.get("/api/v1/licensing/print-facilities/"))["results"]
        [facility] = [f for f in facilities if f["id"] == permit["print_facility"]]
        assert (facility["name"], facility["address"], facility["owner"]) == (
            supplemented["facility_name"], supplemented["facility_address"], supplemented["owner"])
        assert facility["equipment"] == supplemented["equipment"]
        assert facility["products"] == supplemented["products"]
        assert facility["organisation"] == permit["holder"]["id"]
        assert Dossier.objects.get(case_id=case_id).print_facility_id == facility["id"]
    else:
        assert permit["print_facility"] is None

    # The applicant's emails: receipt (with the due date), supplement request, decision (with the number).
    sent = notifications_sent(case_id, {"received", "supplement", "decision"})
    assert {n.recipient for n in sent.values()} == {body["contact_email"]}
    assert vn_time(scenario.due_at) in sent["received"].body
    assert "chỉnh sửa nội dung hồ sơ" in sent["supplement"].body
    assert number in sent["decision"].body
    events = timeline(head_api, case_id)
    assert sorted(e["action"] for e in events if e["kind"] == "notification") == [
        "decision", "received", "supplement"]
    assert IssuedDocument.objects.filter(case_id=case_id, kind__in=IssuedDocument.RESULT_KINDS).count() == 1
    officers_unloaded(loads, officer=officer)


@pytest.mark.django_db(transaction=True)
def test_six_procedures_granted_end_to_end(celery_worker, results_issued_here, officer, officer2, head):
    for scenario in sorted(SCENARIOS, key=lambda s: s.decided_at):
        granted_end_to_end(scenario, officer=officer, officer2=officer2, head=head)

    # Two series, each numbered per calendar year of issue.
    numbers = {(p.procedure, p.number_text, timezone.localtime(p.issued_at, HCM).year)
               for p in Permit.objects.all()}
    assert numbers == {(s.procedure, s.number, s.issued_at.year) for s in SCENARIOS}
    # Each agency counts its own series (the counter's key names the agency and the symbol).
    stttt = Agency.objects.get(code="thai-binh-stttt").pk
    counters = Sequence.objects.filter(key__startswith="document:").values_list("key", "year", "last_value")
    assert sorted(counters) == [(f"document:{stttt}:GP:STTTT", 2019, 1), (f"document:{stttt}:GP:STTTT", 2020, 3),
                                (f"document:{stttt}:VB:STTTT", 2019, 2)]


# --- The other endings -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_refusal_withdrawal_incomplete_apology_and_revocation(celery_worker, officer, head, reporter):
    officer_api, head_api = token_client(officer), token_client(head)
    received = {}
    for procedure in ("printing_licence", "press_conference", "publication_import", "noncommercial_publication",
                      "bulletin"):
        body = application_body(procedure)
        if procedure == "press_conference":
            body["fields"]["event_at"] = (timezone.now() + timedelta(days=3)).isoformat()
        received[procedure] = ok(officer_api.post("/api/v1/licensing/applications/", body, format="json"), 201)
    for created in received.values():
        intake_done(created["id"])

    def fresh(procedure):
        return application(officer_api, received[procedure]["id"])

    def attach(procedure):
        kind, file = required_upload(procedure)
        ok(officer_api.post(f"/api/v1/cases/{received[procedure]['id']}/attachments/",
                            {"file": file, "kind": kind}, format="multipart"), 201)

    # Refusal: reasons are required of the officer and of the head; the official letter carries them, numbered
    # in the letters' own series (CV).
    refused_id = received["printing_licence"]["id"]
    attach("printing_licence")
    version = act(officer_api, refused_id, "start_review", fresh("printing_licence")["version"])["version"]
    for note in ("", "   "):
        problem = ok(officer_api.post(f"/api/v1/cases/{refused_id}/transitions/",
                                      {"action": "propose_refusal", "version": version, "note": note},
                                      format="json"), 400)
        assert problem["code"] == "validation" and "note" in problem["errors"]
    proposal = "Đề nghị từ chối: cơ sở chưa có mặt bằng sản xuất ổn định."
    version = act(officer_api, refused_id, "propose_refusal", version, note=proposal)["version"]
    no_reasons = ok(head_api.post(f"/api/v1/cases/{refused_id}/transitions/",
                                  {"action": "refuse", "version": version}, format="json"), 400)
    assert "note" in no_reasons["errors"]
    reasons = ("Cơ sở in chưa đáp ứng điều kiện về mặt bằng sản xuất theo Điều 12 Nghị định 60/2014/NĐ-CP; "
               "thiết bị in chưa có giấy tờ chứng minh nguồn gốc hợp pháp.")
    decided = act(head_api, refused_id, "refuse", version, note=reasons)
    assert (decided["state"], decided["outcome"], decided["outcome_reasons"]) == ("refused", "refused", reasons)

    # Withdrawal at the applicant's request, with its reason; the dossier is then closed to changes.
    withdrawn_id = received["press_conference"]["id"]
    version = fresh("press_conference")["version"]
    assert ok(officer_api.post(f"/api/v1/cases/{withdrawn_id}/transitions/",
                               {"action": "withdraw", "version": version}, format="json"), 400)["code"] == "validation"
    withdrawn = act(officer_api, withdrawn_id, "withdraw", version,
                    note="Ban tổ chức có văn bản hoãn họp báo, xin rút thông báo.")
    assert (withdrawn["state"], withdrawn["outcome"]) == ("withdrawn", "withdrawn")
    assert withdrawn["closed_at"] is not None
    closed = ok(officer_api.put(f"/api/v1/licensing/applications/{withdrawn_id}/dossier/",
                                {"fields": dossier("press_conference"), "version": withdrawn["version"]},
                                format="json"), 409)
    assert closed["code"] == "invalid_transition"

    # An incomplete dossier cannot be proposed for grant until its required file is there.
    incomplete_id = received["publication_import"]["id"]
    version = act(officer_api, incomplete_id, "start_review", fresh("publication_import")["version"])["version"]
    problem = ok(officer_api.post(f"/api/v1/cases/{incomplete_id}/transitions/",
                                  {"action": "propose_grant", "version": version}, format="json"), 409)
    assert problem["code"] == "dossier_incomplete"
    assert problem["missing"] == ["shipping_documents"]
    assert fresh("publication_import")["state"] == "in_review"
    attach("publication_import")
    assert act(officer_api, incomplete_id, "propose_grant", version)["state"] == "proposed"

    # An apology with a new appointment date: on the timeline, in a DOCX slip and in an email.
    late_id = received["noncommercial_publication"]["id"]
    before = fresh("noncommercial_publication")
    old_due = when(before["due_at"])
    new_due = timezone.localtime(old_due, HCM).replace(hour=9, minute=30) + timedelta(days=7)
    late_reason = "Tài liệu cần xin ý kiến thẩm định của Sở Y tế về nội dung chuyên môn."
    missing_date = ok(officer_api.post(f"/api/v1/cases/{late_id}/transitions/",
                                       {"action": "apologise_late", "version": before["version"],
                                        "note": late_reason}, format="json"), 400)
    assert "new_due_at" in missing_date["errors"]
    earlier = ok(officer_api.post(f"/api/v1/cases/{late_id}/transitions/",
                                  {"action": "apologise_late", "version": before["version"], "note": late_reason,
                                   "new_due_at": (old_due - timedelta(days=1)).isoformat()}, format="json"), 400)
    assert "new_due_at" in earlier["errors"]
    apologised = act(officer_api, late_id, "apologise_late", before["version"], note=late_reason,
                     new_due_at=new_due.isoformat())
    assert apologised["state"] == "received"
    assert when(apologised["due_at"]) == new_due
    [moved] = [e for e in apologised["timeline"] if e["kind"] == "due_date"]
    assert moved["action"] == "apologise_late"
    assert (when(moved["before"]["due_at"]), when(moved["after"]["due_at"])) == (old_due, new_due)
    assert moved["note"] == late_reason

    # Revocation of an issued permit, by the head, with reasons.
    revoked_id = received["bulletin"]["id"]
    attach("bulletin")
    version = act(officer_api, revoked_id, "start_review", fresh("bulletin")["version"])["version"]
    version = act(officer_api, revoked_id, "propose_grant", version)["version"]
    act(head_api, revoked_id, "approve", version)
    wait_for(lambda: Case.objects.get(pk=revoked_id).state == "issued", message="the bulletin licence")

    # The worker's documents: the refusal letter and the apology slip.
    refusal = wait_for(lambda: IssuedDocument.objects.filter(case_id=refused_id, kind="refusal").first(),
                       message="the refusal letter")
    apology = wait_for(lambda: IssuedDocument.objects.filter(case_id=late_id, kind="apology").first(),
                       message="the apology slip")

    refused = application(head_api, refused_id)
    # Decided today, by Hưng Yên's Department of Culture, Sports and Tourism (press and publishing since 2025).
    assert refused["result_number"] == "01/SVHTTDL-QLBCXB"
    assert [d["kind"] for d in refused["documents"] if d["kind"] in IssuedDocument.RESULT_KINDS] == ["refusal"]
    response, content = download(officer_api, refusal.pk)
    assert response.status_code == 200
    lines = docx_lines(content)
    assert "Số: 01/SVHTTDL-QLBCXB" in lines
    assert date_line_expected(when(refused["decided_at"])) in lines
    assert "V/v Từ chối cấp giấy phép hoạt động in" in lines
    assert "Kính gửi: Công ty TNHH In Hoàng Long" in lines
    received_on = timezone.localtime(when(refused["received_at"]), HCM).strftime("%d/%m/%Y")
    assert (f"Ngày {received_on}, Sở Văn hóa, Thể thao và Du lịch nhận được hồ sơ đề nghị cấp giấy phép hoạt động in "
            f"của Công ty TNHH In Hoàng Long ({refused['summary']}), mã hồ sơ {refused['reference']}.") in lines
    [grounds] = [line for line in lines if line.startswith("Sau khi xem xét hồ sơ, căn cứ ")]
    assert grounds.endswith(f"không chấp thuận hồ sơ nêu trên với lý do như sau: {reasons}")
    assert any(line.startswith("Trường hợp không đồng ý với nội dung trả lời này") for line in lines)
    assert not any("khác với đề xuất" in line for line in lines)  # the head agreed with the officer
    assert head.get_full_name() in lines
    assert not Permit.objects.filter(case_id=refused_id).exists()

    assert not IssuedDocument.objects.filter(case_id=withdrawn_id, kind__in=IssuedDocument.RESULT_KINDS).exists()
    assert not Permit.objects.filter(case_id=withdrawn_id).exists()

    assert apology.number_text == ""
    response, content = download(officer_api, apology.pk)
    lines = docx_lines(content)
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in lines
    assert "Kính gửi: Sở Y tế tỉnh Thái Bình" in lines
    assert f"Ngày hẹn trả kết quả mới: {vn_time(new_due)}" in lines
    assert f"Ngày hẹn trả kết quả trước đây: {vn_time(old_due)}" in lines
    assert f"Lý do chậm: {late_reason}" in lines
    assert date_line_expected(timezone.now()) in lines
    assert not any(line.startswith("Số:") for line in lines)

    # Revocation: only the head, only with reasons; the registry shows it.
    issued = application(head_api, revoked_id)
    assert issued["result_number"] == "01/GP-SVHTTDL"
    denied = ok(officer_api.post(f"/api/v1/cases/{revoked_id}/transitions/",
                                 {"action": "revoke", "version": issued["version"], "note": "Vi phạm."},
                                 format="json"), 403)
    assert denied["code"] == "permission"
    assert "note" in ok(head_api.post(f"/api/v1/cases/{revoked_id}/transitions/",
                                      {"action": "revoke", "version": issued["version"]}, format="json"),
                        400)["errors"]
    revoke_reasons = "Bản tin xuất bản sai tôn chỉ, mục đích ghi trong giấy phép (Điều 35 Luật Báo chí 2016)."
    revoked = act(head_api, revoked_id, "revoke", issued["version"], note=revoke_reasons)
    assert revoked["state"] == "revoked"
    registry = token_client(reporter)
    [entry] = ok(registry.get("/api/v1/licensing/permits/", {"revoked": "true"}))["results"]
    assert (entry["case"], entry["number_text"], entry["revoked"]) == (revoked_id, "01/GP-SVHTTDL", True)
    assert entry["revoke_reasons"] == revoke_reasons
    assert entry["revoked_at"] is not None
    assert revoked_id not in [p["case"] for p in ok(registry.get("/api/v1/licensing/permits/",
                                                                 {"revoked": "false"}))["results"]]

    # Emails: refusal decision with its reasons, apology with the new date, the grant with its number.
    refusal_mail = notifications_sent(refused_id, {"received", "decision"})["decision"]
    assert "từ chối" in refusal_mail.subject and reasons in refusal_mail.body
    apology_mail = notifications_sent(late_id, {"received", "apology"})["apology"]
    assert vn_time(new_due) in apology_mail.body and late_reason in apology_mail.body
    assert "01/GP-SVHTTDL" in notifications_sent(revoked_id, {"received", "decision"})["decision"].body
    assert "apology" in [e["action"] for e in timeline(head_api, late_id) if e["kind"] == "notification"]
    assert sorted(e["action"] for e in timeline(head_api, refused_id) if e["kind"] == "notification") == [
        "decision", "received"]
    notifications_sent(withdrawn_id, {"received"})
    assert CaseEvent.objects.filter(case_id=withdrawn_id, kind="notification", action="received").count() == 1
