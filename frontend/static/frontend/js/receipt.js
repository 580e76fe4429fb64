// The receipt's small map: the pickup, the drop-off and the line between them.

(() => {
  "use strict";

  const W = window.WildRydes;
  const box = document.getElementById("receipt-map");
  const route = document.querySelector("[data-receipt-route]").dataset;

  const map = W.createMap(box, { interactive: false });
  const pickup = [Number(route.pickupLatitude), Number(route.pickupLongitude)];
  const points = [pickup];
  L.marker(pickup, { icon: W.pinIcon("pickup"), keyboard: false, interactive: false, title: "Pickup" }).addTo(map);
  if (route.dropoffLatitude) {
    const dropoff = [Number(route.dropoffLatitude), Number(route.dropoffLongitude)];
    points.push(dropoff);
    L.marker(dropoff, { icon: W.pinIcon("dropoff"), keyboard: false, interactive: false, title: "Drop-off" }).addTo(map);
    L.polyline(points, { color: "#c2185b", weight: 4, opacity: 0.85, interactive: false }).addTo(map);
  }
  let noteRoom = 0; // the bottom of the map the no-tiles note takes (map.js), when it shows
  const frame = () =>
    points.length > 1
      ? map.fitBounds(L.latLngBounds(points), { paddingTopLeft: [30, 56], paddingBottomRight: [30, Math.max(20, noteRoom + 8)], maxZoom: 16, animate: false })
      : map.setView(pickup, 15, { animate: false });
  frame();
  box.addEventListener("map:resized", frame);
  box.addEventListener("map:tiles-note", (event) => {
    noteRoom = event.detail;
    frame();
  });
  box.dataset.mapReady = "true";
})();
