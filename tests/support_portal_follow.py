"""Applicants and their online dossiers, for the tests of following a dossier (tests/test_portal_follow*.py,
tests/test_portal_access*.py).

A received online dossier is made as the portal makes it: a Submission of the representative's organisation, and,
at its receipt, the case the officer receives through licensing.services.application_receive (with the
representative's address as the case's contact) linked to it. The officers' own steps go through the services."""

from datetime import timedelta

from django.utils import timezone

from applicants import submissions as portal
from applicants.models import ApplicantOrganisation, Representative, Submission
from cases import services as case_services
from cases.models import Case

from . import support_licensing as sl
from .factories import UserFactory

ORGANISATIONS = {
    "print": {"name": "Công ty TNHH In Hoàng Long", "kind": "company", "tax_code": "1001123456",
              "address": "Lô C5, Khu công nghiệp Phúc Khánh, TP Thái Bình", "email": "inhoanglong@example.vn"},
    "school": {"name": "Trường Đại học Thái Bình", "kind": "school", "tax_code": "1001045872",
               "address": "Xã Tân Bình, TP Thái Bình", "email": "vanphong@dhtb.example.vn"},
}


def representative_make(which: str = "print", *, username: str | None = None, verified: bool = True):
    """A user who represents the organisation `which` (made once per tax code); returns the user."""
    values = ORGANISATIONS[which]
    organisation, _ = ApplicantOrganisation.objects.get_or_create(tax_code=values["tax_code"], defaults=values)
    user = UserFactory(username=username) if username else UserFactory()
    user.email = f"{user.username}@{'inhoanglong' if which == 'print' else 'dhtb'}.example.vn"
    user.save(update_fields=["email"])
    Representative.objects.create(user=user, organisation=organisation, full_name=user.get_full_name(),
                                  email_verified_at=timezone.now() if verified else None)
    return user


def submitted(user, procedure: str = "printing_licence") -> Submission:
    """An online dossier of the user's organisation, made, filled, given its required file and submitted through
    the portal's services (applicants.submissions), waiting to be received."""
    representative = user.representative
    submission, _ = portal.submission_create(representative=representative, procedure=procedure)
    submission = portal.submission_update(representative=representative, submission_uuid=submission.uuid,
                                          fields=sl.dossier(procedure), version=submission.version)
    if sl.REQUIRED_FILE[procedure] is not None:
        kind, upload = sl.required_upload(procedure)
        portal.file_add(representative=representative, submission_uuid=submission.uuid, upload=upload, kind=kind)
    submission.refresh_from_db()
    return portal.submission_submit(representative=representative, submission_uuid=submission.uuid,
                                    version=submission.version, declared=True)


def online_received(user, officer, procedure: str = "printing_licence", *, path: tuple = (), head=None) -> Submission:
    """An online dossier submitted by `user` and received by `officer` (the case starts then, with the
    representative's address as its contact), walked through the officers' `path` of actions (the head takes the
    decisions)."""
    submission = submitted(user, procedure)
    case, _ = portal.submission_receive(actor=officer, submission_uuid=submission.uuid)
    for action in path:
        actor = head if action in {"approve", "refuse", "return_for_review", "revoke"} and head else officer
        note = {"request_supplement": "Đề nghị bổ sung bản sao giấy chứng nhận đăng ký doanh nghiệp.",
                "propose_refusal": "Nội dung không phù hợp quy định.", "refuse": "Nội dung không phù hợp quy định.",
                "apologise_late": "Hồ sơ cần xin ý kiến thêm của cơ quan liên quan."}.get(action, "")
        extra = {}
        if action == "apologise_late":
            extra["new_due_at"] = Case.objects.get(pk=case.pk).due_at + timedelta(days=10)
        case_services.case_transition(case_id=case.pk, actor=actor, action=action, note=note, **extra)
    submission.refresh_from_db()
    return submission


def issued(submission: Submission):
    """The result of a granted online dossier, issued as the task issues it; returns the IssuedDocument."""
    from licensing import services as licensing_services

    return licensing_services.result_issue(case_id=submission.case_id)


def portal_dossier_parameters(world) -> dict[str, list[dict]]:
    """Real path parameters of /api/v1/portal/dossiers/ (tests/test_api_fuzz_schemathesis.py): the world's online
    dossier, and a document of the world."""
    from .support_portal_submit import world_submission

    ids = {"uuid": str(world_submission(world).uuid)}
    return {
        "/api/v1/portal/dossiers/{uuid}/": [ids],
        "/api/v1/portal/dossiers/{uuid}/documents/{document_id}/download/": [{**ids, "document_id": world.document.pk}],
    }
