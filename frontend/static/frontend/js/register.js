(() => {
  "use strict";

  const { api, wireForm } = window.WildRydes;

  const form = document.querySelector("[data-register-form]");

  wireForm(form, {
    action: (values) => api.post(form.dataset.apiUrl, values),
    success: (answer) => {
      const next = new URL(form.dataset.nextUrl, window.location.href);
      next.searchParams.set("email", answer.email);
      // The account is made even when the e-mail could not go: the next page says so.
      next.searchParams.set(answer.email_sent === false ? "unsent" : "sent", "1");
      window.location.assign(next);
    },
  });
})();
