// Register forms: a date outside the picked campaign's year (data-campaign-start/-end on the date
// input) shows its warning and confirmation checkbox (templates/enterprises/_date_check.html) as
// soon as it is picked, and the form is not sent until the checkbox is ticked, so that nothing
// chosen with it (photos) has to be chosen again. The server makes the same check
// (enterprises.forms.CampaignDateCheck): without this script the form comes back with the warning.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-date-check]"), function (box) {
    var input = document.getElementById(box.getAttribute("data-date-check"));
    var confirm = box.querySelector("input[type=checkbox]");
    if (!input || !confirm || !input.form) return;
    var start = input.getAttribute("data-campaign-start");
    var end = input.getAttribute("data-campaign-end");
    var unchanged = input.getAttribute("data-campaign-unchanged");

    function outside() {
      var day = input.value; // YYYY-MM-DD: compared as text
      return day !== "" && day !== unchanged && (day < start || day > end);
    }

    function sync() {
      var day = input.value;
      if (confirm.value !== day) {
        confirm.checked = false; // a tick confirms one date only
        confirm.value = day;
      }
      Array.prototype.forEach.call(box.querySelectorAll("[data-date-text]"), function (span) {
        span.textContent = day;
      });
      box.hidden = !outside();
      if (box.hidden) {
        confirm.checked = false;
        box.classList.remove("date-check-missing");
      }
    }

    input.addEventListener("change", sync);
    input.addEventListener("input", sync);
    confirm.addEventListener("change", function () {
      if (confirm.checked) box.classList.remove("date-check-missing");
    });
    input.form.addEventListener("submit", function (event) {
      sync();
      if (outside() && !confirm.checked) {
        event.preventDefault();
        box.classList.add("date-check-missing");
        box.scrollIntoView({ block: "center" });
        confirm.focus();
      }
    });
    if (!box.hidden) sync();
  });
})();
