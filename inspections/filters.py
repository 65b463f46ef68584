import django_filters
from django.utils.translation import gettext_lazy as _

from agencies.selectors import agency_ids_visible
from cases.api.fields import YEAR_MAX, YEAR_MIN
from cases.filters import DayOrMomentFilter
from cases.search import search_q
from cases.workflow import INSPECTION
from licensing.filters import visible_to_requester
from licensing.models import Organisation, PrintFacility

from .models import (
    Campaign,
    ChecklistTemplate,
    Document,
    Establishment,
    Finding,
    FollowUp,
    Outcome,
    Photo,
    SanctionDecision,
    Target,
    ViolationRecord,
)

INSPECTION_STATES = sorted({t.target for t in INSPECTION if t.target} | {"planned"})


def of_requesters_agencies(model, agency_path: str):
    """The choices of a filter naming a campaign's row: those of the requester's agencies and their predecessors
    (the list itself then shows what the role may see). Another agency's row is refused as an unknown one is."""

    def queryset(request):
        user = getattr(request, "user", None)
        if user is None:
            return model.objects.none()
        return model.objects.filter(**{f"{agency_path}__in": agency_ids_visible(user)})

    return queryset


def _rows(model, agency_path: str, **extra):
    return django_filters.ModelChoiceFilter(queryset=of_requesters_agencies(model, agency_path), **extra)


class CampaignFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(field_name="case__state",
                                                choices=[(s, s) for s in INSPECTION_STATES])
    type = django_filters.CharFilter(field_name="case__case_type__code", label=_("Inspection type"))
    # A whole year in range: `year=0.8` or `year=1e24` made the date lookup fail with a server error.
    year = django_filters.NumberFilter(field_name="period_start__year", label=_("Year of the planned start"),
                                       decimal_places=0, min_value=YEAR_MIN, max_value=YEAR_MAX)
    lead = django_filters.NumberFilter(field_name="case__assignee_id", label=_("Lead"))
    q = django_filters.CharFilter(method="filter_text", label=_("Text search"))

    class Meta:
        model = Campaign
        fields = ["state", "type", "year", "lead"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(search_q(value, words_in=("case__subject_name", "scope"),
                                        codes=("case__reference", "decision_number_text")))


class EstablishmentFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=Establishment.Kind.choices)
    print_facility = django_filters.ModelChoiceFilter(queryset=visible_to_requester(PrintFacility))
    organisation = django_filters.ModelChoiceFilter(queryset=visible_to_requester(Organisation))
    q = django_filters.CharFilter(method="filter_text", label=_("Text search"))

    class Meta:
        model = Establishment
        fields = ["kind", "operator", "site_code", "print_facility", "organisation", "active"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(search_q(value, words_in=("name", "address", "operator"), codes=("site_code",)))


class ChecklistTemplateFilter(django_filters.FilterSet):
    type = django_filters.CharFilter(field_name="case_type__code", label=_("Inspection type"))
    in_force_on = django_filters.DateFilter(field_name="effective_from", lookup_expr="lte",
                                            label=_("Effective on or before"))

    class Meta:
        model = ChecklistTemplate
        fields = ["type", "version"]


class TargetFilter(django_filters.FilterSet):
    campaign = _rows(Campaign, "case__agency_id")
    outcome = django_filters.MultipleChoiceFilter(choices=Outcome.choices)
    inspector = django_filters.NumberFilter(field_name="inspectors", label=_("Assigned inspector"))
    mine = django_filters.BooleanFilter(method="filter_mine", label=_("Assigned to me"))
    kind = django_filters.ChoiceFilter(field_name="establishment__kind", choices=Establishment.Kind.choices)

    class Meta:
        model = Target
        fields = ["campaign", "outcome", "planned_on", "inspector", "kind"]

    def filter_mine(self, queryset, name, value):
        if value is None:
            return queryset
        request = getattr(self, "request", None)
        user_id = request.user.pk if request else None
        return queryset.filter(inspectors=user_id).distinct() if value else queryset.exclude(inspectors=user_id)


class FindingFilter(django_filters.FilterSet):
    campaign = django_filters.NumberFilter(field_name="target__campaign_id")
    target = _rows(Target, "campaign__case__agency_id")
    received_after = DayOrMomentFilter(field_name="received_at", lookup_expr="gte")

    class Meta:
        model = Finding
        fields = ["target", "campaign", "item", "result", "inspector"]


class PhotoFilter(django_filters.FilterSet):
    target = django_filters.NumberFilter(field_name="finding__target_id")
    finding = _rows(Finding, "target__campaign__case__agency_id")

    class Meta:
        model = Photo
        fields = ["finding", "target"]


class ViolationFilter(django_filters.FilterSet):
    campaign = django_filters.NumberFilter(field_name="target__campaign_id")
    target = _rows(Target, "campaign__case__agency_id")
    year = django_filters.NumberFilter()

    class Meta:
        model = ViolationRecord
        fields = ["campaign", "target", "year"]


class SanctionFilter(django_filters.FilterSet):
    campaign = django_filters.NumberFilter(field_name="violation__target__campaign_id")
    decided = django_filters.BooleanFilter(field_name="decided_at", lookup_expr="isnull", exclude=True)
    due_before = DayOrMomentFilter(field_name="due_at", lookup_expr="lt")
    violation = _rows(ViolationRecord, "target__campaign__case__agency_id")

    class Meta:
        model = SanctionDecision
        fields = ["campaign", "violation", "decided", "year"]


class FollowUpFilter(django_filters.FilterSet):
    campaign = django_filters.NumberFilter(field_name="violation__target__campaign_id")
    done = django_filters.BooleanFilter(field_name="done_at", lookup_expr="isnull", exclude=True)
    due_before = django_filters.DateFilter(field_name="correction_due_on", lookup_expr="lt")
    violation = _rows(ViolationRecord, "target__campaign__case__agency_id")

    class Meta:
        model = FollowUp
        fields = ["campaign", "violation", "done"]


class DocumentFilter(django_filters.FilterSet):
    campaign = _rows(Campaign, "case__agency_id")
    target = _rows(Target, "campaign__case__agency_id")

    class Meta:
        model = Document
        fields = ["campaign", "target", "kind"]
