"""The quarterly report as CSV, XLSX (one sheet per table) and DOCX (the department's report layout)."""

import csv
import io

from django.conf import settings
from django.utils import timezone

from .tables import count_text

PROCESSING_COLUMNS = [
    ("tt", "TT"), ("name", "Thủ tục"), ("carried_over", "Kỳ trước chuyển sang"), ("received", "Tiếp nhận mới"),
    ("resolved", "Đã giải quyết"), ("early", "Trước hạn"), ("on_time", "Đúng hạn"), ("late", "Quá hạn"),
    ("refused", "Từ chối"), ("withdrawn", "Rút hồ sơ"), ("pending_within", "Đang giải quyết trong hạn"),
    ("pending_late", "Đang giải quyết quá hạn"),
]
RESULT_HEADERS = ["TT", "Nội dung", "Đơn vị", "Số lượng", "Kỳ trước", "Tăng+, giảm- so với kỳ trước"]
INSPECTION_COLUMNS = [
    ("tt", "TT"), ("name", "Loại kiểm tra"), ("inspected", "Số cơ sở được kiểm tra"), ("compliant", "Chấp hành tốt"),
    ("reminders", "Nhắc nhở"), ("violations", "Vi phạm"), ("sanctions", "Quyết định xử phạt"),
    ("fines_vnd", "Tiền phạt (đồng)"),
]


def _result_rows(report):
    for row in report["procedure_results"]:
        yield [row["tt"], row["name"], row["unit"], row["count_text"], row["previous"], row["change_text"]]


def report_csv(report: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"Kết quả thực hiện thủ tục hành chính {report['label']}"])
    writer.writerow(RESULT_HEADERS)
    writer.writerows(_result_rows(report))
    writer.writerow([])
    writer.writerow([f"Tình hình giải quyết thủ tục hành chính {report['label']}"])
    writer.writerow([label for _key, label in PROCESSING_COLUMNS])
    for row in report["processing"]:
        writer.writerow([row[key] for key, _label in PROCESSING_COLUMNS])
    writer.writerow([])
    writer.writerow([f"Kết quả thanh tra, kiểm tra {report['label']}"])
    writer.writerow([label for _key, label in INSPECTION_COLUMNS])
    for row in report["inspections"]:
        writer.writerow([row[key] for key, _label in INSPECTION_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Vietnamese text correctly


def report_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="888888")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="DDE4EE")

    def sheet(workbook, title, heading, headers, rows, widths, text_columns=()):
        ws = workbook.create_sheet(title)
        ws.append([heading])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(headers)
        for cell in ws[2]:
            cell.font, cell.fill, cell.border = Font(bold=True), head_fill, border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for row in rows:
            ws.append(row)
        for line in ws.iter_rows(min_row=3, max_row=ws.max_row):
            for cell in line:
                cell.border = border
                if cell.column in text_columns:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                else:
                    cell.alignment = Alignment(horizontal="center", vertical="top")
                    cell.number_format = "#,##0"
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A3"
        return ws

    workbook = Workbook()
    workbook.remove(workbook.active)
    sheet(workbook, "I.5 Kết quả TTHC", f"Kết quả thực hiện thủ tục hành chính {report['label']}", RESULT_HEADERS,
          [[r["tt"], r["name"], r["unit"], r["count"], r["previous"], r["change"]] for r in report["procedure_results"]],
          [6, 55, 10, 12, 12, 18], text_columns=(2,))
    sheet(workbook, "Tình hình giải quyết", f"Tình hình giải quyết thủ tục hành chính {report['label']}",
          [label for _key, label in PROCESSING_COLUMNS],
          [[row[key] for key, _label in PROCESSING_COLUMNS] for row in report["processing"]],
          [6, 50] + [14] * (len(PROCESSING_COLUMNS) - 2), text_columns=(2,))
    sheet(workbook, "Thanh tra, kiểm tra", f"Kết quả thanh tra, kiểm tra {report['label']}",
          [label for _key, label in INSPECTION_COLUMNS],
          [[row[key] for key, _label in INSPECTION_COLUMNS] for row in report["inspections"]],
          [6, 50, 14, 14, 12, 12, 14, 18], text_columns=(2,))
    workbook.properties.title = f"Báo cáo {report['label']}"
    workbook.properties.creator = settings.AGENCY_NAME
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def report_docx(report: dict) -> bytes:
    """The report's section layout, table I.5 as the seed lays it out."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    from licensing.documents import date_line

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    style = document.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(13)

    def paragraph(text, *, bold=False, italic=False, center=False, size=None):
        p = document.add_paragraph()
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        if size:
            run.font.size = Pt(size)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        return p

    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left.text = ""
    left.paragraphs[0].add_run(settings.AGENCY_PARENT + "\n").font.size = Pt(12)
    agency = left.paragraphs[0].add_run(settings.AGENCY_NAME + "\n")
    agency.bold = True
    left.paragraphs[0].add_run(f"Số:     /BC-{settings.AGENCY_CODE}")
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    motto = right.paragraphs[0]
    motto.add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n").bold = True
    motto.add_run("Độc lập - Tự do - Hạnh phúc\n").bold = True
    motto.add_run(date_line(timezone.now())).italic = True
    motto.alignment = WD_ALIGN_PARAGRAPH.CENTER

    paragraph("BÁO CÁO", bold=True, center=True, size=14)
    paragraph(f"Kết quả thực hiện thủ tục hành chính {report['label'].replace('Quý', 'quý')}", bold=True,
              center=True)
    paragraph("I. CÔNG TÁC QUẢN LÝ NHÀ NƯỚC", bold=True)
    paragraph("5. Kết quả thực hiện thủ tục hành chính", bold=True)

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
                cell.text = str(value)
                if index != 1:
                    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        for column, width in zip(grid.columns, widths, strict=True):
            for cell in column.cells:
                cell.width = Cm(width)
        return grid

    table(["TT", "Nội dung", "Đơn vị", "Số lượng"],
          [[r["tt"], r["name"], r["unit"], r["count_text"]] for r in report["procedure_results"]],
          [1.2, 10.5, 2, 2.3])
    paragraph("")
    paragraph(f"So sánh với kỳ trước ({report['previous_quarter']})", bold=True)
    table(["TT", "Nội dung", "Đơn vị tính", "Kết quả trong kỳ", "Tăng+, giảm- so với kỳ trước"],
          [[r["tt"], r["name"], r["unit"], r["count_text"], r["change_text"]] for r in report["procedure_results"]],
          [1.2, 7.5, 2, 2.5, 3])
    paragraph("")
    paragraph("Tình hình giải quyết thủ tục hành chính", bold=True)
    table([label for _key, label in PROCESSING_COLUMNS],
          [[row[key] for key, _label in PROCESSING_COLUMNS] for row in report["processing"]],
          [0.8, 4] + [1.1] * (len(PROCESSING_COLUMNS) - 2))
    paragraph("")
    paragraph("4. Công tác thanh tra, kiểm tra", bold=True)
    table([label for _key, label in INSPECTION_COLUMNS],
          [[row["tt"], row["name"], *(count_text(row[key]) for key in
                                      ("inspected", "compliant", "reminders", "violations", "sanctions")),
            row["fines_text"]] for row in report["inspections"]],
          [0.8, 5, 1.6, 1.6, 1.4, 1.4, 1.6, 2.2])
    document.core_properties.title = f"Báo cáo {report['label']}"
    document.core_properties.author = settings.AGENCY_NAME
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


EXPORTS = {
    "csv": (report_csv, "text/csv; charset=utf-8", "csv"),
    "xlsx": (report_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "docx": (report_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
}
