// The account page: change the password, sign out everywhere, close the account. Every
// action goes through the accounts API with the session and its CSRF token.

(() => {
  "use strict";

  const { afterLostTry, api, request, wireForm, announce, announceError, clearAnnouncement, setBusy } = window.WildRydes;
  // A retry after a lost answer: any values (no password is kept to compare them).
  const anyValues = () => "";
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
    // A first try that changed the password, its answer lost: the retry's current password is
    // the old one (refused), or this browser's session went with the answer's new cookie.
    action: afterLostTry(
      ({ current_password, new_password }) => api.post(change.dataset.apiUrl, { current_password, new_password }),
      { key: anyValues, spent: (error) => error.status === 401 || Boolean(error.fields?.current_password?.length) },
    ),
    fieldFor: () => "current_password",
    success: (answer, { status, button }) => {
      change.reset();
      setBusy(button, false);
      if (answer?.lostTry) {
        announce(status, "Your first try most likely changed your password before its answer was lost: use the new one from now on.", "info");
        return;
      }
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
    // A first try that closed the account, its answer lost: the retry finds the session gone.
    action: afterLostTry(({ password }) => request(close.dataset.apiUrl, { method: "DELETE", body: { password } }), {
      key: anyValues,
      spent: (error) => error.status === 401,
    }),
    success: (answer, { status, button }) => {
      setBusy(button, false);
      const closed = answer?.lostTry ? "Your first try most likely closed your account before its answer was lost." : "Your account is closed.";
      signedOut(status, `${closed} Thank you for riding with Wild Rydes.`);
    },
  });
})();
