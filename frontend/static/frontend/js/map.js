// The maps of the rider pages, on the vendored Leaflet. Everything drawn from data (unicorn
// names, labels) is built as DOM nodes with textContent, never as HTML strings.

(() => {
  "use strict";

  const { element } = window.WildRydes;

  // A map in `container`, configured by its data-* attributes (see _map.html).
  function createMap(container, { interactive = true } = {}) {
    const data = container.dataset;
    const center = [Number(data.centerLatitude), Number(data.centerLongitude)];
    const map = L.map(container, {
      center,
      zoom: Number(data.zoom || 14),
      minZoom: 3,
      maxZoom: 19,
      zoomControl: interactive,
      dragging: interactive,
      scrollWheelZoom: interactive,
      doubleClickZoom: interactive,
      boxZoom: interactive,
      keyboard: interactive,
      touchZoom: interactive,
      attributionControl: true,
    });
    map.attributionControl.setPrefix(false);
    if (data.tilesUrl) {
      const tiles = L.tileLayer(data.tilesUrl, { maxZoom: 19, referrerPolicy: "strict-origin", attribution: "" }).addTo(map);
      noteMissingTiles(map, tiles);
      // Plain text: the attribution control writes HTML.
      const credit = element("span", { text: data.attribution || "" });
      map.attributionControl.getContainer().append(credit);
    }
    if (interactive) L.control.scale({ imperial: false }).addTo(map);
    // The zoom the rider sees, on the container (data-map-zoom) for whoever checks the view.
    const showZoom = () => {
      container.dataset.mapZoom = String(map.getZoom());
    };
    map.on("zoomend", showZoom);
    showZoom();
    // The container's size settles with the page's layout (and changes with it): keep Leaflet's
    // idea of it right, or pins and lines are drawn off their places.
    new ResizeObserver(() => {
      map.invalidateSize();
      container.dispatchEvent(new CustomEvent("map:resized"));
    }).observe(container);
    return map;
  }

  // Tiles that fail (offline, blocked) leave a plain canvas: a quiet note in the map's corner
  // says so, and goes when tiles load again. It lets taps through to the map. The container
  // hears "map:tiles-note" (detail: the room it takes at the bottom, in px) when it comes or
  // goes, for a page that frames its pins to keep them clear of it.
  const NO_TILES = "The map could not load its streets; your pins and unicorns still show.";
  function noteMissingTiles(map, tiles) {
    let note = null;
    const show = (shown) => {
      const text = note.getContainer();
      if (text.hidden === !shown) return;
      text.hidden = !shown;
      const room = shown ? map.getContainer().getBoundingClientRect().bottom - text.getBoundingClientRect().top : 0;
      map.getContainer().dispatchEvent(new CustomEvent("map:tiles-note", { detail: Math.ceil(room) }));
    };
    tiles.on("tileerror", () => {
      if (!note) {
        note = L.control({ position: "bottomright" });
        note.onAdd = () => element("p", { className: "map-tiles-note", text: NO_TILES, attrs: { hidden: "" } });
        note.addTo(map);
      }
      show(true);
    });
    tiles.on("tileload", () => {
      if (note) show(false);
    });
  }

  // The service area from the container's data-area-* attributes, or null.
  function serviceArea(container) {
    const { areaLatitude, areaLongitude, areaRadiusKm } = container.dataset;
    if (!areaLatitude || !areaRadiusKm) return null;
    return { center: L.latLng(Number(areaLatitude), Number(areaLongitude)), radiusM: Number(areaRadiusKm) * 1000 };
  }

  function drawServiceArea(map, area) {
    if (!area) return null;
    return L.circle(area.center, {
      radius: area.radiusM,
      color: "#7b3fe4",
      weight: 2,
      dashArray: "6 6",
      fill: false,
      interactive: false,
    }).addTo(map);
  }

  // A map pin: "pickup" or "dropoff".
  function pinIcon(kind) {
    const pin = element("span", { className: `wr-pin wr-pin-${kind}` }, [element("span", { className: "wr-pin-dot" })]);
    return L.divIcon({ className: `wr-marker wr-marker-${kind}`, html: pin, iconSize: [30, 42], iconAnchor: [15, 42] });
  }

  // A unicorn on the map; `label` (its name, or nothing) is set as text.
  function unicornIcon(iconUrl, { label = "", small = false } = {}) {
    const image = element("img", { attrs: { src: iconUrl, alt: "" } });
    const children = [element("span", { className: "wr-unicorn-disc" }, [image])];
    if (label) children.push(element("span", { className: "wr-unicorn-label", text: label }));
    const size = small ? 32 : 46;
    return L.divIcon({
      className: `wr-marker ${small ? "wr-marker-nearby" : "wr-marker-unicorn"}`,
      html: element("span", { className: "wr-unicorn" }, children),
      iconSize: [size, size],
      // Beside its point rather than on it, so on arrival it stands next to the pickup pin.
      iconAnchor: small ? [size / 2, size / 2] : [-12, size - 4],
    });
  }

  const latLng = (point) => [point.latitude, point.longitude];

  window.WildRydes = Object.assign(window.WildRydes || {}, {
    createMap,
    serviceArea,
    drawServiceArea,
    pinIcon,
    unicornIcon,
    latLng,
  });
})();
