"""Office pages: sanctions. The sanctions catalogue (read-only; administrators edit it in the admin), and the
sanction decision of a violation record (issue 17 item 4): the fine per provision cited, chosen within the
provision's range for the offender's kind (an organisation's is double an individual's), the remedial measures
(prefilled from the catalogue), the 7-working-day deadline, the payment due date, and the follow-up of the
correction. Writes go through the API's services (sanction_decide, follow_up_record, follow_up_done), which
check everything again: a fine outside its range comes back as the page with the values typed kept."""

import re
from datetime import date

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases import roles as r
from cases.errors import DomainError

from .. import selectors, services
from ..catalogue import decrees_in_force, provisions_in_force
from ..errors import FineOutOfRange
from ..models import Document, OffenderKind, SanctionDecree
from ..services._common import SANCTION_STATES, _is_lead
from . import conclusion, violations
from ._access import OFFICE_WRITERS, error_messages, error_messages_show, may_write, office_required


def _range(bounds: tuple[int, int]) -> str:
    return " – ".join(f"{amount:,}".replace(",", ".") for amount in bounds)


@office_required()
def sanctions_catalogue(request):
    """The decrees and their provisions, with each provision's range for individuals and organisations;
    ?on=YYYY-MM-DD shows only what was in force that day."""
    day = None
    try:
        day = date.fromisoformat(request.GET.get("on", ""))
    except ValueError:
        day = None
    decrees = list(decrees_in_force(day) if day else SanctionDecree.objects.all())
    provisions = provisions_in_force(day) if day else None
    rows = []
    for decree in decrees:
        own = decree.provisions.select_related("decree", "amended_by").order_by("article", "clause", "point", "pk")
        if provisions is not None:
            own = own.filter(pk__in=provisions.values("pk"))
        rows.append({"decree": decree, "provisions": [
            {"provision": p, "individual": _range(p.fine_range("individual")),
             "organisation": _range(p.fine_range("organisation"))} for p in own]})
    return render(request, "inspections/office/sanctions_catalogue.html", {"rows": rows, "day": day})


# --- The sanction decision -------------------------------------------------------------------------------------

AMOUNT = re.compile(r"^\d{1,13}$")


def _amount(text: str) -> int | None:
    """"5.000.000", "5 000 000" or "5000000" đồng → 5000000; anything else → None."""
    digits = re.sub(r"[\s.,]", "", text or "")
    return int(digits) if AMOUNT.match(digits) else None


class FollowUpForm(forms.Form):
    correction_due_on = forms.DateField(label=gettext_lazy("Correction due on"),
                                        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    note = forms.CharField(label=gettext_lazy("What is to be corrected"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


def _sanction_get(request, pk: int):
    qs = selectors.sanctions_visible(user=request.user).select_related(
        "decided_by", "violation__recorded_by", "violation__target__campaign__case__agency",
        "violation__target__campaign__case__case_type")
    return get_object_or_404(qs, pk=pk)


def _remedial_from_catalogue(cited) -> str:
    measures = []
    for row in cited:
        text = (row.provision.remedial_measures or "").strip()
        if text and text not in measures:
            measures.append(text)
    return "\n".join(measures)


def _sanction_page(request, sanction, *, typed=None, errors=None, follow_up_form=None):
    violation = sanction.violation
    sanction.fine_text = violations.money(sanction.fine_vnd)
    target, case = violation.target, violation.target.campaign.case
    kind = violation.offender_kind or OffenderKind.INDIVIDUAL
    typed = typed or {}
    errors = errors or {}
    cited = list(violation.cited.select_related("provision__decree", "provision__amended_by").order_by(
        "provision__decree__effective_from", "provision__article", "provision__clause", "provision__point", "pk"))
    rows = []
    for row in cited:
        low, high = row.provision.fine_range(kind)
        key = str(row.provision_id)
        row.fine_text = violations.money(row.fine_vnd)
        rows.append({"cited": row, "provision": row.provision, "low": low, "high": high, "range": _range((low, high)),
                     "value": typed.get(key, row.fine_vnd if row.fine_vnd is not None else ""),
                     "errors": errors.get(key, [])})
    lead_here = may_write(request.user) and _is_lead(case, request.user)
    decidable = lead_here and sanction.decided_at is None and case.state in SANCTION_STATES
    follow_ups = list(violation.follow_ups.select_related("created_by").order_by("correction_due_on", "pk"))
    may_follow = (case.state in SANCTION_STATES and sanction.decided_at is not None
                  and (may_write(request.user) or r.INSPECTOR in r.user_roles(request.user)))
    documents = (selectors.documents_visible(user=request.user).filter(target=target)
                 .select_related("verifiable").order_by("kind", "pk"))
    return render(request, "inspections/office/sanction.html", {
        "sanction": sanction, "violation": violation, "target": target, "campaign": target.campaign, "case": case,
        "rows": rows, "offender_kind": OffenderKind(kind).label, "decidable": decidable,
        "remedial": typed.get("remedial_measures", sanction.remedial_measures or _remedial_from_catalogue(cited)),
        "whole_fine": typed.get("fine_vnd", ""), "whole_errors": errors.get("fine_vnd", []),
        "general_errors": errors.get("__all__", []),
        "follow_ups": follow_ups, "may_follow": may_follow,
        "follow_up_form": follow_up_form or FollowUpForm(), "documents": documents,
        "decision_document": next((d for d in documents if d.kind == Document.Kind.SANCTION_DECISION), None),
    })


@office_required()
def sanction(request, pk: int):
    return _sanction_page(request, _sanction_get(request, pk))


@office_required(OFFICE_WRITERS)
@require_POST
def sanction_decide(request, pk: int):
    """Decide: one fine per cited provision (or the whole fine for a record citing none), the remedial measures.
    Refused → the page again with every value typed and each provision's message; sent twice → the same decision."""
    item = _sanction_get(request, pk)
    cited_ids = list(item.violation.cited.values_list("provision_id", flat=True))
    typed = {"remedial_measures": request.POST.get("remedial_measures", "")}
    errors: dict = {}
    fines, whole = {}, None
    for provision_id in cited_ids:
        key = str(provision_id)
        typed[key] = request.POST.get(f"fine-{key}", "")
        amount = _amount(typed[key])
        if amount is None:
            errors[key] = [_("Type the fine in whole đồng (digits only).")]
        else:
            fines[key] = amount
    if not cited_ids:
        typed["fine_vnd"] = request.POST.get("fine_vnd", "")
        whole = _amount(typed["fine_vnd"])
        if whole is None:
            errors["fine_vnd"] = [_("Type the fine in whole đồng (digits only).")]
    if not errors:
        try:
            sanction_done = services.sanction_decide(
                actor=request.user, sanction_id=item.pk, remedial_measures=typed["remedial_measures"],
                **({"fines": fines} if cited_ids else {"fine_vnd": whole}))
        except FineOutOfRange as exc:
            errors = {str(k): list(v) for k, v in (exc.extra.get("errors", {}).get("fines") or {}).items()}
        except DomainError as exc:
            item.refresh_from_db()
            if item.decided_at is not None:  # decided meanwhile, otherwise: the page shows the decision
                error_messages_show(request, exc)
                return redirect("inspections-office:sanction", pk=item.pk)
            field_errors = exc.extra.get("errors") or {}
            errors = {"__all__": error_messages(exc)} if not field_errors.get("fine_vnd") else {
                "fine_vnd": list(field_errors["fine_vnd"])}
        else:
            messages.success(request, _("The sanction decision %(number)s was recorded.")
                             % {"number": sanction_done.number_text})
            return redirect("inspections-office:sanction", pk=item.pk)
    return _sanction_page(request, item, typed=typed, errors=errors)


@office_required()
@require_POST
def follow_up_add(request, pk: int):
    """Plan the check of the correction. The form carries how many checks it saw: sent twice, it plans one."""
    item = _sanction_get(request, pk)
    form = FollowUpForm(request.POST)
    expected = request.POST.get("expected_count", "")
    if form.is_valid():
        try:
            services.follow_up_record(actor=request.user, violation_id=item.violation_id,
                                      expected_count=int(expected) if expected.isdigit() else None,
                                      **form.cleaned_data)
        except DomainError as exc:
            error_messages_show(request, exc)
        else:
            messages.success(request, _("The follow-up was planned."))
            return redirect(f"{_url(item)}#follow-ups")
    return _sanction_page(request, item, follow_up_form=form)


@office_required()
@require_POST
def follow_up_done(request, pk: int, follow_up_pk: int):
    """The correction verified (recorded once: again changes nothing)."""
    item = _sanction_get(request, pk)
    follow_up = get_object_or_404(item.violation.follow_ups, pk=follow_up_pk)
    try:
        services.follow_up_done(actor=request.user, follow_up_id=follow_up.pk,
                                done_note=request.POST.get("done_note", ""))
    except DomainError as exc:
        error_messages_show(request, exc)
    else:
        messages.success(request, _("The correction was recorded as verified."))
    return redirect(f"{_url(item)}#follow-ups")


def _url(item) -> str:
    return reverse("inspections-office:sanction", args=[item.pk])


# The sanctions pages' neighbours (the violation record, the conclusion) keep their own modules; their routes are
# listed here so that inspections/pages/urls.py keeps one line per area.
urlpatterns = [
    path("campaigns/sanctions/catalogue/", sanctions_catalogue, name="sanctions-catalogue"),
    path("campaigns/sanctions/<int:pk>/", sanction, name="sanction"),
    path("campaigns/sanctions/<int:pk>/decide/", sanction_decide, name="sanction-decide"),
    path("campaigns/sanctions/<int:pk>/follow-ups/", follow_up_add, name="follow-up-add"),
    path("campaigns/sanctions/<int:pk>/follow-ups/<int:follow_up_pk>/done/", follow_up_done, name="follow-up-done"),
    *violations.urlpatterns,
    *conclusion.urlpatterns,
]
