"""Agencies over time (issue "Agencies over time", items 1–3): a dossier goes to the agency competent on its receipt
date, and every document prints the agency that issued it, as of its own date, with that agency's number series and
signer. The agencies are the data of agencies/data/ (loaded for every test by conftest): Sở TTTT Thái Bình to
28/02/2025, Sở VHTTDL Thái Bình for press and publishing from 01/03/2025, Hưng Yên's departments from 01/07/2025."""

from datetime import date, datetime

import pytest
import time_machine

from agencies.models import Agency, Signer
from agencies.selectors import agency_ids_visible, signature_on
from cases import roles as r
from cases.competence import agency_competent, agency_history_load_file
from cases.errors import ValidationFailed
from cases.models import CaseType
from cases.selectors import cases_visible
from licensing import services as licensing_services
from licensing.models import IssuedDocument

from .factories import UserFactory, case_make
from .support_licensing import HCM, docx_lines

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


def granted(officer, head, *, received: datetime, decided: datetime, type_code: str = "bulletin") -> IssuedDocument:
    with time_machine.travel(received, tick=False):
        case = case_make(actor=officer, type_code=type_code, received_at=received)
    with time_machine.travel(decided, tick=False):
        case = case_make_continue(case, officer, head)
        document = licensing_services.result_issue(case_id=case.pk)
    return document


def case_make_continue(case, officer, head):
    from cases import services

    for action, by in (("start_review", officer), ("propose_grant", officer), ("approve", head)):
        case = services.case_transition(case_id=case.pk, actor=by, action=action)
    return case


def lines_of(document: IssuedDocument) -> list[str]:
    with document.file.open("rb") as stored:
        return docx_lines(stored.read())


def test_a_dossier_goes_to_the_agency_competent_on_its_receipt_date():
    bulletin = CaseType.objects.get(code="bulletin")
    bts = CaseType.objects.get(code="bts_station")
    code = {day: agency_competent(case_type=bulletin, day=day).code
            for day in (date(2019, 11, 5), date(2025, 2, 28), date(2025, 3, 1), date(2025, 6, 30), date(2025, 7, 1))}
    assert code == {date(2019, 11, 5): "thai-binh-stttt", date(2025, 2, 28): "thai-binh-stttt",
                    date(2025, 3, 1): "thai-binh-svhttdl", date(2025, 6, 30): "thai-binh-svhttdl",
                    date(2025, 7, 1): "hung-yen-svhttdl"}
    # Telecoms went to Science and Technology, press and publishing to Culture, Sports and Tourism.
    assert agency_competent(case_type=bts, day=date(2025, 3, 1)).code == "thai-binh-skhcn"
    assert agency_competent(case_type=bts, day=date(2026, 12, 1)).code == "hung-yen-skhcn"


def test_only_an_agency_the_officer_works_for_receives_and_a_refusal_names_the_date():
    bulletin = CaseType.objects.get(code="bulletin")
    science = UserFactory(roles=[r.LICENSING_OFFICER], agencies=["hung-yen-skhcn"])
    with pytest.raises(ValidationFailed) as refused:
        agency_competent(case_type=bulletin, day=date(2026, 12, 1), actor=science)
    assert "01/12/2026" in str(refused.value.detail)
    culture = UserFactory(roles=[r.LICENSING_OFFICER], agencies=["hung-yen-svhttdl"])
    assert agency_competent(case_type=bulletin, day=date(2026, 12, 1), actor=culture).code == "hung-yen-svhttdl"
    # Naming an agency that is not competent that day is refused, whoever asks.
    with pytest.raises(ValidationFailed):
        agency_competent(case_type=bulletin, day=date(2026, 12, 1), actor=culture,
                         agency=Agency.objects.get(code="thai-binh-stttt"))


def test_a_2019_licence_and_a_2026_licence_each_print_their_own_agency_series_and_signer():
    officer = UserFactory(roles=[r.LICENSING_OFFICER])
    head = UserFactory(roles=[r.DEPARTMENT_HEAD], first_name="Thị Hoa", last_name="Lê")
    culture = Agency.objects.get(code="hung-yen-svhttdl")
    Signer.objects.create(agency=culture, user=head, name="Lê Thị Hoa", title="GIÁM ĐỐC", valid_from=date(2025, 7, 1))

    old = granted(officer, head, received=at(2019, 11, 4, 9), decided=at(2019, 11, 8, 10))
    new = granted(officer, head, received=at(2026, 12, 1, 9), decided=at(2026, 12, 2, 10))

    old_lines = lines_of(old)
    assert old.case.agency.code == "thai-binh-stttt"
    assert "UBND TỈNH THÁI BÌNH" in old_lines and "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in old_lines
    assert "Số: 01/GP-STTTT" in old_lines
    assert any(line.startswith("Thái Bình, ngày 08 tháng 11 năm 2019") for line in old_lines)
    assert "GIÁM ĐỐC SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in old_lines

    new_lines = lines_of(new)
    assert new.case.agency == culture
    assert "UBND TỈNH HƯNG YÊN" in new_lines and "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH" in new_lines
    assert "Số: 01/GP-SVHTTDL" in new_lines  # a new symbol starts its own series at 01
    assert any(line.startswith("Hưng Yên, ngày 02 tháng 12 năm 2026") for line in new_lines)
    assert "GIÁM ĐỐC SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH" in new_lines
    assert any(line.endswith("Lê Thị Hoa") for line in new_lines) and "UBND TỈNH THÁI BÌNH" not in new_lines

    # Downloading the 2019 licence again after the agencies changed gives the same bytes: it was stored as issued.
    with old.file.open("rb") as stored:
        before = stored.read()
    Agency.objects.filter(code="thai-binh-stttt").update(name="Sở Thông tin và Truyền thông (đã giải thể)")
    old.refresh_from_db()
    with old.file.open("rb") as stored:
        assert stored.read() == before


def test_the_next_number_of_an_agency_continues_its_own_series_only():
    officer = UserFactory(roles=[r.LICENSING_OFFICER])
    head = UserFactory(roles=[r.DEPARTMENT_HEAD])
    first = granted(officer, head, received=at(2025, 2, 24, 9), decided=at(2025, 2, 27, 10))
    second = granted(officer, head, received=at(2025, 3, 3, 9), decided=at(2025, 3, 5, 10))
    third = granted(officer, head, received=at(2025, 3, 4, 9), decided=at(2025, 3, 6, 10))
    assert [first.number_text, second.number_text, third.number_text] == ["01/GP-STTTT", "01/GP-SVHTTDL",
                                                                         "02/GP-SVHTTDL"]


def test_the_signature_is_the_deciding_persons_title_that_day():
    agency = Agency.objects.get(code="thai-binh-stttt")
    deputy = UserFactory(roles=[r.DEPARTMENT_HEAD])
    Signer.objects.create(agency=agency, user=deputy, name="Trần Văn B", title="KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC",
                          position=1, valid_from=date(2019, 1, 1), valid_to=date(2019, 12, 31))
    assert signature_on(agency, date(2019, 6, 1), user=deputy).fields() == {
        "signer_title": "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC", "signer_name": "Trần Văn B"}
    # Out of the period, the person signs under the head's title with their own name.
    later = signature_on(agency, date(2020, 6, 1), user=deputy)
    assert later.title == "GIÁM ĐỐC" and later.name == deputy.get_full_name()
    # Nobody decided (a system letter): the head of the day.
    assert signature_on(agency, date(2019, 6, 1)).name == "Vũ Tiến Khoái"


def test_a_user_sees_the_cases_of_their_agencies_and_of_their_predecessors_only():
    officer = UserFactory(roles=[r.LICENSING_OFFICER])
    with time_machine.travel(at(2019, 11, 4, 9), tick=False):
        archive = case_make(actor=officer, received_at=at(2019, 11, 4, 9))
    with time_machine.travel(at(2026, 12, 1, 9), tick=False):
        today = case_make(actor=officer, received_at=at(2026, 12, 1, 9))
    culture = UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=["hung-yen-svhttdl"])
    science = UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=["hung-yen-skhcn"])
    old_only = UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=["thai-binh-stttt"])
    assert set(cases_visible(user=culture)) == {archive, today}  # the archive of its predecessor, and its own
    assert set(cases_visible(user=science)) == {archive}  # a predecessor's archive, nothing of its sister's
    assert set(cases_visible(user=old_only)) == {archive}  # never a successor's
    nobody = UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=[])
    assert not cases_visible(user=nobody).exists() and agency_ids_visible(nobody) == frozenset()


def test_the_history_file_loads_again_without_duplicates_and_keeps_the_admins_corrections():
    Agency.objects.filter(code="hung-yen-svhttdl").update(address="Số 1 đường Ví Dụ, Hưng Yên")
    counts = agency_history_load_file()
    assert counts["agencies"] == 5
    assert Agency.objects.count() == 5
    agency = Agency.objects.get(code="hung-yen-svhttdl")
    assert agency.address == "Số 1 đường Ví Dụ, Hưng Yên"  # loading again adds what is missing, overwrites nothing
    assert {a.code for a in Agency.objects.get(code="thai-binh-stttt").successors.all()} == {
        "thai-binh-skhcn", "thai-binh-svhttdl"}
    agency.phone = "0221 3 000 000"
    agency.save()
    assert [h.phone for h in agency.history.order_by("history_date")][-1:] == ["0221 3 000 000"]
    assert agency.history.count() >= 2  # every change through the models is kept (simple-history)


def test_the_api_names_each_cases_agency_in_the_list_and_the_detail(api):
    """A client of several agencies (or of a successor reading its predecessors' archive) sees whose case it is."""
    officer = UserFactory(roles=[r.LICENSING_OFFICER])
    with time_machine.travel(datetime(2019, 11, 4, 9, tzinfo=HCM), tick=False):
        old = case_make(actor=officer, type_code="printing_licence")
    new = case_make(actor=officer, type_code="printing_licence")
    client = api.as_user(officer)
    stttt, svhttdl = (Agency.objects.get(code=code) for code in ("thai-binh-stttt", "hung-yen-svhttdl"))
    rows = {row["id"]: row["agency"] for row in client.get("/api/v1/cases/", {"page_size": 100}).json()["results"]}
    assert rows[old.pk] == {"id": stttt.pk, "name": str(stttt)}
    assert rows[new.pk] == {"id": svhttdl.pk, "name": str(svhttdl)}
    assert client.get(f"/api/v1/cases/{new.pk}/").json()["agency"]["id"] == svhttdl.pk
    assert client.get(f"/api/v1/licensing/applications/{new.pk}/").json()["agency"]["id"] == svhttdl.pk
