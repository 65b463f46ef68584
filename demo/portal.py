"""The portal's demo: two applicant accounts, `doanhnghiep1` for the print company (Công ty TNHH In Hoàng Long) and
`doanhnghiep2` for the university (Trường Đại học Thái Bình), with the demo password, e-mail verified, and online
dossiers in every state a representative meets: a draft, submitted, to be completed before receipt, not received,
received and in review, supplement requested, result issued, refused, late with an apology letter, rated (one of
them unsatisfied, on the head's list). Everything goes through the services (the portal's, then the officers' and
the head's), with the real clock, as demo/recent.py does; made once (a second run finds the accounts' dossiers and
makes nothing)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from applicants import dossiers
from applicants import submissions as portal
from applicants.models import ApplicantOrganisation, Representative, Submission
from cases import services as case_services
from cases.models import CaseEvent
from licensing import services as licensing_services
from licensing.procedures import PROCEDURES

from .accounts import DEMO_PASSWORD
from .files import demo_pdf
from .recent import DOSSIERS

ACCOUNTS = {
    "doanhnghiep1": {
        "person": ("Phạm Thị", "Lan", "Giám đốc"),
        "organisation": {"name": "Công ty TNHH In Hoàng Long", "kind": "company", "tax_code": "1000123456",
                         "address": "Số 12 Lý Bôn, TP. Thái Bình", "phone": "0912 345 678",
                         "email": "inhoanglong@example.vn"},
        "email": "doanhnghiep1@inhoanglong.example.vn",
    },
    "doanhnghiep2": {
        "person": ("Nguyễn Văn", "Minh", "Chánh Văn phòng"),
        "organisation": {"name": "Trường Đại học Thái Bình", "kind": "school", "tax_code": "1001045872",
                         "address": "Xã Tân Bình, TP. Thái Bình", "phone": "0227 3633 669",
                         "email": "vanphong@tbu.example"},
        "email": "doanhnghiep2@tbu.example",
    },
}
SUPPLEMENT = "Đề nghị bổ sung sơ đồ mặt bằng nơi đặt thiết bị in và bản sao hợp đồng thuê nhà xưởng."
COMPLETION = "Tờ khai chưa ghi danh mục thiết bị in; đề nghị bổ sung trước khi tiếp nhận."
NOT_RECEIVED = "Hồ sơ không thuộc thẩm quyền giải quyết của Sở (đề nghị nộp tại Cục Xuất bản, In và Phát hành)."
REFUSAL = "Cơ sở chưa đáp ứng điều kiện về mặt bằng sản xuất theo quy định."
APOLOGY = "Hồ sơ cần xin ý kiến thẩm định của cơ quan liên quan nên chưa giải quyết kịp thời hạn."
# (account, procedure, path): the portal's steps, then the officers'. Steps: "draft", "submit", "completion",
# "not_received", "receive", workflow actions, "issue" (the result, the refusal letter), "rate:<score>:<comment>".
PATHS = [
    ("doanhnghiep1", "printing_licence", ("draft",)),
    ("doanhnghiep1", "print_registration", ("submit",)),
    ("doanhnghiep1", "printing_licence", ("submit", "completion")),
    ("doanhnghiep1", "noncommercial_publication", ("submit", "not_received")),
    ("doanhnghiep1", "printing_licence", ("submit", "receive", "start_review")),
    ("doanhnghiep1", "printing_licence", ("submit", "receive", "start_review", "request_supplement")),
    ("doanhnghiep1", "print_registration", ("submit", "receive", "start_review", "propose_grant", "approve",
                                            "issue")),
    ("doanhnghiep1", "printing_licence", ("submit", "receive", "start_review", "propose_refusal", "refuse", "issue",
                                          "rate:2:Thời gian chờ thẩm định lâu, cán bộ chưa hướng dẫn rõ.")),
    ("doanhnghiep1", "printing_licence", ("submit", "receive", "start_review", "apologise_late")),
    ("doanhnghiep2", "bulletin", ("submit", "receive")),
    ("doanhnghiep2", "bulletin", ("submit", "receive", "start_review", "request_supplement")),
    ("doanhnghiep2", "bulletin", ("submit", "receive", "start_review", "propose_grant", "approve", "issue",
                                  "rate:5:Giải quyết đúng hẹn, nhận kết quả trực tuyến thuận tiện.")),
    ("doanhnghiep2", "bulletin", ("submit", "completion")),
]
NOTES = {"request_supplement": SUPPLEMENT, "propose_refusal": REFUSAL, "refuse": REFUSAL, "apologise_late": APOLOGY}


def applicant_logins() -> list[tuple[str, str]]:
    """(user name, organisation) of the demo's applicant accounts, for the printed logins."""
    return [(username, spec["organisation"]["name"]) for username, spec in ACCOUNTS.items()]


def applicant_accounts_make() -> dict:
    """The two representatives (made once, e-mail verified). Returns {user name: user}."""
    User = get_user_model()
    users = {}
    password = None
    with transaction.atomic():
        for username, spec in ACCOUNTS.items():
            first, last, position = spec["person"]
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last, "email": spec["email"]})
            if created:
                password = password or make_password(DEMO_PASSWORD)
                user.password = password
                user.save(update_fields=["password"])
            organisation, _ = ApplicantOrganisation.objects.get_or_create(tax_code=spec["organisation"]["tax_code"],
                                                                          defaults=spec["organisation"])
            Representative.objects.get_or_create(user=user, defaults={
                "organisation": organisation, "full_name": f"{first} {last}", "position": position,
                "phone": spec["organisation"]["phone"], "email_verified_at": timezone.now()})
            users[username] = user
    return users


def _draft(representative: Representative, procedure: str) -> Submission:
    submission, _ = portal.submission_create(representative=representative, procedure=procedure)
    fields = DOSSIERS[procedure][1](timezone.now())
    return portal.submission_update(representative=representative, submission_uuid=submission.uuid, fields=fields,
                                    version=submission.version)


def _files(representative: Representative, submission: Submission) -> None:
    for kind, _label in PROCEDURES[submission.procedure].required_files:
        upload = demo_pdf(f"{kind}.pdf", f"{submission.uuid}-{kind}")
        portal.file_add(representative=representative, submission_uuid=submission.uuid, upload=upload, kind=kind)


def _walk(user, procedure: str, steps: tuple, *, officer, head) -> Submission:
    representative = user.representative
    submission = _draft(representative, procedure)
    if "submit" not in steps:
        return submission
    _files(representative, submission)
    submission.refresh_from_db()
    submission = portal.submission_submit(representative=representative, submission_uuid=submission.uuid,
                                          version=submission.version, declared=True)
    case = None
    for step in steps[1:]:
        if step == "completion":
            portal.submission_request_completion(actor=officer, submission_uuid=submission.uuid, version=None,
                                                 reasons=COMPLETION)
        elif step == "not_received":
            portal.submission_refuse(actor=officer, submission_uuid=submission.uuid, version=None,
                                     reasons=NOT_RECEIVED)
        elif step == "receive":
            case, _ = portal.submission_receive(actor=officer, submission_uuid=submission.uuid)
        elif step == "issue":  # what the worker does after the decision (done already when tasks run in process)
            licensing_services.result_issue(case_id=case.pk)
            licensing_services.refusal_letter_issue(case_id=case.pk)
        elif step.startswith("rate:"):
            _rate, score, comment = step.split(":", 2)
            submission.refresh_from_db()
            dossiers.rating_give(submission=submission, user=user, score=int(score), comment=comment)
        else:
            actor = head if step in {"approve", "refuse"} else officer
            extra = {}
            if step == "apologise_late":
                case.refresh_from_db()
                extra["new_due_at"] = case.due_at + timedelta(days=7)
            case = case_services.case_transition(case_id=case.pk, actor=actor, action=step,
                                                 note=NOTES.get(step, ""), **extra)
            if step == "apologise_late":
                event = case.events.filter(kind=CaseEvent.Kind.TRANSITION, action=step).latest("at", "id")
                licensing_services.apology_letter_issue(case_id=case.pk, event_id=event.pk)
    submission.refresh_from_db()
    return submission


def portal_demo_load(*, officer, head) -> int:
    """The accounts and their online dossiers (once). `officer` receives and reviews, `head` decides: they must
    work for the agency competent today (the demo's canbo1 and lanhdao). Returns how many dossiers were made."""
    users = applicant_accounts_make()
    organisations = [user.representative.organisation_id for user in users.values()]
    if Submission.objects.filter(organisation_id__in=organisations).exists():
        return 0
    made = 0
    for username, procedure, steps in PATHS:
        _walk(users[username], procedure, steps, officer=officer, head=head)
        made += 1
    return made
