// One message: polls its delivery story until the timeline and callbacks settle; replays the
// callback; copies the curl command; shows a placeholder for an image that cannot load offline.
(function () {
  "use strict";
  var story = document.getElementById("story");
  var result = document.getElementById("replay-result");
  function placeholders(root) {
    Array.prototype.forEach.call(root.querySelectorAll("figure.photo img"), function (img) {
      function fail() {
        img.hidden = true;
        var caption = img.parentNode.querySelector(".placeholder");
        if (caption) caption.hidden = false;
      }
      if (img.complete && img.naturalWidth === 0) fail();
      img.addEventListener("error", fail);
    });
  }
  placeholders(document);
  if (story) {
    var url = story.getAttribute("data-story-url");
    var every = parseInt(story.getAttribute("data-poll-ms"), 10) || 1500;
    var last = story.innerHTML;
    var polling = false;
    // Polls until the message is final and no callback is pending; a replay starts it again.
    var settled = function () { return !!story.querySelector('.story[data-settled="yes"]'); };
    var poll = function () {
      fetch(url, { cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && html !== last) { story.innerHTML = html; last = html; } })
        .catch(function () {})
        .then(function () { if (settled()) { polling = false; } else { setTimeout(poll, every); } });
    };
    var start = function () { if (!polling) { polling = true; setTimeout(poll, every); } };
    start();
    story.addEventListener("click", function (event) {
      if (!event.target || event.target.id !== "replay") return;
      event.target.disabled = true;
      fetch(story.getAttribute("data-replay-url"), { method: "POST" })
        .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
        .then(function (answer) {
          result.textContent = answer[0] === 202 ? "Callback queued again: the new attempt appears below in a moment."
                                                : (answer[1].message || "The mock refused the replay.");
          start();
        })
        .catch(function () { result.textContent = "The mock did not answer."; })
        .then(function () { event.target.disabled = false; });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).textContent;
      var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy curl"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done); return; }
      var area = document.createElement("textarea");  // plain http on another host: no Clipboard API
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } finally { document.body.removeChild(area); }
    });
  });
})();
