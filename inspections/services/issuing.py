"""The inspection documents, made by tasks after commit, each one once."""

import dataclasses
import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from cases import roles as r
from cases.errors import NotFound
from cases.models import CaseEvent
from cases.services import case_lock
from licensing.electronic import verification_fields
from worker.outbox import outbox_enqueue

from .. import documents as docs
from .. import electronic
from ..models import Campaign, Document, Outcome, SanctionDecision, Target, ViolationRecord


def _document_store(campaign: Campaign, *, kind: str, content, target: Target | None = None,
                    holder: str = "") -> Document | None:
    """Reserve the document's verification code (documents/, idempotent per campaign, target and kind), render it
    with the code and QR in its first page's footer outside any lock (it takes a while), then store it under the
    campaign's lock unless a document of this kind is already there: a second delivery renders in vain and stores
    nothing. After commit, a task makes its signed PDF (inspections/electronic.py)."""
    verifiable = electronic.verification_reserve(
        campaign, kind=kind, target=target, number_text=content.number_text, issued_at=content.issued_at,
        subject=content.summary or content.title, holder=holder)
    content = dataclasses.replace(content, **verification_fields(verifiable))
    data = docs.render(content, kind=kind)
    with transaction.atomic():
        case = case_lock(campaign.case_id)
        if Document.objects.filter(campaign=campaign, target=target, kind=kind).exists():
            return None
        document = Document(campaign=campaign, target=target, kind=kind, number_text=content.number_text,
                            issued_at=content.issued_at, sha256=hashlib.sha256(data).hexdigest(),
                            verifiable=verifiable)
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
        outbox_enqueue(electronic.SIGN_TASK, document_id=document.pk)
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
                           content=docs.visit_minutes_content(target), holder=target.establishment.name)


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
                           content=docs.violation_record_content(violation),
                           holder=violation.offender_name or target.establishment.name)


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




def decision_issue(*, campaign_id: int) -> Document | None:
    """The decision to inspect ("Quyết định kiểm tra") of an announced campaign, once."""
    campaign = Campaign.objects.select_related("case__case_type", "case__agency", "checklist").filter(
        pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    if campaign.decision_number is None or campaign.documents.filter(
            kind=Document.Kind.DECISION, target__isnull=True).exists():
        return None
    return _document_store(campaign, kind=Document.Kind.DECISION, content=docs.decision_content(campaign))


def sanction_decision_issue(*, sanction_id: int) -> Document | None:
    """The sanction decision ("Quyết định xử phạt vi phạm hành chính") once it is decided, once."""
    sanction = SanctionDecision.objects.select_related(
        "violation__target__campaign__case__agency", "violation__target__campaign__checklist",
        "violation__target__establishment", "decided_by").filter(pk=sanction_id).first()
    if sanction is None:
        raise NotFound(_("Sanction decision not found."))
    target = sanction.violation.target
    if sanction.decided_at is None or target.documents.filter(kind=Document.Kind.SANCTION_DECISION).exists():
        return None
    return _document_store(target.campaign, kind=Document.Kind.SANCTION_DECISION, target=target,
                           content=docs.sanction_decision_content(sanction),
                           holder=sanction.violation.offender_name or target.establishment.name)
