"""Office pages: the campaigns (list), planning one (team from the agency's inspectors, targets from the registry
with a proposed list ranked by risk: inspections/risk.py), and a campaign's page (state, decision, team, targets,
documents, the workflow actions the user may take). Writes call inspections.services, which check again."""

import uuid as uuid_lib

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from agencies.models import Agency
from agencies.selectors import predecessors_closure
from cases import roles as r
from cases.competence import agency_competent
from cases.errors import DomainError, ValidationFailed
from cases.models import CaseType
from cases.workflow import TERMINAL, State, transitions_available

from .. import selectors, services
from ..models import TYPE_KINDS, Campaign, Target
from ..risk import risk_scores
from ._access import (
    OFFICE_WRITERS,
    error_messages_show,
    form_errors_apply,
    may_write,
    office_required,
)

PAGE_SIZE = 30
PLAN_PAGE_SIZE = 25  # establishments of the registry per page of the plan
PROPOSED = 10  # the highest-scoring establishments are ticked when the plan opens
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The actions a campaign page offers, in the order of the work; "conclude" is the sanctions pages' (a text, then
# the conclusion document) and "cancel" needs reasons.
CAMPAIGN_STATES = ("planned", "announced", "in_field", "findings_closed", "concluded", "closed", "cancelled")
ACTION_ORDER = ("announce", "start_fieldwork", "close_findings", "conclude", "close", "cancel")


@office_required()
def campaigns(request):
    qs = selectors.campaigns_visible(user=request.user).order_by("-period_start", "-pk")
    state = request.GET.get("state", "")
    if state:
        qs = qs.filter(case__state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = dict(Target.objects.filter(campaign__in=[c.pk for c in page.object_list]).values("campaign")
                  .annotate(n=Count("pk")).values_list("campaign", "n"))
    return render(request, "inspections/office/campaigns.html", {
        "page": page, "rows": [(c, counts.get(c.pk, 0)) for c in page.object_list], "state": state,
        "states": [(s, State(s).label) for s in CAMPAIGN_STATES],
        "query": f"state={state}" if state else "", "may_plan": bool(r.user_roles(request.user) & OFFICE_WRITERS),
    })


# --- Planning ------------------------------------------------------------------------------------------------------


def _agency_inspectors(agency):
    users = get_user_model().objects.filter(agency_memberships__agency=agency, is_active=True,
                                            groups__name__in=services.TEAM_ROLES).distinct()
    return users.order_by("last_name", "first_name", "username")


class PlanForm(forms.Form):
    type = forms.ChoiceField(label=gettext_lazy("Inspection type"))
    title = forms.CharField(label=gettext_lazy("Title"), max_length=300)
    legal_basis = forms.CharField(label=gettext_lazy("Legal basis"), widget=forms.Textarea(attrs={"rows": 3}))
    scope = forms.CharField(label=gettext_lazy("Scope"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    period_start = forms.DateField(label=gettext_lazy("Planned start"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=gettext_lazy("Planned end"), widget=forms.DateInput(attrs={"type": "date"}))
    lead = forms.ModelChoiceField(label=gettext_lazy("Lead"), queryset=get_user_model().objects.none())
    members = forms.ModelMultipleChoiceField(label=gettext_lazy("Members"), required=False,
                                             queryset=get_user_model().objects.none(),
                                             widget=forms.CheckboxSelectMultiple)
    targets = forms.MultipleChoiceField(label=gettext_lazy("Targets"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    uuid = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, types, inspectors, establishments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [(t.code, t.name_vi) for t in types]
        self.fields["lead"].queryset = inspectors
        self.fields["members"].queryset = inspectors
        self.fields["targets"].choices = [(str(e.pk), e.name) for e in establishments]
        for field in ("lead", "members"):
            self.fields[field].label_from_instance = lambda u: u.get_full_name() or u.get_username()


def _agency_named(request):
    value = request.POST.get("agency") or request.GET.get("agency") or ""
    return Agency.objects.filter(pk=int(value)).first() if value.isdigit() else None


def _plan_context(request, case_type):
    """The agency that would own a campaign of this type (the one named, for someone working for several), its
    inspectors and the ranked registry."""
    agency = agency_competent(case_type=case_type, day=timezone.localdate(), actor=request.user,
                              agency=_agency_named(request))
    registries = predecessors_closure({agency.pk})
    candidates = (selectors.establishments_visible(user=request.user)
                  .filter(agency_id__in=registries, kind__in=TYPE_KINDS.get(case_type.code, ()), active=True)
                  .order_by("kind", "name", "pk"))
    return agency, _agency_inspectors(agency), risk_scores(candidates)


@office_required(OFFICE_WRITERS)
@require_http_methods(["GET", "POST"])
def campaign_plan(request):
    types = list(CaseType.objects.filter(domain="inspection").order_by("name_vi"))
    code = request.POST.get("type") or request.GET.get("type") or ""
    case_type = next((t for t in types if t.code == code), None)
    if case_type is None:  # first step: the type decides the checklist, the agency, the team and the registry
        return render(request, "inspections/office/campaign_plan.html", {"types": types, "step": "type"})
    try:
        agency, inspectors, ranked = _plan_context(request, case_type)
    except ValidationFailed as exc:
        if exc.extra.get("agencies"):  # several of the user's agencies inspect this type: the user chooses
            return render(request, "inspections/office/campaign_plan.html", {
                "types": types, "step": "type", "case_type": case_type, "agencies": exc.extra["agencies"]})
        error_messages_show(request, exc)
        return redirect("inspections-office:campaign-plan")
    by_pk = {str(s.establishment.pk): s for s in ranked}
    kwargs = {"types": types, "inspectors": inspectors, "establishments": [s.establishment for s in ranked]}
    paging = request.method == "POST" and "page" in request.POST  # another page of the registry, nothing planned
    if paging:
        form = PlanForm(initial=_typed(request.POST), **kwargs)
        chosen = set(request.POST.getlist("targets"))
    elif request.method == "POST":
        form = PlanForm(request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            members = list(data["members"])
            team = members or [data["lead"]]
            plans = [services.TargetPlan(establishment=by_pk[pk].establishment, inspectors=tuple(team))
                     for pk in data["targets"]]
            try:
                campaign, _created = services.campaign_plan(
                    actor=request.user, case_type=case_type, title=data["title"], legal_basis=data["legal_basis"],
                    period_start=data["period_start"], period_end=data["period_end"], lead=data["lead"],
                    members=members, scope=data["scope"], targets=plans, uuid=data["uuid"], agency=agency)
            except DomainError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("The campaign was planned."))
                return redirect("inspections-office:campaign", pk=campaign.pk)
        chosen = set(request.POST.getlist("targets"))
    else:
        proposed = [str(s.establishment.pk) for s in ranked[:PROPOSED] if s.score > 0]
        lead = request.user if inspectors.filter(pk=request.user.pk).exists() else None
        # The legal basis of the agency's latest campaign of this type, to adapt rather than retype.
        latest = (Campaign.objects.filter(case__case_type=case_type, case__agency=agency)
                  .order_by("-period_start", "-pk").first())
        form = PlanForm(initial={"type": case_type.code, "uuid": uuid_lib.uuid4(), "targets": proposed,
                                 "lead": lead, "legal_basis": latest.legal_basis if latest else ""}, **kwargs)
        chosen = set(proposed)
    proposed_ids = {str(s.establishment.pk) for s in ranked[:PROPOSED] if s.score > 0}
    rows = [{"score": s, "pk": str(s.establishment.pk), "checked": str(s.establishment.pk) in chosen,
             "proposed": str(s.establishment.pk) in proposed_ids} for s in ranked]
    # The registry pages (PLAN_PAGE_SIZE a page, highest risk first); the establishments chosen on the other pages
    # travel as hidden fields, and turning a page posts the form, so nothing typed or ticked is lost.
    page = Paginator(rows, PLAN_PAGE_SIZE).get_page(request.POST.get("page") or request.POST.get("page_current")
                                                    or request.GET.get("page"))
    shown = {row["pk"] for row in page.object_list}
    return render(request, "inspections/office/campaign_plan.html", {
        "types": types, "step": "plan", "case_type": case_type, "agency": agency, "form": form,
        "rows": page.object_list, "page": page, "kept": sorted(chosen - shown, key=int), "chosen_count": len(chosen),
        "members": list(form["members"]),
    })


def _typed(data) -> dict:
    """What the plan form holds, as initial values (a page of the registry turned: nothing is checked yet)."""
    many = {"members", "targets"}
    return {name: data.getlist(name) if name in many else data.get(name, "") for name in PlanForm.base_fields}


# --- A campaign ----------------------------------------------------------------------------------------------------


def _campaign_get(request, pk: int):
    qs = selectors.campaigns_visible(user=request.user).select_related("decision_issuer", "case__agency")
    return get_object_or_404(qs, pk=pk)


@office_required()
def campaign(request, pk: int):
    item = _campaign_get(request, pk)
    case = item.case
    targets = (selectors.target_counts(item.targets.select_related("establishment", "violation")
                                       .prefetch_related("inspectors")).order_by("planned_on", "pk"))
    roles = r.user_roles(request.user)
    lead_here = may_write(request.user) or request.user.pk == case.assignee_id
    available = {t.action: t for t in transitions_available(domain="inspection", state=case.state, roles=roles)}
    actions = [available[a] for a in ACTION_ORDER if a in available] if lead_here else []
    documents = selectors.documents_visible(user=request.user).filter(campaign=item).select_related(
        "target__establishment", "verifiable").order_by("kind", "pk")
    planning = lead_here and case.state in services.PLANNING_STATES
    team_editable = lead_here and case.state not in TERMINAL and case.state != State.CONCLUDED
    inspectors = _agency_inspectors(case.agency) if team_editable else []
    candidates = []
    if planning:
        taken = {t.establishment_id for t in targets}
        registry = (selectors.establishments_visible(user=request.user)
                    .filter(agency_id__in=predecessors_closure({case.agency_id}), active=True,
                            kind__in=TYPE_KINDS.get(case.case_type.code, ())).exclude(pk__in=taken)
                    .order_by("kind", "name", "pk"))
        candidates = risk_scores(registry)
    return render(request, "inspections/office/campaign.html", {
        "campaign": item, "case": case, "targets": targets, "actions": actions,
        "team": [case.assignee, *case.members.exclude(pk=case.assignee_id).order_by("last_name", "username")]
        if case.assignee_id else list(case.members.all()),
        "documents": documents, "visited": sum(1 for t in targets if t.visited_at),
        "planning": planning, "team_editable": team_editable, "inspectors": inspectors,
        "member_ids": set(case.members.values_list("pk", flat=True)), "candidates": candidates,
        "writer": may_write(request.user), "outcome_states": [str(s) for s in services.OUTCOME_STATES],
        "conclusion_page": case.state in {State.FINDINGS_CLOSED, State.CONCLUDED, State.CLOSED} and may_write(request.user),
    })


def _team_of(campaign) -> tuple:
    case = campaign.case
    members = list(case.members.all())
    return tuple(members) or ((case.assignee,) if case.assignee_id else ())


@office_required(OFFICE_WRITERS | {r.INSPECTOR})
@require_POST
def campaign_targets_add(request, pk: int):
    """Add establishments from the registry (each through services.target_add), assigned to the team's members."""
    item = _campaign_get(request, pk)
    chosen = [int(x) for x in request.POST.getlist("establishments") if x.isdigit()]
    entries = {e.pk: e for e in selectors.establishments_visible(user=request.user).filter(pk__in=chosen)}
    added = 0
    for establishment_id in chosen:
        entry = entries.get(establishment_id)
        if entry is None:
            continue
        try:
            services.target_add(actor=request.user, campaign_id=item.pk, establishment=entry,
                                inspectors=_team_of(item))
        except DomainError as exc:
            error_messages_show(request, exc)
        else:
            added += 1
    if added:
        messages.success(request, _("%(count)s establishments were added to the campaign.") % {"count": added})
    elif not chosen:
        messages.error(request, _("Choose at least one establishment."))
    return redirect("inspections-office:campaign", pk=item.pk)


@office_required(OFFICE_WRITERS | {r.INSPECTOR})
@require_POST
def campaign_target_remove(request, pk: int, target_pk: int):
    item = _campaign_get(request, pk)
    target = get_object_or_404(item.targets, pk=target_pk)
    try:
        services.target_remove(actor=request.user, target_id=target.pk)
    except DomainError as exc:
        error_messages_show(request, exc)
    else:
        messages.success(request, _("The establishment was taken out of the campaign."))
    return redirect("inspections-office:campaign", pk=item.pk)


@office_required(OFFICE_WRITERS)
@require_POST
def campaign_team(request, pk: int):
    item = _campaign_get(request, pk)
    inspectors = _agency_inspectors(item.case.agency)
    lead = inspectors.filter(pk=request.POST.get("lead") or 0).first()
    members = list(inspectors.filter(pk__in=[x for x in request.POST.getlist("members") if x.isdigit()]))
    version = request.POST.get("version")
    if lead is None:
        messages.error(request, _("Choose the lead among the agency's inspectors."))
        return redirect("inspections-office:campaign", pk=item.pk)
    try:
        services.campaign_team_set(actor=request.user, campaign_id=item.pk, lead=lead, members=members,
                                   version=int(version) if version and version.isdigit() else None)
    except DomainError as exc:
        error_messages_show(request, exc)
    else:
        messages.success(request, _("The team was saved."))
    return redirect("inspections-office:campaign", pk=item.pk)


@office_required(OFFICE_WRITERS | {r.INSPECTOR})
@require_POST
def campaign_action(request, pk: int):
    item = _campaign_get(request, pk)
    action = request.POST.get("action", "")
    if action not in ACTION_ORDER or action == "conclude":
        messages.error(request, _("Unknown action."))
        return redirect("inspections-office:campaign", pk=item.pk)
    version = request.POST.get("version")
    try:
        services.campaign_transition(actor=request.user, campaign_id=item.pk, action=action,
                                     version=int(version) if version and version.isdigit() else None,
                                     note=request.POST.get("note", "").strip())
    except DomainError as exc:
        error_messages_show(request, exc)
    else:
        item.refresh_from_db()
        if action == "announce":
            messages.success(request, _("The campaign was announced: decision %(number)s.")
                             % {"number": item.decision_number_text})
        else:
            messages.success(request, _("Done."))
    return redirect("inspections-office:campaign", pk=item.pk)


@office_required()
def campaign_document(request, pk: int, document_pk: int):
    """A document of the campaign, for whoever may see the campaign (as the API's download)."""
    document = get_object_or_404(selectors.documents_visible(user=request.user), pk=document_pk, campaign_id=pk)
    if not document.file:
        raise Http404
    stem = f"{(document.number_text or document.kind).replace('/', '-')}-{document.pk}"
    if request.GET.get("format") == "pdf":  # the signed PDF/A, once the signing task has made it
        verifiable = document.verifiable
        if verifiable is None or not verifiable.is_signed:
            raise Http404
        return FileResponse(verifiable.pdf.open("rb"), as_attachment=True, content_type="application/pdf",
                            filename=f"{stem}.pdf")
    return FileResponse(document.file.open("rb"), as_attachment=True, content_type=DOCX, filename=f"{stem}.docx")


urlpatterns = [
    path("campaigns/", campaigns, name="campaigns"),
    path("campaigns/new/", campaign_plan, name="campaign-plan"),
    path("campaigns/<int:pk>/", campaign, name="campaign"),
    path("campaigns/<int:pk>/action/", campaign_action, name="campaign-action"),
    path("campaigns/<int:pk>/team/", campaign_team, name="campaign-team"),
    path("campaigns/<int:pk>/targets/", campaign_targets_add, name="campaign-targets-add"),
    path("campaigns/<int:pk>/targets/<int:target_pk>/remove/", campaign_target_remove, name="campaign-target-remove"),
    path("campaigns/<int:pk>/documents/<int:document_pk>/", campaign_document, name="campaign-document"),
]
