/* "Get alerts": fill the places, let the map set a point, send the sign-up to the API
   on this same origin (data-api), and say what happened in the live region. */
(function () {
  "use strict";
  var form = document.getElementById("signup-form");
  if (!form) { return; }
  var texts = JSON.parse(form.getAttribute("data-texts"));
  var api = form.getAttribute("data-api");
  var result = document.getElementById("signup-result");
  var select = document.getElementById("place");
  var pointFields = document.getElementById("point-fields");
  var lat = document.getElementById("lat"), lon = document.getElementById("lon");
  var radius = document.getElementById("radius");
  var area = null, places = [], map = null, marker = null;

  function number(input) {
    var v = parseFloat(String(input.value).replace(",", "."));
    return isFinite(v) ? v : null;
  }

  function showPoint() {
    if (!map) { return; }
    var la = number(lat), lo = number(lon);
    if (marker) { map.removeLayer(marker); marker = null; }
    if (la !== null && lo !== null) {
      marker = L.circle([la, lo], { radius: parseFloat(radius.value) }).addTo(map);
    }
  }

  function setupMap(data) {
    if (typeof L === "undefined") { return; }
    map = L.map("signup-map", { attributionControl: false });
    var layers = [];
    if (data.outline) { layers.push(L.geoJSON(data.outline, { style: { fill: false } })); }
    data.places.forEach(function (p) {
      layers.push(L.geoJSON(p.geometry, { style: { weight: 1, fillOpacity: 0.1 } })
        .bindTooltip(p.name));
    });
    var group = L.featureGroup(layers).addTo(map);
    if (layers.length) { map.fitBounds(group.getBounds()); } else { map.setView([56, 10], 7); }
    map.on("click", function (e) {
      select.value = "";
      pointFields.hidden = false;
      lat.value = e.latlng.lat.toFixed(5);
      lon.value = e.latlng.lng.toFixed(5);
      showPoint();
    });
  }

  fetch(form.getAttribute("data-places"), { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : { places: [] }; })
    .then(function (data) {
      area = data.area || null;
      places = data.places || [];
      places.forEach(function (p, i) {
        var option = document.createElement("option");
        option.value = String(i);
        option.textContent = p.name;
        select.appendChild(option);
      });
      setupMap(data);
    })
    .catch(function () { /* the point fields still work */ });

  select.addEventListener("change", function () {
    pointFields.hidden = select.value !== "";
    var name = document.getElementById("name");
    if (select.value !== "" && !name.value) { name.value = places[+select.value].name; }
  });
  [lat, lon, radius].forEach(function (el) { el.addEventListener("change", showPoint); });

  function shape() {
    if (select.value !== "") {
      var g = places[+select.value].geometry;
      var ring = g.type === "Polygon" ? g.coordinates[0] : g.coordinates[0][0];
      return { crs: "EPSG:4326", polygon: ring };
    }
    var la = number(lat), lo = number(lon);
    if (la === null || lo === null) { return null; }
    return { crs: "EPSG:4326", point: [lo, la], radius_m: parseFloat(radius.value) };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var where = shape();
    if (!where) { result.textContent = texts.need_point; return; }
    var level = form.querySelector("input[name=level]:checked").value;
    var body = { area: area, name: document.getElementById("name").value.trim(),
                 email: document.getElementById("email").value.trim(),
                 language: form.getAttribute("data-lang"), level: level, shape: where };
    result.textContent = texts.sending;
    fetch(api + "subscriptions", { method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        if (r.status === 202) { result.textContent = texts.accepted; form.reset(); return; }
        if (r.status === 429) { result.textContent = texts.too_many; return; }
        if (r.status === 422) {
          return r.json().then(function (j) {
            var d = typeof j.detail === "string" ? j.detail : (j.detail || []).map(function (e) {
              return (e.loc || []).slice(1).join(".") + ": " + e.msg; }).join("; ");
            result.textContent = texts.invalid.replace("{detail}", d);
          });
        }
        result.textContent = texts.failed;
      })
      .catch(function () { result.textContent = texts.failed; });
  });
}());
