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
        if (job.status !== "failed") { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (link.classList.contains("hidden")) { poll(); }
})();
