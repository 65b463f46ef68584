"""Request bodies that refuse fields they do not know.

DRF ignores a field a serializer does not declare. For a request that changes something, that hides a client's
mistake: `{"action": "approve", "version": 3, "decided_at": "2019-05-02"}` was carried out with the decision dated
now, as if the date had been taken. A strict serializer answers 400 naming each unknown field instead, and the
OpenAPI schema says so (`additionalProperties: false`).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

# What a browser's form adds besides the serializer's fields (Django's CSRF token): not a field of the request.
NOT_FIELDS = frozenset({"csrfmiddlewaretoken"})


class StrictFields:
    """Mixin for a Serializer: a body holding a field the serializer does not declare is refused, each unknown field
    named in `errors`."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(str(name) for name in data.keys() if name not in self.fields and name not in NOT_FIELDS)
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Unknown field: this request does not take it.")] for name in unknown})
        return super().to_internal_value(data)


def strict(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """`serializer_class` refusing unknown fields, under the same name (its schema component keeps its name)."""
    return type(serializer_class.__name__, (StrictFields, serializer_class),
                {"__module__": serializer_class.__module__, "__doc__": serializer_class.__doc__})


class StrictFieldsSchema(OpenApiSerializerExtension):
    target_class = StrictFields
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema
