// 挂图作战: the units on a map (reports/map_views.py, docs/map.md). Each view of the map asks the
// server for its box at its zoom; the answer is grid cells with counts (zoomed out) or the units
// themselves (few in view). Units are coloured by status, those with an overdue finding ringed;
// a click on a unit opens it, on a cell zooms in. Without a tile server the map draws the
// townships' and villages' outlines (import_outlines) over a plain grid.
(function () {
  "use strict";
  var holder = document.getElementById("unit-map");
  var configNode = document.getElementById("map-config");
  if (!holder || !configNode || !window.L) return;
  var config = JSON.parse(configNode.textContent);
  var labels = config.labels;
  var COLOURS = { open: "#e8710a", rectifying: "#1e66c4", rectified: "#1a7f37", relapsed: "#c62828" };
  var ORDER = ["relapsed", "open", "rectifying", "rectified"];

  var map = L.map(holder, { preferCanvas: false, zoomControl: true, attributionControl: true, minZoom: 3 });
  map.attributionControl.setPrefix("Leaflet");
  if (config.tiles.url) {
    L.tileLayer(config.tiles.url, {
      maxZoom: config.tiles.max_zoom,
      attribution: config.tiles.attribution,
      subdomains: "abc",
    }).addTo(map);
  } else {
    // A plain grid: the map stays readable without tiles.
    var Grid = L.GridLayer.extend({
      createTile: function () {
        var tile = document.createElement("div");
        tile.className = "map-grid-tile";
        return tile;
      },
    });
    new Grid({ maxZoom: 22 }).addTo(map);
  }
  map.setMaxZoom(config.tiles.url ? config.tiles.max_zoom : 20);

  var outlineLayer = L.geoJSON(null, {
    style: function (feature) {
      var township = feature.properties.kind === "township";
      return { color: township ? "#455a64" : "#78909c", weight: township ? 2 : 1, fill: false, dashArray: township ? null : "4 3" };
    },
    onEachFeature: function (feature, layer) {
      var name = document.createElement("span");
      name.textContent = feature.properties.name;
      layer.bindTooltip(name, { sticky: true, className: "outline-name" });
    },
    interactive: true,
  }).addTo(map);
  var dataLayer = L.layerGroup().addTo(map);

  var box = config.extent.box;
  if (box) {
    map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { maxZoom: 16, padding: [20, 20] });
  } else {
    map.setView([30.25, 120.16], 5);
  }

  fetch(config.outlines, { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (collection) {
      if (!collection || !collection.features.length) return;
      outlineLayer.addData(collection);
      if (!box) map.fitBounds(outlineLayer.getBounds(), { padding: [20, 20] });
    })
    .catch(function () {});

  function status(text) {
    holder.setAttribute("data-state", text);
  }

  function unitUrl(id) {
    return config.unit.replace("{id}", String(id));
  }

  function drawPoint(point) {
    var marker = L.circleMarker([point.lat, point.lng], {
      radius: 8,
      color: point.overdue ? "#111" : "#fff",
      weight: point.overdue ? 3 : 1.5,
      fillColor: COLOURS[point.status],
      fillOpacity: 0.9,
      className: "unit-point status-" + point.status + (point.overdue ? " overdue" : ""),
    });
    var tip = document.createElement("span");
    tip.textContent = point.name + " · " + labels[point.status] + (point.overdue ? " · " + labels.overdue : "");
    marker.bindTooltip(tip);
    marker.on("click", function () { window.location.href = unitUrl(point.id); });
    marker.addTo(dataLayer);
  }

  function drawCell(cell) {
    var size = Math.round(26 + 8 * Math.log10(cell.n));
    var node = document.createElement("div");
    node.className = "map-cell";
    var stops = [];
    var from = 0;
    ORDER.forEach(function (key) {
      if (!cell[key]) return;
      var to = from + (360 * cell[key]) / cell.n;
      stops.push(COLOURS[key] + " " + from.toFixed(1) + "deg " + to.toFixed(1) + "deg");
      from = to;
    });
    node.style.background = "conic-gradient(" + stops.join(", ") + ")";
    var count = document.createElement("span");
    count.className = "map-cell-count";
    count.textContent = cell.n;
    node.appendChild(count);
    if (cell.overdue) {
      var flag = document.createElement("span");
      flag.className = "map-cell-overdue";
      flag.textContent = cell.overdue;
      flag.title = labels.overdue;
      node.appendChild(flag);
    }
    node.title = cell.n + " " + labels.units + " · " + labels.zoom_in;
    var marker = L.marker([cell.lat, cell.lng], {
      icon: L.divIcon({ html: node, className: "map-cell-icon", iconSize: [size, size] }),
      keyboard: true,
      title: cell.n + " " + labels.units,
    });
    marker.on("click", function () { map.setView([cell.lat, cell.lng], Math.min(map.getZoom() + 2, map.getMaxZoom())); });
    marker.addTo(dataLayer);
  }

  var pending = null;
  var timer = null;
  function load() {
    if (pending) pending.abort();
    pending = window.AbortController ? new AbortController() : null;
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(",");
    var url = config.data + (config.data.indexOf("?") < 0 ? "?" : "&") + "bbox=" + bbox + "&zoom=" + map.getZoom();
    status("loading");
    fetch(url, { credentials: "same-origin", signal: pending ? pending.signal : undefined })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (answer) {
        dataLayer.clearLayers();
        answer.cells.forEach(drawCell);
        answer.points.forEach(drawPoint);
        holder.setAttribute("data-mode", answer.mode);
        holder.setAttribute("data-total", answer.total);
        status("ready");
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") return;
        status("failed");
        holder.setAttribute("title", labels.failed);
      });
  }
  map.on("moveend", function () {
    clearTimeout(timer);
    timer = setTimeout(load, 120);
  });
  load();
})();
