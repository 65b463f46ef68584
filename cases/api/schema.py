"""OpenAPI post-processing: every operation declares the RFC 7807 problems it can answer with.

The views declare their success responses; the errors come from one place (cases.api.problems), so they are
declared here from what each view is: signed-in or open, with path or query parameters, with a request body,
writing, throttled. Every problem shares one `Problem` component.
"""

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
    400: "The request is not valid (code `validation` with `errors` per field, or another domain code).",
    401: "Not signed in, or the token is not valid (code `not_authenticated` or `authentication_failed`).",
    403: "The user's role does not allow this (code `permission` or a narrower one such as `not_on_team`).",
    404: "No such object, or not one the user may see (code `not_found`).",
    409: "The object's state or version moved on, or the data conflicts with what is stored "
         "(`invalid_transition`, `stale_version`, `conflict` and narrower codes).",
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
    statuses = {503}
    if not _is_open(view, operation):
        statuses |= {401, 403}
    if "{" in path or "page" in query or "format" in query:  # unknown object, page past the end, unknown format
        statuses.add(404)
    if query or "requestBody" in operation:
        statuses.add(400)
    if "requestBody" in operation:
        statuses.add(415)
    if method in WRITE_METHODS:
        statuses |= {400, 409}
    if view is not None and getattr(view, "throttle_classes", None):
        statuses.add(429)
    return statuses


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
    return result
