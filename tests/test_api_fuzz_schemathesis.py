"""schemathesis over every operation of /api/schema/, signed in as each of the six roles.

The schema is loaded in process from the WSGI application; each role gets a department built through the
services (tests/support_api_world.py), and path parameters are drawn both from real objects (the role's own and
others') and from generated values. Every request must give no server error and a response the schema
declares: its status, its media type, its body and its headers. Each example runs in a savepoint rolled back
after it, so the operations all see the same department.

Bounded for CI: FUZZ_EXAMPLES (default 6) examples per operation and role, positive and negative mixed, plus
FUZZ_REAL_EXAMPLES (default 2) per set of real path parameters; derandomized (the same examples each run).
FUZZ_SEED=<int> draws other ones, e.g. `FUZZ_EXAMPLES=20 FUZZ_REAL_EXAMPLES=4 FUZZ_SEED=1` for a longer hunt.
"""

import os
import textwrap

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cases import roles as r

from .support_api_world import World, world_build

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))  # per operation and role, generated path parameters
REAL_EXAMPLES = int(os.environ.get("FUZZ_REAL_EXAMPLES", "2"))  # per set of real path parameters
SEED = os.environ.get("FUZZ_SEED")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
# Every operation of the schema is fuzzed: nothing is excluded. The binary downloads (attachments, issued
# documents, photos, exports) are fuzzed too: their 200 bodies are declared as binary of their media type, so
# the status and media type are checked, and tests/test_permission_matrix.py opens each with real objects.
EXCLUDED: dict[str, str] = {}

_schema = None


def api_schema():
    global _schema
    if _schema is None:
        _schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
    return _schema


@pytest.fixture
def wsgi_in_test_transaction():
    """A bare WSGI handler closes the database connection when a request ends; inside a test's transaction
    that would end the test's data. Django's test client disconnects the same signal handler."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def real_path_parameters(world: World) -> dict[str, list[dict]]:
    """Per path template, parameter sets naming real objects: ones the role under test may open and ones it
    may not (another team's campaign, another user's export, the other domain's cases)."""
    cases = [world.app_open.pk, world.app_issued.pk, world.mine.campaign.case_id, world.other.campaign.case_id]
    sides = (world.mine, world.other)
    ids = {
        "/api/v1/case-types/{code}/": [{"code": "printing_licence"}, {"code": "printing"}],
        "/api/v1/cases/{id}/": [{"id": pk} for pk in cases],
        "/api/v1/cases/{case_pk}/attachments/": [{"case_pk": pk} for pk in cases],
        "/api/v1/cases/{case_pk}/attachments/{id}/download/": [
            {"case_pk": world.app_open.pk, "id": world.attachment.pk},
            {"case_pk": world.mine.campaign.case_id, "id": world.attachment.pk}],
        "/api/v1/inspections/campaigns/{id}/": [{"id": side.campaign.pk} for side in sides],
        "/api/v1/inspections/checklist-templates/{id}/": [{"id": world.mine.campaign.checklist_id}],
        "/api/v1/inspections/documents/{id}/": [{"id": side.documents[0].pk} for side in sides],
        "/api/v1/inspections/establishments/{id}/": [
            {"id": world.establishment_free.pk}, *({"id": side.target_done.establishment_id} for side in sides)],
        "/api/v1/inspections/findings/{id}/": [{"id": str(side.findings[0].pk)} for side in sides],
        "/api/v1/inspections/follow-ups/{id}/": [{"id": side.follow_up.pk} for side in sides],
        "/api/v1/inspections/photos/{id}/": [{"id": str(side.photo.pk)} for side in sides],
        "/api/v1/inspections/sanctions/{id}/": [{"id": side.sanction.pk} for side in sides],
        "/api/v1/inspections/targets/{id}/": [{"id": t.pk} for side in sides
                                              for t in (side.target_open, side.target_done)],
        "/api/v1/inspections/violations/{id}/": [{"id": side.violation.pk} for side in sides],
        "/api/v1/licensing/applications/{id}/": [{"id": world.app_open.pk}, {"id": world.app_issued.pk},
                                                 {"id": world.mine.campaign.case_id}],
        "/api/v1/licensing/documents/{id}/": [{"id": world.document.pk}],
        "/api/v1/licensing/organisations/{id}/": [{"id": world.permit.holder_id}],
        "/api/v1/licensing/permits/{id}/": [{"id": world.permit.pk}],
        "/api/v1/licensing/print-facilities/{id}/": [{"id": world.print_facility.pk}],
        "/api/v1/reports/exports/{id}/": [{"id": world.export_reporter.pk}, {"id": world.export_head.pk}],
    }
    return ids


def _params_for(path: str, real: dict[str, list[dict]]) -> list[dict]:
    """The real parameter sets of `path`: those of the longest template it extends (`{id}/team/` → `{id}/`)."""
    best = ""
    for template in real:
        if path.startswith(template) and len(template) > len(best):
            best = template
    if not best:
        return []
    names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
    return [values for values in real[best] if set(values) == names]


def operation_strategy(operation, path_parameters: dict | None = None):
    """Positive and negative examples; with `path_parameters`, every example names those objects."""
    return st.one_of([operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
                      for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)])


def _request_text(case) -> str:
    body = "" if case.body is None or type(case.body).__name__ == "NotSet" else repr(case.body)
    return textwrap.shorten(f"{case.method} {case.formatted_path} query={case.query} body={body}", 300)


def fuzz(strategy, *, headers: dict, examples: int) -> list[str]:
    """Run `examples` examples of `strategy`; the failures found, one line each (a failing example is reported
    as found, not shrunk)."""
    failures: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=SEED is None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        sid = transaction.savepoint()
        try:
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (AssertionError, BaseExceptionGroup) as group:  # checks failed: record them, keep fuzzing
                for failure in getattr(group, "exceptions", [group]):
                    title = getattr(failure, "title", type(failure).__name__)
                    message = textwrap.shorten(getattr(failure, "message", str(failure)), 400)
                    failures.append(f"{title} ({response.status_code}): {message} | {_request_text(case)}")
        finally:
            transaction.savepoint_rollback(sid)

    if SEED is not None:
        run = seed(int(SEED))(run)
    run()
    return failures


def fuzz_operation(operation, *, headers: dict, real: dict) -> list[str]:
    """Generated values everywhere, then each set of real path parameters with generated query and body."""
    failures = fuzz(operation_strategy(operation), headers=headers, examples=EXAMPLES)
    for values in _params_for(operation.path, real):
        failures += fuzz(operation_strategy(operation, values), headers=headers, examples=REAL_EXAMPLES)
    return failures


@pytest.mark.parametrize("role", r.ALL_ROLES)
def test_every_operation_answers_as_the_schema_says(role, users, wsgi_in_test_transaction):
    world = world_build(users)
    token, _ = Token.objects.get_or_create(user=users[role])
    headers = {"Authorization": f"Token {token.key}"}
    real = real_path_parameters(world)
    schema = api_schema()
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) >= 70, "the schema lost operations"
    problems: list[str] = []
    for operation in operations:
        if operation.label in EXCLUDED:
            continue
        for line in fuzz_operation(operation, headers=headers, real=real):
            problems.append(f"[{role}] {operation.label}: {line}")
    unique = list(dict.fromkeys(problems))
    assert not unique, f"{len(unique)} failures:\n" + "\n".join(unique[:40])


def test_the_real_path_parameters_name_real_operations(users):
    """The table above follows the schema: a renamed path must not silently fall back to generated ids."""
    world = world_build(users)
    paths = {operation.path for operation in
             (result.ok() for result in api_schema().get_all_operations() if isinstance(result, Ok))}
    for template in real_path_parameters(world):
        assert any(path.startswith(template) for path in paths), template
    with_ids = [path for path in paths if "{" in path]
    missing = [path for path in with_ids if not _params_for(path, real_path_parameters(world))]
    assert not missing, f"no real objects for {missing}"


# --- What the fuzzing found, pinned -------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "query"), [
    ("/api/v1/cases/", {"decided_before": "0325-12-22T08:27:42.2-22:02"}),  # PostgreSQL refuses the offset
    ("/api/v1/cases/", {"received_after": "0103-01-19T13:34:46Z"}),
    ("/api/v1/licensing/permits/", {"issued_after": "0001-01-01T00:00:00+23:00"}),
    ("/api/v1/inspections/findings/", {"received_after": "9999-12-31T23:59:59-20:00"}),
])
def test_a_date_filter_the_database_cannot_compare_is_a_400(api, head, url, query):
    response = api.as_user(head).get(url, query)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) == set(query)


def test_a_date_filter_with_a_far_offset_in_range_still_filters(api, head, officer):
    from .factories import case_make

    case = case_make(actor=officer)
    response = api.as_user(head).get("/api/v1/cases/", {"received_after": "2000-01-01T00:00:00-20:00"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [case.pk]


@pytest.mark.parametrize("year", ["0.8", "1.048363078079093e+24", "99999999999", "0"])
def test_a_campaign_year_that_is_no_year_is_a_400(api, head, year):
    response = api.as_user(head).get("/api/v1/inspections/campaigns/", {"year": year})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["year"]
    assert api.as_user(head).get("/api/v1/inspections/campaigns/", {"year": "2020"}).status_code == 200


@pytest.mark.parametrize("field", ["received_from", "received_to"])
def test_an_export_period_in_year_38_is_a_400(api, reporter, field):
    body = {"format": "csv", "received_from": "2020-01-01T00:00:00+07:00", "received_to": "2020-04-01T00:00:00+07:00"}
    body[field] = "0038-08-13T03:52:11+14:36"
    response = api.as_user(reporter).post("/api/v1/reports/exports/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("url", ["/api/v1/licensing/documents/false/download/",
                                 "/api/v1/cases/{case}/attachments/x1/download/"])
def test_a_malformed_id_is_a_404_problem(api, officer, url):
    from .factories import case_make

    response = api.as_user(officer).get(url.format(case=case_make(actor=officer).pk))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_every_operation_declares_its_problems():
    paths = api_schema().raw_schema["paths"]
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status, response in responses.items():
                if status.startswith("4") or status.startswith("5"):
                    assert response["content"]["application/problem+json"]["schema"] == problem, (path, method)
            signed_in = path != "/api/v1/auth/token/"
            assert {"401", "403"} <= set(responses) if signed_in else "401" not in responses, (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if method != "get":
                assert {"400", "409"} <= set(responses), (path, method)
    assert "Retry-After" in paths["/api/v1/auth/token/"]["post"]["responses"]["429"]["headers"]
