// Unit form: "使用我的位置" fills 经度/纬度 from the device's position (WGS-84, as GPS gives it;
// docs/map.md). Shown only where the browser offers geolocation (HTTPS or localhost).
(function () {
  "use strict";
  var tools = document.querySelector("[data-position-tools]");
  var lng = document.querySelector("[data-position=lng]");
  var lat = document.querySelector("[data-position=lat]");
  if (!tools || !lng || !lat || !("geolocation" in navigator)) return;
  var button = tools.querySelector("[data-use-position]");
  var status = tools.querySelector("[data-position-status]");
  tools.hidden = false;
  function say(key, metres) {
    status.textContent = (status.getAttribute("data-" + key) || "").replace("{metres}", metres);
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    say("locating");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        lng.value = position.coords.longitude.toFixed(6);
        lat.value = position.coords.latitude.toFixed(6);
        [lng, lat].forEach(function (input) {
          input.dispatchEvent(new Event("change", { bubbles: true }));
        });
        say("done", Math.round(position.coords.accuracy || 0));
        button.disabled = false;
      },
      function (error) {
        say(error.code === 1 ? "denied" : "failed");
        button.disabled = false;
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
    );
  });
})();
