"""A database that cannot be reached is a 503 (try again shortly), never a 500 traceback."""

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from cases.api.problems import (
    DATABASE_ERRORS,
    DATABASE_RETRY_AFTER_SECONDS,
    database_unavailable_log,
    database_unavailable_problem,
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
