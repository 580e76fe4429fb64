// The rider's notifications from GET /api/notifications/ (newest first, with `unread`, the
// count): {id, message, created_at, read_at, ride?}. Until they load, a placeholder holds
// their place; the empty state shows only once the answer says there are none.

(() => {
  "use strict";

  const W = window.WildRydes;
  const { api, announce, clearAnnouncement, element, formatDateTime, setBusy } = W;

  const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";
  const root = document.querySelector("[data-notifications]");
  const status = root.querySelector("[data-notifications-status]");
  const loading = root.querySelector("[data-notifications-loading]");
  const list = root.querySelector("[data-notifications-list]");
  const empty = root.querySelector("[data-notifications-empty]");
  const more = root.querySelector("[data-more]");
  const retry = root.querySelector("[data-retry]");
  const moreStatus = root.querySelector("[data-more-status]");
  const readAll = document.querySelector("[data-read-all]");
  const readUrl = (id) => root.dataset.readUrl.replace(/\/0\/read\/$/, `/${id}/read/`);
  let nextUrl = root.dataset.apiUrl;
  let unread = 0;

  function setUnread(count) {
    unread = Math.max(0, count);
    readAll.hidden = !unread || !root.dataset.readAllUrl;
    document.dispatchEvent(new CustomEvent("wildrydes:unread-changed", { detail: unread }));
  }

  function markedRead(item) {
    item.classList.add("is-read");
    item.querySelector("[data-mark-read]")?.remove();
    item.querySelector(".visually-hidden")?.remove();
    item.querySelector(".unread-dot")?.remove();
  }

  // The button pressed went away (disabled while it was sent, then removed or hidden), and
  // the focus with it, back to the top of the page for the keyboard or a screen reader: it
  // goes on to `next` (a notification itself can take the focus, not with Tab).
  function focusAfter(next) {
    const focused = document.activeElement;
    if (focused && focused !== document.body && document.contains(focused)) return;
    if (next.matches("li")) next.tabIndex = -1;
    next.focus();
  }

  async function markRead(id, item, button) {
    setBusy(button, true, "Marking…");
    try {
      await api.post(readUrl(id));
      markedRead(item);
      setUnread(unread - 1);
      announce(status, "Marked as read.", "success");
      // The next one to mark, if any: one after another from the keyboard.
      focusAfter(list.querySelector("[data-mark-read]") ?? item);
    } catch (error) {
      setBusy(button, false);
      W.announceError(status, error);
    }
  }

  async function markAllRead() {
    setBusy(readAll, true, "Marking…");
    try {
      await api.post(root.dataset.readAllUrl);
      for (const item of list.querySelectorAll(".notification:not(.is-read)")) markedRead(item);
      setBusy(readAll, false);
      setUnread(0);
      announce(status, "All notifications are marked as read.", "success");
      const first = list.querySelector(".notification");
      if (first) focusAfter(first);
    } catch (error) {
      setBusy(readAll, false);
      W.announceError(status, error);
    }
  }

  function notification(data) {
    const isRead = Boolean(data.read_at);
    const item = element("li", { className: `notification${isRead ? " is-read" : ""}`, attrs: { "data-notification-id": data.id } });
    const head = element("div", { className: "notification-head" }, [
      element("time", { text: formatDateTime(data.created_at), attrs: { datetime: data.created_at ?? "" } }),
    ]);
    if (!isRead) head.prepend(element("span", { className: "unread-dot", attrs: { "aria-hidden": "true" } }), element("span", { className: "visually-hidden", text: "Unread: " }));
    const children = [head, element("p", { text: data.message ?? "" })];
    const actions = element("div", { className: "notification-actions" });
    const rideId = data.ride?.id ?? data.ride ?? data.ride_id;
    if (rideId && typeof rideId === "string") {
      actions.append(element("a", { text: "See the ride", attrs: { href: root.dataset.receiptUrl.replace(PLACEHOLDER_ID, rideId) } }));
    }
    if (!isRead && root.dataset.readUrl) {
      const button = element("button", { className: "link-button", text: "Mark as read", attrs: { type: "button", "data-mark-read": "" } });
      button.addEventListener("click", () => markRead(data.id, item, button));
      actions.append(button);
    }
    if (actions.childElementCount) children.push(actions);
    item.append(...children);
    return item;
  }

  function done() {
    loading.hidden = true;
    root.removeAttribute("aria-busy");
  }

  async function load(event) {
    const pressed = event?.currentTarget; // gone by the time the answer comes
    if (!nextUrl) {
      done();
      empty.hidden = false;
      return;
    }
    // "Try again" (after a failure) asks for the same page again; it goes while it does.
    if (retry) retry.hidden = true;
    clearAnnouncement(moreStatus);
    setBusy(more, true, "Loading…");
    try {
      const page = await api.get(nextUrl);
      const items = page.results ?? page;
      clearAnnouncement(status);
      done();
      const added = items.map(notification);
      list.append(...added);
      // After "Show older notifications" (disabled while it loaded): the first of them.
      if (event && added.length) focusAfter(added[0]);
      list.hidden = list.childElementCount === 0;
      empty.hidden = list.childElementCount !== 0;
      if (Number.isFinite(page.unread)) setUnread(page.unread);
      else setUnread(list.querySelectorAll(".notification:not(.is-read)").length);
      nextUrl = page.next ?? null;
      more.hidden = !nextUrl;
    } catch (error) {
      done();
      // Older notifications: said beside the button pressed, not at the top of the list.
      W.announceError(list.childElementCount ? moreStatus : status, error);
      // A way to ask again without reloading (the first page's failure left nothing to press).
      if (retry && error.status !== 401) {
        more.hidden = true;
        retry.hidden = false;
        if (pressed === retry) retry.focus(); // hidden while it asked: the focus back on it
      }
    } finally {
      setBusy(more, false);
    }
  }

  readAll.addEventListener("click", markAllRead);
  more.addEventListener("click", load);
  retry?.addEventListener("click", load);
  load();
})();
