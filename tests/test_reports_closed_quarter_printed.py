"""A closed quarter's report prints the figures frozen when it ended: what the department reported, even after a
repair of the kept figures; a quarter not yet frozen prints the kept figures."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agencies.models import Agency
from cases.models import CaseType
from reports.models import ClosedQuarter, QuarterCell
from reports.quarters import Quarter
from reports.tables import quarterly_report

pytestmark = pytest.mark.django_db


def row_of(report, code):
    return next(row for row in report["procedure_results"] if row["code"] == code)


def test_a_frozen_quarter_prints_its_frozen_figures_and_an_open_one_its_kept_figures():
    bulletin = CaseType.objects.get(code="bulletin")
    stttt = Agency.objects.get(code="thai-binh-stttt")
    for quarter, value in ((Quarter(2019, 4), 3), (Quarter(2020, 1), 4)):
        QuarterCell.objects.create(agency=stttt, case_type=bulletin, year=quarter.year, quarter=quarter.number,
                                   metric="results", value=value)
    ClosedQuarter.objects.create(agency=stttt, year=2019, quarter=4, cells={f"{bulletin.pk}:results": 5},
                                 frozen_at=datetime(2020, 1, 1, 0, 5, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    q4 = quarterly_report(Quarter(2019, 4), agency=stttt)
    assert row_of(q4, "bulletin")["count"] == 5  # as reported, not the kept 3
    q1 = row_of(quarterly_report(Quarter(2020, 1), agency=stttt), "bulletin")
    assert (q1["count"], q1["previous"], q1["change"]) == (4, 5, -1)  # the previous quarter as reported too
