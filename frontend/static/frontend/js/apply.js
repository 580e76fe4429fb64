(() => {
  "use strict";

  const { api, wireForm, announce, setBusy } = window.WildRydes;

  const form = document.querySelector("[data-apply-form]");

  wireForm(form, {
    action: (values) => api.post(form.dataset.apiUrl, values),
    success: (answer, { status, button }) => {
      form.reset();
      setBusy(button, false);
      announce(status, answer.detail, "success");
      status.scrollIntoView({ block: "nearest" });
    },
  });
})();
