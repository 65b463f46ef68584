"""Issuing freezes: every figure and text of an issued report is stored as issued, and the report printed again gives
the same DOCX byte for byte whatever happens afterwards: a case counted later in the quarter, a corrected indicator,
the agency's name or signer changed in the admin, an edit attempted on a section."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.models import Signer
from cases import roles as r
from cases.errors import InvalidTransition
from licensing import services as licensing_services
from reports import report_services as rs
from reports.indicators import value_set
from reports.models import Indicator
from reports.periods import Period
from reports.quarters import Quarter
from reports.report_content import report_content, report_printed
from reports.report_document import report_docx
from reports.services import contribution_refresh

from .factories import UserFactory, case_make
from .support_reports import report_world, walk_to_issued

pytestmark = pytest.mark.django_db
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def _granted(officer, head, moment):
    with time_machine.travel(moment, tick=False):
        case = case_make(actor=officer, path=("start_review", "propose_grant", "approve"), head=head)
        licensing_services.result_issue(case_id=case.pk)
    contribution_refresh(case_id=case.pk, until=Quarter(2020, 1))
    return case


@pytest.fixture
def issued():
    with time_machine.travel(datetime(2019, 12, 2, 9, tzinfo=HCM), tick=False):
        world = report_world("thai-binh-stttt", "2019-Q4")
    world.officer = UserFactory(roles=[r.LICENSING_OFFICER], agencies=[world.agency])
    _granted(world.officer, world.head, datetime(2019, 12, 5, 10, tzinfo=HCM))
    value_set(actor=world.head, indicator=Indicator.objects.get(code="documents_sent"), agency=world.agency,
              period=Period.parse("2019-Q4"), value=6087)
    with time_machine.travel(datetime(2019, 12, 20, 9, tzinfo=HCM), tick=False):
        report = walk_to_issued(world)
    world.docx = report_docx(report_printed(report))
    return world


def _printing_licences(content) -> str:
    return next(row[3] for row in content["procedures"]["rows"] if row[1] == "Cấp giấy phép hoạt động in")


def test_issuing_then_changing_a_case_leaves_the_issued_document_byte_identical(issued):
    report = issued.report
    assert report.number_text == "01/BC-STTTT" and report.frozen["date_line"] == "Thái Bình, ngày 20 tháng 12 năm 2019"
    assert _printing_licences(report.frozen) == "01"
    _granted(issued.officer, issued.head, datetime(2019, 12, 27, 10, tzinfo=HCM))  # later in the same quarter
    # The live figures moved on (this test would see a change), the issued report did not.
    assert _printing_licences(report_content(report)) == "02"
    report.refresh_from_db()
    assert report_docx(report_printed(report)) == issued.docx
    import hashlib

    assert hashlib.sha256(issued.docx).hexdigest() == report.docx_sha256


def test_an_issued_report_refuses_edits():
    with time_machine.travel(datetime(2019, 12, 2, 9, tzinfo=HCM), tick=False):
        world = report_world("thai-binh-stttt", "2019-Q4")
    with time_machine.travel(datetime(2019, 12, 20, 9, tzinfo=HCM), tick=False):
        report = walk_to_issued(world)
    section = report.sections.get(code="I.1")
    with pytest.raises(InvalidTransition):
        rs.section_edit(actor=world.writers["cntt"], report_id=report.pk, code="I.1", text="Sửa sau khi ban hành.",
                        version=section.version)
    with pytest.raises(InvalidTransition):
        rs.recipients_set(actor=world.office, report_id=report.pk, lines=["- Nơi khác;"], version=report.version)
    with pytest.raises(InvalidTransition):
        rs.report_issue(actor=world.office, report_id=report.pk)  # issued once: the number is never taken again


CHANGES = st.lists(st.sampled_from(["case", "indicator", "agency_name", "signer", "division"]), min_size=1,
                   max_size=4)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES, value=st.integers(min_value=0, max_value=10**9))
def test_whatever_happens_after_the_issue_the_document_never_changes(issued, changes, value):
    report = issued.report
    day = 20
    for change in changes:
        if change == "case":
            day = min(day + 1, 30)
            _granted(issued.officer, issued.head, datetime(2019, 12, day, 10, tzinfo=HCM))
        elif change == "indicator":
            value_set(actor=issued.head, indicator=Indicator.objects.get(code="documents_sent"),
                      agency=issued.agency, period=Period.parse("2019-Q4"), value=value)
        elif change == "agency_name":
            issued.agency.name = f"Sở Thông tin và Truyền thông {value}"
            issued.agency.save(update_fields=["name"])
        elif change == "signer":
            Signer.objects.filter(agency=issued.agency).update(name=f"Người ký {value}")
        else:
            issued.divisions["cntt"].members.clear()
    report.refresh_from_db()
    assert report_docx(report_printed(report)) == issued.docx
