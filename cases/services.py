"""Writes on cases. Each service owns its transaction and writes the timeline event inside it."""

import hashlib
import uuid as uuid_lib
from collections import defaultdict
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Membership
from agencies.selectors import agency_ids_member
from worker.outbox import outbox_enqueue

from . import hooks
from . import roles as r
from .attachments import name_for_type, upload_inspect
from .competence import agency_competent
from .deadlines import clock_used_compute, due_at_compute, due_at_remaining
from .errors import Conflict, InvalidTransition, NotAllowed, NotFound, StaleVersion, ValidationFailed
from .models import Attachment, Case, CaseEvent, CaseType, Sequence, state_write_allowed
from .selectors import case_domain_roles_may_work
from .workflow import INITIAL_STATE, TERMINAL, Effect, Outcome, State, Transition, transition_get

User = get_user_model()

def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _local_year(moment: datetime) -> int:
    return timezone.localtime(moment).year


def sequence_next(*, key: str, year: int) -> int:
    """The next number of a gap-free yearly counter. Call inside the transaction that uses it:
    the row lock serialises takers, and a rollback gives the number back."""
    Sequence.objects.get_or_create(key=key, year=year)
    seq = Sequence.objects.select_for_update().get(key=key, year=year)
    seq.last_value += 1
    seq.save(update_fields=["last_value"])
    return seq.last_value


def _event(case: Case, *, actor, kind: str, action: str = "", from_state: str = "", to_state: str = "",
           before: dict | None = None, after: dict | None = None, note: str = "", at=None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, actor=actor, kind=kind, action=action, from_state=from_state, to_state=to_state,
        before=before or {}, after=after or {}, note=note, at=at or timezone.now(),
    )


def agency_member_required(case: Case, actor) -> None:
    """Acting on a case is for the staff of the agency holding it: a predecessor's archive is read, not changed (a
    case still open at a reorganisation is transferred to the successor, and is then the successor's)."""
    if actor is None or case.agency_id in agency_ids_member(actor):
        return
    if actor.is_superuser and not agency_ids_member(actor):
        return  # a superuser working for no agency acts for any, as in agency_competent
    raise NotAllowed(_("This case belongs to another agency's records: you may read it, not change it."))


def case_lock(case_id: int) -> Case:
    try:
        return Case.objects.select_for_update(of=("self",)).select_related("case_type", "terms").get(pk=case_id)
    except Case.DoesNotExist:
        raise NotFound(_("Case not found.")) from None


def case_lock_shared(case_id: int) -> Case:
    """A share lock on the case row: many writers of a case's children (findings of a campaign) proceed
    together, while a transition, which takes the row for update, waits for them and they for it. Read after
    the lock is held, so the state seen stays true until the end of the transaction."""
    # The ORM has no FOR SHARE; SQLite locks the whole database for a write anyway.
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    for case in Case.objects.raw(f"SELECT * FROM cases_case WHERE id = %s{lock}", [case_id]):  # noqa: S611
        return case
    raise NotFound(_("Case not found."))


# --- Create ----------------------------------------------------------------------------------------


def case_create(
    *, actor, case_type: CaseType, subject_name: str, received_at: datetime | None = None, summary: str = "",
    subject_address: str = "", contact_email: str = "", contact_phone: str = "", data: dict | None = None,
    uuid: uuid_lib.UUID | None = None, agency=None,
) -> tuple[Case, bool]:
    """Receive a case. Returns (case, created); a retried request with the same uuid returns the stored case.
    The case belongs to the agency competent for its type on the receipt date among the actor's agencies
    (`agency` names one when the actor works for several)."""
    if not (r.CREATE_ROLES[case_type.domain] & r.user_roles(actor)):
        raise NotAllowed(_("Your role cannot open cases of this kind."))
    fields = {
        "case_type_id": case_type.pk, "subject_name": subject_name, "summary": summary,
        "subject_address": subject_address, "contact_email": contact_email, "contact_phone": contact_phone,
        "data": data or {},
    }
    # A receipt time sent by the client is part of the request; one left out defaults to "now" and is not.
    requested_received_at = received_at
    if uuid is not None:
        existing = Case.objects.filter(uuid=uuid).first()
        if existing is not None:
            return _case_same_request(existing, actor=actor, fields=fields,
                                      received_at=requested_received_at), False
    if not case_type.active:
        raise ValidationFailed(_("This procedure no longer accepts new cases."), extra={"errors": {"case_type": [
            _("This procedure no longer accepts new cases.")]}})
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + timedelta(minutes=5):
        raise ValidationFailed(_("The receipt time cannot be in the future."),
                               extra={"errors": {"received_at": [_("The receipt time cannot be in the future.")]}})
    terms = case_type.terms_on(timezone.localtime(received_at).date())
    if terms is None:
        raise ValidationFailed(_("No terms of this procedure were in force on the receipt date."),
                               extra={"errors": {"received_at": [_("No terms in force on this date.")]}})
    holder = agency_competent(case_type=case_type, day=timezone.localtime(received_at).date(), actor=actor,
                              agency=agency)
    try:
        with transaction.atomic():
            year = _local_year(received_at)
            number = sequence_next(key=f"case:{case_type.code}", year=year)
            due_at = None
            if terms.limit_amount is not None:
                due_at = due_at_compute(start=received_at, amount=terms.limit_amount, unit=terms.limit_unit)
            case = Case.objects.create(
                uuid=uuid or uuid_lib.uuid4(),
                reference=f"{case_type.reference_prefix}-{year}-{number:05d}",
                agency=holder,
                terms=terms,
                state=INITIAL_STATE[case_type.domain],
                created_by=actor,
                received_at=received_at,
                due_at=due_at,
                clock_started_at=received_at,
                **fields,
            )
            _event(case, actor=actor, kind=CaseEvent.Kind.CREATED, to_state=case.state,
                   after={"reference": case.reference, "due_at": _iso(due_at), "received_at": _iso(received_at)})
            outbox_enqueue("cases.case_intake", case_id=case.pk)
            hooks.changed_run(case)
    except IntegrityError:
        # Two deliveries of one request raced on the uuid: the other one stored it.
        existing = Case.objects.filter(uuid=uuid).first() if uuid else None
        if existing is None:
            raise
        return _case_same_request(existing, actor=actor, fields=fields, received_at=requested_received_at), False
    return case, True


def _case_same_request(case: Case, *, actor, fields: dict, received_at: datetime | None = None) -> Case:
    stored = {name: getattr(case, name) for name in fields}
    if received_at is not None:
        fields, stored = {**fields, "received_at": received_at}, {**stored, "received_at": case.received_at}
    if case.created_by_id != actor.pk or stored != fields:
        raise Conflict(_("A different case was already stored under this id."),
                       extra={"stored": {"id": case.pk, "reference": case.reference}})
    return case


# --- Transitions -----------------------------------------------------------------------------------


def case_transition(
    *, case_id: int, actor, action: str, version: int | None = None, note: str = "",
    new_due_at: datetime | None = None,
) -> Case:
    """Take one workflow action. Exactly one of two concurrent actions wins; the other gets StaleVersion
    (same version read) or InvalidTransition (the state moved on)."""
    with transaction.atomic():
        case = case_lock(case_id)
        transition = transition_get(case.case_type.domain, action)
        if transition is None:
            raise ValidationFailed(_("Unknown action “%(action)s”.") % {"action": action},
                                   extra={"errors": {"action": [_("Unknown action.")]}})
        if actor is not None and not (transition.roles & r.user_roles(actor)):
            raise NotAllowed(_("Your role cannot take the action “%(action)s”.") % {"action": transition.label})
        agency_member_required(case, actor)
        if version is not None and version != case.version:
            raise StaleVersion(extra={"current_version": case.version})
        if case.state not in transition.sources:
            raise InvalidTransition(
                _("“%(action)s” is not possible while the case is “%(state)s”.")
                % {"action": transition.label, "state": State(case.state).label},
                extra={"state": case.state},
            )
        note = (note or "").strip()
        if transition.requires_note and not note:
            raise ValidationFailed(_("This action needs written reasons."),
                                   extra={"errors": {"note": [_("Written reasons are required.")]}})
        if decision_against_proposal(case, transition) and not note:
            raise ValidationFailed(
                _("Deciding against the officer's proposal needs written reasons."),
                extra={"errors": {"note": [_("Written reasons for deciding against the proposal are required.")]},
                       "proposal": case.proposal})
        hooks.guards_run(case, transition, actor=actor, note=note, params={"new_due_at": new_due_at})
        event = _transition_apply(case, transition, actor=actor, note=note, new_due_at=new_due_at)
        hooks.after_run(case, transition, actor=actor, note=note, event=event)
    return case


def decision_against_proposal(case: Case, transition: Transition) -> bool:
    """Does this decision go against what the officer proposed (grant on a refusal proposal, or the reverse)?"""
    if Effect.DECIDE not in transition.effects or not case.proposal:
        return False
    proposed = {"grant": Outcome.GRANTED, "refuse": Outcome.REFUSED}.get(case.proposal)
    return proposed is not None and transition.outcome in (Outcome.GRANTED, Outcome.REFUSED) \
        and transition.outcome != proposed


def transition_apply_system(case: Case, action: str, *, note: str = "") -> CaseEvent:
    """A system transition (actor None) on a case the caller has locked; listeners run as for users."""
    transition = transition_get(case.case_type.domain, action)
    event = _transition_apply(case, transition, actor=None, note=note)
    hooks.after_run(case, transition, actor=None, note=note, event=event)
    return event


def _transition_apply(case: Case, transition: Transition, *, actor, note: str, new_due_at=None) -> CaseEvent:
    now = timezone.now()
    watched = ("state", "due_at", "paused_at", "decided_at", "closed_at", "outcome", "proposal", "result_number",
               "decided_against_proposal")
    before = {name: _iso(getattr(case, name)) for name in watched}
    terms = case.terms
    due_before = case.due_at
    for effect in transition.effects:
        if effect == Effect.PAUSE_CLOCK and terms.limit_amount is not None:
            case.clock_used += clock_used_compute(start=case.clock_started_at, until=now, unit=terms.limit_unit)
            case.paused_at = now
        elif effect == Effect.RESUME_CLOCK and terms.limit_amount is not None:
            # A case already past its due date when paused has no time left to resume: it stays late
            # (only an apology letter sets a new appointment date).
            late_when_paused = None not in (case.due_at, case.paused_at) and case.paused_at > case.due_at
            case.paused_at = None
            case.clock_started_at = now
            if not late_when_paused:
                recomputed = due_at_remaining(start=now, amount=terms.limit_amount, unit=terms.limit_unit,
                                              used=case.clock_used)
                # Never earlier than the date already promised (an apology letter's new appointment).
                case.due_at = max(recomputed, case.due_at) if case.due_at else recomputed
        elif effect == Effect.RECORD_PROPOSAL:
            case.proposal = transition.proposal or ""
            case.outcome_reasons = note if transition.proposal == "refuse" else ""
        elif effect == Effect.DECIDE:
            case.decided_against_proposal = decision_against_proposal(case, transition)
            case.decided_at = now
            case.outcome = transition.outcome or ""
            case.decision_note = note
            if case.outcome == Outcome.GRANTED:
                case.outcome_reasons = ""  # a refusal proposal's draft reasons are not the decision's
            elif note:
                case.outcome_reasons = note
        elif effect == Effect.UNDECIDE:
            case.decided_at = None
            case.outcome = ""
            case.decision_note = ""
            case.decided_against_proposal = False
        elif effect == Effect.CLOSE:
            case.closed_at = now
        elif effect == Effect.NEW_DUE_DATE:
            if new_due_at is None or new_due_at <= now:
                raise ValidationFailed(_("A new appointment date in the future is required."),
                                       extra={"errors": {"new_due_at": [_("A future date is required.")]}})
            if case.due_at and new_due_at <= case.due_at:
                raise ValidationFailed(_("The new appointment must be later than the current due date."),
                                       extra={"errors": {"new_due_at": [_("Must be later than the due date.")]}})
            case.due_at = new_due_at
            case.apologised_at = case.apologised_at or now
    if case.due_at != due_before and (case.due_at is None or case.due_at > now):
        case.overdue_flagged_at = None
    from_state = case.state
    if transition.target is not None:
        with state_write_allowed():
            case.state = transition.target
    if transition.outcome and not case.outcome:
        case.outcome = transition.outcome
    case.version += 1
    case.save()
    after = {name: _iso(getattr(case, name)) for name in watched}
    changed_before = {k: v for k, v in before.items() if after[k] != v}
    changed_after = {k: after[k] for k in changed_before}
    event = _event(case, actor=actor, kind=CaseEvent.Kind.TRANSITION, action=transition.action,
                   from_state=from_state, to_state=case.state, before=changed_before, after=changed_after, note=note,
                   at=now)
    if case.due_at != due_before:
        _event(case, actor=actor, kind=CaseEvent.Kind.DUE_DATE, action=transition.action,
               before={"due_at": _iso(due_before)}, after={"due_at": _iso(case.due_at)}, note=note, at=now)
    hooks.changed_run(case)
    return event


# --- Assignment, notes, intake, overdue --------------------------------------------------------------

ASSIGNABLE_ROLES = {
    "licensing": (r.LICENSING_OFFICER, r.DEPARTMENT_HEAD),
    "inspection": (r.INSPECTOR, r.INSPECTION_LEAD),
    "report": (r.REPORTER,),
}


def case_assign(*, case_id: int, actor, assignee, version: int | None = None) -> Case:
    with transaction.atomic():
        case = case_lock(case_id)
        if actor is not None and not (r.ASSIGN_ROLES[case.case_type.domain] & r.user_roles(actor)):
            raise NotAllowed(_("Your role cannot assign cases of this kind."))
        agency_member_required(case, actor)
        if version is not None and version != case.version:
            raise StaleVersion(extra={"current_version": case.version})
        if case.state in TERMINAL:
            raise InvalidTransition(_("A closed case cannot be reassigned."), extra={"state": case.state})
        if assignee is not None and not (set(ASSIGNABLE_ROLES[case.case_type.domain]) & r.user_roles(assignee)):
            raise ValidationFailed(_("This person has no role that works on cases of this kind."),
                                   extra={"errors": {"assignee": [_("Not eligible for this kind of case.")]}})
        if assignee is not None and case.agency_id not in agency_ids_member(assignee):
            raise ValidationFailed(_("This person does not work for the agency holding the case."),
                                   extra={"errors": {"assignee": [_("Not on the staff of the case's agency.")]}})
        _assign(case, actor=actor, assignee=assignee)
    return case


def _assign(case: Case, *, actor, assignee) -> None:
    before = {"assignee": case.assignee_id}
    case.assignee = assignee
    case.version += 1
    case.save(update_fields=["assignee", "version", "updated_at"])
    _event(case, actor=actor, kind=CaseEvent.Kind.ASSIGNMENT, before=before,
           after={"assignee": assignee.pk if assignee else None})


def case_note_add(*, case_id: int, actor, text: str, uuid: uuid_lib.UUID | None = None) -> tuple[CaseEvent, bool]:
    """Add a note to the timeline. Returns (event, created); a retry with the same uuid returns the stored note."""
    with transaction.atomic():
        case = case_lock(case_id)
        if not case_domain_roles_may_work(user=actor, domain=case.case_type.domain):
            raise NotAllowed(_("Your role cannot add notes to this case."))
        agency_member_required(case, actor)
        text = (text or "").strip()
        if not text:
            raise ValidationFailed(_("The note is empty."), extra={"errors": {"text": [_("This field is required.")]}})
        if uuid is not None:
            stored = CaseEvent.objects.filter(request_uuid=uuid).first()
            if stored is not None:
                if (stored.case_id, stored.actor_id, stored.note) != (case.pk, actor.pk, text):
                    raise Conflict(_("A different note was already stored under this id."))
                return stored, False
        event = CaseEvent.objects.create(case=case, actor=actor, kind=CaseEvent.Kind.NOTE, note=text,
                                         request_uuid=uuid)
        return event, True


def case_intake(*, case_id: int) -> Case | None:
    """After receipt: the intake of one case (see cases_intake). None if it was already done."""
    done = cases_intake(case_ids=[case_id])
    if not done and not Case.objects.filter(pk=case_id).exists():
        raise NotFound(_("Case not found."))
    return done[0] if done else None


def cases_intake(*, case_ids) -> list[Case]:
    """After receipt, for a batch of cases in one transaction: each licensing case goes to the officer with the
    fewest open cases of its procedure, the domain's intake checks run (dossier completeness), and the intake is
    recorded on the timeline. Cases already taken in, or gone, are skipped; running it twice changes nothing.

    Set-based: the officers' loads are read once and kept up to date as the batch is shared out, in case id order,
    so a batch assigns exactly as the same intakes one after another would."""
    with transaction.atomic():
        cases = list(Case.objects.select_for_update(of=("self",)).select_related("case_type", "terms")
                     .filter(pk__in=set(case_ids), intake_completed_at__isnull=True).order_by("pk"))
        if not cases:
            return []
        now = timezone.now()
        events = []
        to_assign = [case for case in cases if case.assignee_id is None and case.case_type.domain == "licensing"
                     and case.state not in TERMINAL]
        loads = OfficerLoads(case_type_ids={case.case_type_id for case in to_assign}) if to_assign else None
        assigned = set()
        for case in to_assign:
            officer_id = loads.take(case.case_type_id, case.agency_id)
            if officer_id is not None:
                assigned.add(case)
                case.assignee_id = officer_id
                case.version += 1
                events.append(CaseEvent(case=case, kind=CaseEvent.Kind.ASSIGNMENT, before={"assignee": None},
                                        after={"assignee": officer_id}, at=now))
        hooks.intake_run(cases)
        by_officer = defaultdict(list)  # one UPDATE per officer given cases, one for the rest
        for case in cases:
            case.intake_completed_at = case.updated_at = now
            by_officer[case.assignee_id if case in assigned else None].append(case.pk)
            events.append(CaseEvent(case=case, kind=CaseEvent.Kind.INTAKE, at=now,
                                    after={"assignee": case.assignee_id, "due_at": _iso(case.due_at)}))
        for officer_id, pks in by_officer.items():
            changes = {"assignee_id": officer_id, "version": F("version") + 1} if officer_id else {}
            Case.objects.filter(pk__in=pks).update(intake_completed_at=now, updated_at=now, **changes)
        CaseEvent.objects.bulk_create(events)
    return cases


class OfficerLoads:
    """Open cases per licensing officer and procedure, read once for a batch of intakes and counted on as
    cases are given out: the next case goes to the least loaded officer of the case's agency (ties: the earliest
    account)."""

    def __init__(self, *, case_type_ids: set[int]):
        self.officers = list(User.objects.filter(is_active=True, groups__name=r.LICENSING_OFFICER)
                             .order_by("pk").values_list("pk", flat=True))
        self.staff = defaultdict(list)  # agency id -> its officers, in account order
        for agency_id, officer in Membership.objects.filter(user_id__in=self.officers).order_by(
                "user_id").values_list("agency_id", "user_id"):
            self.staff[agency_id].append(officer)
        # Counts only open cases, named by state so that the (assignee, state, type) index answers it: the years
        # of closed cases behind each officer are never read.
        open_states = [state for state in State.values if state not in TERMINAL]
        self.load = {(type_id, officer): 0 for type_id in case_type_ids for officer in self.officers}
        counts = (Case.objects.filter(assignee_id__in=self.officers, case_type_id__in=case_type_ids,
                                      state__in=open_states)
                  .order_by().values_list("case_type_id", "assignee_id").annotate(n=Count("pk")))
        for type_id, officer, n in counts:
            self.load[(type_id, officer)] = n

    def take(self, case_type_id: int, agency_id: int) -> int | None:
        officers = self.staff.get(agency_id)
        if not officers:
            return None
        officer = min(officers, key=lambda pk: (self.load[(case_type_id, pk)], pk))
        self.load[(case_type_id, officer)] += 1
        return officer


def case_overdue_flag(*, case_id: int) -> bool:
    """Record on the timeline, once, that a case went past its due date."""
    with transaction.atomic():
        case = case_lock(case_id)
        if case.overdue_flagged_at is not None or not case.is_overdue:
            return False
        case.overdue_flagged_at = timezone.now()
        case.save(update_fields=["overdue_flagged_at", "updated_at"])
        _event(case, actor=None, kind=CaseEvent.Kind.OVERDUE, after={"due_at": _iso(case.due_at)})
        hooks.changed_run(case)
    return True


# --- Attachments -------------------------------------------------------------------------------------


def attachment_add(*, case_id: int, actor, upload, description: str = "", kind: str = "",
                   uuid: uuid_lib.UUID | None = None) -> tuple[Attachment, bool]:
    """Store a checked file on a case. The same content sent twice is stored once."""
    case = Case.objects.select_related("case_type").filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("Case not found."))
    if not case_domain_roles_may_work(user=actor, domain=case.case_type.domain):
        raise NotAllowed(_("Your role cannot add files to this case."))
    agency_member_required(case, actor)
    stored = upload_inspect(upload)  # checked (and images re-encoded) before anything is written
    content_type, extension = stored.content_type, stored.extension
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    sha256 = digest.hexdigest()
    upload.seek(0)
    with transaction.atomic():
        case = case_lock(case_id)
        if uuid is not None:
            same_id = Attachment.objects.filter(uuid=uuid).first()
            if same_id is not None:
                if same_id.case_id != case.pk or same_id.sha256 != sha256:
                    raise Conflict(_("A different file was already stored under this id."))
                return same_id, False
        existing = Attachment.objects.filter(case=case, sha256=sha256).first()
        if existing is not None:
            return existing, False
        attachment = Attachment(
            uuid=uuid or uuid_lib.uuid4(), case=case,
            original_name=name_for_type(upload.name, extension) or f"file{extension}",
            content_type=content_type, extension=extension, size=stored.file.size, sha256=sha256,
            description=description, kind=kind, uploaded_by=actor,
        )
        attachment.file.save(f"upload{extension}", stored.file, save=False)
        try:  # if the row cannot be stored, the file must not stay behind
            attachment.save()
            _event(case, actor=actor, kind=CaseEvent.Kind.ATTACHMENT,
                   after={"attachment": str(attachment.uuid), "name": attachment.original_name,
                          "size": attachment.size, "type": content_type, "kind": kind})
            hooks.attachment_run(case, attachment)
        except Exception:
            attachment.file.delete(save=False)
            raise
    return attachment, True


def sign_failure_record(case: Case, *, error: Exception, action: str = "sign", after: dict | None = None,
                        same=None) -> bool:
    """A document that could not be signed, on its case's timeline once per distinct error in a row (a retried task
    failing the same way writes nothing more). `same` narrows "in a row" to the events of one document (a filter on
    `after`). Returns True if written."""
    text = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"[:2000]
    events = case.events.filter(kind__in=[CaseEvent.Kind.ISSUE_FAILED, CaseEvent.Kind.DOCUMENT])
    last = events.filter(**(same or {})).order_by("-at", "-id").first()
    if last is not None and last.kind == CaseEvent.Kind.ISSUE_FAILED and last.note == text:
        return False
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.ISSUE_FAILED, action=action, note=text, after=after or {})
    return True
