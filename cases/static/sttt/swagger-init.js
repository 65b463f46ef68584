/* Starts Swagger UI on /api/docs/ (templates/api/swagger_ui.html, cases/api/docs.py): what drf-spectacular's
   inline script does, from a static file so that the page needs no inline script under the CSP. */
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("swagger-config").textContent);

  // Requests other than GET sent with the session (Try it out) carry the CSRF token, as Django asks.
  const requestInterceptor = (request) => {
    if (!["GET", undefined].includes(request.method) && request.credentials === "same-origin") {
      request.headers[config.csrf_header] = config.csrf_token;
    }
    return request;
  };

  window.ui = SwaggerUIBundle({
    url: config.url,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor,
    ...config.settings,
  });
})();
