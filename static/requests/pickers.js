// A picker that follows another field: the assign form's handler select offers only the
// handlers of the department chosen above it (requests_app/forms.py, HandlerSelect). Without
// this script every handler is offered, grouped by department, and the server refuses a handler
// of another department.
(function () {
  "use strict";
  document.querySelectorAll("select[data-follows]").forEach(function (picker) {
    var leader = document.getElementById(picker.getAttribute("data-follows"));
    if (!leader) {
      return;
    }
    function narrow() {
      Array.prototype.forEach.call(picker.querySelectorAll("option[data-department]"), function (option) {
        var other = leader.value !== "" && option.getAttribute("data-department") !== leader.value;
        option.hidden = other;
        option.disabled = other;
        if (other && option.selected) {
          picker.value = "";
        }
      });
      Array.prototype.forEach.call(picker.querySelectorAll("optgroup"), function (group) {
        group.hidden = group.querySelector("option:not([hidden])") === null;
      });
    }
    leader.addEventListener("change", narrow);
    narrow();
  });
})();
