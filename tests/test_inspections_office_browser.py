"""A team lead in Chromium at 1366 and 768 px: filters the registry, plans a campaign from the proposed (risk-ranked)
targets, announces it and sees its decision number; nothing sticks out sideways."""

import pytest

from agencies.models import Agency
from cases import roles as r
from inspections.models import Campaign, Establishment

from .factories import UserFactory
from .support_browser import no_sideways_scroll
from .support_inspections import checklists_load, shop
from .test_pages_browser_officer_and_head import sign_in

WIDTHS = {"tablet": {"width": 768, "height": 1024}, "desktop": {"width": 1366, "height": 900}}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", list(WIDTHS))
def test_lead_filters_plans_and_announces(width, live_server, browser):
    checklists_load()
    culture = Agency.objects.get(code="hung-yen-svhttdl")
    lead = UserFactory(roles=[r.INSPECTION_LEAD], agencies=[culture])
    member = UserFactory(roles=[r.INSPECTOR], agencies=[culture])
    printers = [shop(i, agency=culture, address=f"Số {i} Điện Biên, Phường Phố Hiến") for i in range(1, 4)]
    copier = shop(9, Establishment.Kind.PHOTOCOPY_SHOP, agency=culture, address="Xã Tân Hưng, tỉnh Hưng Yên",
                  commune="Xã Tân Hưng")

    page = sign_in(browser, live_server, lead, viewport=WIDTHS[width])
    assert page.locator("#office-links a[href='/registry/']").count() == 1
    page.locator("nav.menu a[href='/registry/']").click()
    assert page.locator("#registry tbody tr").count() == 4
    page.select_option("#id_kind", "photocopy_shop")
    page.locator("#registry-filters button[type=submit]").click()
    page.wait_for_url("**/registry/?*")
    assert page.locator("#registry tbody tr").count() == 1
    assert page.locator("#registry tbody tr").get_attribute("data-id") == str(copier.pk)
    no_sideways_scroll(page, f"the registry at {width}")

    page.goto(f"{live_server.url}/campaigns/new/")
    page.select_option("#id_type", "printing")
    page.locator("#plan-type button[type=submit]").click()
    proposed = page.locator("#targets tr[data-proposed='1'] input[type=checkbox]")
    assert proposed.count() == 4  # never visited: all score 20, all proposed and ticked
    for i in range(proposed.count()):
        assert proposed.nth(i).is_checked()
    page.locator(f"#target-{printers[2].pk}").uncheck()  # the lead leaves one out
    page.fill("#id_title", "Kiểm tra hoạt động in tại Phố Hiến")
    page.fill("#id_legal_basis", "Luật Xuất bản 2012; Nghị định 60/2014/NĐ-CP")
    page.fill("#id_period_start", "2026-06-01")
    page.fill("#id_period_end", "2026-06-05")
    page.select_option("#id_lead", str(lead.pk))
    page.locator(f"#members input[value='{member.pk}']").check()
    no_sideways_scroll(page, f"the plan at {width}")
    page.locator("#plan-submit").click()
    page.wait_for_selector("#campaign-state")
    campaign = Campaign.objects.get()
    assert set(campaign.targets.values_list("establishment_id", flat=True)) == {
        printers[0].pk, printers[1].pk, copier.pk}
    assert page.locator("#campaign-targets tbody tr").count() == 3

    page.locator("#action-announce").click()
    page.wait_for_selector("#campaign-state[data-state='announced']")
    campaign.refresh_from_db()
    assert campaign.decision_number_text
    assert campaign.decision_number_text in page.locator("#decision-number").inner_text()
    no_sideways_scroll(page, f"the campaign at {width}")
    page.goto(f"{live_server.url}/registry/map/?campaign={campaign.pk}")
    assert page.locator("#map a.point").count() == 3
    no_sideways_scroll(page, f"the map at {width}")
