"""Hostile input, as a fuzzer sends it: every answer is a clear 4xx problem with a stable code, never a 500 or an
HTML page, and nothing is stored. One test per input the fuzzer found (issue "Hostile input", item 5)."""

import time
import uuid

import pytest
from django.utils import timezone

from cases import services as case_services
from cases.models import Case, CaseEvent, CaseType
from inspections import services as inspection_services
from inspections.models import Finding, Photo
from licensing.models import Dossier, Organisation
from reports.models import ExportJob

from . import support_inspections as si
from .support_concurrency import run_together, token_client
from .test_api_errors_are_problem_details import assert_problem

pytestmark = pytest.mark.django_db

FINDINGS = "/api/v1/inspections/findings/"


@pytest.fixture
def field_campaign(lead, inspector):
    si.checklists_load()
    return si.campaign_make(lead=lead, members=[inspector], path=("announce", "start_fieldwork"))


# --- Numbers out of any range ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    ("accuracy", 1e30),  # was a 500: Decimal.quantize cannot hold it
    ("accuracy", "1e30"),
    ("accuracy", "NaN"),
    ("accuracy", "Infinity"),
    ("accuracy", -1),
    ("latitude", 1e30),
    ("longitude", "-Infinity"),
])
def test_a_finding_with_a_number_out_of_range_is_a_400(api, inspector, field_campaign, field, value):
    target, item = field_campaign.targets.order_by("pk").first(), si.items_of(field_campaign)[0]
    body = si.finding_body(target, item, **{field: value})
    if field == "latitude":
        body["longitude"] = 106.3
    problem = assert_problem(api.as_user(inspector).post(FINDINGS, body, format="json"), 400, "validation")
    assert field in problem["errors"], problem
    assert not Finding.objects.exists()


def test_nan_as_a_json_literal_is_a_400(api, inspector, field_campaign):
    target, item = field_campaign.targets.order_by("pk").first(), si.items_of(field_campaign)[0]
    text = '{"uuid": "%s", "target": %d, "item": %d, "result": "compliant", "accuracy": NaN, "device_time": "%s"}' % (
        uuid.uuid4(), target.pk, item.pk, timezone.now().isoformat())
    response = api.as_user(inspector).post(FINDINGS, data=text, content_type="application/json")
    assert_problem(response, 400, "validation")
    assert not Finding.objects.exists()


def test_one_hostile_item_in_a_batch_costs_only_itself(api, inspector, field_campaign):
    target = field_campaign.targets.order_by("pk").first()
    items = si.items_of(field_campaign)
    bodies = [si.finding_body(target, items[0]), si.finding_body(target, items[1], accuracy=1e30),
              si.finding_body(target, items[2])]
    response = api.as_user(inspector).post(FINDINGS + "batch/", {"findings": bodies}, format="json")
    assert response.status_code == 200, response.content[:500]
    results = response.json()["results"]
    assert [result["status"] for result in results] == [201, 400, 201]
    assert results[1]["uuid"] == bodies[1]["uuid"]
    assert results[1]["body"]["code"] == "validation" and "accuracy" in results[1]["body"]["errors"]
    stored = {str(pk) for pk in Finding.objects.values_list("pk", flat=True)}
    assert stored == {bodies[0]["uuid"], bodies[2]["uuid"]}


def test_the_batch_service_refuses_1e30_on_its_own(inspector, field_campaign):
    """Behind the serializer too (the service is also run by the tablets' offline sync): the item is a 400 of its
    own, the others are stored."""
    target = field_campaign.targets.order_by("pk").first()
    items = si.items_of(field_campaign)
    now = timezone.now()
    sent = [{"uuid": uuid.uuid4(), "target_id": target.pk, "item_id": item.pk, "result": "compliant",
             "device_time": now, "accuracy": accuracy} for item, accuracy in ((items[0], 5.0), (items[1], 1e30))]
    answers = inspection_services.findings_batch_submit(actor=inspector, items=sent)
    assert [answer.status for answer in answers] == [201, 400]
    assert answers[1].error.code == "validation"
    assert list(Finding.objects.values_list("pk", flat=True)) == [sent[0]["uuid"]]


def test_a_fine_beyond_any_decree_is_a_400(api, lead, inspector):
    si.checklists_load()
    campaign = si.campaign_make(lead=lead, members=[inspector], path=("announce", "start_fieldwork"))
    target = campaign.targets.order_by("pk").first()
    for item in si.items_of(campaign):  # violations where no photo is required, so that the outcome needs none
        inspection_services.finding_submit(actor=inspector, uuid=uuid.uuid4(), target_id=target.pk, item_id=item.pk,
                                           result="not_applicable" if item.photo_required else "violation",
                                           device_time=timezone.now())
    target = inspection_services.target_outcome_set(actor=inspector, target_id=target.pk, outcome="violation",
                                                    violation_description="Không có giấy phép.")
    sanction = target.violation.sanction
    url = f"/api/v1/inspections/sanctions/{sanction.pk}/decide/"
    for fine in (10**30, 2**63, 1e30):
        problem = assert_problem(api.as_user(lead).post(url, {"fine_vnd": fine}, format="json"), 400, "validation")
        assert "fine_vnd" in problem["errors"]
    sanction.refresh_from_db()
    assert sanction.decided_at is None and sanction.fine_vnd is None


# --- NUL and other control characters in the URL ---------------------------------------------------------------


@pytest.mark.parametrize(("url", "fields"), [
    ("/api/v1/cases/?type=%00", {"type"}),
    ("/api/v1/cases/?q=a%00b&state=received", {"q"}),
    ("/api/v1/inspections/campaigns/?type=printing%00", {"type"}),
    ("/api/v1/case-types/%00/", {"path"}),  # was a 500: the code reached PostgreSQL
    ("/api/v1/reports/quarterly/cases/?quarter=2019-Q4&type=%00x&metric=results", {"type"}),  # was a 500
    ("/api/v1/cases/?type=%1B%5B2J", {"type"}),  # an escape sequence
    ("/api/v1/cases/?%00=1", {"\\x00"}),  # in a parameter's name
    ("/api/v1/me/?x=%C2%85", {"x"}),  # a C1 control, on an operation without parameters
])
def test_a_control_character_in_the_url_is_a_400_problem(api, head, url, fields):
    problem = assert_problem(api.as_user(head).get(url), 400, "validation")
    assert set(problem["errors"]) == fields


def test_a_tab_in_a_search_is_searched_for(api, head):
    """TAB is the one control character a query may hold: text pasted into a search box."""
    response = api.as_user(head).get("/api/v1/cases/", {"q": "Công ty\tIn"})
    assert response.status_code == 200, response.content[:300]
    assert_problem(api.as_user(head).get("/api/v1/case-types/a%09b/"), 400, "validation")  # not in a path


def test_a_control_character_in_the_url_stops_a_write_before_the_view(api, lead):
    body = {"type": "printing", "title": "Kiểm tra", "legal_basis": "Luật Xuất bản 2012",
            "period_start": "2020-06-01", "period_end": "2020-06-30"}
    response = api.as_user(lead).post("/api/v1/inspections/campaigns/?dry=%00", body, format="json")
    assert_problem(response, 400, "validation")
    assert not Case.objects.exists()


def test_a_control_character_in_a_page_address_is_a_short_400_page(client, officer):
    client.force_login(officer)
    response = client.get("/licensing/", {"q": "Công ty\x00"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert '<html lang="vi">' in page and "<h1>" in page
    assert "Traceback" not in page


# --- A view asked for in a format it cannot give -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "docx"])
def test_options_of_the_quarterly_report_as_a_file_is_a_406_problem(api, reporter, fmt):
    response = api.as_user(reporter).options(f"/api/v1/reports/quarterly/?format={fmt}")  # was a 500 (KeyError)
    problem = assert_problem(response, 406, "not_acceptable")
    assert problem["detail"]
    # Without a file format, the description is there.
    response = api.as_user(reporter).options("/api/v1/reports/quarterly/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("quarter", ["0000-Q1", "9999-Q4", "1969-Q4"])
@pytest.mark.parametrize("url", ["/api/v1/reports/quarterly/", "/api/v1/reports/quarterly/cases/"])
def test_a_quarter_outside_the_working_years_is_a_400(api, reporter, url, quarter):
    """Found by the widened fuzzer once the schema gave the quarter's pattern: 0000-Q1 and 9999-Q4 parse, but
    their first or last day is no date (a 500)."""
    query = {"quarter": quarter, "type": "printing_licence", "metric": "results"}
    problem = assert_problem(api.as_user(reporter).get(url, query), 400, "validation")
    assert list(problem["errors"]) == ["quarter"]


# --- An export id used twice ------------------------------------------------------------------------------------

EXPORT = {"format": "csv", "received_from": "2020-01-01T00:00:00+07:00", "received_to": "2020-04-01T00:00:00+07:00"}


def test_an_export_id_of_another_user_is_a_409_and_a_retry_is_the_same_job(api, reporter, head):
    body = {**EXPORT, "uuid": str(uuid.uuid4())}
    first = api.as_user(reporter).post("/api/v1/reports/exports/", body, format="json")
    assert first.status_code == 202
    again = api.as_user(reporter).post("/api/v1/reports/exports/", body, format="json")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    problem = assert_problem(api.as_user(head).post("/api/v1/reports/exports/", body, format="json"), 409, "conflict")
    assert str(first.json()["id"]) not in problem.get("detail", "")  # nothing about the other user's job
    assert list(ExportJob.objects.values_list("requested_by", flat=True)) == [reporter.pk]


@pytest.fixture
def slow_export_insert(monkeypatch):
    """Both requests pass the look-up for the id before either inserts: the unique key decides."""
    original = ExportJob.save

    def save(self, *args, **kwargs):
        time.sleep(0.3)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ExportJob, "save", save)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_user", [True, False])
def test_two_racing_exports_with_one_id(reporter, head, slow_export_insert, same_user):
    body = {**EXPORT, "uuid": str(uuid.uuid4())}
    clients = [token_client(reporter), token_client(reporter if same_user else head)]
    responses = run_together([lambda client=client: client.post("/api/v1/reports/exports/", body, format="json")
                              for client in clients])
    assert not any(isinstance(response, BaseException) for response in responses), responses
    statuses = sorted(response.status_code for response in responses)
    assert ExportJob.objects.count() == 1
    if same_user:  # the retry that lost the race gets the job the other one stored
        assert statuses == [200, 202]
        assert len({response.json()["id"] for response in responses}) == 1
    else:
        assert statuses == [202, 409]
        loser = next(response for response in responses if response.status_code == 409)
        assert_problem(loser, 409, "conflict")


# --- A dossier that is not there ----------------------------------------------------------------------------------


def test_putting_the_dossier_of_a_case_without_one_is_a_409(api, officer):
    """A licensing case opened without its dossier (before applications were the only door)."""
    case, _ = case_services.case_create(actor=officer, case_type=CaseType.objects.get(code="printing_licence"),
                                        subject_name="Công ty TNHH In Hoàng Long")
    events = case.events.count()
    url = f"/api/v1/licensing/applications/{case.pk}/dossier/"
    response = api.as_user(officer).put(url, {"fields": {"purpose": "In sách"}, "version": case.version}, format="json")
    problem = assert_problem(response, 409, "conflict")  # was a 500 (Dossier.DoesNotExist)
    assert problem["detail"]
    assert not Dossier.objects.filter(case=case).exists()
    case.refresh_from_db()
    assert (case.version, case.events.count()) == (1, events)
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.DOSSIER).exists()
    # The case reads as an application without a dossier, as the schema says.
    response = api.as_user(officer).get(f"/api/v1/licensing/applications/{case.pk}/")
    assert response.status_code == 200 and response.json()["dossier"] is None


# --- Bodies Django will not read ---------------------------------------------------------------------------------


def test_a_json_body_over_the_limit_is_a_413_problem(api, lead, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {"type": "printing", "title": "Kiểm tra", "legal_basis": "x" * 20_000,
            "period_start": "2020-06-01", "period_end": "2020-06-30"}
    response = api.as_user(lead).post("/api/v1/inspections/campaigns/", body, format="json")
    problem = assert_problem(response, 413, "payload_too_large")  # was a 400 HTML page
    assert problem["max_bytes"] == 10_000
    assert not Case.objects.exists()


def test_a_form_with_too_many_fields_is_a_400_problem(api, officer, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    form = "&".join(f"field{n}=1" for n in range(60))
    response = api.as_user(officer).post("/api/v1/licensing/organisations/", data=form,
                                         content_type="application/x-www-form-urlencoded")
    problem = assert_problem(response, 400, "validation")  # was a 400 HTML page
    assert problem["errors"]["non_field_errors"]
    assert not Organisation.objects.exists()


def test_a_multipart_body_with_too_many_files_is_a_400_problem(api, inspector, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = {f"file{n}": si.upload(si.image_bytes(), name=f"a{n}.jpg") for n in range(5)}
    response = api.as_user(inspector).post("/api/v1/inspections/photos/", files, format="multipart")
    assert_problem(response, 400, "validation")
    assert not Photo.objects.exists()


def test_a_request_refused_outside_any_view_is_a_problem_too(api, officer):
    """A SuspiciousOperation raised before the view (here a host that is not allowed) reaches handler400."""
    response = api.as_user(officer).get("/api/v1/cases/", HTTP_HOST="evil.example")
    assert_problem(response, 400, "bad_request")
