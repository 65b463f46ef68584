"""A believable department year (Q3/2019 to Q1/2020) made through the services with the clock set back.

Its Q4/2019 procedure results equal the seed report's table I.5: 01, 09, 02, 02, 19, 02.

Every dossier's steps are planned first (receipt, then its path of actions), then all steps of all dossiers are
taken in the order of their moments, each with the clock at its moment. The tasks a step causes (intake, the
result's issue with its number, letters, emails) run in process under that same clock (`load_demo` runs them
in process), so references follow receipt dates and, within each series and year, a result issued later has a
higher number, as in a real register.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cases import services as case_services
from cases.deadlines import WorkCalendar, due_at_compute
from cases.models import Case, CaseType
from licensing import services
from licensing.procedures import PROCEDURES

from .clock import HCM, at
from .files import demo_pdf

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
PRESS = ("Báo Thái Bình", "Đài PT-TH Thái Bình")


def _fields(code: str, n: int, received: datetime, rng: random.Random, *, organisations=ORGANISATIONS,
            facilities=FACILITIES, press=PRESS) -> tuple[dict, dict]:
    org_name, kind = organisations[n % len(organisations)]
    organisation = {"name": org_name, "kind": kind, "email": f"lienhe{n % len(organisations)}@example.vn"}
    if code == "press_conference":
        return organisation, {
            "organiser": org_name, "chairperson": "Ông Nguyễn Văn Bình", "venue": "Hội trường UBND tỉnh",
            "event_at": (received + timedelta(days=2)).isoformat(), "content": "Thông tin về hoạt động nổi bật",
            "expected_press": list(press)}
    if code == "bulletin":
        return organisation, {
            "publisher": org_name, "bulletin_name": f"Bản tin {org_name}", "purpose": "Thông tin nội bộ",
            "periodicity": rng.choice(["1 tháng/số", "3 tháng/số"]), "pages": rng.choice([16, 20, 24]),
            "copies": rng.choice([300, 500, 1000]), "format": "19 x 27 cm",
            "printing_place": facilities[0][0], "responsible_person": "Ông Trần Văn Hải"}
    if code in ("printing_licence", "print_registration"):
        name, address = facilities[n % len(facilities)]
        organisation = {"name": name, "kind": "print_facility", "email": f"in{n % len(facilities)}@example.vn"}
        return organisation, {
            "facility_name": name, "facility_address": address, "owner": "Ông Phạm Văn Minh",
            "equipment": [{"name": "Máy in offset", "quantity": rng.randint(1, 3)},
                          {"name": "Máy xén giấy", "quantity": 1}], "products": "Sách, tài liệu, tờ rơi"}
    if code == "noncommercial_publication":
        return organisation, {
            "publisher_organisation": org_name, "title": f"Tài liệu tuyên truyền số {n}", "author": org_name,
            "language": "Tiếng Việt", "pages": rng.choice([24, 48, 64, 96]), "copies": rng.choice([500, 1000, 2000]),
            "printing_facility": facilities[n % 3][0]}
    return organisation, {
        "importer": org_name, "purpose": "Sinh hoạt, nghiên cứu, không kinh doanh",
        "titles": [{"title": f"Ấn phẩm nhập khẩu {n}", "quantity": rng.choice([20, 50, 100]),
                    "origin": rng.choice(["Pháp", "Hoa Kỳ", "Nhật Bản"])}]}


def _working_moment(calendar: WorkCalendar, day: datetime, rng: random.Random) -> datetime:
    local = calendar.next_working_day(day.date())
    return datetime(local.year, local.month, local.day, rng.randint(8, 16), rng.choice([0, 15, 30, 45]), tzinfo=HCM)


NOTES = {"request_supplement": "Đề nghị bổ sung bản sao quyết định thành lập và mẫu trình bày.",
         "propose_refusal": "Nội dung không phù hợp tôn chỉ, mục đích hoạt động của đơn vị.",
         "refuse": "Nội dung không phù hợp tôn chỉ, mục đích hoạt động của đơn vị.",
         "withdraw": "Đơn vị có văn bản xin rút hồ sơ.",
         "apologise_late": "Hồ sơ cần xin ý kiến cơ quan chuyên môn."}
HEAD_ACTIONS = ("approve", "refuse", "return_for_review")


@dataclass
class PlannedDossier:
    """One planned dossier: received at `received`, then the `path` of (action, moment)."""

    code: str
    officer: object
    organisation: dict
    fields: dict
    received: datetime
    path: list[tuple[str, datetime]]
    number: int
    case: Case | None = field(default=None, repr=False)

    def moments(self) -> list[datetime]:
        return [self.received, *(moment for _action, moment in self.path)]


class DemoYear:
    organisations, facilities, press = ORGANISATIONS, FACILITIES, PRESS
    seed = 2019

    def __init__(self, *, officers, head):
        self.officers, self.head = officers, head
        self.rng = random.Random(self.seed)
        self.calendar = WorkCalendar()
        self.count = 0
        self.planned: list[PlannedDossier] = []
        self.events: list[tuple[datetime, Callable[[], object]]] = []

    def event(self, moment: datetime, step: Callable[[], object]) -> None:
        """Plan a step that is not a dossier's (a reorganisation, a campaign): taken at `moment`, before the
        dossiers' steps of that same moment."""
        self.events.append((moment, step))

    def case(self, code: str, *, received: datetime, path: list[tuple[str, datetime]]) -> PlannedDossier:
        """Plan one dossier received at `received` that then takes the `path` of (action, moment)."""
        self.count += 1
        organisation, fields = _fields(code, self.count, received, self.rng, organisations=self.organisations,
                                       facilities=self.facilities, press=self.press)
        dossier = PlannedDossier(code=code, officer=self.officers[self.count % len(self.officers)],
                          organisation=organisation, fields=fields, received=received, path=path, number=self.count)
        moments = dossier.moments()
        if moments != sorted(moments):
            raise ValueError(f"the steps of dossier {self.count} ({code}) are not in time order: {moments}")
        self.planned.append(dossier)
        return dossier

    def granted(self, code: str, decided: datetime, *, late: bool = False, pause: bool = False) -> PlannedDossier:
        """A dossier granted at `decided`; late ones get an apology letter, paused ones a supplement request."""
        if code == "press_conference":
            received, late, pause = decided - timedelta(hours=4), False, False
        else:
            terms = CaseType.objects.get(code=code).terms_on(decided.date())
            received = _working_moment(self.calendar, decided - timedelta(days=self.rng.randint(2, 5)), self.rng)
            received = min(received, decided - timedelta(hours=6))
            back = 4
            while late and due_at_compute(start=received, amount=terms.limit_amount, unit=terms.limit_unit,
                                          calendar=self.calendar) > decided - timedelta(days=2):
                earlier = _working_moment(self.calendar, received - timedelta(days=back), self.rng)
                # Four days back may land in a holiday that ends on the receipt day (30/4 to 3/5): go further.
                received, back = (earlier, 4) if earlier < received else (received, back + 4)
        path = [("start_review", received + timedelta(hours=1))]
        length = decided - received
        if pause and not late and length > timedelta(days=4):
            path += [("request_supplement", received + timedelta(hours=3)),
                     ("receive_supplement", received + length / 2)]
        if late:
            path.append(("apologise_late", decided - timedelta(days=1)))
        path += [("propose_grant", decided - timedelta(hours=2)), ("approve", decided)]
        return self.case(code, received=received, path=path)

    def plan(self) -> None:
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

    def build(self) -> int:
        """Plan the year, then take every step of every dossier (and every other planned step) in the order of
        its moment."""
        self.plan()
        steps = sorted([(moment, 1, index, step) for index, dossier in enumerate(self.planned)
                        for step, moment in enumerate(dossier.moments())]
                       + [(moment, 0, index, 0) for index, (moment, _step) in enumerate(self.events)])
        for moment, kind, index, step in steps:
            with at(moment):
                if kind == 0:
                    self.events[index][1]()
                else:
                    self._take(self.planned[index], step, moment)
        return self.count

    def _take(self, dossier: PlannedDossier, step: int, moment: datetime) -> None:
        officer = dossier.officer
        if step == 0:
            dossier.case, _created = services.application_receive(
                actor=officer, procedure=dossier.code, fields=dossier.fields, organisation=dossier.organisation)
            for kind, _label in PROCEDURES[dossier.code].required_files:
                upload = demo_pdf(f"{kind}.pdf", f"{dossier.number}-{kind}")
                case_services.attachment_add(case_id=dossier.case.pk, actor=officer, upload=upload, kind=kind)
            return
        action, _moment = dossier.path[step - 1]
        case = dossier.case
        extra = {}
        if action == "apologise_late":
            case.refresh_from_db()
            extra = {"new_due_at": max(moment, case.due_at) + timedelta(days=3)}
        case_services.case_transition(case_id=case.pk, actor=self.head if action in HEAD_ACTIONS else officer,
                                      action=action, note=NOTES.get(action, ""), **extra)
