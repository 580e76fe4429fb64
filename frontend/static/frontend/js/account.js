// The account page: change the password, sign out everywhere, close the account. Every
// action goes through the accounts API with the session and its CSRF token.

(() => {
  "use strict";

  const { api, request, wireForm, announce, announceError, clearAnnouncement, setBusy } = window.WildRydes;
  const signInUrl = document.querySelector("[data-account]").dataset.signinUrl;

  function signedOut(status, sentence) {
    // The header switches to "Sign in", as when a session ends on its own.
    document.dispatchEvent(new CustomEvent("wildrydes:session-ended"));
    for (const control of document.querySelectorAll("main input, main button")) control.disabled = true;
    announce(status, sentence, "success");
    const link = document.createElement("a");
    link.href = signInUrl;
    link.textContent = "Sign in";
    status.append(" ", link);
  }

  const change = document.querySelector("[data-password-change-form]");
  wireForm(change, {
    action: ({ current_password, new_password }) =>
      api.post(change.dataset.apiUrl, { current_password, new_password }),
    fieldFor: () => "current_password",
    success: (answer, { status, button }) => {
      change.reset();
      setBusy(button, false);
      announce(status, answer.detail, "success");
    },
  });

  const everywhere = document.querySelector("[data-sign-out-everywhere]");
  const everywhereButton = everywhere.querySelector("[data-sign-out-everywhere-button]");
  const everywhereStatus = everywhere.querySelector("[data-form-status]");
  everywhereButton.addEventListener("click", async () => {
    clearAnnouncement(everywhereStatus);
    setBusy(everywhereButton, true, "Signing out…");
    try {
      const answer = await api.post(everywhere.dataset.apiUrl);
      setBusy(everywhereButton, false);
      signedOut(everywhereStatus, answer.detail);
    } catch (error) {
      setBusy(everywhereButton, false);
      announceError(everywhereStatus, error);
    }
  });

  const close = document.querySelector("[data-delete-account-form]");
  wireForm(close, {
    action: ({ password }) => request(close.dataset.apiUrl, { method: "DELETE", body: { password } }),
    success: (_answer, { status, button }) => {
      setBusy(button, false);
      signedOut(status, "Your account is closed. Thank you for riding with Wild Rydes.");
    },
  });
})();
