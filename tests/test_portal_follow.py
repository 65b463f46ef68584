"""The applicant follows an online dossier (issue 16, items 3 to 6): its page shows the state in the applicant's
words, the due date and the public events of the timeline, never the officers' notes; a supplement answered online
resumes the clock exactly as one brought to the counter; the result's first download is its one electronic delivery;
a result is rated once, and an unsatisfied rating reaches the head; the public lookup answers a wrong secret as an
unknown code."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse

from applicants import dossiers as d
from applicants.models import Rating, ResultDelivery
from applicants.pages import follow as follow_page
from applicants.pages import ratings as ratings_page
from cases import services as case_services
from cases.models import Attachment, Case, CaseEvent
from cases.workflow import State

from . import support_licensing as sl
from .support_portal_follow import issued, online_received, representative_make

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
INTERNAL = "Ghi chú nội bộ: chưa gọi điện cho doanh nghiệp"
REFUSAL_DRAFT = "Dự thảo lý do từ chối của chuyên viên"
RETURN_NOTE = "Lãnh đạo trả lại: xem lại thiết bị in"


@pytest.fixture(autouse=True)
def _lookups_budget_fresh():
    """Each test starts with the test client's address's full budget of lookups (the counts live in the cache)."""
    from django.core.cache import cache

    cache.delete_many([follow_page.lookup_key("127.0.0.1"), follow_page.lookup_key("127.0.0.1") + ":start"])


@pytest.fixture
def rep(db):
    return representative_make("print")


def plan():
    """A file the officer has not got yet (not the one attached at receipt)."""
    return SimpleUploadedFile("so-do-mat-bang.png", sl.png_bytes((20, 120, 60)), "image/png")


def events_on(html: str) -> list[str]:
    return re.findall(r'data-event="([^"]+)"', html)


def test_the_dossier_page_shows_the_public_events_and_never_the_officers_notes(client, rep, officer, head):
    submission = online_received(rep, officer, path=("start_review",))
    case = submission.case
    case_services.case_note_add(case_id=case.pk, actor=officer, text=INTERNAL)
    case_services.case_transition(case_id=case.pk, actor=officer, action="propose_refusal", note=REFUSAL_DRAFT)
    case_services.case_transition(case_id=case.pk, actor=head, action="return_for_review", note=RETURN_NOTE)
    case_services.case_transition(case_id=case.pk, actor=officer, action="request_supplement",
                                  note="Bổ sung bản sao giấy phép kinh doanh.")
    client.force_login(rep)
    html = client.get(reverse("portal:dossier", args=[submission.uuid])).content.decode()
    assert events_on(html) == ["received", "in_review", "supplement_requested"]
    assert "Bổ sung bản sao giấy phép kinh doanh." in html  # the note written for the applicant
    for secret in (INTERNAL, REFUSAL_DRAFT, RETURN_NOTE, officer.get_full_name(), head.get_full_name(),
                   officer.username):
        assert secret not in html
    assert 'data-state="supplement"' in html and 'id="supplement-form"' in html
    case.refresh_from_db()
    assert 'id="dossier-paused"' in html and case.due_at.astimezone(VN).strftime("%H:%M %d/%m/%Y") in html
    # The API says the same, no more.
    body = client.get(f"/api/v1/portal/dossiers/{submission.uuid}/").json()
    assert [e["code"] for e in body["events"]] == ["received", "in_review", "supplement_requested"]
    assert INTERNAL not in str(body) and REFUSAL_DRAFT not in str(body) and RETURN_NOTE not in str(body)


def test_my_dossiers_lists_the_organisations_dossiers_only_with_their_state(client, rep, officer):
    colleague = representative_make("print")  # same organisation: sees the same dossiers
    other = representative_make("school")
    mine = online_received(rep, officer, path=("start_review",))
    theirs = online_received(other, officer, "bulletin")
    client.force_login(colleague)
    html = client.get(reverse("portal:home")).content.decode()
    assert f'data-dossier="{mine.uuid}" data-state="in_progress"' in html
    assert str(theirs.uuid) not in html
    assert client.get(reverse("portal:dossier", args=[theirs.uuid])).status_code == 404




def test_a_supplement_answered_online_resumes_the_clock_as_at_the_counter(client, rep, officer):
    when = datetime(2026, 3, 2, 9, 0, tzinfo=VN)
    with time_machine.travel(when, tick=False):
        counter = sl.application_received(officer, "printing_licence")
        online = online_received(rep, officer)
    cases = [counter, online.case]
    paused = datetime(2026, 3, 5, 15, 30, tzinfo=VN)  # Thursday: 3 working days used
    resumed = datetime(2026, 3, 16, 10, 0, tzinfo=VN)  # eleven days later
    with time_machine.travel(paused, tick=False):
        for case in cases:
            case_services.case_transition(case_id=case.pk, actor=officer, action="request_supplement",
                                          note="Bổ sung sơ đồ mặt bằng cơ sở in.")
    with time_machine.travel(resumed, tick=False):
        case_services.case_transition(case_id=counter.pk, actor=officer, action="receive_supplement")
        client.force_login(rep)
        kind = "equipment_documents"
        response = client.post(reverse("portal:supplement", args=[online.uuid]),
                               {"kind_1": kind, "file_1": plan(), "message": "Gửi bổ sung sơ đồ."})
    assert response.status_code == 302
    counter.refresh_from_db()
    case = Case.objects.get(pk=online.case_id)
    assert case.state == counter.state == State.IN_REVIEW
    for name in ("due_at", "clock_used", "clock_started_at", "paused_at"):
        assert getattr(case, name) == getattr(counter, name), name
    assert case.paused_at is None and case.due_at > resumed

    def due_events(c):
        return [(e.before, e.after) for e in c.events.filter(kind=CaseEvent.Kind.DUE_DATE)]

    assert due_events(case) == due_events(counter) and len(due_events(case)) == 1
    resume = case.events.get(kind=CaseEvent.Kind.TRANSITION, action="receive_supplement")
    assert resume.actor is None and "Gửi bổ sung sơ đồ." in resume.note
    # The file is the case's, recorded under the applicant's name and checked as at the counter.
    stored = Attachment.objects.filter(case=case, uploaded_by=rep, original_name="so-do-mat-bang.png")
    assert stored.count() == 1 and stored.get().kind == kind
    assert case.events.filter(kind=CaseEvent.Kind.ATTACHMENT, actor=rep, action="online").count() == 1
    # Sent again (a retried form): nothing more happens, and the applicant is told.
    with time_machine.travel(resumed, tick=False):
        again = client.post(reverse("portal:supplement", args=[online.uuid]), {"kind_1": kind, "file_1": plan()},
                            follow=True)
    assert again.status_code == 200 and case.events.filter(kind=CaseEvent.Kind.TRANSITION,
                                                              action="receive_supplement").count() == 1


def test_a_supplement_file_is_checked_before_anything_is_stored(client, rep, officer):
    submission = online_received(rep, officer, path=("start_review", "request_supplement"))
    client.force_login(rep)
    before = Attachment.objects.filter(case_id=submission.case_id).count()
    fake = SimpleUploadedFile("so-do.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")
    response = client.post(reverse("portal:supplement", args=[submission.uuid]), {"kind_1": "other", "file_1": fake},
                           follow=True)
    assert response.status_code == 200
    case = Case.objects.get(pk=submission.case_id)
    assert case.state == State.SUPPLEMENT_REQUESTED
    assert Attachment.objects.filter(case=case).count() == before
    assert 'class="error"' in response.content.decode()


def test_the_result_download_is_one_delivery_however_often_it_is_downloaded(client, rep, officer, head):
    submission = online_received(rep, officer, path=("start_review", "propose_grant", "approve"), head=head)
    document = issued(submission)
    url = reverse("portal:document", args=[submission.uuid, document.pk])
    client.force_login(rep)
    page = client.get(reverse("portal:dossier", args=[submission.uuid])).content.decode()
    assert f'data-download="{document.pk}"' in page and 'data-state="result"' in page
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200
        data = b"".join(response.streaming_content)
        assert data[:2] == b"PK"  # not signed yet: the DOCX as issued
    colleague = representative_make("print")
    client.force_login(colleague)
    assert client.get(url).status_code == 200
    deliveries = ResultDelivery.objects.filter(document=document)
    assert deliveries.count() == 1 and deliveries.get().user == rep
    assert deliveries.get().case_id == submission.case_id


def test_a_signed_result_is_downloaded_as_its_signed_pdf(client, rep, officer, head, demo_signing):
    from licensing.electronic import document_sign

    submission = online_received(rep, officer, path=("start_review", "propose_grant", "approve"), head=head)
    document = issued(submission)
    assert document_sign(document_id=document.pk)
    client.force_login(rep)
    response = client.get(reverse("portal:document", args=[submission.uuid, document.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    data = b"".join(response.streaming_content)
    document.verifiable.refresh_from_db()
    assert data.startswith(b"%PDF-") and data == document.verifiable.pdf.open("rb").read()
    assert ResultDelivery.objects.filter(document=document, user=rep).count() == 1


def test_a_result_is_rated_once_and_an_unsatisfied_rating_reaches_the_head(client, rep, officer, head):
    submission = online_received(rep, officer, path=("start_review", "propose_refusal", "refuse"), head=head)
    open_one = online_received(rep, officer, path=("start_review",))
    client.force_login(rep)
    assert 'id="rating-form"' in client.get(reverse("portal:dossier", args=[submission.uuid])).content.decode()
    assert 'id="rating-form"' not in client.get(reverse("portal:dossier", args=[open_one.uuid])).content.decode()
    # Before the result: refused.
    client.post(reverse("portal:rate", args=[open_one.uuid]), {"score": "5"})
    assert not Rating.objects.filter(case_id=open_one.case_id).exists()
    client.post(reverse("portal:rate", args=[submission.uuid]), {"score": "2", "comment": "Xử lý chậm, khó liên hệ."})
    client.post(reverse("portal:rate", args=[submission.uuid]), {"score": "5", "comment": "Đổi ý."})
    rating = Rating.objects.get(case_id=submission.case_id)
    assert (rating.score, rating.comment, rating.user, rating.unsatisfied) == (2, "Xử lý chậm, khó liên hệ.", rep, True)
    page = client.get(reverse("portal:dossier", args=[submission.uuid])).content.decode()
    assert 'id="rating-form"' not in page and 'data-score="2"' in page
    # A satisfied rating of another result does not reach the head's list.
    happy = online_received(rep, officer, path=("start_review", "propose_grant", "approve"), head=head)
    issued(happy)
    client.post(reverse("portal:rate", args=[happy.uuid]), {"score": "5"})
    assert Rating.objects.get(case_id=happy.case_id).score == 5
    request = RequestFactory().get("/online/ratings/")
    request.user = head
    html = ratings_page.ratings(request).content.decode()
    assert f'data-case="{submission.case_id}" data-score="2"' in html and f'data-case="{happy.case_id}"' not in html
    assert "Xử lý chậm, khó liên hệ." in html
    request.user = officer
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        ratings_page.ratings(request)


def test_the_lookup_answers_a_wrong_secret_as_an_unknown_code(client, officer, settings):
    settings.PORTAL_LOOKUPS_PER_WINDOW = 100
    case = sl.application_received(officer, "bulletin")  # received at the counter: the receipt has a secret too
    case_services.case_note_add(case_id=case.pk, actor=officer, text=INTERNAL)
    secret = case.dossier.receipt_secret
    url = reverse("portal:lookup")
    found = client.post(url, {"reference": case.reference.lower(), "secret": f"{secret[:4]}-{secret[4:]}".lower()})
    assert found.status_code == 200
    html = found.content.decode()
    assert 'id="lookup-result"' in html and events_on(html) == ["received"] and INTERNAL not in html
    assert case.reference in html
    wrong_secret = secret[::-1] if secret[::-1] != secret else "AAAAAAAA"
    answers = []
    for reference, typed in ((case.reference, wrong_secret), ("GP-2026-99999", secret), (case.reference, ""),
                             (case.reference, secret + "X")):
        response = client.post(url, {"reference": reference, "secret": typed})
        body = response.content.decode()
        answers.append((response.status_code, 'id="lookup-not-found"' in body, 'id="lookup-result"' in body))
        assert case.dossier.organisation.name not in body
    assert answers == [(404, True, False)] * 4


def test_the_lookup_is_throttled_per_address(client, officer, settings):
    settings.PORTAL_LOOKUPS_PER_WINDOW = 3
    case = sl.application_received(officer, "bulletin")
    url = reverse("portal:lookup")
    statuses = [client.post(url, {"reference": case.reference, "secret": "WRONGONE"}).status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    blocked = client.post(url, {"reference": case.reference, "secret": case.dossier.receipt_secret})
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert 'id="lookup-result"' not in blocked.content.decode()


def test_a_representative_signing_in_at_the_home_page_goes_to_the_portal(client, rep, officer):
    client.force_login(rep)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    client.force_login(officer)
    assert client.get("/").status_code == 200


def test_the_applicants_state_words(rep, officer, head):
    states = {}
    for name, path in {"in_progress": ("start_review",), "supplement": ("start_review", "request_supplement"),
                       "refused": ("start_review", "propose_refusal", "refuse"),
                       "late_apologised": ("start_review", "apologise_late")}.items():
        states[name] = d.state_code(online_received(rep, officer, path=path, head=head))
    assert states == {name: name for name in states}
    granted = online_received(rep, officer, path=("start_review", "propose_grant", "approve"), head=head)
    assert d.state_code(granted) == "in_progress"  # approved, result not yet issued: nothing to tell yet
    issued(granted)
    granted.refresh_from_db()
    assert d.state_code(granted) == "result"


def test_a_dossier_not_received_shows_why_and_no_case(client, rep, officer):
    from applicants import submissions as portal

    from .support_portal_follow import submitted

    submission = submitted(rep)
    portal.submission_refuse(actor=officer, submission_uuid=submission.uuid, version=None,
                             reasons="Hồ sơ không thuộc thẩm quyền giải quyết của Sở.")
    client.force_login(rep)
    html = client.get(reverse("portal:dossier", args=[submission.uuid])).content.decode()
    assert 'data-state="not_received"' in html and "Hồ sơ không thuộc thẩm quyền giải quyết của Sở." in html
    assert 'id="timeline"' not in html and 'id="supplement-form"' not in html and 'id="rating-form"' not in html
    listed = client.get(reverse("portal:home")).content.decode()
    assert f'data-dossier="{submission.uuid}" data-state="not_received"' in listed
