// Swagger UI over the packaged specs; validatorUrl null: nothing is fetched from the internet.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var base = root.getAttribute("data-spec-base");
  var urls = root.getAttribute("data-specs").split(",").map(function (name) { return { url: base + name + ".yaml", name: name }; });
  window.ui = SwaggerUIBundle({
    urls: urls,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    // "Try it out" calls this mock, not the servers the specs name (eSMS itself, on the internet).
    requestInterceptor: function (request) {
      var url = new URL(request.url, window.location.href);
      if (url.origin !== window.location.origin) request.url = window.location.origin + url.pathname + url.search;
      return request;
    },
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
})();
