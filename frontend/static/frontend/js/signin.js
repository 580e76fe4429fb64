import { api } from "wildrydes/api";
import { wireForm } from "wildrydes/forms";

const form = document.querySelector("[data-signin-form]");

wireForm(form, {
  action: ({ email, password }) => api.post(form.dataset.apiUrl, { email, password }),
  success: () => window.location.assign(form.dataset.nextUrl),
});
