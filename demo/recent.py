"""Recent dossiers, received in the last days of the current quarter, one per procedure in each state of the path
(received, in review, waiting for a supplement, proposed, issued, refused): what officers find on their pages today."""

from datetime import timedelta

from django.utils import timezone

from cases import services
from cases.deadlines import quarter_start
from licensing.procedures import PROCEDURES
from licensing.services import application_receive

from .files import demo_pdf

FACILITY = {"facility_name": "Công ty TNHH In Hoàng Long", "facility_address": "Số 12 Lý Bôn, TP. Thái Bình",
            "owner": "Nguyễn Văn Long", "equipment": [{"name": "Máy in offset 4 màu Heidelberg", "quantity": 2},
                                                      {"name": "Máy cắt giấy", "quantity": 1}],
            "products": "Sách, tạp chí, tờ rơi, bao bì"}
DOSSIERS = {
    "press_conference": (
        {"name": "Báo Thái Bình", "kind": "press_agency", "email": "toasoan@baothaibinh.example"},
        lambda now: {"organiser": "Sở Văn hóa, Thể thao và Du lịch", "chairperson": "Ông Trần Văn Nam",
                     "event_at": (now + timedelta(days=3)).isoformat(), "venue": "Hội trường UBND tỉnh",
                     "content": "Giới thiệu Ngày hội Văn hóa, Thể thao và Du lịch tỉnh",
                     "expected_press": ["Báo Thái Bình", "Đài PT-TH Thái Bình"]}),
    "bulletin": (
        {"name": "Trường Đại học Thái Bình", "kind": "school", "email": "vanphong@tbu.example"},
        lambda now: {"publisher": "Trường Đại học Thái Bình", "bulletin_name": "Bản tin Đại học Thái Bình",
                     "purpose": "Thông tin hoạt động đào tạo, nghiên cứu khoa học", "periodicity": "3 tháng/số",
                     "pages": 24, "copies": 500, "format": "19 x 27 cm",
                     "printing_place": "Công ty TNHH In Hoàng Long", "responsible_person": "PGS.TS. Lê Văn Hòa"}),
    "printing_licence": ({"name": "Công ty TNHH In Hoàng Long", "kind": "print_facility",
                          "tax_code": "1000123456", "email": "inhoanglong@example.vn"}, lambda now: FACILITY),
    "print_registration": (
        {"name": "Cơ sở in Minh Phát", "kind": "print_facility", "email": "minhphat@example.vn"},
        lambda now: {**FACILITY, "facility_name": "Cơ sở in Minh Phát", "facility_address": "Thị trấn Diêm Điền",
                     "owner": "Phạm Minh Phát"}),
    "noncommercial_publication": (
        {"name": "Hội Nông dân tỉnh Thái Bình", "kind": "association", "email": "hoinongdan@example.vn"},
        lambda now: {"publisher_organisation": "Hội Nông dân tỉnh Thái Bình",
                     "title": "Tài liệu tuyên truyền kỷ niệm 130 năm thành lập tỉnh", "author": "Nhiều tác giả",
                     "language": "Tiếng Việt", "pages": 64, "copies": 2000,
                     "printing_facility": "Công ty TNHH In Hoàng Long"}),
    "publication_import": (
        {"name": "Giáo xứ Thái Bình", "kind": "religious", "email": "giaoxu@example.vn"},
        lambda now: {"importer": "Giáo xứ Thái Bình", "purpose": "Sinh hoạt tôn giáo, không kinh doanh",
                     "titles": [{"title": "Sách kinh (bản tiếng Việt)", "quantity": 200, "origin": "Pháp"}]}),
}
PATHS = {
    "received": [],
    "in_review": [("start_review", "officer", "")],
    "supplement": [("start_review", "officer", ""),
                   ("request_supplement", "officer", "Bổ sung bản sao giấy phép kinh doanh.")],
    "proposed": [("start_review", "officer", ""), ("propose_grant", "officer", "")],
    "issued": [("start_review", "officer", ""), ("propose_grant", "officer", ""), ("approve", "head", "")],
    "refused": [("start_review", "officer", ""),
                ("propose_refusal", "officer", "Nội dung không phù hợp tôn chỉ, mục đích."),
                ("refuse", "head", "Nội dung không phù hợp tôn chỉ, mục đích.")],
}


def recent_dossiers(*, officer, head) -> int:
    """Receive and walk the recent dossiers with the real clock. Returns how many were made."""
    now = timezone.now()
    # A receipt cannot be dated in a quarter that has ended: early in a quarter the oldest ones are dated at its start.
    earliest = quarter_start(now)
    actors = {"officer": officer, "head": head}
    made = 0
    for code, (organisation, fields) in DOSSIERS.items():
        for path in PATHS:
            made += 1
            received_at = max(earliest, now - timedelta(hours=3 if code == "press_conference" else 24 * (made % 9 + 1)))
            case, _ = application_receive(actor=officer, procedure=code, organisation=organisation,
                                          fields=fields(now), received_at=received_at)
            if path not in ("received", "supplement"):
                for kind, _label in PROCEDURES[code].required_files:
                    upload = demo_pdf(f"{kind}.pdf", f"{case.reference}-{kind}")
                    services.attachment_add(case_id=case.pk, actor=officer, upload=upload, kind=kind)
            for action, who, note in PATHS[path]:
                services.case_transition(case_id=case.pk, actor=actors[who], action=action, note=note)
    return made
