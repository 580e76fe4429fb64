// A form that posts its fields to an API endpoint and shows every problem at once, each on
// its own field, in plain sentences. What the browser can check (empty, e-mail shape, length,
// the code's six digits) is checked before sending; what only the server knows comes back
// from the API and is put on the field it concerns, reworded when it is framework wording.

(() => {
  "use strict";

  const { ApiError, announce, announceError, clearAnnouncement, setBusy } = window.WildRydes;

  const UNEXPECTED = "Something unexpected happened. Please try again.";
  const CHECK_FIELDS = "Please check the highlighted fields.";
  const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  // What to say when a field is left empty, by field name.
  const REQUIRED = {
    email: "Enter your e-mail address.",
    password: "Enter your password.",
    new_password: "Enter a new password.",
    current_password: "Enter your current password.",
    code: "Enter the 6-digit code from the e-mail.",
    name: "Enter your unicorn name.",
    color: "Enter your coat colour.",
    gender: "Choose a gender.",
  };
  const EMAIL_INVALID = "Enter an e-mail address like name@example.com.";
  const CODE_INVALID = "The code is the 6 digits from the e-mail, for example 123456.";

  function labelOf(input) {
    const label = input.labels?.[0];
    if (!label) return input.name;
    const copy = label.cloneNode(true);
    copy.querySelector(".optional")?.remove();
    return copy.textContent.trim();
  }

  function requiredMessage(input) {
    if (input.dataset.requiredMessage) return input.dataset.requiredMessage;
    if (REQUIRED[input.name]) return REQUIRED[input.name];
    return input.tagName === "SELECT" ? `Choose ${labelOf(input).toLowerCase()}.` : `Fill in ${labelOf(input).toLowerCase()}.`;
  }

  // The API's framework wording, said plainly for this field.
  function plain(input, message) {
    const text = String(message).trim();
    if (/^This field (may not be blank|is required|may not be null)\.$/.test(text)) {
      return input ? requiredMessage(input) : "Please fill in every field.";
    }
    if (/is not a valid choice\.$/.test(text)) return input ? requiredMessage(input) : "Choose one of the options.";
    if (text === "Enter a valid email address.") return EMAIL_INVALID;
    let match = text.match(/^Ensure this field has no more than (\d+) characters\.$/);
    if (match) return `Use at most ${match[1]} characters.`;
    match = text.match(/^Ensure this field has at least (\d+) characters\.$/);
    if (match) return `Use at least ${match[1]} characters.`;
    if (text === "Not a valid string.") return input ? requiredMessage(input) : "Please check this field.";
    return text;
  }

  function formValues(form) {
    const values = {};
    for (const [name, value] of new FormData(form)) {
      values[name] = typeof value === "string" && !/password/.test(name) ? value.trim() : value;
    }
    return values;
  }

  // Problems the browser can see without asking the server: {field: [sentence]}.
  function checkFields(form) {
    const problems = {};
    for (const input of form.querySelectorAll("input[name], select[name], textarea[name]")) {
      if (input.type === "hidden" || input.disabled) continue;
      const raw = input.value ?? "";
      const value = /password/.test(input.name) ? raw : raw.trim();
      let problem = "";
      if (!value) {
        if (input.required) problem = requiredMessage(input);
      } else if (input.type === "email" && !EMAIL_SHAPE.test(value)) {
        problem = EMAIL_INVALID;
      } else if (input.name === "code" && !/^\p{Nd}{6}$/u.test(value)) {
        // Six digits of any script (a Japanese keyboard types full-width ones): the server reads them.
        problem = CODE_INVALID;
      } else if (input.minLength > 0 && value.length < input.minLength) {
        problem = `Use at least ${input.minLength} characters.`;
      }
      if (problem) problems[input.name] = [problem];
    }
    return problems;
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
        slot.textContent = [...new Set(messages.map((message) => plain(input, message)))].join(" ");
        input.setAttribute("aria-invalid", "true");
        first ??= input;
      } else {
        leftover.push(...messages.map((message) => plain(null, message)));
      }
    }
    first?.focus();
    return leftover;
  }

  function showError(form, status, error) {
    const problem = error instanceof ApiError ? error : new ApiError(UNEXPECTED);
    if (!(error instanceof ApiError)) console.error(error);
    const leftover = showFieldErrors(form, problem.fields);
    if (problem.status === 401) return announceError(status, problem);
    const onFields = Object.keys(problem.fields ?? {}).length > leftover.length;
    const message = problem.message === CHECK_FIELDS && !onFields ? "" : problem.message;
    announce(status, [message, ...leftover].filter(Boolean).join(" ") || CHECK_FIELDS, "error");
  }

  // Submit `form` through `action(values)`; `success(result)` runs on a 2xx answer.
  // `fieldFor(error)`: the field an error without field messages belongs to (say, a wrong
  // code), or nothing.
  // The page's form says method="post" and its submit button comes disabled: until this has
  // wired it (or without scripts) it cannot be submitted natively, and a password or a code
  // can never end up in a URL (/verify/?email=...&code=...: history, server logs).
  function wireForm(form, { action, success, fieldFor = () => null }) {
    const status = form.querySelector("[data-form-status]");
    const button = form.querySelector('[type="submit"]');
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      clearFieldErrors(form);
      clearAnnouncement(status);
      const problems = checkFields(form);
      if (Object.keys(problems).length) {
        showFieldErrors(form, problems);
        announce(status, CHECK_FIELDS, "error");
        return;
      }
      setBusy(button, true);
      try {
        const result = await action(formValues(form));
        await success(result, { status, button });
      } catch (error) {
        setBusy(button, false);
        const field = error instanceof ApiError && error.status === 400 && !Object.keys(error.fields).length ? fieldFor(error) : null;
        if (field) {
          clearAnnouncement(status);
          showFieldErrors(form, { [field]: [error.message] });
        } else {
          showError(form, status, error);
        }
      }
      // Disabled while the form was sent, the button lost the focus (to the page's body, the
      // top of the page for the keyboard or a screen reader): the rider is back on it, unless
      // a field took the focus to be corrected, the page moved on, or the button is off.
      if (document.activeElement === document.body && !button.disabled && button.getClientRects().length) button.focus();
    });
    button.disabled = false;
    return { status, button };
  }

  // Some requests cannot be repeated: a code is used up by the first try that reaches the
  // server, a password changed or an account closed is no longer what the form holds. When
  // that first try's answer was lost (no answer, or a gateway that stopped waiting: 502,
  // 504), its retry is refused ("That code is not right", "That is not your current
  // password", the session gone) though the first most likely did the work. Wrapped in this,
  // the try right after such a one, with the same values, refused as `spent` says, resolves
  // to {lostTry: true}, for the page to say what most likely happened instead of the refusal.
  const CODE_USED = (error) => error.status === 400 && /^That code is not right/.test(error.message);
  function afterLostTry(action, { key = (values) => `${values.email}\n${values.code}`, spent = CODE_USED } = {}) {
    let lost = null; // the key of the last try, if its answer was lost
    return async (values) => {
      const retry = lost !== null && lost === key(values);
      lost = null;
      try {
        return await action(values);
      } catch (error) {
        if (error instanceof ApiError && [0, 502, 504].includes(error.status)) lost = key(values);
        else if (retry && error instanceof ApiError && spent(error)) return { lostTry: true };
        throw error;
      }
    };
  }

  // Whether the address an e-mailed link put in `form`'s e-mail field can be sent as it is.
  // The link pages hide that field (the address is said in their lede) only then: a link
  // with no address, or one edited into something the form refuses, keeps the field there
  // to type it in, its error beside it, never "check the highlighted fields" with nothing
  // to see. An address whose domain is in another script (anna@bücher.example) is usable:
  // the server takes it as the link writes it. (The browser's own check refuses it when a
  // script sets it, validity.typeMismatch, while typed it becomes xn--: not that one.)
  function linkAddressUsable(form) {
    return Boolean(form.elements.namedItem("email").value) && !checkFields(form).email;
  }

  // The e-mailed link's address and token (`#email=...&token=...`), read once and wiped from
  // the URL, so history, a copied address or a screenshot keep no secret; null without one.
  // A newer link opened in the same tab changes only the fragment: the page starts again.
  function takeEmailedLink() {
    window.addEventListener("hashchange", () => {
      if (new URLSearchParams(window.location.hash.slice(1)).has("token")) window.location.reload();
    });
    const params = new URLSearchParams(window.location.hash.slice(1));
    if (!params.has("token")) return null;
    window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
    return { email: params.get("email") ?? "", token: params.get("token") };
  }

  window.WildRydes = Object.assign(window.WildRydes || {}, {
    afterLostTry,
    linkAddressUsable,
    takeEmailedLink,
    formValues,
    checkFields,
    clearFieldErrors,
    showFieldErrors,
    showError,
    wireForm,
  });
})();
