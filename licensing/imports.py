"""Importing a department's past registers: the dossiers and permits it decided before it used the service.

One row of a register (CSV or XLSX, headers as in docs/register-import-template.csv) is one dossier: its procedure,
the applicant, its receipt and decision dates, its outcome, the number and date of its result. `register_import`
checks every row first and writes nothing unless every row is right; the report lists each row's errors (the row
as the spreadsheet numbers it, the column as its header reads, a message). A dry run stops after the checks and says
what an import would do. An import then writes everything in one transaction:

* the cases, in their terminal state (issued, refused, withdrawn) with their real dates, through the case engine's
  back-office path (cases.backoffice): a "created" event at the receipt and an "imported" event naming the file and
  the row;
* the dossier (the register holds none of the procedure's fields: it is stored empty) and the applicant, taken from
  the agency's registry by tax code (else by name and address) or added to it;
* the result's number as an issued document of the agency, and for a grant its entry in the permits registry. No
  file is made for it: a register row does not hold what the licence said (the procedure's fields, the legal bases
  it cited, who signed it), and a DOCX rebuilt from the row would be a document the agency never issued in that form.
  Its download answers that the original is on paper;
* each number counter of the agency (series, symbol, year) raised to at least the highest number imported, so that
  the next licence of that year takes the next number;
* one refresh of the figures per quarter the cases count in, queued through the outbox (reports.backfill).

Closed quarters: a row whose case would count in a quarter that is closed for the agency (its figures frozen and
reported) is refused. Entering it would change a report that was issued: the kept figures would no longer match the
frozen ones, and the nightly check would report the difference for ever. An ended quarter that is not yet closed
takes the imported cases; its figures are frozen at the next nightly check, with them.

A register imported again does not duplicate: each row has a key (its agency, procedure and result number, or
without a number its receipt time, applicant and outcome) from which the case's public id is made; a row already
imported with the same dates and outcome is skipped and reported as such, one imported with other data is an error.
"""

import csv
import hashlib
import io
import re
import unicodedata
import uuid as uuid_lib
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from agencies.selectors import agency_ids_visible
from cases import roles as r
from cases.backoffice import (
    PAST_ENTRY_ROLES,
    PastCase,
    cases_past_enter,
    quarter_of,
    quarters_closed,
    quarters_spanned,
)
from cases.errors import Conflict, NotAllowed, ValidationFailed
from cases.models import Case, CaseType, CaseTypeAgency, Sequence
from cases.text import instance_text_clean, text_clean
from cases.workflow import Outcome

from .models import Dossier, IssuedDocument, Organisation, Permit, PrintFacility
from .procedures import PROCEDURES
from .services import LETTER_SERIES

# --- Limits -------------------------------------------------------------------------------------------------------

REGISTER_MAX_BYTES_DEFAULT = 10 * 1024 * 1024  # the setting REGISTER_IMPORT_MAX_BYTES overrides it
REGISTER_MAX_ROWS = 50_000
MAX_COLUMNS = 64
# An XLSX is a zip: refused from its directory when it would unpack to more than this, or holds more parts.
XLSX_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
XLSX_MAX_MEMBERS = 1000
# The public id of an imported case is made from its row's key: the same row imported again is found by it.
IMPORT_NAMESPACE = uuid_lib.UUID("6f1f7c2e-3c55-4f0e-9a43-2b8f2c1d9e01")


def register_max_bytes() -> int:
    return int(getattr(settings, "REGISTER_IMPORT_MAX_BYTES", REGISTER_MAX_BYTES_DEFAULT))


# --- Columns ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as the template writes it (Vietnamese)
    required: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS = (
    Column("procedure", "Thủ tục", True, ("Mã thủ tục", "Tên thủ tục")),
    Column("applicant", "Tổ chức đề nghị", True, ("Tên tổ chức", "Tổ chức, cá nhân đề nghị", "Người đề nghị")),
    Column("tax_code", "Mã số thuế", False, ("MST",)),
    Column("address", "Địa chỉ"),
    Column("phone", "Điện thoại", False, ("Số điện thoại",)),
    Column("email", "Email", False, ("Thư điện tử",)),
    Column("summary", "Trích yếu", False, ("Nội dung", "Tên ấn phẩm")),
    Column("received_at", "Ngày tiếp nhận", True, ("Ngày nhận",)),
    Column("due_at", "Ngày hẹn trả", False, ("Hạn giải quyết",)),
    Column("decided_at", "Ngày quyết định", True, ("Ngày giải quyết",)),
    Column("outcome", "Kết quả", True),
    Column("number", "Số văn bản", False, ("Số giấy phép", "Số")),
    Column("issued_at", "Ngày ban hành", False, ("Ngày cấp", "Ngày trả kết quả")),
    Column("signer", "Người ký"),
    Column("reasons", "Lý do", False, ("Lý do từ chối", "Ghi chú lý do")),
    Column("valid_until", "Hiệu lực đến", False, ("Thời hạn", "Có hiệu lực đến")),
    Column("facility_name", "Tên cơ sở in"),
    Column("facility_address", "Địa chỉ cơ sở in"),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
IGNORED_HEADERS = ("STT", "TT", "Số thứ tự")  # the row counter of a register: read by nobody

OUTCOME_WORDS = {
    Outcome.GRANTED: ("granted", "cấp", "cấp phép", "cấp giấy phép", "đã cấp", "chấp thuận", "đồng ý",
                      "cấp văn bản chấp thuận"),
    Outcome.REFUSED: ("refused", "từ chối", "không cấp", "không chấp thuận", "không đồng ý"),
    Outcome.WITHDRAWN: ("withdrawn", "rút", "rút hồ sơ", "đã rút", "rút hồ sơ theo đề nghị"),
}


def _folded(text: str) -> str:
    """A header or a word as compared: NFC, case-folded, blanks collapsed, a trailing required-mark "*" dropped."""
    text = unicodedata.normalize("NFC", str(text)).casefold()
    text = " ".join(text.replace("(*)", " ").replace("*", " ").split())
    return text


_HEADERS = {_folded(name): column.key for column in COLUMNS for name in (column.header, column.key, *column.aliases)}
_IGNORED = {_folded(name) for name in IGNORED_HEADERS}
_OUTCOMES = {_folded(word): outcome for outcome, words in OUTCOME_WORDS.items() for word in words}


# --- Reading a file -------------------------------------------------------------------------------------------------


@dataclass
class RegisterRow:
    number: int  # the row as the spreadsheet numbers it (the header is row 1 of a template)
    values: dict[str, Any]  # header as written → cell value


@dataclass
class RegisterFile:
    name: str
    sha256: str
    columns: list[str]  # the headers as written, in order
    rows: list[RegisterRow]


def _refuse(message: str, **extra):
    raise ValidationFailed(message, extra={"errors": {"file": [message]}, **extra})


def register_read_upload(upload) -> RegisterFile:
    """An uploaded register (Django UploadedFile), its size checked before a byte is read."""
    if upload is None:
        _refuse(_("No file was sent."))
    limit = register_max_bytes()
    if upload.size > limit:
        _refuse(_("The register is larger than %(limit)s.") % {"limit": filesizeformat(limit)}, max_bytes=limit)
    upload.seek(0)
    return register_read(name=upload.name or "", data=upload.read(limit + 1))


def register_read(*, name: str, data: bytes) -> RegisterFile:
    """A register's rows from the bytes of a CSV (UTF-8, with or without BOM; comma, semicolon or tab) or an XLSX
    (its first sheet). XLSX by its content (a zip) or its name; anything else must be UTF-8 CSV. The header is the
    first row that is not empty; empty rows are skipped. Raises ValidationFailed for a file that cannot be read."""
    if not data:
        _refuse(_("The file is empty."))
    if len(data) > register_max_bytes():
        _refuse(_("The register is larger than %(limit)s.") % {"limit": filesizeformat(register_max_bytes())})
    clean_name = _file_name(name)
    if data.startswith(b"PK\x03\x04") or clean_name.lower().endswith((".xlsx", ".xlsm")):
        table = _xlsx_rows(data)
    else:
        table = _csv_rows(data)
    header_row, header, rows = None, [], []
    for number, cells in table:
        if all(_blank(cell) for cell in cells):
            continue
        if header_row is None:
            header_row = number
            header = [_text(cell) for cell in cells]
            while header and not header[-1]:
                header.pop()
            continue
        if len(rows) >= REGISTER_MAX_ROWS:
            _refuse(_("The register has more than %(max)s rows: split it into several files.")
                    % {"max": f"{REGISTER_MAX_ROWS:,}".replace(",", ".")}, max_rows=REGISTER_MAX_ROWS)
        values = {}
        for index, title in enumerate(header):
            if title:
                values[title] = cells[index] if index < len(cells) else None
        rows.append(RegisterRow(number=number, values=values))
    if header_row is None:
        _refuse(_("The file holds no header row."))
    return RegisterFile(name=clean_name, sha256=hashlib.sha256(data).hexdigest(), columns=header, rows=rows)


def _file_name(name) -> str:
    from cases.attachments import upload_name_clean

    return upload_name_clean(name)[:200]


def _csv_rows(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        _refuse(_("A CSV register must be saved as UTF-8 (in Excel: “CSV UTF-8”)."))
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append((number, cells[:MAX_COLUMNS]))
            if len(rows) > 2 * REGISTER_MAX_ROWS + 1000:  # blank lines count towards this bound too
                _refuse(_("The register has more than %(max)s rows: split it into several files.")
                        % {"max": f"{REGISTER_MAX_ROWS:,}".replace(",", ".")}, max_rows=REGISTER_MAX_ROWS)
    except csv.Error:
        _refuse(_("The CSV file could not be read: check its quotes."))
    return rows


def _xlsx_rows(data: bytes):
    """The first sheet's rows, after the zip's directory was checked (no bomb, a workbook inside); read with openpyxl
    in read-only mode (streamed, values only: formulas give their last computed value)."""
    from openpyxl import load_workbook

    unreadable = _("The XLSX file could not be read: it is damaged or is not an Excel workbook.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                _refuse(unreadable)
            if len(members) > XLSX_MAX_MEMBERS or \
                    sum(member.file_size for member in members) > XLSX_MAX_UNPACKED_BYTES:
                _refuse(_("The workbook would unpack to more than %(limit)s (a compressed bomb).")
                        % {"limit": filesizeformat(XLSX_MAX_UNPACKED_BYTES)})
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        _refuse(unreadable)
    rows = []
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if not workbook.worksheets:
                _refuse(unreadable)
            sheet = workbook.worksheets[0]
            for number, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
                rows.append((number, list(cells)))
                if len(rows) > 2 * REGISTER_MAX_ROWS + 1000:
                    _refuse(_("The register has more than %(max)s rows: split it into several files.")
                            % {"max": f"{REGISTER_MAX_ROWS:,}".replace(",", ".")}, max_rows=REGISTER_MAX_ROWS)
        finally:
            workbook.close()
    except ValidationFailed:
        raise
    except Exception:  # openpyxl on a hostile file raises many kinds of error: each is a refusal
        _refuse(unreadable)
    return rows


# --- Cell values --------------------------------------------------------------------------------------------------


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value, *, multiline: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a tax code typed as a number
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return text_clean(str(value), multiline=multiline).strip()


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:hg](\d{2})(?::(\d{2}))?)?$")


def _moment(value) -> datetime | None:
    """A date or a date and time, as a spreadsheet or a person writes it: an Excel date, 02/05/2019, 2/5/2019 08:30,
    2019-05-02, 2019-05-02T08:30:00+07:00. A date alone is its first minute, local time. ValueError otherwise."""
    if _blank(value):
        return None
    tz = timezone.get_current_timezone()
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, tz)
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, time(0, 0)), tz)
    if not isinstance(value, str):
        raise ValueError(value)  # an Excel serial number: a cell not formatted as a date
    text = value.strip()
    if match := _DMY.match(text):
        day, month, year, hour, minute, second = match.groups()
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        return timezone.make_aware(moment, tz)
    moment = datetime.fromisoformat(text)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, tz)


def _date_only(moment: datetime) -> bool:
    """A day written without its time (read as its first minute)."""
    return timezone.localtime(moment).time() == time(0, 0)


def _before(later: datetime, earlier: datetime) -> bool:
    """Is `later` before `earlier`? A day written without its time is the whole day: it is not before a time of
    the same day."""
    if _date_only(later) or _date_only(earlier):
        return timezone.localtime(later).date() < timezone.localtime(earlier).date()
    return later < earlier


# --- The report ---------------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, or a dry run would do, or why nothing was done (`errors`)."""

    source: str
    sha256: str
    agency: str
    dry_run: bool
    rows: int = 0
    imported: int = 0
    errors: list[dict] = field(default_factory=list)  # {"row", "column", "code", "message"}
    skipped: list[dict] = field(default_factory=list)  # rows imported before: {"row", "case", "reference"}
    cases: list[dict] = field(default_factory=list)  # {"row", "case", "reference", ...}; ids once imported
    summary: list[dict] = field(default_factory=list)  # {"procedure", "outcome", "count"}
    quarters: list[dict] = field(default_factory=list)  # {"quarter", "status", "rows", "note"}
    numbers: list[dict] = field(default_factory=list)  # {"series", "symbol", "year", "highest", ...}
    columns_ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "source": self.source, "sha256": self.sha256, "agency": self.agency, "dry_run": self.dry_run,
            "ok": self.ok, "rows": self.rows, "imported": self.imported, "errors": self.errors,
            "skipped": self.skipped, "cases": self.cases, "summary": self.summary, "quarters": self.quarters,
            "numbers": self.numbers, "columns_ignored": self.columns_ignored, "notes": self.notes,
        }


# --- Checking the rows --------------------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    case_type: CaseType
    terms: Any
    applicant: dict
    summary: str
    received_at: datetime
    due_at: datetime | None
    decided_at: datetime
    outcome: str
    issued_at: datetime | None
    series: str = ""
    symbol: str = ""
    year: int | None = None
    doc_number: int | None = None
    number_text: str = ""
    signer: str = ""
    reasons: str = ""
    valid_until: date | None = None
    facility: tuple[str, str] | None = None
    key: str = ""
    uuid: uuid_lib.UUID | None = None
    existing: Any = None  # the case this row was imported as before

    @property
    def finished_at(self) -> datetime:
        return self.issued_at if self.outcome == Outcome.GRANTED else self.decided_at

    @property
    def case_decided_at(self) -> datetime | None:
        """The case's decision time: a withdrawal is no decision (the workflow leaves decided_at empty)."""
        return None if self.outcome == Outcome.WITHDRAWN else self.decided_at

    @property
    def quarters(self) -> list[str]:
        return quarters_spanned(self.received_at, self.finished_at)


class _Errors:
    def __init__(self, headers: dict[str, str]):
        self.headers = headers  # column key → header as written in the file (or the template's)
        self.items: list[dict] = []

    def add(self, row: int, key: str, code: str, message: str) -> None:
        header = self.headers.get(key) or (COLUMN_BY_KEY[key].header if key in COLUMN_BY_KEY else key)
        self.items.append({"row": row, "column": header, "field": key, "code": code, "message": str(message)})


def letter_symbol(agency: Agency) -> str:
    """The symbol of the agency's letters (refusals): "STTTT-TTBCXB" (as licensing.services numbers them)."""
    return "-".join(part for part in (agency.symbol, agency.licensing_division_symbol) if part)


def number_counter_key(agency: Agency, series: str) -> str:
    """The key of the agency's counter of a series (licensing.services._number_take takes numbers from it)."""
    symbol = letter_symbol(agency) if series == LETTER_SERIES else agency.symbol
    return f"document:{agency.pk}:{series}:{symbol}"


def _agency_resolve(agency, actor) -> Agency:
    found = agency if isinstance(agency, Agency) else Agency.objects.filter(code=str(agency or "").strip()).first()
    if found is None or found.pk not in agency_ids_visible(actor):
        message = _("Unknown agency, or not one whose registers you may import.")
        raise ValidationFailed(message, extra={"errors": {"agency": [message]}})
    return found


class _Catalogue:
    """The procedures, their terms and the agency's competences, read once for all rows."""

    def __init__(self, agency: Agency):
        types = list(CaseType.objects.filter(domain="licensing", code__in=PROCEDURES).prefetch_related("terms"))
        self.by_name = {}
        for case_type in types:
            self.by_name[_folded(case_type.code)] = case_type
            self.by_name[_folded(case_type.name_vi)] = case_type
        self.competences = defaultdict(list)
        for type_id, valid_from, valid_to in CaseTypeAgency.objects.filter(agency=agency).values_list(
                "case_type_id", "valid_from", "valid_to"):
            self.competences[type_id].append((valid_from, valid_to))

    def procedure(self, text: str) -> CaseType | None:
        return self.by_name.get(_folded(text))

    @staticmethod
    def terms_on(case_type: CaseType, day: date):
        return max((t for t in case_type.terms.all() if t.effective_from <= day), key=lambda t: t.effective_from,
                   default=None)

    def competent(self, case_type: CaseType, day: date) -> bool:
        """Was the agency competent for the procedure on `day` (cases.competence.agencies_competent, in memory)?"""
        return any(start <= day and (end is None or day <= end) for start, end in self.competences[case_type.pk])


def _row_check(row: RegisterRow, cells: dict[str, Any], *, agency: Agency, catalogue: _Catalogue, now: datetime,
               errors: _Errors) -> _Row | None:
    """One row's own checks; its errors added to `errors`. None when it has any."""
    count = len(errors.items)
    n = row.number

    def text(key, limit, *, multiline=False):
        value = _text(cells.get(key), multiline=multiline)
        if len(value) > limit:
            errors.add(n, key, "too_long", _("At most %(max)d characters.") % {"max": limit})
        return value[:limit]

    def moment(key):
        try:
            value = _moment(cells.get(key))
        except (ValueError, TypeError, OverflowError):
            errors.add(n, key, "date_invalid", _("Not a date: write it as dd/mm/yyyy (or dd/mm/yyyy hh:mm)."))
            return None
        if value is not None and value > now:
            errors.add(n, key, "date_future", _("This date is in the future."))
            return None
        return value

    def required(key, value):
        if _blank(cells.get(key)):
            errors.add(n, key, "required", _("This column is required."))
        return value

    procedure_text = required("procedure", text("procedure", 300))
    case_type = catalogue.procedure(procedure_text) if procedure_text else None
    if procedure_text and case_type is None:
        errors.add(n, "procedure", "procedure_unknown",
                   _("Unknown procedure: write its code (e.g. bulletin) or its name as the catalogue has it."))
    applicant = {"name": required("applicant", text("applicant", 300)), "tax_code": text("tax_code", 20),
                 "address": text("address", 500), "phone": text("phone", 30), "email": text("email", 254)}
    if applicant["email"]:
        try:
            validate_email(applicant["email"])
        except DjangoValidationError:
            errors.add(n, "email", "email_invalid", _("Not an e-mail address."))
    summary = text("summary", 500)
    signer = text("signer", 200)
    reasons = text("reasons", 5000, multiline=True)
    received_at = required("received_at", moment("received_at"))
    due_at = moment("due_at")
    decided_at = required("decided_at", moment("decided_at"))
    issued_at = moment("issued_at")
    outcome_text = required("outcome", text("outcome", 100))
    outcome = _OUTCOMES.get(_folded(outcome_text)) if outcome_text else None
    if outcome_text and outcome is None:
        errors.add(n, "outcome", "outcome_unknown",
                   _("Unknown outcome: write “Cấp” (granted), “Từ chối” (refused) or “Rút hồ sơ” (withdrawn)."))
    number_text = text("number", 60)
    try:
        valid_until = _moment(cells.get("valid_until"))
    except (ValueError, TypeError, OverflowError):
        errors.add(n, "valid_until", "date_invalid", _("Not a date: write it as dd/mm/yyyy."))
        valid_until = None
    facility_name, facility_address = text("facility_name", 300), text("facility_address", 500)

    if received_at and decided_at and _before(decided_at, received_at):
        errors.add(n, "decided_at", "date_order", _("The decision cannot come before the receipt."))
    if received_at and due_at and _before(due_at, received_at):
        errors.add(n, "due_at", "date_order", _("The due date cannot come before the receipt."))
    if outcome == Outcome.WITHDRAWN:
        for key in ("number", "issued_at", "valid_until"):
            if not _blank(cells.get(key)):
                errors.add(n, key, "not_for_withdrawal", _("A withdrawn dossier has no result: leave this empty."))
    if outcome == Outcome.REFUSED and not reasons:
        errors.add(n, "reasons", "reasons_required", _("A refusal needs its written reasons."))
    if outcome == Outcome.REFUSED and valid_until:
        errors.add(n, "valid_until", "not_for_refusal", _("A refusal has no period of validity: leave this empty."))
    if outcome == Outcome.REFUSED and not number_text and issued_at is not None:
        errors.add(n, "number", "required", _("A refusal letter dated in the register needs its number."))
    if outcome == Outcome.GRANTED and not number_text:
        errors.add(n, "number", "required", _("A granted dossier needs the number of its result, e.g. 15/GP-STTTT."))
    if outcome in (Outcome.GRANTED, Outcome.REFUSED) and decided_at:
        if issued_at is None and not (outcome == Outcome.REFUSED and not number_text):
            issued_at = decided_at  # a result is dated its decision unless the register says otherwise
        if issued_at is not None and _before(issued_at, decided_at):
            errors.add(n, "issued_at", "date_order", _("The result cannot be issued before the decision."))
    if valid_until is not None and issued_at is not None and _before(valid_until, issued_at):
        errors.add(n, "valid_until", "date_order", _("The validity cannot end before the result was issued."))
    if case_type is not None and (facility_name or facility_address) \
            and PROCEDURES[case_type.code].holder_field != "facility":
        errors.add(n, "facility_name", "not_for_procedure",
                   _("Only a printing licence or registration names a print facility."))

    terms = None
    if case_type is not None and received_at is not None:
        received_day = timezone.localtime(received_at).date()
        terms = catalogue.terms_on(case_type, received_day)
        if terms is None:
            errors.add(n, "received_at", "no_terms", _("No terms of this procedure were in force on the receipt date."))
        if not catalogue.competent(case_type, received_day):
            errors.add(n, "received_at", "agency_not_competent",
                       _("%(agency)s did not handle this procedure on %(day)s.")
                       % {"agency": str(agency), "day": received_day.strftime("%d/%m/%Y")})
    for key, value in (("decided_at", decided_at), ("issued_at", issued_at)):
        if value is not None and not agency.in_force_on(timezone.localtime(value).date()):
            errors.add(n, key, "agency_not_in_force",
                       _("%(agency)s did not exist on %(day)s: a decision of that day belongs to the register of "
                         "the agency that existed then.")
                       % {"agency": str(agency), "day": timezone.localtime(value).strftime("%d/%m/%Y")})

    parsed = None
    if number_text and outcome in (Outcome.GRANTED, Outcome.REFUSED) and terms is not None and issued_at:
        parsed = _number_parse(number_text, outcome=outcome, terms=terms, agency=agency,
                               year=timezone.localtime(issued_at).year, row=n, errors=errors)
    if len(errors.items) > count:
        return None
    # A day written without its time is read as the whole day: decided "01/08/2019" after received "01/08/2019
    # 08:30" is the same day, stored no earlier than the receipt; a due day ends when the office closes.
    decided_at = max(decided_at, received_at)
    issued_at = max(issued_at, decided_at) if issued_at is not None else None
    if due_at is not None and _date_only(due_at):
        due_at = due_at.replace(hour=settings.OFFICE_CLOSE_HOUR)
    checked = _Row(
        number=n, case_type=case_type, terms=terms, applicant=applicant, summary=summary, received_at=received_at,
        due_at=due_at, decided_at=decided_at, outcome=outcome, issued_at=issued_at, signer=signer,
        reasons=reasons, valid_until=timezone.localtime(valid_until).date() if valid_until else None)
    if parsed is not None:
        checked.series, checked.symbol, checked.doc_number, checked.number_text = parsed
        checked.year = timezone.localtime(issued_at).year
    if PROCEDURES[case_type.code].holder_field == "facility" and outcome == Outcome.GRANTED:
        # The facility licensed: as the register names it, else the applicant (who holds a printing licence).
        checked.facility = (facility_name or applicant["name"], facility_address or applicant["address"])
    if checked.doc_number is not None:
        checked.key = f"{agency.code}|{case_type.code}|{checked.series}|{checked.year}|{checked.doc_number}"
    else:
        who = applicant["tax_code"] or _folded(applicant["name"])
        checked.key = f"{agency.code}|{case_type.code}|{received_at.isoformat()}|{who}|{outcome}"
    checked.uuid = uuid_lib.uuid5(IMPORT_NAMESPACE, checked.key)
    return checked


_NUMBER = re.compile(r"^(?:SỐ:?)?0*(\d{1,6})/(?:(\d{4})/)?(.+)$")


def _number_parse(text: str, *, outcome: str, terms, agency: Agency, year: int, row: int,
                  errors: _Errors) -> tuple[str, str, int, str] | None:
    """ "15/GP-STTTT" → ("GP", "STTTT", 15, "15/GP-STTTT"); a refusal letter "03/STTTT-TTBCXB" → ("CV", …). The
    series must be the procedure's (GP or VB; letters for refusals) and the symbol the agency's. The year is the
    issue date's; one written in the number ("15/2019/GP-STTTT") must agree with it."""
    compact = "".join(unicodedata.normalize("NFC", text).upper().split())
    match = _NUMBER.match(compact)
    if not match or int(match.group(1)) == 0:
        errors.add(row, "number", "number_invalid",
                   _("Not a document number: write it as 15/GP-STTTT (a refusal letter: 03/STTTT-TTBCXB)."))
        return None
    number, written_year, tail = int(match.group(1)), match.group(2), match.group(3)
    if written_year and int(written_year) != year:
        errors.add(row, "number", "number_year",
                   _("The number names the year %(written)s but the result was issued in %(year)s.")
                   % {"written": written_year, "year": year})
        return None
    if outcome == Outcome.REFUSED:
        symbol = letter_symbol(agency)
        if tail != symbol:
            errors.add(row, "number", "number_symbol",
                       _("A refusal letter of %(agency)s is numbered …/%(symbol)s, not …/%(found)s.")
                       % {"agency": str(agency), "symbol": symbol, "found": tail})
            return None
        return LETTER_SERIES, symbol, number, f"{number:02d}/{symbol}"
    series = terms.result_unit or "VB"
    found_series, _dash, found_symbol = tail.partition("-")
    if found_series != series:
        errors.add(row, "number", "number_series",
                   _("A result of this procedure is numbered in the %(series)s series (…/%(series)s-%(symbol)s), "
                     "not %(found)s.") % {"series": series, "symbol": agency.symbol, "found": found_series})
        return None
    if found_symbol != agency.symbol:
        errors.add(row, "number", "number_symbol",
                   _("The symbol of %(agency)s is %(symbol)s, not %(found)s.")
                   % {"agency": str(agency), "symbol": agency.symbol, "found": found_symbol or "–"})
        return None
    return series, agency.symbol, number, f"{number:02d}/{series}-{agency.symbol}"


def _header_map(columns: list[str], errors: _Errors) -> tuple[dict[str, str], list[str]]:
    """Header as written → column key; the headers ignored. Missing required columns and repeated ones are errors
    of row 1."""
    mapping, ignored, seen = {}, [], {}
    for title in columns:
        folded = _folded(title)
        if not folded or folded in _IGNORED:
            continue
        key = _HEADERS.get(folded)
        if key is None:
            ignored.append(title)
            continue
        if key in seen:
            errors.add(1, key, "column_repeated",
                       _("The column “%(header)s” appears twice.") % {"header": title})
            continue
        seen[key] = title
        mapping[title] = key
    errors.headers.update(seen)
    for column in COLUMNS:
        if column.required and column.key not in seen:
            errors.add(1, column.key, "column_missing",
                       _("The column “%(header)s” is missing.") % {"header": column.header})
    return mapping, ignored


# --- The import ---------------------------------------------------------------------------------------------------


def register_import(*, rows: Iterable[RegisterRow | Mapping[str, Any]], actor, agency, dry_run: bool,
                    source: str = "", sha256: str = "", columns: list[str] | None = None) -> ImportReport:
    """Import (or with `dry_run` check) a past register of `agency` (an Agency or its code): see the module's
    docstring. `rows` are a file's rows (register_read) or mappings of header → value (numbered from row 2).
    Returns the report; nothing is written unless every row is right. Raises NotAllowed (not the head or an
    administrator), ValidationFailed (an agency the actor may not import for), Conflict (the stored data changed
    between the checks and the writing: run it again)."""
    if not (PAST_ENTRY_ROLES & r.user_roles(actor)):
        raise NotAllowed(_("Only the department head or an administrator may import a register."))
    agency = _agency_resolve(agency, actor)
    rows = [row if isinstance(row, RegisterRow) else RegisterRow(number=index, values=dict(row))
            for index, row in enumerate(rows, start=2)]
    if len(rows) > REGISTER_MAX_ROWS:
        _refuse(_("The register has more than %(max)s rows: split it into several files.")
                % {"max": f"{REGISTER_MAX_ROWS:,}".replace(",", ".")}, max_rows=REGISTER_MAX_ROWS)
    if columns is None:
        columns = list(dict.fromkeys(title for row in rows for title in row.values))
    report = ImportReport(source=source, sha256=sha256, agency=agency.code, dry_run=dry_run, rows=len(rows))
    errors = _Errors({})
    mapping, report.columns_ignored = _header_map(columns, errors)
    if errors.items:
        report.errors = errors.items
        return report
    now = timezone.now()
    catalogue = _Catalogue(agency)
    checked: list[_Row] = []
    for row in rows:
        cells = {mapping[title]: value for title, value in row.values.items() if title in mapping}
        found = _row_check(row, cells, agency=agency, catalogue=catalogue, now=now, errors=errors)
        if found is not None:
            checked.append(found)
    to_import, closed_rows = _rows_across_check(checked, agency=agency, errors=errors, report=report)
    order = {key: index for index, key in enumerate(COLUMN_BY_KEY)}
    report.errors = sorted(errors.items, key=lambda error: (error["row"], order.get(error["field"], 99)))
    _report_plan(report, to_import, agency=agency, closed_rows=closed_rows)
    if report.errors or dry_run or not to_import:
        return report
    cases = _write(to_import, agency=agency, actor=actor, source=source, sha256=sha256)
    report.imported = len(cases)
    report.cases = [{"row": row.number, "case": case.pk, "reference": case.reference, "procedure": row.case_type.code,
                     "outcome": row.outcome, "number": row.number_text}
                    for row, case in zip(to_import, cases, strict=True)]
    return report


def _rows_across_check(checked: list[_Row], *, agency: Agency, errors: _Errors,
                       report: ImportReport) -> tuple[list[_Row], list[_Row]]:
    """The checks between rows and against what is stored: a row imported before (skipped, or an error if its
    data changed), a key or a number twice in the file, a number the agency already used, a closed quarter. Returns
    the rows to import, and the rows refused for a closed quarter."""
    first_key: dict[str, int] = {}
    first_number: dict[tuple[str, int, int], int] = {}
    for row in checked:
        if row.key in first_key:
            errors.add(row.number, "number" if row.doc_number else "received_at", "row_repeated",
                       _("The same dossier as row %(row)d.") % {"row": first_key[row.key]})
            row.key = ""
            continue
        first_key[row.key] = row.number
        if row.doc_number is not None:
            slot = (row.series, row.year, row.doc_number)
            if slot in first_number:
                errors.add(row.number, "number", "number_repeated",
                           _("The number %(number)s is already used by row %(row)d.")
                           % {"number": row.number_text, "row": first_number[slot]})
                row.key = ""
                continue
            first_number[slot] = row.number
    checked = [row for row in checked if row.key]
    existing = {}
    uuids = [row.uuid for row in checked]
    for start in range(0, len(uuids), 5000):
        for case in Case.objects.filter(uuid__in=uuids[start:start + 5000]).only(
                "pk", "uuid", "reference", "agency_id", "received_at", "outcome", "decided_at", "closed_at"):
            existing[case.uuid] = case
    fresh = []
    for row in checked:
        case = existing.get(row.uuid)
        if case is None:
            fresh.append(row)
        elif (case.received_at, case.outcome, case.decided_at, case.closed_at) == (
                row.received_at, row.outcome, row.case_decided_at, row.finished_at):
            report.skipped.append({"row": row.number, "case": case.pk, "reference": case.reference})
        else:
            errors.add(row.number, "received_at", "imported_differently",
                       _("This dossier was imported before as %(reference)s with other dates or another outcome; "
                         "correct that case instead.") % {"reference": case.reference})
    taken = _numbers_taken(agency, [row for row in fresh if row.doc_number is not None])
    for row in fresh:
        if row.number_text and (row.year, row.number_text) in taken:
            errors.add(row.number, "number", "number_taken",
                       _("%(agency)s already has a document numbered %(number)s in %(year)s.")
                       % {"agency": str(agency), "number": row.number_text, "year": row.year})
    closed = quarters_closed(agency_id=agency.pk, quarters={q for row in fresh for q in row.quarters})
    closed_rows = []
    for row in fresh:
        hit = next((q for q in row.quarters if q in closed), None)
        if hit is not None:
            closed_rows.append(row)
            key = "received_at" if quarter_of(row.received_at) == hit else \
                "issued_at" if row.outcome == Outcome.GRANTED else "decided_at"
            errors.add(row.number, key, "quarter_closed",
                       _("The figures of %(quarter)s are closed (frozen on %(day)s and reported): a dossier that "
                         "counts in that quarter cannot be added to them.")
                       % {"quarter": _quarter_label(hit), "day": timezone.localtime(closed[hit]).strftime("%d/%m/%Y")})
    refused_rows = {error["row"] for error in errors.items}
    return [row for row in fresh if row.number not in refused_rows], closed_rows


def _numbers_taken(agency: Agency, rows: list[_Row]) -> set[tuple[int, str]]:
    """(year, number text) of the agency's stored documents among the numbers of `rows`."""
    taken = set()
    texts = sorted({row.number_text for row in rows})
    years = sorted({row.year for row in rows})
    for start in range(0, len(texts), 5000):
        taken |= set(IssuedDocument.objects.filter(issuer=agency, year__in=years,
                                                   number_text__in=texts[start:start + 5000])
                     .values_list("year", "number_text"))
    return taken


def _quarter_label(quarter: str) -> str:
    year, number = quarter.split("-Q")
    return _("Q%(number)s/%(year)s") % {"number": number, "year": year}


def _report_plan(report: ImportReport, rows: list[_Row], *, agency: Agency, closed_rows: list[_Row]) -> None:
    """What the import does (or would do): per procedure and outcome, the quarters and the number counters."""
    counts = Counter((row.case_type.code, row.outcome) for row in rows)
    report.summary = [{"procedure": code, "outcome": outcome, "count": count}
                      for (code, outcome), count in sorted(counts.items())]
    if report.dry_run or report.errors:
        report.cases = [{"row": row.number, "case": None, "reference": None, "procedure": row.case_type.code,
                         "outcome": row.outcome, "number": row.number_text} for row in rows]
    current = quarter_of(timezone.now())
    per_quarter = Counter(q for row in rows for q in row.quarters)
    touched = set(per_quarter) | {q for row in closed_rows for q in row.quarters}
    closed = quarters_closed(agency_id=agency.pk, quarters=touched)
    for quarter in sorted(touched):
        if quarter in closed:
            status, note = "closed", _("Closed: its figures were frozen on %(day)s and are reported as they stand; "
                                       "rows counting in it are refused.") % {
                "day": timezone.localtime(closed[quarter]).strftime("%d/%m/%Y")}
        elif quarter == current:
            status, note = "current", _("The quarter under way: its figures are refreshed after the import.")
        else:
            status, note = "ended", _("Ended, not yet closed: its figures are rebuilt after the import and frozen "
                                      "with the imported dossiers at the next nightly check.")
        report.quarters.append({"quarter": quarter, "label": _quarter_label(quarter), "status": status,
                                "rows": per_quarter.get(quarter, 0), "note": str(note)})
    numbered = defaultdict(list)
    for row in rows:
        if row.doc_number is not None:
            numbered[(row.series, row.symbol, row.year)].append(row.doc_number)
    counters = {(s.key, s.year): s.last_value for s in Sequence.objects.filter(
        key__in={number_counter_key(agency, series) for series, _symbol, _year in numbered},
        year__in={year for _series, _symbol, year in numbered})}
    for (series, symbol, year), numbers in sorted(numbered.items()):
        before = counters.get((number_counter_key(agency, series), year), 0)
        highest = max(numbers)
        stored = set(IssuedDocument.objects.filter(issuer=agency, series=series, year=year, number__lte=highest)
                     .values_list("number", flat=True))
        missing = [n for n in range(1, highest + 1) if n not in stored and n not in set(numbers)]
        report.numbers.append({
            "series": series, "symbol": symbol, "year": year, "imported": len(numbers), "highest": highest,
            "counter_before": before, "counter_after": max(before, highest),
            "next_number": f"{max(before, highest) + 1:02d}/" + (symbol if series == LETTER_SERIES
                                                                  else f"{series}-{symbol}"),
            "missing": missing[:50], "missing_count": len(missing)})
    if any(entry["missing_count"] for entry in report.numbers):
        report.notes.append(str(_("Some numbers below the highest imported are neither in the file nor stored "
                                  "(“missing”): they stay unused; the next number follows the highest.")))
    if report.columns_ignored:
        report.notes.append(str(_("Columns not read: %(columns)s.") % {"columns": ", ".join(report.columns_ignored)}))
    if rows:
        report.notes.append(str(_("Imported results have no file: the original documents are kept on paper.")))


def _write(rows: list[_Row], *, agency: Agency, actor, source: str, sha256: str) -> list[Case]:
    try:
        with transaction.atomic():
            # The agency's number counters first, in one order: the service's own issues of these series wait until
            # the import is committed, and then number after it.
            counters = {}
            for key, year in sorted({(number_counter_key(agency, row.series), row.year) for row in rows
                                     if row.doc_number is not None}):
                Sequence.objects.get_or_create(key=key, year=year)
                counters[(key, year)] = Sequence.objects.select_for_update().get(key=key, year=year)
            if _numbers_taken(agency, [row for row in rows if row.doc_number is not None]) or quarters_closed(
                    agency_id=agency.pk, quarters={q for row in rows for q in row.quarters}):
                raise _StoredChanged
            holders = _organisations(rows, agency=agency)
            facilities = _facilities(rows, agency=agency, holders=holders)
            entries = [PastCase(
                uuid=row.uuid, case_type=row.case_type, terms=row.terms, subject_name=holders[id(row)].name,
                subject_address=holders[id(row)].address, contact_email=holders[id(row)].email,
                contact_phone=holders[id(row)].phone, summary=row.summary, received_at=row.received_at,
                due_at=row.due_at, outcome=row.outcome, finished_at=row.finished_at,
                decided_at=row.case_decided_at,
                outcome_reasons=row.reasons or ("Rút hồ sơ theo đề nghị của tổ chức."
                                                if row.outcome == Outcome.WITHDRAWN else ""),
                result_number=row.number_text,
                source={"file": source, "sha256": sha256, "row": row.number}) for row in rows]
            cases = cases_past_enter(actor=actor, agency=agency, entries=entries)
            dossiers, documents = [], []
            for row, case in zip(rows, cases, strict=True):
                dossiers.append(Dossier(case=case, organisation=holders[id(row)],
                                        print_facility=facilities.get(id(row)), fields={}, complete=None))
                if row.doc_number is not None:
                    kind = IssuedDocument.Kind.REFUSAL if row.series == LETTER_SERIES else \
                        IssuedDocument.Kind.PERMIT if row.series == "GP" else IssuedDocument.Kind.APPROVAL
                    documents.append(IssuedDocument(
                        case=case, issuer=agency, kind=kind, series=row.series, year=row.year, number=row.doc_number,
                        number_text=row.number_text, issued_at=row.issued_at, signer_name=row.signer, file="",
                        sha256=""))
            _clean_all(dossiers + documents)
            Dossier.objects.bulk_create(dossiers, batch_size=1000)
            IssuedDocument.objects.bulk_create(documents, batch_size=1000)
            by_case = {document.case_id: document for document in documents}
            permits = [Permit(case=case, document=by_case[case.pk], number_text=row.number_text,
                              procedure=row.case_type.code, result_unit=row.series, holder=holders[id(row)],
                              print_facility=facilities.get(id(row)), title=row.summary, issued_at=row.issued_at,
                              valid_until=row.valid_until)
                       for row, case in zip(rows, cases, strict=True) if row.outcome == Outcome.GRANTED]
            _clean_all(permits)
            Permit.objects.bulk_create(permits, batch_size=1000)
            highest = defaultdict(int)
            for row in rows:
                if row.doc_number is not None:
                    slot = (number_counter_key(agency, row.series), row.year)
                    highest[slot] = max(highest[slot], row.doc_number)
            for slot, counter in counters.items():
                if highest[slot] > counter.last_value:
                    counter.last_value = highest[slot]
                    counter.save(update_fields=["last_value"])
    except (IntegrityError, _StoredChanged):
        raise Conflict(_("Something this register holds was stored meanwhile (a number, a closed quarter, or the "
                         "same register imported at the same time). Nothing was imported: run it again to see "
                         "which rows are concerned.")) from None
    return cases


class _StoredChanged(Exception):
    pass


def _clean_all(instances) -> None:
    for instance in instances:
        instance_text_clean(type(instance), instance)  # bulk_create sends no pre_save


def _organisations(rows: list[_Row], *, agency: Agency) -> dict[int, Organisation]:
    """The applicant of each row in the agency's registry: by tax code, else by name and address; added when new
    (an entry already there is kept as it is: it may be newer than the register)."""
    codes = {row.applicant["tax_code"] for row in rows if row.applicant["tax_code"]}
    by_code = {o.tax_code: o for o in Organisation.objects.filter(agency=agency, tax_code__in=codes)} if codes else {}
    names = {row.applicant["name"] for row in rows if not row.applicant["tax_code"]}
    by_name = {(o.name, o.address): o for o in Organisation.objects.filter(agency=agency, tax_code="",
                                                                           name__in=names)} if names else {}
    new = {}
    for row in rows:
        applicant = row.applicant
        slot = ("code", applicant["tax_code"]) if applicant["tax_code"] else ("name", applicant["name"],
                                                                                applicant["address"])
        known = by_code.get(applicant["tax_code"]) if applicant["tax_code"] else \
            by_name.get((applicant["name"], applicant["address"]))
        if known is None and slot not in new:
            new[slot] = Organisation(agency=agency, name=applicant["name"], tax_code=applicant["tax_code"],
                                     address=applicant["address"], phone=applicant["phone"],
                                     email=applicant["email"])
    _clean_all(new.values())
    Organisation.objects.bulk_create(list(new.values()), batch_size=1000)
    holders = {}
    for row in rows:
        applicant = row.applicant
        if applicant["tax_code"]:
            holders[id(row)] = by_code.get(applicant["tax_code"]) or new[("code", applicant["tax_code"])]
        else:
            holders[id(row)] = by_name.get((applicant["name"], applicant["address"])) or \
                new[("name", applicant["name"], applicant["address"])]
    return holders


def _facilities(rows: list[_Row], *, agency: Agency, holders: dict[int, Organisation]) -> dict[int, PrintFacility]:
    """The print facility of each granted printing licence or registration, found by name and address in the
    agency's registry or added to it."""
    wanted = [row for row in rows if row.facility]
    if not wanted:
        return {}
    names = {row.facility[0] for row in wanted}
    known = {(f.name, f.address): f for f in PrintFacility.objects.filter(agency=agency, name__in=names)}
    new = {}
    for row in wanted:
        if row.facility not in known and row.facility not in new:
            new[row.facility] = PrintFacility(agency=agency, name=row.facility[0], address=row.facility[1],
                                              organisation=holders[id(row)])
    _clean_all(new.values())
    PrintFacility.objects.bulk_create(list(new.values()), batch_size=1000)
    return {id(row): known.get(row.facility) or new[row.facility] for row in wanted}


__all__ = ["COLUMNS", "ImportReport", "RegisterFile", "RegisterRow", "register_import", "register_read",
           "register_read_upload"]
