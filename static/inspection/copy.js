// The copy button beside a receipt. It stays hidden without JavaScript: the receipt is plain
// text on the page, to select or write down. The clipboard API needs a secure context (HTTPS or
// the loopback); elsewhere the receipt is selected and copied the older way.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-status"));
    if (!source) { return; }

    function say(copied) {
      if (status) {
        status.textContent = button.getAttribute(copied ? "data-copied" : "data-failed");
      }
    }

    function selectAndCopy() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try {
        return document.execCommand("copy");
      } catch (error) {
        return false;  // still selected: the person can copy it by hand
      }
    }

    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { say(true); },
          function () { say(selectAndCopy()); }
        );
      } else {
        say(selectAndCopy());
      }
    });
  });
}());
