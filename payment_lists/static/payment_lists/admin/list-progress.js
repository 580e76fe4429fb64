// The payment list's admin page while its import runs: poll the progress URL, move the
// progress bar and the status, and reload the page once the list is imported or failed
// (so the error report and the finish time show).
(() => {
  "use strict";

  const watch = document.querySelector("[data-list-watch]");
  if (!watch) return;
  const bar = document.querySelector("[data-list-progress] progress");
  const label = document.querySelector("[data-list-progress] [data-progress-label]");
  const status = document.querySelector(".field-status .readonly");
  const step = document.querySelector(".field-current_step .readonly");
  const INTERVAL_MS = 1000;

  function show(progress) {
    if (bar) {
      bar.max = progress.total || 1;
      bar.value = progress.done;
    }
    if (label) label.textContent = progress.label;
    if (status) status.textContent = progress.status_display;
    if (step) step.textContent = progress.current_step || "-";
    if (progress.finished) watch.textContent = `The list is ${progress.status_display}.`;
    else if (!progress.total) watch.textContent = `Import running (${progress.status_display}): counting the rows…`;
    else watch.textContent = `Import running (${progress.status_display}): ${progress.label} rows.`;
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
