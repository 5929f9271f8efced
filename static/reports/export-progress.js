// Polls an export job's status and moves its progress bar; shows the download link when done.
(function () {
  "use strict";
  var box = document.querySelector(".export-job");
  if (!box) { return; }
  var bar = box.querySelector(".export-progress");
  var count = box.querySelector(".export-count");
  var state = box.querySelector(".export-state");
  var link = box.querySelector(".export-download");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { return; }
        bar.value = job.progress;
        count.textContent = job.done;
        state.textContent = job.label;
        if (job.status === "done") { link.classList.remove("hidden"); return; }
        // A failed job: the page itself says why (the error is rendered by the server).
        if (job.status === "failed") { window.location.reload(); return; }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  // A job already done or failed has nothing to wait for; the page says what happened.
  if (box.dataset.status !== "done" && box.dataset.status !== "failed") { poll(); }
})();
