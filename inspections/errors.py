"""Errors of the inspections domain, each with a stable code (the API answers RFC 7807 problems)."""

from django.utils.translation import gettext_lazy as _

from cases.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed


class NotOnTeam(NotAllowed):
    code = "not_on_team"
    title = _("Only the campaign's team can do this.")


class CampaignNotInField(InvalidTransition):
    code = "campaign_not_in_field"
    title = _("Findings are accepted only while the campaign is in the field.")


class CampaignClosedForChanges(InvalidTransition):
    code = "campaign_state"
    title = _("This is not possible in the campaign's current state.")


class FindingConflict(Conflict):
    code = "finding_conflict"
    title = _("A different finding was already stored under this id.")


class FindingNotReceived(Conflict):
    code = "finding_not_received"
    title = _("The finding of this photo has not been received yet; send the finding first.")


class PhotoConflict(Conflict):
    code = "photo_conflict"
    title = _("A different photo was already stored under this id.")


class PhotoRejected(ValidationFailed):
    code = "photo_invalid"
    title = _("The photo was refused.")


class OutcomeConflict(Conflict):
    code = "outcome_conflict"
    title = _("This target already has a different outcome.")


class OutcomeNotReady(ValidationFailed):
    code = "outcome_not_ready"
    title = _("The visit's findings do not support this outcome yet.")


class CampaignNotReady(InvalidTransition):
    code = "campaign_not_ready"
    title = _("The campaign is not ready for this step.")


class AlreadyDecided(Conflict):
    code = "already_decided"
    title = _("This sanction was already decided.")


class InUse(Conflict):
    code = "in_use"
    title = _("This is in use and cannot be removed.")


class SanctionPending(Conflict):
    code = "sanction_not_decided"
    title = _("The sanction decision must be recorded first.")


class FindingSuperseded(Conflict):
    code = "finding_superseded"
    title = _("The inspector has recorded a newer finding on this item: review that one.")


class ReviewConflict(Conflict):
    code = "review_conflict"
    title = _("Someone else reviewed this finding meanwhile.")


class ResultNotForItem(ValidationFailed):
    code = "result_not_for_item"
    title = _("This answer does not fit the checklist item.")


class ProvisionNotInForce(ValidationFailed):
    code = "provision_not_in_force"


class FineOutOfRange(ValidationFailed):
    code = "fine_out_of_range"
