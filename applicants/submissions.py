"""Online dossiers, from the applicant's draft to the officer's answer. Each service owns one transaction and locks
the submission it changes (select_for_update), checks its `version` where the caller read one, and is safe to run
again: a retried request finds its work done and changes nothing.

The dossier's fields are the procedure's own (licensing.procedures: the serializer the counter and the API use), its
files pass the counter's checks (cases.attachments.upload_inspect) before anything is stored, and its receipt is the
counter's receipt (licensing.services.application_receive): the case begins, and the legal clock with it, at that
moment. Emails about a dossier not yet received are licensing Notifications without a case, sent once by the same
outbox task as the others."""

import hashlib
import uuid as uuid_lib

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError as ShapeError

from agencies.models import Agency
from agencies.selectors import agency_ids_member
from cases import roles as r
from cases.attachments import name_for_type, upload_inspect
from cases.competence import agencies_competent
from cases.deadlines import WorkCalendar, due_at_compute
from cases.errors import Conflict, InvalidTransition, NotAllowed, NotFound, StaleVersion, ValidationFailed
from cases.models import Attachment, Case, CaseEvent, CaseType, LimitUnit
from licensing import services as licensing_services
from licensing.notifications import notification_queue_without_case
from licensing.procedures import PROCEDURES, Procedure

from . import slips
from .models import Representative, Submission, SubmissionFile

State = Submission.State
EDITABLE = frozenset({State.DRAFT, State.COMPLETION_REQUESTED})
WAITING = frozenset({State.SUBMITTED})
WITHDRAWABLE = frozenset({State.DRAFT, State.SUBMITTED, State.COMPLETION_REQUESTED})
OTHER_KIND = "other"
# Fields of a procedure that name the applying organisation itself: a new draft starts with its name there.
ORGANISATION_NAME_FIELDS = ("organiser", "publisher", "publisher_organisation", "importer")
# Roles that answer online dossiers: those that receive dossiers at the counter.
OFFICE_ROLES = r.CREATE_ROLES["licensing"]


# --- Reads ------------------------------------------------------------------------------------------------


def procedures_offered() -> list[dict]:
    """The procedures an applicant may submit online today, in the catalogue's order: code, name, the dossier's
    field labels and the files it needs."""
    types = CaseType.objects.filter(domain="licensing", active=True, code__in=list(PROCEDURES)) \
        .order_by("report_order", "code")
    offered = []
    for case_type in types:
        spec = PROCEDURES[case_type.code]
        offered.append({"code": case_type.code, "name": case_type.name_vi, "fields": spec.labels(),
                        "required_files": [{"kind": kind, "label": str(label)} for kind, label in spec.required_files]})
    return offered


def procedure_name(code: str) -> str:
    return CaseType.objects.filter(code=code).values_list("name_vi", flat=True).first() or code


def file_kinds(procedure: str) -> list[tuple[str, str]]:
    """The kinds a file of this procedure's dossier may be: its required files, then "other"."""
    spec = PROCEDURES.get(procedure)
    kinds = [(kind, str(label)) for kind, label in spec.required_files] if spec else []
    return kinds + [(OTHER_KIND, _("Other document"))]


def files_missing(submission: Submission) -> list[str]:
    present = {f.kind for f in submission.files.all()}
    return [kind for kind, _label in PROCEDURES[submission.procedure].required_files if kind not in present]


def office_agency_ids(user) -> set[int] | None:
    """The agencies whose online dossiers the user answers (None: every agency, a superuser working for none)."""
    member = agency_ids_member(user)
    if user.is_superuser and not member:
        return None
    return set(member)


def office_visible(user):
    """Online dossiers an officer may open: those sent (never a draft nobody submitted) to an agency they work
    for, for the roles that receive dossiers."""
    if not (r.user_roles(user) & OFFICE_ROLES):
        return Submission.objects.none()
    qs = Submission.objects.filter(submitted_at__isnull=False)
    agencies = office_agency_ids(user)
    return qs if agencies is None else qs.filter(agency_id__in=agencies)


def answer_due(submission: Submission, *, calendar: WorkCalendar | None = None):
    """When the officers' answer to a submitted dossier is due (settings.ONLINE_ANSWER_WORKING_DAYS working days
    after its submission, on Vietnam's calendar: weekends and public holidays skipped); None for one not sent.
    A page listing many passes one `calendar` (it reads the administrators' calendar overrides once)."""
    if submission.submitted_at is None:
        return None
    return due_at_compute(start=submission.submitted_at, amount=settings.ONLINE_ANSWER_WORKING_DAYS,
                          unit=LimitUnit.WORKING_DAYS, calendar=calendar)


def office_queue(user):
    """Online dossiers waiting to be received, oldest first."""
    return office_visible(user).filter(state=State.SUBMITTED).select_related("organisation", "agency") \
        .order_by("submitted_at", "id")


# --- Helpers ------------------------------------------------------------------------------------------------


def _procedure(code: str) -> Procedure:
    spec = PROCEDURES.get(code)
    if spec is None or not CaseType.objects.filter(code=code, domain="licensing", active=True).exists():
        message = _("Unknown procedure.")
        raise ValidationFailed(message, extra={"errors": {"procedure": [message]}})
    return spec


def agency_for_procedure(code: str, *, agency: Agency | None = None, day=None) -> Agency:
    """The agency competent for the procedure today: the one an online dossier is addressed to. Where several are
    (a department with several agencies), `agency` names one of them."""
    day = day or timezone.localdate()
    competent = list(agencies_competent(case_type=CaseType.objects.get(code=code), day=day))
    if agency is not None:
        if agency.pk not in {a.pk for a in competent}:
            message = _("This agency does not handle this procedure today.")
            raise ValidationFailed(message, extra={"errors": {"agency": [message]}})
        return agency
    if len(competent) == 1:
        return competent[0]
    if not competent:
        message = _("No agency handles this procedure today: it cannot be submitted online.")
        raise ValidationFailed(message, extra={"errors": {"procedure": [message]}})
    message = _("Several agencies handle this procedure: choose one.")
    raise ValidationFailed(message, extra={"errors": {"agency": [message]},
                                           "agencies": [{"id": a.pk, "name": str(a)} for a in competent]})


def _fields_error(exc: ShapeError) -> ValidationFailed:
    return ValidationFailed(_("The dossier fields are not valid."), extra={"errors": {"fields": exc.detail}})


def fields_check_partial(spec: Procedure, fields) -> dict:
    """A draft's fields, checked with the procedure's serializer for the fields given (a draft may leave some
    out; all are required at submission). Returns their stored form (what the full check would store)."""
    if not isinstance(fields, dict):
        raise ValidationFailed(_("The dossier fields are not valid."),
                               extra={"errors": {"fields": [_("Expected an object of fields.")]}})
    given = {name: value for name, value in fields.items() if value not in (None, "", [])}
    serializer = spec.fields(data=given)
    for name in list(serializer.fields):
        if name not in given:  # left out of the draft: checked at submission; a value given is checked whole
            del serializer.fields[name]
    if not serializer.is_valid():
        raise _fields_error(ShapeError(serializer.errors))
    return dict(serializer.data)


def fields_check_full(spec: Procedure, fields: dict, *, at) -> dict:
    try:
        return spec.fields_validate(fields, received_at=at)
    except ShapeError as exc:
        raise _fields_error(exc) from None


def _own_locked(representative: Representative, submission_uuid) -> Submission:
    """The organisation's submission, locked; another organisation's is not found (nothing said about it)."""
    submission = Submission.objects.select_for_update().filter(
        uuid=submission_uuid, organisation_id=representative.organisation_id).first()
    if submission is None:
        raise NotFound(_("Online dossier not found."))
    return submission


def _version_check(submission: Submission, version: int | None) -> None:
    if version is not None and version != submission.version:
        raise StaleVersion(_("The dossier was changed meanwhile (in another window or by a colleague); reload it "
                             "and try again."), extra={"current_version": submission.version})


def _editable(submission: Submission) -> None:
    if submission.state not in EDITABLE:
        raise InvalidTransition(_("This dossier can no longer be changed."), extra={"state": submission.state})


def _bump(submission: Submission, *fields: str) -> None:
    submission.version += 1
    submission.save(update_fields=[*fields, "version", "updated_at"])


# --- The applicant's side -----------------------------------------------------------------------------------


def submission_create(*, representative: Representative, procedure: str, uuid: uuid_lib.UUID | None = None,
                      agency: Agency | None = None) -> tuple[Submission, bool]:
    """A new draft of `procedure`, addressed to the agency competent for it today, its fields naming the
    organisation where the procedure asks for it. The same `uuid` again returns the stored draft."""
    spec = _procedure(procedure)
    if uuid is not None:
        existing = Submission.objects.filter(uuid=uuid).first()
        if existing is not None:
            if existing.organisation_id != representative.organisation_id or existing.procedure != procedure:
                raise Conflict(_("A different dossier was already stored under this id."))
            return existing, False
    holder = agency_for_procedure(procedure, agency=agency)
    organisation = representative.organisation
    declared = spec.fields().fields
    fields = {name: organisation.name for name in ORGANISATION_NAME_FIELDS if name in declared}
    with transaction.atomic():
        submission, created = Submission.objects.get_or_create(
            uuid=uuid or uuid_lib.uuid4(),
            defaults={"organisation": organisation, "created_by": representative.user, "procedure": procedure,
                      "agency": holder, "fields": fields})
    if not created and (submission.organisation_id != organisation.pk or submission.procedure != procedure):
        raise Conflict(_("A different dossier was already stored under this id."))
    return submission, created


def submission_update(*, representative: Representative, submission_uuid, fields: dict,
                      version: int | None) -> Submission:
    """Save the draft's fields (those given replace all that were stored). Each value given is checked now; the
    required ones are checked at submission."""
    with transaction.atomic():
        submission = _own_locked(representative, submission_uuid)
        _editable(submission)
        _version_check(submission, version)
        stored = fields_check_partial(PROCEDURES[submission.procedure], fields)
        if stored != submission.fields:
            submission.fields = stored
            _bump(submission, "fields")
    return submission


def file_add(*, representative: Representative, submission_uuid, upload, kind: str) -> tuple[SubmissionFile, bool]:
    """Store a checked file in the draft (the counter's checks, before anything is decoded or written). The same
    file twice is stored once."""
    submission = Submission.objects.filter(uuid=submission_uuid,
                                           organisation_id=representative.organisation_id).first()
    if submission is None:
        raise NotFound(_("Online dossier not found."))
    if kind not in dict(file_kinds(submission.procedure)):
        message = _("Unknown document kind.")
        raise ValidationFailed(message, extra={"errors": {"kind": [message]}})
    stored = upload_inspect(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    sha256 = digest.hexdigest()
    with transaction.atomic():
        submission = _own_locked(representative, submission_uuid)
        _editable(submission)
        existing = submission.files.filter(sha256=sha256).first()
        if existing is not None:
            return existing, False
        item = SubmissionFile(
            submission=submission, kind=kind, content_type=stored.content_type, extension=stored.extension,
            original_name=name_for_type(upload.name, stored.extension) or f"file{stored.extension}",
            size=stored.file.size, sha256=sha256, uploaded_by=representative.user)
        item.file.save(f"upload{stored.extension}", stored.file, save=False)
        try:
            item.save()
            _bump(submission)
        except Exception:
            item.file.delete(save=False)
            raise
    return item, True


def file_remove(*, representative: Representative, submission_uuid, file_uuid) -> bool:
    """Take a file out of the draft. False if it was not there (already removed)."""
    with transaction.atomic():
        submission = _own_locked(representative, submission_uuid)
        _editable(submission)
        item = submission.files.filter(uuid=file_uuid).first()
        if item is None:
            return False
        name = item.file.name
        item.delete()
        _bump(submission)
        storage = SubmissionFile._meta.get_field("file").storage
        transaction.on_commit(lambda: storage.delete(name))
    return True


def submission_submit(*, representative: Representative, submission_uuid, version: int | None,
                      declared: bool) -> Submission:
    """Submit the dossier: every field valid, every required file there, the declaration made. It then waits
    for an officer. Submitting again a dossier already submitted changes nothing."""
    with transaction.atomic():
        submission = _own_locked(representative, submission_uuid)
        if submission.state == State.SUBMITTED:
            return submission  # a retry of the submission that went through
        _editable(submission)
        _version_check(submission, version)
        errors = {}
        if not declared:
            errors["declaration"] = [_("Confirm the declaration to submit the dossier.")]
        now = timezone.now()
        spec = PROCEDURES[submission.procedure]
        try:
            valid = fields_check_full(spec, submission.fields, at=now)
        except ValidationFailed as exc:
            errors.update(exc.extra["errors"])
            valid = None
        missing = files_missing(submission)
        if missing:
            labels = dict(spec.required_files)
            errors["files"] = [_("Missing: %(items)s.") % {"items": ", ".join(str(labels[k]) for k in missing)}]
        if errors:
            raise ValidationFailed(_("The dossier is not complete yet."), extra={"errors": errors, "missing": missing})
        submission.fields = valid
        submission.declared_at = now
        submission.submitted_at = now
        submission.state = State.SUBMITTED
        _bump(submission, "fields", "declared_at", "submitted_at", "state")
    return submission


def submission_withdraw(*, representative: Representative, submission_uuid, version: int | None) -> Submission:
    """Withdraw the dossier before an officer receives it. Withdrawing again changes nothing."""
    with transaction.atomic():
        submission = _own_locked(representative, submission_uuid)
        if submission.state == State.WITHDRAWN:
            return submission
        if submission.state not in WITHDRAWABLE:
            raise InvalidTransition(_("This dossier can no longer be withdrawn."), extra={"state": submission.state})
        _version_check(submission, version)
        submission.state = State.WITHDRAWN
        _bump(submission, "state")
    return submission


# --- The officer's side -------------------------------------------------------------------------------------


def _office_locked(actor, submission_uuid) -> Submission:
    if not (r.user_roles(actor) & OFFICE_ROLES):
        raise NotAllowed(_("Your role cannot receive dossiers."))
    submission = office_visible(actor).select_for_update(of=("self",)).filter(uuid=submission_uuid).first()
    if submission is None:
        raise NotFound(_("Online dossier not found."))
    return submission


def _organisation_for_registry(submission: Submission) -> dict:
    organisation = submission.organisation
    representative = Representative.objects.filter(user_id=submission.created_by_id).first()
    return {"name": organisation.name, "kind": organisation.kind, "tax_code": organisation.tax_code,
            "address": organisation.address, "phone": organisation.phone, "email": organisation.email,
            "representative": representative.full_name if representative else ""}


def submission_receive(*, actor, submission_uuid, version: int | None = None) -> tuple[Case, bool]:
    """Receive the dossier: its case begins now (licensing.services.application_receive, the counter's own
    receipt: due date from the procedure's terms, the receipt email), its files become the case's attachments,
    and the timeline says it came online. Receiving again a dossier already received returns its case."""
    with transaction.atomic():
        submission = _office_locked(actor, submission_uuid)
        if submission.state == State.ACCEPTED and submission.case_id:
            return submission.case, False
        if submission.state not in WAITING:
            raise InvalidTransition(_("This dossier is not waiting to be received."),
                                    extra={"state": submission.state})
        _version_check(submission, version)
        contact = submission.created_by.email or submission.organisation.email
        case, _created = licensing_services.application_receive(
            actor=actor, procedure=submission.procedure, fields=submission.fields,
            organisation=_organisation_for_registry(submission), contact_email=contact,
            contact_phone=submission.organisation.phone, agency=submission.agency)
        _files_copy(submission, case)
        with translation.override("vi"):
            note = _("Submitted online on %(date)s by %(name)s for %(organisation)s.") % {
                "date": timezone.localtime(submission.submitted_at).strftime("%H:%M %d/%m/%Y"),
                "name": submission.created_by.get_full_name() or submission.created_by.username,
                "organisation": submission.organisation.name}
        CaseEvent.objects.create(case=case, actor=actor, kind=CaseEvent.Kind.INTAKE, action="online", note=note,
                                 after={"submission": str(submission.uuid),
                                        "submitted_at": submission.submitted_at.isoformat()})
        licensing_services.dossier_completeness_check(case)
        submission.state = State.ACCEPTED
        submission.case = case
        submission.handled_by = actor
        submission.handled_at = timezone.now()
        submission.reasons = ""
        _bump(submission, "state", "case", "handled_by", "handled_at", "reasons")
    return case, True


def _files_copy(submission: Submission, case: Case) -> None:
    """The dossier's files, stored again as the case's attachments (same content, same sha256)."""
    for item in submission.files.all():
        with item.file.open("rb") as handle:
            data = handle.read()
        attachment = Attachment(
            case=case, original_name=item.original_name, content_type=item.content_type, extension=item.extension,
            size=item.size, sha256=item.sha256, kind=item.kind, uploaded_by=item.uploaded_by,
            uploaded_at=item.uploaded_at, description=_("Submitted online"))
        attachment.file.save(f"upload{item.extension}", ContentFile(data), save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)
            raise
        CaseEvent.objects.create(case=case, actor=item.uploaded_by, kind=CaseEvent.Kind.ATTACHMENT,
                                 after={"attachment": str(attachment.uuid), "name": attachment.original_name,
                                        "size": attachment.size, "type": attachment.content_type,
                                        "kind": attachment.kind, "online": True})


def _answer(*, actor, submission_uuid, version: int | None, reasons: str, to_state: str, cause: str) -> Submission:
    reasons = (reasons or "").strip()
    if not reasons:
        message = _("Give the reasons: the applicant reads them.")
        raise ValidationFailed(message, extra={"errors": {"reasons": [message]}})
    with transaction.atomic():
        submission = _office_locked(actor, submission_uuid)
        if submission.state == to_state and submission.reasons == reasons:
            return submission  # a retry of the answer that went through
        if submission.state not in WAITING:
            raise InvalidTransition(_("This dossier is not waiting to be received."),
                                    extra={"state": submission.state})
        _version_check(submission, version)
        submission.state = to_state
        submission.reasons = reasons
        submission.handled_by = actor
        submission.handled_at = timezone.now()
        _bump(submission, "state", "reasons", "handled_by", "handled_at")
        if to_state == State.NOT_RECEIVED:
            slips.refusal_reserve(submission)
        _notify(submission, cause=cause)
    return submission


def submission_request_completion(*, actor, submission_uuid, version: int | None, reasons: str) -> Submission:
    """Ask the applicant to complete the dossier before it is received (what is missing, in `reasons`): they
    change it and submit it again. Nothing is counted: no case begins."""
    return _answer(actor=actor, submission_uuid=submission_uuid, version=version, reasons=reasons,
                   to_state=State.COMPLETION_REQUESTED, cause="completion")


def submission_refuse(*, actor, submission_uuid, version: int | None, reasons: str) -> Submission:
    """Refuse to receive the dossier, with the reasons (not this agency's matter, not this procedure, ...)."""
    return _answer(actor=actor, submission_uuid=submission_uuid, version=version, reasons=reasons,
                   to_state=State.NOT_RECEIVED, cause="not_received")  # its slip: applicants/slips.py


def _notify(submission: Submission, *, cause: str) -> None:
    """The applicant's email about the officer's answer, written in this transaction, sent once after commit."""
    recipient = submission.created_by.email or submission.organisation.email
    agency = submission.agency
    name = procedure_name(submission.procedure)
    submitted = timezone.localtime(submission.submitted_at).strftime("%H giờ %M ngày %d/%m/%Y")
    head = (f"Kính gửi: {submission.organisation.name}\n\nHồ sơ {name} nộp trực tuyến lúc {submitted} "
            f"(mã hồ sơ trực tuyến {submission.uuid})")
    if cause == "completion":
        subject = f"[{agency.symbol}] Đề nghị hoàn thiện hồ sơ nộp trực tuyến trước khi tiếp nhận"
        body = (f"{head} cần được hoàn thiện trước khi tiếp nhận như sau:\n{submission.reasons}\n\n"
                "Quý cơ quan, tổ chức vui lòng đăng nhập Cổng dịch vụ công, chỉnh sửa hồ sơ và nộp lại.")
    else:
        subject = f"[{agency.symbol}] Từ chối tiếp nhận hồ sơ nộp trực tuyến"
        body = (f"{head} không được tiếp nhận. Lý do:\n{submission.reasons}\n\n"
                "Phiếu từ chối tiếp nhận giải quyết hồ sơ (bản PDF có chữ ký số) được tải về tại trang hồ sơ trên "
                f"Cổng dịch vụ công.\n\n{agency.name}")
    notification_queue_without_case(key=f"online:{submission.uuid}:{cause}:{submission.version}",
                                    recipient=recipient, subject=subject, body=body)
