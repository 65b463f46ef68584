"""The department's Q4/2019 report (the seed report), made through the reports services with the clock set back:
the office opens it, each division writes its part (the seed's own texts, demo/data/report_2019q4.json), the
inspection division writes I.4 over the service's draft of the quarter's campaigns, the divisions enter section II's
values of Q3 and Q4/2019, the head approves, the office issues it (number and date) and sends it. Then the Q1/2020
report, opened and still owed by most divisions."""

import json
from datetime import datetime
from pathlib import Path

from agencies.models import Agency
from reports import report_services as rs
from reports.indicators import catalogue_load, value_set
from reports.models import Indicator
from reports.periods import Period

from .clock import HCM, at

DATA = Path(__file__).resolve().parent / "data" / "report_2019q4.json"
# Who writes for each division in the demo (the demo has no account per division: the nearest by trade).
DIVISION_MEMBERS = {"cntt": "canbo2", "bcvt": "thanhtra2", "ttbcxb": "canbo1", "thanhtra": "truongdoan",
                    "vanphong": "vanphong"}


class DemoReport:
    def __init__(self, *, users: dict):
        self.users = users
        self.data = json.loads(DATA.read_text(encoding="utf-8"))
        self.agency = Agency.objects.get(code="thai-binh-stttt")

    def _divisions(self) -> dict:
        divisions = rs.divisions_ensure(self.agency)
        for code, username in DIVISION_MEMBERS.items():
            divisions[code].members.add(self.users[username])
        return divisions

    def _values(self, period: str, moment: datetime, divisions: dict) -> None:
        with at(moment):
            for code, value in self.data["values"][period].items():
                indicator = Indicator.objects.get(code=code)
                writer = self.users[DIVISION_MEMBERS[indicator.division_code]]
                value_set(actor=writer, indicator=indicator, agency=self.agency, period=Period.parse(period),
                          value=value)

    def _write(self, report, code: str, lines: list[str], moment: datetime) -> None:
        section = report.sections.select_related("division").get(code=code)
        writer = self.users[DIVISION_MEMBERS[section.division.code]]
        with at(moment):
            section = rs.section_edit(actor=writer, report_id=report.pk, code=code, text="\n".join(lines),
                                      version=section.version)
            rs.section_submit(actor=writer, report_id=report.pk, code=code, version=section.version)

    def build(self) -> int:
        catalogue_load()
        divisions = self._divisions()
        office, head = self.users["vanphong"], self.users["lanhdao"]
        self._values("2019-Q3", datetime(2019, 10, 7, 9, 0, tzinfo=HCM), divisions)
        with at(datetime(2019, 12, 16, 8, 0, tzinfo=HCM)):
            report, _created = rs.report_create(actor=office, agency=self.agency, period=Period.parse("2019-Q4"))
            rs.recipients_set(actor=office, report_id=report.pk, lines=self.data["recipients"],
                              version=report.version)
            rs.report_transition(actor=office, report_id=report.pk, action="open_contributions")
        self._values("2019-Q4", datetime(2019, 12, 18, 9, 0, tzinfo=HCM), divisions)
        for day, code in enumerate(("I.1", "I.2", "I.3", "I.4", "III")):
            self._write(report, code, self.data["sections"][code], datetime(2019, 12, 17 + day, 15, 0, tzinfo=HCM))
        with at(datetime(2019, 12, 23, 9, 0, tzinfo=HCM)):
            rs.report_transition(actor=office, report_id=report.pk, action="submit_for_review")
        with at(datetime(2019, 12, 24, 10, 0, tzinfo=HCM)):
            rs.report_transition(actor=head, report_id=report.pk, action="approve_report")
        with at(datetime(2019, 12, 25, 8, 30, tzinfo=HCM)):
            rs.report_issue(actor=office, report_id=report.pk)
        with at(datetime(2019, 12, 25, 14, 0, tzinfo=HCM)):
            rs.report_transition(actor=office, report_id=report.pk, action="send_report")

        following = self.data["next_report"]
        with at(datetime(2020, 3, 16, 8, 0, tzinfo=HCM)):
            draft, _created = rs.report_create(actor=office, agency=self.agency, period=Period.parse(following["period"]))
            rs.report_transition(actor=office, report_id=draft.pk, action="open_contributions")
        for code, lines in following["sections"].items():
            self._write(draft, code, lines, datetime(2020, 3, 18, 15, 0, tzinfo=HCM))
        return 2
