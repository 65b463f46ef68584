"""Office page "conclude" (issue 17 item 4): the campaign's conclusion ("Kết luận kiểm tra") and its closing.

The page gathers what the conclusion rests on (each target's outcome, its violation record, sanction and the
follow-up of the correction), proposes a text from it, and concludes through services.campaign_conclude (the
workflow's "conclude": every target needs an outcome; the conclusion document follows by task). Once the
sanctions are decided and the corrections verified, "close" ends the campaign (the workflow's guard says what
remains otherwise). Both carry the case's version: a second or stale submit is refused, never applied twice."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases.errors import DomainError
from cases.workflow import State

from .. import selectors, services
from ..models import Document, FollowUp, Outcome, SanctionDecision
from ..services._common import _is_lead
from ._access import OFFICE_WRITERS, error_messages_show, office_required
from .violations import money


def _campaign_get(request, pk: int):
    qs = selectors.campaigns_visible(user=request.user).select_related("case__agency")
    return get_object_or_404(qs, pk=pk)


def conclusion_draft(targets) -> str:
    """A first text for the conclusion, from the outcomes and sanctions (the lead rewrites it at will)."""
    counts = {o: sum(1 for t in targets if t.outcome == o) for o in Outcome.values}
    lines = [_("%(total)s establishments were inspected: %(compliant)s compliant, %(reminders)s reminded, "
               "%(violations)s with violations.") % {
        "total": len(targets), "compliant": counts[Outcome.COMPLIANT], "reminders": counts[Outcome.REMINDER],
        "violations": counts[Outcome.VIOLATION]}]
    for target in targets:
        violation = getattr(target, "violation", None) if target.outcome == Outcome.VIOLATION else None
        if violation is None:
            continue
        sanction = violation.sanction
        if sanction.decided_at:
            lines.append(_("%(name)s: violation record %(record)s; sanction decision %(decision)s, fine %(fine)s "
                           "đồng.") % {"name": target.establishment.name, "record": violation.number_text,
                                        "decision": sanction.number_text, "fine": money(sanction.fine_vnd)})
        else:
            lines.append(_("%(name)s: violation record %(record)s; sanction not decided yet.")
                         % {"name": target.establishment.name, "record": violation.number_text})
    return "\n".join(lines)


@office_required(OFFICE_WRITERS)
@require_http_methods(["GET"])
def conclude(request, pk: int):
    item = _campaign_get(request, pk)
    case = item.case
    targets = list(item.targets.select_related("establishment", "violation__sanction")
                   .prefetch_related("violation__follow_ups").order_by("planned_on", "pk"))
    undecided = SanctionDecision.objects.filter(violation__target__campaign=item, decided_at__isnull=True)
    open_follow_ups = FollowUp.objects.filter(violation__target__campaign=item, done_at__isnull=True)
    document = (selectors.documents_visible(user=request.user)
                .filter(campaign=item, target__isnull=True, kind=Document.Kind.CONCLUSION)
                .select_related("verifiable").first())
    for target in targets:
        violation = getattr(target, "violation", None)
        if violation is not None:
            violation.sanction.fine_text = money(violation.sanction.fine_vnd)
    lead_here = _is_lead(case, request.user)
    return render(request, "inspections/office/conclude.html", {
        "campaign": item, "case": case, "targets": targets,
        "pending": [t for t in targets if t.outcome == Outcome.PENDING],
        "undecided": list(undecided.select_related("violation__target__establishment")),
        "open_follow_ups": list(open_follow_ups.select_related("violation__target__establishment",
                                                                "violation__sanction")),
        "document": document, "draft": conclusion_draft(targets),
        "may_close_findings": lead_here and case.state == State.IN_FIELD,
        "may_conclude": lead_here and case.state == State.FINDINGS_CLOSED,
        "may_close": lead_here and case.state == State.CONCLUDED,
    })


def _version(request) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


@office_required(OFFICE_WRITERS)
@require_POST
def conclude_submit(request, pk: int):
    item = _campaign_get(request, pk)
    text = request.POST.get("conclusion", "").strip()
    if not text:
        messages.error(request, _("Write the conclusion."))
        return redirect("inspections-office:conclude", pk=item.pk)
    try:
        services.campaign_conclude(actor=request.user, campaign_id=item.pk, conclusion=text,
                                   version=_version(request))
    except DomainError as exc:
        error_messages_show(request, exc)
    else:
        messages.success(request, _("The campaign was concluded; the conclusion document is being prepared."))
    return redirect("inspections-office:conclude", pk=item.pk)


@office_required(OFFICE_WRITERS)
@require_POST
def conclude_close(request, pk: int):
    item = _campaign_get(request, pk)
    try:
        services.campaign_transition(actor=request.user, campaign_id=item.pk, action="close",
                                     version=_version(request))
    except DomainError as exc:
        error_messages_show(request, exc)
        return redirect("inspections-office:conclude", pk=item.pk)
    messages.success(request, _("The campaign was closed."))
    return redirect("inspections-office:campaign", pk=item.pk)


urlpatterns = [
    path("campaigns/<int:pk>/conclude/", conclude, name="conclude"),
    path("campaigns/<int:pk>/conclude/submit/", conclude_submit, name="conclude-submit"),
    path("campaigns/<int:pk>/close/", conclude_close, name="campaign-close"),
]
