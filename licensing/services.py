"""Writes of the licensing procedures. Each service owns its transaction and writes the timeline inside it."""

import dataclasses
import hashlib
import logging
import uuid as uuid_lib
from collections import defaultdict
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError as ShapeError

from agencies.models import Agency
from agencies.selectors import agency_ids_member, letterhead, predecessors_closure, signature_on
from cases import hooks
from cases import roles as r
from cases.bulk import update_by_value
from cases.competence import agency_competent
from cases.deadlines import quarter_start
from cases.errors import Conflict, InvalidTransition, NotAllowed, StaleVersion, ValidationFailed
from cases.models import Attachment, Case, CaseEvent, CaseType, CaseTypeAgency, LegalInstrument
from cases.selectors import case_domain_roles_may_work
from cases.services import (
    agency_member_required,
    case_create,
    case_lock,
    sequence_next,
    transition_apply_system,
)
from cases.workflow import TERMINAL, State
from worker.outbox import outbox_enqueue

from . import electronic
from .documents import OfficialDocument, citation, date_line, document_render
from .errors import DossierIncomplete
from .models import Dossier, IssuedDocument, Organisation, Permit, PrintFacility
from .notifications import notification_queue, notification_send, notifications_send
from .procedures import PROCEDURES

logger = logging.getLogger(__name__)

# The one-stop shop's slips (licensing/slips.py), issued by tasks after commit.
RECEIPT_TASK = "licensing.receipt_issue"
SUPPLEMENT_SLIP_TASK = "licensing.supplement_slip_issue"

ORGANISATION_FIELDS = ("name", "kind", "tax_code", "address", "representative", "phone", "email")


def _fields_validate(procedure, fields, *, received_at) -> dict:
    try:
        return procedure.fields_validate(fields, received_at=received_at)
    except ShapeError as exc:
        raise ValidationFailed(_("The dossier fields are not valid."), extra={"errors": {"fields": exc.detail}}) \
            from None


def agency_for_registry(*, actor, case_types, agency: Agency | None = None, day=None) -> Agency:
    """The agency a registry entry written by `actor` belongs to (an organisation, an establishment): the one named,
    which the actor must work for; else the actor's only agency; else, among the actor's agencies, the only one
    competent on `day` (today) for one of `case_types`. Otherwise a validation error asks for `agency`."""
    mine = agency_ids_member(actor)
    if actor.is_superuser and not mine:  # a superuser working for no agency writes for any, as in agency_competent
        candidates = list(Agency.objects.order_by("pk"))
    else:
        candidates = list(Agency.objects.filter(pk__in=mine).order_by("pk"))
    if agency is not None:
        if agency.pk not in {candidate.pk for candidate in candidates}:
            message = _("You do not work for this agency.")
            raise ValidationFailed(message, extra={"errors": {"agency": [message]}})
        return agency
    if len(candidates) == 1:
        return candidates[0]
    day = day or timezone.localdate()
    competent = set(CaseTypeAgency.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day),
                                                  valid_from__lte=day, case_type__in=case_types)
                    .values_list("agency_id", flat=True))
    chosen = [candidate for candidate in candidates if candidate.pk in competent]
    if len(chosen) == 1:
        return chosen[0]
    if not candidates:
        message = _("You do not work for any agency.")
        raise ValidationFailed(message, extra={"errors": {"agency": [message]}})
    message = _("Several of your agencies keep this registry: choose one.")
    raise ValidationFailed(message, extra={"errors": {"agency": [message]},
                                           "agencies": [{"id": c.pk, "name": str(c)} for c in chosen or candidates]})


def organisation_resolve(*, agency: Agency, organisation_id: int | None = None,
                         organisation: dict | None = None) -> Organisation:
    """The organisation of `agency`'s registry: by id (an entry of the agency or of its predecessors, whose
    registries it holds), by tax code, or a new entry. Another agency's entry is unknown here."""
    if organisation_id is not None:
        found = Organisation.objects.filter(pk=organisation_id,
                                            agency_id__in=predecessors_closure({agency.pk})).first()
        if found is None:
            raise ValidationFailed(_("Unknown organisation."),
                                   extra={"errors": {"organisation_id": [_("Unknown organisation.")]}})
        return found
    if not organisation or not organisation.get("name"):
        raise ValidationFailed(_("The applicant organisation is required."),
                               extra={"errors": {"organisation": [_("This field is required.")]}})
    values = {k: organisation.get(k) or "" for k in ORGANISATION_FIELDS}
    values["kind"] = values["kind"] or Organisation.Kind.OTHER
    if values["tax_code"]:
        found, _created = Organisation.objects.get_or_create(agency=agency, tax_code=values["tax_code"],
                                                             defaults=values)
        return found
    found = Organisation.objects.filter(agency=agency, name=values["name"], address=values["address"],
                                        tax_code="").first()
    return found or Organisation.objects.create(agency=agency, **values)


def organisation_create(*, actor, organisation: dict, agency: Agency | None = None) -> Organisation:
    """An entry of the actor's agency's registry of applicants (the same tax code: the entry already there)."""
    if not (r.CREATE_ROLES["licensing"] & r.user_roles(actor)):
        raise NotAllowed(_("Your role cannot keep the registry of applicants."))
    holder = agency_for_registry(actor=actor, case_types=CaseType.objects.filter(domain="licensing"), agency=agency)
    with transaction.atomic():
        return organisation_resolve(agency=holder, organisation=organisation)


def application_receive(
    *, actor, procedure: str, fields: dict, organisation_id: int | None = None, organisation: dict | None = None,
    received_at: datetime | None = None, contact_email: str = "", contact_phone: str = "", summary: str = "",
    uuid: uuid_lib.UUID | None = None, agency: Agency | None = None,
) -> tuple[Case, bool]:
    """Receive a dossier of one of the six procedures: a licensing case with its validated fields, held by the
    agency competent on the receipt date among the actor's (`agency` names one when they work for several); the
    applicant is an entry of that agency's registry."""
    spec = PROCEDURES.get(procedure)
    case_type = CaseType.objects.filter(code=procedure, domain="licensing").first()
    if spec is None or case_type is None:
        raise ValidationFailed(_("Unknown procedure."), extra={"errors": {"procedure": [_("Unknown procedure.")]}})
    existing = Case.objects.filter(uuid=uuid).select_related("dossier__organisation").first() if uuid else None
    if existing is None and received_at is not None and received_at < quarter_start(timezone.now()):
        # The figures of a quarter that has ended are closed: a dossier received then cannot be entered now.
        raise ValidationFailed(
            _("The receipt date falls in a quarter that has ended; its figures are closed."),
            extra={"errors": {"received_at": [_("Must be within the current quarter.")]}})
    # A retry is checked against the receipt time it was stored with, not against the clock of the retry.
    valid_fields = _fields_validate(spec, fields,
                                    received_at=existing.received_at if existing else received_at or timezone.now())
    if uuid is not None:
        if existing is not None:  # a retried request: the same dossier from the same officer, or a conflict
            if existing.created_by_id != actor.pk or getattr(existing, "dossier", None) is None \
                    or existing.dossier.fields != valid_fields or existing.case_type_id != case_type.pk \
                    or (received_at is not None and received_at != existing.received_at) \
                    or not _same_applicant(existing.dossier.organisation, organisation_id, organisation):
                raise Conflict(_("A different case was already stored under this id."),
                               extra={"stored": {"id": existing.pk, "reference": existing.reference}})
            return existing, False
    if not (r.CREATE_ROLES["licensing"] & r.user_roles(actor)):
        raise NotAllowed(_("Your role cannot open cases of this kind."))
    # The agency first: the applicant is looked up in its registry (case_create checks the same choice again).
    keeper = agency_competent(case_type=case_type, day=timezone.localtime(received_at or timezone.now()).date(),
                              actor=actor, agency=agency)
    with transaction.atomic():
        holder = organisation_resolve(agency=keeper, organisation_id=organisation_id, organisation=organisation)
        case, created = case_create(
            actor=actor, case_type=case_type, subject_name=holder.name, subject_address=holder.address,
            contact_email=contact_email or holder.email, contact_phone=contact_phone or holder.phone,
            summary=summary or _summary(procedure, valid_fields), received_at=received_at, uuid=uuid, agency=keeper,
        )
        if created:
            Dossier.objects.create(case=case, organisation=holder, fields=valid_fields, complete=None)
            notification_queue(case, key="received")
            # The receipt and appointment slip (licensing/slips.py), with its receipt secret, after commit.
            outbox_enqueue(RECEIPT_TASK, case_id=case.pk)
    return case, created


def _same_applicant(holder: Organisation, organisation_id: int | None, organisation: dict | None) -> bool:
    """Would organisation_resolve() give `holder` for this request? (A retry may not change the applicant.)"""
    if organisation_id is not None:
        return holder.pk == organisation_id
    organisation = organisation or {}
    if organisation.get("tax_code"):
        return holder.tax_code == organisation["tax_code"]
    return (holder.tax_code, holder.name, holder.address) == ("", organisation.get("name"),
                                                               organisation.get("address") or "")


def dossier_summary(procedure: str, fields: dict) -> str:
    """What a dossier is about, as its case's summary prints it (the bulletin's name, the title, the facility...)."""
    return _summary(procedure, fields)


def _summary(procedure: str, fields: dict) -> str:
    name = fields.get("bulletin_name") or fields.get("title") or fields.get("facility_name") or fields.get("content")
    if procedure == "publication_import":
        name = ", ".join(t["title"] for t in fields["titles"])
    return (name or "")[:500]


def dossier_update(*, case_id: int, actor, fields: dict, version: int) -> Dossier:
    """The applicant's supplement or a correction: new field values, validated, with a before/after event."""
    with transaction.atomic():
        case = case_lock(case_id)
        if not case_domain_roles_may_work(user=actor, domain=case.case_type.domain) or \
                case.case_type.domain != "licensing":
            raise NotAllowed(_("Your role cannot change this dossier."))
        agency_member_required(case, actor)
        if version != case.version:
            raise StaleVersion(extra={"current_version": case.version})
        if case.state not in {State.RECEIVED, State.IN_REVIEW, State.SUPPLEMENT_REQUESTED}:
            raise InvalidTransition(_("The dossier can no longer be changed."), extra={"state": case.state})
        dossier = Dossier.objects.select_for_update().filter(case=case).first()
        if dossier is None:  # a case opened without its procedure's dossier (before applications were the only door)
            raise Conflict(_("This case has no dossier to change."))
        valid_fields = _fields_validate(PROCEDURES[case.case_type.code], fields, received_at=case.received_at)
        before = {k: v for k, v in dossier.fields.items() if valid_fields.get(k) != v}
        after = {k: v for k, v in valid_fields.items() if dossier.fields.get(k) != v}
        if after or before:
            # A summary made from the dossier at receipt follows it (it is the permit's title); a typed one stays.
            if dossier.fields and case.summary == _summary(case.case_type.code, dossier.fields):
                case.summary = _summary(case.case_type.code, valid_fields)
            dossier.fields = valid_fields
            dossier.save(update_fields=["fields"])
            case.version += 1
            case.save(update_fields=["version", "summary", "updated_at"])
            CaseEvent.objects.create(case=case, actor=actor, kind=CaseEvent.Kind.DOSSIER, before=before, after=after)
        dossier_completeness_check(case)
    return dossier


def dossier_completeness_check(case: Case) -> Dossier | None:
    """Required fields are checked on the way in; here: are the required files there? Records a change."""
    return dossiers_completeness_check([case]).get(case.pk)


def dossiers_completeness_check(cases: list[Case]) -> dict[int, Dossier]:
    """The completeness check for many cases at once (an intake batch): a few queries whatever their number.
    Returns {case id: dossier} for the cases that have one."""
    dossiers = {dossier.case_id: dossier for dossier in Dossier.objects.filter(case__in=cases)}
    if not dossiers:
        return {}
    present = defaultdict(set)
    for case_id, kind in Attachment.objects.filter(case_id__in=dossiers).values_list("case_id", "kind"):
        present[case_id].add(kind)
    now = timezone.now()
    events, changed = [], {}
    for case in cases:
        dossier = dossiers.get(case.pk)
        if dossier is None:
            continue
        missing = [kind for kind, _label in PROCEDURES[case.case_type.code].required_files
                   if kind not in present[case.pk]]
        complete = not missing
        if (dossier.complete, dossier.missing) != (complete, missing):
            events.append(CaseEvent(case=case, kind=CaseEvent.Kind.DOSSIER, at=now,
                                    before={"complete": dossier.complete, "missing": dossier.missing},
                                    after={"complete": complete, "missing": missing}))
            dossier.complete, dossier.missing = complete, missing
            changed[dossier.pk] = {"complete": complete, "missing": missing}
        dossier.checked_at = now
    Dossier.objects.filter(pk__in=[dossier.pk for dossier in dossiers.values()]).update(checked_at=now)
    update_by_value(Dossier.objects.all(), changed)
    CaseEvent.objects.bulk_create(events)
    return dossiers


# --- Documents -----------------------------------------------------------------------------------------


def _signature(case: Case, moment: datetime) -> dict[str, str]:
    """The signature block of a decision's document: the deciding head, with the title they hold in the case's
    agency on the document's date."""
    event = case.events.filter(kind=CaseEvent.Kind.TRANSITION, action__in=["approve", "refuse"]) \
        .select_related("actor").order_by("-at", "-id").first()
    return signature_on(case.agency, timezone.localtime(moment).date(), user=event.actor if event else None).fields()


def _format_value(value) -> str:
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict) and "title" in item:
                parts.append(f"{item['title']} ({item['quantity']} bản, xuất xứ {item['origin']})")
            elif isinstance(item, dict) and "name" in item:
                parts.append(f"{item['name']} ({item['quantity']})")
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:
            moment = timezone.localtime(datetime.fromisoformat(value))
            return moment.strftime("%H giờ %M ngày %d/%m/%Y")
        except ValueError:
            return value
    return str(value)


def _document_store(case: Case, *, kind: str, content: OfficialDocument, series: str = "", year=None,
                    number=None, event_id=None) -> IssuedDocument:
    """Render, store and record an issued document; its verification code is reserved first, so that the DOCX
    prints it with its QR code, and its signed PDF is made by a task after commit (licensing/electronic.py)."""
    verifiable = electronic.verification_reserve(
        case, kind=kind, number_text=content.number_text, issued_on=timezone.localtime(content.issued_at).date(),
        subject=content.summary or content.title, holder=content.recipient, event_id=event_id)
    content = dataclasses.replace(content, **electronic.verification_fields(verifiable))
    data = document_render(content)
    document = IssuedDocument(
        case=case, issuer=case.agency, kind=kind, series=series, year=year, number=number,
        number_text=content.number_text,
        issued_at=timezone.now(), signer_name=content.signer_name, sha256=hashlib.sha256(data).hexdigest(),
        event_id=event_id, verifiable=verifiable,
    )
    document.file.save(f"{case.reference}-{kind}.docx", ContentFile(data), save=False)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.DOCUMENT, action=kind,
                             after={"document": document.pk, "number": content.number_text})
    outbox_enqueue(electronic.SIGN_TASK, document_id=document.pk)
    return document


LETTER_SERIES = "CV"  # official letters (công văn): the refusals


def _number_take(*, agency, series: str, moment: datetime) -> tuple[int, int, str]:
    """The next number of an agency's series in the year of `moment`. Results print "15/GP-STTTT"; letters print
    the agency and the drafting division, "03/STTTT-TTBCXB" (Nghị định 30/2020/NĐ-CP, Phụ lục I). Numbers start
    at 01 each year, and at 01 for a new agency or a new symbol: the counter is the agency's and the symbol's."""
    year = timezone.localtime(moment).year
    if series == LETTER_SERIES:
        symbol = "-".join(part for part in (agency.symbol, agency.licensing_division_symbol) if part)
        number = sequence_next(key=f"document:{agency.pk}:{series}:{symbol}", year=year)
        return year, number, f"{number:02d}/{symbol}"
    number = sequence_next(key=f"document:{agency.pk}:{series}:{agency.symbol}", year=year)
    return year, number, f"{number:02d}/{series}-{agency.symbol}"


def legal_basis_lines(terms, *, moment: datetime) -> list[str]:
    """ "Căn cứ …;" lines: the agency's mandate, then the procedure's bases in their order, each cited in full and
    as in force on the document's date. Terms without structured bases cite their text whole."""
    day = timezone.localtime(moment).date()
    in_force = Q(repealed_on__isnull=True) | Q(repealed_on__gt=day)
    instruments = list(LegalInstrument.objects.filter(in_force, mandate=True, issued_on__lte=day))
    instruments += [basis.instrument for basis in terms.bases.select_related("instrument")
                    .filter(Q(instrument__repealed_on__isnull=True) | Q(instrument__repealed_on__gt=day))]
    lines = [f"Căn cứ {citation(kind=i.kind, number=i.number, issued_on=i.issued_on, issuer=i.issuer, title=i.title)};"
             for i in instruments]
    if len(lines) == len([i for i in instruments if i.mandate]) and terms.legal_basis.strip():
        lines.append(f"Căn cứ {terms.legal_basis.strip().rstrip(';')};")
    return lines


def _content(case: Case, dossier: Dossier, *, kind: str, title: str, number_text: str, moment: datetime,
             closing: list[str]) -> OfficialDocument:
    spec = PROCEDURES[case.case_type.code]
    with translation.override("vi"):  # official documents are Vietnamese whatever the reader's language
        labels = {name: label[:1].upper() + label[1:] for name, label in spec.labels().items()}
    return OfficialDocument(
        kind=kind, number_text=number_text, issued_at=moment, title=title, summary=case.summary,
        legal_bases=legal_basis_lines(case.terms, moment=moment),
        recipient=dossier.organisation.name,
        body=[(label, _format_value(dossier.fields[name])) for name, label in labels.items() if name in dossier.fields],
        closing=closing, **_signature(case, moment), **letterhead(case.agency),
        recipients_block=[f"- {dossier.organisation.name};", "- Lưu: VT."],
    )


def _dossier_of(case: Case) -> Dossier:
    """The case's dossier. Every licensing case is received with one (application_receive is the only door)."""
    dossier = Dossier.objects.select_related("organisation").filter(case=case).first()
    if dossier is None:
        raise DossierIncomplete(_("This case has no dossier: no result can be issued for it."),
                                extra={"missing": ["dossier"]})
    return dossier


def result_issue_failed(*, case_id: int, error: Exception) -> bool:
    """Record on the timeline that the result of an approved case could not be written, so that the officers and
    the head see it and its way forward (issue again, or take the decision back). Once per distinct error in a
    row: the automatic retries of the same failure add nothing. Returns True if an event was written."""
    text = f"{type(error).__name__}: {error}"[:2000]
    with transaction.atomic():
        case = case_lock(case_id)
        if case.state != State.APPROVED:
            return False
        last = case.events.filter(kind__in=[CaseEvent.Kind.ISSUE_FAILED, CaseEvent.Kind.TRANSITION]) \
            .order_by("-at", "-id").first()
        if last is not None and last.kind == CaseEvent.Kind.ISSUE_FAILED and last.note == text:
            return False
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.ISSUE_FAILED, action="issue", note=text)
    logger.error("result of case %s could not be issued: %s", case_id, text)
    return True


def result_issue(*, case_id: int) -> IssuedDocument | None:
    """An approved case gets its number (per series, per year, gap-free) and its DOCX, enters the permits
    registry and becomes issued. A second delivery finds the case issued and changes nothing.

    The result is dated the moment it is issued (its number, its register entry and the quarter it counts in agree),
    normally seconds after the head's decision; a result whose first issue failed carries the day it was issued."""
    with transaction.atomic():
        case = case_lock(case_id)
        if case.state != State.APPROVED:
            return None
        dossier = _dossier_of(case)
        spec = PROCEDURES[case.case_type.code]
        series = case.terms.result_unit or "VB"
        moment = timezone.now()
        year, number, number_text = _number_take(agency=case.agency, series=series, moment=moment)
        kind = IssuedDocument.Kind.PERMIT if series == "GP" else IssuedDocument.Kind.APPROVAL
        closing = ["Tổ chức được cấp phép có trách nhiệm thực hiện đúng nội dung ghi trong văn bản này và các quy "
                   "định của pháp luật có liên quan.", "Văn bản có hiệu lực kể từ ngày ký."]
        if case.decided_against_proposal:
            closing.append(f"Lãnh đạo Sở quyết định khác với đề xuất của chuyên viên thụ lý. Lý do: {case.decision_note}")
        content = _content(case, dossier, kind=kind, title=spec.result_title, number_text=number_text,
                           moment=moment, closing=closing)
        document = _document_store(case, kind=kind, content=content, series=series, year=year, number=number)
        facility = None
        if spec.holder_field == "facility" and dossier.fields:
            facility = _print_facility_for(dossier, agency=case.agency)
        permit = Permit.objects.create(
            case=case, document=document, number_text=number_text, procedure=case.case_type.code,
            result_unit=series, holder=dossier.organisation, print_facility=facility, title=case.summary,
            issued_at=moment,
        )
        permit_replace_earlier(permit)
        case.result_number = number_text
        transition_apply_system(case, "issue")
        notification_queue(case, key="decision")
    return document


def _print_facility_for(dossier: Dossier, *, agency: Agency) -> PrintFacility:
    """The facility of the issuing agency's registry the result is about, brought up to date with the dossier: the
    dossier's own, else the one of that name and address, else a new entry. A predecessor's entry (a dossier
    transferred with its case) stays as it was in the archive; the agency gets its own."""
    fields = dossier.fields
    facility = dossier.print_facility if dossier.print_facility and dossier.print_facility.agency_id == agency.pk \
        else None
    facility = facility or PrintFacility.objects.filter(
        agency=agency, name=fields["facility_name"], address=fields["facility_address"]).first()
    if facility is None:
        facility = PrintFacility.objects.create(
            agency=agency, name=fields["facility_name"], address=fields["facility_address"], owner=fields["owner"],
            organisation=dossier.organisation, equipment=fields["equipment"], products=fields["products"])
    else:
        facility.owner, facility.equipment, facility.products = fields["owner"], fields["equipment"], fields["products"]
        facility.save(update_fields=["owner", "equipment", "products"])
    if dossier.print_facility_id != facility.pk:
        dossier.print_facility = facility
        dossier.save(update_fields=["print_facility"])
    return facility


def refusal_letter_issue(*, case_id: int) -> IssuedDocument | None:
    """The refusal of a refused case as an official letter (công văn: "Số: 03/STTTT-BCXB", "V/v …", "Kính gửi …",
    the dossier and its receipt date, the reasons, the right to complain or sue), numbered in the letters' own
    series, dated the head's decision. Idempotent."""
    with transaction.atomic():
        case = case_lock(case_id)
        if case.state != State.REFUSED or case.documents.filter(kind=IssuedDocument.Kind.REFUSAL).exists():
            return None
        dossier = _dossier_of(case)
        moment = case.decided_at
        year, number, number_text = _number_take(agency=case.agency, series=LETTER_SERIES, moment=moment)
        content = _refusal_letter(case, dossier, number_text=number_text, moment=moment)
        document = _document_store(case, kind=IssuedDocument.Kind.REFUSAL, content=content, series=LETTER_SERIES,
                                   year=year, number=number)
        case.result_number = number_text
        case.save(update_fields=["result_number", "updated_at"])
    return document


def _refusal_letter(case: Case, dossier: Dossier, *, number_text: str, moment: datetime) -> OfficialDocument:
    agency = case.agency.name
    holder = dossier.organisation.name
    received = timezone.localtime(case.received_at)
    subject = PROCEDURES[case.case_type.code].refusal_title
    subject = subject.replace("VĂN BẢN ", "", 1) if subject.startswith("VĂN BẢN ") else subject
    summary = f" ({case.summary})" if case.summary else ""
    bases = [line.removeprefix("Căn cứ ").rstrip(";") for line in legal_basis_lines(case.terms, moment=moment)]
    body = [
        ("", f"Ngày {received:%d/%m/%Y}, {agency} nhận được hồ sơ đề nghị {case.case_type.name_vi.lower()} của "
             f"{holder}{summary}, mã hồ sơ {case.reference}."),
        ("", f"Sau khi xem xét hồ sơ, căn cứ {'; '.join(bases)}, {agency} không chấp thuận hồ sơ nêu trên với lý do "
             f"như sau: {case.outcome_reasons}"),
        ("", f"Trường hợp không đồng ý với nội dung trả lời này, {holder} có quyền khiếu nại theo quy định của Luật "
             "Khiếu nại hoặc khởi kiện vụ án hành chính theo quy định của Luật Tố tụng hành chính."),
        ("", f"{agency} thông báo để {holder} biết và thực hiện."),
    ]
    if case.decided_against_proposal:
        body.append(("", f"Lãnh đạo Sở quyết định khác với đề xuất của chuyên viên thụ lý. Lý do: {case.decision_note}"))
    return OfficialDocument(
        kind=IssuedDocument.Kind.REFUSAL, number_text=number_text, issued_at=moment, title="",
        summary=f"V/v {subject[:1].upper()}{subject[1:].lower()}", legal_bases=[], recipient=holder, body=body,
        **_signature(case, moment), **letterhead(case.agency),
        recipients_block=["- Như trên;", "- Lưu: " + ", ".join(
            part for part in ("VT", case.agency.licensing_division_symbol) if part) + "."],
    )


def apology_letter_issue(*, case_id: int, event_id: int) -> IssuedDocument | None:
    """The slip apologising for lateness with the new appointment date of one apology event. Idempotent."""
    with transaction.atomic():
        case = case_lock(case_id)
        event = case.events.filter(pk=event_id, action="apologise_late").first()
        if event is None or case.documents.filter(kind=IssuedDocument.Kind.APOLOGY, event_id=event_id).exists():
            return None
        dossier = _dossier_of(case)
        new_due = timezone.localtime(datetime.fromisoformat(event.after["due_at"]))
        content = OfficialDocument(
            kind=IssuedDocument.Kind.APOLOGY, number_text="", issued_at=event.at,
            title="PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", summary=case.summary, legal_bases=[],
            recipient=dossier.organisation.name,
            body=[("Hồ sơ", f"{case.reference}: {case.case_type.name_vi}"),
                  ("Ngày hẹn trả kết quả trước đây", _format_value(event.before.get("due_at") or "")),
                  ("Lý do chậm", event.note),
                  ("Ngày hẹn trả kết quả mới", new_due.strftime("%H giờ %M ngày %d/%m/%Y"))],
            closing=[f"{case.agency.name} xin lỗi quý cơ quan, tổ chức vì sự chậm trễ này."],
            **letterhead(case.agency),
            **signature_on(case.agency, timezone.localtime(event.at).date(), user=event.actor).fields(),
            recipients_block=[f"- {dossier.organisation.name};", "- Lưu: VT."],
        )
        return _document_store(case, kind=IssuedDocument.Kind.APOLOGY, content=content, event_id=event_id)


def permit_replace_earlier(permit: Permit) -> list[Permit]:
    """A re-issue: a licence for a print facility takes the place of the facility's earlier licences of the same
    procedure still in force (Nghị định 60/2014/NĐ-CP on printing: one licence per facility; a licence issued again,
    "cấp lại", after a change or a loss, replaces the old one). The earlier permits leave the registry's "in force",
    their verification pages say "replaced" and lead to the new one, and their cases' timelines say so. Runs in the
    issuing transaction; a procedure without a facility (a press conference, a bulletin) replaces nothing."""
    if permit.print_facility_id is None:
        return []
    earlier = list(Permit.objects.select_for_update(of=("self",)).in_force()
                   .filter(print_facility_id=permit.print_facility_id, procedure=permit.procedure,
                           issued_at__lte=permit.issued_at)
                   .exclude(pk=permit.pk).select_related("document__verifiable"))
    if not earlier:
        return []
    note = f"Được thay thế bởi {permit.number_text} ngày {timezone.localtime(permit.issued_at):%d/%m/%Y}"
    Permit.objects.filter(pk__in=[p.pk for p in earlier]).update(replaced_by=permit, replaced_at=permit.issued_at)
    new_record = permit.document.verifiable
    for old in earlier:
        if old.document.verifiable_id and new_record is not None:
            electronic.verification_replace(old.document, by=permit.document, note=note)
        CaseEvent.objects.create(case_id=old.case_id, kind=CaseEvent.Kind.DOCUMENT, action="replaced",
                                 after={"permit": old.number_text, "replaced_by": permit.number_text,
                                        "case": permit.case_id})
    return earlier


@hooks.guard("licensing", "revoke")
def _revoke_the_permit_in_force(case: Case, transition, *, actor, note, **params) -> None:
    """A replaced licence is no longer in force: what is revoked is the licence that replaced it."""
    replaced = Permit.objects.filter(case=case, replaced_by__isnull=False).select_related("replaced_by").first()
    if replaced is not None:
        raise Conflict(_("This licence was replaced by %(number)s: revoke that one instead.")
                       % {"number": replaced.replaced_by.number_text},
                       extra={"replaced_by_case": replaced.replaced_by.case_id})


def permit_revoke_record(case: Case, *, note: str) -> None:
    permits = list(Permit.objects.filter(case=case).in_force().select_related("document"))
    Permit.objects.filter(pk__in=[p.pk for p in permits]).update(revoked_at=timezone.now(), revoke_reasons=note)
    for permit in permits:
        electronic.verification_revoke(permit.document, note=note)


# --- Hooks into the case engine ------------------------------------------------------------------------


@hooks.on_intake("licensing")
def _intake_check(cases: list[Case]) -> None:
    dossiers_completeness_check(cases)


@hooks.on_attachment("licensing")
def _attachment_check(case: Case, attachment) -> None:
    if case.state not in TERMINAL:  # a closed case's files (a signed scan) change nothing about completeness
        dossier_completeness_check(case)


@hooks.guard("licensing", "propose_grant", "approve")
def _complete_before_grant(case: Case, transition, *, actor, note, **params) -> None:
    """Nothing is granted without the procedure's dossier, complete with its required files."""
    dossier = dossier_completeness_check(case)
    if dossier is None:
        raise DossierIncomplete(_("This case has no dossier: it cannot be granted."), extra={"missing": ["dossier"]})
    if not dossier.complete:
        labels = dict(PROCEDURES[case.case_type.code].required_files)
        raise DossierIncomplete(
            _("Missing: %(items)s.") % {"items": ", ".join(str(labels[k]) for k in dossier.missing)},
            extra={"missing": dossier.missing})


hooks.receives_own_cases("licensing", "/api/v1/licensing/applications/")


@hooks.after_transition("licensing", "approve")
def _after_approve(case: Case, transition, *, actor, note, event) -> None:
    outbox_enqueue("licensing.result_issue", case_id=case.pk)


@hooks.after_transition("licensing", "refuse")
def _after_refuse(case: Case, transition, *, actor, note, event) -> None:
    outbox_enqueue("licensing.refusal_letter_issue", case_id=case.pk)
    notification_queue(case, key="decision")


@hooks.after_transition("licensing", "retry_issue")
def _after_retry_issue(case: Case, transition, *, actor, note, event) -> None:
    outbox_enqueue("licensing.result_issue", case_id=case.pk)


@hooks.after_transition("licensing", "request_supplement")
def _after_supplement_request(case: Case, transition, *, actor, note, event) -> None:
    outbox_enqueue(SUPPLEMENT_SLIP_TASK, case_id=case.pk, event_id=event.pk)
    notification_queue(case, key=f"supplement:{event.pk}", note=note)


@hooks.after_transition("licensing", "apologise_late")
def _after_apology(case: Case, transition, *, actor, note, event) -> None:
    outbox_enqueue("licensing.apology_letter_issue", case_id=case.pk, event_id=event.pk)
    notification_queue(case, key=f"apology:{event.pk}", note=note)


@hooks.after_transition("licensing", "revoke")
def _after_revoke(case: Case, transition, *, actor, note, event) -> None:
    permit_revoke_record(case, note=note)


__all__ = ["date_line", "notification_send", "notifications_send"]
