"""Indicator values from a CSV or XLSX file (columns `indicator`, `period`, `value`; the file is read with the
register import's reader: size, zip bomb and encoding checks). Every row is checked first; one bad row and nothing
is written, the errors name each row as the spreadsheet numbers it, its column and what is wrong (a row of an
indicator the user does not answer for refuses the whole file: 403)."""

from django.db import transaction
from django.utils.translation import gettext as _

from cases.errors import NotAllowed, ValidationFailed

from .indicators import MAX_VALUE, may_enter, value_set
from .models import Indicator, IndicatorValue
from .periods import Period

COLUMNS = ("indicator", "period", "value")


def _number(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value or "").strip().replace(" ", "")
    # Vietnamese thousands dots ("1.307.424") and a leading sign
    digits = text.lstrip("+-").replace(".", "")
    if not digits.isdigit() or (text.count(".") and any(len(g) != 3 for g in text.lstrip("+-").split(".")[1:])):
        return None
    return -int(digits) if text.startswith("-") else int(digits)


def indicators_import(*, actor, agency, name: str, data: bytes) -> dict:
    """Check every row, then write them all (one transaction) or nothing. Returns {"imported": n, "rows": [...]};
    raises ValidationFailed with extra["rows"] = [{"row", "column", "message"}] when any row is wrong."""
    from licensing.imports import register_read

    table = register_read(name=name, data=data)
    missing = [column for column in COLUMNS if column not in table.columns]
    if missing:
        message = _("The file lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)}
        raise ValidationFailed(message, extra={"errors": {"file": [message]}, "rows": []})
    indicators = {i.code: i for i in Indicator.objects.filter(active=True)}
    errors, refused, planned, seen = [], [], [], {}
    for row in table.rows:
        code = str(row.values.get("indicator") or "").strip()
        period_text = str(row.values.get("period") or "").strip()
        indicator = indicators.get(code)
        if indicator is None:
            errors.append({"row": row.number, "column": "indicator",
                           "message": _("Unknown indicator “%(code)s”.") % {"code": code[:60]}})
        elif not may_enter(actor, indicator, agency):
            refused.append({"row": row.number, "column": "indicator",
                            "message": _("Only the responsible division enters this indicator.")})
        try:
            period = Period.parse(period_text)
        except ValueError:
            period = None
            errors.append({"row": row.number, "column": "period",
                           "message": _("The period must look like 2019-Q4, 2020-H1 or 2020.")})
        value = _number(row.values.get("value"))
        if value is None or abs(value) >= MAX_VALUE:
            errors.append({"row": row.number, "column": "value", "message": _("The value must be a whole number.")})
        if indicator is not None and period is not None:
            key = (indicator.code, str(period))
            if key in seen:
                errors.append({"row": row.number, "column": "indicator",
                               "message": _("Same indicator and period as row %(row)s.") % {"row": seen[key]}})
            seen.setdefault(key, row.number)
            planned.append((indicator, period, value))
    if not table.rows:
        errors.append({"row": None, "column": "", "message": _("The file holds no rows.")})
    if refused:  # an action the user may not take: 403, naming the rows, nothing written
        raise NotAllowed(_("Only the responsible division enters these indicators: nothing was imported."),
                         extra={"rows": refused})
    if errors:
        raise ValidationFailed(_("%(count)s rows have errors: nothing was imported.")
                               % {"count": len({e["row"] for e in errors})},
                               extra={"errors": {"file": [_("Some rows have errors.")]}, "rows": errors})
    with transaction.atomic():
        for indicator, period, value in planned:
            value_set(actor=actor, indicator=indicator, agency=agency, period=period, value=value,
                      source=IndicatorValue.Source.IMPORTED)
    return {"imported": len(planned)}
