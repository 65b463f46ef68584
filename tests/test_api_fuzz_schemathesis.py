"""schemathesis over every operation of /api/schema/, as each of the six roles and anonymously.

The schema is loaded in process from the WSGI application; each role gets a department built through the
services (tests/support_api_world.py), and path parameters are drawn both from real objects (the role's own and
others') and from generated values. Every request must give no server error and a response the schema
declares: its status, its media type, its body and its headers. Each example runs in a savepoint rolled back
after it, so the operations all see the same department.

Three layers per role:
* generated: positive and negative examples of every operation (schemathesis' strategies);
* hostile: one example per operation (its documented example, else a positive one) is sent as it is (a create
  with a client-made `uuid` also again, and by another user of the same role), then with a value a fuzzer throws
  at APIs in each parameter and each JSON body field in turn (NUL and other control characters, 1e30, NaN,
  Infinity, 2**63, a 20-digit id), a body larger than Django reads and a form with too many fields; a GET's
  example is also sent as OPTIONS;
* stateful: schemathesis' state machine follows the schema's OpenAPI links (each create links to the
  operations on what it created, cases/api/schema.py) and the links it infers, from the role's department,
  with the stateful checks (a created object can be read; a deleted one is gone) besides the ones above.

Bounded for CI (4 to 5 minutes on two shared cores, under 3 minutes of CPU): FUZZ_EXAMPLES (default 6) generated
examples per operation and role, FUZZ_REAL_EXAMPLES (default 2) per set of real path parameters, one example per
operation for the hostile values,
FUZZ_STATEFUL_EXAMPLES (default 12) scenarios of up to FUZZ_STATEFUL_STEPS (default 6) calls per role;
derandomized (the same examples each run). FUZZ_SEED=<int> draws other ones, e.g.
`FUZZ_EXAMPLES=20 FUZZ_REAL_EXAMPLES=4 FUZZ_STATEFUL_EXAMPLES=60 FUZZ_SEED=1` for a longer hunt.
"""

import os
import textwrap
import uuid

import pytest
import schemathesis
from django.conf import settings as settings_module
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import GenerationConfig
from schemathesis.config._phases import InferenceConfig
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from cases import roles as r
from cases import services as case_services
from cases.models import CaseType

from .factories import UserFactory
from .support_api_world import World, world_build
from .support_portal_follow import portal_dossier_parameters
from .support_portal_submit import portal_submission_parameters, world_submission

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))  # per operation and role, generated path parameters
REAL_EXAMPLES = int(os.environ.get("FUZZ_REAL_EXAMPLES", "2"))  # per set of real path parameters
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "12"))  # scenarios per role
STATEFUL_STEPS = int(os.environ.get("FUZZ_STATEFUL_STEPS", "6"))  # calls per scenario, at most
SEED = os.environ.get("FUZZ_SEED")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability]
ANONYMOUS = "anonymous"
ROLES = (*r.ALL_ROLES, ANONYMOUS)

# What fuzzers throw at APIs. Text: NUL (PostgreSQL refuses it in text), other C0 and C1 controls, an escape
# sequence. Numbers: beyond the decimal context (1e30), beyond bigint (2**63, 10**40), non-finite as the strings
# a form or a lax client sends ("NaN", "Infinity"; the JSON literals are refused by the parser, a test of
# test_api_hostile_input_problems.py sends them: schemathesis' transport cannot).
# Each slot gets its ALWAYS values and one of the others, in turn per role (the seven roles between them send
# every value to every slot they may reach).
HOSTILE_TEXT = ("\x00", "Công ty\x00A", "\x1b[2J", "a\x7fb", "\x85", "\x0b\x0c")
HOSTILE_URL_TEXT = ("\x00", "printing\x00", "\x1b[2J", "a\x7fb", "\x85", "\t")
HOSTILE_NUMBERS = (1e30, 2**63, -1e30, -(2**63) - 1, "NaN", "Infinity", 10**40, "1e30")
HOSTILE_URL_NUMBERS = ("1e30", "NaN", "Infinity", "99999999999999999999", "-99999999999999999999", "0x10", "1_0")
ALWAYS = {HOSTILE_NUMBERS: 2}  # 1e30 and 2**63 in every number field, besides the value of the role's turn
# Every operation of the schema is fuzzed: nothing is excluded. The binary downloads (attachments, issued
# documents, photos, exports) are fuzzed too: their 200 bodies are declared as binary of their media type, so
# the status and media type are checked, and tests/test_permission_matrix.py opens each with real objects.
EXCLUDED: dict[str, str] = {}

_schema = None
_stateful_schema = None


def api_schema():
    global _schema
    if _schema is None:
        _schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
    return _schema


def stateful_schema():
    """The schema for the state machine, on its own: its scenarios start from positive examples (a negative one
    is refused, and a refused call leads nowhere) and follow the schema's own links only (schemathesis' inferred
    ones took a case type's code for a case id and filled the scenarios with 404s)."""
    global _stateful_schema
    if _stateful_schema is None:
        # The department's roles walk the department's operations: the applicants' own endpoints (/api/v1/portal/
        # but its office/) refuse them all with 403 (tests/test_permission_matrix.py), and scenarios started there
        # lead nowhere.
        _stateful_schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler()).exclude(
            path_regex=r"^/api/v1/portal/(?!office/)")
        stateful = _stateful_schema.config.phases.stateful
        stateful.generation = GenerationConfig(modes=[GenerationMode.POSITIVE])
        stateful.inference = InferenceConfig(algorithms=[])

        @_stateful_schema.hook
        def map_query(context, query):
            """A list opens on its first page without filters (random filters mostly find nothing, and an empty
            list links nowhere); required parameters stay."""
            operation = context.operation
            if operation is None or operation.method.upper() != "GET" or "{" in operation.path or not query:
                return query
            definition = _stateful_schema.raw_schema["paths"][operation.path]["get"]
            required = {p["name"] for p in definition.get("parameters", []) if p.get("required")}
            return {name: value for name, value in query.items() if name in required}
    return _stateful_schema


@pytest.fixture
def small_body_limits(settings):
    """The body limits the hostile layer goes past, smaller than in production so that going past them is cheap."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 100


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


def legacy_case(users: dict) -> int:
    """A licensing case opened without its dossier, as POST /api/v1/cases/ made them before applications became
    the only door: a department's database holds such cases."""
    case, _ = case_services.case_create(actor=users[r.LICENSING_OFFICER], subject_name="Công ty TNHH In Minh Tâm",
                                        case_type=CaseType.objects.get(code="printing_licence"))
    return case.pk


def real_path_parameters(world: World, legacy: int | None = None) -> dict[str, list[dict]]:
    """Per path template, parameter sets naming real objects: ones the role under test may open and ones it
    may not (another team's campaign, another user's export, the other domain's cases), and the `legacy` case."""
    cases = [world.app_open.pk, world.app_issued.pk, world.mine.campaign.case_id, world.other.campaign.case_id]
    cases += [legacy] if legacy else []
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
        "/api/v1/inspections/findings/{uuid}/review/": [{"uuid": str(side.findings[0].pk)} for side in sides],
        "/api/v1/inspections/follow-ups/{id}/": [{"id": side.follow_up.pk} for side in sides],
        "/api/v1/inspections/photos/{id}/": [{"id": str(side.photo.pk)} for side in sides],
        "/api/v1/inspections/sanctions/{id}/": [{"id": side.sanction.pk} for side in sides],
        "/api/v1/inspections/targets/{id}/": [{"id": t.pk} for side in sides
                                              for t in (side.target_open, side.target_done)],
        "/api/v1/inspections/violations/{id}/": [{"id": side.violation.pk} for side in sides],
        # The legacy case first: the hostile layer sends its examples to the first set.
        "/api/v1/licensing/applications/{id}/": [*([{"id": legacy}] if legacy else []), {"id": world.app_open.pk},
                                                 {"id": world.app_issued.pk}, {"id": world.mine.campaign.case_id}],
        "/api/v1/licensing/documents/{id}/": [{"id": world.document.pk}],
        "/api/v1/licensing/organisations/{id}/": [{"id": world.permit.holder_id}],
        "/api/v1/licensing/permits/{id}/": [{"id": world.permit.pk}],
        "/api/v1/licensing/print-facilities/{id}/": [{"id": world.print_facility.pk}],
        "/api/v1/reports/exports/{id}/": [{"id": world.export_reporter.pk}, {"id": world.export_head.pk}],
        "/api/v1/reports/documents/{id}/": [{"id": world.report.pk}],
        "/api/v1/reports/documents/{id}/sections/{code}/": [{"id": world.report.pk, "code": code}
                                                            for code in ("I.3", "I.4")],
        **portal_submission_parameters(world),
        **portal_dossier_parameters(world),
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


def _send(case, *, headers: dict, failures: list[str], statuses: set[int], savepoint: bool = True) -> None:
    """One request, in a savepoint rolled back after it; what the checks say is appended to `failures`."""
    sid = transaction.savepoint() if savepoint else None
    try:
        response = case.call(headers=headers)
        statuses.add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as group:  # checks failed: record them, keep fuzzing
            for failure in getattr(group, "exceptions", [group]):
                title = getattr(failure, "title", type(failure).__name__)
                message = textwrap.shorten(getattr(failure, "message", str(failure)), 400)
                failures.append(f"{title} ({response.status_code}): {message} | {_request_text(case)}")
    finally:
        if sid is not None:
            transaction.savepoint_rollback(sid)


def _format_queries(operation) -> list[dict]:
    """Each value of the operation's `format` parameter (DRF's format override: the one parameter that chooses how
    the answer is rendered), on its own."""
    definition = api_schema().raw_schema["paths"][operation.path][operation.method.lower()]
    return [{"format": value} for parameter in definition.get("parameters", [])
            if parameter["in"] == "query" and parameter["name"] == "format"
            for value in _resolved(parameter.get("schema", {})).get("enum", [])]


def _options(case, *, headers: dict, failures: list[str]) -> None:
    """OPTIONS on the path of a GET example, with its query and with each of its formats (`?format=csv`): a method
    the schema does not list, answered with the view's description or a problem, never a server error or a page."""
    sent = case.query
    try:
        for query in [case.query or {}, *({**(sent or {}), **extra} for extra in _format_queries(case.operation))]:
            case.method, case.query = "OPTIONS", query
            response = case.call(headers=headers)
            fields = {name.lower(): value for name, value in response.headers.items()}
            content_type = fields.get("content-type", "")
            media_type = (content_type[0] if isinstance(content_type, list) else content_type).split(";")[0]
            if response.status_code >= 500 or media_type not in ("application/json", "application/problem+json"):
                failures.append(f"OPTIONS answered {response.status_code} {media_type} | {_request_text(case)}")
    finally:
        case.method, case.query = "GET", sent


def _send_replayed(case, *, headers: dict, replay_headers: dict, failures: list[str], statuses: set[int]) -> None:
    """A create with a client-made id, sent, sent again (a retry) and sent by another user, each seeing what the
    one before stored; all of it rolled back after."""
    if isinstance(case.body, dict) and not case.body.get("uuid"):
        case.body = {**case.body, "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, case.operation.label))}
    sid = transaction.savepoint()
    try:
        for sender in (headers, headers, replay_headers):
            _send(case, headers=sender, failures=failures, statuses=statuses, savepoint=False)
    finally:
        transaction.savepoint_rollback(sid)


def fuzz(strategy, *, headers: dict, examples: int, variants: list | None = None,
         statuses: set[int] | None = None, replay_headers: dict | None = None) -> list[str]:
    """Run `examples` examples of `strategy`; the failures found, one line each (a failing example is reported
    as found, not shrunk). With `variants` ((slot, value) pairs), each example is sent once per variant, with that
    hostile value in its slot. The statuses answered are added to `statuses`."""
    failures: list[str] = []
    statuses = set() if statuses is None else statuses

    @settings(max_examples=examples, deadline=None, database=None, derandomize=SEED is None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        if variants is None:
            _send(case, headers=headers, failures=failures, statuses=statuses)
            return
        for slot, value in variants:
            sent = case.query, case.path_parameters, case.body
            hostile_case(case, slot, value)  # new containers along the slot's path: `sent` stays as it was
            try:
                if slot is None and replay_headers is not None:
                    _send_replayed(case, headers=headers, replay_headers=replay_headers, failures=failures,
                                   statuses=statuses)
                else:
                    _send(case, headers=headers, failures=failures, statuses=statuses)
            finally:
                case.query, case.path_parameters, case.body = sent
        if case.method == "GET":
            _options(case, headers=headers, failures=failures)

    if SEED is not None:
        run = seed(int(SEED))(run)
    run()
    return failures


def _resolved(node: dict) -> dict:
    components = api_schema().raw_schema.get("components", {}).get("schemas", {})
    while isinstance(node, dict) and "$ref" in node:
        node = components[node["$ref"].rsplit("/", 1)[-1]]
    return node if isinstance(node, dict) else {}


def _body_slots(schema: dict, where: tuple, depth: int = 0) -> list[tuple]:
    """(path in the body, hostile values) for every number and text field of a JSON body, nested objects and the
    first item of arrays of objects included."""
    slots = []
    for name, field in _resolved(schema).get("properties", {}).items():
        field = _resolved(field)
        kinds = field.get("type") if isinstance(field.get("type"), list) else [field.get("type")]
        if field.get("readOnly"):
            continue
        if {"integer", "number"} & set(kinds):
            slots.append((where + (name,), HOSTILE_NUMBERS))
        elif "string" in kinds and field.get("format") != "binary":
            slots.append((where + (name,), HOSTILE_TEXT))
        elif depth < 2 and "object" in kinds:
            slots += _body_slots(field, where + (name,), depth + 1)
        elif depth < 2 and "array" in kinds:
            items = _resolved(field.get("items", {}))
            if items.get("type") in ("integer", "number"):
                slots.append((where + (name, 0), HOSTILE_NUMBERS))
            elif items.get("type") == "string":
                slots.append((where + (name, 0), HOSTILE_TEXT))
            else:
                slots += _body_slots(items, where + (name, 0), depth + 1)
    return slots


def hostile_slots(operation) -> list[tuple[str, object, tuple]]:
    """Where a hostile value can go in a request of `operation`: (location, name or body path, values)."""
    definition = api_schema().raw_schema["paths"][operation.path][operation.method.lower()]
    slots: list[tuple[str, object, tuple]] = []
    for parameter in definition.get("parameters", []):
        if parameter["in"] in ("query", "path"):
            numeric = _resolved(parameter.get("schema", {})).get("type") in ("integer", "number")
            slots.append((parameter["in"], parameter["name"], HOSTILE_URL_NUMBERS if numeric else HOSTILE_URL_TEXT))
    slots.append(("query", "x-hostile", HOSTILE_URL_TEXT))  # a parameter the operation does not declare
    body = definition.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        slots += [("body", path, values) for path, values in _body_slots(body, ())]
    if "requestBody" in definition:  # a body larger than Django reads, and a form with too many fields
        slots += [("whole-body", "size", ("too large",)), ("whole-body", "fields", ("too many",))]
    return slots


def _body_with(body, path: tuple, value):
    """`body` with `value` at `path`, making the containers on the way when the example has none."""
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(key, int):
        items = list(body) if isinstance(body, list) and body else [{}]
        items[0] = _body_with(items[0], rest, value)
        return items
    container = dict(body) if isinstance(body, dict) else {}
    container[key] = _body_with(container.get(key), rest, value)
    return container


def hostile_case(case, slot: tuple | None, value):
    if slot is None:  # the example as it was drawn
        return case
    where, name, _values = slot
    if where == "whole-body" and name == "size":
        case.body = {"padding": "x" * (settings_module.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    elif where == "whole-body":
        case.body = {f"field{n}": "1" for n in range(settings_module.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    elif where == "query":
        case.query = {**(case.query or {}), name: value}
    elif where == "path":
        case.path_parameters = {**(case.path_parameters or {}), name: value}
    else:
        case.body = _body_with(case.body if type(case.body).__name__ != "NotSet" else {}, name, value)
    return case


def _values(values: tuple, index: int, turn: int) -> list:
    always = ALWAYS.get(values, 0)
    rest = values[always:]
    return [*values[:always], *([rest[(index + turn) % len(rest)]] if rest else [])]


def _base_strategy(operation, path_parameters: dict | None):
    """The operation's documented request examples when it has some (they are valid: a hostile value then stands
    alone), else its positive examples."""
    try:
        documented = operation.get_strategies_from_examples(path_parameters=path_parameters)
    except Exception:  # noqa: BLE001  an example schemathesis cannot use: fall back to generation
        documented = []
    if documented:
        return st.one_of(documented)
    return operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=path_parameters)


def fuzz_hostile(operation, *, headers: dict, other_headers: dict | None, path_parameters: dict | None,
                 turn: int) -> list[str]:
    """One example of `operation` sent as it is (for a create with a client-made `uuid`: also again, and by
    another user of the same role), then once per hostile value of each slot. The values besides the ALWAYS
    ones rotate with `turn`, so that the roles between them send every value."""
    variants: list = [(None, None)]
    for index, slot in enumerate(hostile_slots(operation)):
        variants += [(slot, value) for value in _values(slot[2], index, turn)]
    return fuzz(_base_strategy(operation, path_parameters), headers=headers, examples=1, variants=variants,
                replay_headers=other_headers if _takes_uuid(operation) else None)


def _takes_uuid(operation) -> bool:
    definition = api_schema().raw_schema["paths"][operation.path][operation.method.lower()]
    body = definition.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return operation.method.upper() == "POST" and body is not None and "uuid" in _resolved(body).get("properties", {})


def fuzz_operation(operation, *, headers: dict, real: dict, turn: int, other_headers: dict | None = None,
                   hostile: bool = True) -> list[str]:
    """Generated values everywhere, then each set of real path parameters with generated query and body, then the
    hostile values (with the first set of real path parameters, if any: they reach the deepest). The hostile
    values are not sent where the role never got past authentication and permissions (nor anonymously): those
    are decided before a parameter or the body is read, and the URL check before them is the same for everyone."""
    statuses: set[int] = set()
    failures = fuzz(operation_strategy(operation), headers=headers, examples=EXAMPLES, statuses=statuses)
    sets = _params_for(operation.path, real)
    for values in sets:
        failures += fuzz(operation_strategy(operation, values), headers=headers, examples=REAL_EXAMPLES,
                         statuses=statuses)
    if hostile and statuses - {401, 403}:
        failures += fuzz_hostile(operation, headers=headers, other_headers=other_headers,
                                 path_parameters=sets[0] if sets else None, turn=turn)
    return failures


def _operations() -> list:
    operations = [result.ok() for result in api_schema().get_all_operations() if isinstance(result, Ok)]
    assert len(operations) >= 70, "the schema lost operations"
    return [operation for operation in operations if operation.label not in EXCLUDED]


def _headers(role: str, users: dict) -> dict:
    if role == ANONYMOUS:
        return {}
    token, _ = Token.objects.get_or_create(user=users[role])
    return {"Authorization": f"Token {token.key}"}


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_the_schema_says(role, users, wsgi_in_test_transaction, small_body_limits):
    world = world_build(users)
    headers = _headers(role, users)
    other_headers = None if role == ANONYMOUS else _headers(role, {role: UserFactory(roles=[role])})
    real = real_path_parameters(world, legacy_case(users))
    problems: list[str] = []
    for operation in _operations():
        for line in fuzz_operation(operation, headers=headers, real=real, turn=ROLES.index(role),
                                   other_headers=other_headers, hostile=role != ANONYMOUS):
            problems.append(f"[{role}] {operation.label}: {line}")
    unique = list(dict.fromkeys(problems))
    assert not unique, f"{len(unique)} failures:\n" + "\n".join(unique[:40])


def test_the_hostile_layer_reaches_every_field():
    """Every parameter and every JSON body field of the schema gets its hostile value (the layer follows the
    schema: a new field is covered without a change here)."""
    slots = {operation.label: hostile_slots(operation) for operation in _operations()}
    finding = {path for where, path, _values in slots["POST /api/v1/inspections/findings/"] if where == "body"}
    assert {("accuracy",), ("latitude",), ("longitude",), ("note",)} <= finding
    batch = {path for where, path, _values in slots["POST /api/v1/inspections/findings/batch/"] if where == "body"}
    assert ("findings", 0, "accuracy") in batch
    assert ("query", "type", HOSTILE_URL_TEXT) in slots["GET /api/v1/cases/"]
    assert ("path", "code", HOSTILE_URL_TEXT) in slots["GET /api/v1/case-types/{code}/"]
    assert ("body", ("fine_vnd",), HOSTILE_NUMBERS) in slots["POST /api/v1/inspections/sanctions/{id}/decide/"]


# --- Stateful: the links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", r.ALL_ROLES)
def test_linked_operations_in_sequence(role, users, wsgi_in_test_transaction):
    """schemathesis' state machine, from the role's department: scenarios of up to FUZZ_STATEFUL_STEPS calls, each
    following a link from an earlier answer (an explicit one of the schema or one schemathesis infers). The whole
    test's transaction is rolled back at its end."""
    world = world_build(users)
    legacy_case(users)
    for _number in range(3):  # online dossiers waiting: the officers' list links to its first one
        world_submission(world, another=True)
    headers = _headers(role, users)
    failures: list[str] = []
    machine = stateful_schema().as_state_machine()
    assert stateful_schema().statistic.transitions.total >= 100, "the schema lost its links"

    steps = {"calls": 0, "linked": 0}

    class Machine(machine):
        rule_order_seed = ROLES.index(role)  # each role starts its scenarios from other operations

        def step(self, input):
            steps["calls"] += 1
            steps["linked"] += input.transition is not None and input.is_applied
            return super().step(input)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(response, checks=STATEFUL_CHECKS, headers=headers, recorder=self.recorder)
            except (AssertionError, BaseExceptionGroup) as group:  # record, keep going
                for failure in getattr(group, "exceptions", [group]):
                    title = getattr(failure, "title", type(failure).__name__)
                    message = textwrap.shorten(getattr(failure, "message", str(failure)), 400)
                    failures.append(f"[{role}] {title} ({response.status_code}): {message} | {_request_text(case)}")

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, deadline=None, database=None,
        derandomize=SEED is None, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)))
    unique = list(dict.fromkeys(failures))
    assert not unique, f"{len(unique)} failures:\n" + "\n".join(unique[:40])
    print(f"stateful [{role}]: {steps['calls']} calls, {steps['linked']} following a link")
    assert steps["linked"] >= STATEFUL_EXAMPLES // 3, steps  # the scenarios do follow links


def test_the_real_path_parameters_name_real_operations(users):
    """The table above follows the schema: a renamed path must not silently fall back to generated ids."""
    world = world_build(users)
    real = real_path_parameters(world)  # before the schema's request, which closes the test's connection
    paths = {operation.path for operation in
             (result.ok() for result in api_schema().get_all_operations() if isinstance(result, Ok))}
    for template in real:
        assert any(path.startswith(template) for path in paths), template
    with_ids = [path for path in paths if "{" in path]
    missing = [path for path in with_ids if not _params_for(path, real)]
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


# Open to anyone: the token endpoint, and the tablets' ping (it answers whether the server answers, nothing more).
PUBLIC_OPERATIONS = {"/api/v1/auth/token/", "/api/v1/inspections/ping/"}


def test_every_operation_declares_its_problems():
    paths = api_schema().raw_schema["paths"]
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status, response in responses.items():
                if status.startswith("4") or status.startswith("5"):
                    assert response["content"]["application/problem+json"]["schema"] == problem, (path, method)
            signed_in = path not in PUBLIC_OPERATIONS
            assert {"401", "403"} <= set(responses) if signed_in else "401" not in responses, (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if method != "get":
                assert {"400", "409"} <= set(responses), (path, method)
    assert "Retry-After" in paths["/api/v1/auth/token/"]["post"]["responses"]["429"]["headers"]
