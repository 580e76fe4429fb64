// The rider's rides, newest first, straight from GET /api/rides/.

(() => {
  "use strict";

  const {
    api,
    announce,
    clearAnnouncement,
    describeDiscount,
    element,
    formatDateTime,
    formatMoney,
    setBusy,
  } = window.WildRydes;

  const root = document.querySelector("[data-history]");
  const status = root.querySelector("[data-history-status]");
  const table = root.querySelector("[data-rides-table]");
  const body = root.querySelector("[data-rides-body]");
  const empty = root.querySelector("[data-rides-empty]");
  const more = root.querySelector("[data-more]");
  const retry = root.querySelector("[data-retry]");

  const STATUSES = {
    assigned: ["Under way", "badge-info"],
    completed: ["Completed", "badge-success"],
    cancelled: ["Cancelled", "badge-danger"],
  };
  let nextUrl = root.dataset.ridesUrl;

  function row(ride) {
    const cell = (label, children, className) => element("td", { className, attrs: { "data-label": label } }, children);
    const [statusText, badge] = STATUSES[ride.status] ?? [ride.status, ""];
    return element("tr", { attrs: { "data-ride-id": ride.id } }, [
      cell("When", [element("time", { text: formatDateTime(ride.requested_at), attrs: { datetime: ride.requested_at } })]),
      cell("Unicorn", [
        element("span", { className: "ride-unicorn-name", text: ride.unicorn.name }),
        element("span", { className: "ride-unicorn-color", text: `${ride.unicorn.color} unicorn` }),
      ]),
      cell("Status", [element("span", { className: `badge ${badge}`, text: statusText })]),
      cell("Discount", [describeDiscount(ride.discount_multiplier)]),
      cell("Fare", [formatMoney(ride.fare)], "num"),
    ]);
  }

  async function loadPage() {
    retry.hidden = true;
    setBusy(more, true, "Loading…");
    try {
      const page = await api.get(nextUrl);
      clearAnnouncement(status);
      body.append(...page.results.map(row));
      table.hidden = page.count === 0;
      empty.hidden = page.count !== 0;
      nextUrl = page.next;
      more.hidden = !page.next;
      if (page.count) announce(status, `${page.count} ride${page.count === 1 ? "" : "s"} so far.`);
    } catch (error) {
      announce(status, error.message, "error");
      retry.hidden = false;
    } finally {
      setBusy(more, false);
    }
  }

  more.addEventListener("click", loadPage);
  retry.addEventListener("click", loadPage);
  loadPage();
})();
