// The operations dashboard: refresh the live counts, and draw the fleet and the rides in
// progress on the map (the rider pages' vendored Leaflet, configured by #fleet-map's data-*).
// Markers are vector circles, so they show even when no map tile loads.

(() => {
  "use strict";

  const root = document.querySelector("[data-dashboard]");
  if (!root) return;

  // ---- Live counts ------------------------------------------------------------------------

  const LIVE_EVERY_MS = 15000;
  const liveStatus = root.querySelector("[data-live-status]");

  async function refreshCounts() {
    if (document.visibilityState === "hidden") return;
    try {
      const response = await fetch(root.dataset.liveUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const counts = await response.json();
      for (const [key, value] of Object.entries(counts)) {
        const cell = root.querySelector(`[data-live-count="${key}"]`);
        if (cell) cell.textContent = value.toLocaleString();
      }
      const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
      if (liveStatus) liveStatus.textContent = `live, updated ${time}`;
    } catch (error) {
      if (liveStatus) liveStatus.textContent = "could not refresh; retrying";
    }
  }

  window.setInterval(refreshCounts, LIVE_EVERY_MS);

  // ---- Map --------------------------------------------------------------------------------

  const COLOURS = { on_ride: "#c2185b", free: "#2e8b57", off_duty: "#9a93a3" };
  const STATES = { on_ride: "on a ride", free: "free", off_duty: "off duty" };

  function tip(text) {
    const span = document.createElement("span");
    span.textContent = text; // names come from applicants: never parsed as HTML
    return span;
  }

  function drawFleet(map) {
    const source = document.getElementById("fleet-map-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const bounds = [];

    for (const ride of data.rides) {
      const route = [ride.from, ride.pickup, ...(ride.dropoff ? [ride.dropoff] : [])];
      L.polyline(route, { color: COLOURS.on_ride, weight: 2, opacity: 0.7, dashArray: "5 7", interactive: false, className: "wr-ride-route" }).addTo(map);
      L.circleMarker(ride.pickup, { radius: 5, color: COLOURS.on_ride, weight: 3, fillColor: "#ffffff", fillOpacity: 1, className: "wr-ride-pickup" })
        .bindTooltip(tip(`Pickup for ${ride.unicorn}`), { className: "wr-map-tip" })
        .addTo(map);
      bounds.push(ride.pickup);
    }

    // Busy unicorns last, so they sit on top.
    const order = { off_duty: 0, free: 1, on_ride: 2 };
    const unicorns = [...data.unicorns].sort((a, b) => order[a.state] - order[b.state]);
    for (const unicorn of unicorns) {
      L.circleMarker([unicorn.lat, unicorn.lng], {
        radius: unicorn.state === "on_ride" ? 8 : 7,
        color: "#ffffff",
        weight: 2,
        fillColor: COLOURS[unicorn.state],
        fillOpacity: 0.95,
        className: `wr-fleet-marker wr-fleet-${unicorn.state}`,
      })
        .bindTooltip(tip(`${unicorn.name} (${unicorn.color}), ${STATES[unicorn.state]}`), { className: "wr-map-tip" })
        .addTo(map);
      bounds.push([unicorn.lat, unicorn.lng]);
    }

    if (bounds.length) map.fitBounds(bounds, { padding: [28, 28], maxZoom: 15 });
    map.getContainer().setAttribute("data-map-ready", "");
  }

  // Tiles that fail (offline, blocked) leave a plain canvas: a quiet note in the map's free top
  // corner says so, and goes when tiles load again (as on the rider pages' maps).
  function noteMissingTiles(map, tiles) {
    let note = null;
    tiles.on("tileerror", () => {
      if (!note) {
        note = L.control({ position: "topright" });
        note.onAdd = () => {
          const text = document.createElement("p");
          text.className = "wr-map-tiles-note";
          text.textContent = "The map could not load its streets; the unicorns and pickups still show.";
          return text;
        };
        note.addTo(map);
      }
      note.getContainer().hidden = false;
    });
    tiles.on("tileload", () => {
      if (note) note.getContainer().hidden = true;
    });
  }

  function createMap(container) {
    const data = container.dataset;
    const map = L.map(container, {
      center: [Number(data.centerLatitude), Number(data.centerLongitude)],
      zoom: 14,
      minZoom: 3,
      maxZoom: 19,
    });
    map.attributionControl.setPrefix(false);
    if (data.tilesUrl) {
      const tiles = L.tileLayer(data.tilesUrl, { maxZoom: 19, referrerPolicy: "strict-origin", attribution: "" }).addTo(map);
      noteMissingTiles(map, tiles);
      const credit = document.createElement("span");
      credit.textContent = data.attribution || ""; // plain text: the control writes HTML
      map.attributionControl.getContainer().append(credit);
    }
    L.control.scale({ imperial: false }).addTo(map);
    return map;
  }

  // Leaflet and this script are both deferred: they have run by DOMContentLoaded.
  function start() {
    const container = document.getElementById("fleet-map");
    if (container && window.L) drawFleet(createMap(container));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
})();
