"""The establishment registry: create, update, delete (the agency's register of places to inspect)."""


from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from agencies.models import Agency
from agencies.selectors import agency_ids_member, agency_ids_visible, predecessors_closure
from cases import roles as r
from cases.errors import NotAllowed, NotFound, ValidationFailed
from cases.models import CaseType
from licensing.services import agency_for_registry

from ..communes import commune_from_address
from ..errors import InUse
from ..models import TYPE_KINDS, Establishment
from ..selectors import LEAD_ROLES
from ._common import _decimal, _invalid

ESTABLISHMENT_FIELDS = ("kind", "name", "address", "commune", "operator", "site_code", "latitude", "longitude",
                        "representative", "phone", "print_facility", "organisation", "active")


def _commune_fill(values: dict) -> None:
    """The commune as given, else as the address names it ("Xã Đồng Tiên, huyện Quỳnh Phụ" → "Xã Đồng Tiên")."""
    values["commune"] = " ".join(str(values.get("commune") or "").split())[:100] or commune_from_address(
        values.get("address") or "")


def _establishment_check(values: dict, *, agency: Agency) -> None:
    errors = {}
    if values.get("kind") not in Establishment.Kind.values:
        errors["kind"] = [_("Unknown kind of establishment.")]
    if values.get("kind") == Establishment.Kind.BTS_SITE and not values.get("site_code"):
        errors["site_code"] = [_("A BTS site needs its site code.")]
    latitude, longitude = values.get("latitude"), values.get("longitude")
    if (latitude is None) != (longitude is None):
        errors["latitude"] = [_("Give both latitude and longitude, or neither.")]
    if latitude is not None and not -90 <= latitude <= 90:
        errors["latitude"] = [_("Latitude is between -90 and 90.")]
    if longitude is not None and not -180 <= longitude <= 180:
        errors["longitude"] = [_("Longitude is between -180 and 180.")]
    # Links to the licensing registries: entries of the establishment's agency or of its predecessors.
    registries = predecessors_closure({agency.pk})
    for link in ("print_facility", "organisation"):
        if values.get(link) is not None and values[link].agency_id not in registries:
            errors[link] = [_("Not an entry of this agency's registry.")]
    if values.get("site_code"):
        twin = Establishment.objects.filter(agency=agency, operator=values.get("operator") or "",
                                            site_code=values["site_code"])
        if values.get("pk"):
            twin = twin.exclude(pk=values["pk"])
        if twin.exists():
            errors["site_code"] = [_("This operator already has a site with this code.")]
    if errors:
        raise ValidationFailed(_("The establishment is not valid."), extra={"errors": errors})


def _registry_writer(actor) -> None:
    if not r.user_roles(actor) & LEAD_ROLES:
        raise NotAllowed(_("Only inspection leads keep the establishment registry."))


def _acts_for(actor, agency_id: int) -> bool:
    member = agency_ids_member(actor)
    return agency_id in member or bool(actor.is_superuser and not member)


def establishment_may_change(actor, establishment: Establishment) -> bool:
    """Whether the actor's role and agency let them change this entry (for pages to show the edit form)."""
    return bool(r.user_roles(actor) & LEAD_ROLES) and _acts_for(actor, establishment.agency_id)


def _registry_entry_writer(actor, establishment: Establishment) -> None:
    """A registry entry is changed by its own agency's staff: a predecessor's entries are read (and inspected),
    not changed; another agency's are not found."""
    if establishment.agency_id not in agency_ids_visible(actor):
        raise NotFound(_("Establishment not found."))
    if not _acts_for(actor, establishment.agency_id):
        raise NotAllowed(_("This establishment belongs to another agency's registry: you may read it, not change "
                           "it."))


def establishment_create(*, actor, agency: Agency | None = None, **fields) -> Establishment:
    """An entry of the actor's agency's registry (`agency` names it for someone working for several: by default the
    one of theirs that inspects this kind of establishment today)."""
    _registry_writer(actor)
    values = {k: v for k, v in fields.items() if k in ESTABLISHMENT_FIELDS}
    inspecting = [code for code, kinds in TYPE_KINDS.items() if values.get("kind") in kinds]
    keeper = agency_for_registry(actor=actor, case_types=CaseType.objects.filter(code__in=inspecting), agency=agency)
    for coordinate in ("latitude", "longitude"):
        values[coordinate] = _decimal(values.get(coordinate), 6, coordinate)
    _commune_fill(values)
    _establishment_check(values, agency=keeper)
    with transaction.atomic():
        return Establishment.objects.create(agency=keeper, **values)


def establishment_update(*, actor, establishment_id: int, agency: Agency | None = None, **fields) -> Establishment:
    _registry_writer(actor)
    with transaction.atomic():
        establishment = Establishment.objects.select_for_update().filter(pk=establishment_id).first()
        if establishment is None:
            raise NotFound(_("Establishment not found."))
        _registry_entry_writer(actor, establishment)
        if agency is not None and agency.pk != establishment.agency_id:
            _invalid("agency", _("An entry stays in the registry of its agency."))
        values = {name: getattr(establishment, name) for name in ESTABLISHMENT_FIELDS}
        values.update({k: v for k, v in fields.items() if k in ESTABLISHMENT_FIELDS})
        if "address" in fields and "commune" not in fields and values["address"] != establishment.address:
            values["commune"] = ""  # a new address: its commune read again
        for coordinate in ("latitude", "longitude"):
            values[coordinate] = _decimal(values.get(coordinate), 6, coordinate)
        _commune_fill(values)
        _establishment_check({**values, "pk": establishment.pk}, agency=establishment.agency)
        for name, value in values.items():
            setattr(establishment, name, value)
        establishment.save()
    return establishment


def establishment_delete(*, actor, establishment_id: int) -> None:
    _registry_writer(actor)
    establishment = Establishment.objects.filter(pk=establishment_id).first()
    if establishment is None:
        raise NotFound(_("Establishment not found."))
    _registry_entry_writer(actor, establishment)
    try:
        with transaction.atomic():
            deleted, _rows = Establishment.objects.filter(pk=establishment_id).delete()
    except ProtectedError:
        raise InUse(_("This establishment is a target of a campaign; mark it inactive instead.")) from None
    if not deleted:
        raise NotFound(_("Establishment not found."))


