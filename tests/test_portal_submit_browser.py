"""A real browser on a phone-sized window (390 px): an applicant fills a printing-licence dossier, attaches a file
that is refused and then the right one, declares and submits; an officer receives it on the online queue and the
case begins. Nothing sticks out sideways on the phone."""

import pytest

from applicants.models import Submission
from cases.models import Attachment

from . import support_licensing as sl
from .support_browser import PHONE, signed_in
from .support_browser import no_sideways_scroll as _no_sideways_scroll
from .support_portal_submit import representative_make

playwright_sync = pytest.importorskip("playwright.sync_api")

DESKTOP = {"width": 1280, "height": 900}
pytestmark = pytest.mark.django_db(transaction=True)


def no_sideways_scroll(page, name: str) -> None:
    _no_sideways_scroll(page, name, screens="portal-submit")


def test_a_printing_licence_submitted_on_a_phone_and_received_by_an_officer(browser, live_server, officer, tmp_path):
    representative = representative_make(name="Công ty TNHH In Hoàng Long", tax_code="1001123456",
                                         email="lan@inhoanglong.vn")
    page = signed_in(browser, live_server, representative.user, PHONE)
    page.goto(f"{live_server.url}/portal/dossiers/new/")
    no_sideways_scroll(page, "choose")
    page.locator("#start-printing_licence").click()
    page.wait_for_selector("#submission-form")
    submission = Submission.objects.get(organisation=representative.organisation)
    fields = sl.dossier("printing_licence")
    page.fill("#id_dossier_facility_name", fields["facility_name"])
    page.fill("#id_dossier_facility_address", fields["facility_address"])
    page.fill("#id_dossier_owner", fields["owner"])
    page.fill("#id_dossier_equipment", "Máy in offset Heidelberg SM 74 | 2\nMáy cắt giấy Polar 115 | 1")
    page.fill("#id_dossier_products", fields["products"])
    no_sideways_scroll(page, "form")

    # A file that is not what it says is refused; everything typed is still there.
    fake = tmp_path / "giay-to-thiet-bi.pdf"
    fake.write_bytes(b"this is no PDF at all")
    page.set_input_files("#id_file_equipment_documents", str(fake))
    page.check("#id_declaration")
    page.locator("#submit-dossier").click()
    page.wait_for_selector("#form-errors")
    assert page.input_value("#id_dossier_owner") == fields["owner"]
    assert "Polar 115 | 1" in page.input_value("#id_dossier_equipment")
    assert page.locator('[data-input="file_equipment_documents"] .errorlist').count() == 1
    no_sideways_scroll(page, "refused-file")
    submission.refresh_from_db()
    assert submission.state == Submission.State.DRAFT and not submission.files.exists()

    scan = tmp_path / "giay-to-thiet-bi.png"
    scan.write_bytes(sl.png_bytes())
    page.set_input_files("#id_file_equipment_documents", str(scan))
    page.check("#id_declaration")
    page.locator("#submit-dossier").click()
    page.wait_for_selector('#submission[data-state="submitted"]')
    no_sideways_scroll(page, "submitted")
    submission.refresh_from_db()
    assert submission.state == Submission.State.SUBMITTED
    assert submission.fields["equipment"][1] == {"name": "Máy cắt giấy Polar 115", "quantity": 1}
    assert submission.files.get().kind == "equipment_documents"

    office = signed_in(browser, live_server, officer, DESKTOP)
    office.goto(f"{live_server.url}/online/")
    office.locator(f'tr[data-submission="{submission.uuid}"] a').click()
    office.wait_for_selector("#receive")
    office.locator("#receive").click()
    office.wait_for_url(f"{live_server.url}/licensing/cases/**")
    submission.refresh_from_db()
    assert submission.state == Submission.State.ACCEPTED and submission.case is not None
    assert Attachment.objects.filter(case=submission.case, kind="equipment_documents").count() == 1
    page.reload()
    assert page.locator("#case-reference").inner_text() == submission.case.reference
    no_sideways_scroll(page, "received")
