"""OpenAPI post-processing: every operation declares the RFC 7807 problems it can answer with, and every create
links to the operations on what it created.

The views declare their success responses; the errors come from one place (cases.api.problems), so they are
declared here from what each view is: signed-in or open, with path or query parameters, with a request body,
writing, throttled. Every problem shares one `Problem` component.
"""

import re

from rest_framework.permissions import AllowAny

from .problems import PROBLEM_CONTENT_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 7807 problem details. `code` is stable; `title` and `detail` are translated.",
    "properties": {
        "type": {"type": "string", "description": "URI naming the kind of problem."},
        "code": {"type": "string", "description": "Stable code, e.g. validation, not_authenticated, permission, "
                                                  "not_found, invalid_transition, stale_version, conflict, throttled."},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request path."},
        "errors": {"type": "object", "additionalProperties": True,
                   "description": "Per field, the messages (nested for nested objects); with code `validation`."},
    },
    "required": ["type", "code", "title", "status"],
    "additionalProperties": True,  # a problem may carry more, e.g. `stored` and `sent` of a conflict
}

DESCRIPTIONS = {
    400: "The request is not valid (code `validation` with `errors` per field, or another domain code). Any "
         "request whose path or query string holds a control character such as NUL gets this.",
    401: "Not signed in, or the token is not valid (code `not_authenticated` or `authentication_failed`).",
    403: "The user's role does not allow this (code `permission` or a narrower one such as `not_on_team`).",
    404: "No such object, or not one the user may see (code `not_found`).",
    409: "The object's state or version moved on, or the data conflicts with what is stored "
         "(`invalid_transition`, `stale_version`, `conflict` and narrower codes).",
    413: "The request body is larger than the service reads (code `payload_too_large`).",
    415: "The request body's media type is not accepted (code `unsupported_media_type`).",
    429: "Too many requests: try again after `Retry-After` seconds (code `throttled`).",
    503: "The service is temporarily unavailable (e.g. the database); try again later.",
}

WRITE_METHODS = {"post", "put", "patch", "delete"}


def _views_by_operation(generator) -> dict[tuple[str, str], object]:
    """(path, method) → the view instance drf-spectacular built the operation from."""
    try:
        return {(path, method.lower()): view for path, _regex, method, view in generator._get_paths_and_endpoints()}
    except Exception:  # a future drf-spectacular may rename the helper: fall back to the operation's own data
        return {}


def _is_open(view, operation: dict) -> bool:
    if view is not None:
        return any(permission is AllowAny or isinstance(permission, AllowAny)
                   for permission in getattr(view, "permission_classes", ()))
    return {} in operation.get("security", [])


def _problem_statuses(path: str, method: str, operation: dict, view) -> set[int]:
    parameters = operation.get("parameters", [])
    query = {p["name"] for p in parameters if p.get("in") == "query"}
    # 400 everywhere: a path or query string holding a control character is refused before any view
    # (cases.middleware.ControlCharactersMiddleware), whatever the operation.
    statuses = {400, 503}
    if not _is_open(view, operation):
        statuses |= {401, 403}
    if "{" in path or "page" in query or "format" in query:  # unknown object, page past the end, unknown format
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {413, 415}
    if method in WRITE_METHODS:
        statuses |= {400, 409}
    if view is not None and getattr(view, "throttle_classes", None):
        statuses.add(429)
    return statuses


# OpenAPI links: what a create answers names the object that the operations under it take. A created object is
# sometimes reached under another collection too: an application is a case, a campaign has its case.
LINK_ALSO = {
    "/api/v1/licensing/applications/": [("/api/v1/cases/", "id")],
    "/api/v1/inspections/campaigns/": [("/api/v1/cases/", "case")],
}
# Request body fields a link fills from the created object (a transition carries the version the client read).
LINK_BODY_FIELDS = ("version",)
LINKED_METHODS = ("get", "post", "put", "patch", "delete")


def _component(result: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return result.get("components", {}).get("schemas", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _properties(result: dict, holder: dict | None, media_type: str = "application/json") -> dict:
    return _component(result, ((holder or {}).get("content", {}).get(media_type) or {}).get("schema") or {}).get(
        "properties", {})


def _listed(result: dict, response: dict) -> tuple[str, dict]:
    """For a list's answer: the JSON pointer of its first item ("/results/0" when paged, "/0" otherwise) and the
    item's properties; ("", {}) for any other answer."""
    schema = _component(result, ((response.get("content", {}).get("application/json") or {}).get("schema") or {}))
    if schema.get("type") == "array":
        return "/0", _component(result, schema.get("items", {})).get("properties", {})
    results = schema.get("properties", {}).get("results", {})
    if results.get("type") == "array":
        return "/results/0", _component(result, results.get("items", {})).get("properties", {})
    return "", {}


def _links_for(result: dict, collection: str, properties: dict, pointer: str, what: str) -> dict:
    """Links from an answer holding an object of `collection` at `pointer` (its `properties`) to the operations on
    that object."""
    key = "id" if "id" in properties else "uuid" if "uuid" in properties else None
    targets = [(collection, key)] if key else []
    targets += [(prefix, field) for prefix, field in LINK_ALSO.get(collection, []) if field in properties]
    links = {}
    for prefix, key_field in targets:
        for path, operations in result["paths"].items():
            names = re.findall(r"{(\w+)}", path)
            if not path.startswith(prefix + "{") or len(names) != 1:
                continue
            # A lookup by another field than the id takes that field (a case type's `code`).
            field = names[0] if prefix == collection and names[0] in properties else key_field
            for method in LINKED_METHODS:
                target = operations.get(method)
                if target is None:
                    continue
                link = {"operationId": target["operationId"],
                        "parameters": {names[0]: f"$response.body#{pointer}/{field}"},
                        "description": f"The `{names[0]}` of {method.upper()} {path} is the `{field}` of {what}."}
                body = _properties(result, target.get("requestBody"))
                if filled := {name: f"$response.body#{pointer}/{name}" for name in LINK_BODY_FIELDS
                              if name in body and name in properties}:
                    link["requestBody"] = filled
                links[target["operationId"]] = link
    return links


def operation_links(result: dict) -> None:
    """Adds links to the success answers of every create (POST on a collection: what it created) and of every
    list (GET on a collection: its first item)."""
    for collection, operations in result.get("paths", {}).items():
        if "{" in collection:
            continue
        for status, response in operations.get("post", {}).get("responses", {}).items():
            if status.startswith("2") and (links := _links_for(result, collection, _properties(result, response), "",
                                                                "this answer")):
                response["links"] = links
        response = operations.get("get", {}).get("responses", {}).get("200")
        if response is not None:
            pointer, properties = _listed(result, response)
            if properties and (links := _links_for(result, collection, properties, pointer,
                                                   "the list's first item")):
                response["links"] = links


def problem_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the `Problem` component and the problem responses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    views = _views_by_operation(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_problem_statuses(path, method, operation, views.get((path, method)))):
                entry = responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
                entry.setdefault("content", {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}})
                if status == 429:
                    entry.setdefault("headers", {"Retry-After": {
                        "schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}})
            # Problems some views declared by hand without a body get the shared shape too.
            for status, entry in responses.items():
                if str(status).startswith(("4", "5")) and "content" not in entry:
                    entry["content"] = {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}}
    operation_links(result)
    return result
