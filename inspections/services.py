"""Writes of the inspections domain. Each service owns its transaction and writes the timeline inside it.

Every write on a campaign's targets, findings, photos and outcomes runs under the row lock of the campaign's
case (cases.services.case_lock): it serialises them with the workflow's transitions, so that nothing lands
in a campaign whose state has just moved on.
"""

import hashlib
import json
import logging
import uuid as uuid_lib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.db import DataError, IntegrityError, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from agencies.selectors import agency_ids_member, agency_ids_visible, predecessors_closure
from cases import hooks
from cases import roles as r
from cases.competence import agency_competent
from cases.deadlines import due_at_compute
from cases.errors import Conflict, DomainError, NotAllowed, NotFound, StaleVersion, ValidationFailed
from cases.models import Case, CaseEvent, CaseType, LimitUnit
from cases.services import (
    agency_member_required,
    case_assign,
    case_create,
    case_lock,
    case_lock_shared,
    case_transition,
    sequence_next,
)
from cases.workflow import TERMINAL, State
from licensing.services import agency_for_registry
from worker.outbox import outbox_enqueue

from . import documents as docs
from .errors import (
    AlreadyDecided,
    CampaignClosedForChanges,
    CampaignNotInField,
    CampaignNotReady,
    FindingConflict,
    FindingNotReceived,
    InUse,
    NotOnTeam,
    OutcomeConflict,
    OutcomeNotReady,
    PhotoConflict,
    SanctionPending,
)
from .models import (
    TYPE_KINDS,
    Campaign,
    ChecklistItem,
    ChecklistTemplate,
    Document,
    Establishment,
    Finding,
    FollowUp,
    Outcome,
    Photo,
    SanctionDecision,
    Target,
    ViolationRecord,
)
from .photos import photo_digest, photo_prepare, thumbnail_make
from .selectors import LEAD_ROLES, findings_current, findings_visible, on_team, photos_visible, team_ids

DECISION_SERIES = "QĐ"  # the decision to inspect: "12/QĐ-STTTT"
VIOLATION_SERIES = "BB-VPHC"
SANCTION_SERIES = "QĐ-XPVPHC"
SANCTION_WORKING_DAYS = 7  # Luật Xử lý vi phạm hành chính 2012, Điều 66, counted here in working days
TEAM_ROLES = frozenset({r.INSPECTOR, r.INSPECTION_LEAD})
CLOCK_SKEW = timedelta(minutes=5)
# A tablet's clock may be wrong by hours; its findings are kept all the same (received_at is the server's time).
DEVICE_CLOCK_SKEW = timedelta(days=1)

PLANNING_STATES = frozenset({State.PLANNED, State.ANNOUNCED, State.IN_FIELD})
OUTCOME_STATES = frozenset({State.IN_FIELD, State.FINDINGS_CLOSED})
# A photo of a finding already stored may arrive after the findings were closed: it is evidence, not a new answer.
PHOTO_STATES = frozenset({State.IN_FIELD, State.FINDINGS_CLOSED})
SANCTION_STATES = frozenset({State.IN_FIELD, State.FINDINGS_CLOSED, State.CONCLUDED})


def _invalid(field: str, message: str, error=ValidationFailed, **extra):
    raise error(message, extra={"errors": {field: [message]}, **extra})


def _event(case: Case, *, actor, kind: str, action: str, before: dict | None = None, after: dict | None = None,
           note: str = "") -> CaseEvent:
    return CaseEvent.objects.create(case=case, actor=actor, kind=kind, action=action, before=before or {},
                                    after=after or {}, note=note)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _not_future(moment: datetime, field: str, skew: timedelta = CLOCK_SKEW) -> None:
    if timezone.is_naive(moment):
        _invalid(field, _("A time zone is required."))
    if moment > timezone.now() + skew:
        _invalid(field, _("This time is in the future."))


def _is_lead(case: Case, user) -> bool:
    """The campaign's lead, or a role that directs inspections (lead, head, administrator)."""
    return user is not None and (user.pk == case.assignee_id or bool(r.user_roles(user) & LEAD_ROLES))


def _require_lead(case: Case, user) -> None:
    if not _is_lead(case, user):
        raise NotAllowed(_("Only the campaign's lead can do this."))


def _require_state(case: Case, states, error=CampaignClosedForChanges) -> None:
    if case.state not in states:
        raise error(extra={"state": case.state})


def _campaign_locked(campaign_id: int) -> tuple[Campaign, Case]:
    campaign = Campaign.objects.filter(pk=campaign_id).only("case_id").first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    case = case_lock(campaign.case_id)
    return Campaign.objects.select_related("checklist").get(pk=campaign_id), case


def _number_take(series: str, moment: datetime, *, agency) -> tuple[int, int, str]:
    """The agency's next number of `series` in the year of `moment`: numbers start at 01 each year (Nghị định
    30/2020/NĐ-CP), and each agency counts its own (the symbol part of a counter's key, for a new symbol)."""
    year = timezone.localtime(moment).year
    number = sequence_next(key=f"document:{agency.pk}:{series}:{agency.symbol}", year=year)
    return year, number, f"{number:02d}/{series}"


# --- Establishments ----------------------------------------------------------------------------------------

ESTABLISHMENT_FIELDS = ("kind", "name", "address", "operator", "site_code", "latitude", "longitude",
                        "representative", "phone", "print_facility", "organisation", "active")


def _establishment_check(values: dict, *, agency: Agency) -> None:
    errors = {}
    if values.get("kind") not in Establishment.Kind.values:
        errors["kind"] = [_("Unknown kind of establishment.")]
    if values.get("kind") == Establishment.Kind.BTS_SITE and not values.get("site_code"):
        errors["site_code"] = [_("A BTS site needs its site code.")]
    latitude, longitude = values.get("latitude"), values.get("longitude")
    if (latitude is None) != (longitude is None):
        errors["latitude"] = [_("Give both latitude and longitude, or neither.")]
    if latitude is not None and not -90 <= latitude <= 90:
        errors["latitude"] = [_("Latitude is between -90 and 90.")]
    if longitude is not None and not -180 <= longitude <= 180:
        errors["longitude"] = [_("Longitude is between -180 and 180.")]
    # Links to the licensing registries: entries of the establishment's agency or of its predecessors.
    registries = predecessors_closure({agency.pk})
    for link in ("print_facility", "organisation"):
        if values.get(link) is not None and values[link].agency_id not in registries:
            errors[link] = [_("Not an entry of this agency's registry.")]
    if values.get("site_code"):
        twin = Establishment.objects.filter(agency=agency, operator=values.get("operator") or "",
                                            site_code=values["site_code"])
        if values.get("pk"):
            twin = twin.exclude(pk=values["pk"])
        if twin.exists():
            errors["site_code"] = [_("This operator already has a site with this code.")]
    if errors:
        raise ValidationFailed(_("The establishment is not valid."), extra={"errors": errors})


def _registry_writer(actor) -> None:
    if not r.user_roles(actor) & LEAD_ROLES:
        raise NotAllowed(_("Only inspection leads keep the establishment registry."))


def _acts_for(actor, agency_id: int) -> bool:
    member = agency_ids_member(actor)
    return agency_id in member or bool(actor.is_superuser and not member)


def _registry_entry_writer(actor, establishment: Establishment) -> None:
    """A registry entry is changed by its own agency's staff: a predecessor's entries are read (and inspected),
    not changed; another agency's are not found."""
    if establishment.agency_id not in agency_ids_visible(actor):
        raise NotFound(_("Establishment not found."))
    if not _acts_for(actor, establishment.agency_id):
        raise NotAllowed(_("This establishment belongs to another agency's registry: you may read it, not change "
                           "it."))


def establishment_create(*, actor, agency: Agency | None = None, **fields) -> Establishment:
    """An entry of the actor's agency's registry (`agency` names it for someone working for several: by default the
    one of theirs that inspects this kind of establishment today)."""
    _registry_writer(actor)
    values = {k: v for k, v in fields.items() if k in ESTABLISHMENT_FIELDS}
    inspecting = [code for code, kinds in TYPE_KINDS.items() if values.get("kind") in kinds]
    keeper = agency_for_registry(actor=actor, case_types=CaseType.objects.filter(code__in=inspecting), agency=agency)
    for coordinate in ("latitude", "longitude"):
        values[coordinate] = _decimal(values.get(coordinate), 6, coordinate)
    _establishment_check(values, agency=keeper)
    with transaction.atomic():
        return Establishment.objects.create(agency=keeper, **values)


def establishment_update(*, actor, establishment_id: int, agency: Agency | None = None, **fields) -> Establishment:
    _registry_writer(actor)
    with transaction.atomic():
        establishment = Establishment.objects.select_for_update().filter(pk=establishment_id).first()
        if establishment is None:
            raise NotFound(_("Establishment not found."))
        _registry_entry_writer(actor, establishment)
        if agency is not None and agency.pk != establishment.agency_id:
            _invalid("agency", _("An entry stays in the registry of its agency."))
        values = {name: getattr(establishment, name) for name in ESTABLISHMENT_FIELDS}
        values.update({k: v for k, v in fields.items() if k in ESTABLISHMENT_FIELDS})
        for coordinate in ("latitude", "longitude"):
            values[coordinate] = _decimal(values.get(coordinate), 6, coordinate)
        _establishment_check({**values, "pk": establishment.pk}, agency=establishment.agency)
        for name, value in values.items():
            setattr(establishment, name, value)
        establishment.save()
    return establishment


def establishment_delete(*, actor, establishment_id: int) -> None:
    _registry_writer(actor)
    establishment = Establishment.objects.filter(pk=establishment_id).first()
    if establishment is None:
        raise NotFound(_("Establishment not found."))
    _registry_entry_writer(actor, establishment)
    try:
        with transaction.atomic():
            deleted, _rows = Establishment.objects.filter(pk=establishment_id).delete()
    except ProtectedError:
        raise InUse(_("This establishment is a target of a campaign; mark it inactive instead.")) from None
    if not deleted:
        raise NotFound(_("Establishment not found."))


# --- Campaigns ---------------------------------------------------------------------------------------------


def checklist_in_force(*, case_type: CaseType, day: date) -> ChecklistTemplate | None:
    return (ChecklistTemplate.objects.filter(case_type=case_type, effective_from__lte=day)
            .order_by("-effective_from", "-version").first())


@dataclass(frozen=True)
class TargetPlan:
    establishment: Establishment
    inspectors: tuple = ()
    planned_on: date | None = None


def _team_check(*, lead, members, agency: Agency) -> None:
    """Inspectors or leads, all on the staff of the campaign's agency."""
    errors = {}
    if lead is None:
        errors["lead"] = [_("A campaign needs a lead.")]
    elif not r.user_roles(lead) & TEAM_ROLES:
        errors["lead"] = [_("The lead must be an inspector or an inspection lead.")]
    elif agency.pk not in agency_ids_member(lead):
        errors["lead"] = [_("The lead must work for the campaign's agency.")]
    strangers = [m.get_username() for m in members if not r.user_roles(m) & TEAM_ROLES]
    if strangers:
        errors["members"] = [_("Not inspectors: %(names)s.") % {"names": ", ".join(strangers)}]
    outsiders = [m.get_username() for m in members if m.get_username() not in strangers
                 and agency.pk not in agency_ids_member(m)]
    if outsiders:
        errors.setdefault("members", []).append(
            _("Not on the staff of the campaign's agency: %(names)s.") % {"names": ", ".join(outsiders)})
    if errors:
        raise ValidationFailed(_("The team is not valid."), extra={"errors": errors})


def _targets_check(case_type: CaseType, plans, *, team: set[int], agency: Agency,
                   existing: set[int] = frozenset()) -> None:
    kinds = TYPE_KINDS.get(case_type.code, frozenset())
    registries = predecessors_closure({agency.pk})  # the agency's registry and the ones it took over
    errors = []
    seen = set(existing)
    for plan in plans:
        establishment = plan.establishment
        if establishment.agency_id not in registries:
            errors.append(_("%(name)s is not in the registry of the campaign's agency.") % {"name": establishment.name})
        elif establishment.kind not in kinds:
            errors.append(_("%(name)s is not a kind of establishment that “%(type)s” inspects.")
                          % {"name": establishment.name, "type": case_type.name_vi})
        if establishment.pk in seen:
            errors.append(_("%(name)s is already a target of this campaign.") % {"name": establishment.name})
        seen.add(establishment.pk)
        outsiders = [u.get_username() for u in plan.inspectors if u.pk not in team]
        if outsiders:
            errors.append(_("Not on the campaign's team: %(names)s.") % {"names": ", ".join(outsiders)})
    if errors:
        raise ValidationFailed(_("The targets are not valid."), extra={"errors": {"targets": errors}})


def campaign_plan(
    *, actor, case_type: CaseType | str, title: str, legal_basis: str, period_start: date, period_end: date,
    lead=None, members=(), scope: str = "", targets=(), uuid: uuid_lib.UUID | None = None,
    agency: Agency | None = None,
) -> tuple[Campaign, bool]:
    """Plan a campaign: the inspection case, its team (lead = assignee, members), the checklist version in force
    on the first day, and its targets. The same `uuid` again returns the stored campaign. The campaign belongs to
    the agency competent for its type today among the actor's (`agency` names one when they work for several);
    its team works for that agency and its targets are in that agency's registry (or its predecessors')."""
    if isinstance(case_type, str):
        case_type = CaseType.objects.filter(code=case_type).first()
    if case_type is None or case_type.domain != "inspection":
        _invalid("type", _("Unknown inspection type."))
    if not r.CREATE_ROLES["inspection"] & r.user_roles(actor):
        raise NotAllowed(_("Your role cannot plan inspection campaigns."))
    title, legal_basis = (title or "").strip(), (legal_basis or "").strip()
    if uuid is not None:
        stored = Campaign.objects.select_related("case").filter(case__uuid=uuid).first()
        if stored is not None:
            return _campaign_same_request(stored, actor=actor, case_type=case_type, title=title,
                                          period_start=period_start, period_end=period_end), False
    errors = {}
    if not title:
        errors["title"] = [_("This field is required.")]
    if not legal_basis:
        errors["legal_basis"] = [_("This field is required.")]
    if period_end < period_start:
        errors["period_end"] = [_("The end cannot be before the start.")]
    if errors:
        raise ValidationFailed(_("The campaign is not valid."), extra={"errors": errors})
    keeper = agency_competent(case_type=case_type, day=timezone.localdate(), actor=actor, agency=agency)
    lead = lead or actor
    members = [m for m in dict.fromkeys(members) if m.pk != lead.pk]
    _team_check(lead=lead, members=members, agency=keeper)
    checklist = checklist_in_force(case_type=case_type, day=period_start)
    if checklist is None:
        _invalid("type", _("No checklist of this inspection type is in force on the first day."))
    plans = [p if isinstance(p, TargetPlan) else TargetPlan(**p) for p in targets]
    _targets_check(case_type, plans, team={lead.pk} | {m.pk for m in members}, agency=keeper)
    with transaction.atomic():
        case, created = case_create(actor=actor, case_type=case_type, subject_name=title, summary=scope[:500],
                                    uuid=uuid, agency=keeper)
        if not created:  # a retried request raced this one and stored the campaign first
            return Campaign.objects.get(case=case), False
        campaign = Campaign.objects.create(case=case, legal_basis=legal_basis, scope=scope, period_start=period_start,
                                           period_end=period_end, checklist=checklist)
        _event(case, actor=actor, kind=CaseEvent.Kind.DOSSIER, action="campaign_plan",
               after={"period_start": period_start.isoformat(), "period_end": period_end.isoformat(),
                      "checklist": checklist.pk, "checklist_version": checklist.version})
        _team_apply(case, actor=actor, lead=lead, members=members)
        for plan in plans:
            _target_create(campaign, case, actor=actor, plan=plan)
    return campaign, True


def _campaign_same_request(campaign: Campaign, *, actor, case_type, title, period_start, period_end) -> Campaign:
    case = campaign.case
    if (case.created_by_id, case.case_type_id, case.subject_name, campaign.period_start, campaign.period_end) != (
            actor.pk, case_type.pk, title, period_start, period_end):
        raise Conflict(_("A different campaign was already stored under this id."),
                       extra={"stored": {"id": campaign.pk, "reference": case.reference}})
    return campaign


def _team_apply(case: Case, *, actor, lead, members) -> None:
    if case.assignee_id != lead.pk:
        case_assign(case_id=case.pk, actor=actor, assignee=lead)
        case.refresh_from_db()
    before = sorted(case.members.values_list("pk", flat=True))
    after = sorted({m.pk for m in members} - {lead.pk})
    if before != after:
        case.members.set(after)
        case.version += 1
        case.save(update_fields=["version", "updated_at"])
        _event(case, actor=actor, kind=CaseEvent.Kind.ASSIGNMENT, action="team",
               before={"members": before}, after={"members": after})
    # Whoever left the team leaves their target assignments too.
    Target.inspectors.through.objects.filter(target__campaign__case=case).exclude(
        user_id__in=[*after, lead.pk]).delete()


def campaign_team_set(*, actor, campaign_id: int, lead, members, version: int | None = None) -> Campaign:
    with transaction.atomic():
        campaign, case = _campaign_locked(campaign_id)
        if not r.ASSIGN_ROLES["inspection"] & r.user_roles(actor):
            raise NotAllowed(_("Your role cannot change a campaign's team."))
        agency_member_required(case, actor)
        if version is not None and version != case.version:
            raise StaleVersion(extra={"current_version": case.version})
        if case.state in TERMINAL or case.state == State.CONCLUDED:
            raise CampaignClosedForChanges(extra={"state": case.state})
        members = [m for m in dict.fromkeys(members) if m.pk != lead.pk]
        _team_check(lead=lead, members=members, agency=case.agency)
        _team_apply(case, actor=actor, lead=lead, members=members)
    return campaign


def campaign_transition(*, actor, campaign_id: int, action: str, version: int | None = None,
                        note: str = "") -> Campaign:
    """A workflow step of the campaign's case; the hooks below number the decision and queue the documents."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    case_transition(case_id=campaign.case_id, actor=actor, action=action, version=version, note=note)
    return Campaign.objects.get(pk=campaign_id)


def campaign_conclude(*, actor, campaign_id: int, conclusion: str, version: int | None = None) -> Campaign:
    """Conclude with the conclusion's text (the transition's reasons); the conclusion DOCX follows by task."""
    return campaign_transition(actor=actor, campaign_id=campaign_id, action="conclude", version=version,
                               note=conclusion)


# --- Targets -----------------------------------------------------------------------------------------------


def _target_create(campaign: Campaign, case: Case, *, actor, plan: TargetPlan) -> Target:
    try:
        with transaction.atomic():
            target = Target.objects.create(campaign=campaign, establishment=plan.establishment,
                                           planned_on=plan.planned_on)
    except IntegrityError:
        _invalid("establishment", _("%(name)s is already a target of this campaign.")
                 % {"name": plan.establishment.name})
    target.inspectors.set(plan.inspectors)
    _event(case, actor=actor, kind=CaseEvent.Kind.DOSSIER, action="target_add",
           after={"target": target.pk, "establishment": plan.establishment.pk, "name": plan.establishment.name,
                  "inspectors": sorted(u.pk for u in plan.inspectors)})
    return target


def target_add(*, actor, campaign_id: int, establishment: Establishment, inspectors=(),
               planned_on: date | None = None) -> Target:
    with transaction.atomic():
        campaign, case = _campaign_locked(campaign_id)
        _require_lead(case, actor)
        agency_member_required(case, actor)
        _require_state(case, PLANNING_STATES)
        plan = TargetPlan(establishment=establishment, inspectors=tuple(inspectors), planned_on=planned_on)
        existing = set(campaign.targets.values_list("establishment_id", flat=True))
        _targets_check(case.case_type, [plan], team=team_ids(case), agency=case.agency, existing=existing)
        return _target_create(campaign, case, actor=actor, plan=plan)


def _target_locked(target_id: int) -> tuple[Target, Case]:
    target = Target.objects.filter(pk=target_id).select_related("campaign").first()
    if target is None:
        raise NotFound(_("Target not found."))
    case = case_lock(target.campaign.case_id)
    target = Target.objects.select_related("campaign__checklist", "establishment").get(pk=target_id)
    return target, case


def target_assign(*, actor, target_id: int, inspectors, planned_on: date | None = None) -> Target:
    with transaction.atomic():
        target, case = _target_locked(target_id)
        _require_lead(case, actor)
        agency_member_required(case, actor)
        if case.state in TERMINAL or case.state == State.CONCLUDED:
            raise CampaignClosedForChanges(extra={"state": case.state})
        team = team_ids(case)
        outsiders = [u.get_username() for u in inspectors if u.pk not in team]
        if outsiders:
            _invalid("inspectors", _("Not on the campaign's team: %(names)s.") % {"names": ", ".join(outsiders)})
        before = sorted(target.inspectors.values_list("pk", flat=True))
        target.inspectors.set(inspectors)
        if planned_on is not None:
            target.planned_on = planned_on
            target.save(update_fields=["planned_on"])
        _event(case, actor=actor, kind=CaseEvent.Kind.ASSIGNMENT, action="target_assign",
               before={"target": target.pk, "inspectors": before},
               after={"target": target.pk, "inspectors": sorted(u.pk for u in inspectors)})
    return target


def target_remove(*, actor, target_id: int) -> None:
    """Take back a target that was not visited (no finding yet), before the findings are closed."""
    with transaction.atomic():
        target, case = _target_locked(target_id)
        _require_lead(case, actor)
        agency_member_required(case, actor)
        _require_state(case, PLANNING_STATES)
        if target.findings.exists():
            raise InUse(_("Findings were recorded at this target; it stays in the campaign."))
        name = target.establishment.name
        target.inspectors.clear()
        target.delete()
        _event(case, actor=actor, kind=CaseEvent.Kind.DOSSIER, action="target_remove",
               before={"target": target_id, "name": name})


# --- Findings ----------------------------------------------------------------------------------------------


def _decimal(value, places: int, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        _invalid(field, _("A number is required."))
    if not number.is_finite():
        _invalid(field, _("A number is required."))
    try:
        return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    except InvalidOperation:  # more digits than the decimal context holds (1e30): far out of any range
        _invalid(field, _("The number is out of range."))


def _finding_content(*, uuid, target_id: int, item_id: int, result: str, note: str, latitude, longitude, accuracy,
                     device_time: datetime, inspector_id: int) -> dict:
    """The finding as plain data, normalised so that the same finding always gives the same dict."""
    errors = {}
    if result not in Finding.Result.values:
        errors["result"] = [_("One of: %(values)s.") % {"values": ", ".join(Finding.Result.values)}]
    lat, lon, acc = _decimal(latitude, 6, "latitude"), _decimal(longitude, 6, "longitude"), _decimal(accuracy, 1,
                                                                                                      "accuracy")
    if (lat is None) != (lon is None):
        errors["latitude"] = [_("Give both latitude and longitude, or neither.")]
    if lat is not None and not -90 <= lat <= 90:
        errors["latitude"] = [_("Latitude is between -90 and 90.")]
    if lon is not None and not -180 <= lon <= 180:
        errors["longitude"] = [_("Longitude is between -180 and 180.")]
    if acc is not None and (acc < 0 or acc >= Decimal("10000000")):
        errors["accuracy"] = [_("The accuracy is a distance in metres.")]
    if not isinstance(device_time, datetime) or timezone.is_naive(device_time):
        errors["device_time"] = [_("A time with its time zone is required.")]
    if errors:
        raise ValidationFailed(_("The finding is not valid."), extra={"errors": errors})
    return {
        "uuid": str(uuid), "target": target_id, "item": item_id, "result": result,
        "note": (note or "").replace("\r\n", "\n").strip(),
        "latitude": None if lat is None else f"{lat:.6f}", "longitude": None if lon is None else f"{lon:.6f}",
        "accuracy": None if acc is None else f"{acc:.1f}",
        "device_time": device_time.astimezone(UTC).isoformat(timespec="microseconds"),
        "inspector": inspector_id,
    }


def finding_content_stored(finding: Finding) -> dict:
    return _finding_content(uuid=finding.pk, target_id=finding.target_id, item_id=finding.item_id,
                            result=finding.result, note=finding.note, latitude=finding.latitude,
                            longitude=finding.longitude, accuracy=finding.accuracy, device_time=finding.device_time,
                            inspector_id=finding.inspector_id)


def _fingerprint(content: dict) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _finding_same(stored: Finding, content: dict, fingerprint: str, actor) -> Finding:
    """The stored finding when the content is the same, else FindingConflict. The conflict shows the stored
    finding (its note, position, inspector) only to someone who may read it; anyone else learns only that the id
    is taken."""
    if stored.fingerprint == fingerprint:
        return stored
    if findings_visible(user=actor).filter(pk=stored.pk).exists():
        raise FindingConflict(extra={"stored": finding_content_stored(stored), "sent": content})
    raise FindingConflict(_("This id is already taken by a finding you may not see: record it under a new id."),
                          extra={"sent": content})


def _finding_from(content: dict, *, target, item, device_time: datetime, actor) -> Finding:
    """An unsaved finding from its normalised content, the same content its fingerprint is taken from."""
    def number(key: str) -> Decimal | None:
        return None if content[key] is None else Decimal(content[key])

    return Finding(id=uuid_lib.UUID(content["uuid"]), target=target, item=item, result=content["result"],
                   note=content["note"], latitude=number("latitude"), longitude=number("longitude"),
                   accuracy=number("accuracy"), device_time=device_time, inspector=actor,
                   fingerprint=_fingerprint(content))


def _by_pk(model_or_queryset, pk):
    """The row with this key or None, read without the model's default ordering (which joins other tables)."""
    queryset = getattr(model_or_queryset, "objects", model_or_queryset)
    return next(iter(queryset.filter(pk=pk).order_by()[:1]), None)


def finding_submit(
    *, actor, uuid: uuid_lib.UUID, target_id: int, item_id: int, result: str, device_time: datetime,
    note: str = "", latitude=None, longitude=None, accuracy=None,
) -> tuple[Finding, bool]:
    """Store one finding a tablet made under its own id. Returns (finding, created).

    The same id with the same content returns the stored finding and changes nothing, in any state; the same
    id with other content is a FindingConflict carrying both versions. Only the campaign's team (lead and
    members) submits, and only while the campaign is in the field. A finding that arrives after its target's
    outcome was recorded is kept (nothing a tablet sent is dropped); the minutes already made stay as they are.
    """
    content = _finding_content(uuid=uuid, target_id=target_id, item_id=item_id, result=result, note=note,
                               latitude=latitude, longitude=longitude, accuracy=accuracy, device_time=device_time,
                               inspector_id=actor.pk)
    fingerprint = _fingerprint(content)
    stored = _by_pk(Finding, uuid)
    if stored is not None:
        return _finding_same(stored, content, fingerprint, actor), False
    target = _by_pk(Target.objects.select_related("campaign__case"), target_id)
    if target is None or target.campaign.case.agency_id not in agency_ids_visible(actor):
        _invalid("target", _("Unknown target."))  # another agency's target is unknown here
    with transaction.atomic():
        # Findings of one campaign go in side by side (a share lock); closing the findings waits for them.
        case = case_lock_shared(target.campaign.case_id)
        if not on_team(case, actor):
            raise NotOnTeam()
        agency_member_required(case, actor)
        _require_state(case, {State.IN_FIELD}, error=CampaignNotInField)
        item = _by_pk(ChecklistItem, item_id)
        if item is None or item.template_id != target.campaign.checklist_id:
            _invalid("item", _("This item is not on the campaign's checklist."))
        _not_future(device_time, "device_time", DEVICE_CLOCK_SKEW)
        try:  # the same id sent again at the same moment: the unique key decides, the loser reads the winner
            with transaction.atomic():
                finding = _finding_from(content, target=target, item=item, device_time=device_time, actor=actor)
                finding.save(force_insert=True)
        except IntegrityError:
            stored = _by_pk(Finding, uuid)
            if stored is None:
                raise
            return _finding_same(stored, content, fingerprint, actor), False
        # The visit is the earliest finding's time.
        Target.objects.filter(Q(visited_at__isnull=True) | Q(visited_at__gt=device_time), pk=target.pk).update(
            visited_at=device_time)
    return finding, True


@dataclass
class BatchResult:
    status: int
    finding: Finding | None = None
    error: DomainError | None = None


def findings_batch_submit(*, actor, items: list[dict]) -> list[BatchResult]:
    """Many findings at once, each answered on its own, in order, with what a single submission would have
    answered. Items are dicts of finding_submit's arguments (without actor).

    The common case, new findings sent by the team of a campaign in the field, is checked from one read of
    the targets, teams and checklists and stored by one insert. Every other item (sent before, refused, or the
    same id arriving from another device at this moment) goes through finding_submit in its own savepoint, so
    a refused item costs only itself."""
    results: list[BatchResult | None] = [None] * len(items)
    with transaction.atomic():
        fresh = _findings_fresh(actor=actor, items=items)
        if fresh:
            try:
                with transaction.atomic():
                    Finding.objects.bulk_create(sorted(fresh.values(), key=lambda finding: str(finding.pk)))
            except IntegrityError:  # an id came in from elsewhere meanwhile: every item on its own, below
                fresh = {}
            first_seen: dict[int, datetime] = {}
            for index, finding in fresh.items():
                results[index] = BatchResult(status=201, finding=finding)
                seen = first_seen.get(finding.target_id)
                first_seen[finding.target_id] = finding.device_time if seen is None else min(seen, finding.device_time)
            for target_id, moment in sorted(first_seen.items()):  # the visit is the earliest finding's time
                Target.objects.filter(Q(visited_at__isnull=True) | Q(visited_at__gt=moment), pk=target_id).update(
                    visited_at=moment)
        for index, item in enumerate(items):
            if results[index] is not None:
                continue
            try:
                with transaction.atomic():
                    finding, created = finding_submit(actor=actor, **item)
            except DomainError as error:
                results[index] = BatchResult(status=error.status, error=error)
            except (DataError, IntegrityError) as exc:  # the database refused this item only: it costs only itself
                logging.getLogger(__name__).warning("finding %s of a batch refused by the database: %s",
                                                    item.get("uuid"), exc)
                error = ValidationFailed(_("The finding could not be stored as sent."))
                results[index] = BatchResult(status=error.status, error=error)
            else:
                results[index] = BatchResult(status=201 if created else 200, finding=finding)
    return results


def _findings_fresh(*, actor, items: list[dict]) -> dict[int, Finding]:
    """The items that are plainly new and acceptable, as unsaved findings by position. The campaigns' cases are
    locked here for update, in one order, for the rest of the transaction: two batches of one campaign take
    turns (each inserts many rows, and two such inserts waiting on each other's ids would deadlock), while
    single findings, one row each, share the lock."""
    ids = [str(item.get("uuid")) for item in items]
    repeated = {finding_id for finding_id, times in Counter(ids).items() if times > 1}
    known = {str(pk) for pk in Finding.objects.filter(pk__in=ids).order_by().values_list("pk", flat=True)}
    targets = {target.pk: target for target in Target.objects.filter(
        pk__in={item.get("target_id") for item in items}).select_related("campaign").order_by()}
    cases = {case_id: case_lock(case_id)
             for case_id in sorted({target.campaign.case_id for target in targets.values()})}
    teams = {case_id: team_ids(case) for case_id, case in cases.items()}
    checklist_items = {item.pk: item for item in ChecklistItem.objects.filter(
        template_id__in={target.campaign.checklist_id for target in targets.values()}).order_by()}
    latest = timezone.now() + DEVICE_CLOCK_SKEW
    fresh: dict[int, Finding] = {}
    for index, item in enumerate(items):
        target = targets.get(item.get("target_id"))
        checklist_item = checklist_items.get(item.get("item_id"))
        device_time = item.get("device_time")
        if ids[index] in known or ids[index] in repeated or target is None or checklist_item is None:
            continue
        case = cases[target.campaign.case_id]
        if case.state != State.IN_FIELD or actor.pk not in teams[case.pk] or not _acts_for(actor, case.agency_id) \
                or checklist_item.template_id != target.campaign.checklist_id:
            continue
        try:
            content = _finding_content(
                uuid=item["uuid"], target_id=target.pk, item_id=checklist_item.pk, result=item.get("result"),
                note=item.get("note", ""), latitude=item.get("latitude"), longitude=item.get("longitude"),
                accuracy=item.get("accuracy"), device_time=device_time, inspector_id=actor.pk)
        except ValidationFailed:
            continue
        if timezone.is_naive(device_time) or device_time > latest:
            continue
        fresh[index] = _finding_from(content, target=target, item=checklist_item, device_time=device_time,
                                     actor=actor)
    return fresh


# --- Photos ------------------------------------------------------------------------------------------------


def _photo_same(stored: Photo, *, finding_id, sha256: str, actor) -> Photo:
    """The stored photo when this is the same upload again (same finding, content and sender), else PhotoConflict.
    The conflict shows the stored photo's details only to someone who may read that photo."""
    if (str(stored.finding_id), stored.sha256, stored.uploaded_by_id) == (str(finding_id), sha256, actor.pk):
        return stored
    sent = {"uuid": str(stored.pk), "finding": str(finding_id), "sha256": sha256, "uploaded_by": actor.pk}
    if photos_visible(user=actor).filter(pk=stored.pk).exists():
        raise PhotoConflict(extra={"stored": {"uuid": str(stored.pk), "finding": str(stored.finding_id),
                                              "sha256": stored.sha256, "uploaded_by": stored.uploaded_by_id},
                                   "sent": sent})
    raise PhotoConflict(_("This id is already taken by a photo you may not see: send the photo under a new id."),
                        extra={"sent": sent})


def _photo_writer_check(case: Case, actor) -> None:
    """Only the campaign's team adds photos, while the campaign is in the field or its findings are closed."""
    if not on_team(case, actor):
        raise NotOnTeam()
    agency_member_required(case, actor)
    _require_state(case, PHOTO_STATES)


def photo_add(*, actor, uuid: uuid_lib.UUID, finding_id: uuid_lib.UUID, upload) -> tuple[Photo, bool]:
    """Store a photo of a finding under the tablet's id: checked, re-encoded as JPEG without EXIF. The same id
    again returns the stored photo; the same content for the same finding is stored once. A task makes the
    thumbnail after commit.

    Who may add it is settled before the file is opened, so that a file sent where it may not go costs a few
    queries and never a decoding: a used id is answered from the stored photo (the bytes sent are hashed, not
    decoded); a finding not received is 409; someone off the campaign's team is 403; a campaign past its field
    work is 409. Only then is the image checked (its pixels counted from its header) and decoded, outside any
    lock; the team and the state are checked again under the campaign's lock."""
    stored = _by_pk(Photo, uuid)
    if stored is not None:
        return _photo_same(stored, finding_id=finding_id, sha256=photo_digest(upload), actor=actor), False
    finding = _by_pk(Finding.objects.select_related("target__campaign__case"), finding_id)
    if finding is None or finding.target.campaign.case.agency_id not in agency_ids_visible(actor):
        raise FindingNotReceived(extra={"finding": str(finding_id)})  # another agency's finding is unknown here
    _photo_writer_check(finding.target.campaign.case, actor)
    checked = photo_prepare(upload)  # the CPU work happens before any lock is taken
    with transaction.atomic():
        case = case_lock(finding.target.campaign.case_id)
        _photo_writer_check(case, actor)
        stored = Photo.objects.filter(pk=uuid).first()
        if stored is not None:
            return _photo_same(stored, finding_id=finding_id, sha256=checked.sha256, actor=actor), False
        same_content = Photo.objects.filter(finding=finding, sha256=checked.sha256).first()
        if same_content is not None:
            return same_content, False
        photo = Photo(id=uuid, finding=finding, sha256=checked.sha256, width=checked.width, height=checked.height,
                      size=len(checked.jpeg), uploaded_by=actor)
        photo.file.save("photo.jpg", ContentFile(checked.jpeg), save=False)
        try:  # if the row cannot be stored, the file must not stay behind
            with transaction.atomic():
                photo.save(force_insert=True)
            outbox_enqueue("inspections.photo_thumbnail", photo_id=str(photo.pk))
        except Exception:
            photo.file.delete(save=False)
            raise
    return photo, True


def photo_thumbnail_make(*, photo_id) -> bool:
    """The photo's thumbnail, made once: a second run finds it made."""
    with transaction.atomic():
        photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None or photo.thumbnail:
            return False
        with photo.file.open("rb") as source:
            thumbnail = thumbnail_make(source.read())
        photo.thumbnail.save("thumbnail.jpg", ContentFile(thumbnail), save=False)
        try:
            photo.save(update_fields=["thumbnail"])
        except Exception:
            photo.thumbnail.delete(save=False)
            raise
    return True


# --- Outcomes, violations, sanctions, follow-up --------------------------------------------------------------


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


def sanction_decide(*, actor, sanction_id: int, fine_vnd: int, remedial_measures: str = "",
                    decided_at: datetime | None = None) -> SanctionDecision:
    """Record the sanction decision ("01/QĐ-XPVPHC", gap-free per year): the fine in VND and the remedial
    measures. A decision after its due date is recorded and shown as late."""
    if not r.user_roles(actor) & LEAD_ROLES:
        raise NotAllowed(_("Only an inspection lead or the head records sanction decisions."))
    remedial_measures = (remedial_measures or "").strip()
    if not isinstance(fine_vnd, int) or isinstance(fine_vnd, bool) or not 0 < fine_vnd <= FINE_MAX_VND:
        _invalid("fine_vnd", _("The fine is a whole number of đồng, more than 0."))
    with transaction.atomic():
        sanction = SanctionDecision.objects.filter(pk=sanction_id).select_related(
            "violation__target__campaign").first()
        if sanction is None:
            raise NotFound(_("Sanction decision not found."))
        case = case_lock(sanction.violation.target.campaign.case_id)
        agency_member_required(case, actor)
        sanction = SanctionDecision.objects.select_related("violation").get(pk=sanction_id)
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


def follow_up_record(*, actor, violation_id: int, correction_due_on: date, note: str = "") -> FollowUp:
    """Plan the check that the violation was corrected by `correction_due_on`."""
    with transaction.atomic():
        violation, case = _violation_locked(violation_id)
        if not (on_team(case, actor) or _is_lead(case, actor)):
            raise NotOnTeam()
        agency_member_required(case, actor)
        _require_state(case, SANCTION_STATES)
        if violation.sanction.decided_at is None:
            raise SanctionPending()
        if correction_due_on < timezone.localtime(violation.recorded_at).date():
            _invalid("correction_due_on", _("The correction cannot be due before the violation was recorded."))
        follow_up = FollowUp.objects.create(violation=violation, correction_due_on=correction_due_on,
                                            note=(note or "").strip(), created_by=actor)
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


# --- Documents (run by tasks after commit; each one made once) ------------------------------------------------


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


# --- Hooks into the case engine (campaigns only: a bare inspection case has no Campaign and is left alone) -----


def _campaign_of(case: Case) -> Campaign | None:
    return Campaign.objects.filter(case=case).first()


@hooks.guard("inspection", "announce", "start_fieldwork")
def _has_targets(case: Case, transition, *, actor, note, **params) -> None:
    campaign = _campaign_of(case)
    if campaign is not None and not campaign.targets.exists():
        raise CampaignNotReady(_("Add the establishments to inspect first."))


@hooks.after_transition("inspection", "announce")
def _decision_number(case: Case, transition, *, actor, note, event) -> None:
    """The decision to inspect takes its number in the transaction that announces it: gap-free per year."""
    campaign = _campaign_of(case)
    if campaign is None or campaign.decision_number is not None:
        return
    year, number, _text = _number_take(DECISION_SERIES, event.at, agency=case.agency)
    campaign.decision_year, campaign.decision_number, campaign.decision_issuer = year, number, case.agency
    campaign.decision_number_text = f"{number:02d}/{DECISION_SERIES}-{case.agency.symbol}"
    campaign.announced_at = event.at
    campaign.save(update_fields=["decision_year", "decision_number", "decision_issuer", "decision_number_text",
                                 "announced_at"])
    case.result_number = campaign.decision_number_text
    case.save(update_fields=["result_number", "updated_at"])
    _event(case, actor=actor, kind=CaseEvent.Kind.DOCUMENT, action="decision_number",
           after={"number": campaign.decision_number_text, "year": year})


@hooks.guard("inspection", "conclude")
def _all_targets_have_an_outcome(case: Case, transition, *, actor, note, **params) -> None:
    campaign = _campaign_of(case)
    if campaign is None:
        return
    pending = list(campaign.targets.filter(outcome=Outcome.PENDING).values_list("establishment__name", flat=True))
    if pending:
        raise CampaignNotReady(_("Targets without an outcome: %(names)s.") % {"names": ", ".join(pending)},
                               extra={"pending_targets": pending})


@hooks.after_transition("inspection", "conclude")
def _conclusion_document(case: Case, transition, *, actor, note, event) -> None:
    campaign = _campaign_of(case)
    if campaign is None:
        return
    campaign.conclusion = note
    campaign.save(update_fields=["conclusion"])
    outbox_enqueue("inspections.conclusion_render", campaign_id=campaign.pk)


@hooks.guard("inspection", "close")
def _followed_up(case: Case, transition, *, actor, note, **params) -> None:
    campaign = _campaign_of(case)
    if campaign is None:
        return
    undecided = list(SanctionDecision.objects.filter(violation__target__campaign=campaign, decided_at__isnull=True)
                     .values_list("violation__number_text", flat=True))
    open_follow_ups = list(FollowUp.objects.filter(violation__target__campaign=campaign, done_at__isnull=True)
                           .values_list("violation__number_text", flat=True))
    if undecided or open_follow_ups:
        raise CampaignNotReady(_("Sanctions to decide or corrections to verify remain."),
                               extra={"undecided": undecided, "follow_ups_open": open_follow_ups})
