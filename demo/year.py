"""A believable department year (Q3/2019 to Q1/2020) made through the services with the clock set back.

Its Q4/2019 procedure results equal the seed report's table I.5: 01, 09, 02, 02, 19, 02.
"""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from cases import services as case_services
from cases.deadlines import WorkCalendar, due_at_compute
from cases.models import CaseType

from . import services
from .procedures import PROCEDURES

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n%%EOF\n"

# Granted results by quarter of decision, in catalogue order (Q4/2019 = the seed's table I.5).
GRANTED = {
    (2019, 3): {"press_conference": 2, "bulletin": 7, "printing_licence": 1, "print_registration": 3,
                "noncommercial_publication": 15, "publication_import": 1},
    (2019, 4): {"press_conference": 1, "bulletin": 9, "printing_licence": 2, "print_registration": 2,
                "noncommercial_publication": 19, "publication_import": 2},
    (2020, 1): {"press_conference": 1, "bulletin": 6, "printing_licence": 1, "print_registration": 1,
                "noncommercial_publication": 12, "publication_import": 2},
}
ORGANISATIONS = [
    ("Trường Đại học Thái Bình", "school"), ("Trường Cao đẳng Y tế Thái Bình", "school"),
    ("Hội Nông dân tỉnh Thái Bình", "association"), ("Liên đoàn Lao động tỉnh", "association"),
    ("Sở Y tế Thái Bình", "state_agency"), ("Bảo hiểm xã hội tỉnh Thái Bình", "state_agency"),
    ("Tỉnh đoàn Thái Bình", "association"), ("Giáo phận Thái Bình", "religious"),
    ("Hội Cựu chiến binh tỉnh", "association"), ("Công ty CP Bia Thái Bình", "company"),
]
FACILITIES = [("Công ty TNHH In Hoàng Long", "Số 12 Lý Bôn, TP. Thái Bình"),
              ("Cơ sở in Minh Phát", "Thị trấn Diêm Điền, Thái Thụy"),
              ("Công ty CP In Thái Bình", "Số 45 Trần Hưng Đạo, TP. Thái Bình"),
              ("Cơ sở in Quang Trung", "Xã Đông Mỹ, TP. Thái Bình"),
              ("Công ty TNHH Bao bì Tiền Hải", "Thị trấn Tiền Hải"),
              ("Cơ sở photocopy Hòa Bình", "Phường Bồ Xuyên, TP. Thái Bình")]


def _fields(code: str, n: int, received: datetime, rng: random.Random) -> tuple[dict, dict]:
    org_name, kind = ORGANISATIONS[n % len(ORGANISATIONS)]
    organisation = {"name": org_name, "kind": kind, "email": f"lienhe{n % len(ORGANISATIONS)}@example.vn"}
    if code == "press_conference":
        return organisation, {
            "organiser": org_name, "chairperson": "Ông Nguyễn Văn Bình", "venue": "Hội trường UBND tỉnh",
            "event_at": (received + timedelta(days=2)).isoformat(), "content": "Thông tin về hoạt động nổi bật",
            "expected_press": ["Báo Thái Bình", "Đài PT-TH Thái Bình"]}
    if code == "bulletin":
        return organisation, {
            "publisher": org_name, "bulletin_name": f"Bản tin {org_name}", "purpose": "Thông tin nội bộ",
            "periodicity": rng.choice(["1 tháng/số", "3 tháng/số"]), "pages": rng.choice([16, 20, 24]),
            "copies": rng.choice([300, 500, 1000]), "format": "19 x 27 cm",
            "printing_place": FACILITIES[0][0], "responsible_person": "Ông Trần Văn Hải"}
    if code in ("printing_licence", "print_registration"):
        name, address = FACILITIES[n % len(FACILITIES)]
        organisation = {"name": name, "kind": "print_facility", "email": f"in{n % len(FACILITIES)}@example.vn"}
        return organisation, {
            "facility_name": name, "facility_address": address, "owner": "Ông Phạm Văn Minh",
            "equipment": [{"name": "Máy in offset", "quantity": rng.randint(1, 3)},
                          {"name": "Máy xén giấy", "quantity": 1}], "products": "Sách, tài liệu, tờ rơi"}
    if code == "noncommercial_publication":
        return organisation, {
            "publisher_organisation": org_name, "title": f"Tài liệu tuyên truyền số {n}", "author": org_name,
            "language": "Tiếng Việt", "pages": rng.choice([24, 48, 64, 96]), "copies": rng.choice([500, 1000, 2000]),
            "printing_facility": FACILITIES[n % 3][0]}
    return organisation, {
        "importer": org_name, "purpose": "Sinh hoạt, nghiên cứu, không kinh doanh",
        "titles": [{"title": f"Ấn phẩm nhập khẩu {n}", "quantity": rng.choice([20, 50, 100]),
                    "origin": rng.choice(["Pháp", "Hoa Kỳ", "Nhật Bản"])}]}


def _at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def _working_moment(calendar: WorkCalendar, day: datetime, rng: random.Random) -> datetime:
    local = calendar.next_working_day(day.date())
    return datetime(local.year, local.month, local.day, rng.randint(8, 16), rng.choice([0, 15, 30, 45]), tzinfo=HCM)


class DemoYear:
    def __init__(self, *, officers, head):
        self.officers, self.head = officers, head
        self.rng = random.Random(2019)
        self.calendar = WorkCalendar()
        self.count = 0

    def case(self, code: str, *, received: datetime, path: list[tuple[str, datetime]]):
        """Receive one dossier at `received` and take the `path` of (action, moment) through the services."""
        self.count += 1
        organisation, fields = _fields(code, self.count, received, self.rng)
        officer = self.officers[self.count % len(self.officers)]
        with _at(received):
            case, _created = services.application_receive(actor=officer, procedure=code, fields=fields,
                                                          organisation=organisation)
            for kind, _label in PROCEDURES[code].required_files:
                upload = SimpleUploadedFile(f"{kind}.pdf", PDF + f"{self.count}-{kind}".encode(), "application/pdf")
                case_services.attachment_add(case_id=case.pk, actor=officer, upload=upload, kind=kind)
        for action, moment in path:
            actor = self.head if action in ("approve", "refuse", "return_for_review") else officer
            note = {"request_supplement": "Đề nghị bổ sung bản sao quyết định thành lập và mẫu trình bày.",
                    "propose_refusal": "Nội dung không phù hợp tôn chỉ, mục đích hoạt động của đơn vị.",
                    "refuse": "Nội dung không phù hợp tôn chỉ, mục đích hoạt động của đơn vị.",
                    "withdraw": "Đơn vị có văn bản xin rút hồ sơ.",
                    "apologise_late": "Hồ sơ cần xin ý kiến cơ quan chuyên môn."}.get(action, "")
            with _at(moment):
                extra = {}
                if action == "apologise_late":
                    case.refresh_from_db()
                    extra = {"new_due_at": max(moment, case.due_at) + timedelta(days=3)}
                case_services.case_transition(case_id=case.pk, actor=actor, action=action, note=note, **extra)
        return case

    def granted(self, code: str, decided: datetime, *, late: bool = False, pause: bool = False):
        """A dossier granted at `decided`; late ones get an apology letter, paused ones a supplement request."""
        if code == "press_conference":
            received, late, pause = decided - timedelta(hours=4), False, False
        else:
            terms = CaseType.objects.get(code=code).terms_on(decided.date())
            received = _working_moment(self.calendar, decided - timedelta(days=self.rng.randint(2, 5)), self.rng)
            received = min(received, decided - timedelta(hours=6))
            while late and due_at_compute(start=received, amount=terms.limit_amount, unit=terms.limit_unit,
                                          calendar=self.calendar) > decided - timedelta(days=2):
                received = _working_moment(self.calendar, received - timedelta(days=4), self.rng)
        path = [("start_review", received + timedelta(hours=1))]
        length = decided - received
        if pause and not late and length > timedelta(days=4):
            path += [("request_supplement", received + timedelta(hours=3)),
                     ("receive_supplement", received + length / 2)]
        if late:
            path.append(("apologise_late", decided - timedelta(days=1)))
        path += [("propose_grant", decided - timedelta(hours=2)), ("approve", decided)]
        return self.case(code, received=received, path=path)

    def build(self) -> int:
        rng = self.rng
        for (year, number), plan in GRANTED.items():
            first_month = 3 * number - 2
            for code, total in plan.items():
                for index in range(total):
                    month = first_month + index % 3
                    day = 3 + (index * 7) % 24
                    decided = _working_moment(self.calendar, datetime(year, month, day, tzinfo=HCM), rng)
                    if (year, number, code, index) == (2019, 4, "bulletin", 0):
                        decided = datetime(2019, 12, 31, 23, 30, tzinfo=HCM)  # still Q4/2019
                    if (year, number, code, index) == (2020, 1, "noncommercial_publication", 0):
                        decided = datetime(2020, 1, 1, 0, 10, tzinfo=HCM)  # already Q1/2020
                    self.granted(code, decided, late=(index % 6 == 5), pause=(index % 4 == 1))
        # Refusals, withdrawals and cases still open at the end of 2019.
        for code in ("bulletin", "noncommercial_publication", "publication_import"):
            received = datetime(2019, 11, 4, 9, 0, tzinfo=HCM)
            self.case(code, received=received, path=[
                ("start_review", received + timedelta(hours=2)),
                ("propose_refusal", received + timedelta(days=3)), ("refuse", received + timedelta(days=4))])
        received = datetime(2019, 10, 14, 9, 30, tzinfo=HCM)
        self.case("printing_licence", received=received, path=[
            ("start_review", received + timedelta(hours=2)), ("withdraw", received + timedelta(days=6))])
        for code in ("bulletin", "noncommercial_publication"):
            received = datetime(2019, 12, 26, 10, 0, tzinfo=HCM)
            self.case(code, received=received, path=[("start_review", received + timedelta(hours=1))])
        return self.count
