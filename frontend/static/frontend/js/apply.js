import { api } from "wildrydes/api";
import { wireForm } from "wildrydes/forms";
import { announce, setBusy } from "wildrydes/ui";

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
