"""The list filters of the API, with dates and times kept to what the database can compare.

A filter such as `?decided_before=0325-12-22T08:27:42-22:02` parses in Python (offsets up to ±23:59, any year)
but PostgreSQL refuses offsets beyond ±15:59 and the request failed with a server error. Times are compared in
UTC, and dates and times outside the years the department works in are a clear 400.
"""

from datetime import UTC, date, datetime

from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from .fields import working_years_error


class CheckedFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        cleaned = filterset.form.cleaned_data
        errors = {}
        for name, value in cleaned.items():
            if not isinstance(value, date):  # datetime is a date too
                continue
            if error := working_years_error(value):
                errors[name] = [error]
            elif isinstance(value, datetime) and value.tzinfo is not None:
                cleaned[name] = value.astimezone(UTC)
        if errors:
            raise ValidationError(errors)
        return filterset.qs
