"""The department's work since 2025, across the two reorganisations, made through the services with the clock set
as the year of 2019 is (demo/year.py):

* Sở TTTT Thái Bình, January and February 2025: results issued ("…/GP-STTTT"), a refusal, and three dossiers
  still open on 28/02/2025.
* 01/03/2025: the staff move to its successors (press and publishing to the Sở VHTTDL, telecoms to the Sở KH&CN;
  the memberships change on that day) and the open dossiers are transferred (cases.transfer), so the first
  licences of the Sở VHTTDL Thái Bình ("01/GP-SVHTTDL") finish dossiers the Sở TTTT received.
* Sở VHTTDL Thái Bình, March to June 2025: results, a refusal, a withdrawal, a late result with its apology, and
  one dossier open on 30/06/2025.
* 01/07/2025: Hưng Yên's departments (the same again: memberships, signers, transfers).
* Sở VHTTDL Hưng Yên from July 2025: results in every quarter (numbers from 01 again in its own series),
  refusals, a withdrawal, dossiers still open (some past their due date); a BTS inspection of the Sở KH&CN Hưng
  Yên (Q4/2025) and a print-shop inspection of the Sở VHTTDL Hưng Yên (Q2/2026).

What the agencies are, who signs for them and who works where is data (agencies/data/, demo/accounts.py), kept
in the admin afterwards. Every date is before October 2026: the quarter under way gets its dossiers from
demo/recent.py, with the real clock.
"""

from datetime import date, datetime, timedelta

from agencies.models import Agency
from inspections.models import Establishment

from .accounts import memberships_on, signers_make
from .campaigns import DemoCampaigns
from .clock import HCM
from .year import DemoYear

THAI_BINH = [
    ("Trường Đại học Thái Bình", "school"), ("Hội Nông dân tỉnh Thái Bình", "association"),
    ("Sở Y tế Thái Bình", "state_agency"), ("Tỉnh đoàn Thái Bình", "association"),
    ("Giáo phận Thái Bình", "religious"), ("Công ty CP Bia Thái Bình", "company"),
]
HUNG_YEN = [
    ("Trường Đại học Sư phạm Kỹ thuật Hưng Yên", "school"), ("Hội Nông dân tỉnh Hưng Yên", "association"),
    ("Sở Y tế Hưng Yên", "state_agency"), ("Tỉnh đoàn Hưng Yên", "association"),
    ("Bảo hiểm xã hội tỉnh Hưng Yên", "state_agency"), ("Trường Đại học Thái Bình", "school"),
    ("Liên đoàn Lao động tỉnh Hưng Yên", "association"), ("Giáo phận Thái Bình", "religious"),
    ("Công ty CP Dệt may Phố Hiến", "company"), ("Hội Cựu chiến binh tỉnh Hưng Yên", "association"),
]
HUNG_YEN_FACILITIES = [
    ("Công ty TNHH In Phố Hiến", "Số 8 Điện Biên, phường Phố Hiến, tỉnh Hưng Yên"),
    ("Công ty TNHH In Hoàng Long", "Số 12 Lý Bôn, phường Thái Bình, tỉnh Hưng Yên"),
    ("Công ty CP In Hưng Yên", "Số 45 Nguyễn Văn Linh, phường Sơn Nam, tỉnh Hưng Yên"),
    ("Cơ sở in Minh Phát", "Xã Diêm Điền, tỉnh Hưng Yên"),
    ("Công ty TNHH Bao bì Mỹ Hào", "Phường Mỹ Hào, tỉnh Hưng Yên"),
    ("Cơ sở photocopy Hồng Châu", "Phường Hồng Châu, tỉnh Hưng Yên"),
]
# Results granted by Hưng Yên's Sở VHTTDL, by quarter of decision; one of them late (with its apology), one paused.
GRANTED = {
    (2025, 3): ("press_conference", "noncommercial_publication"),
    (2025, 4): ("bulletin", "printing_licence", "noncommercial_publication"),
    (2026, 1): ("print_registration", "noncommercial_publication"),
    (2026, 2): ("bulletin", "noncommercial_publication", "publication_import"),
    (2026, 3): ("press_conference", "printing_licence", "noncommercial_publication"),
}
LATE, PAUSED = (2026, 2, "noncommercial_publication"), (2025, 4, "bulletin")
MERGED = date(2025, 3, 1)  # Sở TTTT → Sở KH&CN and Sở VHTTDL
PROVINCE = date(2025, 7, 1)  # Thái Bình → Hưng Yên


def _at(day: date | str, hour: int = 9, minute: int = 0) -> datetime:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=HCM)


class DemoSince2025(DemoYear):
    organisations, press = THAI_BINH, ("Báo Thái Bình", "Đài PT-TH Thái Bình")
    seed = 2025

    def __init__(self, *, users: dict):
        super().__init__(officers=[users["canbo1"], users["canbo2"]], head=users["lanhdao"])
        self.users = users
        self.campaigns = 0

    # --- the plan -----------------------------------------------------------------------------------------------

    def open_case(self, code: str, received: datetime, *steps: tuple[str, datetime]):
        self.case(code, received=received, path=[("start_review", received + timedelta(hours=1)), *steps])

    def refused(self, code: str, received: datetime) -> None:
        self.case(code, received=received, path=[
            ("start_review", received + timedelta(hours=2)), ("propose_refusal", received + timedelta(days=3)),
            ("refuse", received + timedelta(days=4))])

    def plan(self) -> None:
        # Sở TTTT Thái Bình, January and February 2025 (Tết: 25/01 to 02/02).
        for code, decided, pause in (("noncommercial_publication", _at("2025-01-09", 10), False),
                                     ("bulletin", _at("2025-01-16", 15), True),
                                     ("press_conference", _at("2025-01-22", 14), False),
                                     ("publication_import", _at("2025-02-12", 9, 30), False),
                                     ("print_registration", _at("2025-02-19", 16), False)):
            self.granted(code, decided, pause=pause)
        self.refused("noncommercial_publication", _at("2025-02-04"))
        # Open on 28/02/2025, finished by the Sở VHTTDL Thái Bình after the transfer.
        self.open_case("bulletin", _at("2025-02-20"), ("propose_grant", _at("2025-03-10", 10)),
                       ("approve", _at("2025-03-11", 15)))
        self.open_case("noncommercial_publication", _at("2025-02-24", 9, 30),
                       ("request_supplement", _at("2025-02-25", 14)), ("receive_supplement", _at("2025-03-04")),
                       ("propose_grant", _at("2025-03-06", 10)), ("approve", _at("2025-03-07", 15)))
        self.case("printing_licence", received=_at("2025-02-27", 14), path=[
            ("start_review", _at("2025-03-03")), ("propose_grant", _at("2025-03-12", 10)),
            ("approve", _at("2025-03-14", 15))])
        self.event(_at(MERGED, 7, 30), lambda: self.reorganise(MERGED, ["thai-binh-stttt"]))

        # Sở VHTTDL Thái Bình, March to June 2025.
        for code, decided, late in (("press_conference", _at("2025-03-26", 14), False),
                                    ("noncommercial_publication", _at("2025-04-09", 10), False),
                                    ("bulletin", _at("2025-05-22", 15), False),
                                    ("noncommercial_publication", _at("2025-06-11", 10), True)):
            self.granted(code, decided, late=late, pause=code == "bulletin")
        self.refused("bulletin", _at("2025-05-05"))
        self.case("print_registration", received=_at("2025-06-02"), path=[
            ("start_review", _at("2025-06-02", 11)), ("withdraw", _at("2025-06-05", 10))])
        # Open on 30/06/2025, finished by the Sở VHTTDL Hưng Yên.
        self.open_case("print_registration", _at("2025-06-27"), ("propose_grant", _at("2025-07-02")),
                       ("approve", _at("2025-07-02", 11)))
        self.event(_at(PROVINCE, 7, 30), lambda: self.reorganise(PROVINCE, ["thai-binh-svhttdl", "thai-binh-skhcn"]))

        # Sở VHTTDL Hưng Yên, from July 2025 to September 2026.
        self.organisations, self.facilities, self.press = HUNG_YEN, HUNG_YEN_FACILITIES, ("Báo Hưng Yên",
                                                                                          "Đài PT-TH Hưng Yên")
        for (year, number), codes in GRANTED.items():
            for position, code in enumerate(codes):
                day = date(year, 3 * number - 2 + position, 8 + (position * 7 + len(code)) % 15)
                decided = _at(self.calendar.next_working_day(day), self.rng.randint(8, 16),
                              self.rng.choice([0, 15, 30, 45]))
                self.granted(code, decided, late=(year, number, code) == LATE, pause=(year, number, code) == PAUSED)
        self.refused("bulletin", _at("2025-10-13"))
        self.refused("publication_import", _at("2026-05-11"))
        self.case("printing_licence", received=_at("2026-02-23"), path=[
            ("start_review", _at("2026-02-23", 11)), ("withdraw", _at("2026-03-02", 10))])
        # Still open today, past their due date but the paused one: in review, two waiting for the head's decision,
        # one waiting for a supplement.
        self.open_case("noncommercial_publication", _at("2026-08-17"))
        self.open_case("publication_import", _at("2026-09-07", 10), ("propose_grant", _at("2026-09-10", 15)))
        self.open_case("bulletin", _at("2026-09-21", 14), ("propose_grant", _at("2026-09-25", 10)))
        self.open_case("printing_licence", _at("2026-09-22", 9, 30), ("request_supplement", _at("2026-09-23", 10)))

        self.event(_at("2025-11-03", 8), self.bts_campaign)
        self.event(_at("2026-04-06", 8), self.print_campaign)

    # --- the steps that are not dossiers' -----------------------------------------------------------------------

    def reorganise(self, day: date, ended: list[str]) -> None:
        """The morning of a reorganisation: the staff work for the successors, the heads sign for them, and each
        ended agency's open cases go to its successors (an administrator runs the transfer)."""
        from cases.transfer import agency_transfer

        memberships_on(self.users, day)
        signers_make(self.users, day)
        for code in ended:
            agency_transfer(agency=Agency.objects.get(code=code), on=day, actor=self.users["admin"], dry_run=False)

    def bts_campaign(self) -> None:
        users = self.users
        team = DemoCampaigns(lead=users["truongdoan_khcn"], inspectors=[users["thanhtra2"]],
                             head=users["lanhdao_khcn"])
        team.origin = ((20, 6400), (106, 500))  # around Phố Hiến
        sites = [team.establishment(i, Establishment.Kind.BTS_SITE, f"Trạm BTS {operator} {code}", address,
                                    operator=operator, site_code=code)
                 for i, (operator, code, address) in enumerate([
                     ("Viettel", "HYN0215", "Phường Phố Hiến, tỉnh Hưng Yên"),
                     ("VNPT", "HYN-0488", "Phường Sơn Nam, tỉnh Hưng Yên"),
                     ("Viettel", "TBH0731", "Phường Thái Bình, tỉnh Hưng Yên")])]
        team.campaign("bts_station", "Kiểm tra việc xây dựng, lắp đặt, khai thác trạm BTS năm 2025",
                      "Luật Viễn thông 2023; Nghị định 15/2020/NĐ-CP; Nghị định 14/2022/NĐ-CP",
                      date(2025, 11, 10), sites,
                      reminders={1: ("site_sign", "Biển báo tại chân cột anten bị mờ, chưa thay mới.")},
                      violation=(2, "inspection_certificate", "Trạm gốc đưa vào khai thác khi chưa được kiểm định."),
                      # NĐ 15/2020 Điều 54 khoản 3 điểm b (in force on 10/11/2025): 20–30 million for an
                      # organisation; the middle of the range, no aggravating or mitigating circumstance. The
                      # catalogue's row has no remedial measure (none traced; NĐ 174/2026 Điều 55 has none), so
                      # the decision names none; the correction is followed up all the same.
                      sanction=(25_000_000, "",
                                "Doanh nghiệp đã kiểm định trạm và nộp bản sao giấy chứng nhận kiểm định."),
                      provision="ND15-54-3b-not-inspected")
        self.campaigns += 1

    def print_campaign(self) -> None:
        users = self.users
        team = DemoCampaigns(lead=users["truongdoan"], inspectors=[users["thanhtra1"]], head=users["lanhdao"])
        team.origin = ((20, 6500), (106, 600))
        shops = [team.establishment(10 + i, Establishment.Kind.PHOTOCOPY_SHOP if "photocopy" in name
                                    else Establishment.Kind.PRINT_SHOP, name, address)
                 for i, (name, address) in enumerate(HUNG_YEN_FACILITIES[2:])]
        team.campaign("printing", "Kiểm tra hoạt động in tại 03 cơ sở in và 01 cơ sở photocopy năm 2026",
                      "Luật Xuất bản 2012; Nghị định 60/2014/NĐ-CP; Nghị định 72/2022/NĐ-CP; "
                      "Nghị định 119/2020/NĐ-CP", date(2026, 4, 13), shops,
                      reminders={0: ("register_book", "Sổ quản lý ấn phẩm nhận in ghi chép chưa đầy đủ.")},
                      violation=(2, "no_unlawful_products", "In nhãn hàng hóa không có hợp đồng, chứng từ nhận in."),
                      # A fine as a whole: no provision of NĐ 119/2020 is in the catalogue yet (none could be traced
                      # to a source), so the record cites none.
                      sanction=(10_000_000, "Buộc tiêu hủy sản phẩm in vi phạm.",
                                "Cơ sở đã tiêu hủy sản phẩm in và bổ sung hợp đồng nhận in."))
        self.campaigns += 1
