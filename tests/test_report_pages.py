"""The periodic reports' pages: the list shows each report's state and who still owes a section; a report's page
shows the forms of the user's own division only, the actions the user may take and a preview; a stale save keeps
what the writer typed and says why (409)."""

import pytest
from django.utils import translation

from .factories import UserFactory
from .support_reports import report_world, walk_to_issued

pytestmark = pytest.mark.django_db


def test_list_page_shows_state_and_owed_sections(client):
    world = report_world()
    client.force_login(world.office)
    page = client.get("/reports/documents/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-report="{world.report.pk}" data-state="report_draft"' in html
    for division in ("Phòng Công nghệ thông tin", "Phòng Bưu chính, Viễn thông", "Thanh tra Sở", "Văn phòng Sở"):
        assert division in html
    nobody = UserFactory(roles=[], agencies=[world.agency])
    client.force_login(nobody)
    assert client.get("/reports/documents/").status_code == 403
    assert client.get(f"/reports/documents/{world.report.pk}/").status_code == 403


def test_a_writer_sees_only_the_form_of_the_own_division_and_a_stale_save_keeps_the_text(client):
    world = report_world()
    client.force_login(world.office)
    client.post(f"/reports/documents/{world.report.pk}/action/", {"action": "open_contributions", "version": 1})
    writer = world.writers["bcvt"]
    client.force_login(writer)
    page = client.get(f"/reports/documents/{world.report.pk}/").content.decode()
    assert 'data-section="I.2"' in page and 'id="edit-i2"' in page
    assert 'id="edit-i1"' not in page and 'id="edit-iii"' not in page
    assert 'data-action=' not in page  # a writer takes no workflow action

    saved = client.post(f"/reports/documents/{world.report.pk}/sections/I.2/", {"text": "Bản thứ nhất.", "version": 1})
    assert saved.status_code == 302
    with translation.override("en"):
        stale = client.post(f"/reports/documents/{world.report.pk}/sections/I.2/",
                            {"text": "Bản viết trên phiên bản cũ.", "version": 1}, HTTP_ACCEPT_LANGUAGE="en")
    assert stale.status_code == 409
    html = stale.content.decode()
    assert "Bản viết trên phiên bản cũ." in html  # what the writer typed is kept in the form
    assert 'id="report-error"' in html
    assert world.report.sections.get(code="I.2").text == "Bản thứ nhất."


def test_the_issued_report_page_previews_and_downloads_its_frozen_document(client):
    world = report_world()
    report = walk_to_issued(world)
    client.force_login(world.head)
    page = client.get(f"/reports/documents/{report.pk}/").content.decode()
    assert 'data-state="report_issued"' in page and "01/BC-SVHTTDL" in page
    assert 'id="preview-procedures"' in page and 'id="preview-indicators"' in page
    assert 'class="none"' in page  # nobody owes anything
    docx = client.get(f"/reports/documents/{report.pk}/file.docx")
    assert docx.status_code == 200 and docx.content == client.get(f"/reports/documents/{report.pk}/file.docx").content


def test_the_quarterly_page_shows_the_quarters_periodic_report_and_who_owes_what(client):
    world = report_world()
    client.force_login(world.office)
    html = client.get(f"/reports/quarterly/?quarter=2026-Q3&agency={world.agency.pk}").content.decode()
    assert 'id="periodic-report" data-state="report_draft"' in html
    assert f'href="/reports/documents/{world.report.pk}/"' in html and "Thanh tra Sở" in html


def test_the_office_sets_the_recipients_and_a_division_imports_its_values_on_the_page(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reports.models import IndicatorValue

    world = report_world()
    client.force_login(world.office)
    page = client.get(f"/reports/documents/{world.report.pk}/").content.decode()
    assert 'id="recipients-form"' in page
    saved = client.post(f"/reports/documents/{world.report.pk}/recipients/",
                        {"recipients": "- Bộ TT&TT;\n\n- Lưu: VT.", "version": world.report.version})
    assert saved.status_code == 302
    world.report.refresh_from_db()
    assert world.report.recipients == ["- Bộ TT&TT;", "- Lưu: VT."]

    client.force_login(world.writers["bcvt"])
    assert 'id="recipients-form"' not in client.get(f"/reports/documents/{world.report.pk}/").content.decode()
    bad = SimpleUploadedFile("chi-tieu.csv", b"indicator,period,value\nphone_subscribers,2026-Q3,1.307.424\n"
                                             b"fixed_internet_subscribers,2026-Q3,hai\n", "text/csv")
    refused = client.post(f"/reports/documents/{world.report.pk}/indicators/", {"file": bad})
    assert refused.status_code == 400 and 'data-row="3"' in refused.content.decode()
    assert IndicatorValue.objects.count() == 0
    good = SimpleUploadedFile("chi-tieu.csv", b"indicator,period,value\nphone_subscribers,2026-Q3,1.307.424\n",
                              "text/csv")
    assert client.post(f"/reports/documents/{world.report.pk}/indicators/", {"file": good}).status_code == 302
    assert IndicatorValue.objects.get().value == 1307424


def test_a_division_enters_its_own_indicators_on_the_page_and_a_stale_value_is_refused(client):
    from reports.models import IndicatorValue

    world = report_world()
    client.force_login(world.writers["bcvt"])
    page = client.get(f"/reports/documents/{world.report.pk}/").content.decode()
    assert 'data-indicator="phone_subscribers"' in page and 'data-indicator="documents_sent"' not in page
    url = f"/reports/documents/{world.report.pk}/indicator/"
    assert client.post(url, {"indicator": "phone_subscribers", "value": "1.307.424", "version": 0}).status_code == 302
    assert client.post(url, {"indicator": "phone_subscribers", "value": "5", "version": 0}).status_code == 409
    assert client.post(url, {"indicator": "documents_sent", "value": "5", "version": 0}).status_code == 403
    assert client.post(url, {"indicator": "phone_subscribers", "value": "năm", "version": 1}).status_code == 400
    assert IndicatorValue.objects.get().value == 1307424
