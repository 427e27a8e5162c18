// Unit form: offer only the chosen township's villages (the server checks the pair as well).
(function () {
  "use strict";
  var township = document.getElementById("id_township");
  var village = document.getElementById("id_village");
  if (!township || !village) return;
  function sync() {
    var chosen = township.value;
    Array.prototype.forEach.call(village.options, function (option) {
      var owner = option.getAttribute("data-township");
      var hide = owner !== null && chosen !== "" && owner !== chosen;
      option.hidden = hide;
      option.disabled = hide;
      if (hide && option.selected) village.value = "";
    });
  }
  township.addEventListener("change", sync);
  sync();
})();
