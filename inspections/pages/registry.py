"""Office pages: the registry of establishments (list, search, filters, an entry and its edit, import from
CSV/XLSX with a preview) and the map. Every write calls the registry's services, which check the role and the
agency again."""

import base64
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cases.errors import DomainError, NotFound
from cases.search import search_q

from .. import geo, selectors, services
from ..models import Establishment, Outcome
from ..registry_import import COLUMNS, IMPORT_MAX_BYTES, establishments_import
from ..services.registry import establishment_may_change
from ._access import (
    OFFICE_WRITERS,
    error_messages_show,
    form_errors_apply,
    may_write,
    office_required,
)

PAGE_SIZE = 50
RECENT_MONTHS = 12


class RegistryFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False,
                        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Name, address, site code")}))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)
    operator = forms.ChoiceField(label=gettext_lazy("Operator"), required=False)
    commune = forms.ChoiceField(label=gettext_lazy("Commune"), required=False)
    inspected = forms.ChoiceField(label=gettext_lazy("Last inspected"), required=False, choices=[
        ("", gettext_lazy("Any time")), ("recent", gettext_lazy("Within 12 months")),
        ("12", gettext_lazy("Not in the last 12 months")), ("24", gettext_lazy("Not in the last 24 months")),
        ("never", gettext_lazy("Never"))])
    violations = forms.ChoiceField(label=gettext_lazy("Open violations"), required=False, choices=[
        ("", gettext_lazy("Any")), ("yes", gettext_lazy("With open violations")),
        ("no", gettext_lazy("Without open violations"))])

    def __init__(self, data, *, base):
        super().__init__(data)
        self.fields["kind"].choices = [("", _("All kinds")), *Establishment.Kind.choices]
        operators = base.exclude(operator="").order_by("operator").values_list("operator", flat=True).distinct()
        self.fields["operator"].choices = [("", _("All operators")), *[(o, o) for o in operators]]
        communes = base.exclude(commune="").order_by("commune").values_list("commune", flat=True).distinct()
        self.fields["commune"].choices = [("", _("All communes")), *[(c, c) for c in communes]]


def registry_filtered(request):
    """The form and the visible entries it selects, each with its history (last visit, open violations)."""
    base = selectors.establishments_visible(user=request.user)
    form = RegistryFilterForm(request.GET or None, base=base)
    qs = selectors.establishments_with_history(base)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["q"].strip():
            qs = qs.filter(search_q(data["q"].strip(), words_in=("name", "address", "operator", "commune"),
                                    codes=("site_code",)))
        for name in ("kind", "operator", "commune"):
            if data[name]:
                qs = qs.filter(**{name: data[name]})
        since = timezone.now() - timedelta(days=round(365.25 * RECENT_MONTHS / 12))
        if data["inspected"] == "recent":
            qs = qs.filter(last_visited_at__gte=since)
        elif data["inspected"] in ("12", "24"):
            months = int(data["inspected"])
            cut = timezone.now() - timedelta(days=round(365.25 * months / 12))
            qs = qs.exclude(last_visited_at__gte=cut)
        elif data["inspected"] == "never":
            qs = qs.filter(last_visited_at__isnull=True)
        if data["violations"] == "yes":
            qs = qs.filter(violations_open__gt=0)
        elif data["violations"] == "no":
            qs = qs.filter(violations_open=0)
    filtered = form.is_bound and form.is_valid() and any(form.cleaned_data.values())
    return form, qs.order_by("kind", "name", "pk"), filtered


def point_status(establishment) -> str:
    """A registry entry's colour on the map and its badge: open violations, visited recently, or due."""
    if getattr(establishment, "violations_open", 0):
        return "open"
    visited = getattr(establishment, "last_visited_at", None)
    if visited and visited >= timezone.now() - timedelta(days=round(365.25 * RECENT_MONTHS / 12)):
        return "recent"
    return "due"


@office_required()
def registry(request):
    form, qs, filtered = registry_filtered(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(e, point_status(e)) for e in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "inspections/office/registry.html", {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(), "filtered": filtered,
        "may_write": may_write(request.user),
    })


class EstablishmentForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Establishment.Kind.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=300)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=500)
    commune = forms.CharField(label=gettext_lazy("Commune"), max_length=100, required=False,
                              help_text=gettext_lazy("Left empty: read from the address."))
    operator = forms.CharField(label=gettext_lazy("Operator"), max_length=100, required=False)
    site_code = forms.CharField(label=gettext_lazy("Site code"), max_length=50, required=False)
    latitude = forms.DecimalField(label=gettext_lazy("Latitude"), required=False, max_digits=9, decimal_places=6,
                                  min_value=-90, max_value=90, localize=False)
    longitude = forms.DecimalField(label=gettext_lazy("Longitude"), required=False, max_digits=9, decimal_places=6,
                                   min_value=-180, max_value=180, localize=False)
    representative = forms.CharField(label=gettext_lazy("Representative"), max_length=200, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=30, required=False)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    FIELDS = ("kind", "name", "address", "commune", "operator", "site_code", "latitude", "longitude",
              "representative", "phone", "active")


def _establishment_get(request, pk: int) -> Establishment:
    qs = selectors.establishments_with_history(selectors.establishments_visible(user=request.user))
    return get_object_or_404(qs, pk=pk)


@office_required()
@require_http_methods(["GET", "POST"])
def establishment(request, pk: int):
    entry = _establishment_get(request, pk)
    editable = may_write(request.user) and establishment_may_change(request.user, entry)
    if request.method == "POST":
        if not may_write(request.user):
            raise PermissionDenied
        form = EstablishmentForm(request.POST)
        if form.is_valid():
            try:
                services.establishment_update(actor=request.user, establishment_id=entry.pk,
                                              **{k: form.cleaned_data[k] for k in EstablishmentForm.FIELDS})
            except NotFound:
                raise Http404 from None
            except DomainError as exc:
                form_errors_apply(form, exc)
            else:
                messages.success(request, _("The establishment was saved."))
                return redirect("inspections-office:establishment", pk=entry.pk)
    else:
        form = EstablishmentForm(initial={k: getattr(entry, k) for k in EstablishmentForm.FIELDS})
    targets = (selectors.targets_visible(user=request.user).filter(establishment=entry)
               .select_related("campaign__case", "violation").order_by("-campaign__period_start", "-pk"))
    return render(request, "inspections/office/establishment.html", {
        "entry": entry, "form": form, "editable": editable, "status": point_status(entry), "targets": targets,
    })


@office_required(OFFICE_WRITERS)
@require_http_methods(["GET", "POST"])
def establishment_new(request):
    """A new entry of the registry of the lead's agency (the one inspecting this kind, for someone in several)."""
    form = EstablishmentForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.establishment_create(actor=request.user,
                                                  **{k: form.cleaned_data[k] for k in EstablishmentForm.FIELDS})
        except DomainError as exc:
            form_errors_apply(form, exc)
        else:
            messages.success(request, _("The establishment was saved."))
            return redirect("inspections-office:establishment", pk=entry.pk)
    return render(request, "inspections/office/establishment_new.html", {"form": form})


def _import_session_key() -> str:
    return "inspections:registry-import"


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (CSV or XLSX)"), required=False)
    default_kind = forms.ChoiceField(label=gettext_lazy("Kind, for rows without one"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_kind"].choices = [("", "–"), *Establishment.Kind.choices]


@office_required(OFFICE_WRITERS)
@require_http_methods(["GET", "POST"])
def registry_import(request):
    """Upload → preview of every row's errors (nothing stored) → confirm the same file → all rows or none."""
    result, form = None, ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and request.POST.get("step") == "confirm":
        kept = request.session.get(_import_session_key()) or {}
        if not kept or kept.get("sha256") != request.POST.get("sha256"):
            messages.error(request, _("The previewed file is no longer available: upload it again."))
            return redirect("inspections-office:registry-import")
        try:
            result = establishments_import(name=kept["name"], data=base64.b64decode(kept["data"]),
                                           actor=request.user, default_kind=kept["default_kind"], confirm=True)
        except DomainError as exc:
            error_messages_show(request, exc)
            return redirect("inspections-office:registry-import")
        if result.stored:
            request.session.pop(_import_session_key(), None)
            messages.success(request, _("%(count)s establishments were added to the registry.")
                             % {"count": len(result.created)})
            return redirect("inspections-office:registry")
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload is None:
            form.add_error("file", _("No file was sent."))
        elif upload.size > IMPORT_MAX_BYTES:  # checked before a byte is read
            from django.template.defaultfilters import filesizeformat

            form.add_error("file", _("The file is larger than %(limit)s.") % {"limit": filesizeformat(IMPORT_MAX_BYTES)})
        else:
            data = upload.read(IMPORT_MAX_BYTES + 1)
            try:
                result = establishments_import(name=upload.name or "", data=data, actor=request.user,
                                               default_kind=form.cleaned_data["default_kind"], confirm=False)
            except DomainError as exc:
                form_errors_apply(form, exc)
            else:
                request.session[_import_session_key()] = {
                    "name": result.file_name, "sha256": result.sha256, "default_kind": form.cleaned_data["default_kind"],
                    "data": base64.b64encode(data).decode("ascii")} if result.ok else None
    return render(request, "inspections/office/registry_import.html", {
        "form": form, "result": result, "columns": COLUMNS, "max_bytes": IMPORT_MAX_BYTES,
    })


# --- The map -----------------------------------------------------------------------------------------------------

TARGET_STATUS = {Outcome.VIOLATION: "violation", Outcome.REMINDER: "reminder", Outcome.COMPLIANT: "compliant"}


def target_status(target) -> str:
    if target.outcome in TARGET_STATUS:
        return TARGET_STATUS[target.outcome]
    return "visited" if target.visited_at else "not-visited"


@office_required()
def registry_map(request):
    """The registry (as filtered on the registry page) and, with ?campaign=<pk>, that campaign's targets."""
    campaign = None
    if request.GET.get("campaign"):
        try:
            campaign_id = int(request.GET["campaign"])
        except ValueError:
            raise Http404 from None
        campaign = get_object_or_404(selectors.campaigns_visible(user=request.user), pk=campaign_id)
    form, qs, filtered = registry_filtered(request)
    points = []
    if campaign is not None:
        targets = (campaign.targets.select_related("establishment")
                   .filter(establishment__latitude__isnull=False).order_by("pk"))
        for target in targets:
            e = target.establishment
            points.append({"entry": e, "status": target_status(target), "target": target,
                           "label": target.get_outcome_display()})
        missing = campaign.targets.filter(establishment__latitude__isnull=True).count()
    else:
        for e in qs.filter(latitude__isnull=False):
            points.append({"entry": e, "status": point_status(e), "target": None, "label": ""})
        missing = qs.filter(latitude__isnull=True).count()
    projection = geo.projection_fit([(float(p["entry"].longitude), float(p["entry"].latitude)) for p in points])
    for p in points:
        p["x"], p["y"] = projection.point(float(p["entry"].longitude), float(p["entry"].latitude))
    query = request.GET.copy()
    query.pop("campaign", None)
    return render(request, "inspections/office/map.html", {
        "form": form, "filtered": filtered, "campaign": campaign, "points": points, "missing": missing,
        "outline": geo.outline_paths(projection), "width": projection.width, "height": projection.height,
        "registry_query": query.urlencode(),
        "legend": (["violation", "reminder", "compliant", "visited", "not-visited"] if campaign
                   else ["open", "recent", "due"]),
    })


urlpatterns = [
    path("registry/", registry, name="registry"),
    path("registry/new/", establishment_new, name="establishment-new"),
    path("registry/import/", registry_import, name="registry-import"),
    path("registry/map/", registry_map, name="map"),
    path("registry/<int:pk>/", establishment, name="establishment"),
]
