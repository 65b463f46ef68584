"""Trust, rules 1, 2, 4, 6, 7 (issue "Trust"): the outcome issued is the outcome decided, every licensing case has
its dossier, a result that cannot be written strands nothing, deadlines and day filters are read as people read
them, and the documents say what a Vietnamese official writes. Through the API and the services; the pages' side
is in tests/test_trust_pages.py and the browser test."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from cases import services as case_services
from cases.models import Case, CaseEvent, CaseType
from licensing import services as licensing_services
from licensing import tasks as licensing_tasks
from licensing.models import IssuedDocument, Permit
from worker.models import OutboxMessage

from .support_licensing import HCM, application_body, docx_lines, dossier, required_upload

pytestmark = pytest.mark.django_db(transaction=True)
APPLICATIONS = "/api/v1/licensing/applications/"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


def receive(api, officer, procedure="bulletin", **extra):
    """A dossier received through the licensing API, its required file attached, under review."""
    response = api.as_user(officer).post(APPLICATIONS, application_body(procedure, **extra), format="json")
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    kind, upload = required_upload(procedure) if procedure != "press_conference" else (None, None)
    if kind:
        case_services.attachment_add(case_id=case.pk, actor=officer, upload=upload, kind=kind)
    case_services.case_intake(case_id=case.pk)
    case_services.case_transition(case_id=case.pk, actor=officer, action="start_review")
    case.refresh_from_db()
    return case


def act(api, user, case, action, note="", expect=200):
    case.refresh_from_db()
    response = api.as_user(user).post(f"/api/v1/cases/{case.pk}/transitions/",
                                      {"action": action, "version": case.version, "note": note}, format="json")
    assert response.status_code == expect, response.content
    case.refresh_from_db()
    return response


def document_text(document: IssuedDocument) -> list[str]:
    document.file.open("rb")
    try:
        return docx_lines(document.file.read())
    finally:
        document.file.close()


# --- Rule 1: the outcome issued is the outcome decided ----------------------------------------------------------


def test_granting_a_refusal_proposal_needs_reasons_and_is_marked_everywhere(api, officer, head):
    case = receive(api, officer)
    act(api, officer, case, "propose_refusal", note="Tên bản tin trùng với bản tin đã được cấp phép.")

    refused = act(api, head, case, "approve", expect=400)
    body = refused.json()
    assert body["code"] == "validation" and "note" in body["errors"]
    assert case.state == "proposed" and case.outcome == ""  # nothing decided

    act(api, head, case, "approve", note="Đã kiểm tra: không trùng tên, bản tin cũ đã chấm dứt.")
    assert (case.state, case.outcome, case.decided_against_proposal) == ("approved", "granted", True)
    assert case.outcome_reasons == ""  # the refusal proposal's draft reasons are not the decision's
    assert case.decision_note.startswith("Đã kiểm tra")
    decision = case.events.get(kind=CaseEvent.Kind.TRANSITION, action="approve")
    assert decision.after["decided_against_proposal"] is True and decision.note.startswith("Đã kiểm tra")

    document = licensing_services.result_issue(case_id=case.pk)
    lines = document_text(document)
    assert any("khác với đề xuất của chuyên viên" in line and "Đã kiểm tra" in line for line in lines)
    assert not any("Tên bản tin trùng" in line for line in lines)


def test_refusing_a_grant_proposal_is_marked_and_the_letter_says_so(api, officer, head):
    case = receive(api, officer)
    act(api, officer, case, "propose_grant")
    act(api, head, case, "refuse", note="Nội dung bản tin không phù hợp tôn chỉ, mục đích.")
    assert (case.state, case.outcome, case.decided_against_proposal) == ("refused", "refused", True)
    letter = licensing_services.refusal_letter_issue(case_id=case.pk)
    assert any("khác với đề xuất" in line for line in document_text(letter))


def test_agreeing_with_the_proposal_needs_no_extra_reasons_and_is_not_marked(api, officer, head):
    grant = receive(api, officer)
    act(api, officer, grant, "propose_grant")
    act(api, head, grant, "approve")
    assert (grant.outcome, grant.decided_against_proposal) == ("granted", False)
    refuse = receive(api, officer, procedure="noncommercial_publication")
    act(api, officer, refuse, "propose_refusal", note="Thiếu bản thảo hoàn chỉnh.")
    act(api, head, refuse, "refuse", note="Đồng ý: thiếu bản thảo hoàn chỉnh.")
    assert (refuse.outcome, refuse.decided_against_proposal) == ("refused", False)
    assert refuse.outcome_reasons == "Đồng ý: thiếu bản thảo hoàn chỉnh."


def test_the_heads_actions_name_their_outcome(api, officer, head):
    case = receive(api, officer)
    act(api, officer, case, "propose_refusal", note="Lý do.")
    labels = {a["action"]: a["label"] for a in api.as_user(head).get(f"/api/v1/cases/{case.pk}/").json()["actions"]}
    assert labels["approve"] == "Cấp giấy phép"
    assert labels["refuse"] == "Đồng ý từ chối"
    assert labels["return_for_review"] == "Trả lại chuyên viên"


# --- Rule 2: every licensing case has its dossier, whatever door it came in --------------------------------------


def test_the_bare_case_endpoint_refuses_licensing_types(api, officer):
    before = Case.objects.count()
    response = api.as_user(officer).post("/api/v1/cases/", {"type": "bulletin", "subject_name": "Trường X"},
                                         format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation" and "/api/v1/licensing/applications/" in body["errors"]["type"][0]
    assert Case.objects.count() == before


def test_a_licensing_case_without_a_dossier_is_never_granted(officer, head):
    # Only the engine's own function can make one now (tests, a future import); the guard still holds.
    case, _ = case_services.case_create(actor=officer, case_type=CaseType.objects.get(code="press_conference"),
                                        subject_name="Không có hồ sơ")
    case_services.case_transition(case_id=case.pk, actor=officer, action="start_review")
    with pytest.raises(licensing_services.DossierIncomplete):
        case_services.case_transition(case_id=case.pk, actor=officer, action="propose_grant")
    case.refresh_from_db()
    assert case.state == "in_review" and not Permit.objects.filter(case=case).exists()


# --- Rule 4: no case is stranded, nothing counted that was not issued ---------------------------------------------


def test_a_result_that_cannot_be_written_is_on_the_timeline_and_has_a_way_forward(api, officer, head, monkeypatch):
    case = receive(api, officer)
    act(api, officer, case, "propose_grant")
    act(api, head, case, "approve")

    def broken(content):
        raise ValueError("All strings must be XML compatible")

    monkeypatch.setattr(licensing_services, "document_render", broken)
    row = OutboxMessage.objects.filter(task_name="licensing.result_issue", kwargs__case_id=case.pk).get()
    for _attempt in range(2):  # the automatic retry of the same failure adds nothing to the timeline
        with pytest.raises(ValueError):
            licensing_tasks.result_issue(case_id=case.pk, outbox_id=row.pk)
    case.refresh_from_db()
    assert case.state == "approved" and case.result_number == ""
    failures = list(case.events.filter(kind=CaseEvent.Kind.ISSUE_FAILED))
    assert len(failures) == 1 and "XML compatible" in failures[0].note
    assert not IssuedDocument.objects.filter(case=case).exists() and not Permit.objects.filter(case=case).exists()
    row.refresh_from_db()
    assert row.done_at is None  # the sweep tries it again

    detail = api.as_user(officer).get(f"/api/v1/cases/{case.pk}/").json()
    assert {a["action"] for a in detail["actions"]} >= {"retry_issue"}
    assert {a["action"] for a in api.as_user(head).get(f"/api/v1/cases/{case.pk}/").json()["actions"]} \
        >= {"retry_issue", "reopen_decision"}

    monkeypatch.undo()
    act(api, officer, case, "retry_issue")
    retry = OutboxMessage.objects.filter(task_name="licensing.result_issue", kwargs__case_id=case.pk,
                                         done_at__isnull=True).exclude(pk=row.pk).get()
    licensing_tasks.result_issue(case_id=case.pk, outbox_id=retry.pk)
    case.refresh_from_db()
    assert case.state == "issued" and Permit.objects.filter(case=case).count() == 1
    # The first row, delivered again by the sweep, finds the case issued and changes nothing.
    licensing_tasks.result_issue(case_id=case.pk, outbox_id=row.pk)
    assert Permit.objects.filter(case=case).count() == 1


def test_the_head_can_take_a_grant_back_before_its_result_exists(api, officer, head):
    case = receive(api, officer)
    act(api, officer, case, "propose_grant")
    act(api, head, case, "approve")
    act(api, head, case, "reopen_decision", note="Sửa tên bản tin trước khi cấp phép.")
    assert (case.state, case.outcome, case.decided_at, case.proposal) == ("in_review", "", None, "")
    # The issue task that was queued finds nothing to issue.
    assert licensing_services.result_issue(case_id=case.pk) is None
    assert not Permit.objects.filter(case=case).exists()
    act(api, officer, case, "reopen_decision", expect=403)


def test_a_result_is_dated_and_numbered_when_it_is_issued(api, officer, head):
    with time_machine.travel(at(2026, 3, 31, 23, 59), tick=False):
        case = receive(api, officer)
        act(api, officer, case, "propose_grant")
        act(api, head, case, "approve")
    with time_machine.travel(at(2026, 4, 1, 0, 1), tick=False):  # the issue ran after midnight
        document = licensing_services.result_issue(case_id=case.pk)
    permit = Permit.objects.get(case=case)
    assert timezone.localtime(document.issued_at).date() == timezone.localtime(permit.issued_at).date() \
        == at(2026, 4, 1).date()
    case.refresh_from_db()
    assert timezone.localtime(case.closed_at).date() == at(2026, 4, 1).date()
    assert document.year == 2026 and any("ngày 01 tháng 4 năm 2026" in line for line in document_text(document))


# --- Rule 6: deadlines are reckoned as people read them --------------------------------------------------------


def test_a_due_time_is_a_minute(api, officer):
    case = receive(api, officer)
    Case.objects.filter(pk=case.pk).update(due_at=at(2026, 12, 3, 17, 0))
    case.refresh_from_db()
    client = api.as_user(officer)
    with time_machine.travel(at(2026, 12, 3, 17, 0, 59), tick=False):
        assert not case.is_overdue
        assert case.pk not in [c["id"] for c in client.get("/api/v1/cases/", {"overdue": "true"}).json()["results"]]
    with time_machine.travel(at(2026, 12, 3, 17, 1, 0), tick=False):
        assert case.is_overdue
        assert case.pk in [c["id"] for c in client.get("/api/v1/cases/", {"overdue": "true"}).json()["results"]]


def test_a_day_filter_includes_its_day(api, officer, head):
    with time_machine.travel(at(2026, 12, 31, 16, 30), tick=False):
        case = receive(api, officer)
        act(api, officer, case, "propose_grant")
        act(api, head, case, "approve")
    client = api.as_user(head)
    ids = lambda params: [c["id"] for c in client.get("/api/v1/cases/", params).json()["results"]]  # noqa: E731
    assert case.pk in ids({"decided_before": "2026-12-31"})
    assert case.pk in ids({"decided_after": "2026-12-31"})
    assert case.pk not in ids({"decided_before": "2026-12-30"})
    assert case.pk not in ids({"decided_after": "2027-01-01"})
    # A moment stays a moment.
    assert case.pk not in ids({"decided_before": "2026-12-31T16:00:00+07:00"})
    assert client.get("/api/v1/cases/", {"decided_before": "2026-02-30"}).status_code == 400


# --- Rule 7: documents say what a Vietnamese official writes ------------------------------------------------------


def test_legal_bases_are_full_citations_never_split_inside_one(api, officer, head):
    with time_machine.travel(at(2026, 12, 1, 8, 0), tick=False):
        case = receive(api, officer, procedure="press_conference",
                       fields=dossier("press_conference", event_at="2026-12-05T09:00:00+07:00"))
        act(api, officer, case, "propose_grant")
        act(api, head, case, "approve")
        lines = document_text(licensing_services.result_issue(case_id=case.pk))
    bases = [line for line in lines if line.startswith("Căn cứ")]
    assert bases[0].startswith("Căn cứ Thông tư liên tịch số 06/2016/TTLT-BTTTT-BNV ngày 10 tháng 3 năm 2016 của "
                               "Bộ Thông tin và Truyền thông và Bộ Nội vụ")
    assert "Căn cứ Luật Báo chí số 103/2016/QH13 ngày 05 tháng 4 năm 2016;" in bases
    assert all(line.endswith(";") and line.count("Căn cứ") == 1 for line in bases)
    assert not any("12 giờ" in line for line in bases)


def test_a_refusal_is_an_official_letter_in_its_own_series(api, officer, head):
    with time_machine.travel(at(2026, 11, 20, 9, 15), tick=False):
        case = receive(api, officer, procedure="printing_licence")
    act(api, officer, case, "propose_refusal", note="Thiết bị in chưa có giấy tờ hợp pháp.")
    act(api, head, case, "refuse", note="Thiết bị in chưa có giấy tờ chứng minh nguồn gốc hợp pháp.")
    grant = receive(api, officer, procedure="bulletin")
    act(api, officer, grant, "propose_grant")
    act(api, head, grant, "approve")
    licensing_services.result_issue(case_id=grant.pk)

    letter = licensing_services.refusal_letter_issue(case_id=case.pk)
    year = timezone.localtime(case.decided_at).year
    assert (letter.series, letter.number, letter.number_text) == ("CV", 1, "01/SVHTTDL-QLBCXB")
    assert letter.year == year
    assert IssuedDocument.objects.get(case=grant).number_text.endswith("/GP-SVHTTDL")
    lines = document_text(letter)
    text = "\n".join(lines)
    assert "Số: 01/SVHTTDL-QLBCXB" in lines
    assert any(line.startswith("V/v Từ chối cấp giấy phép hoạt động in") for line in lines)
    assert any(line.startswith("Kính gửi:") and "Công ty TNHH In Hoàng Long" in line for line in lines)
    assert "Ngày 20/11/2026" in text and case.reference in text
    assert "Thiết bị in chưa có giấy tờ chứng minh nguồn gốc hợp pháp." in text
    assert "khiếu nại" in text and "khởi kiện" in text
    assert "Nơi nhận:" in lines and "- Như trên;" in lines


def test_a_stored_control_character_never_stops_a_result(api, officer, head):
    case = receive(api, officer)
    act(api, officer, case, "propose_grant")
    act(api, head, case, "approve")
    with connection.cursor() as cursor:  # as stored before input was cleaned: Word's Shift+Enter
        cursor.execute("UPDATE cases_case SET summary = %s WHERE id = %s", ["Bản tin\x0bĐại học", case.pk])
    document = licensing_services.result_issue(case_id=case.pk)
    assert document is not None and Case.objects.get(pk=case.pk).state == "issued"


def test_a_dossier_cannot_be_backdated_into_an_ended_quarter(api, officer):
    with time_machine.travel(at(2026, 10, 1, 8, 0), tick=False):
        response = api.as_user(officer).post(
            APPLICATIONS, application_body("bulletin", received_at=at(2026, 9, 30, 16, 0)), format="json")
        assert response.status_code == 400
        assert "received_at" in response.json()["errors"]
        ok = api.as_user(officer).post(
            APPLICATIONS, application_body("bulletin", received_at=at(2026, 10, 1, 7, 30)), format="json")
        assert ok.status_code == 201
    assert Case.objects.count() == 1


def test_timeline_marks_against_proposal_and_failures_for_people(api, officer, head):
    case = receive(api, officer)
    act(api, officer, case, "propose_refusal", note="Trùng tên.")
    act(api, head, case, "approve", note="Không trùng tên.")
    licensing_services.result_issue_failed(case_id=case.pk, error=ValueError("disk full"))
    browser = Client()
    browser.force_login(head)
    html = browser.get(f"/licensing/cases/{case.pk}/").content.decode()
    assert "Quyết định khác với đề xuất của chuyên viên" in html
    assert "disk full" in html
    assert timedelta(0) <= timezone.now() - case.decided_at < timedelta(minutes=5)


def test_an_administrator_corrects_the_legal_bases_in_the_admin_and_the_next_licence_cites_them(api, officer, head,
                                                                                               client):
    from datetime import date

    from django.urls import reverse

    from cases.models import CaseTypeTerms, LegalInstrument

    from .factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:cases_legalinstrument_changelist")).status_code == 200
    added = client.post(reverse("admin:cases_legalinstrument_add"), {
        "kind": "Thông tư", "number": "48/2016/TT-BTTTT", "issued_on": "2016-12-30",
        "issuer": "Bộ trưởng Bộ Thông tin và Truyền thông",
        "title": "quy định việc cấp giấy phép hoạt động báo in, ... xuất bản bản tin", "repealed_on": ""})
    assert added.status_code == 302, added.content[:2000]
    instrument = LegalInstrument.objects.get(number="48/2016/TT-BTTTT")
    terms = CaseTypeTerms.objects.get(case_type__code="bulletin", effective_from=date(2015, 1, 1))
    page = client.get(reverse("admin:cases_casetypeterms_change", args=[terms.pk]))
    assert page.status_code == 200 and "103/2016/QH13" in page.content.decode()
    terms.bases.create(instrument=instrument, position=5)

    case = receive(api, officer)
    act(api, officer, case, "propose_grant")
    act(api, head, case, "approve")
    bases = [line for line in document_text(licensing_services.result_issue(case_id=case.pk))
             if line.startswith("Căn cứ")]
    assert bases[-1] == ("Căn cứ Thông tư số 48/2016/TT-BTTTT ngày 30 tháng 12 năm 2016 của Bộ trưởng Bộ Thông tin và "
                         "Truyền thông quy định việc cấp giấy phép hoạt động báo in, ... xuất bản bản tin;")
    # An instrument is never deleted (documents cite it): it is marked no longer in force.
    assert client.post(reverse("admin:cases_legalinstrument_delete", args=[instrument.pk]),
                       {"post": "yes"}).status_code == 403
