from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases import services as case_services
from licensing import services as licensing_services
from reports import services as report_services
from reports.quarters import Quarter

from .factories import case_make

pytestmark = pytest.mark.django_db
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_reporter_reads_the_quarter_and_opens_the_cases_behind_a_number(client, officer, head, reporter):
    case = case_make(actor=officer, type_code="bulletin", received_at=datetime(2019, 10, 1, 9, tzinfo=HCM))
    with time_machine.travel(datetime(2019, 10, 10, 9, tzinfo=HCM), tick=False):
        for action, actor in (("start_review", officer), ("propose_grant", officer), ("approve", head)):
            case_services.case_transition(case_id=case.pk, actor=actor, action=action)
        licensing_services.result_issue(case_id=case.pk)  # the worker's task: a grant counts once issued
    report_services.contribution_refresh(case_id=case.pk, until=Quarter(2020, 1))
    client.force_login(reporter)
    page = client.get("/reports/quarterly/?quarter=2019-Q4")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Quý IV/2019" in html
    assert "Cấp giấy phép xuất bản bản tin" in html
    assert "<svg" in html and "Quý I/2019" in html  # the chart covers the last four quarters
    assert 'format=xlsx' in html and 'format=docx' in html
    drill = client.get("/reports/quarterly/cases/?quarter=2019-Q4&type=bulletin&metric=results")
    assert drill.status_code == 200 and case.reference in drill.content.decode()
    empty = client.get("/reports/quarterly/cases/?quarter=2019-Q3&type=bulletin&metric=results")
    assert case.reference not in empty.content.decode()


def test_report_page_is_for_reporters_heads_and_administrators(client, officer, inspector):
    client.force_login(inspector)
    assert client.get("/reports/quarterly/").status_code == 403
    client.force_login(officer)
    assert client.get("/reports/quarterly/").status_code == 403


def test_a_wrong_quarter_gives_a_readable_message(client, reporter):
    client.force_login(reporter)
    page = client.get("/reports/quarterly/?quarter=2019-Q7")
    assert page.status_code == 200
    assert "2019-Q4" in page.content.decode()  # the message says what a quarter looks like
