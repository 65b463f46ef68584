"""One error shape for every API failure: RFC 7807 problem details with a stable code."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from cases.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://sotttt.example/problems/"
# The database cannot be reached (down, restarting, connection lost): the client should try again shortly.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5
# A body Django refuses to read (over DATA_UPLOAD_MAX_MEMORY_SIZE, DATA_UPLOAD_MAX_NUMBER_FIELDS or
# DATA_UPLOAD_MAX_NUMBER_FILES): raised when a view first reads it.
BODY_REFUSED_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)

logger = logging.getLogger("sttt.errors")

_DRF_CODES = [
    (exceptions.NotAuthenticated, "not_authenticated", _("Authentication required.")),
    (exceptions.AuthenticationFailed, "authentication_failed", _("Authentication failed.")),
    (exceptions.PermissionDenied, "permission", _("Your role does not allow this action.")),
    (exceptions.NotFound, "not_found", _("Not found.")),
    (exceptions.MethodNotAllowed, "method_not_allowed", _("Method not allowed.")),
    (exceptions.NotAcceptable, "not_acceptable", _("Not acceptable.")),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", _("Unsupported media type.")),
    (exceptions.Throttled, "throttled", _("Too many requests.")),
    (exceptions.ParseError, "validation", _("The request body could not be parsed.")),
    (exceptions.ValidationError, "validation", _("The data sent is not valid.")),
]


def problem(*, status_code: int, code: str, title: str, detail=None, instance: str = "", **extra) -> dict:
    body = {"type": PROBLEM_BASE + code, "code": code, "title": str(title), "status": status_code}
    if detail:
        body["detail"] = str(detail)
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_exception_handler(exc, context):
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    if isinstance(exc, DATABASE_ERRORS):
        return database_unavailable(request, exc)
    if isinstance(exc, BODY_REFUSED_ERRORS):
        body = body_refused_problem(exc, instance=instance)
        return Response(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, DomainError):
        body = problem(status_code=exc.status, code=exc.code, title=exc.title, detail=exc.detail,
                       instance=instance, **exc.extra)
        return Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code, title = "error", _("The request could not be carried out.")
    for klass, klass_code, klass_title in _DRF_CODES:
        if isinstance(exc, klass):
            code, title = klass_code, klass_title
            break
    extra = {}
    detail = None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        extra["errors"] = errors
        detail = _("Check the fields listed in “errors”.")
    else:
        detail = exc.detail if isinstance(exc.detail, str) else None
    response.data = problem(status_code=response.status_code, code=code, title=title, detail=detail,
                            instance=instance, **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _json_problem(request, status_code: int, code: str, title: str) -> JsonResponse:
    return JsonResponse(problem(status_code=status_code, code=code, title=title, instance=request.get_full_path()),
                        status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def body_refused_problem(exc, *, instance: str = "") -> dict:
    """The problem for a body Django would not read: 413 when it is too large, 400 when it has too many fields
    or files."""
    if isinstance(exc, RequestDataTooBig):
        return problem(status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="payload_too_large",
                       title=_("The request is too large."),
                       detail=_("The request body is larger than %(max)d bytes. Files are sent one by one "
                                "to their upload endpoints.") % {"max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
                       instance=instance, max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, TooManyFilesSent):
        message = _("At most %(max)d files per request.") % {"max": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    else:
        message = _("At most %(max)d fields per request.") % {"max": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    return problem(status_code=status.HTTP_400_BAD_REQUEST, code="validation", title=_("The data sent is not valid."),
                   detail=message, instance=instance, errors={"non_field_errors": [message]})


def api_bad_request(request, exception=None):
    """config.urls.handler400 for /api/: a request Django refused before or outside a view (a body too large for
    a middleware that read it, a disallowed host...) is a problem too."""
    if isinstance(exception, BODY_REFUSED_ERRORS):
        body = body_refused_problem(exception, instance=request.get_full_path())
        return JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)
    return _json_problem(request, status.HTTP_400_BAD_REQUEST, "bad_request", _("The request could not be read."))


def api_not_found(request, exception=None):
    return _json_problem(request, status.HTTP_404_NOT_FOUND, "not_found", _("Not found."))


def api_server_error(request):
    return _json_problem(request, status.HTTP_500_INTERNAL_SERVER_ERROR, "server_error",
                         _("An unexpected error occurred; it has been logged."))


def database_unavailable_log(request, exc) -> None:
    path = request.path if request is not None else ""
    logger.error("database unavailable: %s %s: %s", getattr(request, "method", ""), path, exc,
                 exc_info=(type(exc), exc, exc.__traceback__))


def database_unavailable_problem(request) -> JsonResponse:
    """503 with Retry-After for a request that failed because the database could not be reached."""
    body = problem(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, code="service_unavailable",
                   title=_("The service is temporarily unavailable."),
                   detail=_("The database cannot be reached at the moment. Please try again in a few seconds; "
                            "a request sent again with the same id is never recorded twice."),
                   instance=request.get_full_path() if request is not None else "")
    response = JsonResponse(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, content_type=PROBLEM_CONTENT_TYPE)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def database_unavailable(request, exc) -> JsonResponse:
    database_unavailable_log(request, exc)
    return database_unavailable_problem(request)
