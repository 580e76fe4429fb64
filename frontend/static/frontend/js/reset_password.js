// Password reset: ask for a code by e-mail, then set a new password with it. The first
// answer is the same whether or not an account has the address.

(() => {
  "use strict";

  const { afterLostTry, api, wireForm, announce, setBusy } = window.WildRydes;

  const ask = document.querySelector("[data-reset-request-form]");
  const confirm = document.querySelector("[data-reset-confirm-form]");

  wireForm(ask, {
    action: ({ email }) => api.post(ask.dataset.apiUrl, { email }),
    success: (answer, { status, button }) => {
      setBusy(button, false);
      announce(status, answer.detail, "success");
      confirm.elements.namedItem("email").value = ask.elements.namedItem("email").value.trim();
      confirm.elements.namedItem("code").focus();
    },
  });

  wireForm(confirm, {
    action: afterLostTry(({ email, code, new_password }) => api.post(confirm.dataset.apiUrl, { email, code, new_password })),
    fieldFor: () => "code", // a wrong, expired or used-up code: said on the code field
    success: (answer, { status, button }) => {
      const link = document.createElement("a");
      const next = new URL(confirm.dataset.nextUrl, window.location.href);
      next.searchParams.set("email", confirm.elements.namedItem("email").value.trim());
      link.href = next.pathname + next.search;
      if (answer?.lostTry) {
        // The code was used by the try whose answer was lost: most likely that one set it.
        setBusy(button, false);
        announce(status, "Your first try may have set your new password before its answer was lost, which used up the code.", "info");
        link.textContent = "Sign in with it to check";
        status.append(" ", link, ".");
        return;
      }
      for (const control of confirm.querySelectorAll("input, button")) control.disabled = true;
      announce(status, answer.detail, "success");
      link.textContent = "Sign in";
      status.append(" ", link);
    },
  });
})();
