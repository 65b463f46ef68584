"""Office pages: the violation record of a target with violations ("Biên bản vi phạm hành chính", issue 17 item 4).

"violation-new" opens it from the target: the violation described, the offender (an individual or an organisation)
and the provisions cited, chosen from the sanctions catalogue in force on the day of the violation, grouped by
decree and article. One service writes it all or nothing (services.violation_record_write: the target's outcome,
which numbers the record, then its offender and provisions); a second tap finds the record already there.
"violation" reads it (its documents, its sanction) and corrects the offender and the provisions until the
sanction is decided (services.violation_offender_set, the API's service)."""

from datetime import date
from itertools import groupby

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cases.errors import DomainError

from .. import selectors, services
from ..catalogue import provisions_in_force
from ..models import Document, Finding, OffenderKind, Outcome
from ..services._common import SANCTION_STATES, _is_lead
from ._access import (
    OFFICE_WRITERS,
    error_messages_show,
    form_errors_apply,
    may_write,
    office_required,
)


def money(amount) -> str:
    """5000000 → "5.000.000" (đồng, as Vietnamese documents write it)."""
    return f"{amount:,}".replace(",", ".") if amount is not None else ""


def _range_text(bounds: tuple[int, int]) -> str:
    return " – ".join(money(amount) for amount in bounds)


def provision_groups(day: date, type_code: str, *, chosen=(), offender_kind: str = "") -> tuple[list, bool]:
    """The provisions in force on `day` for this inspection type (when the catalogue has none for the type, those in
    force tied to no type: never another type's law), grouped by decree then article, each with its ranges; and
    whether the list is the fallback."""
    provisions = list(provisions_in_force(day, type_code=type_code))
    fallback = not provisions
    if fallback:
        provisions = list(provisions_in_force(day).filter(inspection_types=[]))
    chosen = {str(x) for x in chosen}
    groups = []
    for decree, in_decree in groupby(provisions, key=lambda p: p.decree):
        articles = []
        for article, rows in groupby(in_decree, key=lambda p: p.article):
            articles.append({"article": article, "provisions": [
                {"provision": p, "checked": str(p.pk) in chosen,
                 "individual": _range_text(p.fine_range(OffenderKind.INDIVIDUAL)),
                 "organisation": _range_text(p.fine_range(OffenderKind.ORGANISATION))} for p in rows]})
        groups.append({"decree": decree, "articles": articles})
    return groups, fallback


class ViolationForm(forms.Form):
    violation_description = forms.CharField(label=gettext_lazy("The violation"), max_length=5000,
                                            widget=forms.Textarea(attrs={"rows": 4}))
    offender_kind = forms.ChoiceField(label=gettext_lazy("Offender"), choices=OffenderKind.choices,
                                      widget=forms.RadioSelect)
    offender_name = forms.CharField(label=gettext_lazy("Offender's name"), max_length=300, required=False)
    committed_on = forms.DateField(label=gettext_lazy("Day of the violation"),
                                   widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class OffenderForm(ViolationForm):
    """The same fields without the description (written with the record, which is numbered)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["violation_description"]


def _kept(form_class, data):
    """An unbound form showing what was typed (the catalogue of another day asked for: nothing to check yet)."""
    return form_class(initial={name: data.get(name, "") for name in form_class.base_fields})


def _provision_ids(request) -> list[int]:
    return sorted({int(x) for x in request.POST.getlist("provisions") if x.isdigit()})


def _day_of(form) -> date:
    """The day whose catalogue the form shows: the day typed (when it is a date), else today."""
    raw = form["committed_on"].value() if form.is_bound else form.initial.get("committed_on")
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw or ""))
    except ValueError:
        return timezone.localdate()


def _target_get(request, pk: int):
    qs = selectors.targets_visible(user=request.user).select_related(
        "campaign__case__agency", "campaign__case__case_type", "establishment")
    return get_object_or_404(qs, pk=pk)


@office_required(OFFICE_WRITERS)
@require_http_methods(["GET", "POST"])
def violation_new(request, pk: int):
    """Open the violation record of a target whose findings hold a violation; an open record is shown instead."""
    target = _target_get(request, pk)
    existing = getattr(target, "violation", None) if target.outcome == Outcome.VIOLATION else None
    if existing is not None:
        return redirect("inspections-office:violation", pk=existing.pk)
    case = target.campaign.case
    violations = [f for f in selectors.findings_current(target).values() if f.result == Finding.Result.VIOLATION]
    initial = {"offender_kind": OffenderKind.ORGANISATION, "offender_name": target.establishment.name,
               "committed_on": timezone.localdate(),
               "violation_description": "\n".join(f"{f.item.question} {f.note}".strip() for f in violations)}
    form = ViolationForm(request.POST or None, initial=initial)
    if "refresh" in request.POST:
        form = _kept(ViolationForm, request.POST)
    chosen = _provision_ids(request) if request.method == "POST" else []
    day = _day_of(form)
    groups, fallback = provision_groups(day, case.case_type.code, chosen=chosen)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if groups and not chosen:
            form.add_error(None, _("Choose at least one provision violated."))
        else:
            try:
                violation = services.violation_record_write(
                    actor=request.user, target_id=target.pk, description=data["violation_description"],
                    offender_kind=data["offender_kind"], offender_name=data["offender_name"],
                    committed_on=data["committed_on"], provision_ids=chosen)
            except DomainError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("The violation record %(number)s was written.")
                                 % {"number": violation.number_text})
                return redirect("inspections-office:violation", pk=violation.pk)
    return render(request, "inspections/office/violation_new.html", {
        "target": target, "campaign": target.campaign, "case": case, "form": form, "groups": groups,
        "fallback": fallback, "day": day, "violations": violations,
        "open": target.outcome == Outcome.PENDING and case.state in services.OUTCOME_STATES,
    })


def _violation_get(request, pk: int):
    qs = selectors.violations_visible(user=request.user).select_related(
        "recorded_by", "sanction__decided_by", "target__campaign__case__agency", "target__campaign__case__case_type")
    return get_object_or_404(qs, pk=pk)


def violation_editable(user, violation) -> bool:
    case = violation.target.campaign.case
    return (bool(_is_lead(case, user)) and case.state in SANCTION_STATES
            and violation.sanction.decided_at is None)


@office_required()
def violation(request, pk: int):
    return _violation_page(request, _violation_get(request, pk))


def _violation_page(request, item, form=None, chosen=None):
    target, case = item.target, item.target.campaign.case
    cited = list(item.cited.select_related("provision__decree", "provision__amended_by").order_by(
        "provision__decree__effective_from", "provision__article", "provision__clause", "provision__point", "pk"))
    for row in cited:
        row.range_text = _range_text(row.provision.fine_range(item.offender_kind or OffenderKind.INDIVIDUAL))
        row.fine_text = money(row.fine_vnd)
    editable = violation_editable(request.user, item) and may_write(request.user)
    groups, fallback, day = [], False, None
    if editable:
        if form is None:
            form = OffenderForm(initial={
                "offender_kind": item.offender_kind or OffenderKind.ORGANISATION,
                "offender_name": item.offender_name or target.establishment.name,
                "committed_on": item.committed_on or timezone.localtime(item.recorded_at).date()})
        if chosen is None:
            chosen = [row.provision_id for row in cited]
        day = _day_of(form)
        groups, fallback = provision_groups(day, case.case_type.code, chosen=chosen)
    documents = (selectors.documents_visible(user=request.user).filter(target=target)
                 .select_related("verifiable").order_by("kind", "pk"))
    return render(request, "inspections/office/violation.html", {
        "violation": item, "target": target, "campaign": target.campaign, "case": case, "cited": cited,
        "sanction": item.sanction, "documents": documents, "editable": editable, "form": form, "groups": groups,
        "fallback": fallback, "day": day, "record_document": next((d for d in documents if d.kind == Document.Kind.VIOLATION_RECORD),
                                                      None),
    })


@office_required(OFFICE_WRITERS)
@require_POST
def violation_offender(request, pk: int):
    """The offender and the provisions cited, as the API's POST violations/<id>/offender/ writes them."""
    item = _violation_get(request, pk)
    form = OffenderForm(request.POST)
    chosen = _provision_ids(request)
    if "refresh" in request.POST:
        return _violation_page(request, item, form=_kept(OffenderForm, request.POST), chosen=chosen)
    if not form.is_valid():
        return _violation_page(request, item, form=form, chosen=chosen)
    try:
        services.violation_offender_set(actor=request.user, violation_id=item.pk, provision_ids=chosen,
                                        **form.cleaned_data)
    except DomainError as exc:
        if not exc.extra.get("errors"):  # not the form's fault (the sanction was decided meanwhile, a state)
            error_messages_show(request, exc)
            return redirect("inspections-office:violation", pk=item.pk)
        form_errors_apply(form, exc)
        return _violation_page(request, item, form=form, chosen=chosen)
    messages.success(request, _("The offender and the provisions were saved."))
    return redirect("inspections-office:violation", pk=item.pk)


urlpatterns = [
    path("campaigns/targets/<int:pk>/violation/", violation_new, name="violation-new"),
    path("campaigns/violations/<int:pk>/", violation, name="violation"),
    path("campaigns/violations/<int:pk>/offender/", violation_offender, name="violation-offender"),
]
