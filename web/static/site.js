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

  setupSearch();

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

  var link = document.getElementById("hour-link");
  function showAndLink(i) {
    show(i);
    // A permalink to the shown hour: #t=<hours ahead>; replaceState keeps Back working.
    var hash = "#t=" + hours[index].lead;
    if (link) { link.setAttribute("href", hash); }
    if (location.hash !== hash && window.history && history.replaceState) {
      history.replaceState(null, "", hash);
    }
  }

  prev.addEventListener("click", function () { showAndLink(index - 1); });
  next.addEventListener("click", function () { showAndLink(index + 1); });
  range.addEventListener("input", function () { showAndLink(parseInt(range.value, 10)); });
  var wanted = /(?:^|[#&])t=(\d+)/.exec(location.hash);
  var start = 0;
  if (wanted) {
    for (var k = 0; k < hours.length; k++) {
      if (hours[k].lead === parseInt(wanted[1], 10)) { start = k; }
    }
  }
  // The map's own script comes after this one: show the chosen hour once it has run.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { show(start); });
  } else {
    show(start);
  }

  // --- search over search-index.json, in this browser only -------------------
  function setupSearch() {
    var box = document.querySelector(".search");
    var input = document.getElementById("search-input");
    if (!box || !input) { return; }
    var list = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    var locate = document.getElementById("locate-btn");
    var here = box.getAttribute("data-here") || "";
    var index = null, waiting = [];

    function fold(s) {
      // Case and accents do not matter; æ ø å are kept (and aa matches å).
      return s.toLowerCase().replace(/aa/g, "å").replace(/[,.]/g, " ")
        .normalize("NFKD").replace(/[\u0300-\u0301\u0308]/g, "").replace(/\s+/g, " ").trim();
    }
    function load(done) {
      if (index) { done(); return; }
      waiting.push(done);
      if (waiting.length > 1) { return; }
      status.textContent = status.getAttribute("data-loading");
      var xhr = new XMLHttpRequest();
      xhr.open("GET", box.getAttribute("data-index"));
      xhr.responseType = "json";
      xhr.onload = function () {
        var raw = xhr.response || { places: [], addresses: [] };
        index = [];
        raw.places.forEach(function (p) {
          index.push({ label: p.n, key: fold(p.n), kind: "place", href: here + "places/" + p.s + ".html",
                       bounds: p.b });
        });
        raw.addresses.forEach(function (a) {
          // a = [label, index of its place in raw.places, lat, lon]
          index.push({ label: a[0], key: fold(a[0]), kind: "address",
                       href: here + "places/" + raw.places[a[1]].s + ".html#a=" +
                             encodeURIComponent(a[0]) +
                             "&ll=" + a[2] + "," + a[3] });
        });
        status.textContent = "";
        var w = waiting; waiting = [];
        w.forEach(function (f) { f(); });
      };
      xhr.send();
    }
    function find(q) {
      var words = fold(q).split(" ").filter(Boolean);
      if (!words.length) { return []; }
      var hits = [];
      for (var i = 0; i < index.length && hits.length < 8; i++) {
        var key = index[i].key, ok = true;
        for (var j = 0; j < words.length; j++) {
          // every word must start a word of the entry ("stor 12" finds "Storegade 12")
          if (key.indexOf(words[j]) !== 0 && key.indexOf(" " + words[j]) < 0) { ok = false; break; }
        }
        if (ok) { hits.push(index[i]); }
      }
      return hits;
    }
    function render(hits) {
      list.textContent = "";
      hits.forEach(function (h) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = h.href;
        a.textContent = h.label;
        var kind = document.createElement("span");
        kind.className = "result-kind";
        kind.textContent = " (" + status.getAttribute("data-" + h.kind) + ")";
        a.appendChild(kind);
        li.appendChild(a);
        list.appendChild(li);
      });
      status.textContent = hits.length ?
        status.getAttribute("data-count").replace("{count}", hits.length) :
        status.getAttribute("data-none");
    }
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (!input.value.trim()) { list.textContent = ""; status.textContent = ""; return; }
        load(function () { render(find(input.value)); });
      }, 120);
    });
    input.addEventListener("focus", function () { load(function () {}); });
    input.addEventListener("keydown", function (e) {
      var first = list.querySelector("a");
      if (e.key === "ArrowDown" && first) { e.preventDefault(); first.focus(); }
      if (e.key === "Enter" && first) { e.preventDefault(); first.click(); }
    });
    list.addEventListener("keydown", function (e) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var i = links.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < links.length - 1) { e.preventDefault(); links[i + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? links[i - 1] : input).focus(); }
      if (e.key === "Escape") { input.focus(); }
    });

    if (!locate) { return; }
    if (!navigator.geolocation) { locate.hidden = true; return; }
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        load(function () {
          var lat = pos.coords.latitude, lon = pos.coords.longitude, best = null;
          index.forEach(function (p) {
            if (p.kind !== "place") { return; }
            var b = p.bounds;  // [[south, west], [north, east]]
            if (lat >= b[0][0] && lat <= b[1][0] && lon >= b[0][1] && lon <= b[1][1]) {
              var size = (b[1][0] - b[0][0]) * (b[1][1] - b[0][1]);
              if (!best || size < best.size) { best = { p: p, size: size }; }
            }
          });
          if (!best) { status.textContent = status.getAttribute("data-outside"); return; }
          location.href = best.p.href + "#a=" + encodeURIComponent("\u2316") + "&ll=" + lat + "," + lon;
        });
      }, function () { status.textContent = status.getAttribute("data-nolocation"); },
      { enableHighAccuracy: true, timeout: 15000 });
    });
  }
}());
