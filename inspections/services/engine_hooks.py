"""Hooks into the case engine (campaigns only: a bare inspection case has no Campaign and is left alone)."""


from django.utils.translation import gettext as _

from cases import hooks
from cases.models import Case, CaseEvent
from worker.outbox import outbox_enqueue

from ..errors import CampaignNotReady
from ..models import Campaign, FollowUp, Outcome, SanctionDecision
from ._common import DECISION_SERIES, _event, _number_take


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
    outbox_enqueue("inspections.decision_render", campaign_id=campaign.pk)  # the decision's document, once


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
