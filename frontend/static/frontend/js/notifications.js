// The rider's notifications from GET /api/notifications/ (newest first): {id, message,
// created_at, read_at}. Without the API (no data-api-url) the page shows its empty state.

(() => {
  "use strict";

  const { api, announce, clearAnnouncement, element, formatDateTime, setBusy } = window.WildRydes;

  const root = document.querySelector("[data-notifications]");
  const status = root.querySelector("[data-notifications-status]");
  const list = root.querySelector("[data-notifications-list]");
  const empty = root.querySelector("[data-notifications-empty]");
  const listUrl = root.dataset.apiUrl;
  const readUrl = (id) => root.dataset.readUrl.replace(/\/0\/read\/$/, `/${id}/read/`);

  async function markRead(item, button) {
    setBusy(button, true, "Marking…");
    try {
      await api.post(readUrl(item.id));
      button.closest(".notification").classList.add("is-read");
      button.remove();
      announce(status, "Marked as read.", "success");
    } catch (error) {
      setBusy(button, false);
      announce(status, error.message, "error");
    }
  }

  function notification(item) {
    const children = [
      element("time", { text: formatDateTime(item.created_at), attrs: { datetime: item.created_at ?? "" } }),
      element("p", { text: item.message ?? "" }),
    ];
    if (!item.read_at && root.dataset.readUrl) {
      const button = element("button", { className: "button button-ghost button-small", text: "Mark as read", attrs: { type: "button" } });
      button.addEventListener("click", () => markRead(item, button));
      children.push(button);
    }
    return element("li", { className: `notification${item.read_at ? " is-read" : ""}`, attrs: { "data-notification-id": item.id } }, children);
  }

  function renderNotifications(items) {
    list.replaceChildren(...items.map(notification));
    list.hidden = items.length === 0;
    empty.hidden = items.length !== 0;
  }

  async function load() {
    if (!listUrl) return renderNotifications([]);
    announce(status, "Loading your notifications…");
    try {
      const page = await api.get(listUrl);
      clearAnnouncement(status);
      renderNotifications(page.results ?? page);
    } catch (error) {
      announce(status, error.message, "error");
    }
  }

  load();
})();
