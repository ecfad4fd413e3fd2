/* clubbot staff console, a campaign's page: while it is scheduled or sending, poll its progress
 * (the campaign GET of the staff API, through /console/campaigns/ID/progress) and move the bar;
 * reload the page once the status changes, so the actions and figures follow. */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var status = box.getAttribute("data-status");
  var words = JSON.parse(box.getAttribute("data-words") || "{}");
  if (status !== "scheduled" && status !== "sending") { return; }
  var bar = document.getElementById("progress-bar");
  var label = document.getElementById("progress-text");
  var badge = document.getElementById("campaign-status");
  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { return; }
        bar.value = p.percent;
        bar.textContent = p.percent + "%";
        label.textContent = p.percent + "% · " + p.sent + " / " + p.recipients;
        badge.textContent = words[p.status] || p.status;
        box.setAttribute("data-live-status", p.status);
        if (p.status !== status) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
