"""Every API endpoint × every role (and anonymous) × own and others' objects → the status the department's rules
give. The endpoints come from the URL resolver, so a new endpoint that is not in the table fails the test.

The expected statuses are written out below from the rules (DESIGN.md, cases/roles.py), not computed by the
product's permission code:
- licensing officers work on licensing cases, and see no inspection case;
- inspectors see and work on the campaigns of their own teams only; inspection leads see every campaign;
- the department head and administrators see everything; the reporter reads everything and writes nothing
  but report exports; the quarter's reports are for the reporter, the head and administrators;
- the registries (organisations, permits, print facilities, case types) are read by every role; the
  inspection registry and checklists by the inspection roles, the head, administrators and the reporter;
- an export job is its requester's;
- an object a role may not see is 404 (nothing is said about it), an action a role may not take is 403.

Writes are sent with a valid body: 2xx means the role was let through; 409 marks a role let through to a rule
of the data (an inspected establishment stays in the registry); 400 marks a licensing case sent to the bare case
door, which no role may use for it (its dossier is received at /api/v1/licensing/applications/). Each request runs
in a savepoint rolled back after it, so every cell sees the same department.

The second part checks that nothing a role may not open shows in a list, a filter, a search, a report
drill-down or an export.
"""

import csv
import io
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cases import roles as r
from reports import case_export
from reports.models import ExportJob
from reports.quarters import Quarter

from . import support_inspections as si
from . import support_licensing as sl
from .support_api_world import World, world_build
from .support_portal_submit import world_submission

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.INSPECTOR, r.INSPECTION_LEAD, r.REPORTER,
         r.ADMINISTRATOR)

# Objects a cell names (one letter each):
#   L  a licensing case (an application received by the licensing officer)
#   M  the inspection campaign of the inspector's team (inspector and inspection lead on it), or one of its
#      objects (target, finding, photo, violation, sanction, follow-up, document, case file)
#   O  another team's campaign (another inspector and another lead), or one of its objects
#   F  an establishment no campaign inspected;  U  one a campaign inspected
#   R  the reporter's export job;  H  the department head's export job
#   -  an object every role may read (a registry entry, a case type, a checklist)
# A cell is "200" (no object), or "L200 M404 O404" (per object). Anonymous is 401 everywhere but the login.

A = "401"  # anonymous
VIS_CASE = {  # who may open which case
    r.LICENSING_OFFICER: "L200 M404 O404", r.DEPARTMENT_HEAD: "L200 M200 O200", r.INSPECTOR: "L404 M200 O404",
    r.INSPECTION_LEAD: "L404 M200 O200", r.REPORTER: "L200 M200 O200", r.ADMINISTRATOR: "L200 M200 O200",
}
VIS_CAMPAIGN = {  # who may open which campaign (or its objects)
    r.LICENSING_OFFICER: "M404 O404", r.DEPARTMENT_HEAD: "M200 O200", r.INSPECTOR: "M200 O404",
    r.INSPECTION_LEAD: "M200 O200", r.REPORTER: "M200 O200", r.ADMINISTRATOR: "M200 O200",
}


def row(anonymous, officer, head, inspector, lead, reporter, administrator):
    return dict(zip(ROLES, (anonymous, officer, head, inspector, lead, reporter, administrator), strict=True))


def visible(table):
    return row(A, *(table[role] for role in ROLES[1:]))


MATRIX = {
    #                                                            anonymous  officer   head      inspector  lead      reporter   administrator
    ("GET", "/api/v1/"):                                     row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/licensing/"):                           row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/inspections/"):                         row(A, "200", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/auth/token/"):                         row("200", "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/me/"):                                  row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/case-types/"):                          row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/case-types/{code}/"):                   row(A, "-200", "-200", "-200", "-200", "-200", "-200"),
    # --- cases: read by visibility; inspection cases opened here by leads. A licensing case is never opened here,
    # by any role (400, pointing to /api/v1/licensing/applications/, where the licensing roles receive dossiers)
    ("GET", "/api/v1/cases/"):                               row(A, "200", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/cases/"):                              row(A, "L400 M403", "L400 M201", "L400 M403", "L400 M201", "L400 M403", "L400 M201"),
    ("GET", "/api/v1/cases/{id}/"):                          visible(VIS_CASE),
    ("GET", "/api/v1/cases/{id}/events/"):                   visible(VIS_CASE),
    ("GET", "/api/v1/cases/{case_pk}/attachments/"):         visible(VIS_CASE),
    ("GET", "/api/v1/cases/{case_pk}/attachments/{id}/download/"): visible(VIS_CASE),
    # transitions: licensing ones by officers and the head, inspection ones by leads
    ("POST", "/api/v1/cases/{id}/transitions/"):             row(A, "L200 M404 O404", "L200 M200 O200", "L404 M403 O404", "L404 M200 O200", "L403 M403 O403", "L200 M200 O200"),
    # assignment: licensing by the head, inspection by leads
    ("POST", "/api/v1/cases/{id}/assign/"):                  row(A, "L403 M404 O404", "L200 M200 O200", "L404 M403 O404", "L404 M200 O200", "L403 M403 O403", "L200 M200 O200"),
    # notes and files: the roles that work on the case's domain, on cases they see; the reporter only reads
    ("POST", "/api/v1/cases/{id}/notes/"):                   row(A, "L201 M404 O404", "L201 M201 O201", "L404 M201 O404", "L404 M201 O201", "L403 M403 O403", "L201 M201 O201"),
    ("POST", "/api/v1/cases/{case_pk}/attachments/"):        row(A, "L201 M404 O404", "L201 M201 O201", "L404 M201 O404", "L404 M201 O201", "L403 M403 O403", "L201 M201 O201"),
    # --- inspections: campaign data read by visibility, written by the field roles (the team for findings)
    ("GET", "/api/v1/inspections/campaigns/"):               row(A, "200", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/inspections/campaigns/"):              row(A, "403", "201", "403", "201", "403", "201"),
    ("GET", "/api/v1/inspections/campaigns/{id}/"):          visible(VIS_CAMPAIGN),
    ("POST", "/api/v1/inspections/campaigns/{id}/team/"):    row(A, "M403 O403", "M200 O200", "M403 O403", "M200 O200", "M403 O403", "M200 O200"),
    ("POST", "/api/v1/inspections/campaigns/{id}/transitions/"): row(A, "M403 O403", "M200 O200", "M403 O403", "M200 O200", "M403 O403", "M200 O200"),
    ("GET", "/api/v1/inspections/checklist-templates/"):     row(A, "403", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/inspections/checklist-templates/{id}/"): row(A, "-403", "-200", "-200", "-200", "-200", "-200"),
    ("GET", "/api/v1/inspections/documents/"):               row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/inspections/documents/{id}/"):          visible(VIS_CAMPAIGN),
    ("GET", "/api/v1/inspections/documents/{id}/download/"): visible(VIS_CAMPAIGN),
    ("GET", "/api/v1/inspections/establishments/"):          row(A, "403", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/inspections/establishments/"):         row(A, "403", "201", "403", "201", "403", "201"),
    ("GET", "/api/v1/inspections/establishments/{id}/"):     row(A, "F403 U403", "F200 U200", "F200 U200", "F200 U200", "F200 U200", "F200 U200"),
    ("PUT", "/api/v1/inspections/establishments/{id}/"):     row(A, "F403 U403", "F200 U200", "F403 U403", "F200 U200", "F403 U403", "F200 U200"),
    ("PATCH", "/api/v1/inspections/establishments/{id}/"):   row(A, "F403 U403", "F200 U200", "F403 U403", "F200 U200", "F403 U403", "F200 U200"),
    # an establishment that was inspected stays in the registry (409)
    ("DELETE", "/api/v1/inspections/establishments/{id}/"):  row(A, "F403 U403", "F204 U409", "F403 U403", "F204 U409", "F403 U403", "F204 U409"),
    ("GET", "/api/v1/inspections/findings/"):                row(A, "200", "200", "200", "200", "200", "200"),
    # only the campaign's team (its lead and members) sends findings and photos
    ("POST", "/api/v1/inspections/findings/"):               row(A, "M403 O403", "M403 O403", "M201 O403", "M201 O403", "M403 O403", "M403 O403"),
    ("GET", "/api/v1/inspections/findings/{id}/"):           visible(VIS_CAMPAIGN),
    # the review of a finding: the lead roles (inspection lead, head, administrator); others are refused first
    ("POST", "/api/v1/inspections/findings/{uuid}/review/"): row(A, "M403 O403", "M200 O200", "M403 O403", "M200 O200", "M403 O403", "M200 O200"),
    # the tablets' connection check answers anyone, signed in or not
    ("GET", "/api/v1/inspections/ping/"):                    row("200", "200", "200", "200", "200", "200", "200"),
    # a batch answers 200 with a status per item (checked below: the item's own status follows the row above)
    ("POST", "/api/v1/inspections/findings/batch/"):         row(A, "M403 O403", "M200 O200", "M200 O200", "M200 O200", "M403 O403", "M200 O200"),
    ("GET", "/api/v1/inspections/follow-ups/"):              row(A, "200", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/inspections/follow-ups/"):             row(A, "M403 O403", "M201 O201", "M201 O404", "M201 O201", "M403 O403", "M201 O201"),
    ("GET", "/api/v1/inspections/follow-ups/{id}/"):         visible(VIS_CAMPAIGN),
    ("POST", "/api/v1/inspections/follow-ups/{id}/done/"):   row(A, "M403 O403", "M200 O200", "M200 O404", "M200 O200", "M403 O403", "M200 O200"),
    ("GET", "/api/v1/inspections/photos/"):                  row(A, "200", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/inspections/photos/"):                 row(A, "M403 O403", "M403 O403", "M201 O403", "M201 O403", "M403 O403", "M403 O403"),
    ("GET", "/api/v1/inspections/photos/{id}/"):             visible(VIS_CAMPAIGN),
    ("GET", "/api/v1/inspections/photos/{id}/file/"):        visible(VIS_CAMPAIGN),
    ("GET", "/api/v1/inspections/photos/{id}/thumbnail/"):   visible(VIS_CAMPAIGN),
    ("GET", "/api/v1/inspections/sanctions/"):               row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/inspections/sanctions/{id}/"):          visible(VIS_CAMPAIGN),
    ("POST", "/api/v1/inspections/sanctions/{id}/decide/"):  row(A, "M403 O403", "M200 O200", "M403 O403", "M200 O200", "M403 O403", "M200 O200"),
    ("GET", "/api/v1/inspections/targets/"):                 row(A, "200", "200", "200", "200", "200", "200"),
    # targets are planned and removed by leads; an inspector may not, on the team or not
    ("POST", "/api/v1/inspections/targets/"):                row(A, "M403 O403", "M201 O201", "M403 O404", "M201 O201", "M403 O403", "M201 O201"),
    ("GET", "/api/v1/inspections/targets/{id}/"):            visible(VIS_CAMPAIGN),
    ("DELETE", "/api/v1/inspections/targets/{id}/"):         row(A, "M403 O403", "M204 O204", "M403 O404", "M204 O204", "M403 O403", "M204 O204"),
    ("POST", "/api/v1/inspections/targets/{id}/assign/"):    row(A, "M403 O403", "M200 O200", "M403 O404", "M200 O200", "M403 O403", "M200 O200"),
    ("GET", "/api/v1/inspections/targets/{id}/fieldwork/"):  visible(VIS_CAMPAIGN),
    ("POST", "/api/v1/inspections/targets/{id}/outcome/"):   row(A, "M403 O403", "M200 O200", "M200 O404", "M200 O200", "M403 O403", "M200 O200"),
    ("GET", "/api/v1/inspections/violations/"):              row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/inspections/violations/{id}/"):         visible(VIS_CAMPAIGN),
    # the offender and the provisions violated: written by those who decide the sanction, until it is decided (the
    # world's sanctions are decided: 409 for the roles let through)
    ("POST", "/api/v1/inspections/violations/{id}/offender/"): row(A, "M403 O403", "M409 O409", "M403 O403", "M409 O409", "M403 O403", "M409 O409"),
    # --- licensing: every role reads the registries; licensing roles write
    ("GET", "/api/v1/licensing/procedures/"):                row(A, "200", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/licensing/applications/"):             row(A, "201", "201", "403", "403", "403", "201"),
    ("GET", "/api/v1/licensing/applications/{id}/"):         row(A, "L200 M404", "L200 M404", "L404 M404", "L404 M404", "L200 M404", "L200 M404"),
    ("PUT", "/api/v1/licensing/applications/{id}/dossier/"): row(A, "L200", "L200", "L403", "L403", "L403", "L200"),
    ("GET", "/api/v1/licensing/documents/{id}/download/"):   row(A, "L200", "L200", "L404", "L404", "L200", "L200"),
    ("GET", "/api/v1/licensing/organisations/"):             row(A, "200", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/licensing/organisations/"):            row(A, "201", "201", "403", "403", "403", "201"),
    ("GET", "/api/v1/licensing/organisations/{id}/"):        row(A, "-200", "-200", "-200", "-200", "-200", "-200"),
    ("GET", "/api/v1/licensing/permits/"):                   row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/licensing/permits/{id}/"):              row(A, "-200", "-200", "-200", "-200", "-200", "-200"),
    ("GET", "/api/v1/licensing/print-facilities/"):          row(A, "200", "200", "200", "200", "200", "200"),
    ("GET", "/api/v1/licensing/print-facilities/{id}/"):     row(A, "-200", "-200", "-200", "-200", "-200", "-200"),
    # past registers are imported by the head and administrators only (a dry run here)
    ("POST", "/api/v1/licensing/imports/"):                  row(A, "403", "200", "403", "403", "403", "200"),
    # --- reports: the reporter, the head and administrators; an export job is its requester's
    ("GET", "/api/v1/reports/quarterly/"):                   row(A, "403", "200", "403", "403", "200", "200"),
    ("GET", "/api/v1/reports/quarterly/cases/"):             row(A, "403", "200", "403", "403", "200", "200"),
    ("GET", "/api/v1/reports/exports/"):                     row(A, "403", "200", "403", "403", "200", "200"),
    ("POST", "/api/v1/reports/exports/"):                    row(A, "403", "202", "403", "403", "202", "202"),
    ("GET", "/api/v1/reports/exports/{id}/"):                row(A, "R403 H403", "R404 H200", "R403 H403", "R403 H403", "R200 H404", "R404 H404"),
    ("GET", "/api/v1/reports/exports/{id}/download/"):       row(A, "R403 H403", "R404 H200", "R403 H403", "R403 H403", "R200 H404", "R404 H404"),
    # --- periodic reports (P: the agency's report of the quarter, open to its divisions): read by every role that
    # sits in one of its divisions or reads reports; each division writes its own section (the officer I.3, the
    # inspector I.2, the lead I.4, the reporter III); the office (reporter), the head and administrators open it,
    # set Nơi nhận and move it on (409: sections still owed); indicators by their division (the inspector's
    # telecoms), the head and administrators
    ("GET", "/api/v1/reports/documents/"):                   row(A, "200", "200", "200", "200", "200", "200"),
    ("POST", "/api/v1/reports/documents/"):                  row(A, "403", "201", "403", "403", "201", "201"),
    ("GET", "/api/v1/reports/documents/{id}/"):              row(A, "P200", "P200", "P200", "P200", "P200", "P200"),
    ("GET", "/api/v1/reports/documents/{id}/file.{fmt}"):    row(A, "P200", "P200", "P200", "P200", "P200", "P200"),
    ("PUT", "/api/v1/reports/documents/{id}/sections/{code}/"): row(A, "P200", "P403", "P403", "P403", "P403", "P403"),
    ("POST", "/api/v1/reports/documents/{id}/sections/{code}/submit/"): row(A, "P403", "P403", "P403", "P200", "P403", "P403"),
    ("POST", "/api/v1/reports/documents/{id}/sections/I.4/redraft/"): row(A, "P403", "P403", "P403", "P200", "P403", "P403"),
    ("PUT", "/api/v1/reports/documents/{id}/recipients/"):   row(A, "P403", "P200", "P403", "P403", "P200", "P200"),
    ("POST", "/api/v1/reports/documents/{id}/transitions/"): row(A, "P403", "P409", "P403", "P403", "P409", "P409"),
    ("POST", "/api/v1/reports/indicators/values/"):          row(A, "403", "200", "200", "403", "403", "200"),
    ("POST", "/api/v1/reports/indicators/import/"):          row(A, "403", "200", "200", "403", "403", "200"),
    # --- online dossiers (S: one submitted online, waiting to be received): the representative's side refuses every
    # department role (tests/test_portal_submit.py checks the representatives'); the officers' side is for the roles
    # that receive dossiers at the counter (licensing officer, head, administrator)
    ("GET", "/api/v1/portal/procedures/"):                   row(A, "403", "403", "403", "403", "403", "403"),
    ("GET", "/api/v1/portal/submissions/"):                  row(A, "403", "403", "403", "403", "403", "403"),
    ("POST", "/api/v1/portal/submissions/"):                 row(A, "403", "403", "403", "403", "403", "403"),
    ("GET", "/api/v1/portal/submissions/{uuid}/"):           row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("PUT", "/api/v1/portal/submissions/{uuid}/"):           row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("POST", "/api/v1/portal/submissions/{uuid}/files/"):    row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("DELETE", "/api/v1/portal/submissions/{uuid}/files/{file_uuid}/"): row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("POST", "/api/v1/portal/submissions/{uuid}/submit/"):   row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("POST", "/api/v1/portal/submissions/{uuid}/withdraw/"): row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("GET", "/api/v1/portal/office/submissions/"):           row(A, "200", "200", "403", "403", "403", "200"),
    ("GET", "/api/v1/portal/office/submissions/{uuid}/"):    row(A, "S200", "S200", "S403", "S403", "S403", "S200"),
    ("POST", "/api/v1/portal/office/submissions/{uuid}/receive/"): row(A, "S201", "S201", "S403", "S403", "S403", "S201"),
    ("POST", "/api/v1/portal/office/submissions/{uuid}/request-completion/"): row(A, "S200", "S200", "S403", "S403", "S403", "S200"),
    ("POST", "/api/v1/portal/office/submissions/{uuid}/refuse/"): row(A, "S200", "S200", "S403", "S403", "S403", "S200"),
    # --- the portal: representatives of an organisation only; no department role acts there (an applicant's
    # own cells are in tests/test_portal_accounts*.py and tests/test_portal_access*.py)
    ("GET", "/api/v1/portal/me/"):                           row(A, "403", "403", "403", "403", "403", "403"),
    # following a dossier (S: the world's online dossier): representatives only, every department role refused
    ("GET", "/api/v1/portal/dossiers/"):                     row(A, "403", "403", "403", "403", "403", "403"),
    ("GET", "/api/v1/portal/dossiers/{uuid}/"):              row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("GET", "/api/v1/portal/dossiers/{uuid}/documents/{document_id}/download/"): row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("GET", "/api/v1/portal/dossiers/{uuid}/refusal-slip/download/"): row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("POST", "/api/v1/portal/dossiers/{uuid}/supplement/"):  row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
    ("POST", "/api/v1/portal/dossiers/{uuid}/rating/"):      row(A, "S403", "S403", "S403", "S403", "S403", "S403"),
}


def cells(text: str) -> dict[str, int]:
    """"L200 M404" → {"L": 200, "M": 404}; "200" → {"": 200}; "-200" → {"-": 200}."""
    out = {}
    for token in text.split():
        match = re.fullmatch(r"([A-Z-]?)(\d{3})", token)
        assert match, token
        out[match.group(1)] = int(match.group(2))
    return out


# --- Endpoints, from the URL resolver --------------------------------------------------------------------


def _template(route: str) -> str:
    route = route.replace("^", "").replace("$", "").replace("\\Z", "")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return "/" + route.replace("{pk}", "{id}")


def _methods(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        # DRF adds `head` to a viewset's shared actions on its first GET: HEAD mirrors GET and is checked with it.
        return {method.upper() for method in actions if method != "head"}
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return {"GET"}
    return {m.upper() for m in view_class.http_method_names if m not in {"options", "head", "trace"}
            and hasattr(view_class, m)}


def api_endpoints() -> set[tuple[str, str]]:
    """Every (method, path) the URL conf serves under /api/, but the schema and its docs page (public, no
    data) and the `.json` format-suffix aliases of the same views."""
    found = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if not route.lstrip("^").startswith("api/") or "format" in route:
                    continue
                path = _template(route)
                if path in {"/api/schema/", "/api/docs/"}:
                    continue
                for method in _methods(pattern.callback):
                    found.add((method, path))

    walk(get_resolver().url_patterns, "")
    return found


def test_the_matrix_covers_every_endpoint_and_only_those():
    served = api_endpoints()
    assert len(served) >= 75
    missing = sorted(served - set(MATRIX))
    stale = sorted(set(MATRIX) - served)
    assert not missing, f"endpoints with no row in the permission matrix: {missing}"
    assert not stale, f"rows for endpoints that no longer exist: {stale}"


def test_the_schema_documents_every_endpoint_of_the_matrix():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    roots = {("GET", "/api/v1/"), ("GET", "/api/v1/licensing/"), ("GET", "/api/v1/inspections/")}
    assert documented == set(MATRIX) - roots


# --- The requests behind each cell -------------------------------------------------------------------------


def _case(world: World, obj: str):
    return {"L": world.app_open, "M": world.mine.campaign.case, "O": world.other.campaign.case}[obj]


def _side(world: World, obj: str):
    return {"M": world.mine, "O": world.other}[obj]


def _finding_body(world: World, side, **extra) -> dict:
    item = si.items_of(side.campaign)[0]
    return si.finding_body(side.target_open, item, **extra)


def request_for(method: str, path: str, obj: str, world: World, user) -> tuple[str, object, str]:
    """(url, body, format) of the cell's request."""
    s = _side(world, obj) if obj in {"M", "O"} else None
    today = timezone.localdate()
    j = "json"
    match path:
        case "/api/v1/auth/token/":
            who = user or world.users[r.LICENSING_OFFICER]
            return path, {"username": who.username, "password": "pw-test-1234"}, j
        case "/api/v1/case-types/{code}/":
            return path.format(code="printing_licence"), None, j
        case "/api/v1/cases/" if method == "POST":
            return path, {"type": "printing_licence" if obj == "L" else "printing", "subject_name": "Cơ sở in Hòa Bình"}, j
        case "/api/v1/cases/{id}/" | "/api/v1/cases/{id}/events/":
            return path.format(id=_case(world, obj).pk), None, j
        case "/api/v1/cases/{case_pk}/attachments/":
            if method == "GET":
                return path.format(case_pk=_case(world, obj).pk), None, j
            scan = SimpleUploadedFile("bien-ban.pdf", sl.pdf_bytes("Bien ban lam viec bo sung"), "application/pdf")
            return path.format(case_pk=_case(world, obj).pk), {"file": scan, "kind": "scan"}, "multipart"
        case "/api/v1/cases/{case_pk}/attachments/{id}/download/":
            attachment = world.attachment if obj == "L" else _side(world, obj).attachment
            return path.format(case_pk=attachment.case_id, id=attachment.pk), None, j
        case "/api/v1/cases/{id}/transitions/":
            case = _case(world, obj)
            action = "start_review" if obj == "L" else "close_findings"
            return path.format(id=case.pk), {"action": action, "version": case.version}, j
        case "/api/v1/cases/{id}/assign/":
            case = _case(world, obj)
            assignee = world.users[r.LICENSING_OFFICER] if obj == "L" else case.assignee
            return path.format(id=case.pk), {"assignee": assignee.pk, "version": case.version}, j
        case "/api/v1/cases/{id}/notes/":
            return path.format(id=_case(world, obj).pk), {"text": "Đã liên hệ cơ sở qua điện thoại."}, j
        case "/api/v1/inspections/campaigns/" if method == "POST":
            return path, {"type": "printing", "title": "Kiểm tra hoạt động in quý III", "legal_basis": "Luật Xuất bản 2012",
                          "period_start": str(today), "period_end": str(today + timedelta(days=5)),
                          "lead": world.users[r.INSPECTION_LEAD].pk, "members": [world.users[r.INSPECTOR].pk],
                          "targets": [{"establishment": world.establishment_free.pk}]}, j
        case "/api/v1/inspections/campaigns/{id}/":
            return path.format(id=s.campaign.pk), None, j
        case "/api/v1/inspections/campaigns/{id}/team/":
            case = s.campaign.case
            return path.format(id=s.campaign.pk), {"lead": case.assignee_id,
                                                   "members": list(case.members.values_list("pk", flat=True))}, j
        case "/api/v1/inspections/campaigns/{id}/transitions/":
            return path.format(id=s.campaign.pk), {"action": "close_findings", "version": s.campaign.case.version}, j
        case "/api/v1/inspections/checklist-templates/{id}/":
            return path.format(id=world.mine.campaign.checklist_id), None, j
        case "/api/v1/inspections/documents/{id}/" | "/api/v1/inspections/documents/{id}/download/":
            return path.format(id=s.documents[0].pk), None, j
        case "/api/v1/inspections/establishments/" if method == "POST":
            return path, {"kind": "print_shop", "name": "Cơ sở in Tiền Phong", "address": "Số 3 Quang Trung, TP Thái Bình"}, j
        case "/api/v1/inspections/establishments/{id}/":
            establishment = world.establishment_free if obj == "F" else world.mine.target_done.establishment
            url = path.format(id=establishment.pk)
            if method == "PUT":
                return url, {"kind": establishment.kind, "name": establishment.name + " (mới)",
                             "address": establishment.address}, j
            if method == "PATCH":
                return url, {"name": establishment.name + " (mới)"}, j
            return url, None, j
        case "/api/v1/inspections/findings/" if method == "POST":
            return path, _finding_body(world, s), j
        case "/api/v1/inspections/findings/{id}/":
            return path.format(id=s.findings[0].pk), None, j
        case "/api/v1/inspections/findings/{uuid}/review/":
            return path.format(uuid=s.findings[0].pk), {"state": "accepted"}, j
        case "/api/v1/inspections/targets/{id}/fieldwork/":
            return path.format(id=s.target_done.pk), None, j
        case "/api/v1/inspections/violations/{id}/offender/":
            return path.format(id=s.violation.pk), {"offender_kind": "organisation", "offender_name": s.violation.target.establishment.name,
                                                   "provision_ids": [_provision_in_force(s.violation).pk]}, j
        case "/api/v1/inspections/findings/batch/":
            return path, {"findings": [_finding_body(world, s)]}, j
        case "/api/v1/inspections/follow-ups/" if method == "POST":
            return path, {"violation": s.violation.pk, "correction_due_on": str(today + timedelta(days=20))}, j
        case "/api/v1/inspections/follow-ups/{id}/" | "/api/v1/inspections/follow-ups/{id}/done/":
            return path.format(id=s.follow_up.pk), ({"done_note": "Đã khắc phục."} if method == "POST" else None), j
        case "/api/v1/inspections/photos/" if method == "POST":
            return path, {"uuid": str(uuid.uuid4()), "finding": str(s.findings[0].pk),
                          "file": si.upload(si.image_bytes(color=(90, 90, 20)))}, "multipart"
        case "/api/v1/inspections/photos/{id}/" | "/api/v1/inspections/photos/{id}/file/" | \
                "/api/v1/inspections/photos/{id}/thumbnail/":
            return path.format(id=s.photo.pk), None, j
        case "/api/v1/inspections/sanctions/{id}/":
            return path.format(id=s.sanction.pk), None, j
        case "/api/v1/inspections/sanctions/{id}/decide/":
            return path.format(id=s.sanction.pk), {"fine_vnd": s.sanction.fine_vnd,
                                                   "remedial_measures": s.sanction.remedial_measures}, j
        case "/api/v1/inspections/targets/" if method == "POST":
            return path, {"campaign": s.campaign.pk, "establishment": world.establishment_free.pk,
                          "inspectors": list(s.campaign.case.members.values_list("pk", flat=True))}, j
        case "/api/v1/inspections/targets/{id}/":
            return path.format(id=s.target_open.pk), None, j
        case "/api/v1/inspections/targets/{id}/assign/":
            return path.format(id=s.target_open.pk), {
                "inspectors": list(s.campaign.case.members.values_list("pk", flat=True))}, j
        case "/api/v1/inspections/targets/{id}/outcome/":  # the same outcome again: accepted, nothing changes
            return path.format(id=s.target_done.pk), {"outcome": "violation",
                                                      "violation_description": s.violation.description}, j
        case "/api/v1/inspections/violations/{id}/":
            return path.format(id=s.violation.pk), None, j
        case "/api/v1/licensing/applications/" if method == "POST":
            return path, sl.application_body("printing_licence"), j
        case "/api/v1/licensing/applications/{id}/":
            return path.format(id=_case(world, obj).pk), None, j
        case "/api/v1/licensing/applications/{id}/dossier/":
            return path.format(id=world.app_open.pk), {"fields": sl.dossier("printing_licence"),
                                                       "version": world.app_open.version}, j
        case "/api/v1/licensing/documents/{id}/download/":
            return path.format(id=world.document.pk), None, j
        case "/api/v1/licensing/organisations/" if method == "POST":
            return path, sl.applicant("bulletin", tax_code="1009998887", name="Hội Văn học Nghệ thuật tỉnh"), j
        case "/api/v1/licensing/organisations/{id}/":
            return path.format(id=world.permit.holder_id), None, j
        case "/api/v1/licensing/permits/{id}/":
            return path.format(id=world.permit.pk), None, j
        case "/api/v1/licensing/print-facilities/{id}/":
            return path.format(id=world.print_facility.pk), None, j
        case "/api/v1/licensing/imports/":
            example = Path(__file__).resolve().parent.parent / "docs" / "register-import-example.csv"
            register = SimpleUploadedFile("so-theo-doi.csv", example.read_bytes(), "text/csv")
            return path, {"file": register, "agency": "thai-binh-stttt", "dry_run": "true"}, "multipart"
        case "/api/v1/reports/quarterly/":
            return path + f"?quarter={Quarter.current()}&agency={_reporting_agency()}", None, j
        case "/api/v1/reports/quarterly/cases/":
            return path + (f"?quarter={Quarter.current()}&agency={_reporting_agency()}"
                           "&type=print_registration&metric=results"), None, j
        case "/api/v1/reports/exports/" if method == "POST":
            now = timezone.now()
            return path, {"format": "csv", "received_from": (now - timedelta(days=30)).isoformat(),
                          "received_to": now.isoformat()}, j
        case "/api/v1/reports/exports/{id}/" | "/api/v1/reports/exports/{id}/download/":
            job = world.export_reporter if obj == "R" else world.export_head
            return path.format(id=job.pk), None, j
        case "/api/v1/reports/documents/" if method == "POST":
            return path, {"period": str(Quarter.current().previous()), "agency": world.report.agency_id}, j
        case "/api/v1/reports/documents/{id}/":
            return path.format(id=world.report.pk), None, j
        case "/api/v1/reports/documents/{id}/file.{fmt}":
            return path.format(id=world.report.pk, fmt="docx"), None, j
        case "/api/v1/reports/documents/{id}/sections/{code}/":
            version = world.report.sections.get(code="I.3").version
            return path.format(id=world.report.pk, code="I.3"), {"text": "Theo dõi thông tin báo chí.",
                                                                 "version": version}, j
        case "/api/v1/reports/documents/{id}/sections/{code}/submit/":
            version = world.report.sections.get(code="I.4").version
            return path.format(id=world.report.pk, code="I.4"), {"version": version}, j
        case "/api/v1/reports/documents/{id}/sections/I.4/redraft/":
            return path.format(id=world.report.pk), {"version": world.report.sections.get(code="I.4").version}, j
        case "/api/v1/reports/documents/{id}/recipients/":
            return path.format(id=world.report.pk), {"recipients": ["- Bộ TT&TT;", "- Lưu: VT."],
                                                     "version": world.report.version}, j
        case "/api/v1/reports/documents/{id}/transitions/":
            return path.format(id=world.report.pk), {"action": "submit_for_review",
                                                     "version": world.report.case.version}, j
        case "/api/v1/reports/indicators/values/":
            return path, {"indicator": "phone_subscribers", "period": str(Quarter.current()), "value": 1307424,
                          "agency": world.report.agency_id}, j
        case "/api/v1/reports/indicators/import/":
            rows = f"indicator,period,value\nphone_subscribers,{Quarter.current()},1307424\n".encode()
            return path, {"file": SimpleUploadedFile("chi-tieu.csv", rows, "text/csv"),
                          "agency": world.report.agency_id}, "multipart"
        case "/api/v1/portal/submissions/" if method == "POST":
            return path, {"procedure": "printing_licence"}, j
        case p if p.startswith("/api/v1/portal/dossiers/{uuid}/"):
            url = path.format(uuid=world_submission(world).uuid, document_id=world.document.pk)
            if p.endswith("/supplement/"):
                scan = SimpleUploadedFile("so-do.pdf", sl.pdf_bytes("So do mat bang co so in"), "application/pdf")
                return url, {"files": [scan], "kinds": ["other"]}, "multipart"
            return url, ({"score": 4, "comment": "Đúng hẹn."} if p.endswith("/rating/") else None), j
        case p if p.startswith("/api/v1/portal/") and "{uuid}" in p:
            submission = world_submission(world)
            url = path.format(uuid=submission.uuid, file_uuid=submission.files.first().uuid)
            bodies = {"PUT": {"fields": {}, "version": submission.version}}
            if p.endswith("/files/") and method == "POST":
                scan = SimpleUploadedFile("giay-to.pdf", sl.pdf_bytes("Giay to thiet bi in"), "application/pdf")
                return url, {"file": scan, "kind": "equipment_documents"}, "multipart"
            if p.endswith(("/submit/", "/withdraw/", "/receive/")):
                return url, {"version": submission.version, "declaration": True} if p.endswith("/submit/") else \
                    {"version": submission.version}, j
            if p.endswith(("/request-completion/", "/refuse/")):
                return url, {"version": submission.version, "reasons": "Thiếu hóa đơn mua máy in."}, j
            return url, bodies.get(method), j
        case _ if "{" not in path:
            return path, None, j
    raise AssertionError(f"no request for {method} {path} {obj}")


def _provision_in_force(violation):
    """A provision in force on the violation's day. The shipped catalogue holds only the provisions checked so far,
    none of them in force today: the test adds one to the latest decree (the same row for every cell)."""
    from inspections.models import SanctionDecree, SanctionProvision

    day = timezone.localtime(violation.recorded_at).date()
    decree = SanctionDecree.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    provision, _ = SanctionProvision.objects.get_or_create(key="permission-matrix", defaults={
        "decree": decree, "article": 1, "clause": 1, "point": "a", "text": "Hành vi dùng cho bảng phân quyền",
        "fine_min_vnd": 1_000_000, "fine_max_vnd": 2_000_000, "valid_from": decree.effective_from})
    return provision


def _client(world: World, role: str) -> APIClient:
    from rest_framework.authtoken.models import Token

    client = APIClient()
    if role != "anonymous":
        token, _ = Token.objects.get_or_create(user=world.users[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _send(client, method: str, url: str, body, fmt: str):
    sid = transaction.savepoint()
    try:
        response = getattr(client, method.lower())(url, body, format=fmt) if body is not None else \
            getattr(client, method.lower())(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        return response
    finally:
        transaction.savepoint_rollback(sid)


@pytest.fixture
def world(users, settings) -> World:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token_login": "1000/min"}}
    return world_build(users)


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_answers_each_role_as_the_rules_say(world, role):
    client = _client(world, role)
    user = None if role == "anonymous" else world.users[role]
    wrong = []
    for (method, path), expectations in sorted(MATRIX.items()):
        expected_by_object = cells(expectations[role])
        if set(expected_by_object) == {""}:  # anonymous: the same status whichever object is named
            objects = cells(expectations[r.DEPARTMENT_HEAD])
            expected_by_object = {obj: expected_by_object[""] for obj in objects}
        for obj, expected in expected_by_object.items():
            url, body, fmt = request_for(method, path, obj, world, user)
            response = _send(client, method, url, body, fmt)
            if response.status_code != expected:
                detail = response.content[:200] if not hasattr(response, "streaming_content") else b""
                wrong.append(f"{method} {path} [{obj or '-'}]: expected {expected}, got {response.status_code} {detail!r}")
            elif response.status_code >= 400:
                assert response["Content-Type"].startswith("application/problem+json"), (method, path)
                if response.status_code == 400:  # the only 400 of the table: the licensing door, named
                    assert "/api/v1/licensing/applications/" in str(response.json()["errors"]["type"]), \
                        (method, path, response.content)
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", [r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD])
def test_a_batch_answers_each_finding_as_a_single_post_would(world, role):
    client = _client(world, role)
    single = cells(MATRIX[("POST", "/api/v1/inspections/findings/")][role])
    for obj in ("M", "O"):
        url, body, fmt = request_for("POST", "/api/v1/inspections/findings/batch/", obj, world, world.users[role])
        response = _send(client, "POST", url, body, fmt)
        assert response.status_code == 200
        assert response.json()["results"][0]["status"] == single[obj], (role, obj, response.json())


# --- Nothing shows through a list, a filter, a search, a drill-down or an export ------------------------------


def _list_operations(schema) -> list[tuple[str, str, list[dict]]]:
    """(list path, detail path, query parameters) of every GET without path parameters whose path + {id}/ (or
    {code}/) is a detail operation."""
    out = []
    for path, ops in schema["paths"].items():
        if "{" in path or "get" not in ops:
            continue
        for key in ("{id}/", "{code}/"):
            if path + key in schema["paths"]:
                out.append((path, path + key, ops["get"].get("parameters", [])))
    return out


def _search_values(world: World, parameter: dict) -> list[str]:
    """Values worth sending in a query parameter, from its schema and the department's data."""
    spec = parameter.get("schema", {})
    if spec.get("type") == "array":
        spec = spec.get("items", {})
    if "enum" in spec:
        return [str(value) for value in spec["enum"] if value not in ("", None)]
    if spec.get("type") == "boolean":
        return ["true", "false"]
    other, mine = world.other, world.mine
    if spec.get("type") == "integer":
        return [str(pk) for pk in {other.campaign.pk, other.campaign.case_id, other.target_done.pk, other.violation.pk,
                                   other.target_done.establishment_id, world.inspector2.pk, world.lead2.pk,
                                   world.app_open.pk, mine.campaign.pk, mine.target_done.pk}]
    if spec.get("format") == "uuid":
        return [str(other.findings[0].pk), str(mine.findings[0].pk)]
    if spec.get("format") in {"date", "date-time"}:
        return ["2000-01-01", str(timezone.localdate() + timedelta(days=400))]
    return ["in", "Thái Bình", other.campaign.case.reference, world.app_open.reference,
            other.target_done.establishment.name, "printing", "licensing", "inspection"]


def _row_ids(payload, key: str = "id") -> list:
    """The rows' keys: `code` for the catalogue, `uuid` for what tablets made (findings, photos), else `id`."""
    rows = payload["results"] if isinstance(payload, dict) and "results" in payload else payload
    assert isinstance(rows, list), payload
    return [row[key] if key in row else row["uuid"] for row in rows]


@pytest.mark.parametrize("role", ROLES[1:])
def test_no_list_filter_or_search_shows_what_the_role_may_not_open(world, role):
    client = _client(world, role)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    opens: dict[str, bool] = {}
    leaks, checked = [], 0
    for list_path, detail_path, parameters in _list_operations(schema):
        queries = [{"page_size": 100}]
        for parameter in parameters:
            if parameter.get("in") != "query" or parameter["name"] in {"page", "page_size", "ordering", "format"}:
                continue
            queries += [{"page_size": 100, parameter["name"]: value} for value in _search_values(world, parameter)]
        for query in queries:
            response = client.get(list_path, query)
            if response.status_code in {403, 400}:  # the role may not list these at all, or a value was refused
                assert response.status_code == 403 or query != {"page_size": 100}, (list_path, response.content)
                continue
            assert response.status_code == 200, (list_path, query, response.status_code, response.content[:300])
            for pk in _row_ids(response.json(), "code" if "{code}" in detail_path else "id"):
                url = detail_path.replace("{id}", str(pk)).replace("{code}", str(pk))
                if url not in opens:
                    opens[url] = client.get(url).status_code == 200
                    checked += 1
                if not opens[url]:
                    leaks.append(f"{list_path}?{query} shows {url}, which answers {client.get(url).status_code}")
    assert checked >= 10, "the lists showed too little to prove anything"
    assert not leaks, "\n".join(sorted(set(leaks)))


def _reporting_agency() -> int:
    """The agency whose report today's cases are in (the matrix's users work for every agency of the history, so a
    report names its agency): Hưng Yên's Sở VHTTDL, competent for the procedures since 01/07/2025."""
    from agencies.models import Agency

    return Agency.objects.get(code="hung-yen-svhttdl").pk


@pytest.mark.parametrize("role", [r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR])
def test_report_drill_downs_and_exports_show_only_cases_the_role_may_open(world, role):
    client = _client(world, role)
    report = client.get("/api/v1/reports/quarterly/", {"quarter": str(Quarter.current()),
                                                        "agency": _reporting_agency()})
    assert report.status_code == 200, report.content
    drill_urls = [url for table in ("procedure_results", "processing") for row_ in report.json()[table]
                  for url in row_["cases_urls"].values()]
    shown = set()
    for url in drill_urls:
        response = client.get(url + "&page_size=100")
        assert response.status_code == 200, url
        shown |= {row_["id"] for row_ in response.json()["results"]}
    assert world.app_issued.pk in shown  # the issued licence of this quarter is behind a number

    now = timezone.now()
    job = client.post("/api/v1/reports/exports/", {"format": "csv", "received_from": (now - timedelta(days=2)).isoformat(),
                                                   "received_to": (now + timedelta(minutes=1)).isoformat()}, format="json")
    assert job.status_code == 202
    case_export.export_run(job_id=job.json()["id"])
    download = client.get(f"/api/v1/reports/exports/{job.json()['id']}/download/")
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))[1:]
    references = {line[0] for line in rows}
    from cases.models import Case

    exported = set(Case.objects.filter(reference__in=references).values_list("pk", flat=True))
    assert len(exported) == len(references) >= 4
    shown |= exported
    refused = [pk for pk in sorted(shown) if client.get(f"/api/v1/cases/{pk}/").status_code != 200]
    assert not refused, f"{role} sees through a report cases it may not open: {refused}"


def test_export_jobs_are_not_listed_to_other_readers(world):
    """An export holds every case field: the list shows a reader only their own jobs."""
    for role, own in ((r.REPORTER, world.export_reporter), (r.DEPARTMENT_HEAD, world.export_head),
                      (r.ADMINISTRATOR, None)):
        listed = set(_row_ids(_client(world, role).get("/api/v1/reports/exports/").json()))
        assert listed == ({own.pk} if own else set()), role
    assert ExportJob.objects.count() == 2
