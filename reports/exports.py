"""The quarterly report as CSV, XLSX (one sheet per table) and DOCX (the department's report layout).

Spreadsheets carry no formulas: a stored text that begins with "=", "+", "-", "@", TAB, CR or LF is written as text
(OWASP, CSV injection): in CSV with a leading apostrophe, unless it is a plain signed number such as "+2" or "-1.926";
in XLSX as a string cell with Excel's quote prefix (the value unchanged, kept as text even when the cell is edited).
Texts stored before the input was cleaned are cleaned at write time (XML cannot hold most control characters).
Numbers stay numbers.
"""

import csv
import io
import re

from django.conf import settings
from django.utils import timezone

from cases.text import text_clean

from .quality import quality_export_rows
from .quarters import ROMAN, Quarter
from .tables import count_text

PROCESSING_COLUMNS = [
    ("tt", "TT"), ("name", "Thủ tục"), ("carried_over", "Kỳ trước chuyển sang"), ("received", "Tiếp nhận mới"),
    ("resolved", "Đã giải quyết"), ("early", "Trước hạn"), ("on_time", "Đúng hạn"), ("late", "Quá hạn"),
    ("refused", "Từ chối"), ("withdrawn", "Rút hồ sơ"), ("pending_within", "Đang giải quyết trong hạn"),
    ("pending_late", "Đang giải quyết quá hạn"),
]
# Service quality (Quyết định 766/QĐ-TTg, reports/quality.py): its own table and sheet.
QUALITY_TITLE = "Chất lượng phục vụ trong giải quyết thủ tục hành chính (Quyết định 766/QĐ-TTg)"
QUALITY_SHEET = "Chất lượng phục vụ"
RESULT_HEADERS = ["TT", "Nội dung", "Đơn vị", "Số lượng", "Kỳ trước", "Tăng+, giảm- so với kỳ trước"]
INSPECTION_COLUMNS = [
    ("tt", "TT"), ("name", "Loại kiểm tra"), ("inspected", "Số cơ sở được kiểm tra"), ("compliant", "Chấp hành tốt"),
    ("reminders", "Nhắc nhở"), ("violations", "Vi phạm"), ("sanctions", "Quyết định xử phạt"),
    ("fines_vnd", "Tiền phạt (đồng)"),
]

# --- Spreadsheet cells -----------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")


def csv_value(value):
    """A CSV field: text cleaned, and a text Excel would take for a formula prefixed with an apostrophe."""
    if not isinstance(value, str):
        return value
    text = text_clean(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def xlsx_value(sheet, value):
    """A value for ``sheet.append`` (normal or write-only sheet): text cleaned; a text that Excel or openpyxl would
    take for a formula becomes a string cell with the quote prefix. Numbers and dates pass as they are."""
    if not isinstance(value, str):
        return value
    text = text_clean(value)
    if not text.startswith(FORMULA_STARTS):
        return text
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # never "f": openpyxl makes every text that begins with "=" a formula
    cell.quotePrefix = True
    return cell


def quarter_text(quarter: str, *, upper: bool = False) -> str:
    """ "quý IV/2019" as running text writes it; "QUÝ IV/2019" for a title."""
    parsed = Quarter.parse(quarter)
    return f"{'QUÝ' if upper else 'quý'} {ROMAN[parsed.number]}/{parsed.year}"


def _result_rows(report):
    for row in report["procedure_results"]:
        yield [row["tt"], row["name"], row["unit"], row["count_text"], row["previous"], row["change_text"]]


def report_whose(report: dict) -> list[str]:
    """Beside a spreadsheet's first title: the agency whose report it is, and the note of a quarter it started or
    ended in (the tables stay where they always were)."""
    return [text for text in (report["agency"]["named"], report["note"]) if text]


def report_csv(report: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)

    def write(row):
        writer.writerow([csv_value(value) for value in row])

    quarter = quarter_text(report["quarter"])
    write([f"Kết quả thực hiện thủ tục hành chính {quarter}", *report_whose(report)])
    write(RESULT_HEADERS)
    for row in _result_rows(report):
        write(row)
    write([])
    write([f"Tình hình giải quyết thủ tục hành chính {quarter}"])
    write([label for _key, label in PROCESSING_COLUMNS])
    for row in report["processing"]:
        write([row[key] for key, _label in PROCESSING_COLUMNS])
    write([])
    write([f"Kết quả thanh tra, kiểm tra {quarter}"])
    write([label for _key, label in INSPECTION_COLUMNS])
    for row in report["inspections"]:
        write([row[key] for key, _label in INSPECTION_COLUMNS])
    if report.get("quality") is not None:  # a report frozen before the quality table has none
        headers, rows = quality_export_rows(report)
        write([])
        write([f"{QUALITY_TITLE} {quarter}"])
        write(headers)
        for row in rows:
            write(row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Vietnamese text correctly


def report_xlsx(report: dict) -> bytes:
    """Three sheets. Table I.5 keeps its counts and changes as the report writes them ("01", "+2", text cells);
    the previous quarter's count and the other tables' figures are numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="888888")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="DDE4EE")

    def sheet(workbook, title, heading, headers, rows, widths, text_columns=()):
        ws = workbook.create_sheet(title)
        ws.append([xlsx_value(ws, text) for text in (heading, *report_whose(report))])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append([xlsx_value(ws, header) for header in headers])
        for cell in ws[2]:
            cell.font, cell.fill, cell.border = Font(bold=True), head_fill, border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for row in rows:
            ws.append([xlsx_value(ws, value) for value in row])
        for line in ws.iter_rows(min_row=3, max_row=ws.max_row):
            for cell in line:
                cell.border = border
                if cell.column in text_columns:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                else:
                    cell.alignment = Alignment(horizontal="center", vertical="top")
                    if cell.data_type == "n":
                        cell.number_format = "#,##0"
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A3"
        return ws

    quarter = quarter_text(report["quarter"])
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheet(workbook, "I.5 Kết quả TTHC", f"Kết quả thực hiện thủ tục hành chính {quarter}", RESULT_HEADERS,
          list(_result_rows(report)), [6, 55, 10, 12, 12, 18], text_columns=(2,))
    sheet(workbook, "Tình hình giải quyết", f"Tình hình giải quyết thủ tục hành chính {quarter}",
          [label for _key, label in PROCESSING_COLUMNS],
          [[row[key] for key, _label in PROCESSING_COLUMNS] for row in report["processing"]],
          [6, 50] + [14] * (len(PROCESSING_COLUMNS) - 2), text_columns=(2,))
    sheet(workbook, "Thanh tra, kiểm tra", f"Kết quả thanh tra, kiểm tra {quarter}",
          [label for _key, label in INSPECTION_COLUMNS],
          [[row[key] for key, _label in INSPECTION_COLUMNS] for row in report["inspections"]],
          [6, 50, 14, 14, 12, 12, 14, 18], text_columns=(2,))
    if report.get("quality") is not None:
        headers, rows = quality_export_rows(report)
        sheet(workbook, QUALITY_SHEET, f"{QUALITY_TITLE} {quarter}", headers, rows,
              [6, 50] + [14] * (len(headers) - 2), text_columns=(2,))
    workbook.properties.title = f"Báo cáo {quarter}"
    workbook.properties.creator = text_clean(report["agency"]["named"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- DOCX -----------------------------------------------------------------------------------------------------

REPORT_TITLE = "KẾT QUẢ THỰC HIỆN THỦ TỤC HÀNH CHÍNH VÀ CÔNG TÁC THANH TRA, KIỂM TRA"
SIGNATURE_BLANK_LINES = 4


def report_signer_name(agency_id: int | None = None) -> str:
    """The name under the signature when it is known: the one active department head (of the agency, when given;
    several: left to the pen)."""
    from django.contrib.auth import get_user_model

    from cases import roles as r

    heads = get_user_model().objects.filter(is_active=True, groups__name=r.DEPARTMENT_HEAD)
    if agency_id is not None:
        heads = heads.filter(agency_memberships__agency_id=agency_id)
    heads = list(heads.distinct()[:2])
    return (heads[0].get_full_name() or "") if len(heads) == 1 else ""


def report_docx(report: dict, *, signer_name: str | None = None) -> bytes:
    """The report as the department writes it (seed report): the header, "BÁO CÁO" and its title with the quarter
    ("QUÝ IV/2019"), section I's items 4 (inspections) and 5 (procedures, table I.5 as the seed lays it out, then the
    comparison with the previous quarter and the processing figures), then "Nơi nhận:" and the signer's block.
    Running text writes the quarter "quý IV/2019". The header, the number's symbol, the place and the signer's title
    are the reporting agency's as of the quarter (``report["agency"]``), and a quarter the agency started or ended in
    has its note under the title (``report["note"]``); ``signer_name`` defaults to that agency's signer of the day,
    else to :func:`report_signer_name`."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    from licensing.documents import date_line

    quarter, previous = quarter_text(report["quarter"]), quarter_text(report["previous_quarter"])
    if signer_name is None:
        signer_name = report["agency"]["signer_name"] or report_signer_name(report["agency"]["id"])

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    style = document.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(13)

    def paragraph(container, text="", *, bold=False, italic=False, align=None, size=None, indent=False, after=None):
        p = container.add_paragraph()
        if text:
            run = p.add_run(text_clean(str(text)))
            run.bold, run.italic = bold, italic
            if size:
                run.font.size = Pt(size)
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Cm(1.27)
        if after is not None:
            p.paragraph_format.space_after = Pt(after)
        return p

    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left.text = ""
    issuer = report["agency"]
    left.paragraphs[0].add_run(text_clean(issuer["parent_name"]) + "\n").font.size = Pt(12)
    agency = left.paragraphs[0].add_run(text_clean(issuer["name"].upper()) + "\n")
    agency.bold = True
    left.paragraphs[0].add_run(f"Số:     /BC-{issuer['symbol']}")
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    motto = right.paragraphs[0]
    motto.add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n").bold = True
    motto.add_run("Độc lập - Tự do - Hạnh phúc\n").bold = True
    motto.add_run(date_line(timezone.now(), issuer["place_name"])).italic = True
    motto.alignment = WD_ALIGN_PARAGRAPH.CENTER

    center, justify = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph(document)
    paragraph(document, "BÁO CÁO", bold=True, align=center, size=14)
    paragraph(document, f"{REPORT_TITLE} {quarter_text(report['quarter'], upper=True)}", bold=True, align=center,
              size=14, after=12)
    if report["note"]:  # the agency started or ended within the quarter
        paragraph(document, report["note"], italic=True, align=center, size=12, after=12)

    def table(headers, rows, widths):
        grid = document.add_table(rows=1, cols=len(headers))
        grid.style = "Table Grid"
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, text in zip(grid.rows[0].cells, headers, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(text).bold = True
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        for row in rows:
            cells = grid.add_row().cells
            for index, (cell, value) in enumerate(zip(cells, row, strict=True)):
                cell.text = text_clean(str(value))
                if index != 1:
                    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        for column, width in zip(grid.columns, widths, strict=True):
            for cell in column.cells:
                cell.width = Cm(width)
        return grid

    # The seed report's order: I. state management, ..., 4. inspections, 5. administrative procedures.
    paragraph(document, "I. CÔNG TÁC QUẢN LÝ NHÀ NƯỚC", bold=True)
    paragraph(document, "4. Công tác thanh tra, kiểm tra", bold=True)
    paragraph(document, f"Kết quả thanh tra, kiểm tra trong {quarter}:", indent=True, align=justify)
    table([label for _key, label in INSPECTION_COLUMNS],
          [[row["tt"], row["name"], *(count_text(row[key]) for key in
                                      ("inspected", "compliant", "reminders", "violations", "sanctions")),
            row["fines_text"]] for row in report["inspections"]],
          [0.8, 5, 1.6, 1.6, 1.4, 1.4, 1.6, 2.2])
    paragraph(document)
    paragraph(document, "5. Kết quả thực hiện thủ tục hành chính", bold=True)
    table(["TT", "Nội dung", "Đơn vị", "Số lượng"],
          [[r["tt"], r["name"], r["unit"], r["count_text"]] for r in report["procedure_results"]],
          [1.2, 10.5, 2, 2.3])
    paragraph(document)
    paragraph(document, f"So sánh với {previous}:", indent=True, align=justify)
    table(["TT", "Nội dung", "Đơn vị tính", "Kết quả trong kỳ", "Tăng+, giảm- so với kỳ trước"],
          [[r["tt"], r["name"], r["unit"], r["count_text"], r["change_text"]] for r in report["procedure_results"]],
          [1.2, 7.5, 2, 2.5, 3])
    paragraph(document)
    paragraph(document, f"Tình hình giải quyết thủ tục hành chính trong {quarter}:", indent=True, align=justify)
    table([label for _key, label in PROCESSING_COLUMNS],
          [[row[key] for key, _label in PROCESSING_COLUMNS] for row in report["processing"]],
          [0.8, 4] + [1.1] * (len(PROCESSING_COLUMNS) - 2))
    paragraph(document)

    # Recipients and signer, side by side as the licences lay them out (licensing/documents.py).
    signature = document.add_table(rows=1, cols=2)
    recipients, signer = signature.rows[0].cells
    for cell, width in ((recipients, 7.0), (signer, 9.0)):
        cell.width = Cm(width)
        cell._tc.remove(cell.paragraphs[0]._p)
    paragraph(recipients, "Nơi nhận:", bold=True, italic=True, size=12)
    for line in report_recipients():
        paragraph(recipients, line, size=11)
    for line in str(issuer["signer_title"]).split("\n"):
        paragraph(signer, line.upper(), bold=True, align=center, size=14)
    for _ in range(SIGNATURE_BLANK_LINES):
        paragraph(signer, size=14)
    paragraph(signer, signer_name or "", bold=True, align=center, size=14)

    document.core_properties.title = f"Báo cáo {quarter}"
    document.core_properties.author = text_clean(issuer["named"])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def report_recipients() -> list[str]:
    """ "Nơi nhận:" lines: the recipients from settings (REPORT_RECIPIENTS), each "- ...;", then "- Lưu: VT."."""
    names = [text_clean(name, multiline=False).strip().rstrip(";.").strip()
             for name in getattr(settings, "REPORT_RECIPIENTS", ())]
    return [f"- {name};" for name in names if name] + ["- Lưu: VT."]


EXPORTS = {
    "csv": (report_csv, "text/csv; charset=utf-8", "csv"),
    "xlsx": (report_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "docx": (report_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
}
