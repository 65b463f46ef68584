"""Section II of the periodic report: the indicators catalogue (data), their values per agency and period (entered,
imported or computed by the service), the previous period's value, the change and the note, written the Vietnamese
way ("1.307.424", "-112.955")."""

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.errors import NotAllowed, NotFound, StaleVersion, ValidationFailed

from .models import Indicator, IndicatorValue, ReportDivision
from .periods import Period

CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "indicators.json"
MAX_VALUE = 10**15


def vn_number(value: int) -> str:
    """ "1.307.424", "-112.955", "27"."""
    return f"{int(value):,}".replace(",", ".")


def vn_change(value: int) -> str:
    """The "Tăng+, giảm-" column: "+1.234", "-1.926", "0"."""
    return "0" if value == 0 else f"{int(value):+,}".replace(",", ".")


def vn_decimal(value: Decimal, places: int) -> str:
    """ "70,3": a decimal comma, rounded half up."""
    quantum = Decimal(1).scaleb(-places)
    text = str(value.quantize(quantum, rounding=ROUND_HALF_UP))
    return text.replace(".", ",")


# --- Catalogue ----------------------------------------------------------------------------------------------------


def catalogue_load(data: dict | None = None, *, model=Indicator) -> int:
    """Load the catalogue (reports/data/indicators.json): rows matched by code are left as an administrator keeps
    them, missing ones are created. `model` lets a migration pass its historical model."""
    data = data or json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    items = data["indicators"]
    made = 0
    with transaction.atomic():
        by_code = {}
        for item in items:
            row, created = model.objects.get_or_create(code=item["code"], defaults={
                "name": item["name"], "unit": item.get("unit", ""), "order": item.get("order", 0),
                "children_inline": item.get("children_inline", False), "shown": item.get("shown", True),
                "division_code": item.get("division", ""), "compute": item.get("compute", ""),
                "note_rule": item.get("note_rule", ""), "note_text": item.get("note_text", "")})
            by_code[row.code] = (row, created, item)
            made += created
        for row, created, item in by_code.values():
            if not created:
                continue
            if item.get("parent"):
                row.parent = by_code[item["parent"]][0]
            if item.get("note_of"):
                row.note_of = by_code[item["note_of"]][0]
            row.save()
    return made


# --- Values ---------------------------------------------------------------------------------------------------------


def may_enter(user, indicator: Indicator, agency) -> bool:
    """The members of the indicator's division enter its values (the head and administrators may correct any)."""
    from cases import roles as r

    if r.user_roles(user) & {r.DEPARTMENT_HEAD, r.ADMINISTRATOR}:
        return True
    return ReportDivision.objects.filter(agency=agency, code=indicator.division_code, members=user).exists()


def _value_check(value) -> int:
    try:
        number = int(str(value).strip().replace(".", "").replace(" ", "")) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("The value must be a whole number."),
                               extra={"errors": {"value": [_("A whole number is required.")]}}) from None
    if abs(number) >= MAX_VALUE:
        raise ValidationFailed(_("The value is too large."), extra={"errors": {"value": [_("Too large.")]}})
    return number


def value_set(*, actor, indicator: Indicator, agency, period: Period, value, version: int | None = None,
              source: str = IndicatorValue.Source.ENTERED) -> IndicatorValue:
    """Enter (or correct) one value. `version`: the value's version the user read (None: a first entry); a
    correction made on an older version is a conflict."""
    if not may_enter(actor, indicator, agency):
        raise NotAllowed(_("Only the responsible division enters this indicator."))
    number = _value_check(value)
    with transaction.atomic():
        row = IndicatorValue.objects.select_for_update().filter(indicator=indicator, agency=agency,
                                                                period=str(period)).first()
        now = timezone.now()
        if row is None:
            if version not in (None, 0):
                raise StaleVersion(extra={"current_version": 0})
            return IndicatorValue.objects.create(indicator=indicator, agency=agency, period=str(period), value=number,
                                                 source=source, entered_by=actor, entered_at=now)
        if version is not None and version != row.version:
            raise StaleVersion(extra={"current_version": row.version})
        row.value, row.source, row.entered_by, row.entered_at = number, source, actor, now
        row.version += 1
        row.save()
        return row


def _computed(code: str, agency, period: Period) -> int | None:
    if code == "documents_signed":
        from documents.selectors import verifiable_signed_count

        return verifiable_signed_count(issuer_ids=[agency.pk], start=period.start, end=period.end)
    return None


def values_of(agency, period: Period) -> dict[int, tuple[int, str]]:
    """{indicator id: (value, source)} of the period: entered or imported values, and computed ones for the
    indicators the service computes and nobody entered."""
    found = {row.indicator_id: (row.value, row.source)
             for row in IndicatorValue.objects.filter(agency=agency, period=str(period))}
    for indicator in Indicator.objects.filter(active=True).exclude(compute=""):
        if indicator.pk not in found:
            computed = _computed(indicator.compute, agency, period)
            if computed:
                found[indicator.pk] = (computed, "computed")
    return found


def _note(indicator: Indicator, values: dict) -> str:
    if not indicator.note_rule or indicator.note_of_id is None or indicator.pk not in values:
        return ""
    base = values.get(indicator.note_of_id, (0, ""))[0]
    if not base:
        return ""
    ratio = Decimal(values[indicator.pk][0]) * 100 / Decimal(base)
    if indicator.note_rule == Indicator.NoteRule.SHARE_OF:
        return indicator.note_text.replace("{share}", vn_decimal(ratio, 0))
    return indicator.note_text.replace("{per100}", vn_decimal(ratio, 1))


def indicators_table(agency, period: Period) -> list[dict]:
    """The rows of table II as printed: {"tt", "name" (lines), "unit", "value" (lines), "change", "note",
    "code"}; a value missing prints empty, the change only where the previous period has a value."""
    current, previous = values_of(agency, period), values_of(agency, period.previous())
    indicators = list(Indicator.objects.filter(active=True, shown=True).order_by("order", "code"))
    children: dict[int, list[Indicator]] = {}
    for indicator in indicators:
        if indicator.parent_id:
            children.setdefault(indicator.parent_id, []).append(indicator)

    def value_text(indicator):
        return vn_number(current[indicator.pk][0]) if indicator.pk in current else ""

    def change_text(indicator):
        if indicator.pk in current and indicator.pk in previous:
            return vn_change(current[indicator.pk][0] - previous[indicator.pk][0])
        return ""

    rows, tt = [], 0
    for indicator in indicators:
        if indicator.parent_id:
            continue
        tt += 1
        kids = children.get(indicator.pk, [])
        if indicator.children_inline:
            rows.append({"tt": str(tt), "code": indicator.code, "name": [indicator.name] + [f"- {k.name}" for k in kids],
                         "unit": indicator.unit, "value": [value_text(indicator)] + [value_text(k) for k in kids],
                         "change": change_text(indicator), "note": _note(indicator, current)})
            continue
        rows.append({"tt": str(tt), "code": indicator.code, "name": [indicator.name], "unit": indicator.unit,
                     "value": [value_text(indicator)], "change": change_text(indicator),
                     "note": _note(indicator, current)})
        for kid in kids:
            rows.append({"tt": "", "code": kid.code, "name": [kid.name], "unit": kid.unit, "value": [value_text(kid)],
                         "change": change_text(kid), "note": _note(kid, current)})
    return rows


def indicators_missing(agency, period: Period) -> list[Indicator]:
    """Indicators of the table with no value for the period (parents of inline children excepted)."""
    have = values_of(agency, period)
    missing = []
    for indicator in Indicator.objects.filter(active=True).order_by("order", "code"):
        if indicator.pk in have or indicator.children.exists() and not indicator.children_inline:
            continue
        if indicator.children_inline and not indicator.shown:
            continue
        missing.append(indicator)
    return missing


def indicator_get(code: str) -> Indicator:
    indicator = Indicator.objects.filter(code=code, active=True).first()
    if indicator is None:
        raise NotFound(_("Unknown indicator."))
    return indicator
