// Starts Swagger UI on /api/docs with the app's OpenAPI schema (same origin, the session cookie).
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (req) {
      var token = document.querySelector('meta[name="csrf-token"]');
      if (token) { req.headers["X-CSRF-Token"] = token.content; }
      return req;
    },
  });
});
