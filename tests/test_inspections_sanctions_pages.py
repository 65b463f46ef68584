"""The office's pages from a target with violations to the campaign's closing (issue 17 item 4): the violation record
(offender, provisions of the catalogue in force on the day), the sanction decision (a fine per provision within its
range for the offender's kind; outside it the page comes back with the values typed), the follow-up of the
correction, the conclusion and the closing. Who may (an inspector reads but does not decide: 403; another agency's
lead does not find them: 404), and a form sent twice or at the same moment never writes twice."""

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cases import roles as r
from inspections import services
from inspections.models import Document, FollowUp, SanctionDecision, ViolationProvision, ViolationRecord

from .factories import UserFactory
from .support_concurrency import run_together
from .support_inspections import campaign_make, checklists_load, docx_text, items_of
from .support_sanctions import outbox_deliver, provision_make

CULTURE = "hung-yen-svhttdl"
SCIENCE = "hung-yen-skhcn"


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def lead_c(db):
    return UserFactory(roles=[r.INSPECTION_LEAD], agencies=[CULTURE])


@pytest.fixture
def inspector_c(db):
    return UserFactory(roles=[r.INSPECTOR], agencies=[CULTURE])


@pytest.fixture
def stranger(db):
    """A lead of another agency: the culture department's campaigns are not theirs to find."""
    return UserFactory(roles=[r.INSPECTION_LEAD], agencies=[SCIENCE])


@pytest.fixture
def provision(db):
    return provision_make()


def in_the_field(lead, inspector, *, shops=1):
    """A printing campaign of the culture department in the field; its first target has a violation finding on
    "licence" (no photo needed) and a compliant one on "equipment_declared"."""
    from agencies.models import Agency

    campaign = campaign_make(lead=lead, members=[inspector], shops=shops, path=("announce", "start_fieldwork"),
                             agency=Agency.objects.get(code=CULTURE))
    target = campaign.targets.order_by("pk").first()
    licence, equipment = items_of(campaign)[:2]
    for item, result, note in ((licence, "violation", "Chưa đăng ký hoạt động cơ sở in"), (equipment, "compliant", "")):
        services.finding_submit(actor=inspector, uuid=uuid.uuid4(), target_id=target.pk, item_id=item.pk,
                                result=result, note=note, device_time=timezone.now() - timedelta(minutes=5))
    return campaign, target


def record_form(provision, **extra) -> dict:
    data = {"violation_description": "Hoạt động cơ sở in khi chưa đăng ký với Sở.", "offender_kind": "organisation",
            "offender_name": "Công ty TNHH In Hưng Long", "committed_on": timezone.localdate().isoformat(),
            "provisions": [provision.pk]}
    data.update(extra)
    return data


def violation_written(client, target, provision, **extra) -> ViolationRecord:
    response = client.post(f"/campaigns/targets/{target.pk}/violation/", record_form(provision, **extra))
    assert response.status_code == 302, response.content.decode()[:3000]
    return ViolationRecord.objects.get(target=target)


def errors_of(html: str) -> list[str]:
    return re.findall(r'class="error field-error" role="alert">([^<]+)<', html)


@pytest.mark.django_db
def test_who_may_open_the_pages(client, lead_c, inspector_c, stranger, provision, reporter):
    campaign, target = in_the_field(lead_c, inspector_c)
    new_url = f"/campaigns/targets/{target.pk}/violation/"
    conclude_url = f"/campaigns/{campaign.pk}/conclude/"
    client.force_login(inspector_c)  # on the team, not a lead
    assert client.get(new_url).status_code == 403
    assert client.post(new_url, record_form(provision)).status_code == 403
    assert client.get(conclude_url).status_code == 403
    assert client.post(f"/campaigns/{campaign.pk}/conclude/submit/", {"conclusion": "x"}).status_code == 403
    assert not ViolationRecord.objects.exists()
    client.force_login(stranger)  # a lead, of another agency
    assert client.get(new_url).status_code == 404
    assert client.post(new_url, record_form(provision)).status_code == 404
    assert client.get(conclude_url).status_code == 404
    client.force_login(reporter)
    assert client.get(new_url).status_code == 403

    client.force_login(lead_c)
    violation = violation_written(client, target, provision)
    sanction = violation.sanction
    pages = (f"/campaigns/violations/{violation.pk}/", f"/campaigns/sanctions/{sanction.pk}/")
    client.force_login(inspector_c)  # reads the record and the sanction, changes neither
    for url in pages:
        assert client.get(url).status_code == 200
    html = client.get(pages[0]).content.decode()
    assert 'id="offender-form"' not in html
    assert 'id="decide-form"' not in client.get(pages[1]).content.decode()
    assert client.post(f"/campaigns/violations/{violation.pk}/offender/", record_form(provision)).status_code == 403
    assert client.post(f"/campaigns/sanctions/{sanction.pk}/decide/",
                       {f"fine-{provision.pk}": "12000000"}).status_code == 403
    assert not SanctionDecision.objects.get(pk=sanction.pk).decided_at
    client.force_login(stranger)
    for url in pages:
        assert client.get(url).status_code == 404
    assert client.post(f"/campaigns/sanctions/{sanction.pk}/decide/",
                       {f"fine-{provision.pk}": "12000000"}).status_code == 404


@pytest.mark.django_db
def test_the_lead_writes_the_violation_record_from_the_catalogue_in_force(client, lead_c, inspector_c, provision):
    campaign, target = in_the_field(lead_c, inspector_c)
    expired = provision_make(key="test-expired", article=26, valid_from=campaign.period_start - timedelta(days=900))
    expired.valid_to = timezone.localdate() - timedelta(days=400)
    expired.save(update_fields=["valid_to"])
    client.force_login(lead_c)
    assert 'id="to-violation-new"' in client.get(f"/campaigns/targets/{target.pk}/").content.decode()
    html = client.get(f"/campaigns/targets/{target.pk}/violation/").content.decode()
    assert 'data-decree="ND119/2020"' in html and f'data-article="{provision.article}"' in html
    assert f'id="provision-{provision.pk}"' in html and f'id="provision-{expired.pk}"' not in html
    assert "Chưa đăng ký hoạt động cơ sở in" in html  # the violation finding, proposed as the description
    # the catalogue of the day typed: a year ago the expired provision was in force
    earlier = (timezone.localdate() - timedelta(days=500)).isoformat()
    html = client.post(f"/campaigns/targets/{target.pk}/violation/",
                       record_form(provision, committed_on=earlier, refresh="1")).content.decode()
    assert f'id="provision-{expired.pk}"' in html and "Công ty TNHH In Hưng Long" in html
    assert not ViolationRecord.objects.exists()
    # a provision not in force on the day of the violation is refused: nothing written, the form kept
    response = client.post(f"/campaigns/targets/{target.pk}/violation/", record_form(expired))
    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()
    assert not ViolationRecord.objects.exists()
    target.refresh_from_db()
    assert target.outcome == "pending"  # the outcome was not set either: one transaction

    violation = violation_written(client, target, provision)
    target.refresh_from_db()
    assert target.outcome == "violation"
    assert (violation.offender_kind, violation.offender_name) == ("organisation", "Công ty TNHH In Hưng Long")
    assert list(violation.cited.values_list("provision_id", flat=True)) == [provision.pk]
    # sent again (a second tap, the back button): the record is shown, not written twice
    response = client.post(f"/campaigns/targets/{target.pk}/violation/", record_form(provision))
    assert response.status_code == 302 and response.url == f"/campaigns/violations/{violation.pk}/"
    assert ViolationRecord.objects.filter(target=target).count() == 1

    assert outbox_deliver("inspections.violation_record_render") == 1
    page = client.get(f"/campaigns/violations/{violation.pk}/").content.decode()
    document = Document.objects.get(target=target, kind=Document.Kind.VIOLATION_RECORD)
    assert f'href="/campaigns/{campaign.pk}/documents/{document.pk}/"' in page
    assert 'id="record-document-pending"' not in page
    data = b"".join(client.get(f"/campaigns/{campaign.pk}/documents/{document.pk}/").streaming_content)
    assert violation.number_text in docx_text(data)
    # the offender corrected on the record's page (until the sanction is decided)
    response = client.post(f"/campaigns/violations/{violation.pk}/offender/", {
        "offender_kind": "individual", "offender_name": "Nguyễn Văn An",
        "committed_on": timezone.localdate().isoformat(), "provisions": [provision.pk]})
    assert response.status_code == 302
    violation.refresh_from_db()
    assert (violation.offender_kind, violation.offender_name) == ("individual", "Nguyễn Văn An")


@pytest.mark.django_db
def test_a_fine_outside_the_range_is_refused_with_the_form_kept_and_one_inside_decides(client, lead_c, inspector_c,
                                                                                     provision):
    campaign, target = in_the_field(lead_c, inspector_c)
    client.force_login(lead_c)
    violation = violation_written(client, target, provision)  # an organisation: 10–20 million (double)
    sanction = violation.sanction
    url = f"/campaigns/sanctions/{sanction.pk}/"
    html = client.get(url).content.decode()
    assert f'data-provision="{provision.pk}" data-min="10000000" data-max="20000000"' in html
    assert provision.remedial_measures in html  # prefilled from the catalogue
    assert 'id="due-at"' in html and sanction.due_at.isoformat()[:10] in html.split('id="due-at"')[1][:60]

    remedial = "Buộc nộp lại số lợi bất hợp pháp; buộc đăng ký hoạt động cơ sở in trong 30 ngày."
    response = client.post(f"{url}decide/", {f"fine-{provision.pk}": "6.000.000", "remedial_measures": remedial})
    html = response.content.decode()
    assert response.status_code == 200
    assert errors_of(html), "the fine's message is shown by its field"
    assert 'value="6.000.000"' in html and remedial in html  # nothing typed is lost
    sanction.refresh_from_db()
    assert sanction.decided_at is None and not ViolationProvision.objects.filter(fine_vnd__isnull=False).exists()
    response = client.post(f"{url}decide/", {f"fine-{provision.pk}": "mười triệu", "remedial_measures": remedial})
    assert errors_of(response.content.decode()) and 'value="mười triệu"' in response.content.decode()

    response = client.post(f"{url}decide/", {f"fine-{provision.pk}": "12.000.000", "remedial_measures": remedial})
    assert response.status_code == 302
    sanction.refresh_from_db()
    assert (sanction.fine_vnd, sanction.remedial_measures) == (12_000_000, remedial)
    assert sanction.number_text.endswith("/QĐ-XPVPHC")
    # sent again: the same decision, no second number
    response = client.post(f"{url}decide/", {f"fine-{provision.pk}": "12.000.000", "remedial_measures": remedial})
    assert SanctionDecision.objects.filter(number__isnull=False).count() == 1
    # a stale page with another fine, once decided: refused with a message, the decision unchanged
    response = client.post(f"{url}decide/", {f"fine-{provision.pk}": "15.000.000", "remedial_measures": remedial},
                           follow=True)
    assert any(m.level_tag == "error" for m in response.context["messages"])
    assert SanctionDecision.objects.get(pk=sanction.pk).fine_vnd == 12_000_000
    assert outbox_deliver("inspections.sanction_decision_render") == 1
    html = client.get(url).content.decode()
    document = Document.objects.get(target=target, kind=Document.Kind.SANCTION_DECISION)
    assert f'href="/campaigns/{campaign.pk}/documents/{document.pk}/"' in html
    assert f'data-due="{sanction.payment_due_on.isoformat()}"' in html
    assert 'data-fine="12000000"' in html and "12.000.000" in html
    data = b"".join(client.get(f"/campaigns/{campaign.pk}/documents/{document.pk}/").streaming_content)
    assert sanction.number_text in docx_text(data)


@pytest.mark.django_db
def test_follow_up_conclusion_and_closing_on_the_pages(client, lead_c, inspector_c, provision):
    campaign, target = in_the_field(lead_c, inspector_c, shops=2)
    other = campaign.targets.exclude(pk=target.pk).get()
    client.force_login(lead_c)
    violation = violation_written(client, target, provision)
    sanction = violation.sanction
    url = f"/campaigns/sanctions/{sanction.pk}/"
    client.post(f"{url}decide/", {f"fine-{provision.pk}": "10000000", "remedial_measures": "Buộc đăng ký."})
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    form = {"correction_due_on": due, "note": "Đăng ký hoạt động cơ sở in", "expected_count": "0"}
    assert client.post(f"{url}follow-ups/", form).status_code == 302
    assert client.post(f"{url}follow-ups/", form).status_code == 302  # sent twice: planned once
    follow_up = FollowUp.objects.get(violation=violation)
    # another check planned from a page that saw none is stale: refused, not added
    response = client.post(f"{url}follow-ups/", {**form, "note": "Kiểm tra lại"}, follow=True)
    assert FollowUp.objects.filter(violation=violation).count() == 1
    assert any(m.level_tag == "error" for m in response.context["messages"])

    # the conclusion waits for the findings to be closed and every target's outcome
    services.finding_submit(actor=inspector_c, uuid=uuid.uuid4(), target_id=other.pk,
                            item_id=items_of(campaign)[0].pk, result="compliant", note="",
                            device_time=timezone.now() - timedelta(minutes=1))
    page = client.get(f"/campaigns/{campaign.pk}/conclude/").content.decode()
    assert 'id="action-close_findings"' in page and 'id="conclude-form"' not in page
    client.post(f"/campaigns/{campaign.pk}/action/", {"action": "close_findings"})
    page = client.get(f"/campaigns/{campaign.pk}/conclude/").content.decode()
    assert 'id="pending-targets"' in page and other.establishment.name in page.split('id="pending-targets"')[1]
    version = re.search(r'name="version" value="(\d+)"', page.split('id="conclude-form"')[1]).group(1)
    response = client.post(f"/campaigns/{campaign.pk}/conclude/submit/", {"conclusion": "Kết luận.", "version": version},
                           follow=True)
    campaign.refresh_from_db()
    assert campaign.case.state == "findings_closed"  # the workflow's guard: a target without an outcome
    assert any(m.level_tag == "error" for m in response.context["messages"])

    # the other target's visit is finished (compliant, as the tablet does); conclude with the proposed text
    services.target_outcome_set(actor=inspector_c, target_id=other.pk, outcome="compliant")
    page = client.get(f"/campaigns/{campaign.pk}/conclude/").content.decode()
    draft = re.search(r'<textarea name="conclusion" id="conclusion"[^>]*>([^<]*)<', page).group(1)
    sanction.refresh_from_db()
    assert violation.number_text in draft and sanction.number_text in draft
    version = re.search(r'name="version" value="(\d+)"', page.split('id="conclude-form"')[1]).group(1)
    form = {"conclusion": draft, "version": version}
    assert client.post(f"/campaigns/{campaign.pk}/conclude/submit/", form).status_code == 302
    response = client.post(f"/campaigns/{campaign.pk}/conclude/submit/", form, follow=True)  # the same form again
    assert any(m.level_tag == "error" for m in response.context["messages"])  # stale: refused, not concluded twice
    campaign.refresh_from_db()
    assert campaign.case.state == "concluded"
    assert campaign.case.events.filter(action="conclude").count() == 1
    assert outbox_deliver("inspections.conclusion_render") == 1
    page = client.get(f"/campaigns/{campaign.pk}/conclude/").content.decode()
    assert 'id="conclusion-document"' in page
    document = Document.objects.get(campaign=campaign, target__isnull=True, kind=Document.Kind.CONCLUSION)
    data = b"".join(client.get(f"/campaigns/{campaign.pk}/documents/{document.pk}/").streaming_content)
    assert violation.number_text in docx_text(data)

    # closing waits for the correction to be verified
    assert 'id="closing-remains"' in page
    version = re.search(r'name="version" value="(\d+)"', page.split('id="closing"')[1]).group(1)
    client.post(f"/campaigns/{campaign.pk}/close/", {"version": version})
    campaign.refresh_from_db()
    assert campaign.case.state == "concluded"
    client.post(f"{url}follow-ups/{follow_up.pk}/done/", {"done_note": "Đã đăng ký ngày 10/07"})
    client.post(f"{url}follow-ups/{follow_up.pk}/done/", {"done_note": "Đã đăng ký ngày 10/07"})  # again: no change
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None and follow_up.done_note == "Đã đăng ký ngày 10/07"
    assert campaign.case.events.filter(action="follow_up_done").count() == 1
    page = client.get(f"/campaigns/{campaign.pk}/conclude/").content.decode()
    assert 'id="closing-remains"' not in page
    version = re.search(r'name="version" value="(\d+)"', page.split('id="closing"')[1]).group(1)
    assert client.post(f"/campaigns/{campaign.pk}/close/", {"version": version}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.case.state == "closed"


@pytest.mark.django_db
def test_the_campaign_page_counts_disputed_items_per_target(client, lead_c, inspector_c):
    colleague = UserFactory(roles=[r.INSPECTOR], agencies=[CULTURE])
    campaign, target = in_the_field(lead_c, inspector_c)
    campaign.case.members.add(colleague)
    licence = items_of(campaign)[0]
    services.finding_submit(actor=colleague, uuid=uuid.uuid4(), target_id=target.pk, item_id=licence.pk,
                            result="compliant", note="", device_time=timezone.now() - timedelta(minutes=1))
    client.force_login(lead_c)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    row = html.split(f'<tr data-id="{target.pk}"')[1].split("</tr>")[0]
    assert 'data-disputed="1"' in row and f'href="/campaigns/targets/{target.pk}/"' in row
    other = html.split('id="campaign-targets"')[1]
    assert other.count('data-disputed="0"') == 0  # one target only, and it is disputed


@pytest.mark.django_db
def test_the_plan_pages_the_registry_and_keeps_what_was_chosen(client, lead_c, inspector_c):
    from agencies.models import Agency

    from .support_inspections import shop

    culture = Agency.objects.get(code=CULTURE)
    entries = [shop(100 + i, agency=culture) for i in range(30)]
    client.force_login(lead_c)
    page = client.get("/campaigns/new/?type=printing").content.decode()
    first = re.findall(r'<tr data-id="(\d+)" data-score', page)
    assert len(first) == 25 and 'data-pages="2"' in page
    uuid_value = re.search(r'name="uuid" value="([^"]+)"', page).group(1)
    data = {"type": "printing", "agency": culture.pk, "uuid": uuid_value, "title": "Kiểm tra in quý III",
            "legal_basis": "Luật Xuất bản 2012", "scope": "", "period_start": "2026-07-01",
            "period_end": "2026-07-05", "lead": lead_c.pk, "members": [inspector_c.pk], "targets": first[:2],
            "page": "2", "page_current": "1"}
    page = client.post("/campaigns/new/", data).content.decode()
    second = re.findall(r'<tr data-id="(\d+)" data-score', page)
    assert len(second) == 5 and not set(second) & set(first)
    assert "Kiểm tra in quý III" in page  # what was typed is kept
    for pk in first[:2]:  # the choice of page 1 travels along
        assert f'<input type="hidden" name="targets" value="{pk}">' in page
    assert not client.session.get("_messages")
    from inspections.models import Campaign

    assert not Campaign.objects.filter(case__uuid=uuid_value).exists()  # turning a page plans nothing
    data.pop("page")
    data.update(page_current="2", targets=[*first[:2], second[0]])
    assert client.post("/campaigns/new/", data).status_code == 302
    campaign = Campaign.objects.get(case__uuid=uuid_value)
    assert {str(pk) for pk in campaign.targets.values_list("establishment_id", flat=True)} == {*first[:2], second[0]}
    assert len(entries) == 30


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_the_same_moment_write_one_record_and_one_decision(lead_c, inspector_c, outbox_sends_held):
    checklists_load()
    provision = provision_make()
    campaign, target = in_the_field(lead_c, inspector_c)

    def poster(url, data):
        def post():
            browser = Client()
            browser.force_login(lead_c)
            return browser.post(url, data).status_code
        return post

    url = f"/campaigns/targets/{target.pk}/violation/"
    codes = run_together([poster(url, record_form(provision)) for _ in range(3)])
    assert codes == [302, 302, 302], codes
    assert ViolationRecord.objects.filter(target=target).count() == 1
    violation = ViolationRecord.objects.get(target=target)
    assert ViolationProvision.objects.filter(violation=violation).count() == 1
    assert campaign.case.events.filter(action="violation_record").count() == 1

    url = f"/campaigns/sanctions/{violation.sanction.pk}/decide/"
    data = {f"fine-{provision.pk}": "15000000", "remedial_measures": "Buộc đăng ký."}
    codes = run_together([poster(url, data) for _ in range(3)])
    assert codes == [302, 302, 302], codes
    assert SanctionDecision.objects.filter(number__isnull=False).count() == 1
    assert campaign.case.events.filter(action="sanction_decide").count() == 1


@pytest.mark.django_db
def test_a_record_opened_on_the_tablet_is_completed_on_the_pages(client, lead_c, inspector_c):
    """The inspector finished the visit as a violation on the tablet (the record opened, no provision cited): the
    lead's link leads to the record, and a record citing none takes one fine for the whole."""
    campaign, target = in_the_field(lead_c, inspector_c)
    client.force_login(lead_c)
    row = client.get(f"/campaigns/{campaign.pk}/").content.decode().split(f'<tr data-id="{target.pk}"')[1]
    assert "to-violation-new" in row.split("</tr>")[0]
    services.target_outcome_set(actor=inspector_c, target_id=target.pk, outcome="violation",
                                violation_description="Chưa đăng ký hoạt động cơ sở in.")
    violation = ViolationRecord.objects.get(target=target)
    response = client.get(f"/campaigns/targets/{target.pk}/violation/")
    assert response.status_code == 302 and response.url == f"/campaigns/violations/{violation.pk}/"
    url = f"/campaigns/sanctions/{violation.sanction.pk}/"
    html = client.get(url).content.decode()
    assert 'name="fine_vnd"' in html and f'href="/campaigns/violations/{violation.pk}/#offender-form"' in html
    response = client.post(f"{url}decide/", {"fine_vnd": "0", "remedial_measures": ""})
    assert response.status_code == 200 and 'value="0"' in response.content.decode()
    assert errors_of(response.content.decode())
    assert client.post(f"{url}decide/", {"fine_vnd": "3.000.000", "remedial_measures": ""}).status_code == 302
    assert SanctionDecision.objects.get(pk=violation.sanction.pk).fine_vnd == 3_000_000
