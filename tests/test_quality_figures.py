"""Service quality figures (reports/quality.py, Quyết định 766/QĐ-TTg) counted by hand on six bulletin dossiers of
2026-Q4, and the cases each number opens.

  A  counter, received 02/11, refused 03/11            on time · refusal letter downloaded (delivered) · rated 3
  B  counter, received 01/10, refused 20/11            late (its due date long past) · only its receipt downloaded
                                                       (not a result) · rated 1
  C  online,  received 01/10, supplement asked at once, answered 18/11, refused 19/11
                                                       on time: the pause is netted out of its due date
  D  online,  received 02/11, granted, issued 04/11    on time · licence downloaded (delivered) · rated 5
  E  online,  received 05/11, still open               received, not resolved
  F  counter, received 06/11, withdrawn 07/11          received, not resolved

  on_time      3/4 (A, C, D of A, B, C, D)        online     3/6 (C, D, E)
  e_delivered  2/4 (A, D of A, B, C, D)           satisfied  1/3 (D of A, B, D)
"""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from applicants.models import ApplicantOrganisation, Rating, ResultDelivery, Submission
from cases import services as case_services
from cases.models import Case
from licensing import services as licensing_services
from licensing import slips
from licensing.models import IssuedDocument
from reports.exports import QUALITY_SHEET, report_csv, report_xlsx
from reports.quality import INDICATOR_KEYS, quality_cases, rate_text
from reports.quarters import Quarter
from reports.services import contributions_refresh
from reports.tables import quarterly_report

from .support_licensing import application_received, required_upload

pytestmark = pytest.mark.django_db
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
QUARTER = Quarter(2026, 4)
NOW = datetime(2026, 11, 20, 16, 0, tzinfo=HCM)


def at(month, day, hour=9):
    return time_machine.travel(datetime(2026, month, day, hour, 0, tzinfo=HCM), tick=False)


def act(case, user, action, note=""):
    case.refresh_from_db()
    case_services.case_transition(case_id=case.pk, actor=user, action=action, note=note)


def refuse(case, officer, head):
    case.refresh_from_db()
    if case.state == "received":
        act(case, officer, "start_review")
    act(case, officer, "propose_refusal", "Nội dung bản tin không phù hợp tôn chỉ, mục đích.")
    act(case, head, "refuse", "Nội dung bản tin không phù hợp tôn chỉ, mục đích.")
    return licensing_services.refusal_letter_issue(case_id=case.pk)


@pytest.fixture
def world(officer, head, django_user_model):
    organisation = ApplicantOrganisation.objects.create(name="Trường Đại học Thái Bình", tax_code="1001045872",
                                                        address="Xã Tân Bình")
    applicant = django_user_model.objects.create_user("doanhnghiep-test", password="pw-test-1234")

    def online(case):
        Submission.objects.create(organisation=organisation, created_by=applicant, procedure="bulletin",
                                  agency=case.agency, state=Submission.State.ACCEPTED, submitted_at=case.received_at,
                                  case=case)

    def rate(case, score):
        Rating.objects.create(case=case, organisation=organisation, user=applicant, score=score)

    def deliver(document):
        ResultDelivery.objects.create(case_id=document.case_id, document=document, user=applicant)

    cases = {}
    with at(10, 1):
        cases["B"] = application_received(officer, "bulletin")
        cases["C"] = application_received(officer, "bulletin")
        online(cases["C"])
    with at(10, 1, 10):
        act(cases["C"], officer, "request_supplement", "Bổ sung quyết định thành lập của nhà trường.")
    with at(11, 2):
        cases["A"] = application_received(officer, "bulletin")
        cases["D"] = application_received(officer, "bulletin")
        online(cases["D"])
        kind, upload = required_upload("bulletin")
        case_services.attachment_add(case_id=cases["D"].pk, actor=officer, upload=upload, kind=kind)
    with at(11, 3):
        letter_a = refuse(cases["A"], officer, head)
    with at(11, 4):
        for action, user in (("start_review", officer), ("propose_grant", officer), ("approve", head)):
            act(cases["D"], user, action)
        licence_d = licensing_services.result_issue(case_id=cases["D"].pk)
    with at(11, 5):
        cases["E"] = application_received(officer, "bulletin")
        online(cases["E"])
    with at(11, 6):
        cases["F"] = application_received(officer, "bulletin")
    with at(11, 7):
        act(cases["F"], officer, "withdraw", "Tổ chức đề nghị rút hồ sơ.")
    with at(11, 18):
        act(cases["C"], officer, "receive_supplement")
    with at(11, 19):
        refuse(cases["C"], officer, head)
    with at(11, 20):
        refuse(cases["B"], officer, head)
        receipt_b = slips.receipt_issue(case_id=cases["B"].pk)
        deliver(letter_a)
        deliver(licence_d)
        deliver(receipt_b)  # a receipt downloaded is not a result delivered
        rate(cases["A"], 3)
        rate(cases["B"], 1)
        rate(cases["D"], 5)
    with time_machine.travel(NOW, tick=False):
        contributions_refresh(case_ids=[case.pk for case in cases.values()], until=QUARTER)
    for case in cases.values():
        case.refresh_from_db()
    return cases


EXPECTED = {"on_time": (3, 4, "ACD", "ABCD"), "online": (3, 6, "CDE", "ABCDEF"),
            "e_delivered": (2, 4, "AD", "ABCD"), "satisfied": (1, 3, "D", "ABD")}


def test_the_hand_counted_cases_give_each_figure(world):
    assert world["C"].due_at > datetime(2026, 11, 19, tzinfo=HCM)  # the pause moved C's appointment
    assert world["B"].due_at < datetime(2026, 11, 20, tzinfo=HCM)  # B was refused after it
    with time_machine.travel(NOW, tick=False):
        report = quarterly_report(QUARTER, agency=world["A"].agency)
    (row,) = [row for row in report["quality"] if row["code"] == "bulletin"]
    for key, (numerator, denominator, _num_cases, _den_cases) in EXPECTED.items():
        cell = row["indicators"][key]
        assert (cell["numerator"], cell["denominator"]) == (numerator, denominator), key
        assert cell["rate"] == round(numerator / denominator, 4)
    assert row["indicators"]["on_time"]["rate_text"] == "75,0%"
    assert row["indicators"]["satisfied"]["rate_text"] == "33,3%"
    # The other procedures have nothing: no share is made of nothing.
    other = next(row for row in report["quality"] if row["code"] != "bulletin")
    assert {other["indicators"][key]["rate_text"] for key in INDICATOR_KEYS} == {"–"}
    assert rate_text(0, 0) == "–" and rate_text(2, 3) == "66,7%"
    # The processing table agrees: four resolved, one late.
    (processing,) = [p for p in report["processing"] if p["code"] == "bulletin"]
    assert (processing["resolved"], processing["late"], processing["received"]) == (4, 1, 6)


def test_each_number_lists_its_cases(world):
    names = {case.pk: name for name, case in world.items()}
    agency = world["A"].agency
    with time_machine.travel(NOW, tick=False):
        for key, (_numerator, _denominator, num_cases, den_cases) in EXPECTED.items():
            for part, expected in (("numerator", num_cases), ("denominator", den_cases)):
                found = quality_cases(Case.objects.filter(case_type__code="bulletin"), quarter=QUARTER,
                                      agency=agency, indicator=key, part=part)
                assert "".join(sorted(names[pk] for pk in found.values_list("pk", flat=True))) == expected, \
                    (key, part)
        # Another quarter holds none of them.
        assert not quality_cases(Case.objects.all(), quarter=QUARTER.previous(), agency=agency,
                                 indicator="online", part="denominator").exists()


def test_the_reporters_page_shows_the_table_and_each_number_opens_its_cases(world, client, reporter):
    names = {case.reference: name for name, case in world.items()}
    agency = world["A"].agency
    client.force_login(reporter)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("reports:quarterly"), {"quarter": str(QUARTER), "agency": agency.pk})
        html = page.content.decode()
        assert page.status_code == 200 and 'id="quality"' in html
        row = html[html.index('<tr data-code="bulletin">', html.index('id="quality"')):]
        row = row[:row.index("</tr>")]
        assert 'data-indicator="on_time" data-rate="0.75"' in row
        for key, (numerator, denominator, num_cases, den_cases) in EXPECTED.items():
            url = reverse("reports:quality-cases")
            for part, count, expected in (("numerator", numerator, num_cases), ("denominator", denominator,
                                                                                  den_cases)):
                query = f"?quarter={QUARTER}&amp;agency={agency.pk}&amp;type=bulletin&amp;indicator={key}&amp;part={part}"
                assert f'href="{url}{query}">{count}</a>' in row, (key, part)
                listed = client.get(url, {"quarter": str(QUARTER), "agency": agency.pk, "type": "bulletin",
                                          "indicator": key, "part": part})
                assert listed.status_code == 200
                body = listed.content.decode()
                found = "".join(sorted(name for reference, name in names.items() if f">{reference}</a>" in body))
                assert found == expected, (key, part)
        for bad in ({"indicator": "nope", "part": "numerator"}, {"indicator": "online", "part": "all"}):
            response = client.get(reverse("reports:quality-cases"),
                                  {"quarter": str(QUARTER), "agency": agency.pk, "type": "bulletin", **bad})
            assert response.status_code == 404


def test_an_officer_may_not_open_the_quality_cases(world, client, officer):
    client.force_login(officer)
    response = client.get(reverse("reports:quality-cases"), {"quarter": str(QUARTER), "type": "bulletin",
                                                              "indicator": "online", "part": "numerator"})
    assert response.status_code == 403


def test_the_exports_carry_the_quality_table(world):
    with time_machine.travel(NOW, tick=False):
        report = quarterly_report(QUARTER, agency=world["A"].agency)
    rows = list(csv.reader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    title = next(i for i, r in enumerate(rows) if r and r[0].startswith("Chất lượng phục vụ"))
    headers = rows[title + 1]
    bulletin = next(r for r in rows[title + 2:] if len(r) > 1 and r[1] == world["A"].case_type.name_vi)
    values = dict(zip(headers, bulletin, strict=True))
    assert values["Tỷ lệ giải quyết đúng hạn: số hồ sơ đạt"] == "3"
    assert values["Tỷ lệ giải quyết đúng hạn: tổng số"] == "4"
    assert values["Tỷ lệ giải quyết đúng hạn (%)"] == "75,0%"
    assert values["Tỷ lệ hồ sơ trực tuyến (%)"] == "50,0%"
    assert values["Tỷ lệ trả kết quả điện tử (%)"] == "50,0%"
    assert values["Tỷ lệ hài lòng (%)"] == "33,3%"

    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(report)))
    sheet = book[QUALITY_SHEET]
    header = [cell.value for cell in sheet[2]]
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=3, values_only=True)}
    bulletin = by_name[world["A"].case_type.name_vi]
    assert bulletin["Tỷ lệ hài lòng: số hồ sơ đạt"] == 1 and bulletin["Tỷ lệ hài lòng: tổng số"] == 3
    assert bulletin["Tỷ lệ trả kết quả điện tử: số hồ sơ đạt"] == 2


def test_slips_downloaded_are_not_results_delivered(world):
    receipts = IssuedDocument.objects.filter(case=world["B"], kind=IssuedDocument.Kind.RECEIPT)
    assert ResultDelivery.objects.filter(document__in=receipts).exists()
    with time_machine.travel(NOW, tick=False):
        delivered = quality_cases(Case.objects.all(), quarter=QUARTER, agency=world["B"].agency,
                                  indicator="e_delivered", part="numerator")
        assert world["B"] not in delivered
