"""The sanctions catalogue: decrees and their provisions, kept as data (inspections/data/sanctions_catalogue.json),
loaded into SanctionDecree / SanctionProvision and edited by administrators in the admin.

The rules live here: which provisions are in force on a day, and the fine range for an individual or an
organisation (SanctionProvision.fine_range: an organisation's range is double an individual's)."""

import json
from datetime import date
from pathlib import Path

from django.db import transaction
from django.db.models import Q

CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "sanctions_catalogue.json"


def _day(value):
    return date.fromisoformat(value) if value else None


def catalogue_load(apps=None, path: Path | None = None) -> tuple[int, int]:
    """Create or update the decrees and provisions the file names (by code and key). Idempotent; rows the file
    does not name are left alone. `apps` is a migration's app registry (the current models without it)."""
    if apps is None:
        from django.apps import apps as current
        apps = current
    Decree = apps.get_model("inspections", "SanctionDecree")
    Provision = apps.get_model("inspections", "SanctionProvision")
    data = json.loads((path or CATALOGUE_FILE).read_text(encoding="utf-8"))
    decrees: dict[str, object] = {}
    with transaction.atomic():
        for row in data["decrees"]:
            decree, _created = Decree.objects.update_or_create(code=row["code"], defaults={
                "number_text": row["number_text"], "title": row["title"],
                "effective_from": _day(row["effective_from"]), "effective_to": _day(row.get("effective_to")),
                "amends": decrees.get(row.get("amends")) if row.get("amends") else None,
                "fines_stated_for": row["fines_stated_for"], "source": row.get("source", "")})
            decrees[row["code"]] = decree
        for row in data["provisions"]:
            Provision.objects.update_or_create(key=row["key"], defaults={
                "decree": decrees[row["decree"]],
                "amended_by": decrees[row["amended_by"]] if row.get("amended_by") else None,
                "article": row["article"], "clause": row.get("clause"), "point": row.get("point") or "",
                "text": row["text"], "fine_min_vnd": row["fine_min_vnd"], "fine_max_vnd": row["fine_max_vnd"],
                "remedial_measures": row.get("remedial_measures", ""),
                "inspection_types": row.get("inspection_types", []),
                "valid_from": _day(row["valid_from"]), "valid_to": _day(row.get("valid_to")),
                "source": row.get("source", ""), "checked": bool(row.get("checked"))})
    return len(data["decrees"]), len(data["provisions"])


def in_force_q(day: date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))


def provisions_in_force(day: date, *, type_code: str | None = None):
    """The provisions in force on `day` (for an inspection type, if given), in citation order."""
    from .models import SanctionProvision

    qs = SanctionProvision.objects.filter(in_force_q(day)).select_related("decree", "amended_by")
    if type_code:
        qs = qs.filter(inspection_types__contains=[type_code])
    return qs.order_by("decree__effective_from", "article", "clause", "point", "pk")


def decrees_in_force(day: date):
    from .models import SanctionDecree

    return SanctionDecree.objects.filter(Q(effective_from__lte=day)
                                         & (Q(effective_to__isnull=True) | Q(effective_to__gte=day)))


def in_force_on(provision, day: date) -> bool:
    return provision.valid_from <= day and (provision.valid_to is None or day <= provision.valid_to)
