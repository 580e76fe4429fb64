(() => {
  "use strict";

  const { api, wireForm } = window.WildRydes;

  const form = document.querySelector("[data-register-form]");

  wireForm(form, {
    action: (values) => api.post(form.dataset.apiUrl, values),
    success: (answer) => {
      const next = new URL(form.dataset.nextUrl, window.location.href);
      next.searchParams.set("email", answer.email);
      next.searchParams.set("sent", "1");
      window.location.assign(next);
    },
  });
})();
