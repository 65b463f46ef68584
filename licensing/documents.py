"""Official documents (văn bản hành chính) as .docx files, laid out as Nghị định 30/2020/NĐ-CP prescribes.

The module takes plain data (an :class:`OfficialDocument`) and returns the bytes of a .docx file; it knows
nothing of the licensing models. The issuing agency's parent authority, name and place come with the document
(``agency_parent``, ``agency_name``, ``place``: the agency as of the document's date, from the agencies' data),
never from code or settings: since 2025 the province is merged into Hưng Yên and press/publishing moved to
another department, and a 2019 document still prints Thái Bình's Sở TTTT.

Layout (Nghị định 30/2020/NĐ-CP, Phụ lục I):

* A4 portrait, margins 2 cm top and bottom, 3 cm left, 2 cm right; Times New Roman; text 14 pt, paragraphs
  justified, first line indented 1.27 cm, 6 pt between paragraphs, single line spacing; page numbers from page 2,
  centred in the page header.
* A borderless two-column header table. Left: the parent authority (12 pt), the agency (12 pt bold) with a short
  rule under it, then ``Số: 15/GP-STTTT`` (13 pt; left out when the document has no number) and, for a letter
  without a title, its ``V/v`` summary (12 pt). Right: ``CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM`` (12 pt bold),
  ``Độc lập - Tự do - Hạnh phúc`` (13 pt bold) with a rule as long as itself, then the date line (14 pt italic).
* The title (14 pt bold, upper case, centred), the summary (trích yếu, 14 pt bold, centred) and a short rule.
* For a permit, the authority heading ``GIÁM ĐỐC <agency_name>`` (14 pt bold, centred) comes next, before the
  legal bases, where Nghị định 30 puts the issuing authority (thẩm quyền ban hành).
* The legal bases (``Căn cứ ...;``, italic), the recipient (``CHO PHÉP: ...`` on a permit, ``Kính gửi: ...``
  otherwise), the body lines (``Label: value``), the closing paragraphs.
* The signature block: a borderless two-column table; left ``Nơi nhận:`` (12 pt bold italic) and its lines
  (11 pt); right the signer's title (14 pt bold, one line per ``\\n``), four blank lines for the signature and
  seal, then the signer's name (14 pt bold).

Rendering the same document twice gives the same bytes: the core properties come from the document (title,
author = agency, created/modified = ``issued_at``) and the zip members carry the issue date as their timestamp.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

__all__ = ["KINDS", "OfficialDocument", "citation", "date_line", "date_text", "document_render"]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FONT = "Times New Roman"
LANGUAGE = "vi-VN"

PERMIT, APPROVAL, REFUSAL, APOLOGY = "permit", "approval", "refusal", "apology"
# The one-stop shop's slips (licensing/slips.py), after the forms of Thông tư 01/2018/TT-VPCP.
RECEIPT, SUPPLEMENT_SLIP, REFUSAL_TO_RECEIVE = "receipt", "supplement_slip", "refusal_to_receive"
KINDS = {
    PERMIT: "giấy phép",
    APPROVAL: "văn bản chấp thuận",
    REFUSAL: "văn bản từ chối",
    APOLOGY: "phiếu xin lỗi và hẹn lại ngày trả kết quả",
    RECEIPT: "giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    SUPPLEMENT_SLIP: "phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    REFUSAL_TO_RECEIVE: "phiếu từ chối tiếp nhận giải quyết hồ sơ",
}

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
SUB_MOTTO = "Độc lập - Tự do - Hạnh phúc"

# Page (A4) and text area, in cm.
PAGE_WIDTH, PAGE_HEIGHT = 21.0, 29.7
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 2.0, 2.0, 3.0, 2.0
TEXT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT  # 16 cm
FIRST_LINE_INDENT = 1.27

# The header table reaches 0.7 cm into the left margin so that "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" (12 pt bold, 7.28 cm
# with Times New Roman's widths) and the motto (12 pt bold, 8.75 cm) each stay on one line, as official documents
# print them, in Word and in LibreOffice's PDF alike (each cell keeps 0.1 cm of padding on both sides).
HEADER_INDENT = -0.7
HEADER_WIDTHS = (7.7, 9.2)
SIGNATURE_WIDTHS = (7.0, 9.0)
CELL_PADDING = 0.1
SUB_MOTTO_RULE = 5.3  # the length of "Độc lập - Tự do - Hạnh phúc" at 13 pt bold
AGENCY_RULE = 2.5  # a third to a half of the agency's name
TITLE_RULE = 3.5
SIGNATURE_BLANK_LINES = 4

# Characters XML 1.0 cannot hold (pasted from other programs into dossier fields); tab and newline are kept.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class OfficialDocument:
    """One official document, as plain data.

    kind: one of :data:`KINDS` ("permit", "approval", "refusal", "apology").
    number_text: "15/GP-STTTT"; "" for an unnumbered apology slip (the "Số:" line is then left out).
    issued_at: an aware datetime; the date line shows its Asia/Ho_Chi_Minh date.
    title: "GIẤY PHÉP XUẤT BẢN BẢN TIN" (rendered upper case); "" for a plain letter (công văn), whose summary
        then goes under the number as its "V/v" line.
    body: (label, value) lines, rendered "label: value"; an empty label gives a plain paragraph.
    agency_parent, agency_name, place: the issuing agency as of issued_at ("UBND TỈNH THÁI BÌNH",
        "Sở Thông tin và Truyền thông", "Thái Bình"); the name prints upper case in the header.
    Any text may hold "\\n" for a line break inside its paragraph.
    """

    kind: str
    number_text: str
    issued_at: datetime
    title: str
    summary: str
    legal_bases: list[str]
    recipient: str
    body: list[tuple[str, str]]
    closing: list[str] = field(default_factory=list)
    signer_title: str = "GIÁM ĐỐC"
    signer_name: str = ""
    recipients_block: list[str] = field(default_factory=list)
    agency_parent: str = ""
    agency_name: str = ""
    place: str = ""
    # The public verification code ("7K3Q-9XME-2B") and page of the electronic copy (documents/): printed with its QR
    # code in the first page's footer; "" for none.
    verification_code: str = ""
    verification_url: str = ""
    # A second signature on the left, instead of "Nơi nhận" (a slip both the applicant and the officer sign:
    # "NGƯỜI NỘP HỒ SƠ\n(Ký và ghi rõ họ tên)"); its name, if known, under it.
    countersigner_title: str = ""
    countersigner_name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown document kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if not isinstance(self.issued_at, datetime) or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be an aware datetime")


# --- Dates -------------------------------------------------------------------------------------------------


def _local_date(moment: datetime | date) -> date:
    """The Asia/Ho_Chi_Minh calendar date of an aware datetime; a plain date is taken as already local."""
    if isinstance(moment, datetime):
        if moment.utcoffset() is None:
            raise ValueError("a naive datetime has no local date; pass an aware datetime")
        return moment.astimezone(VN_TZ).date()
    if isinstance(moment, date):
        return moment
    raise TypeError(f"expected a datetime or date, got {type(moment).__name__}")


def date_text(moment: datetime | date) -> str:
    """ "ngày 05 tháng 01 năm 2020": the day with two digits, the month with two digits only for January and
    February (Nghị định 30/2020/NĐ-CP), the local date in Asia/Ho_Chi_Minh."""
    day = _local_date(moment)
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def date_line(moment: datetime, province: str | None = None) -> str:
    """ "Thái Bình, ngày 05 tháng 01 năm 2020": the place is the issuing agency's (``province``); without one
    the line is the date alone. ``moment`` is an aware datetime (a plain date is taken as the local date)."""
    place = province or ""
    text = date_text(moment)
    return f"{place}, {text}" if place else text[0].upper() + text[1:]


def citation(*, kind: str, number: str, issued_on: date, issuer: str, title: str) -> str:
    """A legal instrument cited in full, as Vietnamese official documents cite it:
    "Luật Báo chí số 103/2016/QH13 ngày 05 tháng 4 năm 2016",
    "Nghị định số 60/2014/NĐ-CP ngày 19 tháng 6 năm 2014 của Chính phủ quy định về hoạt động in"."""
    if kind == "Luật":
        return f"Luật {title} số {number} {date_text(issued_on)}"
    return f"{kind} số {number} {date_text(issued_on)} của {issuer} {title}".strip()


# --- Low-level formatting ----------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", str(text))


def _set_fonts(rpr) -> None:
    """Times New Roman for every script slot, with no theme font that would override it."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)


def _add_run(paragraph, text: str, size: float, bold: bool = False, italic: bool = False):
    """Add ``text`` as runs of one format; "\\n" becomes a line break."""
    run = paragraph.add_run()
    run.font.name = FONT
    _set_fonts(run._r.get_or_add_rPr())
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    for index, line in enumerate(_clean(text).split("\n")):
        if index:
            run.add_break()
        if line:
            run.add_text(line)
    return run


def _format(paragraph, align=WD_ALIGN_PARAGRAPH.CENTER, before: float = 0, after: float = 0,
            first_line: float | None = None, left: float | None = None, right: float | None = None,
            keep_with_next: bool = False) -> None:
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    if first_line is not None:
        fmt.first_line_indent = Cm(first_line)
    if left is not None:
        fmt.left_indent = Cm(left)
    if right is not None:
        fmt.right_indent = Cm(right)
    if keep_with_next:
        fmt.keep_with_next = True


def _paragraph(container, text: str = "", size: float = 14, bold: bool = False, italic: bool = False,
               **layout):
    """A paragraph in ``container`` (the document body or a table cell) holding ``text`` in one format."""
    paragraph = container.add_paragraph()
    _format(paragraph, **layout)
    if text:
        _add_run(paragraph, text, size, bold=bold, italic=italic)
    else:
        _mark_size(paragraph, size)
    return paragraph


def _mark_size(paragraph, size: float) -> None:
    """Size (and font) of the paragraph mark, which sets the height of an empty paragraph."""
    ppr = paragraph._p.get_or_add_pPr()
    rpr = ppr.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")  # the last child of w:pPr here (w:sectPr only ends a section)
        ppr.append(rpr)
    _set_fonts(rpr)
    for tag in ("w:sz", "w:szCs"):
        element = OxmlElement(tag)
        element.set(qn("w:val"), str(round(size * 2)))
        rpr.append(element)


# The children of w:pPr that come after w:pBdr, in schema order.
_PPR_AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection",
    "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
    "w:pPrChange",
)


def _rule(container, length: float, available: float) -> None:
    """A centred horizontal rule ``length`` cm long in a column ``available`` cm wide: an empty paragraph
    2 pt high whose top border is indented from both sides."""
    side = max((available - length) / 2, 0)
    paragraph = container.add_paragraph()
    _format(paragraph, before=1, left=side, right=side)
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(2)
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(key), value)
    borders.append(top)
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *_PPR_AFTER_PBDR)
    _mark_size(paragraph, 2)


# The children of w:tblPr in schema order.
_TBLPR_ORDER = (
    "w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize", "w:tblStyleColBandSize",
    "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders", "w:shd", "w:tblLayout", "w:tblCellMar",
    "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange",
)


def _tblpr_put(tblpr, element) -> None:
    """Put ``element`` into w:tblPr at its schema position, replacing one of the same tag."""
    tag = element.tag
    for old in tblpr.findall(tag):
        tblpr.remove(old)
    tblpr.insert_element_before(element, *_TBLPR_ORDER[_TBLPR_ORDER.index(_prefixed(tag)) + 1 :])


def _prefixed(clark_tag: str) -> str:
    return "w:" + clark_tag.split("}", 1)[1]


def _twips(cm: float) -> str:
    return str(round(cm / 2.54 * 1440))


def _borderless_table(document, widths: tuple[float, ...], indent: float = 0.0):
    """One row, fixed column widths (cm), no borders, small cell padding; in the body, a header or a footer."""
    try:
        table = document.add_table(rows=1, cols=len(widths))
    except TypeError:  # a header or footer wants the table's width
        table = document.add_table(rows=1, cols=len(widths), width=Cm(sum(widths)))
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False  # w:tblLayout fixed
    tblpr = table._tbl.tblPr

    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), _twips(sum(widths)))
    width.set(qn("w:type"), "dxa")
    _tblpr_put(tblpr, width)

    ind = OxmlElement("w:tblInd")
    ind.set(qn("w:w"), _twips(indent))
    ind.set(qn("w:type"), "dxa")
    _tblpr_put(tblpr, ind)

    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "nil")
        borders.append(edge)
    _tblpr_put(tblpr, borders)

    margins = OxmlElement("w:tblCellMar")
    for side, cm in (("top", 0), ("left", CELL_PADDING), ("bottom", 0), ("right", CELL_PADDING)):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), _twips(cm))
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    _tblpr_put(tblpr, margins)

    for column, cm in zip(table.columns, widths, strict=True):
        column.width = Cm(cm)
    for cell, cm in zip(table.rows[0].cells, widths, strict=True):
        cell.width = Cm(cm)
        # A new cell holds one empty paragraph; content is added after it, so drop it first.
        for paragraph in list(cell.paragraphs):
            paragraph._p.getparent().remove(paragraph._p)
    return table


def _page_number_field(paragraph, size: float) -> None:
    """A PAGE field, Times New Roman."""
    simple = OxmlElement("w:fldSimple")
    simple.set(qn("w:instr"), " PAGE ")
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    _set_fonts(rpr)
    for tag in ("w:sz", "w:szCs"):
        element = OxmlElement(tag)
        element.set(qn("w:val"), str(round(size * 2)))
        rpr.append(element)
    run.append(rpr)
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    simple.append(run)
    paragraph._p.append(simple)


# --- The document ------------------------------------------------------------------------------------------


def _setup(document) -> None:
    """Styles (Times New Roman 14 pt, Vietnamese, single spacing) and an A4 page with the decree's margins."""
    styles_element = document.styles.element
    defaults = styles_element.find(qn("w:docDefaults"))
    run_defaults = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(run_defaults)
    for tag, value in (("w:sz", "28"), ("w:szCs", "28")):
        run_defaults.find(qn(tag)).set(qn("w:val"), value)
    lang = run_defaults.find(qn("w:lang"))
    lang.set(qn("w:val"), LANGUAGE)
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")
    spacing.set(qn("w:lineRule"), "auto")

    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    _set_fonts(normal.element.get_or_add_rPr())

    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = Cm(PAGE_WIDTH)
    section.page_height = Cm(PAGE_HEIGHT)
    section.top_margin = Cm(MARGIN_TOP)
    section.bottom_margin = Cm(MARGIN_BOTTOM)
    section.left_margin = Cm(MARGIN_LEFT)
    section.right_margin = Cm(MARGIN_RIGHT)
    section.header_distance = Cm(1.0)
    section.footer_distance = Cm(1.0)
    section.gutter = Cm(0)

    # Page numbers from the second page on, centred at the top (Nghị định 30/2020/NĐ-CP).
    section.different_first_page_header_footer = True
    first = section.first_page_header
    first.is_linked_to_previous = False
    _format(first.paragraphs[0])
    _mark_size(first.paragraphs[0], 13)
    header = section.header
    header.is_linked_to_previous = False
    _format(header.paragraphs[0])
    _page_number_field(header.paragraphs[0], 13)


def _header(document, doc: OfficialDocument, agency: str, parent: str) -> None:
    left_width, right_width = HEADER_WIDTHS
    table = _borderless_table(document, HEADER_WIDTHS, indent=HEADER_INDENT)
    left, right = table.rows[0].cells
    left_inner = left_width - 2 * CELL_PADDING
    right_inner = right_width - 2 * CELL_PADDING

    if parent:
        _paragraph(left, parent, size=12)
    _paragraph(left, agency, size=12, bold=True)
    _rule(left, AGENCY_RULE, left_inner)
    if doc.number_text:
        _paragraph(left, f"Số: {doc.number_text}", size=13, before=4)
    if not doc.title and doc.summary:
        summary = doc.summary if doc.summary.startswith("V/v") else f"V/v {doc.summary}"
        _paragraph(left, summary, size=12, before=4)

    _paragraph(right, MOTTO, size=12, bold=True)
    _paragraph(right, SUB_MOTTO, size=13, bold=True)
    _rule(right, SUB_MOTTO_RULE, right_inner)
    _paragraph(right, date_line(doc.issued_at, doc.place), size=14, italic=True, before=4 if doc.number_text else 10)


def _signature(document, doc: OfficialDocument) -> None:
    table = _borderless_table(document, SIGNATURE_WIDTHS)
    left, right = table.rows[0].cells

    countersigner = getattr(doc, "countersigner_title", "")  # reports' sheets (report_document._Sheet) have none
    if countersigner:
        _signer(left, countersigner, doc.countersigner_name)
    elif doc.recipients_block:
        _paragraph(left, "Nơi nhận:", size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
        for line in doc.recipients_block:
            _paragraph(left, line, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    else:
        _paragraph(left, "", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _signer(right, doc.signer_title, doc.signer_name)


def _signer(cell, title: str, name: str) -> None:
    """A signature: the title (bold, upper case; a line in brackets stays as written, italic), room for the
    signature and seal, the name."""
    for line in (title or "").split("\n"):
        if line.startswith("("):
            _paragraph(cell, line, size=13, italic=True)
        else:
            _paragraph(cell, line.upper(), size=14, bold=True)
    for _ in range(SIGNATURE_BLANK_LINES):
        _paragraph(cell, "", size=14)
    _paragraph(cell, name, size=14, bold=True)


def _recipient(document, doc: OfficialDocument) -> None:
    if not doc.recipient:
        return
    if doc.kind == PERMIT:
        paragraph = _paragraph(document, align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=6, first_line=FIRST_LINE_INDENT)
        _add_run(paragraph, "CHO PHÉP: ", 14, bold=True)
        _add_run(paragraph, doc.recipient, 14, bold=True)
    else:
        paragraph = _paragraph(document, before=6, after=6)
        _add_run(paragraph, "Kính gửi: ", 14)
        _add_run(paragraph, doc.recipient, 14)


def _body_paragraph(document, text: str = "", *, italic: bool = False):
    return _paragraph(document, text, size=14, italic=italic, align=WD_ALIGN_PARAGRAPH.JUSTIFY, before=6,
                      first_line=FIRST_LINE_INDENT)


def _build(doc: OfficialDocument):
    agency = doc.agency_name.upper()
    parent = doc.agency_parent

    document = Document()  # python-docx's template: an empty body and the styles _setup adjusts
    _setup(document)
    # The template's thumbnail would show a file browser some other page; drop it.
    relationships = document.part.package.rels
    for key, relationship in list(relationships.items()):
        if relationship.reltype == RT.THUMBNAIL:
            relationships.pop(key)
    _header(document, doc, agency, parent)

    if doc.title:
        _paragraph(document, doc.title.upper(), size=14, bold=True, before=18, keep_with_next=True)
        if doc.summary:
            _paragraph(document, doc.summary, size=14, bold=True, keep_with_next=True)
        _rule(document, TITLE_RULE, TEXT_WIDTH)
    if doc.kind == PERMIT:
        _paragraph(document, f"GIÁM ĐỐC {agency}".upper(), size=14, bold=True, before=12, after=6,
                   keep_with_next=True)
    elif doc.title:
        _paragraph(document, "", size=6)

    for basis in doc.legal_bases:
        _body_paragraph(document, basis, italic=True)

    _recipient(document, doc)

    for label, value in doc.body:
        if label:
            paragraph = _body_paragraph(document)
            _add_run(paragraph, f"{label}: ", 14)
            _add_run(paragraph, value, 14)
        else:
            _body_paragraph(document, value)

    for text in doc.closing:
        _body_paragraph(document, text)

    _paragraph(document, "", size=14, after=6)
    _signature(document, doc)
    if doc.verification_code:
        _verification(document, doc)

    properties = document.core_properties
    moment = doc.issued_at.astimezone(UTC).replace(tzinfo=None)  # python-docx writes the value as UTC ("Z")
    properties.title = _clean(doc.title or doc.summary)
    properties.subject = _clean(doc.summary)
    properties.author = agency
    properties.last_modified_by = agency
    properties.category = KINDS[doc.kind]
    properties.keywords = _clean(doc.number_text)
    properties.identifier = _clean(doc.number_text)
    properties.comments = ""
    properties.language = LANGUAGE
    properties.revision = 1
    properties.created = moment
    properties.modified = moment
    return document


VERIFICATION_QR_SIZE = 1.8  # cm


def _verification(document, doc: OfficialDocument) -> None:
    """The first page's footer: the QR code of the document's verification page and its code, so that anyone
    holding the paper or the PDF can check it (documents/: /verify/<code>/)."""
    import segno

    footer = document.sections[0].first_page_footer
    footer.is_linked_to_previous = False
    table = _borderless_table(footer, (VERIFICATION_QR_SIZE + 0.4, TEXT_WIDTH - VERIFICATION_QR_SIZE - 0.4))
    image = io.BytesIO()
    segno.make(doc.verification_url, error="m", boost_error=False).save(image, kind="png", scale=4, border=2)
    image.seek(0)
    qr_cell, text_cell = table.rows[0].cells
    qr_paragraph = qr_cell.add_paragraph()
    _format(qr_paragraph, align=WD_ALIGN_PARAGRAPH.LEFT)
    qr_paragraph.add_run().add_picture(image, width=Cm(VERIFICATION_QR_SIZE), height=Cm(VERIFICATION_QR_SIZE))
    first = text_cell.add_paragraph()
    _format(first, align=WD_ALIGN_PARAGRAPH.LEFT, before=6)
    _add_run(first, "Mã tra cứu: ", 10)
    _add_run(first, doc.verification_code, 10, bold=True)
    second = text_cell.add_paragraph()
    _format(second, align=WD_ALIGN_PARAGRAPH.LEFT)
    _add_run(second, "Bản điện tử có chữ ký số của cơ quan ban hành; tra cứu tính xác thực tại "
             f"{doc.verification_url}", 9, italic=True)


def _repack(raw: bytes, moment: datetime) -> bytes:
    """The same zip, with every member stamped with ``moment`` so that equal documents give equal bytes."""
    local = moment.astimezone(VN_TZ)
    stamp = (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, source.read(info.filename))
    return out.getvalue()


def document_render(doc: OfficialDocument) -> bytes:
    """The document as the bytes of a .docx file (Nghị định 30/2020/NĐ-CP layout; see the module docstring)."""
    document = _build(doc)
    buffer = io.BytesIO()
    document.save(buffer)
    return _repack(buffer.getvalue(), doc.issued_at)
