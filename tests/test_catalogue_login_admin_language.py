from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from cases.models import CalendarDay, Case, CaseType, CaseTypeTerms

from .factories import UserFactory, case_make

pytestmark = pytest.mark.django_db
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_catalogue_holds_the_six_procedures_in_report_order_and_six_inspection_types():
    licensing = list(CaseType.objects.filter(domain="licensing").order_by("report_order"))
    assert [t.name_vi for t in licensing] == [
        "Cho phép họp báo", "Cấp giấy phép xuất bản bản tin", "Cấp giấy phép hoạt động in",
        "Đăng ký hoạt động cơ sở in", "Cấp giấy phép xuất bản tài liệu không kinh doanh",
        "Cấp giấy phép nhập khẩu xuất bản phẩm không kinh doanh",
    ]
    units = [t.terms_on(date(2019, 12, 31)).result_unit for t in licensing]
    assert units == ["VB", "GP", "GP", "VB", "GP", "GP"]
    press = licensing[0].terms_on(date(2019, 12, 31))
    assert (press.limit_amount, press.limit_unit) == (12, "hours")
    assert set(CaseType.objects.filter(domain="inspection").values_list("code", flat=True)) == {
        "prepaid_sim", "internet_service", "bts_station", "publication_distribution", "printing",
        "conformity_labelling"}


def test_a_change_of_law_applies_to_new_cases_and_leaves_old_ones_alone(officer):
    registration = CaseType.objects.get(code="print_registration")
    old = case_make(actor=officer, type_code="print_registration",
                    received_at=datetime(2020, 6, 29, 9, 0, tzinfo=HCM))
    CaseTypeTerms.objects.create(case_type=registration, effective_from=date(2020, 7, 1), result_unit="VB",
                                 limit_amount=5, limit_unit="working_days", legal_basis="Nghị định mới (giả định)")
    new = case_make(actor=officer, type_code="print_registration",
                    received_at=datetime(2020, 7, 1, 9, 0, tzinfo=HCM))
    old.refresh_from_db()
    # old: 3 working days after Mon 29/06 → Thu 02/07; new: 5 working days after Wed 01/07 → Wed 08/07
    assert old.terms.limit_amount == 3
    assert old.due_at == datetime(2020, 7, 2, 17, 0, tzinfo=HCM)
    assert new.terms.limit_amount == 5
    assert new.due_at == datetime(2020, 7, 8, 17, 0, tzinfo=HCM)


def test_officer_signs_in_on_the_page_and_the_session_works_for_the_api(client, officer):
    page = client.get(reverse("login"))
    assert "Đăng nhập" in page.content.decode()
    wrong = client.post(reverse("login"), {"username": officer.username, "password": "sai-mat-khau"})
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.content.decode()
    response = client.post(reverse("login"), {"username": officer.username, "password": "pw-test-1234"},
                           follow=True)
    assert "Chuyên viên cấp phép" in response.content.decode()
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["roles"] == ["licensing_officer"]


def test_pages_require_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_errors_are_vietnamese_by_default_and_english_on_request(api, inspector, officer):
    case = case_make(actor=officer)
    api.as_user(officer)
    vi = api.post(f"/api/v1/cases/{case.pk}/transitions/", {"action": "approve", "version": case.version},
                  format="json")
    assert vi.status_code == 403
    assert vi.json()["title"] == "Vai trò của bạn không được phép thực hiện thao tác này."
    en = api.post(f"/api/v1/cases/{case.pk}/transitions/", {"action": "approve", "version": case.version},
                  format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["title"] == "Your role does not allow this action."


def test_admin_shows_the_timeline_read_only_and_edits_the_calendar(client, officer):
    admin = UserFactory(is_staff=True, is_superuser=True)
    case = case_make(actor=officer, path=("start_review",))
    client.force_login(admin)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert case.reference in html
    assert 'name="events-0-note"' not in html  # the timeline has no inputs
    assert client.post(reverse("admin:cases_case_delete", args=[case.pk]), {"post": "yes"}).status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()
    added = client.post(reverse("admin:cases_calendarday_add"),
                        {"date": "2020-02-03", "kind": "day_off", "note": "Nghỉ bù (giả định)"})
    assert added.status_code == 302
    assert CalendarDay.objects.get(date=date(2020, 2, 3)).kind == "day_off"
