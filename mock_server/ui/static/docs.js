// Swagger UI over the packaged specs; validatorUrl null: nothing is fetched from the internet.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var base = root.getAttribute("data-spec-base");
  var urls = root.getAttribute("data-specs").split(",").map(function (name) { return { url: base + name, name: name }; });
  window.ui = SwaggerUIBundle({
    urls: urls,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
})();
