// Every page: the phone menu, the sign-out button, the unread count of notifications, and
// what happens when the session ends (the header switches to "Sign in").

(() => {
  "use strict";

  const { api, announce } = window.WildRydes;

  document.documentElement.classList.replace("no-js", "js");

  // The phone menu's button says what a tap does: "Menu" opens it, "Close" closes it.
  const toggle = document.querySelector(".nav-toggle");
  const toggleLabel = toggle?.querySelector("[data-nav-toggle-label]");
  const nav = document.getElementById("site-nav");
  function showMenu(open) {
    toggle.setAttribute("aria-expanded", String(open));
    if (toggleLabel) toggleLabel.textContent = open ? "Close" : "Menu";
    nav.classList.toggle("is-open", open);
  }
  toggle?.addEventListener("click", () => showMenu(toggle.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && nav?.classList.contains("is-open")) {
      showMenu(false);
      toggle.focus();
    }
  });

  const signOut = document.querySelector("[data-sign-out]");
  signOut?.addEventListener("click", async () => {
    signOut.disabled = true;
    try {
      await api.post(signOut.dataset.logoutUrl);
      window.location.assign(signOut.dataset.homeUrl);
    } catch (error) {
      signOut.disabled = false;
      announce(document.querySelector("[data-site-status]"), error.message, "error");
    }
  });
})();

(() => {
  "use strict";

  const { api, element, signInLink } = window.WildRydes;
  const banner = document.querySelector("[data-site-status]");

  // The session ended (expired token, signed out elsewhere): say so once, with a link, and
  // show the header a signed-out visitor sees.
  let ended = false;
  let signedInNav = null; // the header's own links, back when the session is (see below)
  document.addEventListener("wildrydes:session-ended", () => {
    if (ended) return;
    ended = true;
    banner.dataset.tone = "error";
    banner.replaceChildren("Your session has ended. ", signInLink("Sign in again"), ".");
    const account = document.querySelector(".nav-account");
    if (!account) return;
    signedInNav = [...account.childNodes];
    const register = document.body.dataset.registerUrl;
    account.replaceChildren(
      element("li", {}, [signInLink("Sign in")]),
      ...(register ? [element("li", {}, [element("a", { className: "button button-small", text: "Register", attrs: { href: register } })])] : []),
    );
  });
  // The page's requests are answered again (signed in again in another tab): as before.
  document.addEventListener("wildrydes:session-resumed", () => {
    if (!ended) return;
    ended = false;
    banner.textContent = "";
    delete banner.dataset.tone;
    if (signedInNav) document.querySelector(".nav-account")?.replaceChildren(...signedInNav);
    signedInNav = null;
  });

  // The unread count beside "Notifications" in the header; with none unread it takes no space.
  const link = document.querySelector("[data-notifications-link]");
  const badge = link?.querySelector("[data-unread-count]");
  async function refreshUnread() {
    if (!badge || !link.dataset.apiUrl) return;
    try {
      const page = await api.get(link.dataset.apiUrl);
      showUnread(Number(page.unread) || 0);
    } catch {
      // The header is not the place to report this; the notifications page does.
    }
  }
  const menuBadge = document.querySelector("[data-menu-unread]"); // phones: on the Menu button
  function showUnread(count) {
    badge.textContent = count ? String(Math.min(count, 99)) + (count > 99 ? "+" : "") : "";
    if (menuBadge) menuBadge.textContent = badge.textContent;
    badge.dataset.count = String(count);
    link.setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
  }
  document.addEventListener("wildrydes:unread-changed", (event) => {
    if (Number.isFinite(event.detail)) showUnread(event.detail);
    else refreshUnread();
  });
  document.addEventListener("wildrydes:ride-changed", refreshUnread);
  refreshUnread();
})();
