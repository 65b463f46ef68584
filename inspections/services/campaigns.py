"""Campaigns and their targets: plan, team, transitions, targets added, assigned, removed."""

import uuid as uuid_lib
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from agencies.selectors import agency_ids_member, predecessors_closure
from cases import roles as r
from cases.competence import agency_competent
from cases.errors import Conflict, NotAllowed, NotFound, StaleVersion, ValidationFailed
from cases.models import Case, CaseEvent, CaseType
from cases.services import agency_member_required, case_assign, case_create, case_lock, case_transition
from cases.workflow import TERMINAL, State

from ..errors import CampaignClosedForChanges, InUse
from ..models import TYPE_KINDS, Campaign, ChecklistTemplate, Establishment, Target
from ..selectors import team_ids
from ._common import (
    PLANNING_STATES,
    TEAM_ROLES,
    _campaign_locked,
    _event,
    _invalid,
    _require_lead,
    _require_state,
)


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


