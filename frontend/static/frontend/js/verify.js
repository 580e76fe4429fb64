(() => {
  "use strict";

  const {
    afterLostTry,
    api,
    clearFieldErrors,
    formValues,
    showError,
    wireForm,
    announce,
    clearAnnouncement,
    setBusy,
  } = window.WildRydes;

  const form = document.querySelector("[data-verify-form]");

  const { status } = wireForm(form, {
    action: afterLostTry(({ email, code }) => api.post(form.dataset.apiUrl, { email, code })),
    fieldFor: () => "code", // a wrong, expired or used-up code: said on the code field
    success: (answer, { button }) => {
      const next = new URL(form.dataset.nextUrl, window.location.href);
      next.searchParams.set("email", formValues(form).email);
      if (answer?.lostTry) {
        // The code was used by the try whose answer was lost: most likely that one confirmed.
        setBusy(button, false);
        announce(status, "Your first try may have confirmed your e-mail before its answer was lost, which used up the code.", "info");
        const link = document.createElement("a");
        link.href = next.pathname + next.search;
        link.textContent = "Sign in to check";
        status.append(" ", link, ".");
        return;
      }
      next.searchParams.set("confirmed", "1");
      window.location.assign(next);
    },
  });

  const resend = form.querySelector("[data-resend]");
  resend.addEventListener("click", async () => {
    clearFieldErrors(form);
    clearAnnouncement(status);
    setBusy(resend, true, "Sending…");
    try {
      const answer = await api.post(form.dataset.resendUrl, { email: formValues(form).email });
      announce(status, answer.detail, "success");
      form.elements.namedItem("code").value = "";
      form.elements.namedItem("code").focus();
    } catch (error) {
      showError(form, status, error);
    } finally {
      setBusy(resend, false);
    }
  });
})();
