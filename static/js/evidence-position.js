/* Evidence photos: when photos are chosen in a form, the phone's position is asked for once and sent
   with them (hidden fields taken_longitude / taken_latitude, WGS-84, and taken_time, the fix's time), so a photo whose file carries no
   place still records where it was uploaded (core/evidence.py). Refused or unavailable: the
   photos are sent without it, and nothing is held up. */
(function () {
  "use strict";
  if (!navigator.geolocation) {
    return;
  }
  function hidden(form, name, value) {
    var input = form.querySelector('input[type=hidden][name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.type !== "file" || !input.form || !input.files || !input.files.length) {
      return;
    }
    if ((input.getAttribute("accept") || "").indexOf("image") === -1) {
      return;
    }
    var form = input.form;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        hidden(form, "taken_longitude", position.coords.longitude.toFixed(6));
        hidden(form, "taken_latitude", position.coords.latitude.toFixed(6));
        hidden(form, "taken_time", new Date(position.timestamp).toISOString());
      },
      function () {},
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 120000 }
    );
  });
})();
