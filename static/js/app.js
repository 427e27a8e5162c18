/* Small progressive enhancements shared by every page; every page works without them. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // A select with data-autosubmit submits its form on change (the submit button is then hidden).
  // data-clear names an input to empty first: a new campaign starts at its own default date.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-autosubmit]") || !select.form) {
      return;
    }
    var clear = select.getAttribute("data-clear");
    if (clear && select.form.elements[clear]) {
      select.form.elements[clear].value = "";
      select.form.elements[clear].removeAttribute("required");
    }
    if (select.form.requestSubmit) {
      select.form.requestSubmit();
    } else {
      select.form.submit();
    }
  });

  // Filter panels start open on a desktop and folded on a phone.
  if (window.matchMedia && window.matchMedia("(min-width: 640px)").matches) {
    document.querySelectorAll("details.filters").forEach(function (panel) {
      panel.open = true;
    });
  }
})();
