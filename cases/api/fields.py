"""Fields shared by the API's serializers (the agency a row belongs to: sent as its id, answered as {"id",
"name"}), and the one rule for the years a date may fall in."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from agencies.models import Agency

# The department's work happens between these years. Anything outside is a typing slip; and a moment before 1911
# would be rendered in Asia/Ho_Chi_Minh's local mean time (+07:06:30), an offset RFC 3339 clients cannot read.
YEAR_MIN, YEAR_MAX = 1970, 2100
OUT_OF_RANGE = _("Enter a date between the years %(min)d and %(max)d.")


def working_years_error(value) -> str | None:
    """The message for a date or moment outside the department's years (API fields, API filters, page forms)."""
    if value is not None and not YEAR_MIN <= value.year <= YEAR_MAX:
        return OUT_OF_RANGE % {"min": YEAR_MIN, "max": YEAR_MAX}
    return None


class DateTimeField(serializers.DateTimeField):
    """An ISO 8601 moment in the years the department works in."""

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)  # aware, in the current time zone
        if error := working_years_error(moment):
            raise serializers.ValidationError(error, code="out_of_range")
        return moment


class DateField(serializers.DateField):
    """An ISO 8601 date in the years the department works in."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if error := working_years_error(day):
            raise serializers.ValidationError(error, code="out_of_range")
        return day


class AgencyField(serializers.PrimaryKeyRelatedField):
    """An agency: written as its id, read as {"id", "name"}, the name with its province ("Sở Văn hóa, Thể thao và
    Du lịch (Tỉnh Hưng Yên)"). Read from the row's key, without a query per row: the names are read once per
    serializer (an installation holds a handful of agencies)."""

    def __init__(self, *, joined: bool = False, **kwargs):
        """joined: the rows come with their agency (select_related): its name is read from it, with no query."""
        self.joined = joined
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", Agency.objects.all())
        super().__init__(**kwargs)

    def use_pk_only_optimization(self):
        return not self.joined and super().use_pk_only_optimization()

    def to_representation(self, value):
        if self.joined and isinstance(value, Agency):
            return {"id": value.pk, "name": str(value)}
        pk = getattr(value, "pk", value)
        names = getattr(self, "_names", None)
        if names is None or pk not in names:
            names = self._names = {agency.pk: str(agency) for agency in Agency.objects.all()}
        return {"id": pk, "name": names.get(pk, "")}


class AgencyFieldSchema(OpenApiSerializerFieldExtension):
    target_class = AgencyField

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return {"type": "integer", "description": "The agency's id."}
        return {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                "required": ["id", "name"]}
