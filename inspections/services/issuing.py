"""The inspection documents, made by tasks after commit, each one once."""

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from cases import roles as r
from cases.errors import NotFound
from cases.models import CaseEvent
from cases.services import case_lock

from .. import documents as docs
from ..models import Campaign, Document, Outcome, Target, ViolationRecord


def _document_store(campaign: Campaign, *, kind: str, content, target: Target | None = None) -> Document | None:
    """Render outside any lock (it takes a while), then store under the campaign's lock unless a document of
    this kind is already there: a second delivery renders in vain and stores nothing."""
    data = docs.render(content, kind=kind)
    with transaction.atomic():
        case = case_lock(campaign.case_id)
        if Document.objects.filter(campaign=campaign, target=target, kind=kind).exists():
            return None
        document = Document(campaign=campaign, target=target, kind=kind, number_text=content.number_text,
                            issued_at=content.issued_at, sha256=hashlib.sha256(data).hexdigest())
        stem = f"{case.reference}-{kind}" + (f"-{target.pk}" if target else "")
        document.file.save(f"{stem}.docx", ContentFile(data), save=False)
        try:
            with transaction.atomic():
                document.save()
        except Exception:
            document.file.delete(save=False)
            raise
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.DOCUMENT, action=kind,
                                 after={"document": document.pk, "number": content.number_text,
                                        "target": target.pk if target else None})
    return document


def visit_minutes_issue(*, target_id: int) -> Document | None:
    """The visit minutes of a target with an outcome, once."""
    target = Target.objects.select_related("campaign__case", "campaign__checklist", "establishment").filter(
        pk=target_id).first()
    if target is None:
        raise NotFound(_("Target not found."))
    if target.outcome == Outcome.PENDING or target.documents.filter(kind=Document.Kind.VISIT_MINUTES).exists():
        return None
    return _document_store(target.campaign, kind=Document.Kind.VISIT_MINUTES, target=target,
                           content=docs.visit_minutes_content(target))


def violation_record_issue(*, violation_id: int) -> Document | None:
    """The violation record's DOCX, once."""
    violation = ViolationRecord.objects.select_related(
        "target__campaign__case__case_type", "target__campaign__checklist", "target__establishment", "recorded_by",
        "sanction").filter(pk=violation_id).first()
    if violation is None:
        raise NotFound(_("Violation record not found."))
    target = violation.target
    if target.documents.filter(kind=Document.Kind.VIOLATION_RECORD).exists():
        return None
    return _document_store(target.campaign, kind=Document.Kind.VIOLATION_RECORD, target=target,
                           content=docs.violation_record_content(violation))


def conclusion_issue(*, campaign_id: int) -> Document | None:
    """The conclusion of a concluded campaign, once."""
    campaign = Campaign.objects.select_related("case", "checklist").filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    case = campaign.case
    if case.decided_at is None or case.outcome != "concluded" or campaign.documents.filter(
            kind=Document.Kind.CONCLUSION, target__isnull=True).exists():
        return None
    event = case.events.filter(kind=CaseEvent.Kind.TRANSITION, action="conclude").select_related(
        "actor").order_by("-at", "-id").first()
    # Signed by the head of the department; a conclusion a lead entered leaves the name to be signed in.
    actor = event.actor if event else None
    signer = docs.person(actor) if actor is not None and r.DEPARTMENT_HEAD in r.user_roles(actor) else ""
    return _document_store(campaign, kind=Document.Kind.CONCLUSION,
                           content=docs.conclusion_content(campaign, signer_name=signer))


