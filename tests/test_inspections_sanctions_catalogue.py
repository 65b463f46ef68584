"""The sanctions catalogue (inspections/catalogue.py, data in inspections/data/sanctions_catalogue.json): which
decrees and provisions are in force on a day (2019: NĐ 174/2013 and 159/2013; from 15/04/2020 NĐ 15/2020, from
01/12/2020 NĐ 119/2020, from 28/01/2022 NĐ 15/2020 as amended by NĐ 14/2022), the fine range for an individual and
an organisation (double), a provision not in force on the violation's day refused, and a fine outside the range
refused (RFC 7807 in the API)."""

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
    assert catalogue_load() == (6, 2)
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
    # A violation of 10/03/2020, recorded the same day: NĐ 174/2013 Điều 30 (as amended in 2017) was in force.
    violation = violation_made(api, lead, inspector, recorded_at=local(2020, 3, 10, 9, 30))
    sim = SanctionProvision.objects.get(key="ND174-30-sim-preactivated")  # 30–40 million for an individual
    client = api.as_user(lead)
    response = client.post(f"/api/v1/inspections/violations/{violation.pk}/offender/",
                           {"offender_kind": "individual", "offender_name": "Nguyễn Văn Bình",
                            "provision_ids": [sim.pk]}, format="json")
    assert response.status_code == 200, response.content
    sanction = violation.sanction
    url = f"/api/v1/inspections/sanctions/{sanction.pk}/decide/"
    refused = client.post(url, {"fines": {str(sim.pk): 50_000_000}}, format="json", **EN)
    assert refused.status_code == 400 and refused.json()["code"] == "fine_out_of_range"
    assert "between 30.000.000 and 40.000.000" in refused.json()["detail"]
    assert refused.json()["errors"]["fines"][str(sim.pk)]
    with pytest.raises(FineOutOfRange):
        services.sanction_decide(actor=lead, sanction_id=sanction.pk, fines={sim.pk: 29_999_999})
    sanction.refresh_from_db()
    assert sanction.decided_at is None and sanction.number is None

    # The same fine is within an organisation's range (double): 60–80 million.
    services.violation_offender_set(actor=lead, violation_id=violation.pk, offender_kind="organisation",
                                    offender_name="Công ty TNHH In Thái Bình", provision_ids=[sim.pk])
    assert client.post(url, {"fines": {str(sim.pk): 50_000_000}}, format="json").status_code == 400
    done = client.post(url, {"fines": {str(sim.pk): 60_000_000}, "remedial_measures": "Thu hồi SIM."},
                       format="json")
    assert done.status_code == 200, done.content
    sanction.refresh_from_db()
    assert sanction.fine_vnd == 60_000_000 and sanction.number_text.endswith("/QĐ-XPVPHC")
    assert ViolationProvision.objects.get(violation=violation).fine_vnd == 60_000_000
    assert sanction.payment_due_on is not None
    assert OutboxMessage.objects.filter(task_name="inspections.sanction_decision_render",
                                        kwargs__sanction_id=sanction.pk).count() == 1
    # Sent again: the same decision, nothing new.
    assert client.post(url, {"fines": {str(sim.pk): 60_000_000}, "remedial_measures": "Thu hồi SIM."},
                       format="json").status_code == 200
    assert OutboxMessage.objects.filter(task_name="inspections.sanction_decision_render").count() == 1
    # After the decision the provisions stand.
    with pytest.raises(Exception) as raised:
        services.violation_offender_set(actor=lead, violation_id=violation.pk, offender_kind="individual",
                                        provision_ids=[sim.pk])
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
