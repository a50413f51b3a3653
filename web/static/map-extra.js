/* wetindex citizen site: what Leaflet draws from files of this site.
   - index map: warning polygons (one simplified file per language), the base map
     (roads, water, land use; buildings only when zoomed in) and place names;
   - place page: a small map of the place with the base map, the 48-hour maximum
     risk and, when the page was opened from a search, the address.
   Every URL is relative to this site; nothing is fetched from another host.
   No text lives here: names come from the page (translated at build). */
(function () {
  "use strict";
  if (!window.L) { return; }

  function getJSON(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.responseType = "json";
    xhr.onload = function () { if (xhr.status === 200 && xhr.response) { done(xhr.response); } };
    xhr.send();
  }

  var BASE_STYLE = {
    water: { color: "#6a9bc3", weight: 1, fillColor: "#a9cbe6", fillOpacity: 0.7 },
    landuse: { color: "#b5c99a", weight: 0, fillColor: "#dfe8cf", fillOpacity: 0.6 },
    roads: { color: "#555555", weight: 2, opacity: 0.9 },
    buildings: { color: "#6b5e55", weight: 1, fillColor: "#bfb2a6", fillOpacity: 0.9 }
  };

  function roadStyle(feature) {
    var kind = (feature.properties && feature.properties.kind) || "";
    var major = /main|primary|secondary|trunk|hoved|major/i.test(kind);
    return { color: major ? "#3d3d3d" : "#6e6e6e", weight: major ? 3.5 : 2, opacity: 0.9 };
  }

  // The base map lies between the hillshade (tile pane, 200) and the risk overlays
  // (overlay pane, 400), so risk colours are drawn over streets and houses.
  function addBasemap(map, files, minZoom, names, control) {
    if (!map.getPane("wxBase")) {
      map.createPane("wxBase");
      map.getPane("wxBase").style.zIndex = 350;
      map.getPane("wxBase").style.pointerEvents = "none";
    }
    ["water", "landuse", "roads"].forEach(function (layer) {
      if (!files[layer]) { return; }
      getJSON(files[layer], function (data) {
        var l = L.geoJSON(data, { pane: "wxBase", interactive: false,
          style: layer === "roads" ? roadStyle : BASE_STYLE[layer] }).addTo(map);
        if (control && names) { control.addOverlay(l, names[layer]); }
      });
    });
    if (files.buildings) {
      // Buildings come in tiles (an index of tile bounds); only tiles in view are loaded.
      var group = L.layerGroup(), tiles = null, loaded = {};
      var folder = files.buildings.replace(/[^\/]*$/, "");
      var update = function () {
        if (map.getZoom() < minZoom) { map.removeLayer(group); return; }
        group.addTo(map);
        if (!tiles) { return; }
        var view = map.getBounds();
        tiles.forEach(function (t) {
          if (loaded[t.u] || !view.intersects(L.latLngBounds(t.b))) { return; }
          loaded[t.u] = true;
          getJSON(folder + t.u, function (fc) {
            group.addLayer(L.geoJSON(fc, { pane: "wxBase", interactive: false,
              style: BASE_STYLE.buildings }));
          });
        });
      };
      getJSON(files.buildings, function (idx) { tiles = idx.tiles || []; update(); });
      map.on("zoomend moveend", update);
    }
  }

  function addLabels(map, labels, here) {
    if (!map.getPane("wxLabels")) {
      map.createPane("wxLabels");
      map.getPane("wxLabels").style.zIndex = 640;
    }
    labels.forEach(function (p) {
      L.marker(p.at, {
        pane: "wxLabels", keyboard: false, interactive: false,
        icon: L.divIcon({ className: "wx-place-label", html: "", iconSize: null })
      }).addTo(map).getElement().textContent = p.name;
    });
  }

  // --- the index map ---------------------------------------------------------
  var dataEl = document.getElementById("wx-mapdata");
  var reg = window.wetindexMap;
  if (dataEl && reg && reg.map) {
    var data = JSON.parse(dataEl.textContent);
    addBasemap(reg.map, data.basemap || {}, data.buildingsMinZoom, data.layerNames, reg.control);
    addLabels(reg.map, data.labels || []);
    if (data.warnings) {
      getJSON(data.warnings, function (fc) {
        if (!fc.features || !fc.features.length) { return; }
        var layer = L.geoJSON(fc, {
          style: function (f) { return f.properties.style; },
          onEachFeature: function (f, l) { l.bindTooltip(f.properties.label); }
        }).addTo(reg.map);
        if (reg.control) { reg.control.addOverlay(layer, data.warningsName); }
      });
    }
  }

  // --- the place page's map -------------------------------------------------
  var placeEl = document.getElementById("wx-placemap");
  var mapDiv = document.getElementById("place-map");
  if (placeEl && mapDiv) {
    var pm = JSON.parse(placeEl.textContent);
    var map = L.map(mapDiv, { zoomSnap: 0.25, scrollWheelZoom: false });
    map.attributionControl.setPrefix("Leaflet");
    map.fitBounds(pm.bounds, { padding: [6, 6] });
    L.imageOverlay(pm.hillshade, pm.images, { pane: "tilePane", alt: "" }).addTo(map);
    if (pm.maximum) {
      L.imageOverlay(pm.maximum, pm.images, { alt: "", className: "wx-risk-max" }).addTo(map);
    }
    addBasemap(map, pm.basemap || {}, pm.buildingsMinZoom, null, null);
    L.geoJSON(pm.outline, { interactive: false,
      style: { color: "#1a1a1a", weight: 3, fill: false, dashArray: "6 4" } }).addTo(map);
    var m = /(?:^|[#&])a=([^&]*)&ll=(-?[0-9.]+),(-?[0-9.]+)/.exec(location.hash);
    if (m) {
      var ll = [parseFloat(m[2]), parseFloat(m[3])];
      var label = decodeURIComponent(m[1]);
      L.marker(ll, { keyboard: false, alt: label, title: label }).addTo(map);
      map.setView(ll, 16);
      var line = document.getElementById("address-line");
      if (line) {
        line.textContent = line.getAttribute("data-text").replace("{address}", label);
        line.hidden = false;
      }
    }
  }
}());
