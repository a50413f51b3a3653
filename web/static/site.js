/* wetindex citizen site: hour-by-hour time control and the out-of-date check.
   No text lives here: every string shown comes from the page (translated at build). */
(function () {
  "use strict";

  // A static page cannot know that the pipeline stopped; the reader's clock can.
  // One hour of grace, so a run that is a little late is not called failed.
  var GRACE_MS = 3600 * 1000;
  var due = Date.parse(document.body.getAttribute("data-next-update") || "");
  if (!isNaN(due) && Date.now() > due + GRACE_MS) {
    var stale = document.getElementById("stale-banner");
    if (stale) { stale.hidden = false; }
    document.body.classList.add("forecast-stale");
  }

  var data = document.getElementById("wx-hours");
  if (!data) { return; }
  var hours = JSON.parse(data.textContent);
  var range = document.getElementById("time-range");
  var prev = document.getElementById("time-prev");
  var next = document.getElementById("time-next");
  var local = document.getElementById("time-local");
  var utc = document.getElementById("time-utc");
  var summary = document.getElementById("time-summary");
  var index = 0;

  function show(i) {
    index = Math.max(0, Math.min(hours.length - 1, i));
    var hour = hours[index];
    range.value = String(index);
    range.setAttribute("aria-valuetext", hour.label);
    local.textContent = hour.local;
    utc.textContent = "(" + hour.utc + ")";
    summary.textContent = hour.summary;
    summary.className = "hour-level-" + hour.level;
    // aria-disabled rather than disabled keeps keyboard focus on the button.
    prev.setAttribute("aria-disabled", String(index === 0));
    next.setAttribute("aria-disabled", String(index === hours.length - 1));
    var map = window.wetindexMap;
    // Only the shown hour's image is ever fetched: setUrl loads on demand.
    if (map && map.hourly) { map.hourly.setUrl(hour.url); }
  }

  prev.addEventListener("click", function () { show(index - 1); });
  next.addEventListener("click", function () { show(index + 1); });
  range.addEventListener("input", function () { show(parseInt(range.value, 10)); });
  show(0);
}());
