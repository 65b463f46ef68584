"""The quarterly report's DOCX reads as the department writes it (seed report 000_c24bcc14e8e31b22): "quý III/2019" in
running text and "QUÝ III/2019" in the title, never "2019-Q3"; section I's item 4 (inspections) before item 5
(administrative procedures); then "Nơi nhận:" and the signer's block, as the licences lay it out."""

import io

import docx
import pytest
from docx.table import Table
from docx.text.paragraph import Paragraph

from agencies.models import Agency
from cases import roles as r
from cases.models import CaseType
from reports.exports import report_docx
from reports.models import QuarterCell
from reports.quarters import Quarter
from reports.tables import quarterly_report

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def stttt() -> Agency:
    return Agency.objects.get(code="thai-binh-stttt")


def report(quarter: Quarter) -> dict:
    return quarterly_report(quarter, agency=stttt())


def figures(code: str, quarter: Quarter, **values) -> None:
    case_type = CaseType.objects.get(code=code)
    for metric, value in values.items():
        QuarterCell.objects.create(agency=stttt(), case_type=case_type, year=quarter.year, quarter=quarter.number,
                                   metric=metric, value=value)


def blocks(data: bytes) -> list:
    """The body in order: paragraph texts (non-empty) and tables."""
    document = docx.Document(io.BytesIO(data))
    found = []
    for element in document.element.body.iterchildren():
        if element.tag.endswith("}p"):
            text = Paragraph(element, document).text.strip()
            if text:
                found.append(text)
        elif element.tag.endswith("}tbl"):
            found.append(Table(element, document))
    return found


def cell_lines(cell) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text.strip()]


def every_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    texts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(texts)


@pytest.fixture
def third_quarter():
    figures("bulletin", Quarter(2019, 3), results=9, received=10, on_time=9)
    figures("bulletin", Quarter(2019, 2), results=7)
    figures("press_conference", Quarter(2019, 3), results=1, received=1, early=1)
    return report(Quarter(2019, 3))


def test_the_quarter_is_written_in_words_never_as_a_code(third_quarter):
    data = report_docx(third_quarter, signer_name="")
    text = every_text(data)
    assert "2019-Q3" not in text and "2019-Q2" not in text and "Q3" not in text
    paragraphs = [block for block in blocks(data) if isinstance(block, str)]
    assert paragraphs[:2] == ["BÁO CÁO", "KẾT QUẢ THỰC HIỆN THỦ TỤC HÀNH CHÍNH VÀ CÔNG TÁC THANH TRA, KIỂM TRA "
                                         "QUÝ III/2019"]
    assert "Kết quả thanh tra, kiểm tra trong quý III/2019:" in paragraphs
    assert "So sánh với quý II/2019:" in paragraphs
    assert "Tình hình giải quyết thủ tục hành chính trong quý III/2019:" in paragraphs
    assert "Quý" not in "\n".join(paragraphs[2:])  # lowercase in running text


def test_sections_follow_the_reports_order_and_it_ends_with_recipients_and_signer(third_quarter):
    # The agency's signer on the quarter's last day (agencies/data/: Thái Bình's Sở TTTT, its director in 2019).
    order = blocks(report_docx(third_quarter))

    header = order[0]
    assert isinstance(header, Table)
    left, right = header.rows[0].cells
    assert left.text.split("\n") == ["UBND TỈNH THÁI BÌNH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "Số:     /BC-STTTT"]
    assert right.text.split("\n")[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert right.text.split("\n")[2].startswith("Thái Bình, ngày ")

    def at(text: str) -> int:
        return order.index(text)

    tables = [index for index, block in enumerate(order) if isinstance(block, Table)]
    headings = [at("I. CÔNG TÁC QUẢN LÝ NHÀ NƯỚC"), at("4. Công tác thanh tra, kiểm tra"),
                at("5. Kết quả thực hiện thủ tục hành chính")]
    assert headings == sorted(headings)
    inspections, results, comparison, processing, signature = tables[1:]
    assert headings[1] < inspections < headings[2] < results < comparison < processing < signature
    assert order[inspections].rows[0].cells[1].text == "Loại kiểm tra"
    assert [c.text for c in order[results].rows[0].cells] == ["TT", "Nội dung", "Đơn vị", "Số lượng"]
    rows = {row.cells[1].text: [c.text for c in row.cells] for row in order[results].rows[1:]}
    assert rows["Cấp giấy phép xuất bản bản tin"] == ["2", "Cấp giấy phép xuất bản bản tin", "GP", "09"]
    assert rows["Cho phép họp báo"][3] == "01"
    changes = {row.cells[1].text: row.cells[4].text for row in order[comparison].rows[1:]}
    assert changes["Cấp giấy phép xuất bản bản tin"] == "+2"
    assert order[processing].rows[0].cells[1].text == "Thủ tục"

    assert signature == len(order) - 1  # nothing after the recipients and the signer
    recipients, signer = order[signature].rows[0].cells
    assert cell_lines(recipients) == ["Nơi nhận:", "- Lãnh đạo Sở;", "- Trưởng các đơn vị thuộc Sở;", "- Lưu: VT."]
    assert cell_lines(signer) == ["GIÁM ĐỐC", "Vũ Tiến Khoái"]
    assert len(signer.paragraphs) == 6  # the title, four lines for the signature and seal, the name


def test_the_signer_comes_from_the_agencys_data_and_an_unknown_name_is_left_blank(settings):
    from agencies.models import Signer

    settings.REPORT_RECIPIENTS = ["Như trên", "UBND tỉnh (để b/c);"]
    Signer.objects.filter(agency__code="thai-binh-stttt").update(title="KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC", name="")
    UserFactory(roles=[r.DEPARTMENT_HEAD], first_name="A", last_name="Nguyễn Văn")
    UserFactory(roles=[r.DEPARTMENT_HEAD], first_name="B", last_name="Trần Thị")  # two heads: who signs is not known
    recipients, signer = blocks(report_docx(report(Quarter(2019, 3))))[-1].rows[0].cells
    assert cell_lines(recipients) == ["Nơi nhận:", "- Như trên;", "- UBND tỉnh (để b/c);", "- Lưu: VT."]
    assert cell_lines(signer) == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
    assert recipients.paragraphs[0].runs[0].bold and recipients.paragraphs[0].runs[0].italic


def test_the_fourth_quarter_compares_with_the_third(third_quarter):
    figures("bulletin", Quarter(2019, 4), results=2)
    paragraphs = [b for b in blocks(report_docx(report(Quarter(2019, 4)), signer_name="")) if
                  isinstance(b, str)]
    assert paragraphs[1].endswith("QUÝ IV/2019")
    assert "So sánh với quý III/2019:" in paragraphs
