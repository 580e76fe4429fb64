(() => {
  "use strict";

  const { afterLostTry, api, formValues, wireForm } = window.WildRydes;

  const form = document.querySelector("[data-register-form]");

  wireForm(form, {
    // The first try made the account, its answer lost: the retry is told the address has an
    // account already. That account is the rider's, waiting for its code: on to confirm it.
    action: afterLostTry((values) => api.post(form.dataset.apiUrl, values), {
      key: (values) => values.email,
      spent: (error) => error.status === 400 && /already exists/.test((error.fields?.email ?? []).join(" ")),
    }),
    success: (answer) => {
      const next = new URL(form.dataset.nextUrl, window.location.href);
      if (answer?.lostTry) {
        next.searchParams.set("email", formValues(form).email); // whether its e-mail went is unknown
        window.location.assign(next);
        return;
      }
      next.searchParams.set("email", answer.email);
      // The account is made even when the e-mail could not go: the next page says so.
      next.searchParams.set(answer.email_sent === false ? "unsent" : "sent", "1");
      window.location.assign(next);
    },
  });
})();
