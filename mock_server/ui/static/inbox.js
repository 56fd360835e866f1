// The inbox's live list: polls the rows of the same filters and swaps them in when they changed.
// Polling (not server-sent events) keeps no server thread busy per open tab.
(function () {
  "use strict";
  var table = document.getElementById("inbox");
  var rows = document.getElementById("rows");
  if (!table || !rows) return;
  var url = table.getAttribute("data-rows-url");
  var every = parseInt(table.getAttribute("data-poll-ms"), 10) || 1500;
  var last = rows.innerHTML;
  var version = "";
  function poll() {
    if (document.hidden) { return setTimeout(poll, every); }
    // The server answers 304 (nothing rendered) while the version it sent last still holds.
    fetch(url, { headers: { Accept: "text/html", "X-Inbox-Version": version }, cache: "no-store" })
      .then(function (r) {
        if (!r.ok) return null;
        version = r.headers.get("X-Inbox-Version") || "";
        return r.text();
      })
      .then(function (html) {
        if (html !== null && html !== last) { rows.innerHTML = html; last = html; }
      })
      .catch(function () { /* the mock is restarting: try again later */ })
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
  // Empty filters stay out of the URL, so a shared link shows only what was chosen.
  var form = document.getElementById("filters");
  if (form) form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (el) { if (el.name && !el.value) el.disabled = true; });
  });
})();
