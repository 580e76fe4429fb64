// The ride page: pick a pickup (and a drop-off) on the map, see the fare from the estimate
// API, request a unicorn, watch it come, then complete or cancel. Every number shown
// (fare, ETA, discount) comes from the API.

(() => {
  "use strict";

  const {
    ApiError,
    api,
    newIdempotencyKey,
    announce,
    clearAnnouncement,
    describeDiscount,
    describeEta,
    formatMoney,
    formatPoint,
    pronoun,
    setBusy,
  } = window.WildRydes;

  const ARRIVAL_ANIMATION_MAX_MS = 3000; // the real ETA is minutes; the demo shows it in seconds
  const RIDE_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000";

  const root = document.querySelector("[data-ride-page]");
  const $ = (selector) => root.querySelector(selector);
  const ui = {
    planner: $("[data-planner]"),
    modes: root.querySelectorAll('input[name="map-mode"]'),
    pickupText: $("[data-pickup-text]"),
    dropoffText: $("[data-dropoff-text]"),
    placeCenter: $("[data-place-center]"),
    clearDropoff: $("[data-clear-dropoff]"),
    estimateAmount: $("[data-estimate-amount]"),
    estimateDetail: $("[data-estimate-detail]"),
    request: $("[data-request]"),
    status: $("[data-ride-status]"),
    card: $("[data-ride-card]"),
    message: $("[data-ride-message]"),
    progress: $("[data-progress]"),
    unicorn: $("[data-ride-unicorn]"),
    eta: $("[data-ride-eta]"),
    discount: $("[data-ride-discount]"),
    fare: $("[data-ride-fare]"),
    actions: $("[data-ride-actions]"),
    complete: $("[data-complete]"),
    cancel: $("[data-cancel]"),
    done: $("[data-ride-done]"),
    newRide: $("[data-new-ride]"),
  };

  const state = {
    map: null,
    pickup: null,
    dropoff: null,
    markers: {},
    route: null,
    ride: null,
    estimateSeq: 0,
    bookingKey: null, // reused only when a request got no answer, so a retry cannot book twice
    animation: 0,
    retryTimer: 0,
  };

  const rideUrl = (id, action = "") => root.dataset.rideUrl.replace(RIDE_ID_PLACEHOLDER, id) + (action ? `${action}/` : "");

  // ---- Map -------------------------------------------------------------------------------

  function pinIcon(kind) {
    const fill = kind === "pickup" ? "#c2185b" : "#2a1840";
    const svg = `<svg class="wr-pin" viewBox="0 0 32 44" aria-hidden="true"><path d="M16 1C8 1 1.5 7.3 1.5 15.3 1.5 26 16 43 16 43s14.5-17 14.5-27.7C30.5 7.3 24 1 16 1z" fill="${fill}" stroke="#fff" stroke-width="2"/><circle cx="16" cy="15.5" r="5.5" fill="#fff"/></svg>`;
    return L.divIcon({ className: `wr-marker wr-marker-${kind}`, html: svg, iconSize: [32, 44], iconAnchor: [16, 43], tooltipAnchor: [0, -40] });
  }

  function unicornIcon() {
    const img = `<span class="wr-unicorn"><img src="${root.dataset.unicornIcon}" alt=""></span>`;
    // Drawn just up and right of its point, so on arrival it stands beside the pickup pin.
    return L.divIcon({ className: "wr-marker wr-marker-unicorn", html: img, iconSize: [48, 48], iconAnchor: [-18, 46], tooltipAnchor: [42, -46] });
  }

  function toPoint(latlng) {
    const wrapped = latlng.wrap();
    const round = (value) => Math.round(value * 1e6) / 1e6;
    return { latitude: round(wrapped.lat), longitude: round(wrapped.lng) };
  }

  function setMarker(kind, point) {
    const latlng = [point.latitude, point.longitude];
    const existing = state.markers[kind];
    if (existing) return existing.setLatLng(latlng);
    const label = kind === "pickup" ? "Pickup" : "Drop-off";
    const marker = L.marker(latlng, { icon: pinIcon(kind), draggable: !state.ride, keyboard: false, title: label, alt: label });
    marker.on("dragend", () => place(kind, toPoint(marker.getLatLng())));
    state.markers[kind] = marker.addTo(state.map);
    return marker;
  }

  function removeMarker(kind) {
    state.markers[kind]?.remove();
    delete state.markers[kind];
  }

  function mode() {
    return [...ui.modes].find((input) => input.checked)?.value ?? "pickup";
  }

  function setMode(value) {
    for (const input of ui.modes) input.checked = input.value === value;
  }

  function place(kind, point) {
    if (state.ride) return;
    const first = kind === "pickup" && !state.pickup;
    state[kind] = point;
    state.bookingKey = null;
    setMarker(kind, point);
    renderTrip();
    if (first) {
      setMode("dropoff");
      announce(ui.status, "Pickup set. Click the map again to add a drop-off (optional), or request your unicorn.", "success");
    } else {
      clearAnnouncement(ui.status);
    }
    refreshEstimate();
  }

  function renderTrip() {
    ui.pickupText.textContent = state.pickup ? formatPoint(state.pickup) : "Not set yet";
    ui.dropoffText.textContent = state.dropoff ? formatPoint(state.dropoff) : "None (flat fare)";
    ui.clearDropoff.hidden = !state.dropoff;
    ui.request.disabled = !state.pickup || Boolean(state.retryTimer);
  }

  // ---- Fare estimate ---------------------------------------------------------------------

  function tripBody() {
    return state.dropoff ? { pickup: state.pickup, dropoff: state.dropoff } : { pickup: state.pickup };
  }

  async function refreshEstimate() {
    const seq = ++state.estimateSeq;
    ui.estimateAmount.textContent = "…";
    ui.estimateDetail.textContent = "Working out your fare…";
    try {
      const estimate = await api.post(root.dataset.estimateUrl, tripBody());
      if (seq !== state.estimateSeq) return;
      ui.estimateAmount.textContent = formatMoney(estimate.fare);
      ui.estimateDetail.textContent =
        estimate.distance_km == null
          ? "Flat fare: no drop-off set. Promotions may lower it."
          : `For a ${estimate.distance_km} km trip. Promotions may lower it.`;
    } catch (error) {
      if (seq !== state.estimateSeq) return;
      ui.estimateAmount.textContent = "—";
      ui.estimateDetail.textContent = "No estimate right now.";
      announce(ui.status, error.message, "error");
    }
  }

  // ---- Booking ---------------------------------------------------------------------------

  function waitBeforeRetry(seconds) {
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        clearInterval(state.retryTimer);
        state.retryTimer = 0;
        ui.request.textContent = "Request Unicorn";
        renderTrip();
        return;
      }
      ui.request.textContent = `Try again in ${left} s`;
      left -= 1;
    };
    clearInterval(state.retryTimer);
    state.retryTimer = setInterval(tick, 1000);
    ui.request.disabled = true;
    tick();
  }

  async function requestRide() {
    if (!state.pickup || state.ride) return;
    clearAnnouncement(ui.status);
    state.bookingKey ??= newIdempotencyKey();
    setBusy(ui.request, true, "Finding your unicorn…");
    try {
      const ride = await api.post(root.dataset.ridesUrl, tripBody(), { headers: { "Idempotency-Key": state.bookingKey } });
      state.bookingKey = null;
      setBusy(ui.request, false);
      showRide(ride, { animate: true });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status) state.bookingKey = null;
      setBusy(ui.request, false);
      announce(ui.status, error.message, "error");
      if (error.retryAfter) waitBeforeRetry(error.retryAfter);
    }
  }

  // ---- The ride --------------------------------------------------------------------------

  function showRide(ride, { animate }) {
    state.ride = ride;
    state.pickup = ride.pickup;
    state.dropoff = ride.dropoff;
    ui.planner.hidden = true;
    ui.card.hidden = false;
    ui.actions.hidden = false;
    ui.done.hidden = true;
    ui.complete.disabled = true;
    ui.cancel.disabled = false;

    const { unicorn } = ride;
    ui.unicorn.textContent = `${unicorn.name} (${unicorn.color})`;
    ui.eta.textContent = describeEta(ride.eta_seconds);
    ui.discount.textContent = describeDiscount(ride.discount_multiplier);
    ui.fare.textContent = formatMoney(ride.fare);

    for (const kind of ["pickup", "dropoff"]) {
      if (ride[kind]) setMarker(kind, ride[kind]).dragging?.disable();
      else removeMarker(kind);
    }
    const start = [unicorn.start.latitude, unicorn.start.longitude];
    const pickup = [ride.pickup.latitude, ride.pickup.longitude];
    state.route?.remove();
    state.route = L.polyline([start, pickup], { color: "#c2185b", weight: 3, dashArray: "6 8", opacity: 0.8 }).addTo(state.map);
    state.markers.unicorn?.remove();
    state.markers.unicorn = L.marker(start, { icon: unicornIcon(), keyboard: false, interactive: false, zIndexOffset: 1000 })
      .bindTooltip(unicorn.name, { permanent: true, direction: "top", className: "wr-tooltip" })
      .addTo(state.map);
    state.map.fitBounds(L.latLngBounds([start, pickup, ...(ride.dropoff ? [[ride.dropoff.latitude, ride.dropoff.longitude]] : [])]), {
      padding: [60, 60],
      maxZoom: 16,
    });

    ui.message.textContent = `${unicorn.name}, your ${unicorn.color} unicorn, is on ${pronoun(unicorn.gender)} way.`;
    if (animate) travel(start, pickup, Math.min(ride.eta_seconds * 1000, ARRIVAL_ANIMATION_MAX_MS));
    else arrived();
  }

  function travel(from, to, duration) {
    cancelAnimationFrame(state.animation);
    const began = performance.now();
    const step = (now) => {
      const t = Math.min(1, (now - began) / duration);
      const eased = t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
      state.markers.unicorn.setLatLng([from[0] + (to[0] - from[0]) * eased, from[1] + (to[1] - from[1]) * eased]);
      ui.progress.style.width = `${Math.round(t * 100)}%`;
      if (t < 1) state.animation = requestAnimationFrame(step);
      else arrived();
    };
    state.animation = requestAnimationFrame(step);
  }

  function arrived() {
    const { unicorn, pickup } = state.ride;
    state.markers.unicorn.setLatLng([pickup.latitude, pickup.longitude]);
    state.route?.remove();
    ui.progress.style.width = "100%";
    ui.message.textContent = `${unicorn.name} has arrived. Giddy up!`;
    ui.eta.textContent = "Here now";
    ui.complete.disabled = false;
  }

  async function finish(action) {
    const ride = state.ride;
    const button = action === "complete" ? ui.complete : ui.cancel;
    clearAnnouncement(ui.status);
    setBusy(button, true, action === "complete" ? "Completing…" : "Cancelling…");
    try {
      const answer = await api.post(rideUrl(ride.id, action));
      cancelAnimationFrame(state.animation);
      state.ride = answer;
      ui.actions.hidden = true;
      ui.done.hidden = false;
      if (answer.status === "completed") {
        ui.message.textContent = `Ride complete. Thanks for riding with ${answer.unicorn.name}!`;
        ui.eta.textContent = "Arrived";
        ui.fare.textContent = formatMoney(answer.fare);
        announce(ui.status, `You paid ${formatMoney(answer.fare)}. The ride is in your history.`, "success");
      } else {
        ui.message.textContent = `Ride cancelled. ${answer.unicorn.name} is free for another rider.`;
        ui.eta.textContent = "Cancelled";
        announce(ui.status, "Your ride is cancelled. You were not charged.", "success");
      }
      ui.newRide.focus();
    } catch (error) {
      announce(ui.status, error.message, "error");
    } finally {
      setBusy(button, false);
    }
  }

  function planAnother() {
    cancelAnimationFrame(state.animation);
    state.ride = null;
    state.route?.remove();
    for (const kind of ["unicorn", "pickup", "dropoff"]) removeMarker(kind);
    state.pickup = state.dropoff = null;
    setMode("pickup");
    ui.card.hidden = true;
    ui.planner.hidden = false;
    ui.progress.style.width = "0";
    ui.estimateAmount.textContent = "—";
    ui.estimateDetail.textContent = "Set a pickup to see your fare.";
    clearAnnouncement(ui.status);
    renderTrip();
    ui.modes[0].focus();
  }

  // A ride still under way (say, after a reload) is shown again instead of a new booking.
  async function resumeOpenRide() {
    try {
      const page = await api.get(root.dataset.ridesUrl);
      const open = page.results.find((ride) => ride.status === "assigned");
      if (open && !state.ride) showRide(open, { animate: false });
    } catch (error) {
      announce(ui.status, error.message, "error");
    }
  }

  function start(map) {
    state.map = map;
    map.getContainer().setAttribute("aria-label", "Map. Click to set your pickup and drop-off; arrow keys pan, plus and minus zoom.");
    map.on("click", (event) => place(mode(), toPoint(event.latlng)));
    ui.placeCenter.addEventListener("click", () => place(mode(), toPoint(map.getCenter())));
    ui.clearDropoff.addEventListener("click", () => {
      state.dropoff = null;
      removeMarker("dropoff");
      renderTrip();
      refreshEstimate();
    });
    ui.request.addEventListener("click", requestRide);
    ui.complete.addEventListener("click", () => finish("complete"));
    ui.cancel.addEventListener("click", () => finish("cancel"));
    ui.newRide.addEventListener("click", planAnother);
    root.dataset.mapReady = "true";
    resumeOpenRide();
  }

  // django-leaflet creates the map on window load and announces it with "map:init".
  window.addEventListener("map:init", (event) => start(event.detail.map), { once: true });
})();
