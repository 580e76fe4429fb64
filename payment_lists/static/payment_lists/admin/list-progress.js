// The payment list's admin page while its import runs: poll the progress URL, move the
// progress bar and the status, and reload the page once the list is imported or failed
// (so the error report and the finish time show).
(() => {
  "use strict";

  const watch = document.querySelector("[data-list-watch]");
  if (!watch) return;
  const bar = document.querySelector("[data-list-progress] progress");
  const label = document.querySelector("[data-list-progress] [data-progress-label]");
  const state = document.querySelector(".field-state .readonly");
  const step = document.querySelector(".field-step_now .readonly");
  const INTERVAL_MS = 1000;

  // A bar only where both numbers are known; otherwise an indeterminate one (no value):
  // an unknown total is never drawn as a full or empty bar.
  function show(progress) {
    if (bar) {
      if (progress.done === null || progress.total === null) {
        bar.removeAttribute("value");
      } else {
        bar.max = progress.total || 1;
        bar.value = progress.done;
      }
      bar.setAttribute("aria-label", progress.description);
    }
    if (label) label.textContent = progress.description;
    if (state) state.textContent = progress.state;
    if (step) step.textContent = progress.step || "-";
    watch.textContent = progress.finished
      ? `The list is ${progress.state}.`
      : `Running: ${progress.description}`;
  }

  async function poll() {
    try {
      const response = await fetch(watch.dataset.progressUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const progress = await response.json();
      show(progress);
      if (progress.finished) {
        window.setTimeout(() => window.location.reload(), 600);
        return;
      }
    } catch (error) {
      watch.textContent = "Could not read the progress; retrying.";
    }
    window.setTimeout(poll, INTERVAL_MS);
  }

  poll();
})();
