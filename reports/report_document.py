"""A periodic report as a .docx file in the layout of Nghị định 30/2020/NĐ-CP, built with the official documents'
building blocks (licensing/documents.py: page setup, header block with Số and the date line, title and rule,
signature block with Nơi nhận), from the plain content of reports/report_content.py alone. Same content, same bytes:
the core properties and the zip members are dated with the issue date (a draft: its period's last day), never
"now"."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.shared import Cm

# The official layout's building blocks (one place for the decree's layout; not duplicated here).
from licensing.documents import (
    FIRST_LINE_INDENT,
    LANGUAGE,
    TEXT_WIDTH,
    TITLE_RULE,
    VN_TZ,
    _clean,
    _header,
    _paragraph,
    _repack,
    _rule,
    _setup,
    _signature,
    _verification,
)

from .periods import Period

PROCEDURE_WIDTHS = (1.2, 10.3, 2.0, 2.5)
INDICATOR_WIDTHS = (1.0, 6.4, 1.8, 2.4, 2.2, 2.2)
TABLE_TEXT = 13


@dataclass(frozen=True)
class _Sheet:
    """What the header and signature blocks read of a document (OfficialDocument's fields they use)."""

    number_text: str
    issued_at: datetime
    title: str
    summary: str
    place: str
    signer_title: str
    signer_name: str
    recipients_block: list[str] = field(default_factory=list)
    verification_code: str = ""
    verification_url: str = ""


def _verification_fields(content: dict) -> dict:
    printed = content.get("verification")
    return {"verification_code": printed["code"], "verification_url": printed["url"]} if printed else {}


def _moment(content: dict) -> datetime:
    if content.get("issued_at"):
        return datetime.fromisoformat(content["issued_at"])
    return datetime.combine(Period.parse(content["period"]).last_day, time(8, 0), tzinfo=VN_TZ)


def _heading(document, text: str):
    return _paragraph(document, text, size=14, bold=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=6,
                      first_line=FIRST_LINE_INDENT, keep_with_next=True)


def _body(document, text: str):
    return _paragraph(document, text, size=14, align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=6,
                      first_line=FIRST_LINE_INDENT)


def _cell(cell, lines, *, bold=False, align=WD_ALIGN_PARAGRAPH.CENTER):
    for paragraph in list(cell.paragraphs):
        paragraph._p.getparent().remove(paragraph._p)
    for line in (lines if isinstance(lines, list) else [lines]) or [""]:
        _paragraph(cell, str(line), size=TABLE_TEXT, bold=bold, align=align, before=2, after=2)


def _grid(document, columns: list[str], rows: list[list], widths: tuple[float, ...], *, left_columns=(1,)):
    table = document.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for cell, text in zip(table.rows[0].cells, columns, strict=True):
        _cell(cell, text, bold=True)
    for row in rows:
        cells = table.add_row().cells
        for index, (cell, value) in enumerate(zip(cells, row, strict=True)):
            _cell(cell, value, align=WD_ALIGN_PARAGRAPH.LEFT if index in left_columns else WD_ALIGN_PARAGRAPH.CENTER)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)
    return table


def report_docx(content: dict) -> bytes:
    """The report's .docx bytes, from its content (reports/report_content.py)."""
    import io

    moment = _moment(content)
    agency = content["agency"]
    sheet = _Sheet(number_text=content["number_text"], issued_at=moment, title=content["title"],
                   summary=content["summary"], place=agency["place"], signer_title=content["signer"]["title"],
                   signer_name=content["signer"]["name"], recipients_block=list(content["recipients"]),
                   **_verification_fields(content))

    document = Document()
    _setup(document)
    relationships = document.part.package.rels
    for key, relationship in list(relationships.items()):
        if relationship.reltype == RT.THUMBNAIL:
            relationships.pop(key)
    _header(document, sheet, agency["name"].upper(), agency["parent"])
    # The date line as the content has it (a draft leaves the day blank).
    date_paragraph = document.tables[0].rows[0].cells[1].paragraphs[-1]
    for run in date_paragraph.runs[1:]:
        run._r.getparent().remove(run._r)
    date_paragraph.runs[0].text = _clean(content["date_line"])

    _paragraph(document, content["title"], size=14, bold=True, before=18, keep_with_next=True)
    _paragraph(document, content["summary"], size=14, bold=True, keep_with_next=True)
    _rule(document, TITLE_RULE, TEXT_WIDTH)

    _heading(document, content["part_one"])
    for part in content["sections"]:
        _heading(document, part["heading"])
        for text in part["paragraphs"]:
            _body(document, text)
    _heading(document, content["procedures"]["heading"])
    _grid(document, content["procedures"]["columns"], content["procedures"]["rows"], PROCEDURE_WIDTHS)

    indicators = content["indicators"]
    _heading(document, indicators["heading"])
    _grid(document, indicators["columns"],
          [[row["tt"], row["name"], row["unit"], row["value"], row["change"], row["note"]] for row in indicators["rows"]],
          INDICATOR_WIDTHS, left_columns=(1, 5))

    _heading(document, content["tasks"]["heading"])
    for text in content["tasks"]["paragraphs"]:
        _body(document, text)

    _paragraph(document, "", size=14, after=6)
    _signature(document, sheet)
    if sheet.verification_code:
        _verification(document, sheet)  # the QR code and the code in the first page's footer

    properties = document.core_properties
    stamp = moment.astimezone(UTC).replace(tzinfo=None)
    properties.title = _clean(f"{content['title']} {content['summary']}")
    properties.subject = _clean(content["summary"])
    properties.author = _clean(agency["name"].upper())
    properties.last_modified_by = _clean(agency["name"].upper())
    properties.category = "báo cáo"
    properties.keywords = _clean(content["number_text"].strip())
    properties.identifier = _clean(content["number_text"].strip())
    properties.comments = ""
    properties.language = LANGUAGE
    properties.revision = 1
    properties.created = stamp
    properties.modified = stamp
    buffer = io.BytesIO()
    document.save(buffer)
    return _repack(buffer.getvalue(), moment)

