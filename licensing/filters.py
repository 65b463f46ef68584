import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.filters import DayOrMomentFilter

from .models import Organisation, Permit


class PermitFilter(django_filters.FilterSet):
    procedure = django_filters.CharFilter()
    holder = django_filters.NumberFilter(field_name="holder_id")
    print_facility = django_filters.NumberFilter(field_name="print_facility_id")
    issued_after = DayOrMomentFilter(field_name="issued_at", lookup_expr="gte")
    issued_before = DayOrMomentFilter(field_name="issued_at", lookup_expr="lt")
    revoked = django_filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)
    q = django_filters.CharFilter(method="filter_text", label=_("Text search"))

    class Meta:
        model = Permit
        fields = ["procedure", "holder", "result_unit"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number_text__icontains=value) | Q(holder__name__icontains=value)
                               | Q(title__icontains=value) | Q(case__reference__icontains=value))


class OrganisationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label=_("Text search"))

    class Meta:
        model = Organisation
        fields = ["kind", "tax_code"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(tax_code__icontains=value)
                               | Q(address__icontains=value))
