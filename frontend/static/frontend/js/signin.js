(() => {
  "use strict";

  const { api, wireForm } = window.WildRydes;

  const form = document.querySelector("[data-signin-form]");

  wireForm(form, {
    action: ({ email, password }) => api.post(form.dataset.apiUrl, { email, password }),
    success: () => window.location.assign(form.dataset.nextUrl),
  });
})();
