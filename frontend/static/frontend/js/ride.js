// The ride page. Before a ride: pick a pickup (and a drop-off) on the map, see the free
// unicorns nearby and the fare from the estimate API, request a unicorn. During a ride the
// page follows the server: it polls the ride and shows what the server says (the unicorn's
// position, the time left, arrival, boarding, completion, a cancellation by an operator),
// with the buttons of the current state only. Every number shown comes from the API, and
// every name is set as text (textContent), never as HTML.

(() => {
  "use strict";

  const W = window.WildRydes;
  const { ApiError, api, newIdempotencyKey, announce, clearAnnouncement, formatMoney, pronoun, setBusy } = W;

  const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";
  const ACTIVE = new Set(["assigned", "arrived", "in_progress"]);
  const POLL_MS = 2000; // while the page is in view
  const POLL_HIDDEN_MS = 15000; // while the tab is in the background
  const POLL_MAX_MS = 30000; // the longest wait after repeated failures
  const POLL_HIDDEN_MAX_MS = 120000; // the same, in the background
  const GLIDE_STEP_MS = 33; // the unicorn's marker moves at most 30 times a second
  const REDUCED_MOTION = window.matchMedia("(prefers-reduced-motion: reduce)");
  const PLANNING_CHECK_MS = 15000; // a ride booked in another tab shows up within this
  // After a look that got no answer (a gateway's 429 or 502, no network): the next one sooner,
  // or a rider whose ride is under way, reloading the page on a bad connection, saw the
  // planner without the ride for 15 s.
  const PLANNING_RECHECK_MS = 4000;
  // A request without an answer after this is given up and said (a hung booking showed
  // "Finding your unicorn…" until the browser gave up, minutes later): as one whose answer was
  // lost, a booking's retry keeps its key. A gateway in between answers within 30 s.
  const REQUEST_TIMEOUT_MS = 15000;
  // The planner's view of a pickup: centred on it, at street level (STREET_ZOOM, where the
  // streets around it can be read), zoomed out as far as AREA_ZOOM (still street level) to
  // bring the nearest free unicorns around (NEARBY_IN_VIEW of them) in view; unicorns farther
  // away are left out of view (the estimate says how far the nearest is). A pickup and a
  // drop-off: both fitted.
  const STREET_ZOOM = 16;
  const AREA_ZOOM = 15;
  const NEARBY_IN_VIEW = 3;
  const PLAN_PADDING_PX = 56; // on every side: the pins stand above their point, the zoom buttons

  const root = document.querySelector("[data-ride-page]");
  const $ = (selector) => root.querySelector(selector);
  const ui = {
    mapBox: $("#ride-map"),
    mapMessage: $("[data-map-message]"),
    title: $("#ride-title"),
    planner: $("[data-planner]"),
    modes: root.querySelectorAll('input[name="map-mode"]'),
    hint: $("[data-hint]"),
    pickupText: $("[data-pickup-text]"),
    dropoffText: $("[data-dropoff-text]"),
    clearDropoff: $("[data-clear-dropoff]"),
    locate: $("[data-locate]"),
    placeCenter: $("[data-place-center]"),
    estimateAmount: $("[data-estimate-amount]"),
    estimateDetail: $("[data-estimate-detail]"),
    request: $("[data-request]"),
    status: $("[data-ride-status]"),
    card: $("[data-ride-card]"),
    message: $("[data-ride-message]"),
    announcer: $("[data-ride-announcer]"),
    detail: $("[data-ride-detail]"),
    progress: $("[data-progress]"),
    etaLabel: $("[data-eta-label]"),
    eta: $("[data-ride-eta]"),
    fare: $("[data-ride-fare]"),
    discount: $("[data-ride-discount]"),
    reference: $("[data-ride-reference]"),
    trip: $("[data-ride-trip]"),
    board: $("[data-board]"),
    complete: $("[data-complete]"),
    cancel: $("[data-cancel]"),
    receipt: $("[data-receipt]"),
    newRide: $("[data-new-ride]"),
  };

  const state = {
    map: null,
    area: null,
    pickup: null,
    dropoff: null,
    markers: {},
    nearby: null, // layer of the free unicorns around
    nearbyPoints: [], // their places (L.LatLng), nearest first
    showPlanned: false, // the planner's view is shown again once the unicorns around are known
    route: null,
    estimateOk: false,
    checkFailed: false, // the last look for a ride under way got no answer
    estimateLost: false, // the status says why there is no estimate (offline, a gateway's answer)
    estimateSeq: 0,
    nearbySeq: 0, // only the latest look for unicorns around is drawn
    bookingKey: null, // reused only while a request may still book (mayStillBook): no second ride
    booking: false, // a request is on its way: the trip it asks for stays as it is until it ends
    retryTimer: 0,
    ride: null,
    shownStatus: "",
    pollTimer: 0,
    pollFailures: 0,
    pollSeq: 0, // bumped by every poll and action: only the latest answer is shown
    pollsInFlight: 0, // polls whose request is under way
    signedOut: false, // "Your session has ended" is shown: the next answered request takes it away
    firstEta: 0, // the ETA when this page first saw the ride: 0 % of the progress bar
    eta: null, // {seconds, at}: the server's eta_seconds and when it came
    tickTimer: 0,
    glide: 0,
    planningTimer: 0,
    nearbyTimer: 0,
    riderMovedMap: false, // since the ride was last fitted in view (fitRide)
    fitting: false, // while fitRide moves the map
    pressed: null, // the request or action button pressed, until the ride's next state (keepFocus)
  };

  const call = {
    get: (url) => api.get(url, { timeoutMs: REQUEST_TIMEOUT_MS }),
    post: (url, body, options = {}) => api.post(url, body, { ...options, timeoutMs: REQUEST_TIMEOUT_MS }),
  };

  const withId = (template, id) => template.replace(PLACEHOLDER_ID, id);
  const rideUrl = (id, action = "") => withId(root.dataset.rideUrl, id) + (action ? `${action}/` : "");

  // Every message of an API error, field messages included, as one sentence or more.
  function sentences(error) {
    if (!(error instanceof ApiError)) return "Something unexpected happened. Please try again.";
    const fieldMessages = Object.entries(error.fields ?? {})
      .filter(([name]) => name !== "non_field_errors")
      .flatMap(([, messages]) => messages);
    return fieldMessages.length && !error.message.includes(fieldMessages[0])
      ? fieldMessages.join(" ")
      : error.message;
  }

  function mapMessage(text, tone = "error") {
    if (text) announce(ui.mapMessage, text, tone);
    else clearAnnouncement(ui.mapMessage);
  }

  // By the place it lies in once the estimate has named it (the pin says exactly where);
  // by its coordinates before, or where no place is near.
  function describePoint(point) {
    return point.place || `${point.latitude.toFixed(4)}, ${point.longitude.toFixed(4)}`;
  }

  function countdown(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    const minutes = Math.floor(s / 60);
    const rest = s % 60;
    return `${minutes} min ${String(rest).padStart(2, "0")} s`;
  }

  // ---- Map and planning ------------------------------------------------------------------

  function toPoint(latlng) {
    const wrapped = latlng.wrap();
    const round = (value) => Math.round(value * 1e6) / 1e6;
    return { latitude: round(wrapped.lat), longitude: round(wrapped.lng) };
  }

  function setPin(kind, point, { draggable }) {
    const latlng = W.latLng(point);
    let marker = state.markers[kind];
    if (!marker) {
      const label = kind === "pickup" ? "Pickup" : "Drop-off";
      marker = L.marker(latlng, { icon: W.pinIcon(kind), draggable, keyboard: false, title: label, zIndexOffset: 500 });
      marker.on("dragend", () => place(kind, toPoint(marker.getLatLng())));
      state.markers[kind] = marker.addTo(state.map);
    } else {
      marker.setLatLng(latlng);
    }
    if (draggable) marker.dragging?.enable();
    else marker.dragging?.disable();
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
    renderHint();
  }

  function renderHint() {
    if (state.booking) {
      ui.hint.textContent = "Booking this trip: it can be changed if the request does not go through.";
    } else if (mode() === "pickup") {
      ui.hint.textContent = state.pickup
        ? "A tap on the map moves your pickup."
        : "Tap the map where the unicorn should pick you up.";
    } else {
      ui.hint.textContent = state.dropoff
        ? "A tap on the map moves your drop-off."
        : "Tap the map where you are going (optional: without it, a flat fare).";
    }
  }

  function place(kind, point) {
    if (state.ride) return;
    if (state.booking) {
      // The trip being booked stays put: a pin dragged meanwhile goes back to it (the tap or
      // drag once moved the pin and enabled "Request" again, which sent a second request).
      if (state[kind]) state.markers[kind]?.setLatLng(W.latLng(state[kind]));
      return;
    }
    // The first pickup the API accepts moves on to the drop-off; a refused one stays in pickup.
    const firstPickup = kind === "pickup" && (!state.pickup || !state.estimateOk);
    state[kind] = point;
    state.bookingKey = null;
    setPin(kind, point, { draggable: true });
    clearAnnouncement(ui.status);
    state.advanceToDropoff = firstPickup; // once the pickup is accepted (see refreshEstimate)
    renderTrip();
    refreshEstimate();
    state.showPlanned = true; // once the unicorns around the pickup are known (refreshNearby)
    refreshNearby();
  }

  // The map as a rider planning a trip expects it (after a pickup, a drop-off, or a new trip
  // is set): the pickup and the drop-off fitted; a pickup alone (or no pickup yet) at street
  // level with the nearest free unicorns around it in view. Not animated, as fitRide.
  function showPlan() {
    state.showPlanned = false;
    if (!state.map || state.ride) return;
    if (state.pickup && state.dropoff) {
      const trip = L.latLngBounds([W.latLng(state.pickup), W.latLng(state.dropoff)]);
      state.map.fitBounds(trip, { padding: [PLAN_PADDING_PX, PLAN_PADDING_PX], maxZoom: STREET_ZOOM, animate: false });
      return;
    }
    const map = state.map;
    const centre = state.pickup ? L.latLng(W.latLng(state.pickup)) : map.getCenter();
    // The unicorns that can be in view at AREA_ZOOM, centred on the pickup; the view then
    // centred on it, each of them and its mirror image across it.
    const reach = map.getSize().divideBy(2).subtract([PLAN_PADDING_PX, PLAN_PADDING_PX]);
    const middle = map.project(centre, AREA_ZOOM);
    const inReach = (point) => {
      const offset = map.project(point, AREA_ZOOM).subtract(middle);
      return Math.abs(offset.x) <= reach.x && Math.abs(offset.y) <= reach.y;
    };
    const around = L.latLngBounds([centre, centre]);
    for (const point of state.nearbyPoints.filter(inReach).slice(0, NEARBY_IN_VIEW)) {
      around.extend(point);
      around.extend([2 * centre.lat - point.lat, 2 * centre.lng - point.lng]);
    }
    const fitting = map.getBoundsZoom(around, false, L.point(2 * PLAN_PADDING_PX, 2 * PLAN_PADDING_PX));
    map.setView(centre, Math.max(AREA_ZOOM, Math.min(STREET_ZOOM, fitting)), { animate: false });
  }

  function renderTrip() {
    ui.pickupText.textContent = state.pickup ? describePoint(state.pickup) : "Not set yet";
    ui.dropoffText.textContent = state.dropoff ? describePoint(state.dropoff) : "None: flat fare";
    ui.clearDropoff.hidden = !state.dropoff;
    // While a request is on its way, nothing changes the trip it asks for (see place).
    ui.clearDropoff.disabled = state.booking;
    ui.placeCenter.disabled = state.booking;
    if (!ui.locate.classList.contains("is-busy")) ui.locate.disabled = state.booking;
    ui.request.disabled = !state.pickup || !state.estimateOk || Boolean(state.retryTimer) || state.booking;
    renderHint();
  }

  function estimateQuery() {
    const params = new URLSearchParams({
      pickup_latitude: state.pickup.latitude,
      pickup_longitude: state.pickup.longitude,
    });
    if (state.dropoff) {
      params.set("dropoff_latitude", state.dropoff.latitude);
      params.set("dropoff_longitude", state.dropoff.longitude);
    }
    return `${root.dataset.estimateUrl}?${params}`;
  }

  async function refreshEstimate() {
    const seq = ++state.estimateSeq;
    if (!state.pickup) return;
    state.estimateOk = false;
    renderTrip();
    ui.estimateAmount.textContent = "…";
    ui.estimateDetail.textContent = "Working out your fare…";
    try {
      const estimate = await call.get(estimateQuery());
      if (seq !== state.estimateSeq) return;
      state.estimateOk = true;
      mapMessage("");
      if (state.estimateLost) clearAnnouncement(ui.status); // answered now: that is over
      state.estimateLost = false;
      if (state.advanceToDropoff && !state.dropoff && mode() === "pickup") setMode("dropoff");
      state.advanceToDropoff = false;
      // The places the estimate names the points by (the points are still these: seq).
      if (estimate.pickup_place) state.pickup.place = estimate.pickup_place;
      if (state.dropoff && estimate.dropoff_place) state.dropoff.place = estimate.dropoff_place;
      renderTrip();
      ui.estimateAmount.textContent = formatMoney(estimate.fare);
      const parts = [estimate.distance_km == null ? "Flat fare, no drop-off" : `${estimate.distance_km} km trip`];
      if (Number.isFinite(estimate.eta_seconds)) {
        const minutes = Math.round(estimate.eta_seconds / 60);
        parts.push(minutes < 1 ? "a unicorn less than a minute away" : `a unicorn ${minutes} min away`);
      }
      ui.estimateDetail.textContent = `${parts.join(" · ")}.`;
    } catch (error) {
      if (seq !== state.estimateSeq) return;
      ui.estimateAmount.textContent = "—";
      if (error instanceof ApiError && error.status === 400) {
        ui.estimateDetail.textContent = "Move the pin to get a fare.";
        mapMessage(sentences(error));
      } else {
        state.estimateOk = true; // the estimate is only a preview: the request may still work
        ui.estimateDetail.textContent = "No estimate right now.";
        announce(ui.status, sentences(error), "error");
        state.estimateLost = true;
      }
    }
    renderTrip();
  }

  // The free unicorns around the pickup (or the map centre), before a ride.
  async function refreshNearby() {
    const url = root.dataset.nearbyUrl;
    if (!state.map || state.ride) return;
    if (!url) {
      if (state.showPlanned) showPlan();
      return;
    }
    const around = state.pickup ?? toPoint(state.map.getCenter());
    const params = new URLSearchParams({ latitude: around.latitude, longitude: around.longitude });
    const seq = ++state.nearbySeq;
    try {
      const answer = await call.get(`${url}?${params}`);
      if (state.ride || seq !== state.nearbySeq) return;
      if (!state.area && answer.service_area) {
        const { center, radius_km: radiusKm } = answer.service_area;
        state.area = { center: L.latLng(center.latitude, center.longitude), radiusM: radiusKm * 1000 };
        W.drawServiceArea(state.map, state.area);
      }
      const unicorns = answer.results ?? answer;
      state.nearby.clearLayers();
      state.nearbyPoints = [];
      for (const unicorn of unicorns) {
        const position = unicorn.position ?? unicorn;
        if (!Number.isFinite(position.latitude)) continue;
        state.nearbyPoints.push(L.latLng(W.latLng(position)));
        L.marker(W.latLng(position), {
          icon: W.unicornIcon(root.dataset.unicornIcon, { small: true }),
          keyboard: false,
          interactive: false,
          title: "A free unicorn",
        }).addTo(state.nearby);
      }
    } catch {
      // Only a preview: the request itself says when no unicorn is free.
      if (seq !== state.nearbySeq) return;
      state.nearbyPoints = [];
    }
    if (state.showPlanned && !state.ride) showPlan();
  }

  function scheduleNearby() {
    clearTimeout(state.nearbyTimer);
    state.nearbyTimer = setTimeout(refreshNearby, 400);
  }

  function useMyLocation() {
    mapMessage("");
    if (!navigator.geolocation || !window.isSecureContext) {
      mapMessage("This browser cannot share your location here. Tap the map to set your pickup.");
      return;
    }
    setBusy(ui.locate, true, "Finding you…");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        setBusy(ui.locate, false);
        place("pickup", toPoint(L.latLng(position.coords.latitude, position.coords.longitude)));
      },
      (error) => {
        setBusy(ui.locate, false);
        mapMessage(
          error.code === error.PERMISSION_DENIED
            ? "You did not allow Wild Rydes to see your location. Tap the map to set your pickup, or allow location in your browser's settings."
            : "We could not find where you are. Tap the map to set your pickup.",
        );
      },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  }

  // ---- Booking ---------------------------------------------------------------------------

  function waitBeforeRetry(seconds) {
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        clearInterval(state.retryTimer);
        state.retryTimer = 0;
        ui.request.textContent = "Request a unicorn";
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

  // The request may have booked a ride, or may still be booking it: no answer at all, a
  // gateway that stopped waiting for the answer (502, 504), or 409 with Retry-After (the first
  // request with this key is still being processed). Its retry keeps the key and gets the
  // first request's answer.
  function mayStillBook(error) {
    if (!(error instanceof ApiError)) return false;
    const { status } = error;
    return !status || status === 502 || status === 504 || (status === 409 && Boolean(error.retryAfter));
  }

  // An action whose answer did not come (no answer, or a gateway that stopped waiting for it:
  // 502, 504) may have been done all the same.
  function mayHaveBeenDone(error) {
    return error instanceof ApiError && (!error.status || error.status === 502 || error.status === 504);
  }

  function tripBody() {
    // The coordinates only: a place's name is the server's to give.
    const coordinates = ({ latitude, longitude }) => ({ latitude, longitude });
    const pickup = coordinates(state.pickup);
    return state.dropoff ? { pickup, dropoff: coordinates(state.dropoff) } : { pickup };
  }

  async function requestRide() {
    if (!state.pickup || state.ride) return;
    clearAnnouncement(ui.status);
    state.estimateLost = false;
    state.pressed = ui.request;
    state.bookingKey ??= newIdempotencyKey();
    setBusy(ui.request, true, "Finding your unicorn…");
    state.booking = true;
    renderTrip();
    try {
      const ride = await call.post(root.dataset.ridesUrl, tripBody(), { headers: { "Idempotency-Key": state.bookingKey } });
      state.booking = false;
      state.bookingKey = null;
      setBusy(ui.request, false);
      follow(ride);
    } catch (error) {
      state.booking = false;
      if (!mayStillBook(error)) state.bookingKey = null;
      setBusy(ui.request, false);
      state.pressed = null;
      if (error.status === 400) mapMessage(sentences(error));
      else if (error.status === 401) W.announceError(ui.status, error);
      else if (error.status === 409 && error.retryAfter) {
        // Nothing failed (yet), and the server's sentence names the header: said the rider's way.
        const wait = `Try again in ${error.retryAfter} seconds for its answer.`;
        announce(ui.status, `Your request is still being processed. ${wait}`, "info");
      } else if (error.status === 409) {
        // "You already have a ride" (booked in another tab, or by a request whose answer was
        // lost): the page follows that ride, so it is information. An error only if there is
        // no ride to follow, and unless looking for it said why (signed out).
        const followed = await resumeActiveRide();
        if (followed) announce(ui.status, sentences(error), "info");
        else if (!ui.status.textContent) announce(ui.status, sentences(error), "error");
      } else announce(ui.status, sentences(error), "error");
      if (error.retryAfter) waitBeforeRetry(error.retryAfter);
      if (error.status === 409 && error.retryAfter) resumeActiveRide(); // a ride booked meanwhile (another tab)
      renderTrip();
    }
  }

  // ---- Following the ride ----------------------------------------------------------------

  function follow(ride) {
    clearTimeout(state.planningTimer);
    const isNew = state.ride?.id !== ride.id;
    state.ride = ride;
    if (isNew) {
      // Another ride than the one shown (the last one ended here, this one was booked in
      // another tab): its unicorn is drawn anew, with its own name.
      stopGlide();
      removeMarker("unicorn");
      state.shownStatus = "";
      state.firstEta = ride.eta_seconds || 0;
      state.pollFailures = 0;
      state.nearby?.clearLayers();
      state.nearbyPoints = [];
      mapMessage("");
      clearAnnouncement(ui.status); // the last ride's notices are not about this one
      signedInAgain();
    }
    render(ride);
    schedulePoll(ACTIVE.has(ride.status) ? POLL_MS : null);
  }

  // A request refused because the session ended: said, with a link to sign in again, until
  // the next answered one (signedInAgain).
  function sessionEnded(error) {
    W.announceError(ui.status, error);
    state.signedOut = true;
  }

  // A request that needs the session was answered after one was refused for its end: the
  // rider signed in again (in another tab). The notice goes, here and in the header (site.js).
  function signedInAgain() {
    if (!state.signedOut) return;
    state.signedOut = false;
    clearAnnouncement(ui.status);
    document.dispatchEvent(new CustomEvent("wildrydes:session-resumed"));
  }

  function schedulePoll(delay) {
    clearTimeout(state.pollTimer);
    state.pollTimer = delay == null ? 0 : setTimeout(poll, delay);
  }

  // After failures, longer and longer from the usual pace: in view 4, 8, 16, 30 s; in the
  // background 30 s, 60 s, then every 2 min (never more often than a background tab that is
  // answered). Shown again, the page asks at once (onVisibility).
  function pollDelay() {
    const failures = state.pollFailures;
    if (document.hidden) return Math.min(POLL_HIDDEN_MS * 2 ** failures, POLL_HIDDEN_MAX_MS);
    return failures ? Math.min(POLL_MS * 2 ** failures, POLL_MAX_MS) : POLL_MS;
  }

  // A failed poll asks nothing of the rider: the page goes on asking, so not "try again" (nor
  // a gateway's "reload the page": a gateway's answer, throttling or a crash, is lost touch).
  const LOST_TOUCH = "We cannot reach Wild Rydes right now: what you see may be out of date. We keep trying.";
  function pollTrouble(error) {
    const lostTouch = error instanceof ApiError && (!error.status || error.status >= 500 || error.status === 429 || error.gateway);
    return lostTouch ? LOST_TOUCH : `${sentences(error)} We keep trying.`;
  }

  async function poll() {
    const ride = state.ride;
    if (!ride || !ACTIVE.has(ride.status)) return;
    const asked = ++state.pollSeq;
    state.pollsInFlight += 1;
    try {
      const fresh = await call.get(rideUrl(ride.id));
      // An older answer than one we have (an action's, or a later poll's) changes nothing.
      if (state.ride?.id !== ride.id || asked !== state.pollSeq) return;
      if (state.pollFailures) clearAnnouncement(ui.status);
      state.pollFailures = 0;
      signedInAgain();
      state.ride = fresh;
      render(fresh);
    } catch (error) {
      if (error.status === 401) {
        sessionEnded(error);
        return; // signed out: nothing more to follow
      }
      if (state.ride?.id !== ride.id || asked !== state.pollSeq) return; // nor does its failure
      state.pollFailures += 1;
      if (state.pollFailures >= 2) announce(ui.status, pollTrouble(error), "error");
    } finally {
      state.pollsInFlight -= 1;
    }
    if (state.ride && ACTIVE.has(state.ride.status)) schedulePoll(pollDelay());
  }

  function show(button, visible) {
    button.hidden = !visible;
  }

  // What a cancellation cost (after it), or would cost now (after the arrival), or null.
  function feeCharged(ride) {
    const money = ride.cancellation_fee;
    return money && Number(money.amount) > 0 ? money : null;
  }

  function feeIfCancelledNow() {
    const amount = root.dataset.cancellationFee;
    return Number(amount) > 0 ? { amount, currency: root.dataset.currency } : null;
  }

  function render(ride) {
    const { unicorn } = ride;
    const changed = state.shownStatus !== ride.status;
    const focused = document.activeElement;
    ui.planner.hidden = true;
    ui.card.hidden = false;
    ui.title.textContent = ACTIVE.has(ride.status) ? "Your ride" : "Your last ride";
    const ended = ride.status === "cancelled" || ride.status === "expired";
    // An ended ride's fare is what it cost: its fee, else $0.00 (the sentence above says why).
    ui.fare.textContent = formatMoney(ride.fare);
    root.querySelector("[data-fare-label]").textContent = ended && feeCharged(ride) ? "Fee" : "Fare";
    ui.discount.textContent = W.describeDiscount(ride.discount_multiplier);
    ui.reference.textContent = ride.reference ?? "";
    // Where it goes, by the places the ride names (none near: the map says it).
    const [from, to] = [ride.pickup?.place, ride.dropoff?.place];
    ui.trip.textContent = from && to ? ` · ${from} → ${to}` : from ? ` · from ${from}` : to ? ` · to ${to}` : "";
    ui.reference.parentElement.hidden = !ride.reference;
    ui.receipt.href = withId(root.dataset.receiptUrl, ride.id);

    const charged = feeCharged(ride);
    const feeNow = feeIfCancelledNow();
    const name = unicorn.name;
    let message = "";
    let detail = "";
    switch (ride.status) {
      case "assigned":
        message = `${name}, your ${unicorn.color} unicorn, is on ${unicorn.pronoun ?? pronoun(unicorn.gender)} way.`;
        detail = "Cancelling is free until your unicorn arrives.";
        break;
      case "arrived":
        message = `${name} has arrived. Giddy up!`;
        detail = `Climb on and tap “I’m on board”.${feeNow ? ` Cancelling now costs ${formatMoney(feeNow)}.` : ""}`;
        break;
      case "in_progress":
        message = `You are riding ${name}. Enjoy the view!`;
        detail = "Tap “Complete ride” when you reach your drop-off.";
        break;
      case "completed":
        message = `Ride complete. Thanks for riding with ${name}!`;
        detail = `You paid ${formatMoney(ride.fare)}. The receipt is in your history.`;
        break;
      case "cancelled":
        message = ride.cancelled_by_operator ? "Your ride was cancelled by Wild Rydes." : "Your ride is cancelled.";
        detail = charged ? `A cancellation fee of ${formatMoney(charged)} was charged.` : "You were not charged.";
        break;
      case "expired":
        message = "Your ride expired: nobody boarded in time.";
        detail = charged ? `A no-show fee of ${formatMoney(charged)} was charged.` : "You were not charged.";
        break;
      default:
        message = `Ride status: ${ride.status}.`;
    }
    if (changed) {
      ui.message.textContent = message;
      ui.announcer.textContent = detail ? `${message} ${detail}` : message;
      state.shownStatus = ride.status;
    }
    ui.detail.textContent = detail;

    show(ui.board, ride.status === "arrived");
    show(ui.cancel, ride.status === "assigned" || ride.status === "arrived");
    ui.cancel.textContent = ride.status === "arrived" && feeNow ? `Cancel (${formatMoney(feeNow)} fee)` : "Cancel ride";
    show(ui.complete, ride.status === "in_progress");
    show(ui.receipt, !ACTIVE.has(ride.status));
    show(ui.newRide, !ACTIVE.has(ride.status));

    ui.progress.parentElement.hidden = ride.status === "cancelled" || ride.status === "expired";
    keepFocus(focused);
    renderTime(ride);
    drawRide(ride, changed);
    if (!ACTIVE.has(ride.status)) {
      clearInterval(state.tickTimer);
      state.tickTimer = 0;
      if (changed) watchForRideElsewhere(); // the receipt stays, until the rider books again
    }
    if (changed) document.dispatchEvent(new CustomEvent("wildrydes:ride-changed", { detail: ride }));
  }

  // The control that had the focus went away with the ride's new state (the request button
  // with the planner, an action done, a cancellation by an operator): the focus goes on to
  // what can be done now, not back to the top of the page for the keyboard or a screen reader.
  // A button pressed is disabled while its request is under way, which takes the focus from
  // it (to the page's body): then the one pressed (state.pressed) is the one that had it.
  function keepFocus(focused) {
    const pressed = state.pressed;
    state.pressed = null;
    const had = root.contains(focused) ? focused : !focused || focused === document.body ? pressed : null;
    if (!had || had.getClientRects().length) return;
    const actions = [ui.board, ui.complete, ui.cancel, ui.receipt, ui.newRide];
    actions.find((action) => !action.hidden)?.focus();
  }

  function renderTime(ride) {
    let left = null;
    let label = "Status";
    if (ride.status === "assigned") {
      left = Number(ride.eta_seconds) || 0;
      label = "Arrives in";
      state.firstEta = Math.max(state.firstEta, left);
    } else if (ride.status === "in_progress" && ride.dropoff_eta_seconds != null) {
      left = Number(ride.dropoff_eta_seconds);
      label = "Drop-off in";
    } else if (ride.status === "arrived" && ride.board_by) {
      left = Math.max(0, (Date.parse(ride.board_by) - Date.now()) / 1000);
      label = "Board within";
    }
    ui.etaLabel.textContent = label;
    if (left != null) {
      state.eta = { seconds: left, at: performance.now(), status: ride.status };
      tick();
      if (!state.tickTimer) state.tickTimer = setInterval(tick, 1000);
      return;
    }
    state.eta = null;
    clearInterval(state.tickTimer);
    state.tickTimer = 0;
    ui.eta.textContent = {
      arrived: "Waiting for you",
      in_progress: "On board",
      completed: "Completed",
      cancelled: "Cancelled",
      expired: "Expired",
    }[ride.status] ?? ride.status;
    ui.progress.style.width = ride.status === "assigned" ? "0%" : "100%";
  }

  // The countdown between two polls: the server's eta_seconds, less the time since it came.
  function tick() {
    if (!state.eta) return;
    const left = Math.max(0, state.eta.seconds - (performance.now() - state.eta.at) / 1000);
    ui.eta.textContent = left > 0 ? countdown(left) : "Any moment";
    if (state.eta.status !== "assigned") {
      ui.progress.style.width = "100%";
      return;
    }
    const share = state.firstEta ? 1 - left / state.firstEta : 0;
    ui.progress.style.width = `${Math.round(Math.min(1, Math.max(0, share)) * 100)}%`;
  }

  function unicornPosition(ride) {
    return ride.unicorn.position ?? (ride.status === "assigned" ? ride.unicorn.start : ride.pickup);
  }

  // A ride cancelled or expired ended without a trip: its unicorn is no longer coming, and
  // leaves the map. The pickup (and drop-off) stay.
  const endedWithoutTrip = (ride) => ride.status === "cancelled" || ride.status === "expired";

  function drawRide(ride, changed) {
    if (!state.map) return;
    for (const kind of ["pickup", "dropoff"]) {
      if (ride[kind]) setPin(kind, ride[kind], { draggable: false });
      else removeMarker(kind);
    }
    state.route?.remove();
    state.route = null;
    if (endedWithoutTrip(ride)) {
      stopGlide();
      removeMarker("unicorn");
      state.routeFollowsUnicorn = false;
      if (changed) fitRide(ride);
      return;
    }
    const target = W.latLng(unicornPosition(ride));
    if (!state.markers.unicorn) {
      state.markers.unicorn = L.marker(target, {
        icon: W.unicornIcon(root.dataset.unicornIcon, { label: ride.unicorn.name }),
        keyboard: false,
        interactive: false,
        zIndexOffset: 1000,
      }).addTo(state.map);
    } else {
      glide(state.markers.unicorn, target);
    }

    // On its way the line starts at the marker, which glides there: it follows the marker.
    state.routeFollowsUnicorn = ride.status === "assigned";
    const line = ride.status === "assigned" ? [state.markers.unicorn.getLatLng(), W.latLng(ride.pickup)]
      : ride.status === "in_progress" && ride.dropoff ? [W.latLng(ride.pickup), W.latLng(ride.dropoff)]
      : null;
    if (line) {
      state.route = L.polyline(line, { color: "#c2185b", weight: 4, dashArray: "2 10", lineCap: "round", opacity: 0.9, interactive: false }).addTo(state.map);
    }
    if (changed) fitRide(ride);
  }

  // The unicorn (unless the ride ended without a trip), the pickup and the drop-off in view.
  // Again when the map's size changes (on a phone a notice or the ride card grows the sheet
  // over it), until the rider takes the map in hand (see start): then only at the ride's next
  // state. Not animated: Leaflet ignores a view asked for during a zoom animation, and a new
  // state often resizes the sheet right after.
  function fitRide(ride) {
    const unicorn = endedWithoutTrip(ride) ? [] : [unicornPosition(ride)];
    const points = [...unicorn, ride.pickup, ...(ride.dropoff ? [ride.dropoff] : [])];
    const bounds = L.latLngBounds(points.map(W.latLng));
    // The unicorn's disc and name stand to the right of its point: room for them on that
    // side, or a unicorn at the right of the ride had its name cut off by the map's edge.
    // (The marker's left edge is 12 px right of its point: unicornIcon's anchor.)
    const marker = unicorn.length ? state.markers.unicorn?.getElement() : null;
    const reach = marker
      ? 12 + (marker.querySelector(".wr-unicorn-label") ?? marker).getBoundingClientRect().right - marker.getBoundingClientRect().left
      : 0;
    const right = Math.max(50, reach + 12);
    state.fitting = true; // not animated: its movestart comes now, and is not the rider's
    try {
      state.map.fitBounds(bounds, { paddingTopLeft: [50, 50], paddingBottomRight: [right, 50], maxZoom: STREET_ZOOM, animate: false });
    } finally {
      state.fitting = false;
    }
    state.riderMovedMap = false;
  }

  // Move a marker smoothly to where the server says it is, over about one poll: one step per
  // pixel it moves on the screen, at most one every GLIDE_STEP_MS; at once while the tab is
  // hidden or the rider asks for reduced motion. (Redrawn at 60 frames a second over every
  // poll, the page was never idle while a unicorn came, mostly to move it by under a pixel.)
  function glide(marker, target) {
    stopGlide();
    const from = marker.getLatLng();
    const to = L.latLng(target);
    const pixels = state.map.latLngToLayerPoint(from).distanceTo(state.map.latLngToLayerPoint(to));
    const steps = Math.min(Math.floor(pixels), Math.floor(POLL_MS / GLIDE_STEP_MS));
    if (document.hidden || REDUCED_MOTION.matches || steps < 2) return moveUnicorn(marker, to);
    let step = 0;
    const next = () => {
      step += 1;
      const t = step / steps;
      moveUnicorn(marker, [from.lat + (to.lat - from.lat) * t, from.lng + (to.lng - from.lng) * t]);
      if (step < steps) state.glide = setTimeout(next, POLL_MS / steps);
    };
    state.glide = setTimeout(next, POLL_MS / steps);
  }

  function stopGlide() {
    clearTimeout(state.glide);
    state.glide = 0;
  }

  // The unicorn's marker, and the line on its way, which starts at the marker.
  function moveUnicorn(marker, latlng) {
    marker.setLatLng(latlng);
    if (state.routeFollowsUnicorn && state.route) {
      state.route.setLatLngs([marker.getLatLng(), state.route.getLatLngs().at(-1)]);
    }
  }

  // One action at a time: while one is sent, the others cannot be pressed (a cancellation
  // pressed while the boarding is on its way could charge a fee the rider did not mean), and
  // the pressed one shows it is under way. Until its answer, or its failure, comes.
  function holdActions(pressed, busyLabel) {
    for (const button of [ui.board, ui.complete, ui.cancel]) button.disabled = true;
    setBusy(pressed, true, busyLabel);
  }

  function releaseActions(pressed) {
    setBusy(pressed, false);
    for (const button of [ui.board, ui.complete, ui.cancel]) button.disabled = false;
  }

  async function act(action, button, busyLabel) {
    const ride = state.ride;
    if (!ride) return;
    clearAnnouncement(ui.status);
    state.pressed = button;
    holdActions(button, busyLabel);
    schedulePoll(null); // the action's answer is the next state; polling resumes after it
    state.pollSeq += 1; // and a poll under way answers for the state before this action
    try {
      const answer = await call.post(rideUrl(ride.id, action));
      state.pollSeq += 1;
      releaseActions(button);
      state.ride = answer;
      render(answer);
      schedulePoll(ACTIVE.has(answer.status) ? POLL_MS : null);
    } catch (error) {
      releaseActions(button);
      announce(ui.status, sentences(error), "error");
      if (error.status === 409 || error.status === 404) {
        await poll(); // the ride moved on without us: show where it is now
        if (state.ride && !ACTIVE.has(state.ride.status)) render(state.ride);
      } else if (mayHaveBeenDone(error)) {
        // No answer: the action may have been done all the same. If the ride moved on, it was,
        // and "try again" is wrong; if not, it stays said.
        await poll();
        if (state.ride?.status !== ride.status) clearAnnouncement(ui.status);
      } else if (state.ride && ACTIVE.has(state.ride.status)) {
        schedulePoll(pollDelay());
      }
    }
  }

  function planAnother() {
    schedulePoll(null);
    clearInterval(state.tickTimer);
    state.tickTimer = 0;
    stopGlide();
    state.ride = null;
    state.eta = null;
    state.shownStatus = "";
    state.route?.remove();
    for (const kind of ["unicorn", "pickup", "dropoff"]) removeMarker(kind);
    state.pickup = state.dropoff = null;
    state.estimateOk = false;
    setMode("pickup");
    ui.card.hidden = true;
    ui.planner.hidden = false;
    ui.progress.parentElement.hidden = false;
    ui.title.textContent = "Request a unicorn";
    ui.progress.style.width = "0";
    ui.estimateAmount.textContent = "—";
    ui.estimateDetail.textContent = "Set a pickup to see your fare.";
    clearAnnouncement(ui.status);
    clearAnnouncement(ui.announcer);
    renderTrip();
    state.showPlanned = true; // the free unicorns around where the last ride was
    refreshNearby();
    watchForRideElsewhere();
    ui.modes[0].focus();
  }

  // The rider's ride under way, if any (after a reload, or booked in another tab).
  async function resumeActiveRide() {
    try {
      const page = await call.get(root.dataset.ridesUrl);
      const active = (page.results ?? []).find((ride) => ACTIVE.has(ride.status));
      state.checkFailed = false;
      signedInAgain();
      if (active && state.ride?.id !== active.id) follow(active);
      return Boolean(active);
    } catch (error) {
      if (error.status === 401) sessionEnded(error);
      else state.checkFailed = true;
      return false;
    }
  }

  const rideUnderWay = () => Boolean(state.ride && ACTIVE.has(state.ride.status));

  // No ride, or the last one ended: now and then, a look for one booked in another tab.
  function watchForRideElsewhere() {
    clearTimeout(state.planningTimer);
    if (rideUnderWay()) return;
    state.planningTimer = setTimeout(async () => {
      if (!document.hidden && !rideUnderWay()) await resumeActiveRide();
      watchForRideElsewhere();
    }, state.checkFailed ? PLANNING_RECHECK_MS : PLANNING_CHECK_MS);
  }

  // The browser is online again (after a tunnel, a lift, airplane mode): the ride now, not at
  // the next poll after the failures' wait (up to 30 s of "We cannot reach Wild Rydes").
  // Planning, the fare that could not be had is asked for again.
  function onOnline() {
    if (document.hidden) return;
    if (rideUnderWay()) {
      if (!state.pollsInFlight) schedulePoll(0);
    } else if (!state.ride && state.pickup && state.estimateLost && !state.booking) refreshEstimate();
  }

  function onVisibility() {
    if (document.hidden) return;
    // Now, unless a poll is under way: it comes back and schedules the next at the visible pace.
    if (rideUnderWay()) {
      if (!state.pollsInFlight) schedulePoll(0);
    } else resumeActiveRide();
  }

  function start() {
    const map = W.createMap(ui.mapBox);
    state.map = map;
    state.area = W.serviceArea(ui.mapBox);
    W.drawServiceArea(map, state.area);
    state.nearby = L.layerGroup().addTo(map);

    map.on("click", (event) => place(mode(), toPoint(event.latlng)));
    ui.mapBox.addEventListener("map:resized", () => {
      if (state.ride && !state.riderMovedMap) fitRide(state.ride);
    });
    // A drag, a pinch, the wheel, the zoom buttons or keys: the rider moves the map. Any move
    // but the page's own fit (a size change only pans, without "movestart"); a tap moves nothing.
    map.on("movestart", () => {
      if (!state.fitting) state.riderMovedMap = true;
    });
    map.on("moveend", () => {
      if (!state.ride && !state.pickup) scheduleNearby();
    });
    for (const input of ui.modes) input.addEventListener("change", renderHint);
    ui.placeCenter.addEventListener("click", () => place(mode(), toPoint(map.getCenter())));
    ui.locate.addEventListener("click", useMyLocation);
    ui.clearDropoff.addEventListener("click", () => {
      state.dropoff = null;
      state.bookingKey = null; // another trip: another request
      removeMarker("dropoff");
      setMode("dropoff");
      renderTrip();
      refreshEstimate();
      showPlan(); // the pickup again, with the unicorns around it
      ui.modes[1].focus();
    });
    ui.request.addEventListener("click", requestRide);
    ui.board.addEventListener("click", () => act("board", ui.board, "Boarding…"));
    ui.complete.addEventListener("click", () => act("complete", ui.complete, "Completing…"));
    ui.cancel.addEventListener("click", () => act("cancel", ui.cancel, "Cancelling…"));
    ui.newRide.addEventListener("click", planAnother);
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("online", onOnline);

    renderTrip();
    resumeActiveRide().then((resumed) => {
      if (!resumed) {
        refreshNearby();
        watchForRideElsewhere();
      }
      root.dataset.mapReady = "true";
    });
  }

  start();
})();
