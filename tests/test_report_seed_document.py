"""The demo's Q4/2019 report (`load_demo`), written by `report_document`, read back with python-docx and compared
with the seed report (../shared/seed/000_c24bcc14e8e31b22.txt) section by section: the headings in order, every
paragraph of I.1–I.4 and III, every cell of tables I.5 and II, Nơi nhận and the signer. The seed's own blanks (number
and day) are the issued report's number and date."""

import io
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from docx import Document

from documents.validation import pdf_signature_check
from reports.models import Report

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_c24bcc14e8e31b22.txt"
if not SEED.exists():  # the seed next to the repository (../shared), as CONTEXT.md places it
    SEED = Path("/work/shared/seed/000_c24bcc14e8e31b22.txt")
HEADING = re.compile(r"^((I|II|III)\. [A-ZÀ-Ỹ]|[1-5]\. (Về|Công tác|Kết quả))")
# The one cell the seed writes without its thousands dot; the service writes every number the same way.
SEED_TYPOS = {"-4752": "-4.752"}


def seed_parts() -> dict:
    # Spaces trimmed, tabs kept: a child row of table II starts with an empty TT cell.
    lines = [line.strip(" \r") for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line.strip()]
    start = lines.index("BÁO CÁO")
    end = lines.index("Nơi nhận:")
    headings, body, tables = [], {}, {}
    current = None
    for line in lines[start + 2:end]:
        if HEADING.match(line):
            current = line
            headings.append(line)
            body[current], tables[current] = [], []
        elif "\t" in line:
            tables[current].append(line.split("\t"))
        elif body[current] and line[0].islower():  # a paragraph cut by the page break of the source
            body[current][-1] += " " + line
        else:
            body[current].append(line)
    signer_at = lines.index("GIÁM ĐỐC")
    return {"title": lines[start:start + 2], "headings": headings, "body": body, "tables": tables,
            "recipients": lines[end + 1:signer_at], "signer": lines[signer_at:signer_at + 2],
            "number": lines[0], "date": lines[1]}


def docx_parts(data: bytes) -> dict:
    document = Document(io.BytesIO(data))
    header, *grids, signature = document.tables
    headings, body = [], {}
    title = []
    current = None
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        bold = all(run.bold for run in paragraph.runs if run.text.strip())
        if bold and len(title) < 2:
            title.append(text)
        elif bold:
            current = text
            headings.append(text)
            body[current] = []
        else:
            body[current].append(text)

    def cells(table):
        return [[cell.text.replace("\n", " ").strip() for cell in row.cells] for row in table.rows]

    left, right = signature.rows[0].cells
    right_lines = [p.text for p in right.paragraphs if p.text.strip()]
    header_left = [p.text for p in header.rows[0].cells[0].paragraphs if p.text.strip()]
    header_right = [p.text for p in header.rows[0].cells[1].paragraphs if p.text.strip()]
    return {"title": title, "headings": headings, "body": body, "tables": [cells(t) for t in grids],
            "recipients": [p.text for p in left.paragraphs if p.text.strip()], "signer": right_lines,
            "header_left": header_left, "header_right": header_right}


@pytest.mark.xdist_group("embedded-demo")  # the demo `make run` builds, once per process (tests/support_demo.py)
def test_the_demo_q4_2019_report_is_the_seed_section_by_section(embedded_db, tmp_path):
    # embedded_db: this test's copy of the demo `make run` builds, read through the ORM (tests/support_demo.py)
    report = Report.objects.get(period="2019-Q4", agency__code="thai-binh-stttt")
    assert report.case.state == "report_sent"
    assert re.fullmatch(r"\d{2}/BC-STTTT", report.number_text)

    output = tmp_path / "bao-cao.docx"
    call_command("report_document", period="2019-Q4", format="docx", output=str(output), stdout=io.StringIO())
    got, seed = docx_parts(output.read_bytes()), seed_parts()

    # Header: the agency, Số with the issued number (the seed's blank), place and date in December 2019.
    assert got["header_left"] == ["UBND TỈNH THÁI BÌNH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", f"Số: {report.number_text}"]
    assert seed["number"] == "Số: /BC-STTTT"
    assert re.fullmatch(r"Thái Bình, ngày \d{2} tháng 12 năm 2019", got["header_right"][-1])
    assert got["title"] == seed["title"]
    assert got["headings"] == seed["headings"]
    for heading in seed["headings"]:
        assert got["body"][heading] == seed["body"][heading], heading

    procedures, indicators = got["tables"]
    seed_procedures = seed["tables"]["5. Kết quả thực hiện thủ tục hành chính"]
    assert procedures[0] == ["TT", "Nội dung", "Đơn vị", "Số lượng"]
    assert procedures == seed_procedures  # the header row and every cell
    assert [row[3] for row in procedures[1:]] == ["01", "09", "02", "02", "19", "02"]
    seed_indicators = seed["tables"]["II. HOẠT ĐỘNG SỰ NGHIỆP VÀ DỊCH VỤ"]
    assert len(indicators) == len(seed_indicators)
    for got_row, seed_row in zip(indicators, seed_indicators, strict=True):
        seed_row = seed_row + [""] * (len(got_row) - len(seed_row))
        assert got_row == [SEED_TYPOS.get(cell, cell) for cell in seed_row]
    signed = next(row for row in indicators if row[1] == "Số văn bản ký số")
    assert signed[3:] == ["4.235", "-1.926", "= 70% số VB gửi liên thông"]

    assert got["recipients"] == ["Nơi nhận:"] + seed["recipients"]
    assert len(seed["recipients"]) == 8
    assert got["signer"][0] == "GIÁM ĐỐC" and got["signer"][-1] == "Vũ Tiến Khoái" == seed["signer"][1]

    # I.4 began as the service's draft of the quarter's campaigns; the inspection division wrote over it.
    versions = list(report.sections.get(code="I.4").versions.order_by("version").values_list("text", flat=True))
    draft = versions[0]
    assert "tại các doanh nghiệp: Viettel Thái Bình, Viễn thông Thái Bình và Mobifone Thái Bình" in draft
    assert "tại xã Đồng Tiên, huyện Quỳnh Phụ" in draft
    assert "tại 15 cơ sở in và 02 cơ sở photocopy trên địa bàn tỉnh" in draft
    assert "nhắc nhở 03 cơ sở" in draft and "phát hiện 01 cơ sở vi phạm" in draft
    assert "7.500.000 đồng" in draft
    assert versions[-1].split("\n") == seed["body"]["4. Công tác thanh tra, kiểm tra"]

    # The issued document is the frozen one: written again, the same bytes, the hash stored at the issue.
    again = tmp_path / "again.docx"
    call_command("report_document", period="2019-Q4", format="docx", output=str(again), stdout=io.StringIO())
    assert again.read_bytes() == output.read_bytes()
    import hashlib

    assert hashlib.sha256(output.read_bytes()).hexdigest() == report.docx_sha256

    # The PDF of the same: the signed PDF/A made from that DOCX when the report was issued (reports/electronic.py).
    pdf = tmp_path / "bao-cao.pdf"
    call_command("report_document", period="2019-Q4", format="pdf", output=str(pdf), stdout=io.StringIO())
    assert pdf_signature_check(pdf.read_bytes()).intact
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True,
                          text=True).stdout
    for words in (f"Số: {report.number_text}", "BÁO CÁO", "II. HOẠT ĐỘNG SỰ NGHIỆP VÀ DỊCH VỤ", "1.307.424",
                  "Vũ Tiến Khoái", "- Lưu: VT."):
        assert words in text, words

    # The Q1/2020 report stands as a draft, most sections still owed.
    draft_report = Report.objects.get(period="2020-Q1", agency__code="thai-binh-stttt")
    assert draft_report.case.state == "report_contributing"
    owed = set(draft_report.sections.filter(submitted_at__isnull=True).values_list("code", flat=True))
    assert owed == {"I.2", "I.3", "I.4", "III"}
