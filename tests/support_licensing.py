"""Realistic dossiers of the six licensing procedures, real file bytes, and reading issued DOCX documents."""

import copy
import io
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from docx import Document
from PIL import Image

HCM = ZoneInfo("Asia/Ho_Chi_Minh")

APPLICANTS = {
    "press_conference": {
        "name": "Hội Nông dân tỉnh Thái Bình", "kind": "association", "tax_code": "1000358921",
        "address": "Số 8 Lê Lợi, phường Lê Hồng Phong, TP Thái Bình", "representative": "Ông Trần Văn Hùng",
        "phone": "0227 3831 245", "email": "hoinongdan@thaibinh.example.vn",
    },
    "bulletin": {
        "name": "Trường Đại học Thái Bình", "kind": "school", "tax_code": "1001045872",
        "address": "Xã Tân Bình, TP Thái Bình", "representative": "PGS.TS Nguyễn Văn Minh",
        "phone": "0227 3633 669", "email": "vanphong@dhtb.example.vn",
    },
    "printing_licence": {
        "name": "Công ty TNHH In Hoàng Long", "kind": "company", "tax_code": "1001123456",
        "address": "Lô C5, Khu công nghiệp Phúc Khánh, TP Thái Bình", "representative": "Bà Phạm Thị Lan",
        "phone": "0912 345 678", "email": "inhoanglong@example.vn",
    },
    "print_registration": {
        "name": "Cơ sở photocopy Minh Khai", "kind": "print_facility", "tax_code": "1001987654",
        "address": "Số 45 Lý Bôn, phường Đề Thám, TP Thái Bình", "representative": "Ông Đỗ Minh Khai",
        "phone": "0983 112 233", "email": "photominhkhai@example.vn",
    },
    "noncommercial_publication": {
        "name": "Sở Y tế tỉnh Thái Bình", "kind": "state_agency", "tax_code": "1000277810",
        "address": "Số 239 Trần Hưng Đạo, TP Thái Bình", "representative": "Ông Lại Đức Trường",
        "phone": "0227 3831 603", "email": "syt@thaibinh.example.vn",
    },
    "publication_import": {
        "name": "Trường Đại học Y Dược Thái Bình", "kind": "school", "tax_code": "1000216335",
        "address": "Số 373 Lý Bôn, TP Thái Bình", "representative": "GS.TS Nguyễn Duy Cường",
        "phone": "0227 3838 545", "email": "thuvien@tbump.example.vn",
    },
}

DOSSIERS = {
    "press_conference": {
        "organiser": "Hội Nông dân tỉnh Thái Bình",
        "chairperson": "Ông Trần Văn Hùng, Chủ tịch Hội Nông dân tỉnh",
        "event_at": "2019-05-08T09:00:00+07:00",
        "venue": "Hội trường Hội Nông dân tỉnh, số 8 Lê Lợi, TP Thái Bình",
        "content": "Thông tin về Hội chợ nông sản an toàn tỉnh Thái Bình năm 2019",
        "expected_press": ["Báo Thái Bình", "Đài Phát thanh và Truyền hình Thái Bình"],
    },
    "bulletin": {
        "publisher": "Trường Đại học Thái Bình",
        "bulletin_name": "Bản tin Đại học Thái Bình",
        "purpose": "Thông tin hoạt động đào tạo, nghiên cứu khoa học của nhà trường",
        "periodicity": "03 tháng/kỳ",
        "pages": 24,
        "copies": 500,
        "format": "19 x 27 cm",
        "printing_place": "Công ty Cổ phần In Thái Bình",
        "responsible_person": "PGS.TS Nguyễn Văn Minh, Hiệu trưởng",
    },
    "printing_licence": {
        "facility_name": "Công ty TNHH In Hoàng Long",
        "facility_address": "Lô C5, Khu công nghiệp Phúc Khánh, TP Thái Bình",
        "owner": "Bà Phạm Thị Lan",
        "equipment": [{"name": "Máy in offset Heidelberg SM 74", "quantity": 2}],
        "products": "Bao bì, nhãn hàng hóa, tờ rơi quảng cáo",
    },
    "print_registration": {
        "facility_name": "Cơ sở photocopy Minh Khai",
        "facility_address": "Số 45 Lý Bôn, phường Đề Thám, TP Thái Bình",
        "owner": "Ông Đỗ Minh Khai",
        "equipment": [{"name": "Máy photocopy Ricoh MP 6055", "quantity": 3}],
        "products": "Photocopy tài liệu, in danh thiếp",
    },
    "noncommercial_publication": {
        "publisher_organisation": "Sở Y tế tỉnh Thái Bình",
        "title": "Cẩm nang phòng chống dịch bệnh mùa đông xuân",
        "author": "Trung tâm Kiểm soát bệnh tật tỉnh Thái Bình",
        "language": "Tiếng Việt",
        "pages": 48,
        "copies": 2000,
        "printing_facility": "Công ty Cổ phần In Thái Bình",
    },
    "publication_import": {
        "importer": "Trường Đại học Y Dược Thái Bình",
        "titles": [{"title": "Gray's Anatomy for Students", "quantity": 20, "origin": "Hoa Kỳ"}],
        "purpose": "Phục vụ giảng dạy và nghiên cứu tại thư viện nhà trường",
    },
}

# The required file kind of each procedure and a real file of the type an applicant would send.
REQUIRED_FILE = {
    "press_conference": None,
    "bulletin": ("layout_sample", "pdf"),
    "printing_licence": ("equipment_documents", "png"),
    "print_registration": ("declaration", "docx"),
    "noncommercial_publication": ("manuscript", "docx"),
    "publication_import": ("shipping_documents", "pdf"),
}

# GP: licences; VB: written decisions (DESIGN.md, the procedures table).
SERIES = {"press_conference": "VB", "bulletin": "GP", "printing_licence": "GP", "print_registration": "VB",
          "noncommercial_publication": "GP", "publication_import": "GP"}


def applicant(procedure: str, **changes) -> dict:
    return {**APPLICANTS[procedure], **changes}


def dossier(procedure: str, **changes) -> dict:
    return {**copy.deepcopy(DOSSIERS[procedure]), **changes}


def application_body(procedure: str, *, received_at: datetime | None = None, fields: dict | None = None,
                     **extra) -> dict:
    body = {"procedure": procedure, "organisation": applicant(procedure),
            "contact_email": APPLICANTS[procedure]["email"],
            "fields": dossier(procedure) if fields is None else fields}
    if received_at is not None:
        body["received_at"] = received_at.isoformat()
    body.update(extra)
    return body


def application_received(actor, procedure: str = "printing_licence", **changes):
    """A licensing case received as the service receives one (licensing.services.application_receive): the
    procedure's realistic dossier and applicant, no file attached yet. Returns the case."""
    from licensing.services import application_receive

    values = {"procedure": procedure, "fields": dossier(procedure), "organisation": applicant(procedure),
              "contact_email": APPLICANTS[procedure]["email"], **changes}
    case, _created = application_receive(actor=actor, **values)
    return case


def school_application(n: int) -> dict:
    """A primary school's bulletin application (API body, with its own uuid): the n-th of many distinct ones."""
    school = f"Trường Tiểu học số {n} huyện Vũ Thư"
    email = f"th{n}@vuthu.example.vn"
    return application_body(
        "bulletin", uuid=str(uuid.uuid4()), contact_email=email,
        organisation=applicant("bulletin", name=school, tax_code=f"10007{n:05d}", email=email),
        fields=dossier("bulletin", publisher=school, bulletin_name=f"Bản tin Trường Tiểu học số {n}"))


# --- Real files ----------------------------------------------------------------------------------------


def pdf_bytes(text: str = "Ho so de nghi cap phep") -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 14 Tf 72 770 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def png_bytes(colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def docx_bytes(text: str = "Tờ khai đăng ký hoạt động cơ sở in") -> bytes:
    document = Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def upload(kind: str, file_type: str, name: str | None = None) -> SimpleUploadedFile:
    content = {"pdf": pdf_bytes, "png": png_bytes, "docx": docx_bytes}[file_type]()
    content_type = {"pdf": "application/pdf", "png": "image/png",
                    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}[file_type]
    return SimpleUploadedFile(name or f"{kind}.{file_type}", content, content_type=content_type)


def required_upload(procedure: str) -> tuple[str, SimpleUploadedFile]:
    kind, file_type = REQUIRED_FILE[procedure]
    return kind, upload(kind, file_type)


# --- Issued documents ------------------------------------------------------------------------------------


def docx_lines(data: bytes) -> list[str]:
    """Every non-empty paragraph of a .docx, the body and the header and signature tables alike."""
    document = Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                lines += [p.text for p in cell.paragraphs]
    return [line.strip() for line in lines if line.strip()]


def date_line_expected(moment: datetime) -> str:
    """ "Thái Bình, ngày 05 tháng 01 năm 2020": the issuing agency's place (agencies/data/: Thái Bình's
    departments until 30/06/2025, Hưng Yên's from 01/07/2025), the local date, two-digit day, months 1–2 with a
    leading zero."""
    local = moment.astimezone(HCM)
    month = f"{local.month:02d}" if local.month < 3 else str(local.month)
    place = "Hưng Yên" if local.date() >= date(2025, 7, 1) else "Thái Bình"
    return f"{place}, ngày {local.day:02d} tháng {month} năm {local.year}"


def download(client, document_id: int):
    """(response, bytes) of an issued document's download."""
    response = client.get(f"/api/v1/licensing/documents/{document_id}/download/")
    content = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, content


def counter_key(series: str, agency_code: str = "hung-yen-svhttdl") -> str:
    """The key of an agency's number counter (licensing.services._number_take): the agency, the series and the
    symbol ("GP" → "document:<id>:GP:SVHTTDL"; the letters "CV" → "document:<id>:CV:SVHTTDL-QLBCXB"). By default the
    agency that issues press and publishing results today (Hưng Yên's Sở VHTTDL since 01/07/2025)."""
    from agencies.models import Agency

    agency = Agency.objects.get(code=agency_code)
    if series == "CV":
        symbol = "-".join(part for part in (agency.symbol, agency.licensing_division_symbol) if part)
    else:
        symbol = agency.symbol
    return f"document:{agency.pk}:{series}:{symbol}"
