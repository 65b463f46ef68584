"""A database that cannot be reached is a 503 (try again shortly), never a 500 traceback; a URL holding control
characters is a 400 before any view."""

import re
from urllib.parse import unquote

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from cases.api.problems import (
    DATABASE_ERRORS,
    DATABASE_RETRY_AFTER_SECONDS,
    PROBLEM_CONTENT_TYPE,
    database_unavailable_log,
    database_unavailable_problem,
    problem,
)


def database_unavailable_response(request, exc) -> HttpResponse:
    """Problem JSON for the API, a short Vietnamese page for everything else. Nothing here touches the database:
    the page is rendered without the request's context processors (the signed-in user lives in the database)."""
    database_unavailable_log(request, exc)
    if request.path.startswith("/api/"):
        return database_unavailable_problem(request)
    html = render_to_string("503.html", {"retry_after": DATABASE_RETRY_AFTER_SECONDS,
                                         "title": _("The service is temporarily unavailable")})
    response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database connection failure raised by a view into a 503. Failures raised by other middleware
    (a session read, for example) reach `config.urls.handler500`, which answers the same way."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable_response(request, exception)
        return None


class PermissionsPolicyMiddleware:
    """Sends `Permissions-Policy` on every response, from settings.PERMISSIONS_POLICY ({feature: allowlist}):
    ["self"] allows the feature to this site's pages only, [] turns it off for every page and frame."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.header = permissions_policy_header(getattr(settings, "PERMISSIONS_POLICY", {}))

    def __call__(self, request):
        response = self.get_response(request)
        if self.header and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.header
        return response


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """{"camera": ["self"], "usb": []} → 'camera=(self), usb=()' (origins other than self are quoted)."""
    def allowlist(origins: list[str]) -> str:
        return " ".join(origin if origin in {"self", "*"} else f'"{origin}"' for origin in origins)

    return ", ".join(f"{feature}=({allowlist(origins)})" for feature, origins in policy.items())


# C0 controls (NUL, CR, LF...), DEL and the C1 controls; a query may hold TAB (text pasted into a search box).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_QUERY = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _shown(text: str) -> str:
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def url_control_character_errors(request) -> dict[str, list[str]]:
    """Per query parameter (and `path`), the message for a control character in it; empty when there is none.
    The raw query string is read, not request.GET: a control character in a parameter's name counts too."""
    message = _("Control characters (such as NUL) are not allowed here.")
    errors: dict[str, list[str]] = {}
    if _CONTROL.search(request.path):
        errors["path"] = [message]
    query = request.META.get("QUERY_STRING", "")
    if query and _CONTROL_IN_QUERY.search(unquote(query.replace("+", " "), errors="replace")):
        for pair in query.split("&"):
            key, _sep, value = pair.partition("=")
            key, value = (unquote(part.replace("+", " "), errors="replace") for part in (key, value))
            if _CONTROL_IN_QUERY.search(key) or _CONTROL_IN_QUERY.search(value):
                errors[_shown(key)] = [message]
    return errors


class ControlCharactersMiddleware:
    """Refuses a request whose path or query string holds NUL or another control character (TAB excepted in the
    query), before any view reads it: PostgreSQL cannot hold NUL in text (a filter, a lookup by code or a search given one failed with a
    server error), and no name, code or search of this service holds a control character. The API answers a 400
    problem (code `validation`, the parameters in `errors`); pages a short page in the user's language.
    Nothing here touches the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        errors = url_control_character_errors(request)
        if errors:
            return url_control_characters_response(request, errors)
        return self.get_response(request)


def url_control_characters_response(request, errors: dict) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = problem(status_code=400, code="validation", title=_("The data sent is not valid."),
                       detail=_("Check the fields listed in “errors”."), instance=request.get_full_path(),
                       errors=errors)
        return JsonResponse(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
    html = render_to_string("400.html", {"detail": _("The address holds characters that cannot be typed (such as "
                                                     "NUL). Check the link, or go back and try again.")})
    return HttpResponse(html, status=400, content_type="text/html; charset=utf-8")
