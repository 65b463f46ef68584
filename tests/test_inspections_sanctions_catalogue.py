"""The sanctions catalogue (inspections/catalogue.py, data in inspections/data/sanctions_catalogue.json): which
decrees and provisions are in force on a day (2019: NĐ 174/2013 and 159/2013; from 15/04/2020 NĐ 15/2020, from
01/12/2020 NĐ 119/2020, from 28/01/2022 NĐ 15/2020 as amended by NĐ 14/2022, from 01/07/2026 NĐ 174/2026 for
telecoms), the fine range for an individual and an organisation (double), a provision not in force on the violation's
day refused, a fine outside the range refused (RFC 7807 in the API), and the shipped rows' own consistency."""

from datetime import date

import pytest

from inspections import services
from inspections.catalogue import catalogue_load, decrees_in_force, provisions_in_force
from inspections.errors import FineOutOfRange, ProvisionNotInForce
from inspections.models import SanctionDecree, SanctionProvision, ViolationProvision
from worker.models import OutboxMessage

from .support_inspections import checklists_load, local
from .support_sanctions import violation_made

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


def codes(queryset) -> set[str]:
    return set(queryset.values_list("code", flat=True))


def test_the_decrees_in_force_follow_their_effective_dates():
    assert codes(decrees_in_force(date(2019, 6, 1))) == {"ND174/2013", "ND49/2017", "ND159/2013"}
    assert codes(decrees_in_force(date(2020, 4, 14))) == {"ND174/2013", "ND49/2017", "ND159/2013"}
    assert codes(decrees_in_force(date(2020, 4, 15))) == {"ND15/2020", "ND159/2013"}
    assert codes(decrees_in_force(date(2020, 12, 1))) == {"ND15/2020", "ND119/2020"}
    assert codes(decrees_in_force(date(2022, 1, 27))) == {"ND15/2020", "ND119/2020"}
    assert codes(decrees_in_force(date(2022, 1, 28))) == {"ND15/2020", "ND14/2022", "ND119/2020"}
    # NĐ 174/2026 takes over the telecoms chapters of NĐ 15/2020, whose remaining articles stay in force.
    assert codes(decrees_in_force(date(2026, 6, 30))) == {"ND15/2020", "ND14/2022", "ND119/2020"}
    assert codes(decrees_in_force(date(2026, 7, 1))) == {"ND15/2020", "ND14/2022", "ND119/2020", "ND174/2026"}


def test_provisions_in_force_by_date_with_an_amendment():
    nd15, nd14 = SanctionDecree.objects.get(code="ND15/2020"), SanctionDecree.objects.get(code="ND14/2022")
    # Test rows (not legal content): one provision of NĐ 15/2020 as first issued, and its version as amended.
    before = SanctionProvision.objects.create(
        decree=nd15, key="test-before", article=99, clause=1, point="a", text="Hành vi thử nghiệm.",
        fine_min_vnd=1_000_000, fine_max_vnd=2_000_000, inspection_types=["prepaid_sim"],
        valid_from=date(2020, 4, 15), valid_to=date(2022, 1, 27))
    after = SanctionProvision.objects.create(
        decree=nd15, amended_by=nd14, key="test-after", article=99, clause=1, point="a",
        text="Hành vi thử nghiệm (sửa đổi).", fine_min_vnd=2_000_000, fine_max_vnd=4_000_000,
        inspection_types=["prepaid_sim"], valid_from=date(2022, 1, 28))
    shipped = set(SanctionProvision.objects.filter(key__startswith="ND174-30-").values_list("pk", flat=True))
    assert len(shipped) == 2

    def keys(day):
        return set(provisions_in_force(day, type_code="prepaid_sim").values_list("pk", flat=True))

    assert keys(date(2019, 6, 1)) == shipped
    assert keys(date(2020, 4, 14)) == shipped
    assert keys(date(2020, 6, 1)) == {before.pk}
    assert keys(date(2022, 1, 27)) == {before.pk}
    assert keys(date(2022, 1, 28)) == {after.pk}
    assert not set(provisions_in_force(date(2022, 6, 1), type_code="printing").values_list("pk", flat=True)) & {
        after.pk}
    assert after.citation == ("điểm a khoản 1 Điều 99 Nghị định 15/2020/NĐ-CP "
                              "(sửa đổi, bổ sung bởi Nghị định 14/2022/NĐ-CP)")


def test_an_organisations_range_is_double_an_individuals():
    nd119 = SanctionDecree.objects.get(code="ND119/2020")  # states individuals' fines
    nd15 = SanctionDecree.objects.get(code="ND15/2020")  # the file reads it as stating organisations'
    for_individuals = SanctionProvision(decree=nd119, fine_min_vnd=3_000_000, fine_max_vnd=5_000_000)
    assert for_individuals.fine_range("individual") == (3_000_000, 5_000_000)
    assert for_individuals.fine_range("organisation") == (6_000_000, 10_000_000)
    for_organisations = SanctionProvision(decree=nd15, fine_min_vnd=10_000_000, fine_max_vnd=20_000_000)
    assert for_organisations.fine_range("organisation") == (10_000_000, 20_000_000)
    assert for_organisations.fine_range("individual") == (5_000_000, 10_000_000)


def test_loading_the_file_again_changes_nothing_and_keeps_admin_rows():
    count = SanctionProvision.objects.count()
    assert catalogue_load() == (7, 36)
    assert SanctionProvision.objects.count() == count
    assert SanctionProvision.objects.get(key="ND174-30-sim-preactivated").fine_max_vnd == 40_000_000


def test_a_provision_not_in_force_on_the_violations_day_is_refused(api, lead, inspector):
    violation = violation_made(api, lead, inspector)
    sim = SanctionProvision.objects.get(key="ND174-30-sim-preactivated")  # in force to 14/04/2020
    with pytest.raises(ProvisionNotInForce):
        services.violation_offender_set(actor=lead, violation_id=violation.pk, offender_kind="organisation",
                                        provision_ids=[sim.pk])
    response = api.as_user(lead).post(f"/api/v1/inspections/violations/{violation.pk}/offender/",
                                      {"offender_kind": "organisation", "provision_ids": [sim.pk]}, format="json",
                                      **EN)
    assert response.status_code == 400 and response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "provision_not_in_force" and body["not_in_force"] == [sim.pk]
    assert "Not in force on" in body["detail"] and "Điều 30" in body["detail"]
    assert not ViolationProvision.objects.filter(violation=violation).exists()


def test_a_fine_outside_the_range_for_the_offenders_kind_is_refused(api, lead, inspector):
    # A print shop's violation of 10/03/2020, recorded the same day: NĐ 159/2013 Điều 25 was in force.
    violation = violation_made(api, lead, inspector, recorded_at=local(2020, 3, 10, 9, 30))
    sim = SanctionProvision.objects.get(key="ND174-30-sim-preactivated")  # in force that day, for SIM sales
    client = api.as_user(lead)
    # Another inspection type's law is not this campaign's: refused, nothing stored.
    foreign = client.post(f"/api/v1/inspections/violations/{violation.pk}/offender/",
                          {"offender_kind": "individual", "provision_ids": [sim.pk]}, format="json", **EN)
    assert foreign.status_code == 400 and "Not a provision for this kind of inspection" in foreign.json()["detail"]
    assert not ViolationProvision.objects.filter(violation=violation).exists()
    overprint = SanctionProvision.objects.get(key="ND159-25-2-overprint")  # 5–10 million for an individual
    response = client.post(f"/api/v1/inspections/violations/{violation.pk}/offender/",
                           {"offender_kind": "individual", "offender_name": "Nguyễn Văn Bình",
                            "provision_ids": [overprint.pk]}, format="json")
    assert response.status_code == 200, response.content
    sanction = violation.sanction
    url = f"/api/v1/inspections/sanctions/{sanction.pk}/decide/"
    refused = client.post(url, {"fines": {str(overprint.pk): 12_000_000}}, format="json", **EN)
    assert refused.status_code == 400 and refused.json()["code"] == "fine_out_of_range"
    assert "between 5.000.000 and 10.000.000" in refused.json()["detail"]
    assert refused.json()["errors"]["fines"][str(overprint.pk)]
    with pytest.raises(FineOutOfRange):
        services.sanction_decide(actor=lead, sanction_id=sanction.pk, fines={overprint.pk: 4_999_999})
    sanction.refresh_from_db()
    assert sanction.decided_at is None and sanction.number is None

    # The same fine is within an organisation's range (double): 10–20 million.
    services.violation_offender_set(actor=lead, violation_id=violation.pk, offender_kind="organisation",
                                    offender_name="Công ty TNHH In Thái Bình", provision_ids=[overprint.pk])
    assert client.post(url, {"fines": {str(overprint.pk): 21_000_000}}, format="json").status_code == 400
    done = client.post(url, {"fines": {str(overprint.pk): 12_000_000}, "remedial_measures": "Buộc tiêu hủy sản phẩm in vượt số lượng."},
                       format="json")
    assert done.status_code == 200, done.content
    sanction.refresh_from_db()
    assert sanction.fine_vnd == 12_000_000 and sanction.number_text.endswith("/QĐ-XPVPHC")
    assert ViolationProvision.objects.get(violation=violation).fine_vnd == 12_000_000
    assert sanction.payment_due_on is not None
    assert OutboxMessage.objects.filter(task_name="inspections.sanction_decision_render",
                                        kwargs__sanction_id=sanction.pk).count() == 1
    # Sent again: the same decision, nothing new.
    assert client.post(url, {"fines": {str(overprint.pk): 12_000_000}, "remedial_measures": "Buộc tiêu hủy sản phẩm in vượt số lượng."},
                       format="json").status_code == 200
    assert OutboxMessage.objects.filter(task_name="inspections.sanction_decision_render").count() == 1
    # After the decision the provisions stand.
    with pytest.raises(Exception) as raised:
        services.violation_offender_set(actor=lead, violation_id=violation.pk, offender_kind="individual",
                                        provision_ids=[overprint.pk])
    assert getattr(raised.value, "code", "") == "already_decided"


def test_the_catalogue_page_lists_what_is_in_force_on_a_day(client, lead, inspector, reporter):
    client.force_login(lead)
    page = client.get("/campaigns/sanctions/catalogue/", {"on": "2019-06-01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    sim = SanctionProvision.objects.get(key="ND174-30-sim-preactivated")
    assert f'data-provision="{sim.pk}"' in html and 'data-decree="ND174/2013"' in html
    assert "30.000.000 – 40.000.000" in html and "60.000.000 – 80.000.000" in html
    later = client.get("/campaigns/sanctions/catalogue/", {"on": "2022-06-01"}).content.decode()
    assert f'data-provision="{sim.pk}"' not in later and 'data-decree="ND14/2022"' in later
    client.force_login(reporter)
    assert client.get("/campaigns/sanctions/catalogue/").status_code == 403


def test_a_print_shops_violation_today_is_never_offered_another_types_law(client, api, lead, inspector):
    """No printing provision of today's decree is in the shipped catalogue (NĐ 119/2020 is not entered): the page
    says so and lists no telecom article (NĐ 174/2026 is in force today, for BTS sites, SIM points and the like)."""
    violation = violation_made(api, lead, inspector)
    assert provisions_in_force(date.today(), type_code="bts_station").exists()  # today's telecom law is there
    client.force_login(lead)
    html = client.get(f"/campaigns/violations/{violation.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="provisions-none"' in html
    assert 'data-decree="ND174/2026"' not in html and 'data-provision="' not in html


def test_the_shipped_rows_hold_together():
    """Every shipped provision lies within its decree's life, states a range, names its source and is marked
    unchecked until compared with the official text; the inspection types are the six of the checklists."""
    types = {"printing", "publication_distribution", "prepaid_sim", "internet_service", "bts_station",
             "conformity_labelling"}
    shipped = SanctionProvision.objects.select_related("decree", "amended_by")
    assert shipped.count() == 36
    for row in shipped:
        decree = row.decree
        assert decree.effective_from <= row.valid_from, row.key
        if decree.effective_to:
            assert row.valid_to and row.valid_to <= decree.effective_to, row.key
        if row.amended_by:
            assert row.amended_by.effective_from <= row.valid_from, row.key
        assert 0 < row.fine_min_vnd <= row.fine_max_vnd, row.key
        assert row.source.strip() and row.text.strip() and not row.checked, row.key
        assert row.inspection_types and set(row.inspection_types) <= types, row.key


def test_a_bts_site_put_into_service_uninspected_finds_the_provision_of_its_day():
    """The demo's BTS finding: before 01/07/2026 NĐ 15/2020 Điều 54 khoản 3 điểm b, after it NĐ 174/2026 Điều 55
    khoản 3 điểm b; both 20–30 million for an organisation (the decrees state organisations' fines), 10–15 million
    for an individual. A print shop in 2019 finds NĐ 159/2013."""
    def cited(day, type_code):
        return {p.citation: p for p in provisions_in_force(day, type_code=type_code)}

    before = cited(date(2025, 11, 10), "bts_station")
    old = before["điểm b khoản 3 Điều 54 Nghị định 15/2020/NĐ-CP"]
    assert old.fine_range("organisation") == (20_000_000, 30_000_000)
    assert old.fine_range("individual") == (10_000_000, 15_000_000)
    assert not any("174/2026" in c for c in before)
    after = cited(date(2026, 12, 3), "bts_station")
    new = after["điểm b khoản 3 Điều 55 Nghị định 174/2026/NĐ-CP"]
    assert new.fine_range("organisation") == (20_000_000, 30_000_000)
    assert not any("15/2020" in c for c in after)
    sim = cited(date(2026, 12, 3), "prepaid_sim")["điểm b khoản 7 Điều 34 Nghị định 174/2026/NĐ-CP"]
    assert sim.fine_range("organisation") == (30_000_000, 40_000_000) and sim.remedial_measures
    printing_2019 = cited(date(2019, 12, 9), "printing")
    assert any(c.startswith("khoản 2 Điều 25 Nghị định 159/2013/NĐ-CP") for c in printing_2019)
    assert not cited(date(2021, 1, 4), "printing")  # NĐ 119/2020's provisions are not entered (no source found)
