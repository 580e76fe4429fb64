// The rider's notifications. The list endpoint arrives with the notifications issue: until
// the page is given its URL (data-api-url), it shows the empty state and calls nothing.
// Expected items (newest first, paginated or not): {id, title?, message, created_at, read_at?}.

import { api } from "wildrydes/api";
import { announce, clearAnnouncement, element, formatDateTime } from "wildrydes/ui";

const root = document.querySelector("[data-notifications]");
const status = root.querySelector("[data-notifications-status]");
const list = root.querySelector("[data-notifications-list]");
const empty = root.querySelector("[data-notifications-empty]");
const listUrl = root.dataset.apiUrl;

export function renderNotifications(items) {
  list.replaceChildren(
    ...items.map((item) =>
      element("li", { className: `notification${item.read_at ? " is-read" : ""}`, attrs: { "data-notification-id": item.id } }, [
        element("time", { text: formatDateTime(item.created_at), attrs: { datetime: item.created_at ?? "" } }),
        ...(item.title ? [element("h3", { text: item.title })] : []),
        element("p", { text: item.message ?? "" }),
      ]),
    ),
  );
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
