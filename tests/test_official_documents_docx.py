"""Official documents (licensing/documents.py): the .docx opened with python-docx, checked against the layout of
Nghị định 30/2020/NĐ-CP and the issuing agency the document carries."""

import io
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from licensing.documents import OfficialDocument, date_line, date_text, document_render

# The project's conftest has an autouse fixture that loads the catalogue into the database.
pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TNR = "Times New Roman"
THAI_BINH_STTTT = {"agency_parent": "UBND TỈNH THÁI BÌNH", "agency_name": "Sở Thông tin và Truyền thông",
                   "place": "Thái Bình"}


def permit(**changes) -> OfficialDocument:
    values = dict(
        kind="permit",
        number_text="15/GP-STTTT",
        issued_at=datetime(2020, 1, 5, 9, 0, tzinfo=VN),
        title="Giấy phép xuất bản bản tin",
        summary="",
        legal_bases=[
            "Căn cứ Luật Báo chí ngày 05 tháng 4 năm 2016;",
            "Căn cứ Thông tư số 48/2016/TT-BTTTT ngày 30 tháng 12 năm 2016 của Bộ trưởng Bộ Thông tin và "
            "Truyền thông;",
        ],
        recipient="Trường Đại học Thái Bình",
        body=[
            ("Tên bản tin", "Bản tin Đại học Thái Bình"),
            ("Kỳ hạn xuất bản", "03 tháng/kỳ"),
            ("Số lượng", "500 bản/kỳ"),
            ("", "Nơi in: Công ty Cổ phần In Thái Bình."),
        ],
        closing=["Giấy phép có hiệu lực kể từ ngày ký."],
        signer_title="GIÁM ĐỐC",
        signer_name="Nguyễn Văn A",
        recipients_block=["- Như trên;", "- Lưu: VT."],
    )
    values.update(THAI_BINH_STTTT)
    values.update(changes)
    return OfficialDocument(**values)


def refusal(**changes) -> OfficialDocument:
    values = dict(
        kind="refusal",
        number_text="120/STTTT-TTBCXB",
        issued_at=datetime(2020, 3, 9, 10, 0, tzinfo=VN),
        title="Văn bản từ chối cấp giấy phép hoạt động in",
        summary="Về việc từ chối cấp giấy phép hoạt động in cho Công ty TNHH In Minh Phát",
        legal_bases=[],
        recipient="Công ty TNHH In Minh Phát",
        body=[("Mã hồ sơ", "000.00.17.H52-200301-0001")],
        closing=[
            "Sở Thông tin và Truyền thông từ chối cấp giấy phép vì các lý do sau:",
            "1. Cơ sở in chưa có mặt bằng sản xuất theo quy định tại khoản 1 Điều 12 Nghị định 60/2014/NĐ-CP;",
            "2. Người đứng đầu cơ sở in chưa có văn bằng về chuyên ngành in.",
        ],
        signer_title="KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC",
        signer_name="Trần Thị B",
        recipients_block=["- Như trên;", "- Lưu: VT, TTBCXB."],
    )
    values.update(THAI_BINH_STTTT)
    values.update(changes)
    return OfficialDocument(**values)


def apology(**changes) -> OfficialDocument:
    values = dict(
        kind="apology",
        number_text="",
        issued_at=datetime(2020, 2, 15, 8, 0, tzinfo=VN),
        title="Phiếu xin lỗi và hẹn lại ngày trả kết quả",
        summary="",
        legal_bases=[],
        recipient="Công ty Cổ phần Sách Thái Bình",
        body=[
            ("Mã hồ sơ", "000.00.17.H52-200110-0003"),
            ("", "Hồ sơ của Quý Công ty được tiếp nhận ngày 10 tháng 01 năm 2020, hẹn trả kết quả ngày 14 tháng 02 "
                 "năm 2020."),
            ("Ngày hẹn trả kết quả mới", "ngày 21 tháng 02 năm 2020"),
        ],
        closing=["Sở Thông tin và Truyền thông xin lỗi Quý Công ty vì sự chậm trễ này."],
        signer_title="GIÁM ĐỐC",
        signer_name="Nguyễn Văn A",
        recipients_block=[],
    )
    values.update(THAI_BINH_STTTT)
    values.update(changes)
    return OfficialDocument(**values)


def opened(doc: OfficialDocument):
    return Document(io.BytesIO(document_render(doc)))


def header_cells(document):
    left, right = document.tables[0].rows[0].cells
    return left, right


def texts(container) -> list[str]:
    return [p.text for p in container.paragraphs]


def all_paragraphs(document):
    """Body paragraphs and the paragraphs of every table cell, in document order."""
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            for row in block.rows:
                for cell in row.cells:
                    yield from cell.paragraphs
        else:
            yield block


def all_text(document) -> str:
    return "\n".join(p.text for p in all_paragraphs(document))


def body_paragraph(document, text: str):
    matches = [p for p in document.paragraphs if p.text == text]
    assert matches, f"{text!r} not among {[p.text for p in document.paragraphs]}"
    return matches[0]


def runs_with_text(paragraph):
    return [run for run in paragraph.runs if run.text.strip()]


# --- The date line -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2020, 1, 5, 9, 0, tzinfo=VN), "Thái Bình, ngày 05 tháng 01 năm 2020"),
        (datetime(2020, 2, 15, 14, 0, tzinfo=VN), "Thái Bình, ngày 15 tháng 02 năm 2020"),
        (datetime(2020, 3, 9, 8, 0, tzinfo=VN), "Thái Bình, ngày 09 tháng 3 năm 2020"),
        (datetime(2020, 11, 20, 8, 0, tzinfo=VN), "Thái Bình, ngày 20 tháng 11 năm 2020"),
        # 23:30 local on 31/12/2019, given as UTC: still 2019 in Thái Bình.
        (datetime(2019, 12, 31, 16, 30, tzinfo=UTC), "Thái Bình, ngày 31 tháng 12 năm 2019"),
        # 00:30 local on 01/01/2020 is still 2019 in UTC.
        (datetime(2019, 12, 31, 17, 30, tzinfo=UTC), "Thái Bình, ngày 01 tháng 01 năm 2020"),
        # Another offset: 20:00 on 08/03/2020 at UTC-5 is 09/03 08:00 in Vietnam.
        (datetime(2020, 3, 8, 20, 0, tzinfo=timezone(timedelta(hours=-5))), "Thái Bình, ngày 09 tháng 3 năm 2020"),
    ],
)
def test_date_line_uses_the_local_date_and_the_decree_zero_padding(moment, expected):
    assert date_line(moment, "Thái Bình") == expected
    assert date_line(moment, "Hưng Yên") == expected.replace("Thái Bình", "Hưng Yên")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2020, 1, 5, 9, 0, tzinfo=VN), "Thái Bình, ngày 05 tháng 01 năm 2020"),
        (datetime(2020, 2, 15, 14, 0, tzinfo=VN), "Thái Bình, ngày 15 tháng 02 năm 2020"),
        (datetime(2020, 3, 9, 8, 0, tzinfo=VN), "Thái Bình, ngày 09 tháng 3 năm 2020"),
        (datetime(2019, 12, 31, 16, 30, tzinfo=UTC), "Thái Bình, ngày 31 tháng 12 năm 2019"),
    ],
)
def test_rendered_date_line_sits_under_the_motto_in_italics(moment, expected):
    document = opened(permit(issued_at=moment))
    _, right = header_cells(document)
    lines = [p for p in right.paragraphs if p.text]
    assert [p.text for p in lines] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        expected,
    ]
    date_paragraph = lines[2]
    assert all(run.italic for run in runs_with_text(date_paragraph))
    assert not any(run.bold for run in runs_with_text(date_paragraph))
    assert date_paragraph.alignment == WD_ALIGN_PARAGRAPH.CENTER


def test_date_line_without_a_place_is_the_date_alone():
    assert date_line(datetime(2025, 7, 1, 9, 0, tzinfo=VN)) == "Ngày 01 tháng 7 năm 2025"
    assert date_line(datetime(2025, 7, 1, 9, 0, tzinfo=VN), "Hưng Yên") == "Hưng Yên, ngày 01 tháng 7 năm 2025"


def test_date_line_refuses_a_naive_datetime_and_takes_a_plain_date_as_local():
    with pytest.raises(ValueError, match="naive"):
        date_line(datetime(2020, 1, 5, 9, 0))
    assert date_line(date(2020, 2, 3), "Thái Bình") == "Thái Bình, ngày 03 tháng 02 năm 2020"
    assert date_text(date(2020, 10, 1)) == "ngày 01 tháng 10 năm 2020"


def test_document_refuses_an_unknown_kind_or_a_naive_issue_time():
    with pytest.raises(ValueError, match="kind"):
        permit(kind="decision")
    with pytest.raises(ValueError, match="aware"):
        permit(issued_at=datetime(2020, 1, 5, 9, 0))


# --- The header --------------------------------------------------------------------------------------------


def test_header_has_the_parent_authority_the_agency_in_bold_and_the_number():
    document = opened(permit())
    left, _ = header_cells(document)
    assert [t for t in texts(left) if t] == [
        "UBND TỈNH THÁI BÌNH",
        "SỞ THÔNG TIN VÀ TRUYỀN THÔNG",
        "Số: 15/GP-STTTT",
    ]
    parent, agency, number = (p for p in left.paragraphs if p.text)
    assert not any(run.bold for run in runs_with_text(parent))
    assert all(run.bold for run in runs_with_text(agency))
    assert not any(run.bold for run in runs_with_text(number))
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.CENTER for p in (parent, agency, number))
    # The decree's sizes: 12–13 pt for the authority lines, 13 pt for the number.
    assert {run.font.size for run in runs_with_text(agency)} == {Pt(12)}
    assert {run.font.size for run in runs_with_text(number)} == {Pt(13)}


def test_header_motto_lines_are_bold():
    document = opened(permit())
    _, right = header_cells(document)
    motto, sub_motto = [p for p in right.paragraphs if p.text][:2]
    assert motto.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert sub_motto.text == "Độc lập - Tự do - Hạnh phúc"
    assert all(run.bold for run in runs_with_text(motto) + runs_with_text(sub_motto))
    assert {run.font.size for run in runs_with_text(motto)} == {Pt(12)}
    assert {run.font.size for run in runs_with_text(sub_motto)} == {Pt(13)}


def test_header_rules_under_the_agency_and_the_sub_motto():
    document = opened(permit())
    left, right = header_cells(document)
    for cell, after in ((left, "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"), (right, "Độc lập - Tự do - Hạnh phúc")):
        paragraphs = cell.paragraphs
        index = [p.text for p in paragraphs].index(after)
        rule = paragraphs[index + 1]
        assert rule.text == ""
        assert rule._p.pPr.find(qn("w:pBdr")).find(qn("w:top")).get(qn("w:val")) == "single"


def test_header_table_is_borderless_with_fixed_columns():
    document = opened(permit())
    table = document.tables[0]
    assert len(table.columns) == 2
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert {edge.get(qn("w:val")) for edge in borders} == {"nil"}
    assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    left, right = table.rows[0].cells
    assert right.width > left.width


def test_letter_without_title_puts_its_summary_under_the_number():
    document = opened(refusal(title="", summary="V/v từ chối cấp giấy phép hoạt động in"))
    left, _ = header_cells(document)
    assert [t for t in texts(left) if t][-2:] == ["Số: 120/STTTT-TTBCXB", "V/v từ chối cấp giấy phép hoạt động in"]
    assert "V/v từ chối cấp giấy phép hoạt động in" not in [p.text for p in document.paragraphs]
    assert Document(io.BytesIO(document_render(refusal(title="", summary="x")))).core_properties.title == "x"


# --- The content -------------------------------------------------------------------------------------------


def test_permit_title_authority_bases_recipient_body_and_closing_in_order():
    document = opened(permit())
    lines = [p.text for p in document.paragraphs if p.text]
    assert lines == [
        "GIẤY PHÉP XUẤT BẢN BẢN TIN",
        "GIÁM ĐỐC SỞ THÔNG TIN VÀ TRUYỀN THÔNG",
        "Căn cứ Luật Báo chí ngày 05 tháng 4 năm 2016;",
        "Căn cứ Thông tư số 48/2016/TT-BTTTT ngày 30 tháng 12 năm 2016 của Bộ trưởng Bộ Thông tin và Truyền thông;",
        "CHO PHÉP: Trường Đại học Thái Bình",
        "Tên bản tin: Bản tin Đại học Thái Bình",
        "Kỳ hạn xuất bản: 03 tháng/kỳ",
        "Số lượng: 500 bản/kỳ",
        "Nơi in: Công ty Cổ phần In Thái Bình.",
        "Giấy phép có hiệu lực kể từ ngày ký.",
    ]
    title = body_paragraph(document, "GIẤY PHÉP XUẤT BẢN BẢN TIN")
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert all(run.bold for run in runs_with_text(title))
    assert {run.font.size for run in runs_with_text(title)} == {Pt(14)}
    heading = body_paragraph(document, "GIÁM ĐỐC SỞ THÔNG TIN VÀ TRUYỀN THÔNG")
    assert heading.alignment == WD_ALIGN_PARAGRAPH.CENTER and all(run.bold for run in runs_with_text(heading))
    basis = body_paragraph(document, "Căn cứ Luật Báo chí ngày 05 tháng 4 năm 2016;")
    assert all(run.italic for run in runs_with_text(basis))
    value_line = body_paragraph(document, "Tên bản tin: Bản tin Đại học Thái Bình")
    assert not any(run.italic for run in runs_with_text(value_line))
    assert value_line.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert value_line.paragraph_format.first_line_indent == Cm(1.27)


def test_refusal_carries_its_summary_recipient_and_reasons_without_the_permit_heading():
    document = opened(refusal())
    lines = [p.text for p in document.paragraphs if p.text]
    assert lines == [
        "VĂN BẢN TỪ CHỐI CẤP GIẤY PHÉP HOẠT ĐỘNG IN",
        "Về việc từ chối cấp giấy phép hoạt động in cho Công ty TNHH In Minh Phát",
        "Kính gửi: Công ty TNHH In Minh Phát",
        "Mã hồ sơ: 000.00.17.H52-200301-0001",
        "Sở Thông tin và Truyền thông từ chối cấp giấy phép vì các lý do sau:",
        "1. Cơ sở in chưa có mặt bằng sản xuất theo quy định tại khoản 1 Điều 12 Nghị định 60/2014/NĐ-CP;",
        "2. Người đứng đầu cơ sở in chưa có văn bằng về chuyên ngành in.",
    ]
    summary = body_paragraph(document, lines[1])
    assert all(run.bold for run in runs_with_text(summary))
    left, _ = header_cells(document)
    assert "Số: 120/STTTT-TTBCXB" in texts(left)
    _, right = header_cells(document)
    assert "Thái Bình, ngày 09 tháng 3 năm 2020" in texts(right)


def test_signature_block_has_recipients_on_the_left_and_the_signer_on_the_right():
    document = opened(refusal())
    assert len(document.tables) == 2
    left, right = document.tables[1].rows[0].cells
    assert texts(left) == ["Nơi nhận:", "- Như trên;", "- Lưu: VT, TTBCXB."]
    label = left.paragraphs[0]
    assert all(run.bold and run.italic for run in runs_with_text(label))
    signer = [p for p in right.paragraphs if p.text]
    assert [p.text for p in signer] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Trần Thị B"]
    assert all(run.bold for p in signer for run in runs_with_text(p))
    # Room for the signature and the seal between the title and the name.
    texts_right = texts(right)
    assert texts_right[texts_right.index("PHÓ GIÁM ĐỐC") + 1:texts_right.index("Trần Thị B")] == [""] * 4


def test_apology_slip_without_a_number_has_no_number_line():
    document = opened(apology())
    left, right = header_cells(document)
    assert [t for t in texts(left) if t] == ["UBND TỈNH THÁI BÌNH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"]
    assert not any(p.text.startswith("Số:") for p in all_paragraphs(document))
    assert "Thái Bình, ngày 15 tháng 02 năm 2020" in texts(right)
    lines = [p.text for p in document.paragraphs if p.text]
    assert lines[0] == "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
    assert "Kính gửi: Công ty Cổ phần Sách Thái Bình" in lines
    assert "Ngày hẹn trả kết quả mới: ngày 21 tháng 02 năm 2020" in lines
    assert "GIÁM ĐỐC SỞ THÔNG TIN VÀ TRUYỀN THÔNG" not in lines
    sign_left, sign_right = document.tables[1].rows[0].cells
    assert "Nơi nhận:" not in texts(sign_left)
    assert [t for t in texts(sign_right) if t] == ["GIÁM ĐỐC", "Nguyễn Văn A"]


def test_approval_is_addressed_to_the_applicant():
    document = opened(refusal(kind="approval", title="Văn bản chấp thuận", summary="Về việc họp báo",
                              closing=["Sở Thông tin và Truyền thông chấp thuận việc tổ chức họp báo."]))
    lines = [p.text for p in document.paragraphs if p.text]
    assert lines[:3] == ["VĂN BẢN CHẤP THUẬN", "Về việc họp báo", "Kính gửi: Công ty TNHH In Minh Phát"]
    assert lines[-1] == "Sở Thông tin và Truyền thông chấp thuận việc tổ chức họp báo."


def test_line_breaks_are_kept_and_characters_xml_cannot_hold_are_dropped():
    document = opened(permit(body=[("Địa chỉ", "Số 1\x0bđường Lý Bôn\x00"), ("", "dòng một\ndòng hai")]))
    assert "Địa chỉ: Số 1đường Lý Bôn" in [p.text for p in document.paragraphs]
    assert "dòng một\ndòng hai" in [p.text for p in document.paragraphs]


# --- The issuing agency ------------------------------------------------------------------------------------


def test_the_agency_and_its_place_come_with_the_document():
    doc = permit(agency_parent="UBND TỈNH HƯNG YÊN", agency_name="Sở Khoa học và Công nghệ", place="Hưng Yên",
                 recipient="Trường Đại học Hưng Yên",
                 body=[("Tên bản tin", "Bản tin Đại học Hưng Yên")],
                 issued_at=datetime(2025, 7, 15, 9, 0, tzinfo=VN))
    document = opened(doc)
    left, right = header_cells(document)
    assert [t for t in texts(left) if t] == ["UBND TỈNH HƯNG YÊN", "SỞ KHOA HỌC VÀ CÔNG NGHỆ", "Số: 15/GP-STTTT"]
    assert "Hưng Yên, ngày 15 tháng 7 năm 2025" in texts(right)
    assert "GIÁM ĐỐC SỞ KHOA HỌC VÀ CÔNG NGHỆ" in [p.text for p in document.paragraphs]
    assert "Thái Bình" not in all_text(document)
    assert "THÔNG TIN VÀ TRUYỀN THÔNG" not in all_text(document)
    assert document.core_properties.author == "SỞ KHOA HỌC VÀ CÔNG NGHỆ"


def test_without_a_parent_authority_the_header_starts_with_the_agency():
    left, _ = header_cells(opened(permit(agency_parent="")))
    assert [t for t in texts(left) if t] == ["SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "Số: 15/GP-STTTT"]


# --- Page, fonts, properties -------------------------------------------------------------------------------


def test_page_is_a4_portrait_with_the_decree_margins():
    section = opened(permit()).sections[0]
    assert abs(section.page_width - Cm(21)) < Cm(0.01)
    assert abs(section.page_height - Cm(29.7)) < Cm(0.01)
    assert abs(section.top_margin - Cm(2)) < Cm(0.01)
    assert abs(section.bottom_margin - Cm(2)) < Cm(0.01)
    assert abs(section.left_margin - Cm(3)) < Cm(0.01)
    assert Cm(1.5) - Cm(0.01) <= section.right_margin <= Cm(2) + Cm(0.01)


def test_every_run_is_times_new_roman_13_to_14_pt_in_the_body():
    document = opened(permit())
    normal = document.styles["Normal"]
    assert normal.font.name == TNR
    assert normal.font.size == Pt(14)
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    assert {fonts.get(qn(a)) for a in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs")} == {TNR}
    assert fonts.get(qn("w:asciiTheme")) is None and fonts.get(qn("w:hAnsiTheme")) is None
    runs = [run for p in all_paragraphs(document) for run in runs_with_text(p)]
    assert runs
    for run in runs:
        assert run.font.name == TNR, run.text
        run_fonts = run._r.rPr.find(qn("w:rFonts"))
        assert run_fonts.get(qn("w:hAnsi")) == TNR  # Vietnamese letters (Latin Extended) use the hAnsi slot
    body_runs = [run for p in document.paragraphs for run in runs_with_text(p)]
    assert {run.font.size for run in body_runs} <= {Pt(13), Pt(14)}


def test_page_numbers_from_the_second_page():
    section = opened(permit()).sections[0]
    assert section.different_first_page_header_footer
    assert all(p.text == "" for p in section.first_page_header.paragraphs)
    fields = section.header._element.findall(".//" + qn("w:fldSimple"))
    assert [f.get(qn("w:instr")).strip() for f in fields] == ["PAGE"]


def test_core_properties_name_the_document_and_the_agency():
    properties = opened(permit()).core_properties
    assert properties.title == "Giấy phép xuất bản bản tin"
    assert properties.author == "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
    assert properties.keywords == "15/GP-STTTT"
    assert properties.language == "vi-VN"
    assert properties.created == datetime(2020, 1, 5, 9, 0, tzinfo=VN)  # stored as 02:00 UTC


def test_rendering_is_deterministic():
    first = document_render(permit())
    assert document_render(permit()) == first
    assert document_render(permit(signer_name="Lê Văn C")) != first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.testzip() is None
        assert archive.namelist()[0] == "[Content_Types].xml"
        assert not any("thumbnail" in name for name in archive.namelist())
        assert b"thumbnail" not in archive.read("[Content_Types].xml") + archive.read("_rels/.rels")
        assert {info.date_time for info in archive.infolist()} == {(2020, 1, 5, 9, 0, 0)}
