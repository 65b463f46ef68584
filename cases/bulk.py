"""Writing many rows at once with few statements."""

import json
from collections import defaultdict


def update_by_value(queryset, values_by_pk: dict) -> int:
    """Write each row's own values with one UPDATE per distinct set of values.

    A batch's rows mostly share their values (the cells of cases received the same quarter, the missing files of
    dossiers of one procedure), so this is a handful of statements, where Django's bulk_update builds a CASE per
    field and row. Values must be plain JSON (numbers, strings, lists, dicts, None). Returns the rows updated."""
    groups: dict[str, list] = defaultdict(list)
    first: dict[str, dict] = {}
    for pk, values in values_by_pk.items():
        key = json.dumps(values, sort_keys=True)
        groups[key].append(pk)
        first.setdefault(key, values)
    return sum(queryset.filter(pk__in=pks).update(**first[key]) for key, pks in groups.items())
