// The rider's rides, newest first, straight from GET /api/rides/. Each row opens its receipt.

(() => {
  "use strict";

  const W = window.WildRydes;
  const { api, announce, clearAnnouncement, element, formatDateTime, formatMoney, setBusy } = W;

  const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";
  const root = document.querySelector("[data-history]");
  const status = root.querySelector("[data-history-status]");
  const table = root.querySelector("[data-rides-table]");
  const body = root.querySelector("[data-rides-body]");
  const empty = root.querySelector("[data-rides-empty]");
  const loading = root.querySelector("[data-rides-loading]");
  const more = root.querySelector("[data-more]");
  const retry = root.querySelector("[data-retry]");
  const moreStatus = root.querySelector("[data-more-status]");

  const STATUSES = {
    assigned: ["On the way", "badge-info"],
    arrived: ["Unicorn waiting", "badge-info"],
    in_progress: ["Riding", "badge-info"],
    completed: ["Completed", "badge-success"],
    cancelled: ["Cancelled", "badge-danger"],
    expired: ["Expired", "badge-danger"],
  };
  let nextUrl = root.dataset.ridesUrl;

  function charged(ride) {
    if (ride.status === "completed") {
      const discount = W.describeDiscount(ride.discount_multiplier);
      return [formatMoney(ride.fare), discount === "None" ? "" : discount];
    }
    if (ride.status === "cancelled" || ride.status === "expired") {
      const fee = ride.cancellation_fee;
      if (fee && Number(fee.amount) > 0) return [formatMoney(fee), ride.status === "expired" ? "No-show fee" : "Cancellation fee"];
      return ["Not charged", ""];
    }
    return ["When it ends", `Fare ${formatMoney(ride.fare)}`];
  }

  function trip(ride) {
    // A point by the place it lies in ("Capitol Hill"), or by its coordinates where no place
    // is near; coordinates never break between their two numbers (a no-break space): a
    // narrow column wraps at the arrow, between the pickup and the drop-off.
    const point = (p) => p.place || `${p.latitude.toFixed(3)},\u00a0${p.longitude.toFixed(3)}`;
    const distance = ride.distance_km != null ? `${Number(ride.distance_km).toFixed(2)} km` : ride.dropoff ? "" : "Flat fare";
    const route = ride.dropoff ? `${point(ride.pickup)} → ${point(ride.dropoff)}` : `From ${point(ride.pickup)}`;
    return [distance || "—", route];
  }

  function row(ride) {
    // A ride under way opens the ride page, which follows it; an ended one its receipt.
    const active = ["assigned", "arrived", "in_progress"].includes(ride.status);
    const href = active ? root.dataset.ridePageUrl : root.dataset.receiptUrl.replace(PLACEHOLDER_ID, ride.id);
    const cell = (label, children, className) => element("td", { className, attrs: { "data-label": label } }, children);
    const [statusText, badge] = STATUSES[ride.status] ?? [ride.status, ""];
    const [amount, note] = charged(ride);
    const [distance, route] = trip(ride);
    const link = element("a", { className: "ride-link", text: ride.reference || "Receipt", attrs: { href } });
    const tr = element("tr", { attrs: { "data-ride-id": ride.id } }, [
      cell("Ride", [
        link,
        element("time", { className: "ride-sub", text: formatDateTime(ride.requested_at), attrs: { datetime: ride.requested_at } }),
      ]),
      cell("Trip", [element("span", { className: "ride-main", text: distance }), element("span", { className: "ride-sub", text: route })]),
      cell("Unicorn", [
        element("span", { className: "ride-main", text: ride.unicorn.name }),
        element("span", { className: "ride-sub", text: `${ride.unicorn.color} unicorn` }),
      ]),
      cell("Status", [element("span", { className: `badge ${badge}`, text: statusText })]),
      cell("Charged", [element("span", { className: "ride-main", text: amount }), ...(note ? [element("span", { className: "ride-sub", text: note })] : [])], "num"),
    ]);
    // On a phone the link covers its card (CSS); on a desktop a click anywhere in the row
    // follows it too (a table row cannot safely hold the stretched link everywhere).
    tr.addEventListener("click", (event) => {
      if (!event.target.closest("a") && !window.getSelection()?.toString()) link.click();
    });
    return tr;
  }

  // Pressed, "Show older rides" (or "Try again") is disabled while it loads, which takes the
  // focus from it, back to the top of the page for the keyboard or a screen reader: it goes to
  // the first of the rides it brought.
  async function loadPage(event) {
    const pressed = event?.currentTarget; // gone by the time the answer comes
    retry.hidden = true;
    clearAnnouncement(moreStatus);
    setBusy(more, true, "Loading…");
    try {
      const page = await api.get(nextUrl);
      clearAnnouncement(status);
      loading.hidden = true;
      const rows = page.results.map(row);
      body.append(...rows);
      const focused = document.activeElement;
      if (event && rows.length && (!focused || focused === document.body)) rows[0].querySelector("a").focus();
      table.hidden = page.count === 0;
      empty.hidden = page.count !== 0;
      nextUrl = page.next;
      more.hidden = !page.next;
      status.textContent = page.count ? `${page.count} ride${page.count === 1 ? "" : "s"} so far.` : "";
    } catch (error) {
      loading.hidden = true;
      // Older rides: said beside the button pressed (the count stays at the top).
      W.announceError(body.childElementCount ? moreStatus : status, error);
      more.hidden = true; // "Try again" asks for the same rides: one button, not two
      retry.hidden = false;
      if (pressed === retry || pressed === more) retry.focus(); // the one pressed went away
    } finally {
      setBusy(more, false);
    }
  }

  more.addEventListener("click", loadPage);
  retry.addEventListener("click", loadPage);
  loadPage();
})();
