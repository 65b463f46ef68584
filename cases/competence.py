"""Which agency is competent for a case type on a day, and the agency history loaded from a data file."""

import json
from datetime import date
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from agencies.models import Agency, Signer
from agencies.selectors import agency_ids_member

from .errors import ValidationFailed
from .models import CaseType, CaseTypeAgency

HISTORY_FILE = Path(__file__).resolve().parent.parent / "agencies" / "data" / "thai_binh_hung_yen.json"


def agencies_competent(*, case_type: CaseType, day: date):
    """The agencies competent for `case_type` on `day` (one per installation and province)."""
    rows = CaseTypeAgency.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day), case_type=case_type,
                                         valid_from__lte=day)
    return Agency.objects.filter(pk__in=rows.values("agency_id")).order_by("pk")


def agency_competent(*, case_type: CaseType, day: date, actor=None, agency: Agency | None = None) -> Agency:
    """The agency a case of `case_type` received on `day` belongs to: the one competent that day among the
    actor's agencies (or the one named, which must be competent, and the actor's). A refusal is a validation
    error naming the receipt date, never a guess."""
    candidates = list(agencies_competent(case_type=case_type, day=day))
    if actor is not None and not (actor.is_superuser and not agency_ids_member(actor)):
        mine = agency_ids_member(actor)
        candidates = [candidate for candidate in candidates if candidate.pk in mine]
    if agency is not None:
        if agency.pk not in {candidate.pk for candidate in candidates}:
            message = _("This agency is not competent for this procedure on the receipt date, or you do not work "
                        "for it.")
            raise ValidationFailed(message, extra={"errors": {"agency": [message]}})
        return agency
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        message = _("None of your agencies handles this procedure on %(day)s.") % {"day": day.strftime("%d/%m/%Y")}
        raise ValidationFailed(message, extra={"errors": {"received_at": [message]}})
    message = _("Several of your agencies handle this procedure: choose one.")
    raise ValidationFailed(message, extra={"errors": {"agency": [message]},
                                           "agencies": [{"id": c.pk, "name": str(c)} for c in candidates]})


def _day(value) -> date | None:
    return date.fromisoformat(value) if value else None


@transaction.atomic
def agency_history_load(data: dict) -> dict[str, int]:
    """Load agencies, their successors, signers and competences from `data` (the shape of
    agencies/data/thai_binh_hung_yen.json). Idempotent, and it never overwrites: rows are matched by code
    (agencies), by agency, name and start date (signers), by type, agency and start date (competences), and only
    missing ones are created, so what an administrator corrected in the admin stays as corrected."""
    counts = {"agencies": 0, "signers": 0, "competences": 0}
    by_code: dict[str, Agency] = {}
    for item in data.get("agencies", []):
        agency, _created = Agency.objects.get_or_create(code=item["code"], defaults={
            "name": item["name"], "parent_name": item.get("parent_name", ""), "symbol": item["symbol"],
            "place_name": item.get("place_name", ""), "address": item.get("address", ""),
            "phone": item.get("phone", ""), "email": item.get("email", ""),
            "licensing_division_symbol": item.get("licensing_division_symbol", ""),
            "valid_from": _day(item["valid_from"]), "valid_to": _day(item.get("valid_to")),
        })
        by_code[agency.code] = agency
        counts["agencies"] += 1
        for signer in item.get("signers", []):
            Signer.objects.get_or_create(
                agency=agency, name=signer["name"], valid_from=_day(signer["valid_from"]),
                defaults={"title": signer["title"], "position": signer.get("position", 0),
                          "valid_to": _day(signer.get("valid_to"))})
            counts["signers"] += 1
    for item in data.get("agencies", []):
        successors = [by_code.get(code) or Agency.objects.get(code=code) for code in item.get("successors", [])]
        if successors:
            by_code[item["code"]].successors.add(*successors)
    types = {case_type.code: case_type for case_type in CaseType.objects.all()}
    for item in data.get("competences", []):
        agency = by_code.get(item["agency"]) or Agency.objects.get(code=item["agency"])
        for code in item["case_types"]:
            if code not in types:
                continue  # a type this installation's catalogue does not hold
            CaseTypeAgency.objects.get_or_create(
                case_type=types[code], agency=agency, valid_from=_day(item["valid_from"]),
                defaults={"valid_to": _day(item.get("valid_to"))})
            counts["competences"] += 1
    return counts


def agency_history_load_file(path: Path | str = HISTORY_FILE) -> dict[str, int]:
    return agency_history_load(json.loads(Path(path).read_text(encoding="utf-8")))
