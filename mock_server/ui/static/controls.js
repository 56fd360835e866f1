// The mock's controls: each button calls the control plane (/_mock/...) and reloads the page.
(function () {
  "use strict";
  var result = document.getElementById("control-result");
  function call(method, path, body) {
    var options = { method: method, headers: {} };
    if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
    return fetch(path, options).then(function (r) {
      return r.json().then(function (answer) {
        if (!r.ok) { result.textContent = answer.message || ("HTTP " + r.status); return; }
        window.location.reload();
      });
    }).catch(function () { result.textContent = "The mock did not answer."; });
  }
  var advance = document.getElementById("advance");
  if (advance) advance.addEventListener("submit", function (event) {
    event.preventDefault();
    call("POST", "/_mock/clock/advance", { seconds: parseFloat(advance.elements.seconds.value) });
  });
  var clockReset = document.getElementById("clock-reset");
  if (clockReset) clockReset.addEventListener("click", function () { call("POST", "/_mock/clock/reset"); });
  Array.prototype.forEach.call(document.querySelectorAll("button.remove-scenario"), function (button) {
    button.addEventListener("click", function () { call("DELETE", "/_mock/scenarios/" + button.getAttribute("data-id")); });
  });
  var reset = document.getElementById("reset");
  if (reset) reset.addEventListener("click", function () {
    if (window.confirm("Reset the mock? Every message, callback and RequestId is forgotten; the fixtures stay.")) {
      call("POST", "/_mock/reset");
    }
  });
})();
