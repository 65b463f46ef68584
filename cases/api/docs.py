"""Swagger UI under the site's Content-Security-Policy (script-src and style-src 'self', nothing inline).

drf-spectacular's page starts Swagger UI with an inline script (it holds the schema's URL and the CSRF token) and
styles it with an inline <style> block. Ours (templates/api/swagger_ui.html) carries that configuration as JSON
data (`json_script`, which the browser never runs) and starts Swagger UI from a static file, sttt/swagger-init.js;
its style sheet is a static file too. The schema is public (SERVE_PUBLIC), so there are no schema credentials
to inject, which is what the rest of drf-spectacular's inline script is for."""

from django.middleware.csrf import get_token
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView


class SwaggerDocsView(SpectacularSwaggerView):
    template_name = "api/swagger_ui.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        # drf-spectacular opens the page to cross-origin windows for OAuth2 pop-ups, which this API does not use:
        # the page keeps the site's Cross-Origin-Opener-Policy (SecurityMiddleware's same-origin).
        del response["Cross-Origin-Opener-Policy"]
        ui_settings = spectacular_settings.SWAGGER_UI_SETTINGS
        if not isinstance(ui_settings, dict):  # a string of JavaScript would have to run inline
            raise TypeError("SWAGGER_UI_SETTINGS must be a dict: the docs page runs no inline script.")
        response.data["config"] = {
            "url": response.data["schema_url"],
            "settings": ui_settings,
            "csrf_header": self._get_csrf_header_name(),
            "csrf_token": get_token(request),
        }
        return response
