"""Input fields shared by the API's serializers."""

from datetime import date

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# The department's work happens between these years. Anything outside is a typing slip; and a moment before 1911
# would be rendered in Asia/Ho_Chi_Minh's local mean time (+07:06:30), an offset RFC 3339 clients cannot read.
YEAR_MIN, YEAR_MAX = 1970, 2100
OUT_OF_RANGE = _("Enter a date between the years %(min)d and %(max)d.")


class DateTimeField(serializers.DateTimeField):
    """An ISO 8601 moment in the years the department works in."""

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)  # aware, in the current time zone
        if not YEAR_MIN <= moment.year <= YEAR_MAX:
            raise serializers.ValidationError(OUT_OF_RANGE % {"min": YEAR_MIN, "max": YEAR_MAX}, code="out_of_range")
        return moment


class DateField(serializers.DateField):
    """An ISO 8601 date in the years the department works in."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not date(YEAR_MIN, 1, 1) <= day <= date(YEAR_MAX, 12, 31):
            raise serializers.ValidationError(OUT_OF_RANGE % {"min": YEAR_MIN, "max": YEAR_MAX}, code="out_of_range")
        return day
