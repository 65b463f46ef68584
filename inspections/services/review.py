"""The lead's review of the findings the tablets sent (issue 17), as ODK Central's review states: a finding is
received → accepted / needs correction (with a note back to the inspector's tablet) / rejected. A correction is
the inspector's new finding on the same item: it replaces theirs and is received again. Which findings count,
and how a disagreement between two inspectors is settled, is selectors' THE RULE."""

import uuid as uuid_lib

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.errors import NotFound
from cases.models import CaseEvent
from cases.services import agency_member_required, case_lock

from ..errors import FindingSuperseded, ReviewConflict
from ..models import Finding
from ..selectors import findings_visible
from ._common import OUTCOME_STATES, _event, _invalid, _iso, _require_lead, _require_state

REVIEW_DECISIONS = frozenset({Finding.Review.ACCEPTED, Finding.Review.NEEDS_CORRECTION, Finding.Review.REJECTED})
# The API's choices for a review (named ReviewDecisionEnum in the schema).
REVIEW_DECISION_CHOICES = sorted(REVIEW_DECISIONS)
REVIEW_NOTE_MAX = 2000


def finding_review(*, actor, finding_id: uuid_lib.UUID, state: str, note: str = "",
                   expected_state: str | None = None) -> tuple[Finding, bool]:
    """Record the lead's review of one finding. Returns (finding, changed).

    Who: the campaign's lead, an inspection lead, the head or an administrator, of the campaign's agency. When:
    while the campaign is in the field or its findings are closed. What: only an inspector's current finding on
    its item (a replaced one is 409 finding_superseded: review the newer one). "Needs correction" and "rejected"
    need a note (the inspector reads it on the tablet). The same review again changes nothing; `expected_state`,
    when given, is the state the reviewer saw: if another review landed meanwhile, 409 review_conflict and
    nothing changes (two leads at once: one wins)."""
    if state not in REVIEW_DECISIONS:
        _invalid("state", _("One of: accepted, needs_correction, rejected."))
    note = (note or "").replace("\r\n", "\n").strip()
    if state != Finding.Review.ACCEPTED and not note:
        _invalid("note", _("Say what the inspector should correct or why the finding is rejected."))
    if len(note) > REVIEW_NOTE_MAX:
        _invalid("note", _("At most %(max)d characters.") % {"max": REVIEW_NOTE_MAX})
    finding = findings_visible(user=actor).select_related("target__campaign__case").filter(pk=finding_id).first()
    if finding is None:
        raise NotFound(_("Finding not found."))
    with transaction.atomic():
        case = case_lock(finding.target.campaign.case_id)
        _require_lead(case, actor)
        agency_member_required(case, actor)
        _require_state(case, OUTCOME_STATES)
        finding = Finding.objects.select_for_update(of=("self",)).select_related("item", "target__establishment") \
            .get(pk=finding.pk)
        newer = Finding.objects.filter(target_id=finding.target_id, item_id=finding.item_id,
                                       inspector_id=finding.inspector_id).exclude(pk=finding.pk).order_by(
            "-device_time", "-received_at", "-id").first()
        if newer is not None and (newer.device_time, newer.received_at, str(newer.pk)) > (
                finding.device_time, finding.received_at, str(finding.pk)):
            raise FindingSuperseded(extra={"current": str(newer.pk)})
        if finding.review_state == state and finding.review_note == note:
            return finding, False
        if expected_state is not None and finding.review_state != expected_state:
            raise ReviewConflict(extra={"stored": {"state": finding.review_state, "note": finding.review_note,
                                                   "reviewed_by": finding.reviewed_by_id,
                                                   "reviewed_at": _iso(finding.reviewed_at)}})
        before = {"state": finding.review_state, "note": finding.review_note}
        finding.review_state, finding.review_note = state, note
        finding.reviewed_at, finding.reviewed_by = timezone.now(), actor
        finding.save(update_fields=["review_state", "review_note", "reviewed_at", "reviewed_by"])
        _event(case, actor=actor, kind=CaseEvent.Kind.NOTE, action="finding_review", note=note, before=before,
               after={"finding": str(finding.pk), "target": finding.target_id,
                      "name": finding.target.establishment.name, "item": finding.item.code,
                      "inspector": finding.inspector_id, "state": state})
    return finding, True
