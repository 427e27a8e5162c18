/* The navigation's badges: the work waiting for the user, read once per page from the nav's
   data-badges-url (reports.home.badge_counts), so no page pays a query for them. */
(function () {
  "use strict";
  var nav = document.querySelector("nav.site-nav[data-badges-url]");
  if (!nav || !window.fetch) {
    return;
  }
  fetch(nav.getAttribute("data-badges-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      return response.ok ? response.json() : null;
    })
    .then(function (data) {
      if (!data) {
        return;
      }
      Array.prototype.forEach.call(nav.querySelectorAll("[data-badge]"), function (badge) {
        var n = data[badge.getAttribute("data-badge")];
        if (!n) {
          return;
        }
        badge.textContent = n > 99 ? "99+" : String(n);
        badge.hidden = false;
        badge.setAttribute("aria-label", n + "");
      });
    })
    .catch(function () {});
})();
