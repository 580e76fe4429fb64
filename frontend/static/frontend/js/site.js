// Every page: the phone menu and the sign-out button.

(() => {
  "use strict";

  const { api, announce } = window.WildRydes;

  document.documentElement.classList.replace("no-js", "js");

  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("site-nav");
  toggle?.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("is-open", open);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && nav?.classList.contains("is-open")) {
      nav.classList.remove("is-open");
      toggle.setAttribute("aria-expanded", "false");
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
