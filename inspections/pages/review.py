"""Office page "target": the fieldwork of one target and its review (issue 17, item 3). Visited or not, every
inspector's current finding per checklist item with who and when (replaced ones below), photos as thumbnails
with the full size on a click, disagreements flagged, the outcome, the review timeline, and the lead's review
actions (accepted / needs correction with a note back to the tablet / rejected). Counts follow selectors' THE
RULE. Writes go through services.finding_review, which checks again (lead, agency, state, a newer finding)."""

import uuid as uuid_lib

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.errors import DomainError
from cases.models import CaseEvent
from cases.services import agency_member_required

from .. import selectors, services
from ..models import Finding, Outcome, Photo
from ..services._common import OUTCOME_STATES, _is_lead
from ._access import OFFICE_WRITERS, error_messages_show, may_write, office_required


def _may_review(user, case) -> bool:
    if not (_is_lead(case, user) and case.state in OUTCOME_STATES):
        return False
    try:
        agency_member_required(case, user)
    except DomainError:
        return False
    return True


@office_required()
def target(request, pk: int):
    target = get_object_or_404(selectors.targets_visible(user=request.user).select_related(
        "campaign__checklist", "campaign__case__assignee", "outcome_by"), pk=pk)
    case = target.campaign.case
    entries = selectors.item_findings(target)
    photos: dict = {}
    for photo in Photo.objects.filter(finding__target=target).order_by("received_at", "pk"):
        photos.setdefault(photo.finding_id, []).append(photo)
    for entry in entries.values():
        for finding in entry.history:
            finding.photo_list = photos.get(finding.pk, [])
    rows = []
    for item in target.campaign.checklist.items.order_by("order", "pk"):
        entry = entries.get(item.pk)
        current = entry.current if entry else []
        rows.append({"item": item, "current": current, "disputed": bool(entry and entry.disputed),
                     "answer": entry.answer if entry else None,
                     "replaced": [f for f in entry.history if f not in current] if entry else []})
    answered = [e.answer for e in entries.values() if e.answer is not None]
    counts = {"items_recorded": len(entries), "items_total": len(rows),
              "violations": sum(1 for f in answered if f.result == Finding.Result.VIOLATION),
              "disputed": sum(1 for e in entries.values() if e.disputed)}
    events = (CaseEvent.objects.filter(case=case, action="finding_review", after__target=target.pk)
              .select_related("actor").order_by("-at", "-pk")[:50])
    labels = dict(Finding.Review.choices)
    for event in events:
        event.state_label = labels.get(event.after.get("state"), event.after.get("state"))
    return render(request, "inspections/office/target_review.html", {
        "target": target, "campaign": target.campaign, "case": case, "establishment": target.establishment,
        "rows": rows, "counts": counts, "events": events,
        "may_review": _may_review(request.user, case),
        # The lead opens the violation record from a target whose findings hold a violation (pages/violations.py).
        "may_write_record": (may_write(request.user) and target.outcome == Outcome.PENDING and counts["violations"] > 0
                             and case.state in OUTCOME_STATES),
        "decisions": [(Finding.Review.ACCEPTED, _("Accept")), (Finding.Review.NEEDS_CORRECTION, _("Ask for a correction")),
                      (Finding.Review.REJECTED, _("Reject"))],
    })


@require_POST
@office_required(OFFICE_WRITERS)
def target_review(request, pk: int):
    """One finding's review from the page's form; the service decides (a stale form is a readable conflict)."""
    target = get_object_or_404(selectors.targets_visible(user=request.user), pk=pk)
    back = reverse("inspections-office:target", args=[target.pk])
    try:
        finding_id = uuid_lib.UUID(request.POST.get("finding", ""))
    except ValueError:
        messages.error(request, _("Choose a finding to review."))
        return redirect(back)
    if not Finding.objects.filter(Q(pk=finding_id) & Q(target=target)).exists():
        messages.error(request, _("This finding is not one of this target's."))
        return redirect(back)
    try:
        finding, changed = services.finding_review(
            actor=request.user, finding_id=finding_id, state=request.POST.get("state", ""),
            note=request.POST.get("note", ""), expected_state=request.POST.get("expected_state") or None)
    except DomainError as exc:
        error_messages_show(request, exc)
        return redirect(back)
    if changed:
        messages.success(request, _("The review was recorded: %(state)s.") % {"state": finding.get_review_state_display()})
    return redirect(f"{back}#item-{finding.item_id}")


urlpatterns = [
    path("campaigns/targets/<int:pk>/", target, name="target"),
    path("campaigns/targets/<int:pk>/review/", target_review, name="target-review"),
]
