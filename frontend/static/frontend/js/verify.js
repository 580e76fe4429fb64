// Confirm the e-mail address with the 6-digit code, or with the e-mail's link,
// /verify/#email=...&token=...: its token sits in the URL's fragment, which the browser sends
// to no server and puts in no Referer. Opened so, the page takes the token out of the address
// bar and sends it instead of a code when the rider presses Confirm: never by itself, since
// mail scanners open links and run their scripts, and an address someone else signed up
// with would be confirmed without its owner. Refused (used, expired, replaced), it says so
// and the code field is back.

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
    takeEmailedLink,
    linkAddressUsable,
  } = window.WildRydes;

  const form = document.querySelector("[data-verify-form]");
  const codeInput = form.elements.namedItem("code");

  let linkToken = null;

  const submit = form.querySelector("button[type=submit]");

  function showLinkMode(on) {
    document.querySelector("[data-code-lede]").hidden = on;
    document.querySelector("[data-link-lede]").hidden = !on;
    form.querySelector("[data-code-field]").hidden = on;
    codeInput.disabled = on; // not checked, not sent
    // The address is said in the lede; its field stays in the form (sent), out of sight.
    const usable = linkAddressUsable(form);
    form.querySelector("[data-email-field]").hidden = on && usable;
    if (on && !usable) document.querySelector("[data-link-sentence]").textContent = "Enter your e-mail address and press Confirm.";
    form.querySelector("[data-resend]").hidden = on; // the link is the new code's e-mail
    // The focus lands on Confirm: a screen reader reads it what pressing it does.
    if (on) submit.setAttribute("aria-describedby", "link-lede");
    else submit.removeAttribute("aria-describedby");
  }

  const USED = (error) => error.status === 400 && /^(That code is not right|This link no longer works)/.test(error.message);
  const send = afterLostTry(
    ({ email, code }) => api.post(form.dataset.apiUrl, linkToken !== null ? { email, token: linkToken } : { email, code }),
    { key: (values) => `${values.email}\n${linkToken ?? values.code}`, spent: USED },
  );

  const { status } = wireForm(form, {
    action: async (values) => {
      try {
        return await send(values);
      } catch (error) {
        // The link refused: said in the form's status, with the code field back.
        if (linkToken !== null && error.status === 400) {
          linkToken = null;
          showLinkMode(false);
          error.fromLink = true;
        }
        throw error;
      }
    },
    fieldFor: (error) => (error.fromLink ? null : "code"), // a wrong, expired or used-up code: said on the code field
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
      codeInput.value = "";
      codeInput.focus();
    } catch (error) {
      showError(form, status, error);
    } finally {
      setBusy(resend, false);
    }
  });

  const link = takeEmailedLink();
  if (link) {
    linkToken = link.token;
    form.elements.namedItem("email").value = link.email;
    document.querySelector("[data-link-email]").textContent = link.email;
    showLinkMode(true);
    submit.focus();
  }
})();
