import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from agencies.selectors import agency_ids_visible
from cases.filters import DayOrMomentFilter
from cases.search import search_q

from .models import Organisation, Permit, PrintFacility


def visible_to_requester(model):
    """The choices of a filter naming a registry row: the rows of the requester's agencies and their predecessors,
    so that another agency's row is refused as an unknown one is (nothing said about it)."""

    def queryset(request):
        user = getattr(request, "user", None)
        return model.objects.filter(agency_id__in=agency_ids_visible(user)) if user else model.objects.none()

    return queryset


class PermitFilter(django_filters.FilterSet):
    procedure = django_filters.CharFilter()
    holder = django_filters.NumberFilter(field_name="holder_id")
    print_facility = django_filters.NumberFilter(field_name="print_facility_id")
    issued_after = DayOrMomentFilter(field_name="issued_at", lookup_expr="gte")
    issued_before = DayOrMomentFilter(field_name="issued_at", lookup_expr="lt")
    revoked = django_filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)
    in_force = django_filters.BooleanFilter(method="filter_in_force", label=_("In force"))
    q = django_filters.CharFilter(method="filter_text", label=_("Text search"))

    class Meta:
        model = Permit
        fields = ["procedure", "holder", "result_unit"]

    def filter_in_force(self, queryset, name, value):
        in_force = Q(revoked_at__isnull=True, replaced_by__isnull=True)
        return queryset.filter(in_force) if value else queryset.exclude(in_force)

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Words of the holder's name and the title, accent-insensitive; the number and the case's reference as typed.
        return queryset.filter(search_q(value, words_in=("holder__name", "title"),
                                        codes=("number_text", "case__reference")))


class OrganisationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label=_("Text search"))

    class Meta:
        model = Organisation
        fields = ["kind", "tax_code"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(search_q(value, words_in=("name", "address"), codes=("tax_code",)))


class PrintFacilityFilter(django_filters.FilterSet):
    organisation = django_filters.ModelChoiceFilter(queryset=visible_to_requester(Organisation))

    class Meta:
        model = PrintFacility
        fields = ["organisation"]
