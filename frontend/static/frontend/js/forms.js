// A form that posts its fields to an API endpoint and shows the API's own messages.

(() => {
  "use strict";

  const { ApiError, announce, clearAnnouncement, setBusy } = window.WildRydes;

  const UNEXPECTED = "Something unexpected happened. Please try again.";

  function formValues(form) {
    const values = {};
    for (const [name, value] of new FormData(form)) {
      values[name] = typeof value === "string" && name !== "password" ? value.trim() : value;
    }
    return values;
  }

  function clearFieldErrors(form) {
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  // Put each field's messages next to its input; return the messages that have no input.
  function showFieldErrors(form, fields = {}) {
    const leftover = [];
    let first = null;
    for (const [name, messages] of Object.entries(fields)) {
      const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      const input = form.elements.namedItem(name);
      if (slot && input) {
        slot.textContent = messages.join(" ");
        input.setAttribute("aria-invalid", "true");
        first ??= input;
      } else if (name !== "non_field_errors") {
        leftover.push(...messages);
      }
    }
    first?.focus();
    return leftover;
  }

  function showError(form, status, error) {
    const problem = error instanceof ApiError ? error : new ApiError(UNEXPECTED);
    if (!(error instanceof ApiError)) console.error(error);
    const leftover = showFieldErrors(form, problem.fields);
    announce(status, [problem.message, ...leftover].join(" "), "error");
  }

  // Submit `form` through `action(values)`; `success(result)` runs on a 2xx answer.
  function wireForm(form, { action, success }) {
    const status = form.querySelector("[data-form-status]");
    const button = form.querySelector('[type="submit"]');
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      clearFieldErrors(form);
      clearAnnouncement(status);
      setBusy(button, true);
      try {
        const result = await action(formValues(form));
        await success(result, { status, button });
      } catch (error) {
        setBusy(button, false);
        showError(form, status, error);
      }
    });
    return { status, button };
  }

  window.WildRydes = Object.assign(window.WildRydes || {}, {
    formValues,
    clearFieldErrors,
    showFieldErrors,
    showError,
    wireForm,
  });
})();
