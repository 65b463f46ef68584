"""The officers' pages with Django's test client: roles, Vietnamese text, queue order, actions, readable errors."""

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from cases import services as case_services
from cases.models import Case, CaseEvent, CaseType
from cases.workflow import State
from licensing import services as licensing_services
from licensing.models import Dossier, IssuedDocument, Organisation, Permit

from .factories import UserFactory, case_make

pytestmark = pytest.mark.django_db

BULLETIN = {
    "publisher": "Trường Đại học Thái Bình", "bulletin_name": "Bản tin Đại học Thái Bình",
    "purpose": "Thông tin hoạt động đào tạo", "periodicity": "3 tháng/số", "pages": 24, "copies": 500,
    "format": "19 x 27 cm", "printing_place": "Công ty TNHH In Hoàng Long", "responsible_person": "PGS.TS. Lê Văn Hòa",
}
SCHOOL = {"name": "Trường Đại học Thái Bình", "kind": "school", "email": "vanphong@tbu.example"}


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def bulletin_case(officer, *, path=(), head=None, assignee=None, with_file=True) -> Case:
    case, _created = licensing_services.application_receive(actor=officer, procedure="bulletin", fields=BULLETIN,
                                                            organisation=SCHOOL)
    if with_file:
        case_services.attachment_add(case_id=case.pk, actor=officer, kind="layout_sample",
                                     upload=SimpleUploadedFile("mau-ban-tin.png", png_bytes(), "image/png"))
    for action in path:
        by = head if action in {"approve", "refuse", "return_for_review"} else officer
        note = "Đề nghị bổ sung bản mẫu." if action in {"request_supplement", "propose_refusal"} else ""
        case_services.case_transition(case_id=case.pk, actor=by, action=action, note=note)
    if assignee is not None:
        case_services.case_assign(case_id=case.pk, actor=None, assignee=assignee)
    case.refresh_from_db()
    return case


def page(client, user, url, **kwargs):
    client.force_login(user)
    return client.get(url, **kwargs)


def text(response) -> str:
    return response.content.decode()


def row_of(html: str, reference: str) -> str:
    """The <tr> of the queue row holding `reference`."""
    match = re.search(r"<tr class=\"([^\"]*)\">(?:(?!</tr>).)*?" + re.escape(reference) + r"(?:(?!</tr>).)*</tr>",
                      html, re.S)
    assert match, f"no row for {reference}"
    return match.group(0)


# --- Access --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["licensing:queue", "licensing:receive", "licensing:approvals", "licensing:permits"])
def test_signed_out_users_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_signed_out_case_page_and_actions_send_to_login_and_change_nothing(client, officer):
    case = case_make(actor=officer)
    assert client.get(reverse("licensing:case", args=[case.pk])).status_code == 302
    response = client.post(reverse("licensing:case-transition", args=[case.pk]),
                           {"action": "start_review", "version": case.version})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED


def test_each_page_renders_in_vietnamese_for_the_roles_that_use_it(client, officer, head, reporter):
    case = bulletin_case(officer)
    officer_queue = page(client, officer, reverse("licensing:queue"))
    assert officer_queue.status_code == 200
    html = text(officer_queue)
    assert "<h1>Hồ sơ của tôi</h1>" in html
    # the menu shows the officer's pages only
    assert "Tiếp nhận hồ sơ" in html and "Sổ giấy phép" in html and "Chờ phê duyệt" not in html
    assert page(client, officer, reverse("licensing:receive")).status_code == 200
    assert page(client, officer, reverse("licensing:approvals")).status_code == 403
    assert "<h1>Sổ giấy phép</h1>" in text(page(client, officer, reverse("licensing:permits")))
    detail = text(page(client, officer, reverse("licensing:case", args=[case.pk])))
    assert "Đã tiếp nhận" in detail and "Tiến trình xử lý" in detail

    head_approvals = page(client, head, reverse("licensing:approvals"))
    assert head_approvals.status_code == 200 and "<h1>Chờ phê duyệt</h1>" in text(head_approvals)

    # the reporter reads cases and the registry, and neither receives nor decides
    assert page(client, reporter, reverse("licensing:permits")).status_code == 200
    assert page(client, reporter, reverse("licensing:receive")).status_code == 403
    assert page(client, reporter, reverse("licensing:approvals")).status_code == 403
    reporter_detail = text(page(client, reporter, reverse("licensing:case", args=[case.pk])))
    assert case.reference in reporter_detail and 'data-action="' not in reporter_detail
    assert "Không có thao tác nào bạn được thực hiện" in reporter_detail


def test_inspection_roles_get_404_on_a_licensing_case_and_403_on_the_licensing_pages(client, officer, inspector,
                                                                                      lead):
    case = bulletin_case(officer)
    for user in (inspector, lead):
        not_found = page(client, user, reverse("licensing:case", args=[case.pk]))
        assert not_found.status_code == 404 and case.reference not in text(not_found)
        denied = page(client, user, reverse("licensing:queue"))
        assert denied.status_code == 403 and "Không có quyền truy cập" in text(denied)
        assert page(client, user, reverse("licensing:permits")).status_code == 403
        response = client.post(reverse("licensing:case-transition", args=[case.pk]),
                               {"action": "start_review", "version": case.version})
        assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED
    home = text(page(client, inspector, reverse("home")))
    assert "Hồ sơ của tôi" not in home and "Sổ giấy phép" not in home


# --- The queue -----------------------------------------------------------------------------------------------


def test_queue_lists_my_open_cases_overdue_first_then_by_due_date_with_marks(client, officer, officer2, head):
    now = timezone.now()
    later = case_make(actor=officer, subject_name="Cơ sở in Hồng Hà")  # printing licence: 15 days
    overdue = case_make(actor=officer, subject_name="Công ty in Quá Hạn", received_at=now - timedelta(days=40),
                        path=("start_review",))
    soon = case_make(actor=officer, type_code="press_conference", subject_name="Báo Thái Bình",
                     received_at=now - timedelta(hours=2))  # 12 hours: due in 10 hours
    paused = case_make(actor=officer, subject_name="Cơ sở in Tạm Dừng", received_at=now - timedelta(days=40),
                       path=("request_supplement",))  # past its due date, but the clock is paused
    others = case_make(actor=officer, subject_name="Hồ sơ của người khác")
    closed = case_make(actor=officer, subject_name="Hồ sơ đã rút", path=("withdraw",))
    for case in (later, overdue, soon, paused):
        case_services.case_assign(case_id=case.pk, actor=head, assignee=officer)
    case_services.case_assign(case_id=others.pk, actor=head, assignee=officer2)
    Case.objects.filter(pk=closed.pk).update(assignee=officer)  # a closed case cannot be assigned any more

    html = text(page(client, officer, reverse("licensing:queue")))
    table = html[html.index('id="my-cases"'):html.index("</table>", html.index('id="my-cases"'))]
    order = re.findall(r">([A-Z]+-\d{4}-\d{5})</a>", table)
    # the paused case's due date is past, yet its clock is stopped: not overdue, it sorts by its date
    assert order == [overdue.reference, paused.reference, soon.reference, later.reference]
    assert others.reference not in table and closed.reference not in html
    # what the officer received and a colleague now handles stays findable, in its own list
    received = html[html.index('id="received-by-me"'):]
    assert others.reference in received[:received.index("</table>")]

    overdue_row = row_of(table, overdue.reference)
    assert 'class="late"' in overdue_row and "Quá hạn" in overdue_row
    soon_row = row_of(table, soon.reference)
    assert 'class="soon"' in soon_row and "Sắp đến hạn" in soon_row
    paused_row = row_of(table, paused.reference)
    assert 'class=""' in paused_row and "Chờ bổ sung hồ sơ" in paused_row and "Quá hạn" not in paused_row
    assert "Cho phép họp báo" in soon_row and "Cấp giấy phép hoạt động in" in overdue_row
    assert timezone.localtime(overdue.received_at).strftime("%d/%m/%Y %H:%M") in overdue_row
    # every licensing case has its dossier now: the page shows its fields, and that it is late
    detail = text(client.get(reverse("licensing:case", args=[overdue.pk])))
    assert "Máy in offset Heidelberg SM 74" in detail and "Quá hạn" in detail
    assert "Hồ sơ này chưa có nội dung kê khai." not in detail
    # one received before dossiers were required (opened by the bare case engine, no dossier): its page still reads
    legacy, _ = case_services.case_create(actor=officer, case_type=CaseType.objects.get(code="printing_licence"),
                                          subject_name="Cơ sở in Cũ", received_at=now - timedelta(days=40))
    bare = text(client.get(reverse("licensing:case", args=[legacy.pk])))
    assert "Hồ sơ này chưa có nội dung kê khai." in bare and "Quá hạn" in bare


def test_head_sees_unassigned_cases_and_assigns_one_from_the_queue(client, officer, head):
    case = case_make(actor=officer, subject_name="Cơ sở in Chưa Giao")
    officer_html = text(page(client, officer, reverse("licensing:queue")))
    assert "Chưa phân công" not in officer_html
    html = text(page(client, head, reverse("licensing:queue")))
    unassigned = html[html.index('id="unassigned"'):]
    assert case.reference in unassigned
    response = client.post(reverse("licensing:case-assign", args=[case.pk]),
                           {"assignee": officer.pk, "version": case.version, "next": reverse("licensing:queue")},
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse("licensing:queue")
    assert f"Đã giao hồ sơ {case.reference} cho" in text(response)
    assert Case.objects.get(pk=case.pk).assignee == officer
    officer_html = text(page(client, officer, reverse("licensing:queue")))
    assert case.reference in officer_html


# --- The case page -------------------------------------------------------------------------------------------


def test_case_page_shows_dossier_files_documents_and_timeline_in_vietnamese(client, officer):
    case = bulletin_case(officer, assignee=officer)
    html = text(page(client, officer, reverse("licensing:case", args=[case.pk])))
    assert case.reference in html and "Cấp giấy phép xuất bản bản tin" in html
    # the procedure's field labels, translated, with their values
    assert "Tên bản tin" in html and "Bản tin Đại học Thái Bình" in html
    assert "Số trang" in html and ">24<" in html.replace("\n", "")
    assert "Trường Đại học Thái Bình" in html and "Trường học, cơ sở đào tạo" in html
    # files: the required kind is there, with its download link through the API
    attachment = case.attachments.get()
    assert f"/api/v1/cases/{case.pk}/attachments/{attachment.pk}/download/" in html
    assert "Bản mẫu trình bày bản tin" in html and "mau-ban-tin.png" in html
    assert "Hồ sơ đầy đủ" in html
    # the timeline reads in words, with local time
    assert "Hồ sơ được tiếp nhận" in html and "Tệp đính kèm" in html
    assert timezone.localtime(case.received_at).strftime("%d/%m/%Y %H:%M") in html
    download = client.get(f"/api/v1/cases/{case.pk}/attachments/{attachment.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"\x89PNG")


def test_missing_required_file_is_listed_and_upload_form_offers_the_procedures_kinds(client, officer):
    case = bulletin_case(officer, with_file=False)
    licensing_services.dossier_completeness_check(case)
    html = text(page(client, officer, reverse("licensing:case", args=[case.pk])))
    assert "Hồ sơ chưa đầy đủ" in html and "✗ còn thiếu: Bản mẫu trình bày bản tin" in html
    assert '<option value="layout_sample">Bản mẫu trình bày bản tin</option>' in html
    assert '<option value="other">' in html

    response = client.post(reverse("licensing:case-attachment", args=[case.pk]),
                           {"kind": "layout_sample", "description": "Bản mẫu số 1",
                            "file": SimpleUploadedFile("ban-mau.png", png_bytes(), "image/png")}, follow=True)
    html = text(response)
    assert "Đã đính kèm tệp “ban-mau.png”." in html
    assert Dossier.objects.get(case=case).complete is True
    assert "Hồ sơ đầy đủ" in html

    fake = client.post(reverse("licensing:case-attachment", args=[case.pk]),
                       {"kind": "other", "file": SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf")},
                       follow=True)
    assert "Chỉ chấp nhận ảnh (JPEG, PNG, WebP), tệp PDF và DOCX." in text(fake)
    assert case.attachments.count() == 1


def test_actions_shown_follow_the_users_roles_and_the_state(client, officer, head):
    received = bulletin_case(officer)
    html = text(page(client, officer, reverse("licensing:case", args=[received.pk])))
    shown = set(re.findall(r'data-action="([a-z_]+)"', html))
    assert shown == {"start_review", "request_supplement", "withdraw", "apologise_late"}
    assert "Lý do / nội dung" in html and "Ngày hẹn trả kết quả mới" in html

    proposed = bulletin_case(officer, path=("start_review", "propose_grant"))
    officer_shown = set(re.findall(r'data-action="([a-z_]+)"',
                                   text(page(client, officer, reverse("licensing:case", args=[proposed.pk])))))
    assert officer_shown == {"withdraw", "apologise_late"}
    head_html = text(page(client, head, reverse("licensing:case", args=[proposed.pk])))
    head_shown = set(re.findall(r'data-action="([a-z_]+)"', head_html))
    assert {"approve", "refuse", "return_for_review"} <= head_shown
    assert ">Cấp giấy phép</button>" in head_html and "Trình cấp phép" in head_html


def test_an_action_taken_on_the_page_moves_the_case_and_says_so(client, officer):
    case = bulletin_case(officer)
    client.force_login(officer)
    response = client.post(reverse("licensing:case-transition", args=[case.pk]),
                           {"action": "request_supplement", "version": case.version,
                            "note": "Đề nghị bổ sung bản mẫu có chữ ký."}, follow=True)
    html = text(response)
    assert response.redirect_chain[-1][0] == reverse("licensing:case", args=[case.pk])
    assert "Đã thực hiện “Yêu cầu bổ sung hồ sơ”" in html
    case.refresh_from_db()
    assert case.state == State.SUPPLEMENT_REQUESTED and case.paused_at is not None
    assert "Chờ bổ sung hồ sơ" in html and "Đề nghị bổ sung bản mẫu có chữ ký." in html


def test_apology_asks_for_the_new_appointment_and_sets_it(client, officer):
    case = bulletin_case(officer)
    new_local = timezone.localtime(case.due_at + timedelta(days=5)).replace(hour=16, minute=30, second=0,
                                                                         microsecond=0)
    client.force_login(officer)
    response = client.post(reverse("licensing:case-transition", args=[case.pk]), {
        "action": "apologise_late", "version": case.version, "note": "Chờ ý kiến cơ quan chuyên môn.",
        "new_due_at": new_local.strftime("%Y-%m-%dT%H:%M")}, follow=True)
    case.refresh_from_db()
    assert case.due_at == new_local
    assert new_local.strftime("%d/%m/%Y %H:%M") in text(response)
    missing = client.post(reverse("licensing:case-transition", args=[case.pk]), {
        "action": "apologise_late", "version": case.version, "note": "Lần nữa."}, follow=True)
    assert "Cần ngày hẹn trả kết quả mới trong tương lai." in text(missing)


def test_a_stale_version_shows_a_readable_message_keeps_the_text_and_changes_nothing(client, officer, officer2):
    case = bulletin_case(officer)
    seen_version = case.version
    # someone else moves the case on after the officer opened the page
    case_services.case_transition(case_id=case.pk, actor=officer2, action="start_review")
    before = Case.objects.get(pk=case.pk)
    events_before = before.events.count()
    client.force_login(officer)
    response = client.post(reverse("licensing:case-transition", args=[case.pk]), {
        "action": "request_supplement", "version": seen_version, "note": "Thiếu bản mẫu có dấu."}, follow=True)
    html = text(response)
    assert response.status_code == 200
    assert "Hồ sơ vừa được người khác thay đổi; hãy tải lại và thử lại." in html
    after = Case.objects.get(pk=case.pk)
    assert (after.state, after.version, after.events.count()) == (State.IN_REVIEW, before.version, events_before)
    # nothing lost: the reasons typed are back in the open form
    assert re.search(r"<details class=\"action \" open>\s*<summary>Yêu cầu bổ sung hồ sơ</summary>", html)
    assert ">Thiếu bản mẫu có dấu.</textarea>" in html


def test_refusal_without_reasons_is_refused_with_a_message(client, officer, head):
    case = bulletin_case(officer, path=("start_review", "propose_grant"))
    client.force_login(head)
    response = client.post(reverse("licensing:case-transition", args=[case.pk]),
                           {"action": "refuse", "version": case.version, "note": "   ",
                            "next": reverse("licensing:approvals")}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("licensing:approvals")
    html = text(response)
    assert "Thao tác này cần nêu rõ lý do bằng văn bản." in html
    # the refusal form comes back open on the approval queue, for the reasons to be written
    assert re.search(r'<details class="action danger" open>\s*<summary>(Đồng ý từ chối|Từ chối \(khác đề xuất\))</summary>', html)
    after = Case.objects.get(pk=case.pk)
    assert (after.state, after.decided_at, after.outcome) == (State.PROPOSED, None, "")


def test_an_action_the_role_may_not_take_is_refused_by_the_service(client, officer):
    case = bulletin_case(officer, path=("start_review", "propose_grant"))
    client.force_login(officer)
    response = client.post(reverse("licensing:case-transition", args=[case.pk]),
                           {"action": "approve", "version": case.version}, follow=True)
    assert "Vai trò của bạn không được thực hiện thao tác “Cấp giấy phép”." in text(response)
    assert Case.objects.get(pk=case.pk).state == State.PROPOSED


def test_proposing_a_grant_with_a_file_missing_names_the_missing_file(client, officer):
    case = bulletin_case(officer, path=("start_review",), with_file=False)
    client.force_login(officer)
    response = client.post(reverse("licensing:case-transition", args=[case.pk]),
                           {"action": "propose_grant", "version": case.version}, follow=True)
    assert "Hồ sơ chưa đầy đủ. Còn thiếu: Bản mẫu trình bày bản tin." in text(response)
    assert Case.objects.get(pk=case.pk).state == State.IN_REVIEW


# --- Receiving a dossier -------------------------------------------------------------------------------------


def test_receive_page_lists_procedures_then_renders_the_procedures_fields(client, officer):
    html = text(page(client, officer, reverse("licensing:receive")))
    assert "<h1>Tiếp nhận hồ sơ</h1>" in html and "Cấp giấy phép hoạt động in" in html
    html = text(client.get(reverse("licensing:receive"), {"procedure": "printing_licence"}))
    assert 'name="dossier_facility_name"' in html and 'name="dossier_equipment"' in html
    assert "Mỗi dòng một mục: thiết bị | số lượng" in html
    assert 'name="uuid"' in html


def test_receive_shows_errors_next_to_fields_and_then_receives_the_dossier(client, officer):
    client.force_login(officer)
    url = reverse("licensing:receive")
    form = {"uuid": "2b7e4a47-8a7e-4c55-9d3c-5b0c0f3f9a11", "procedure": "printing_licence",
            "org_name": "Cơ sở in Minh Phát", "org_kind": "print_facility", "org_email": "minhphat@example.vn",
            "dossier_facility_name": "Cơ sở in Minh Phát", "dossier_facility_address": "Thị trấn Diêm Điền",
            "dossier_owner": "Phạm Minh Phát", "dossier_products": "Sách, tờ rơi",
            "dossier_equipment": "Máy in offset | 0\nMáy cắt giấy"}
    bad = client.post(url, form)
    html = text(bad)
    assert bad.status_code == 200 and not Case.objects.exists()
    assert "Dòng 2: hãy nhập 2 giá trị, cách nhau bởi dấu “|”." in html
    form["dossier_equipment"] = "Máy in offset | 0"
    bad = client.post(url, form)
    html = text(bad)
    assert not Case.objects.exists()
    assert re.search(r'name="dossier_equipment".*?class="error field-error" role="alert">dòng 1: số lượng: ', html,
                     re.S)
    form["dossier_equipment"] = "Máy in offset Heidelberg | 2\nMáy cắt giấy | 1"
    response = client.post(url, form, follow=True)
    case = Case.objects.get()
    assert response.redirect_chain[-1][0] == reverse("licensing:case", args=[case.pk])
    assert f"Đã tiếp nhận hồ sơ: {case.reference}." in text(response)
    assert case.dossier.fields["equipment"] == [{"name": "Máy in offset Heidelberg", "quantity": 2},
                                                {"name": "Máy cắt giấy", "quantity": 1}]
    assert case.dossier.organisation.email == "minhphat@example.vn"
    # the same form sent twice (a double click, a reload) stores one case
    again = client.post(url, form, follow=True)
    assert Case.objects.count() == 1 and f"đã được tiếp nhận với số {case.reference}" in text(again)


def test_receive_reports_a_missing_applicant_next_to_its_field(client, officer):
    client.force_login(officer)
    response = client.post(reverse("licensing:receive"), {
        "uuid": "0e6f1c38-6f57-4b5c-a7a5-0fd0d5f7c0a2", "procedure": "publication_import", "org_kind": "other",
        "dossier_importer": "Giáo xứ Thái Bình", "dossier_purpose": "Phục vụ sinh hoạt tôn giáo",
        "dossier_titles": '[{"title": "Kinh Thánh", "quantity": 100, "origin": "Ý"}]'})
    html = text(response)
    assert not Case.objects.exists()
    assert re.search(r'name="org_name".*?class="error field-error" role="alert">Trường này là bắt buộc', html, re.S)


def test_a_press_conference_notice_is_received_with_its_local_date_and_time(client, officer):
    client.force_login(officer)
    url = reverse("licensing:receive")
    event_at = timezone.localtime() + timedelta(days=3)
    form = {"uuid": "5d0b7c8e-3f7a-4c4e-9a0e-2a1f9f7e6b10", "procedure": "press_conference",
            "org_name": "Sở Văn hóa, Thể thao và Du lịch", "org_kind": "state_agency",
            "dossier_organiser": "Sở Văn hóa, Thể thao và Du lịch", "dossier_chairperson": "Ông Trần Văn Nam",
            "dossier_event_at": (timezone.localtime() + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"),
            "dossier_venue": "Hội trường UBND tỉnh", "dossier_content": "Giới thiệu Ngày hội Văn hóa",
            "dossier_expected_press": "Báo Thái Bình\nĐài PT-TH Thái Bình"}
    too_late = text(client.post(url, form))
    assert not Case.objects.exists()
    assert re.search(r'name="dossier_event_at".*?role="alert">Thông báo phải được gửi đến ít nhất 24 giờ', too_late,
                     re.S)
    form["dossier_event_at"] = event_at.strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, form, follow=True)
    case = Case.objects.get()
    assert case.dossier.fields["expected_press"] == ["Báo Thái Bình", "Đài PT-TH Thái Bình"]
    html = text(response)
    assert "Thời gian họp báo" in html and event_at.strftime("%d/%m/%Y %H:%M") in html
    assert "<li>Đài PT-TH Thái Bình</li>" in html


# --- The approval queue ---------------------------------------------------------------------------------------


def test_approval_queue_shows_the_proposal_with_reasons_and_approves_inline(client, officer, head):
    refusal = bulletin_case(officer, path=("start_review", "propose_refusal"))
    grant = bulletin_case(officer, path=("start_review", "propose_grant"))
    not_yet = bulletin_case(officer, path=("start_review",))
    html = text(page(client, head, reverse("licensing:approvals")))
    assert refusal.reference in html and grant.reference in html and not_yet.reference not in html
    refusal_card = html[html.index(f'id="proposal-{refusal.pk}"'):]
    assert "Trình từ chối" in refusal_card and "Đề nghị bổ sung bản mẫu." in refusal_card
    assert 'data-action="approve"' in refusal_card and 'data-action="return_for_review"' in refusal_card
    assert '<span class="count">2</span>' in html

    response = client.post(reverse("licensing:case-transition", args=[grant.pk]),
                           {"action": "approve", "version": grant.version, "next": reverse("licensing:approvals")},
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse("licensing:approvals")
    assert "Đã thực hiện “Cấp giấy phép”" in text(response)
    assert Case.objects.get(pk=grant.pk).state == State.APPROVED
    assert f'id="proposal-{grant.pk}"' not in text(response)

    back = client.post(reverse("licensing:case-transition", args=[refusal.pk]), {
        "action": "return_for_review", "version": refusal.version, "note": "Xem lại lý do từ chối.",
        "next": reverse("licensing:approvals")}, follow=True)
    assert "Không có hồ sơ nào chờ bạn quyết định." in text(back)
    assert Case.objects.get(pk=refusal.pk).state == State.IN_REVIEW


# --- The permits registry -----------------------------------------------------------------------------------


def _permit(officer, *, number: int, procedure: str = "bulletin", holder: str = "Trường Đại học Thái Bình",
            issued_at=None, revoked: bool = False, title: str = "Bản tin") -> Permit:
    case = case_make(actor=officer, type_code=procedure, subject_name=holder)
    organisation, _ = Organisation.objects.get_or_create(agency=case.agency, name=holder)
    document = IssuedDocument.objects.create(case=case, kind="permit", series="GP", year=2026, number=number,
                                             number_text=f"{number:02d}/GP-STTTT", sha256="0" * 64)
    return Permit.objects.create(case=case, document=document, number_text=document.number_text,
                                 procedure=procedure, result_unit="GP", holder=organisation, title=title,
                                 issued_at=issued_at or timezone.now(),
                                 revoked_at=timezone.now() if revoked else None,
                                 revoke_reasons="Vi phạm nội dung giấy phép." if revoked else "")


def test_permits_registry_filters_by_procedure_text_status_and_dates(client, officer, reporter):
    now = timezone.now()
    _permit(officer, number=1, title="Bản tin Đại học Thái Bình", issued_at=now - timedelta(days=60))
    _permit(officer, number=2, procedure="printing_licence", holder="Công ty TNHH In Hoàng Long",
            title="Hoạt động in", revoked=True)
    _permit(officer, number=3, procedure="noncommercial_publication", holder="Hội Nông dân tỉnh",
            title="Tài liệu tuyên truyền")
    url = reverse("licensing:permits")
    html = text(page(client, reporter, url))
    assert all(n in html for n in ("01/GP-STTTT", "02/GP-STTTT", "03/GP-STTTT"))
    assert "Đã thu hồi" in html and "Vi phạm nội dung giấy phép." in html

    def numbers(params):
        return set(re.findall(r"<strong class=\"number\">(\d\d/GP-STTTT)</strong>", text(client.get(url, params))))

    assert numbers({"procedure": "printing_licence"}) == {"02/GP-STTTT"}
    assert numbers({"q": "nông dân"}) == {"03/GP-STTTT"}
    assert numbers({"revoked": "true"}) == {"02/GP-STTTT"}
    assert numbers({"revoked": "false"}) == {"01/GP-STTTT", "03/GP-STTTT"}
    today = timezone.localdate()
    assert numbers({"issued_from": (today - timedelta(days=7)).isoformat()}) == {"02/GP-STTTT", "03/GP-STTTT"}
    assert numbers({"issued_to": (today - timedelta(days=7)).isoformat()}) == {"01/GP-STTTT"}
    assert numbers({"issued_from": today.isoformat(), "issued_to": today.isoformat()}) == {"02/GP-STTTT",
                                                                                         "03/GP-STTTT"}
    wrong = text(client.get(url, {"issued_from": today.isoformat(),
                                  "issued_to": (today - timedelta(days=1)).isoformat()}))
    assert "Ngày kết thúc trước ngày bắt đầu." in wrong


def test_permits_registry_is_paginated_keeping_the_filters(client, officer):
    for number in range(1, 28):
        _permit(officer, number=number, title="Bản tin nội bộ")
    client.force_login(officer)
    first = text(client.get(reverse("licensing:permits"), {"q": "nội bộ"}))
    assert first.count("/GP-STTTT</strong>") == 25
    assert "Trang 1/2" in first and "?q=n%E1%BB%99i+b%E1%BB%99&amp;page=2" in first
    second = text(client.get(reverse("licensing:permits"), {"q": "nội bộ", "page": 2}))
    assert second.count("/GP-STTTT</strong>") == 2


def test_issued_documents_are_listed_with_their_download_link(client, officer, head):
    case = bulletin_case(officer, path=("start_review", "propose_grant", "approve"), head=head)
    document = licensing_services.result_issue(case_id=case.pk)
    html = text(page(client, officer, reverse("licensing:case", args=[case.pk])))
    assert f"/api/v1/licensing/documents/{document.pk}/download/" in html
    assert "Đã trả kết quả" in html and document.number_text in html
    assert CaseEvent.objects.filter(case=case, kind="document").exists()
    assert "Giấy phép" in html


def test_home_links_to_the_pages_of_the_users_roles(client, officer, head):
    html = text(page(client, officer, reverse("home")))
    assert reverse("licensing:queue") in html and reverse("licensing:receive") in html
    assert reverse("licensing:approvals") not in html
    html = text(page(client, UserFactory(roles=["department_head"]), reverse("home")))
    assert reverse("licensing:approvals") in html
