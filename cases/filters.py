"""FilterSets for case lists, used by the API and the pages alike."""

import re
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from .models import Case, CaseType
from .selectors import due_soon_q, overdue_q, text_search_q
from .workflow import State

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class DayOrMomentField(IsoDateTimeField):
    """An ISO 8601 moment, or a plain day ("2019-12-31"), kept as a date."""

    def to_python(self, value):
        if isinstance(value, str) and _DAY.fullmatch(value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise forms.ValidationError(_("Enter a valid date."), code="invalid") from None
        return super().to_python(value)


class DayOrMomentFilter(django_filters.Filter):
    """A bound of a period, given as a moment or as a day. A day is read as people read it: `…_before=2019-12-31`
    includes the 31st (before 00:00 of 1 January, local time), `…_after=2019-12-31` starts at 00:00 on the 31st."""

    field_class = DayOrMomentField

    def filter(self, qs, value):
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value + timedelta(days=1) if self.lookup_expr == "lt" else value
            value = timezone.make_aware(datetime.combine(day, time.min))
        return super().filter(qs, value)


class CaseFilter(django_filters.FilterSet):
    type = django_filters.CharFilter(method="filter_type", label=_("Case type code"))
    domain = django_filters.ChoiceFilter(field_name="case_type__domain",
                                         choices=[("licensing", _("Licensing")), ("inspection", _("Inspection"))])
    state = django_filters.MultipleChoiceFilter(choices=State.choices, distinct=False)  # no join: no DISTINCT
    assignee = django_filters.NumberFilter(field_name="assignee_id")
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")
    received_after = DayOrMomentFilter(field_name="received_at", lookup_expr="gte")
    received_before = DayOrMomentFilter(field_name="received_at", lookup_expr="lt")
    decided_after = DayOrMomentFilter(field_name="decided_at", lookup_expr="gte")
    decided_before = DayOrMomentFilter(field_name="decided_at", lookup_expr="lt")
    overdue = django_filters.BooleanFilter(method="filter_overdue")
    due_soon = django_filters.BooleanFilter(method="filter_due_soon")
    q = django_filters.CharFilter(method="filter_text", label=_("Text search"))

    class Meta:
        model = Case
        fields = ["type", "domain", "state", "assignee"]

    def filter_type(self, queryset, name, value):
        # A scalar subquery rather than a join: PostgreSQL then reads the first page straight from the
        # (type, state, received) index instead of sorting every case of the type.
        return queryset.filter(case_type_id=Subquery(CaseType.objects.filter(code=value).values("pk")[:1]))

    def filter_overdue(self, queryset, name, value):
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())

    def filter_due_soon(self, queryset, name, value):
        return queryset.filter(due_soon_q()) if value else queryset.exclude(due_soon_q())

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(text_search_q(value, user=getattr(self.request, "user", None)))
