import { api } from "wildrydes/api";
import { wireForm } from "wildrydes/forms";

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
