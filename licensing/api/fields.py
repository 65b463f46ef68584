"""The agency a row belongs to, in the API: sent as its id, answered as {"id", "name"}."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from agencies.models import Agency


class AgencyField(serializers.PrimaryKeyRelatedField):
    """An agency: written as its id, read as {"id", "name"}, the name with its province ("Sở Văn hóa, Thể thao và
    Du lịch (Tỉnh Hưng Yên)"). Read from the row's key, without a query per row: the names are read once per
    serializer (an installation holds a handful of agencies)."""

    def __init__(self, **kwargs):
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", Agency.objects.all())
        super().__init__(**kwargs)

    def to_representation(self, value):
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
