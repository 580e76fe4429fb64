// Password reset: ask for a code by e-mail, then set a new password with it. The first
// answer is the same whether or not an account has the address.
//
// The e-mail also carries a link, /reset-password/#email=...&token=...: its token sits in the
// URL's fragment, which the browser sends to no server and puts in no Referer. Opened so, the
// page takes the token out of the address bar at once, asks only for the new password, and
// sends the token instead of a code. The link works even when too many wrong codes were typed
// for the address (by the rider or by someone else); refused (used, expired, replaced), the
// page says so and offers the code and a new e-mail.

(() => {
  "use strict";

  const { afterLostTry, api, wireForm, announce, setBusy, takeEmailedLink, linkAddressUsable } = window.WildRydes;

  const ask = document.querySelector("[data-reset-request-form]");
  const confirm = document.querySelector("[data-reset-confirm-form]");
  const codeField = confirm.querySelector("[data-code-field]");
  const emailInput = confirm.elements.namedItem("email");

  let linkToken = null;

  function showLinkMode(on) {
    for (const element of document.querySelectorAll("[data-code-lede], [data-code-only]")) element.hidden = on;
    document.querySelector("[data-link-lede]").hidden = !on;
    ask.hidden = on;
    codeField.hidden = on;
    confirm.elements.namedItem("code").disabled = on; // not checked, not sent
    // The address the link is for is said in the lede; its field stays in the form (sent, and
    // the username a password manager saves the new password for), out of sight.
    confirm.querySelector("[data-email-field]").hidden = on && linkAddressUsable(confirm);
  }

  const link = takeEmailedLink();
  if (link) {
    linkToken = link.token;
    emailInput.value = link.email;
    ask.elements.namedItem("email").value = link.email;
    document.querySelector("[data-link-email]").textContent = link.email;
    showLinkMode(true);
    confirm.elements.namedItem("new_password").focus();
  }

  function leaveLinkMode() {
    linkToken = null;
    showLinkMode(false);
  }

  wireForm(ask, {
    action: ({ email }) => api.post(ask.dataset.apiUrl, { email }),
    success: (answer, { status, button }) => {
      setBusy(button, false);
      announce(status, answer.detail, "success");
      emailInput.value = ask.elements.namedItem("email").value.trim();
      confirm.elements.namedItem("code").focus();
    },
  });

  const USED = (error) => error.status === 400 && /^(That code is not right|This link no longer works)/.test(error.message);
  const send = afterLostTry(
    ({ email, code, new_password }) =>
      api.post(confirm.dataset.apiUrl, linkToken !== null ? { email, token: linkToken, new_password } : { email, code, new_password }),
    { key: (values) => `${values.email}\n${linkToken ?? values.code}`, spent: USED },
  );

  wireForm(confirm, {
    action: async (values) => {
      try {
        return await send(values);
      } catch (error) {
        // The link refused (used, expired, replaced, incomplete): said in the form's status,
        // with the code field and the request for a new e-mail back. A weak new password is
        // said on its field, and the link stays.
        if (linkToken !== null && error.status === 400 && !error.fields?.new_password) {
          leaveLinkMode();
          error.fromLink = true;
        }
        throw error;
      }
    },
    fieldFor: (error) => (error.fromLink ? null : "code"), // a wrong, expired or used-up code: said on the code field
    success: (answer, { status, button }) => {
      const signIn = document.createElement("a");
      const next = new URL(confirm.dataset.nextUrl, window.location.href);
      next.searchParams.set("email", emailInput.value.trim());
      signIn.href = next.pathname + next.search;
      if (answer?.lostTry) {
        // The code was used by the try whose answer was lost: most likely that one set it.
        setBusy(button, false);
        announce(status, "Your first try may have set your new password before its answer was lost, which used up the code.", "info");
        signIn.textContent = "Sign in with it to check";
        status.append(" ", signIn, ".");
        return;
      }
      setBusy(button, false);
      for (const control of confirm.querySelectorAll("input, button")) control.disabled = true;
      announce(status, answer.detail, "success");
      signIn.textContent = "Sign in";
      status.append(" ", signIn);
    },
  });
})();
