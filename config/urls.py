import sys

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from cases import views as case_views
from cases.api.docs import SwaggerDocsView
from cases.api.problems import DATABASE_ERRORS, api_bad_request, api_not_found, api_server_error
from cases.login import ThrottledLoginView

urlpatterns = [
    path("", case_views.home, name="home"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("licensing/", include("licensing.urls")),
    path("reports/", include("reports.urls")),
    path("inspections/", include("inspections.urls")),
    path("", include("inspections.pages.urls")),  # /registry/, /campaigns/: the office side of inspections
    path("portal/", include("applicants.urls")),  # applicants online: accounts, dossiers, results
    path("online/", include("applicants.office_urls")),  # officers: dossiers submitted online, to receive
    path("verify/", include("documents.urls")),  # public: anyone checks an issued document
    path("admin/", admin.site.urls),
    path("api/v1/licensing/", include("licensing.api.urls")),
    path("api/v1/inspections/", include("inspections.api.urls")),
    path("api/v1/reports/", include("reports.api.urls")),
    path("api/v1/portal/", include("applicants.api.urls")),
    path("api/v1/", include("cases.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with no inline script or style, under the site's CSP (cases/api/docs.py).
    path("api/docs/", SwaggerDocsView.as_view(url_name="schema"), name="swagger-ui"),
    path("i18n/", include("django.conf.urls.i18n")),
]
# Media files are never served as static files: attachments leave only through the API's permission checks.


def handler400(request, exception=None):
    # A request Django refused outside a view (a SuspiciousOperation: a body too large, a disallowed host...).
    if request.path.startswith("/api/"):
        return api_bad_request(request, exception)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    # Called while the exception is being handled: a database that cannot be reached (raised outside a view,
    # e.g. while a middleware reads the session) is a 503 with Retry-After, not a 500.
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        from cases.middleware import database_unavailable_response

        return database_unavailable_response(request, exc)
    if request.path.startswith("/api/"):
        return api_server_error(request)
    from django.views.defaults import server_error

    return server_error(request)
