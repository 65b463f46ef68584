"""Two provinces' agencies in one installation: a user of one agency sees nothing of the other's, through any list,
filter, search, detail, action, download, export or page; a successor reads its predecessor's archive and cannot
change it.

Hưng Yên's Sở VHTTDL (the agency history of agencies/data/, successor of Thái Bình's Sở VHTTDL and, before it, of
Thái Bình's Sở TTTT) and Hà Nội's Sở VHTTDL (made here, competent for every type from 01/07/2025) each hold a
department built through the services (tests/support_api_world.py): licensing cases of every procedure, an issued
permit with its document and print facility, applicants, establishments, two campaigns in the field with findings,
photos, a violation, its decided sanction, a follow-up and documents. Each role of Hưng Yên has a user working for
Hưng Yên alone.

The endpoints come from the URL resolver and the API schema (as in tests/test_permission_matrix.py): a new endpoint
or a new list is checked without being named here, and a list nobody has classified fails the test.
"""

import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agencies.models import Agency
from cases import roles as r
from cases.models import Case, CaseType, CaseTypeAgency
from inspections.models import (
    Campaign,
    Document,
    Establishment,
    Finding,
    FollowUp,
    Photo,
    SanctionDecision,
    Target,
    ViolationRecord,
)
from licensing import services as licensing_services
from licensing.models import IssuedDocument, Organisation, Permit, PrintFacility
from reports.models import ExportJob, Report

from . import support_inspections as si
from . import support_licensing as sl
from .conftest import catalogue_load
from .factories import UserFactory, case_make
from .support_api_world import World, world_build
from .test_permission_matrix import MATRIX, api_endpoints, cells, request_for

pytestmark = pytest.mark.django_db

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
HUNG_YEN = "hung-yen-svhttdl"
HA_NOI = "ha-noi-svhttdl"
ROLES = (r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.INSPECTOR, r.INSPECTION_LEAD, r.REPORTER, r.ADMINISTRATOR)
# In the names of Hà Nội's users and registry entries: a page of Hưng Yên's must never show it. The "~" keeps it out
# of every random token a page carries (CSRF tokens are letters and digits, CSP nonces base64): a plain "HNX" once
# turned up inside one of them and failed the test.
MARK = "HNX~HN"
PROCEDURES = ("press_conference", "bulletin", "printing_licence", "print_registration", "noncommercial_publication",
              "publication_import")

# Each list of the API and how its rows lead to their agency. A list of the schema missing here fails the test.
LIST_AGENCY = {
    "/api/v1/cases/": (Case, "agency_id"),
    "/api/v1/licensing/organisations/": (Organisation, "agency_id"),
    "/api/v1/licensing/permits/": (Permit, "case__agency_id"),
    "/api/v1/licensing/print-facilities/": (PrintFacility, "agency_id"),
    "/api/v1/inspections/campaigns/": (Campaign, "case__agency_id"),
    "/api/v1/inspections/establishments/": (Establishment, "agency_id"),
    "/api/v1/inspections/targets/": (Target, "campaign__case__agency_id"),
    "/api/v1/inspections/findings/": (Finding, "target__campaign__case__agency_id"),
    "/api/v1/inspections/photos/": (Photo, "finding__target__campaign__case__agency_id"),
    "/api/v1/inspections/violations/": (ViolationRecord, "target__campaign__case__agency_id"),
    "/api/v1/inspections/sanctions/": (SanctionDecision, "violation__target__campaign__case__agency_id"),
    "/api/v1/inspections/follow-ups/": (FollowUp, "violation__target__campaign__case__agency_id"),
    "/api/v1/inspections/documents/": (Document, "campaign__case__agency_id"),
    "/api/v1/reports/exports/": (ExportJob, "requested_by__agency_memberships__agency_id"),
    "/api/v1/reports/documents/": (Report, "agency_id"),
}
# Lists of what every agency shares: the catalogue and the checklists.
SHARED_LISTS = {"/api/v1/case-types/", "/api/v1/inspections/checklist-templates/"}


class Two:
    """Both agencies' departments, Hưng Yên's users, and Thái Bình's 2019 archive."""

    def __init__(self, *, mine: World, theirs: World, hung_yen: Agency, ha_noi: Agency, archive: dict):
        self.mine, self.theirs, self.hung_yen, self.ha_noi, self.archive = mine, theirs, hung_yen, ha_noi, archive
        self.users = mine.users


def ha_noi_agency() -> Agency:
    agency = Agency.objects.create(
        code=HA_NOI, name="Sở Văn hóa, Thể thao và Du lịch", parent_name="UBND THÀNH PHỐ HÀ NỘI", symbol="SVHTTDL",
        place_name="Hà Nội", licensing_division_symbol="QLBCXB", valid_from=date(2025, 7, 1))
    for case_type in CaseType.objects.all():
        CaseTypeAgency.objects.create(case_type=case_type, agency=agency, valid_from=date(2025, 7, 1))
    return agency


def staff(code: str, *, mark: str = "") -> dict:
    """A user of the agency `code` alone for every role."""
    return {role: UserFactory(roles=[role], agencies=[code], last_name=f"{mark} {role}".strip()) for role in ROLES}


def every_procedure(officer, *, mark: str = "") -> list[Case]:
    """A dossier of each of the six procedures, received by `officer` (applicants named with `mark`)."""
    cases = []
    for procedure in PROCEDURES:
        applicant = sl.applicant(procedure, name=f"{sl.APPLICANTS[procedure]['name']} {mark}".strip())
        fields = sl.dossier(procedure)
        if procedure == "press_conference":  # notified at least 24 hours before
            fields["event_at"] = (timezone.now() + timedelta(days=3)).isoformat()
        case, _ = licensing_services.application_receive(actor=officer, procedure=procedure, organisation=applicant,
                                                         fields=fields)
        cases.append(case)
    return cases


def archive_build() -> dict:
    """Thái Bình's Sở TTTT in Q4/2019: a bulletin licence issued, and a printing campaign announced."""
    tb = {role: UserFactory(roles=[role], agencies=["thai-binh-stttt"]) for role in ROLES}
    with time_machine.travel(datetime(2019, 10, 10, 9, tzinfo=HCM), tick=False):
        case = case_make(actor=tb[r.LICENSING_OFFICER], type_code="bulletin", subject_name="Trường Đại học Thái Bình",
                         path=("start_review", "propose_grant", "approve"), head=tb[r.DEPARTMENT_HEAD])
        document = licensing_services.result_issue(case_id=case.pk)
        campaign = si.campaign_make(lead=tb[r.INSPECTION_LEAD], members=[tb[r.INSPECTOR]], path=("announce",),
                                    agency=Agency.objects.get(code="thai-binh-stttt"))
    case.refresh_from_db()
    return {"case": case, "document": document, "permit": Permit.objects.get(case=case), "campaign": campaign,
            "users": tb}


def two_build() -> Two:
    ha_noi = ha_noi_agency()
    hung_yen = Agency.objects.get(code=HUNG_YEN)
    archive = archive_build()
    mine = world_build(staff(HUNG_YEN), agency=hung_yen)
    every_procedure(mine.users[r.LICENSING_OFFICER])
    theirs = world_build(staff(HA_NOI, mark=MARK), agency=ha_noi)
    every_procedure(theirs.users[r.LICENSING_OFFICER], mark=MARK)
    # Hà Nội's registry entries carry the mark, so that a page showing one is caught.
    for model in (Establishment, PrintFacility):
        for row in model.objects.filter(agency=ha_noi):
            model.objects.filter(pk=row.pk).update(name=f"{row.name} {MARK}")
    for row in Organisation.objects.filter(agency=ha_noi).exclude(name__contains=MARK):
        Organisation.objects.filter(pk=row.pk).update(name=f"{row.name} {MARK}")
    return Two(mine=mine, theirs=theirs, hung_yen=hung_yen, ha_noi=ha_noi, archive=archive)


@pytest.fixture(scope="module")
def two_departments(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module (about a minute) and committed; every test runs in a transaction rolled back after
    it, so each sees the same two departments. Emptied at the end, as a transaction=True test leaves the database."""
    from django.core.management import call_command
    from django.test import override_settings

    media = tmp_path_factory.mktemp("agency-scoping-media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        try:
            catalogue_load()
            si.checklists_load()
            built = two_build()
        except BaseException:
            call_command("flush", interactive=False, verbosity=0)
            raise
    built.media = media
    yield built
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _media_root(two_departments, settings):
    """The files of the module's departments (conftest gives each test an empty media root)."""
    settings.MEDIA_ROOT = two_departments.media


@pytest.fixture
def two(two_departments, settings) -> Two:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token_login": "1000/min"}}
    return two_departments


def client_of(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def send(client, method: str, url: str, body=None, fmt: str = "json"):
    """One request in a savepoint rolled back after it: every request sees the same two departments."""
    sid = transaction.savepoint()
    try:
        response = getattr(client, method.lower())(url, body, format=fmt) if body is not None else \
            getattr(client, method.lower())(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        return response
    finally:
        transaction.savepoint_rollback(sid)


def ha_noi_rows(model, agency_path: str, ha_noi: Agency, keys) -> set:
    return set(model.objects.filter(pk__in=list(keys), **{agency_path: ha_noi.pk}).values_list("pk", flat=True))


def references(agency: Agency) -> set[str]:
    return set(Case.objects.filter(agency=agency).values_list("reference", flat=True))


# --- The set-up is what the tests assume ------------------------------------------------------------------------


def test_both_agencies_hold_a_whole_department_numbered_on_their_own(two):
    for world, agency in ((two.mine, two.hung_yen), (two.theirs, two.ha_noi)):
        assert world.app_issued.agency == agency and world.mine.campaign.case.agency == agency
        assert set(Case.objects.filter(agency=agency, case_type__domain="licensing").values_list(
            "case_type__code", flat=True)) == set(PROCEDURES)
        for model in (Organisation, PrintFacility, Establishment):
            assert model.objects.filter(agency=agency).exists(), model
        assert world.document.issuer == agency and world.mine.violation.issuer == agency
    # Each agency counts its own numbers: the same number text, issued once by each.
    assert two.mine.document.number_text == two.theirs.document.number_text
    assert two.mine.mine.campaign.decision_number_text == two.theirs.mine.campaign.decision_number_text
    assert two.mine.mine.violation.number_text == two.theirs.mine.violation.number_text
    # The same tax code is an entry of each agency's registry.
    assert set(Organisation.objects.filter(tax_code=sl.APPLICANTS["bulletin"]["tax_code"]).values_list(
        "agency_id", flat=True)) == {two.hung_yen.pk, two.ha_noi.pk}
    assert two.archive["case"].agency.code == "thai-binh-stttt"


# --- Lists, filters and searches ----------------------------------------------------------------------------------


def _query_values(two: Two, parameter: dict) -> list[str]:
    """Values worth sending in a query parameter: the other agency's ids (those of the kind the parameter names, by
    its name), references, names and numbers."""
    spec = parameter.get("schema", {})
    if spec.get("type") == "array":
        spec = spec.get("items", {})
    if "enum" in spec:
        return [str(value) for value in spec["enum"] if value not in ("", None)]
    if spec.get("type") == "boolean":
        return ["true", "false"]
    theirs = two.theirs
    sides = (theirs.mine, theirs.other)
    if spec.get("type") == "integer":
        by_name = {
            "campaign": [side.campaign.pk for side in sides],
            "target": [side.target_done.pk for side in sides] + [theirs.mine.target_open.pk],
            "violation": [side.violation.pk for side in sides],
            "holder": [theirs.permit.holder_id], "organisation": [theirs.permit.holder_id],
            "print_facility": [theirs.print_facility.pk],
            "year": [timezone.localdate().year],
        }
        users = [theirs.users[r.LICENSING_OFFICER].pk, theirs.lead2.pk, theirs.inspector2.pk]
        for name in ("assignee", "lead", "inspector", "created_by"):
            by_name[name] = users
        generic = [theirs.app_open.pk, theirs.mine.campaign.pk, theirs.mine.target_done.pk,
                   theirs.establishment_free.pk]
        return [str(pk) for pk in by_name.get(parameter["name"], generic)]
    if spec.get("format") == "uuid":
        return [str(theirs.mine.findings[0].pk)]
    if spec.get("format") in {"date", "date-time"}:
        return ["2000-01-01", str(timezone.localdate() + timedelta(days=400))]
    return [MARK, theirs.app_open.reference, theirs.mine.campaign.case.reference,
            theirs.mine.campaign.decision_number_text, sl.APPLICANTS["bulletin"]["tax_code"], "SVHTTDL"]


def _rows(payload) -> list:
    rows = payload["results"] if isinstance(payload, dict) and "results" in payload else payload
    assert isinstance(rows, list), payload
    return [row["id"] if "id" in row else row.get("uuid", row.get("code")) for row in rows]


@pytest.mark.parametrize("role", ROLES)
def test_no_list_filter_or_search_shows_anything_of_the_other_agency(two, role):
    client = client_of(two.users[role])
    schema = SchemaGenerator().get_schema(request=None, public=True)
    lists = {path: ops["get"].get("parameters", []) for path, ops in schema["paths"].items()
             if "get" in ops and "{" not in path and (path + "{id}/" in schema["paths"]
                                                    or path + "{code}/" in schema["paths"])}
    unclassified = set(lists) - set(LIST_AGENCY) - SHARED_LISTS
    assert not unclassified, f"lists whose rows' agency this test does not know: {sorted(unclassified)}"
    leaks, own_rows = [], 0
    for path, parameters in sorted(lists.items()):
        if path in SHARED_LISTS:
            continue
        model, agency_path = LIST_AGENCY[path]
        queries = [{"page_size": 100}]
        for parameter in parameters:
            if parameter.get("in") == "query" and parameter["name"] not in {"page", "page_size", "ordering", "format"}:
                queries += [{"page_size": 100, parameter["name"]: value} for value in _query_values(two, parameter)]
        for query in queries:
            response = client.get(path, query)
            if response.status_code in {400, 403}:  # a value refused (as an unknown one is), or a role refused
                assert response.status_code == 403 or query != {"page_size": 100}, (path, response.content[:300])
                continue
            assert response.status_code == 200, (path, query, response.status_code, response.content[:300])
            keys = _rows(response.json())
            if query == {"page_size": 100}:
                own_rows += len(keys)
            shown = ha_noi_rows(model, agency_path, two.ha_noi, keys)
            if shown:
                leaks.append(f"{path}?{query} shows Hà Nội's rows {sorted(map(str, shown))}")
    assert own_rows >= 5, "the lists showed too little of the user's own agency to prove anything"
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("role", [r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR])
def test_report_drill_downs_show_nothing_of_the_other_agency(two, role):
    """The report's lists of cases behind a number (the figures themselves are the reports app's)."""
    from reports.quarters import Quarter

    client = client_of(two.users[role])
    theirs = references(two.ha_noi)
    for code in PROCEDURES:
        for metric in ("results", "received", "pending"):
            response = client.get("/api/v1/reports/quarterly/cases/", {"quarter": str(Quarter.current()),
                                                                       "type": code, "metric": metric,
                                                                       "page_size": 100})
            if response.status_code == 400:  # a metric the report does not have
                continue
            assert response.status_code == 200, response.content[:300]
            assert not {row["reference"] for row in response.json()["results"]} & theirs, (code, metric)


# --- Details, actions, downloads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_object_of_the_other_agency_answers_404_on_every_endpoint(two, role):
    """Every endpoint with an object in its path (from the URL resolver), for the other agency's object: 404, as for
    an object the role may not see; a role refused on its own agency's object may be refused the same way (403) on
    the other's, which says nothing of it either. The catalogue and the checklists are shared (as on its own)."""
    user = two.users[role]
    client = client_of(user)
    served = {(method, path) for method, path in api_endpoints() if "{" in path}
    assert served <= set(MATRIX), "the permission matrix lacks endpoints: run tests/test_permission_matrix.py"
    wrong, checked = [], 0
    for method, path in sorted(served):
        for obj in cells(MATRIX[(method, path)][r.DEPARTMENT_HEAD]):
            own = send(client, method, *request_for(method, path, obj, two.mine, user))
            url, body, fmt = request_for(method, path, obj, two.theirs, user)
            other = send(client, method, url, body, fmt)
            checked += 1
            if obj == "-" and path in {"/api/v1/case-types/{code}/", "/api/v1/inspections/checklist-templates/{id}/"}:
                expected = {own.status_code}  # shared by every agency
            elif own.status_code in {401, 403}:
                expected = {own.status_code, 404}
            else:
                expected = {404}
            if other.status_code not in expected:
                wrong.append(f"{method} {url} [{obj}]: expected {expected} (own agency's: {own.status_code}), "
                             f"got {other.status_code} {other.content[:160]!r}")
            elif other.status_code == 404:
                assert other["Content-Type"].startswith("application/problem+json"), url
                assert two.theirs.app_open.reference not in other.content.decode()
    assert checked >= 60
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def _unknown(value):
    return str(uuid.UUID(int=7)) if isinstance(value, str) and len(value) == 36 else 2_000_000_000


@pytest.mark.parametrize("role", [r.DEPARTMENT_HEAD, r.INSPECTION_LEAD, r.INSPECTOR, r.LICENSING_OFFICER])
def test_an_id_of_the_other_agency_in_a_body_or_filter_is_answered_as_an_unknown_id(two, role):
    """Naming the other agency's object anywhere (a body, a filter) gets the answer an id that exists nowhere gets:
    nothing says it exists."""
    user = two.users[role]
    client = client_of(user)
    mine, theirs = two.mine, two.theirs
    today = timezone.localdate()
    own_side = mine.mine

    def finding(target_id):
        return si.finding_body(own_side.target_open, si.items_of(own_side.campaign)[0]) | {"target": target_id}

    requests = [
        ("POST", "/api/v1/inspections/targets/", lambda v: {"campaign": v, "establishment": mine.establishment_free.pk},
         theirs.mine.campaign.pk),
        ("POST", "/api/v1/inspections/targets/", lambda v: {"campaign": own_side.campaign.pk, "establishment": v},
         theirs.establishment_free.pk),
        ("POST", "/api/v1/inspections/campaigns/", lambda v: {
            "type": "printing", "title": "Kiểm tra in", "legal_basis": "Luật Xuất bản 2012",
            "period_start": str(today), "period_end": str(today), "targets": [{"establishment": v}]},
         theirs.establishment_free.pk),
        ("POST", "/api/v1/inspections/findings/", finding, theirs.mine.target_open.pk),
        ("POST", "/api/v1/inspections/follow-ups/", lambda v: {
            "violation": v, "correction_due_on": str(today + timedelta(days=20))}, theirs.mine.violation.pk),
        ("POST", "/api/v1/licensing/applications/", lambda v: sl.application_body("bulletin", organisation_id=v)
         | {"organisation": None}, theirs.permit.holder_id),
        ("PATCH", f"/api/v1/inspections/establishments/{mine.establishment_free.pk}/",
         lambda v: {"print_facility": v}, theirs.print_facility.pk),
        ("GET", "/api/v1/inspections/establishments/", lambda v: {"print_facility": v}, theirs.print_facility.pk),
        ("GET", "/api/v1/inspections/establishments/", lambda v: {"organisation": v}, theirs.permit.holder_id),
        ("GET", "/api/v1/licensing/print-facilities/", lambda v: {"organisation": v}, theirs.permit.holder_id),
        ("GET", "/api/v1/inspections/targets/", lambda v: {"campaign": v}, theirs.mine.campaign.pk),
        ("GET", "/api/v1/inspections/documents/", lambda v: {"campaign": v}, theirs.mine.campaign.pk),
        ("GET", "/api/v1/inspections/findings/", lambda v: {"target": v}, theirs.mine.target_done.pk),
        ("GET", "/api/v1/inspections/photos/", lambda v: {"finding": v}, str(theirs.mine.findings[0].pk)),
        ("GET", "/api/v1/inspections/violations/", lambda v: {"target": v}, theirs.mine.target_done.pk),
        ("GET", "/api/v1/inspections/sanctions/", lambda v: {"violation": v}, theirs.mine.violation.pk),
        ("GET", "/api/v1/inspections/follow-ups/", lambda v: {"violation": v}, theirs.mine.violation.pk),
    ]
    different = []
    for method, url, body_of, value in requests:
        if method == "GET":
            answers = [send(client, "GET", url + "?" + "&".join(f"{k}={v}" for k, v in body_of(x).items()))
                       for x in (value, _unknown(value))]
        else:
            answers = [send(client, method, url, body_of(x)) for x in (value, _unknown(value))]
        theirs_answer, unknown_answer = answers
        codes = [a.json().get("code") if a["Content-Type"].endswith("json") and a.status_code >= 400 else None
                 for a in answers]
        if (theirs_answer.status_code, codes[0]) != (unknown_answer.status_code, codes[1]):
            different.append(f"{method} {url} {body_of(value)}: {theirs_answer.status_code} {codes[0]} against "
                             f"{unknown_answer.status_code} {codes[1]} for an unknown id")
        assert theirs_answer.status_code != 500
    # The batch answers each finding as a single post would: the other agency's target as an unknown one.
    batch = [send(client, "POST", "/api/v1/inspections/findings/batch/", {"findings": [finding(x)]})
             for x in (theirs.mine.target_open.pk, _unknown(1))]
    if batch[0].status_code == 200:
        first, second = (b.json()["results"][0] for b in batch)
        assert (first["status"], first["body"].get("code")) == (second["status"], second["body"].get("code"))
    assert not different, "\n".join(different)


def test_nothing_is_served_from_media(two, client):
    client.force_login(two.users[r.ADMINISTRATOR])
    for name in (two.theirs.document.file.name, two.theirs.mine.photo.file.name, two.mine.document.file.name):
        assert client.get(f"/media/{name}").status_code == 404


# --- Exports --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_case_export_holds_only_the_requesters_agencies(two, fmt):
    import io

    import openpyxl

    from reports import case_export

    client = client_of(two.users[r.REPORTER])
    now = timezone.now()
    job = client.post("/api/v1/reports/exports/", {"format": fmt, "received_from": (now - timedelta(days=2)).isoformat(),
                                                   "received_to": (now + timedelta(minutes=1)).isoformat()},
                      format="json")
    assert job.status_code == 202, job.content
    case_export.export_run(job_id=job.json()["id"])
    download = client.get(f"/api/v1/reports/exports/{job.json()['id']}/download/")
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    if fmt == "csv":
        text = data.decode("utf-8-sig")
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
        text = "\n".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)
    assert two.mine.app_open.reference in text
    assert not sorted(reference for reference in references(two.ha_noi) if reference in text)


# --- Pages ----------------------------------------------------------------------------------------------------------


def _marks(two: Two) -> set[str]:
    """What would show the other agency on a page: its case references and the links to its cases, its users' and
    registry entries' marks."""
    links = {reverse("licensing:case", args=[pk]) for pk in Case.objects.filter(agency=two.ha_noi).values_list(
        "pk", flat=True)}
    return references(two.ha_noi) | links | {MARK}


@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_anything_of_the_other_agency(two, role, client):
    user = two.users[role]
    client.force_login(user)
    marks = _marks(two)
    theirs = two.theirs
    pages = ["/", reverse("licensing:queue"), reverse("licensing:approvals"), reverse("licensing:permits"),
             reverse("licensing:receive"), reverse("licensing:receive") + "?procedure=bulletin",
             reverse("inspections:visits")]
    pages += [reverse("licensing:queue") + f"?q={text}" for text in (MARK, theirs.app_open.reference, "Hoàng Long")]
    pages += [reverse("licensing:permits") + f"?q={text}" for text in (MARK, theirs.app_issued.reference,
                                                                       theirs.permit.number_text)]
    pages += [reverse("licensing:case", args=[case.pk])
              for case in Case.objects.filter(agency=two.hung_yen, case_type__domain="licensing")]
    seen = 0
    for url in pages:
        response = client.get(url)
        assert response.status_code in {200, 403, 404}, (url, response.status_code)  # 403, 404: not for this role
        if response.status_code == 200:
            seen += 1
            html = response.content.decode()
            typed = url.partition("?q=")[2]  # a search page repeats what was typed: the rest must not show
            shown = sorted(mark for mark in marks - {typed} if mark in html)
            assert not shown, f"{url} shows {shown}"
    assert seen >= 2
    # The other agency's case page, its actions, and its targets' checklists: not found.
    case = theirs.app_open
    assert client.get(reverse("licensing:case", args=[case.pk])).status_code == 404
    for name, data in (("licensing:case-transition", {"action": "start_review", "version": case.version}),
                       ("licensing:case-assign", {"assignee": "", "version": case.version}),
                       ("licensing:case-note", {"text": "Ghi chú"})):
        assert client.post(reverse(name, args=[case.pk]), data).status_code == 404, name
    assert client.post(reverse("licensing:case-attachment", args=[case.pk]),
                       {"kind": "scan", "file": sl.upload("scan", "pdf")}).status_code == 404
    for target in (theirs.mine.target_open, theirs.other.target_done):
        assert client.get(reverse("inspections:target", args=[target.pk])).status_code in {403, 404}
        if r.user_roles(user) & {r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR}:
            assert client.get(reverse("inspections:target", args=[target.pk])).status_code == 404
    assert Case.objects.get(pk=case.pk).version == case.version  # nothing changed


def test_the_head_assigns_only_to_the_staff_of_the_cases_agency(two, client):
    head = two.users[r.DEPARTMENT_HEAD]
    client.force_login(head)
    case = Case.objects.filter(agency=two.hung_yen, case_type__domain="licensing", state="received").first()
    html = client.get(reverse("licensing:case", args=[case.pk])).content.decode()
    assert two.users[r.LICENSING_OFFICER].get_full_name() in html and MARK not in html
    stranger = two.theirs.users[r.LICENSING_OFFICER]
    response = client_of(head).post(f"/api/v1/cases/{case.pk}/assign/", {"assignee": stranger.pk,
                                                                       "version": case.version}, format="json")
    assert response.status_code == 400 and "assignee" in response.json()["errors"]
    assert Case.objects.get(pk=case.pk).assignee_id != stranger.pk


# --- Writing in the registries and receiving for one of several agencies -------------------------------------------


def test_registry_entries_go_to_the_writers_agency(two):
    lead, officer = two.users[r.INSPECTION_LEAD], two.users[r.LICENSING_OFFICER]
    shop = client_of(lead).post("/api/v1/inspections/establishments/", {
        "kind": "print_shop", "name": "Cơ sở in Phố Hiến", "address": "Số 2 Điện Biên, TP Hưng Yên"}, format="json")
    assert shop.status_code == 201, shop.content
    assert shop.json()["agency"] == {"id": two.hung_yen.pk, "name": str(two.hung_yen)}
    assert Establishment.objects.get(pk=shop.json()["id"]).agency == two.hung_yen
    # The other agency's lead neither sees nor changes it.
    other = client_of(two.theirs.users[r.INSPECTION_LEAD])
    assert other.get(f"/api/v1/inspections/establishments/{shop.json()['id']}/").status_code == 404
    assert other.patch(f"/api/v1/inspections/establishments/{shop.json()['id']}/", {"name": "X"},
                       format="json").status_code == 404
    # An applicant with a tax code Hà Nội's registry already holds: a new entry of Hưng Yên's.
    body = sl.applicant("bulletin", name="Trường Đại học Thái Bình (mới)")
    created = client_of(officer).post("/api/v1/licensing/organisations/", body, format="json")
    assert created.status_code == 201, created.content
    entry = Organisation.objects.get(pk=created.json()["id"])
    assert entry.agency == two.hung_yen and entry.tax_code == body["tax_code"]
    assert Organisation.objects.filter(agency=two.ha_noi, tax_code=body["tax_code"]).exists()
    # Naming an agency one does not work for is refused.
    refused = client_of(officer).post("/api/v1/licensing/organisations/", {**body, "agency": two.ha_noi.pk},
                                      format="json")
    assert refused.status_code == 400 and "agency" in refused.json()["errors"]


def test_someone_working_for_two_agencies_says_which_one_receives(two):
    officer = UserFactory(roles=[r.LICENSING_OFFICER, r.INSPECTION_LEAD], agencies=[HUNG_YEN, HA_NOI])
    client = client_of(officer)
    body = sl.application_body("bulletin")
    unsure = client.post("/api/v1/licensing/applications/", body, format="json")
    assert unsure.status_code == 400 and "agency" in unsure.json()["errors"], unsure.content
    assert {item["id"] for item in unsure.json()["agencies"]} == {two.hung_yen.pk, two.ha_noi.pk}
    received = client.post("/api/v1/licensing/applications/", {**body, "agency": two.ha_noi.pk}, format="json")
    assert received.status_code == 201, received.content
    assert received.json()["agency"]["id"] == two.ha_noi.pk
    case = Case.objects.get(pk=received.json()["id"])
    assert case.agency == two.ha_noi and case.dossier.organisation.agency == two.ha_noi

    entry = client.post("/api/v1/licensing/organisations/", sl.applicant("press_conference"), format="json")
    assert entry.status_code == 400 and "agency" in entry.json()["errors"]
    entry = client.post("/api/v1/licensing/organisations/", {**sl.applicant("press_conference"),
                                                             "agency": two.hung_yen.pk}, format="json")
    assert entry.status_code == 201 and entry.json()["agency"]["id"] == two.hung_yen.pk

    today = timezone.localdate()
    plan = {"type": "printing", "title": "Kiểm tra hoạt động in", "legal_basis": "Luật Xuất bản 2012",
            "period_start": str(today), "period_end": str(today + timedelta(days=3))}
    unsure = client.post("/api/v1/inspections/campaigns/", plan, format="json")
    assert unsure.status_code == 400 and "agency" in unsure.json()["errors"], unsure.content
    planned = client.post("/api/v1/inspections/campaigns/", {**plan, "agency": two.hung_yen.pk,
                                                             "targets": [{"establishment": two.mine.establishment_free.pk}]},
                          format="json")
    assert planned.status_code == 201, planned.content
    assert planned.json()["agency"]["id"] == two.hung_yen.pk
    # A campaign's team works for the campaign's agency.
    stranger = two.theirs.users[r.INSPECTOR]
    refused = client.post("/api/v1/inspections/campaigns/", {**plan, "agency": two.hung_yen.pk,
                                                             "members": [stranger.pk]}, format="json")
    assert refused.status_code == 400 and "members" in refused.json()["errors"], refused.content
    # The receive page asks too, and receives for the agency chosen.
    from django.test import Client

    page = Client()
    page.force_login(officer)
    form = page.get(reverse("licensing:receive") + "?procedure=printing_licence").content.decode()
    assert 'name="agency"' in form
    form = {"uuid": str(uuid.uuid4()), "procedure": "printing_licence", "org_name": "Cơ sở in Phố Hiến",
            "org_kind": "print_facility", "dossier_facility_name": "Cơ sở in Phố Hiến",
            "dossier_facility_address": "Số 2 Điện Biên, TP Hưng Yên", "dossier_owner": "Lê Văn Hiến",
            "dossier_products": "Sách, tờ rơi", "dossier_equipment": "Máy in offset | 1"}
    unsure = page.post(reverse("licensing:receive"), form)
    assert unsure.status_code == 200 and not Case.objects.filter(uuid=form["uuid"]).exists()
    assert re.search(r'name="agency".*?class="error field-error"', unsure.content.decode(), re.S)
    received = page.post(reverse("licensing:receive"), {**form, "agency": two.hung_yen.pk})
    assert received.status_code == 302
    case = Case.objects.get(uuid=form["uuid"])
    assert case.agency == two.hung_yen and case.dossier.organisation.agency == two.hung_yen


def test_serializers_name_the_agency(two):
    client = client_of(two.users[r.DEPARTMENT_HEAD])
    expected = {"id": two.hung_yen.pk, "name": str(two.hung_yen)}
    assert client.get(f"/api/v1/licensing/applications/{two.mine.app_open.pk}/").json()["agency"] == expected
    assert client.get(f"/api/v1/licensing/permits/{two.mine.permit.pk}/").json()["agency"] == expected
    assert client.get(f"/api/v1/licensing/organisations/{two.mine.permit.holder_id}/").json()["agency"] == expected
    assert client.get(f"/api/v1/licensing/print-facilities/{two.mine.print_facility.pk}/").json()["agency"] == expected
    assert client.get(f"/api/v1/inspections/establishments/{two.mine.establishment_free.pk}/").json()["agency"] \
        == expected
    assert client.get(f"/api/v1/inspections/campaigns/{two.mine.mine.campaign.pk}/").json()["agency"] == expected
    listed = client.get("/api/v1/inspections/campaigns/").json()["results"]
    thai_binh = Agency.objects.get(code="thai-binh-stttt")  # the archive of the predecessor, read with its agency
    assert {(row["agency"]["id"], row["agency"]["name"]) for row in listed} == {
        (two.hung_yen.pk, str(two.hung_yen)), (thai_binh.pk, str(thai_binh))}
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["components"]["schemas"]["Permit"]["properties"]["agency"]["properties"]["name"]["type"] == "string"


# --- The predecessor's archive ---------------------------------------------------------------------------------------


def test_a_successor_reads_its_predecessors_archive_and_changes_nothing_in_it(two, client):
    archive = two.archive
    case, campaign = archive["case"], archive["campaign"]
    officer, head, lead = two.users[r.LICENSING_OFFICER], two.users[r.DEPARTMENT_HEAD], two.users[r.INSPECTION_LEAD]
    api = client_of(officer)
    detail = api.get(f"/api/v1/licensing/applications/{case.pk}/")
    assert detail.status_code == 200 and detail.json()["agency"]["name"].startswith("Sở Thông tin và Truyền thông")
    assert api.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    assert api.get(f"/api/v1/licensing/documents/{archive['document'].pk}/download/").status_code == 200
    assert archive["permit"].pk in {row["id"] for row in api.get("/api/v1/licensing/permits/",
                                                                  {"page_size": 100}).json()["results"]}
    assert archive["permit"].holder_id in {row["id"] for row in api.get("/api/v1/licensing/organisations/",
                                                                         {"page_size": 100}).json()["results"]}
    version, events = case.version, case.events.count()
    refusals = [
        api.post(f"/api/v1/cases/{case.pk}/notes/", {"text": "Ghi chú"}, format="json"),
        api.post(f"/api/v1/cases/{case.pk}/transitions/", {"action": "revoke", "version": version,
                                                           "note": "Thu hồi"}, format="json"),
        client_of(head).post(f"/api/v1/cases/{case.pk}/transitions/", {"action": "revoke", "version": version,
                                                                       "note": "Thu hồi"}, format="json"),
        api.post(f"/api/v1/cases/{case.pk}/attachments/", {"file": sl.upload("scan", "pdf"), "kind": "scan"},
                 format="multipart"),
        api.put(f"/api/v1/licensing/applications/{case.pk}/dossier/", {"fields": sl.dossier("bulletin"),
                                                                      "version": version}, format="json"),
    ]
    for response in refusals:
        assert response.status_code == 403 and response.json()["code"] == "permission", response.content
    case.refresh_from_db()
    assert (case.version, case.events.count(), case.state) == (version, events, "issued")

    lead_api = client_of(lead)
    assert lead_api.get(f"/api/v1/inspections/campaigns/{campaign.pk}/").status_code == 200
    for url, body in ((f"/api/v1/inspections/campaigns/{campaign.pk}/transitions/",
                       {"action": "start_fieldwork", "version": campaign.case.version}),
                      (f"/api/v1/inspections/campaigns/{campaign.pk}/team/",
                       {"lead": lead.pk, "members": []}),
                      ("/api/v1/inspections/targets/", {"campaign": campaign.pk,
                                                        "establishment": two.mine.establishment_free.pk})):
        response = lead_api.post(url, body, format="json")
        assert response.status_code == 403, (url, response.content)
    shop = campaign.targets.first().establishment
    assert lead_api.get(f"/api/v1/inspections/establishments/{shop.pk}/").status_code == 200
    assert lead_api.patch(f"/api/v1/inspections/establishments/{shop.pk}/", {"name": "Đổi tên"},
                          format="json").status_code == 403

    # The case page shows it, with nothing to act on.
    client.force_login(head)
    page = client.get(reverse("licensing:case", args=[case.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert case.reference in html and 'name="action"' not in html and 'name="assignee"' not in html
    assert case.reference not in client.get(reverse("licensing:queue")).content.decode()

    # The other province's agency sees none of it.
    stranger = client_of(two.theirs.users[r.DEPARTMENT_HEAD])
    assert stranger.get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert stranger.get(f"/api/v1/inspections/campaigns/{campaign.pk}/").status_code == 404
    assert stranger.get(f"/api/v1/licensing/permits/{archive['permit'].pk}/").status_code == 404


def test_a_predecessors_registry_entry_may_be_inspected_by_the_successor(two):
    """The establishments of Thái Bình's archive are still there to inspect: a campaign of Hưng Yên's may target
    them (the entry itself stays as the archive has it)."""
    shop = two.archive["campaign"].targets.first().establishment
    lead = two.users[r.INSPECTION_LEAD]
    today = timezone.localdate()
    response = client_of(lead).post("/api/v1/inspections/campaigns/", {
        "type": "printing", "title": "Kiểm tra lại cơ sở in", "legal_basis": "Luật Xuất bản 2012",
        "period_start": str(today), "period_end": str(today), "targets": [{"establishment": shop.pk}]}, format="json")
    assert response.status_code == 201, response.content
    assert [t["establishment"]["id"] for t in response.json()["targets"]] == [shop.pk]
    # Hà Nội's lead may not.
    response = client_of(two.theirs.users[r.INSPECTION_LEAD]).post("/api/v1/inspections/campaigns/", {
        "type": "printing", "title": "Kiểm tra", "legal_basis": "Luật Xuất bản 2012", "period_start": str(today),
        "period_end": str(today), "targets": [{"establishment": shop.pk}]}, format="json")
    assert response.status_code == 400 and re.search("establishment", response.content.decode())


def test_a_finding_or_photo_cannot_be_sent_to_the_other_agencys_campaign(two):
    """Even by someone on that campaign's team in the past: the inspector of Hà Nội's team cannot send to a target
    of Hưng Yên's, and the finding is not stored."""
    theirs = two.theirs
    inspector = theirs.users[r.INSPECTOR]
    target = two.mine.mine.target_open
    body = si.finding_body(target, si.items_of(two.mine.mine.campaign)[0])
    response = client_of(inspector).post("/api/v1/inspections/findings/", body, format="json")
    assert response.status_code == 400 and "target" in response.json()["errors"]
    assert not Finding.objects.filter(pk=body["uuid"]).exists()
    photo = client_of(inspector).post("/api/v1/inspections/photos/", {
        "uuid": str(uuid.uuid4()), "finding": str(two.mine.mine.findings[0].pk),
        "file": si.upload(si.image_bytes())}, format="multipart")
    assert photo.status_code == 409 and photo.json()["code"] == "finding_not_received", photo.content


def test_case_events_and_files_of_the_other_agency_are_not_found(two):
    client = client_of(two.users[r.ADMINISTRATOR])
    case = two.theirs.app_open
    for url in (f"/api/v1/cases/{case.pk}/", f"/api/v1/cases/{case.pk}/events/",
                f"/api/v1/cases/{case.pk}/attachments/",
                f"/api/v1/cases/{case.pk}/attachments/{two.theirs.attachment.pk}/download/",
                f"/api/v1/licensing/documents/{two.theirs.document.pk}/download/",
                f"/api/v1/inspections/photos/{two.theirs.mine.photo.pk}/file/",
                f"/api/v1/inspections/photos/{two.theirs.mine.photo.pk}/thumbnail/",
                f"/api/v1/inspections/documents/{two.theirs.mine.documents[0].pk}/download/"):
        assert client.get(url).status_code == 404, url
    assert client_of(two.theirs.users[r.ADMINISTRATOR]).get(
        f"/api/v1/licensing/documents/{two.theirs.document.pk}/download/").status_code == 200


def test_documents_are_numbered_per_issuing_agency(two):
    assert IssuedDocument.objects.filter(number_text=two.mine.document.number_text).count() == 2
    assert {d.issuer_id for d in IssuedDocument.objects.filter(number_text=two.mine.document.number_text)} == {
        two.hung_yen.pk, two.ha_noi.pk}
