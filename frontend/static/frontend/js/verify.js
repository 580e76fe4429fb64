(() => {
  "use strict";

  const {
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
    action: ({ email, code }) => api.post(form.dataset.apiUrl, { email, code }),
    fieldFor: () => "code", // a wrong, expired or used-up code: said on the code field
    success: () => {
      const next = new URL(form.dataset.nextUrl, window.location.href);
      next.searchParams.set("email", formValues(form).email);
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
