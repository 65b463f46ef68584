"""The applicant of an online dossier hears by e-mail (a real SMTP server, tests/support_smtp.py) of a supplement
request, the result, a refusal and an apology letter: at the representative's address (the case's contact, set at
the receipt), each mail naming the dossier's page on the portal, and each sent once however often the sender runs."""

import pytest
from django.urls import reverse

from applicants.models import Submission
from cases import services as case_services
from licensing.models import Notification
from licensing.notifications import notifications_send

from .support_portal_follow import issued, online_received, representative_make
from .support_smtp import smtp_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def send_all():
    sent, error = notifications_send(notification_ids=list(Notification.objects.values_list("pk", flat=True)))
    assert error is None
    return sent


def portal_url(submission: Submission) -> str:
    return reverse("portal:dossier", kwargs={"uuid": submission.uuid})


def test_the_applicant_is_mailed_each_step_with_the_portal_link_once(smtp_server, officer, head, settings):  # noqa: F811
    settings.DOCUMENTS_PUBLIC_BASE_URL = "https://dichvucong.example.vn"
    rep = representative_make("print")
    supplement = online_received(rep, officer, path=("start_review", "request_supplement"))
    refused = online_received(rep, officer, path=("start_review", "propose_refusal", "refuse"), head=head)
    late = online_received(rep, officer, path=("start_review", "apologise_late"))
    granted = online_received(rep, officer, path=("start_review", "propose_grant", "approve"), head=head)
    issued(granted)
    for submission in (supplement, refused, late, granted):
        assert submission.case.contact_email == rep.email
    assert send_all()
    assert send_all() == []  # a second run (a retried task) sends nothing again
    expected = {"Đề nghị bổ sung hồ sơ": supplement, "từ chối": refused, "Xin lỗi": late,
                f"Kết quả giải quyết hồ sơ {granted.case.reference}": granted}
    for words, submission in expected.items():
        message = smtp_server.wait_for(to=rep.email, subject_contains=words)
        assert submission.case.reference in message.subject
        assert message.link("/portal/dossiers/") == "https://dichvucong.example.vn" + portal_url(submission)
    subjects = [m.subject for m in smtp_server.sent_to(rep.email)]
    assert len(subjects) == len(set(subjects))  # nothing twice
    assert not any(address != rep.email for m in smtp_server.messages for address in m.to
                   if "dichvucong" in m.text)


def test_a_counter_case_mail_has_no_portal_link(smtp_server, officer):  # noqa: F811
    from . import support_licensing as sl

    case = sl.application_received(officer, "bulletin")
    case_services.case_transition(case_id=case.pk, actor=officer, action="request_supplement",
                                  note="Bổ sung mẫu trình bày bản tin.")
    send_all()
    message = smtp_server.wait_for(to=case.contact_email, subject_contains="Đề nghị bổ sung hồ sơ")
    assert "/portal/" not in message.text
