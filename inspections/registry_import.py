"""Importing a list of establishments into the registry (an operator's BTS sites, a district's print shops): CSV or
XLSX, headers as in docs/establishment-import-template.csv.

The file is read with licensing's register reader (licensing.imports.register_read: size checked before a byte is
decoded, XLSX checked as a zip before openpyxl opens it, UTF-8 CSV with its delimiter guessed). Each row then goes
through the registry's own service (services.establishment_create) inside one transaction: a preview rolls the
whole transaction back and lists every row's errors (row as the spreadsheet numbers it, column as its header reads,
the service's message); a confirmed import commits only when no row has an error, so nothing is half-imported.
Rows checked against each other too: the second row with the same operator and site code is the error.
"""

import unicodedata
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from cases.errors import DomainError, ValidationFailed
from licensing.imports import register_read

from . import services
from .models import Establishment

IMPORT_MAX_BYTES = 2 * 1024 * 1024  # a province's BTS sites (a few thousand rows) fit in a tenth of it


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as the template writes it
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS = (
    Column("kind", "Loại cơ sở", ("Loại", "kind")),
    Column("name", "Tên cơ sở", ("Tên", "Tên trạm", "name"), True),
    Column("address", "Địa chỉ", ("Địa chỉ trạm", "address"), True),
    Column("commune", "Xã/phường", ("Xã, phường", "Xã", "Phường", "commune")),
    Column("operator", "Doanh nghiệp", ("Nhà mạng", "Doanh nghiệp viễn thông", "operator")),
    Column("site_code", "Mã trạm", ("Mã", "Mã cơ sở", "site_code")),
    Column("latitude", "Vĩ độ", ("Lat", "latitude")),
    Column("longitude", "Kinh độ", ("Long", "Lon", "longitude")),
    Column("representative", "Người đại diện", ("representative",)),
    Column("phone", "Điện thoại", ("Số điện thoại", "phone")),
)
IGNORED = ("stt", "tt", "số thứ tự")


def _folded(text) -> str:
    return " ".join(unicodedata.normalize("NFC", str(text or "")).casefold().replace("*", " ").split())


_HEADERS = {_folded(name): c.key for c in COLUMNS for name in (c.header, c.key, *c.aliases)}
_HEADER_OF = {c.key: c.header for c in COLUMNS}
# A kind as people write it: its code, its English label or its Vietnamese label (catalogue), a few usual words.
KIND_WORDS = {
    "trạm bts": Establishment.Kind.BTS_SITE, "bts": Establishment.Kind.BTS_SITE,
    "cơ sở in": Establishment.Kind.PRINT_SHOP, "photocopy": Establishment.Kind.PHOTOCOPY_SHOP,
    "cơ sở photocopy": Establishment.Kind.PHOTOCOPY_SHOP, "đại lý internet": Establishment.Kind.INTERNET_AGENT,
    "điểm bán": Establishment.Kind.POINT_OF_SALE, "điểm bán sim": Establishment.Kind.POINT_OF_SALE,
    "chi nhánh doanh nghiệp viễn thông": Establishment.Kind.OPERATOR_BRANCH,
    "cơ sở phát hành xuất bản phẩm": Establishment.Kind.PUBLICATION_DISTRIBUTOR,
    "cửa hàng thiết bị": Establishment.Kind.EQUIPMENT_RETAILER,
}


def kind_of(text) -> str | None:
    word = _folded(text)
    for value, label in Establishment.Kind.choices:
        if word in (_folded(value), _folded(label), _folded(_(str(label)))):
            return value
    return KIND_WORDS.get(word)


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportResult:
    file_name: str
    sha256: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: list[Establishment] = field(default_factory=list)  # in a preview: what would be stored
    stored: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


class _Preview(Exception):
    """Raised inside the transaction to roll a preview back."""


def establishments_import(*, name: str, data: bytes, actor, default_kind: str = "", confirm: bool,
                          agency=None) -> ImportResult:
    """Check (and with `confirm`, store) the establishments of a file. Raises ValidationFailed for a file that
    cannot be read at all (too large, not a workbook, no header, no name or address column)."""
    if len(data) > IMPORT_MAX_BYTES:
        from django.template.defaultfilters import filesizeformat

        message = _("The file is larger than %(limit)s.") % {"limit": filesizeformat(IMPORT_MAX_BYTES)}
        raise ValidationFailed(message, extra={"errors": {"file": [message]}})
    _type_check(name, data)
    sheet = register_read(name=name, data=data)
    mapping, unknown = {}, []
    for header in sheet.columns:
        key = _HEADERS.get(_folded(header))
        if key and key not in mapping.values():
            mapping[header] = key
        elif header and _folded(header) not in IGNORED:
            unknown.append(header)
    missing = [c.header for c in COLUMNS if c.required and c.key not in mapping.values()]
    if "kind" not in mapping.values() and not default_kind:
        missing.append(_HEADER_OF["kind"])
    if missing or unknown:
        errors = []
        if missing:
            errors.append(_("Missing columns: %(names)s.") % {"names": ", ".join(missing)})
        if unknown:
            errors.append(_("Unknown columns: %(names)s (the template's headers are: %(expected)s).")
                          % {"names": ", ".join(unknown), "expected": ", ".join(c.header for c in COLUMNS)})
        raise ValidationFailed(" ".join(errors), extra={"errors": {"file": errors}})
    result = ImportResult(file_name=sheet.name, sha256=sheet.sha256, rows=len(sheet.rows))
    if not sheet.rows:
        result.errors.append(RowError(0, "", _("The file holds no establishment.")))
        return result
    try:
        with transaction.atomic():
            for row in sheet.rows:
                _row_import(row, mapping, result, actor=actor, default_kind=default_kind, agency=agency)
            if not confirm or result.errors:
                raise _Preview
    except _Preview:
        result.stored = False
    else:
        result.stored = True
    return result


def _type_check(name: str, data: bytes) -> None:
    """A .csv that is text or a .xlsx that is a zip, by name and by its first bytes, before anything is decoded."""
    lowered = (name or "").lower()
    if lowered.endswith(".xlsx"):
        fits = data.startswith(b"PK\x03\x04")
    elif lowered.endswith((".csv", ".txt")):
        fits = b"\x00" not in data[:4096] and not data.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0"))
    else:
        fits = False
    if not fits:
        message = _("Only a CSV file (UTF-8) or an Excel workbook (.xlsx) is accepted.")
        raise ValidationFailed(message, extra={"errors": {"file": [message]}})


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _row_import(row, mapping: dict, result: ImportResult, *, actor, default_kind: str, agency) -> None:
    values = {key: _cell(row.values.get(header)) for header, key in mapping.items()}
    for coordinate in ("latitude", "longitude"):
        if values.get(coordinate, "").count(",") == 1 and "." not in values[coordinate]:
            values[coordinate] = values[coordinate].replace(",", ".")  # 20,4463: a decimal comma
    errors_before = len(result.errors)
    kind_text = values.pop("kind", "")
    kind = kind_of(kind_text) if kind_text else default_kind
    if not kind:
        result.errors.append(RowError(row.number, _HEADER_OF["kind"],
                                      _("Unknown kind of establishment: “%(value)s”.") % {"value": kind_text}))
    for column in COLUMNS:
        if column.required and not values.get(column.key):
            result.errors.append(RowError(row.number, column.header, _("This field is required.")))
    if len(result.errors) > errors_before:
        return
    try:
        with transaction.atomic():
            establishment = services.establishment_create(actor=actor, agency=agency, kind=kind, **values)
    except DomainError as exc:
        field_errors = exc.extra.get("errors") or {}
        if not field_errors:
            result.errors.append(RowError(row.number, "", str(exc.detail)))
        for key, messages in field_errors.items():
            header = _HEADER_OF.get(key, "")
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                result.errors.append(RowError(row.number, header, str(message)))
        return
    result.created.append(establishment)
