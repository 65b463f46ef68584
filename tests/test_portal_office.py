"""The officers' answers to online dossiers: receive (the case begins then), ask to complete first (the applicant
edits and submits again), refuse to receive; each told to the applicant by an e-mail read from a real SMTP server,
sent once however often it is retried; two officers answering at once never both win."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from agencies.models import Agency
from applicants import submissions as services
from applicants.models import Submission
from cases import roles as r
from cases.errors import InvalidTransition, NotAllowed, NotFound, StaleVersion, ValidationFailed
from cases.models import Case
from licensing.models import Notification
from licensing.notifications import notification_send

from . import support_licensing as sl
from .factories import UserFactory
from .support_concurrency import run_together
from .support_portal_submit import PROCEDURE, submitted

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.support_portal_submit", "tests.support_smtp"]


def _send_pending() -> list[int]:
    """What the outbox task does after commit: each email not sent yet, sent once."""
    sent = []
    for notification in Notification.objects.filter(sent_at__isnull=True, sending_at__isnull=True).order_by("pk"):
        if notification_send(notification_id=notification.pk):
            sent.append(notification.pk)
    return sent


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_ask_to_complete_then_resubmit_then_receive_with_the_emails(applicant, officer, smtp_server):
    submission = submitted(applicant)
    office = _client(officer)
    # The officer sees how far the account is vouched for: self-registered, e-mail verified only.
    detail = office.get(reverse("portal-office:submission", args=[submission.uuid])).content.decode()
    assert 'data-assurance="self-registered"' in detail
    answer = reverse("portal-office:answer", args=[submission.uuid, "request_completion"])
    # Without reasons: refused, and the page keeps nothing half done.
    response = office.post(answer, {"version": submission.version, "reasons": "  "})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == Submission.State.SUBMITTED
    reasons = "Giấy tờ chứng minh thiết bị in chưa có hóa đơn mua máy in Heidelberg."
    response = office.post(answer, {"version": submission.version, "reasons": reasons})
    assert response.status_code == 302 and response["Location"] == reverse("portal-office:queue")
    submission.refresh_from_db()
    assert (submission.state, submission.reasons, submission.handled_by) == (
        Submission.State.COMPLETION_REQUESTED, reasons, officer)
    assert Case.objects.count() == 0  # nothing counted before receipt
    # The same answer sent again (a retried request) writes no second email.
    services.submission_request_completion(actor=officer, submission_uuid=submission.uuid,
                                           version=submission.version - 1, reasons=reasons)
    assert Notification.objects.filter(case__isnull=True).count() == 1
    assert len(_send_pending()) == 1
    message = smtp_server.wait_for(to=applicant.user.email, subject_contains="hoàn thiện")
    assert reasons in message.text and applicant.organisation.name in message.text
    assert _send_pending() == []  # a retried send sends nothing
    smtp_server.assert_nothing_sent_to("nobody@example.vn", within=0.1)
    assert len(smtp_server.sent_to(applicant.user.email)) == 1

    # The applicant sees the reasons, completes the dossier and submits it again.
    client = _client(applicant.user)
    page = client.get(reverse("portal:submission-edit", args=[submission.uuid])).content.decode()
    assert 'id="officer-reasons"' in page and reasons in page
    kind, upload = "equipment_documents", sl.upload("equipment_documents", "pdf", "hoa-don-may-in.pdf")
    services.file_add(representative=applicant, submission_uuid=submission.uuid, upload=upload, kind=kind)
    submission.refresh_from_db()
    services.submission_submit(representative=applicant, submission_uuid=submission.uuid, version=submission.version,
                               declared=True)
    submission.refresh_from_db()
    assert submission.state == Submission.State.SUBMITTED

    case, created = services.submission_receive(actor=officer, submission_uuid=submission.uuid,
                                                version=submission.version)
    assert created and case.attachments.count() == 2
    # Received again (a retry, or the second click): the same case, nothing new.
    again, created_again = services.submission_receive(actor=officer, submission_uuid=submission.uuid, version=1)
    assert again.pk == case.pk and not created_again and Case.objects.count() == 1
    assert len(_send_pending()) == 1  # the receipt email, on the case
    receipt = smtp_server.wait_for(to=applicant.user.email, subject_contains=case.reference)
    assert "tiếp nhận" in receipt.text
    assert Notification.objects.get(case=case, key="received").sent_at is not None


def test_refuse_to_receive_with_reasons_and_the_email(applicant, officer, smtp_server, api):
    submission = submitted(applicant)
    client = api.as_user(officer)
    url = f"/api/v1/portal/office/submissions/{submission.uuid}/"
    assert client.get("/api/v1/portal/office/submissions/").json()["results"][0]["uuid"] == str(submission.uuid)
    detail = client.get(url)
    assert detail.status_code == 200 and detail.json()["organisation"]["tax_code"] == "1001123456"
    empty = client.post(url + "refuse/", {"version": submission.version, "reasons": ""}, format="json")
    assert empty.status_code == 400
    reasons = "Thủ tục này thuộc thẩm quyền của Bộ Văn hóa, Thể thao và Du lịch."
    done = client.post(url + "refuse/", {"version": submission.version, "reasons": reasons}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "not_received"
    late = client.post(url + "receive/", {"version": done.json()["version"]}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"
    assert Case.objects.count() == 0
    _send_pending()
    message = smtp_server.wait_for(to=applicant.user.email, subject_contains="Từ chối tiếp nhận")
    assert reasons in message.text
    # The applicant reads why, and may no longer change or withdraw it.
    page = _client(applicant.user).get(reverse("portal:submission-edit", args=[submission.uuid])).content.decode()
    assert 'data-state="not_received"' in page and reasons in page and 'id="withdraw"' not in page


def test_the_api_receives_with_the_due_date_and_answers_a_retry_with_the_same_case(applicant, officer, api):
    submission = submitted(applicant)
    client = api.as_user(officer)
    url = f"/api/v1/portal/office/submissions/{submission.uuid}/receive/"
    stale = client.post(url, {"version": submission.version + 5}, format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    first = client.post(url, {"version": submission.version}, format="json")
    assert first.status_code == 201, first.content
    case = Case.objects.get(pk=first.json()["case"])
    assert first.json()["reference"] == case.reference and case.due_at is not None
    again = client.post(url, {"version": submission.version}, format="json")
    assert again.status_code == 200 and again.json()["case"] == case.pk
    assert client.get("/api/v1/portal/office/submissions/").json()["results"] == []


def test_who_may_answer(applicant, inspector, reporter, api):
    submission = submitted(applicant)
    elsewhere = Agency.objects.exclude(pk=submission.agency_id).first()
    stranger = UserFactory(roles=[r.LICENSING_OFFICER], agencies=[elsewhere])
    with pytest.raises(NotFound):
        services.submission_receive(actor=stranger, submission_uuid=submission.uuid)
    assert _client(stranger).get(reverse("portal-office:submission", args=[submission.uuid])).status_code == 404
    assert api.as_user(stranger).get(f"/api/v1/portal/office/submissions/{submission.uuid}/").status_code == 404
    assert api.as_user(stranger).get("/api/v1/portal/office/submissions/").json()["results"] == []
    for user in (inspector, reporter):
        with pytest.raises(NotAllowed):
            services.submission_refuse(actor=user, submission_uuid=submission.uuid, version=None, reasons="x")
        assert _client(user).get(reverse("portal-office:queue")).status_code == 403
    # A draft nobody submitted is no officer's business.
    draft, _ = services.submission_create(representative=applicant, procedure="bulletin")
    head = UserFactory(roles=[r.DEPARTMENT_HEAD])
    assert _client(head).get(reverse("portal-office:submission", args=[draft.uuid])).status_code == 404
    with pytest.raises(NotFound):
        services.submission_receive(actor=head, submission_uuid=draft.uuid)
    # The head answers like the officers.
    assert _client(head).get(reverse("portal-office:queue")).status_code == 200
    with pytest.raises(ValidationFailed):
        services.submission_refuse(actor=head, submission_uuid=submission.uuid, version=None, reasons=" ")


@pytest.mark.django_db(transaction=True)
def test_two_officers_receiving_at_once_make_one_case(applicant, officer, officer2):
    submission = submitted(applicant)
    results = run_together([
        lambda: services.submission_receive(actor=officer, submission_uuid=submission.uuid,
                                            version=submission.version),
        lambda: services.submission_receive(actor=officer2, submission_uuid=submission.uuid,
                                            version=submission.version),
    ])
    assert all(isinstance(result, tuple) for result in results), results
    assert sorted(created for _case, created in results) == [False, True]
    assert len({case.pk for case, _created in results}) == 1
    assert Case.objects.count() == 1
    submission.refresh_from_db()
    assert submission.case_id == results[0][0].pk
    assert submission.case.attachments.count() == 1


@pytest.mark.django_db(transaction=True)
def test_receive_and_refuse_at_once_never_both_win(applicant, officer, officer2):
    submission = submitted(applicant)
    results = run_together([
        lambda: services.submission_receive(actor=officer, submission_uuid=submission.uuid,
                                            version=submission.version),
        lambda: services.submission_refuse(actor=officer2, submission_uuid=submission.uuid,
                                           version=submission.version, reasons="Không thuộc thẩm quyền."),
    ])
    failures = [result for result in results if isinstance(result, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], InvalidTransition | StaleVersion), results
    submission.refresh_from_db()
    if isinstance(results[0], tuple):
        assert submission.state == Submission.State.ACCEPTED and Case.objects.count() == 1
        assert not Notification.objects.filter(case__isnull=True).exists()
    else:
        assert submission.state == Submission.State.NOT_RECEIVED and Case.objects.count() == 0


def test_another_organisation_cannot_answer_for_the_officer(applicant, applicant_other):
    submission = submitted(applicant)
    with pytest.raises(NotAllowed):
        services.submission_receive(actor=applicant_other.user, submission_uuid=submission.uuid)
    assert PROCEDURE == submission.procedure


def test_the_queue_shows_when_each_dossier_is_to_be_answered_on_vietnams_calendar(applicant, officer, settings):
    """Submitted on a Friday afternoon before a weekend: answered by the close of the next working day (Monday);
    on Tuesday it is marked late, on the queue and on its page, until it is answered."""
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    settings.ONLINE_ANSWER_WORKING_DAYS = 1
    with time_machine.travel(datetime(2026, 12, 4, 15, 30, tzinfo=hcm), tick=False):  # Friday
        submission = submitted(applicant)
    office = _client(officer)
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=hcm), tick=False):  # Monday morning
        page = office.get(reverse("portal-office:queue"), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
        row = page[page.index(f'data-submission="{submission.uuid}"'):]
        row = row[:row.index("</tr>")]
        assert "17:00 07/12/2026" in row and 'data-late="1"' not in page
    with time_machine.travel(datetime(2026, 12, 8, 8, 0, tzinfo=hcm), tick=False):  # Tuesday: late
        page = office.get(reverse("portal-office:queue"), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
        assert f'data-submission="{submission.uuid}" class="late" data-late="1"' in page
        detail = office.get(reverse("portal-office:submission", args=[submission.uuid])).content.decode()
        assert 'id="answer-due"' in detail and "badge late" in detail
    settings.ONLINE_ANSWER_WORKING_DAYS = 3  # the department's rule, set by the operator: to Wednesday's close
    with time_machine.travel(datetime(2026, 12, 8, 8, 0, tzinfo=hcm), tick=False):
        page = office.get(reverse("portal-office:queue")).content.decode()
        assert "17:00 09/12/2026" in page and 'data-late="1"' not in page
