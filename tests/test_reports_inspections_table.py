"""Table 3 of the quarter: inspections per type, from the outcomes and sanction decisions dated in it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from agencies.models import Agency
from inspections.models import Outcome, SanctionDecision, ViolationRecord
from reports.quarters import Quarter
from reports.tables import quarterly_report

from .support_inspections import campaign_make

pytestmark = pytest.mark.django_db
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def campaign_of_2019(**kwargs):
    """A campaign planned in November 2019: Thái Bình's Sở TTTT held it."""
    with time_machine.travel(datetime(2019, 11, 4, 9, tzinfo=HCM), tick=False):
        return campaign_make(**kwargs)


def report(quarter: Quarter) -> dict:
    return quarterly_report(quarter, agency=Agency.objects.get(code="thai-binh-stttt"))


def test_inspection_figures_per_type_and_quarter(lead, inspector):
    # The visits' outcomes are set on the rows here: this test is about the report's counting, the rules that
    # lead to an outcome are tested in tests/test_inspections_*.
    campaign = campaign_of_2019(lead=lead, members=[inspector], shops=5)
    targets = list(campaign.targets.order_by("pk"))
    q4 = datetime(2019, 11, 20, 10, tzinfo=HCM)
    outcomes = [Outcome.COMPLIANT, Outcome.COMPLIANT, Outcome.REMINDER, Outcome.VIOLATION, Outcome.COMPLIANT]
    for target, outcome in zip(targets, outcomes, strict=True):
        target.outcome, target.outcome_at = outcome, q4
        target.save(update_fields=["outcome", "outcome_at"])
    targets[4].outcome_at = datetime(2020, 1, 1, 0, 10, tzinfo=HCM)  # Q1/2020 in local time
    targets[4].save(update_fields=["outcome_at"])
    record = ViolationRecord.objects.create(target=targets[3], year=2019, number=1, number_text="01/BB-VPHC",
                                            description="In không có giấy phép", recorded_at=q4,
                                            recorded_by=lead)
    SanctionDecision.objects.create(violation=record, due_at=q4 + timedelta(days=9), decided_at=q4 + timedelta(days=3),
                                    year=2019, number=1, number_text="01/QĐ-XPVPHC", fine_vnd=15_000_000)

    rows = {row["code"]: row for row in report(Quarter(2019, 4))["inspections"]}
    printing = rows["printing"]
    assert (printing["inspected"], printing["compliant"], printing["reminders"], printing["violations"]) == (4, 2, 1, 1)
    assert (printing["sanctions"], printing["fines_vnd"], printing["fines_text"]) == (1, 15_000_000, "15.000.000")
    assert rows["bts_station"]["inspected"] == 0
    assert len(rows) == 6
    assert {row["code"]: row["inspected"] for row in report(Quarter(2020, 1))["inspections"]}["printing"] == 1


def test_every_inspection_number_opens_the_establishments_behind_it(client, lead, inspector, reporter):
    campaign = campaign_of_2019(lead=lead, members=[inspector], shops=2)
    first, second = campaign.targets.order_by("pk")
    moment = datetime(2019, 11, 20, 10, tzinfo=HCM)
    for target, outcome in ((first, Outcome.COMPLIANT), (second, Outcome.REMINDER)):
        target.outcome, target.outcome_at = outcome, moment
        target.save(update_fields=["outcome", "outcome_at"])
    client.force_login(reporter)
    page = client.get("/reports/quarterly/cases/?quarter=2019-Q4&type=printing&metric=reminders").content.decode()
    assert second.establishment.name in page and first.establishment.name not in page
    report = client.get("/reports/quarterly/?quarter=2019-Q4").content.decode()
    assert "metric=reminders" in report
