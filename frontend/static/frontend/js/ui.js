// Small presentation helpers shared by the pages. No business rules live here: amounts,
// fares and discounts come from the API and are only formatted for people.

(() => {
  "use strict";

  function announce(region, message, tone = "info") {
    if (!region) return;
    region.dataset.tone = tone;
    region.textContent = message;
  }

  // An API error in `region`; when the session has ended, with a link to sign in again.
  function announceError(region, error) {
    if (!region) return;
    const message = error?.message || "Something unexpected happened. Please try again.";
    announce(region, message, "error");
    if (error?.status === 401) region.append(" ", signInLink());
  }

  function signInLink(text = "Sign in again") {
    const url = new URL(document.body.dataset.signinUrl || "/signin/", window.location.href);
    url.searchParams.set("next", window.location.pathname + window.location.search);
    return element("a", { text, attrs: { href: url.pathname + url.search, "data-sign-in-again": "" } });
  }

  function clearAnnouncement(region) {
    if (!region) return;
    region.textContent = "";
    delete region.dataset.tone;
  }

  function setBusy(button, busy, busyLabel) {
    if (!button) return;
    if (busy) {
      button.dataset.label ??= button.textContent;
      if (busyLabel) button.textContent = busyLabel;
      button.disabled = true;
      button.classList.add("is-busy");
      button.setAttribute("aria-busy", "true");
    } else {
      if (button.dataset.label) button.textContent = button.dataset.label;
      delete button.dataset.label;
      button.disabled = false;
      button.classList.remove("is-busy");
      button.removeAttribute("aria-busy");
    }
  }

  function formatMoney(money) {
    if (!money) return "—";
    const amount = Number(money.amount);
    try {
      // In the page's language, as the receipts and e-mails write it ("$12.50"), not the phone's.
      return new Intl.NumberFormat(document.documentElement.lang || "en", { style: "currency", currency: money.currency }).format(amount);
    } catch {
      return `${money.amount} ${money.currency}`;
    }
  }

  function pronoun(gender) {
    return { male: "his", female: "her" }[gender] ?? "their";
  }

  function describeEta(seconds) {
    if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
    const minutes = Math.round(seconds / 60);
    return `about ${minutes} minute${minutes === 1 ? "" : "s"}`;
  }

  function describeDiscount(multiplier) {
    const value = Number(multiplier);
    if (!Number.isFinite(value) || value >= 1) return "None";
    return `${Math.round((1 - value) * 100)}% off`;
  }

  // Times as the receipts and e-mails give them: the service area's clock, its zone named
  // ("7 Dec 2026, 13:17 PST"), whatever zone the rider's device is set to.
  // A zone this browser does not know (an older phone's time-zone data, a name added since)
  // throws a RangeError, which here would stop every script on every page: the phone's own
  // clock is used instead, still named, so the time read is right.
  function timeFormats(timeZone) {
    return [
      new Intl.DateTimeFormat("en-GB", {
        day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone,
      }),
      new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "short" }),
    ];
  }
  let dateAndTime;
  let zoneName;
  try {
    [dateAndTime, zoneName] = timeFormats(document.documentElement.dataset.timeZone || undefined);
  } catch {
    [dateAndTime, zoneName] = timeFormats(undefined);
  }

  function formatDateTime(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    const zone = zoneName.formatToParts(moment).find((part) => part.type === "timeZoneName");
    return `${dateAndTime.format(moment)}${zone ? ` ${zone.value}` : ""}`;
  }

  function formatPoint(point) {
    return `${point.latitude.toFixed(4)}, ${point.longitude.toFixed(4)}`;
  }

  function element(tag, { className, text, attrs = {} } = {}, children = []) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  window.WildRydes = Object.assign(window.WildRydes || {}, {
    announce,
    announceError,
    signInLink,
    clearAnnouncement,
    setBusy,
    formatMoney,
    pronoun,
    describeEta,
    describeDiscount,
    formatDateTime,
    formatPoint,
    element,
  });
})();
