"""Outcomes of the targets, violation records, sanction decisions and the follow-up of corrections."""

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import roles as r
from cases.deadlines import due_at_compute
from cases.errors import NotAllowed, NotFound, StaleVersion
from cases.models import Case, CaseEvent, LimitUnit
from cases.services import agency_member_required, case_lock
from worker.outbox import outbox_enqueue

from ..catalogue import in_force_on
from ..errors import (
    AlreadyDecided,
    CampaignClosedForChanges,
    FineOutOfRange,
    NotOnTeam,
    OutcomeConflict,
    OutcomeNotReady,
    ProvisionNotInForce,
    SanctionPending,
)
from ..models import (
    Finding,
    FollowUp,
    OffenderKind,
    Outcome,
    SanctionDecision,
    SanctionProvision,
    Target,
    ViolationProvision,
    ViolationRecord,
)
from ..selectors import LEAD_ROLES, findings_current, items_disputed, on_team
from ._common import (
    OUTCOME_STATES,
    SANCTION_SERIES,
    SANCTION_STATES,
    SANCTION_WORKING_DAYS,
    VIOLATION_SERIES,
    _event,
    _invalid,
    _is_lead,
    _iso,
    _not_future,
    _number_take,
    _require_lead,
    _require_state,
)
from .campaigns import _target_locked


def target_outcome_set(
    *, actor, target_id: int, outcome: str, note: str = "", violation_description: str = "",
    recorded_at: datetime | None = None,
) -> Target:
    """Close a visit: compliant, a reminder (not a sanction), or a violation, which opens the violation record
    ("01/BB-VPHC", gap-free per year) and its sanction decision due 7 working days later. The visit minutes
    (and the violation record) are rendered by tasks after commit. Setting the same outcome again changes nothing.
    """
    if outcome not in (Outcome.COMPLIANT, Outcome.REMINDER, Outcome.VIOLATION):
        _invalid("outcome", _("One of: compliant, reminder, violation."))
    note, violation_description = (note or "").strip(), (violation_description or "").strip()
    with transaction.atomic():
        target, case = _target_locked(target_id)
        if not (on_team(case, actor) or _is_lead(case, actor)):
            raise NotOnTeam()
        agency_member_required(case, actor)
        if target.outcome != Outcome.PENDING:
            same = target.outcome == outcome and target.outcome_note == note and (
                outcome != Outcome.VIOLATION or target.violation.description == violation_description)
            if not same:
                raise OutcomeConflict(extra={"stored": {"outcome": target.outcome, "note": target.outcome_note}})
            return target
        _require_state(case, OUTCOME_STATES)
        _outcome_check(target, outcome, note=note, description=violation_description)
        now = timezone.now()
        target.outcome, target.outcome_note, target.outcome_at, target.outcome_by = outcome, note, now, actor
        target.save(update_fields=["outcome", "outcome_note", "outcome_at", "outcome_by"])
        _event(case, actor=actor, kind=CaseEvent.Kind.DOSSIER, action="target_outcome", note=note,
               after={"target": target.pk, "name": target.establishment.name, "outcome": outcome})
        if outcome == Outcome.VIOLATION:
            recorded_at = recorded_at or now
            _not_future(recorded_at, "recorded_at")
            violation = _violation_record_open(case, target, actor=actor, description=violation_description,
                                               recorded_at=recorded_at)
            outbox_enqueue("inspections.violation_record_render", violation_id=violation.pk)
        outbox_enqueue("inspections.visit_minutes_render", target_id=target.pk)
    return target


def _outcome_check(target: Target, outcome: str, *, note: str, description: str) -> None:
    current = findings_current(target)
    disputed = items_disputed(target)  # two inspectors disagree: the lead's review settles it first (field review)
    if disputed:
        raise OutcomeNotReady(_("The inspectors disagree on some items: review them first."),
                              extra={"disputed_items": disputed})
    if not current:
        raise OutcomeNotReady(_("No finding was received for this target yet."))
    violations = [f for f in current.values() if f.result == Finding.Result.VIOLATION]
    if outcome == Outcome.COMPLIANT and violations:
        raise OutcomeNotReady(_("A target with a violation finding is not compliant."),
                              extra={"violations": [f.item.code for f in violations]})
    if outcome == Outcome.VIOLATION and not violations:
        raise OutcomeNotReady(_("No finding at this target is a violation."))
    if outcome == Outcome.REMINDER and not note:
        _invalid("note", _("Say what the reminder is about."))
    if outcome == Outcome.VIOLATION and not description:
        _invalid("violation_description", _("Describe the violation for the record."))
    without_photo = [f.item.code for f in current.values()
                     if f.item.photo_required and f.result != Finding.Result.NOT_APPLICABLE and not f.photos.exists()]
    if without_photo:
        raise OutcomeNotReady(_("These items need a photo first: %(items)s.") % {"items": ", ".join(without_photo)},
                              extra={"missing_photos": without_photo})


def _violation_record_open(case: Case, target: Target, *, actor, description: str,
                           recorded_at: datetime) -> ViolationRecord:
    year, number, number_text = _number_take(VIOLATION_SERIES, recorded_at, agency=case.agency)
    violation = ViolationRecord.objects.create(target=target, issuer=case.agency, year=year, number=number,
                                               number_text=number_text, description=description,
                                               recorded_at=recorded_at, recorded_by=actor)
    due_at = sanction_due_at(recorded_at)
    SanctionDecision.objects.create(violation=violation, due_at=due_at)
    _event(case, actor=actor, kind=CaseEvent.Kind.DOCUMENT, action="violation_record",
           after={"target": target.pk, "number": number_text, "recorded_at": _iso(recorded_at),
                  "sanction_due_at": _iso(due_at)})
    return violation


def sanction_due_at(recorded_at: datetime) -> datetime:
    """The end of the 7th working day after the day of the record (Vietnam's calendar: Tết, make-up days)."""
    return due_at_compute(start=recorded_at, amount=SANCTION_WORKING_DAYS, unit=LimitUnit.WORKING_DAYS)


FINE_MAX_VND = 2_000_000_000  # far above any fine in NĐ 15/2020 or NĐ 119/2020: catches a slip of the keyboard


def sanction_decide(*, actor, sanction_id: int, fine_vnd: int | None = None, remedial_measures: str = "",
                    decided_at: datetime | None = None, fines: dict | None = None) -> SanctionDecision:
    """Record the sanction decision ("01/QĐ-XPVPHC", gap-free per year): the fine in VND and the remedial
    measures. A decision after its due date is recorded and shown as late.

    A record that cites provisions of the catalogue takes one fine per provision (`fines`: provision id → VND),
    each within the provision's range for the offender's kind (an organisation's is double an individual's); the
    decision's fine is their sum. A record citing none takes `fine_vnd` as a whole. The decision document is
    rendered by a task after commit."""
    if not r.user_roles(actor) & LEAD_ROLES:
        raise NotAllowed(_("Only an inspection lead or the head records sanction decisions."))
    remedial_measures = (remedial_measures or "").strip()
    if fines is not None:
        try:
            fines = {str(int(k)): v for k, v in dict(fines).items()}
        except (TypeError, ValueError):
            _invalid("fines", _("Fines are given per provision id."))
    if fines is None and (not isinstance(fine_vnd, int) or isinstance(fine_vnd, bool)
                          or not 0 < fine_vnd <= FINE_MAX_VND):
        _invalid("fine_vnd", _("The fine is a whole number of đồng, more than 0."))
    with transaction.atomic():
        sanction = SanctionDecision.objects.filter(pk=sanction_id).select_related(
            "violation__target__campaign").first()
        if sanction is None:
            raise NotFound(_("Sanction decision not found."))
        case = case_lock(sanction.violation.target.campaign.case_id)
        agency_member_required(case, actor)
        sanction = SanctionDecision.objects.select_related("violation").get(pk=sanction_id)
        cited = list(sanction.violation.cited.select_related("provision__decree").order_by("pk"))
        if cited or fines is not None:
            fine_vnd = _fines_check(sanction.violation, cited, fines or {}, fine_vnd)
        if sanction.decided_at is not None:
            if (sanction.fine_vnd, sanction.remedial_measures) != (fine_vnd, remedial_measures):
                raise AlreadyDecided(extra={"number": sanction.number_text, "fine_vnd": sanction.fine_vnd})
            return sanction
        _require_state(case, SANCTION_STATES)
        decided_at = decided_at or timezone.now()
        _not_future(decided_at, "decided_at")
        if decided_at < sanction.violation.recorded_at:
            _invalid("decided_at", _("The decision cannot come before the violation record."))
        year, number, number_text = _number_take(SANCTION_SERIES, decided_at, agency=case.agency)
        sanction.decided_at, sanction.decided_by, sanction.issuer = decided_at, actor, case.agency
        sanction.year, sanction.number, sanction.number_text = year, number, number_text
        sanction.fine_vnd, sanction.remedial_measures = fine_vnd, remedial_measures
        sanction.save()
        for row in cited:
            row.fine_vnd = fines[str(row.provision_id)]
            row.save(update_fields=["fine_vnd"])
        outbox_enqueue("inspections.sanction_decision_render", sanction_id=sanction.pk)
        _event(case, actor=actor, kind=CaseEvent.Kind.DOCUMENT, action="sanction_decide",
               after={"violation": sanction.violation.number_text, "number": number_text, "fine_vnd": fine_vnd,
                      "decided_at": _iso(decided_at), "due_at": _iso(sanction.due_at),
                      "late": decided_at > sanction.due_at})
    return sanction


def _violation_locked(violation_id: int) -> tuple[ViolationRecord, Case]:
    violation = ViolationRecord.objects.filter(pk=violation_id).select_related("target__campaign").first()
    if violation is None:
        raise NotFound(_("Violation record not found."))
    case = case_lock(violation.target.campaign.case_id)
    return ViolationRecord.objects.select_related("sanction", "target").get(pk=violation_id), case


def follow_up_record(*, actor, violation_id: int, correction_due_on: date, note: str = "",
                     expected_count: int | None = None) -> FollowUp:
    """Plan the check that the violation was corrected by `correction_due_on`.

    `expected_count`: how many follow-ups the violation had when the form was shown (the office page sends it).
    A form sent again after its follow-up was stored returns that follow-up; a form made before someone else's
    follow-up is refused as stale. Without it (the API), each call plans one more check."""
    note = (note or "").strip()
    with transaction.atomic():
        violation, case = _violation_locked(violation_id)
        if not (on_team(case, actor) or _is_lead(case, actor)):
            raise NotOnTeam()
        agency_member_required(case, actor)
        if expected_count is not None:
            stored = list(violation.follow_ups.order_by("pk"))
            if len(stored) != expected_count:
                last = stored[-1] if stored else None
                if last is not None and len(stored) == expected_count + 1 and (
                        last.correction_due_on, last.note, last.created_by_id) == (correction_due_on, note, actor.pk):
                    return last
                raise StaleVersion(extra={"follow_ups": len(stored)})
        _require_state(case, SANCTION_STATES)
        if violation.sanction.decided_at is None:
            raise SanctionPending()
        if correction_due_on < timezone.localtime(violation.recorded_at).date():
            _invalid("correction_due_on", _("The correction cannot be due before the violation was recorded."))
        follow_up = FollowUp.objects.create(violation=violation, correction_due_on=correction_due_on,
                                            note=note, created_by=actor)
        _event(case, actor=actor, kind=CaseEvent.Kind.DOSSIER, action="follow_up",
               after={"violation": violation.number_text, "follow_up": follow_up.pk,
                      "correction_due_on": correction_due_on.isoformat()})
    return follow_up


def follow_up_done(*, actor, follow_up_id: int, done_note: str = "", done_at: datetime | None = None) -> FollowUp:
    """Record that the correction was verified. Recording it again changes nothing."""
    follow_up = FollowUp.objects.filter(pk=follow_up_id).first()
    if follow_up is None:
        raise NotFound(_("Follow-up not found."))
    with transaction.atomic():
        violation, case = _violation_locked(follow_up.violation_id)
        if not (on_team(case, actor) or _is_lead(case, actor)):
            raise NotOnTeam()
        agency_member_required(case, actor)
        follow_up = FollowUp.objects.select_for_update().get(pk=follow_up_id)
        if follow_up.done_at is not None:
            return follow_up
        if case.state not in SANCTION_STATES:
            raise CampaignClosedForChanges(extra={"state": case.state})
        done_at = done_at or timezone.now()
        _not_future(done_at, "done_at")
        follow_up.done_at, follow_up.done_note = done_at, (done_note or "").strip()
        follow_up.save(update_fields=["done_at", "done_note"])
        _event(case, actor=actor, kind=CaseEvent.Kind.DOSSIER, action="follow_up_done", note=follow_up.done_note,
               after={"violation": violation.number_text, "follow_up": follow_up.pk, "done_at": _iso(done_at)})
    return follow_up




# --- The violation record's offender and provisions (the sanctions catalogue) ------------------------------


def _fines_check(violation: ViolationRecord, cited: list, fines: dict, fine_vnd: int | None) -> int:
    """One fine per cited provision, each within its range for the offender's kind; returns their sum."""
    if not cited:
        _invalid("fines", _("The violation record cites no provision of the catalogue: give the fine as a whole."))
    fines = {str(k): v for k, v in fines.items()}
    known = {str(row.provision_id) for row in cited}
    unknown = sorted(set(fines) - known)
    if unknown:
        _invalid("fines", _("These provisions are not cited by the violation record: %(ids)s.")
                 % {"ids": ", ".join(unknown)})
    errors, total = {}, 0
    for row in cited:
        key = str(row.provision_id)
        amount = fines.get(key)
        low, high = row.provision.fine_range(violation.offender_kind)
        if not isinstance(amount, int) or isinstance(amount, bool):
            errors[key] = [_("A fine in whole đồng is required for %(citation)s.")
                           % {"citation": row.provision.citation}]
            continue
        if not low <= amount <= high:
            errors[key] = [_("The fine for %(citation)s must be between %(low)s and %(high)s đồng for %(kind)s.")
                           % {"citation": row.provision.citation, "low": f"{low:,}".replace(",", "."),
                              "high": f"{high:,}".replace(",", "."),
                              "kind": OffenderKind(violation.offender_kind).label}]
        total += amount
    if errors:
        first = next(iter(errors.values()))[0]
        raise FineOutOfRange(first, extra={"errors": {"fines": errors},
                                           "ranges": {str(row.provision_id):
                                                      row.provision.fine_range(violation.offender_kind)
                                                      for row in cited}})
    if fine_vnd is not None and fine_vnd != total:
        _invalid("fine_vnd", _("The total fine must be the sum of the fines per provision (%(total)s đồng).")
                 % {"total": f"{total:,}".replace(",", ".")})
    if total > FINE_MAX_VND:
        _invalid("fines", _("The number is out of range."))
    return total


def violation_offender_set(*, actor, violation_id: int, offender_kind: str, offender_name: str = "",
                           committed_on: date | None = None, provision_ids=()) -> ViolationRecord:
    """Write the offender (individual or organisation) and the provisions violated on a violation record, chosen
    from the catalogue in force on the day of the violation (`committed_on`, by default the record's day). A
    provision not in force that day is refused. Possible until the sanction is decided; the same content again
    changes nothing."""
    if offender_kind not in OffenderKind.values:
        _invalid("offender_kind", _("One of: individual, organisation."))
    offender_name = (offender_name or "").strip()[:300]
    ids = sorted({int(i) for i in provision_ids})
    if not ids:
        _invalid("provisions", _("Choose at least one provision violated."))
    with transaction.atomic():
        violation, case = _violation_locked(violation_id)
        _require_lead(case, actor)
        agency_member_required(case, actor)
        _require_state(case, SANCTION_STATES)
        day = committed_on or timezone.localtime(violation.recorded_at).date()
        if day > timezone.localtime(violation.recorded_at).date():
            _invalid("committed_on", _("The violation cannot come after its record."))
        provisions = list(SanctionProvision.objects.filter(pk__in=ids).select_related("decree"))
        missing = sorted(set(ids) - {p.pk for p in provisions})
        if missing:
            _invalid("provisions", _("Unknown provisions: %(ids)s.") % {"ids": ", ".join(map(str, missing))})
        stale = [p for p in provisions if not in_force_on(p, day)]
        if stale:
            message = _("Not in force on %(day)s: %(provisions)s.") % {
                "day": day.strftime("%d/%m/%Y"), "provisions": "; ".join(p.citation for p in stale)}
            raise ProvisionNotInForce(message, extra={"errors": {"provisions": [message]},
                                                      "not_in_force": [p.pk for p in stale]})
        # A provision the catalogue ties to other inspection types (a telecom article for a print shop) is not this
        # campaign's law; one tied to none is open to every type (a row an administrator has not tagged yet).
        foreign = [p for p in provisions if p.inspection_types and case.case_type.code not in p.inspection_types]
        if foreign:
            _invalid("provisions", _("Not a provision for this kind of inspection: %(provisions)s.") % {
                "provisions": "; ".join(p.citation for p in foreign)})
        current = sorted(violation.cited.values_list("provision_id", flat=True))
        same = (violation.offender_kind, violation.offender_name, violation.committed_on, current) == (
            offender_kind, offender_name, day, ids)
        if same:
            return violation
        if violation.sanction.decided_at is not None:
            raise AlreadyDecided(extra={"number": violation.sanction.number_text})
        violation.offender_kind, violation.offender_name, violation.committed_on = offender_kind, offender_name, day
        violation.save(update_fields=["offender_kind", "offender_name", "committed_on"])
        violation.cited.exclude(provision_id__in=ids).delete()
        for provision in provisions:
            ViolationProvision.objects.get_or_create(violation=violation, provision=provision)
        _event(case, actor=actor, kind=CaseEvent.Kind.DOSSIER, action="violation_provisions",
               before={"provisions": current},
               after={"violation": violation.number_text, "offender_kind": offender_kind,
                      "committed_on": day.isoformat(), "provisions": [p.citation for p in provisions]})
    return violation


def violation_record_write(*, actor, target_id: int, description: str, offender_kind: str = "",
                           offender_name: str = "", committed_on: date | None = None, provision_ids=(),
                           recorded_at: datetime | None = None) -> ViolationRecord:
    """The violation record as the office page writes it, in one transaction: the target's outcome "violation",
    which opens and numbers the record (target_outcome_set), then its offender and the provisions cited
    (violation_offender_set) when provisions are given. Both or neither. Sent again with the same content (a
    second tap, a retried request), nothing changes: the record is one per target, and both services return what
    is stored."""
    with transaction.atomic():
        target_outcome_set(actor=actor, target_id=target_id, outcome=Outcome.VIOLATION,
                           violation_description=description, recorded_at=recorded_at)
        violation = ViolationRecord.objects.get(target_id=target_id)
        if provision_ids:
            violation = violation_offender_set(actor=actor, violation_id=violation.pk, offender_kind=offender_kind,
                                               offender_name=offender_name, committed_on=committed_on,
                                               provision_ids=provision_ids)
    return violation
