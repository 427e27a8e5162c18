/* The bell's unread count: read once per page from /notify/unread/ (no page pays a query for it). */
(function () {
  "use strict";
  var bell = document.querySelector("a.bell[data-unread-url]");
  if (!bell || !window.fetch) {
    return;
  }
  fetch(bell.getAttribute("data-unread-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      return response.ok ? response.json() : null;
    })
    .then(function (data) {
      var count = bell.querySelector(".bell-count");
      if (!data || !count || !data.unread) {
        return;
      }
      count.textContent = data.unread > 99 ? "99+" : String(data.unread);
      count.hidden = false;
      bell.setAttribute("aria-label", bell.getAttribute("title") + " (" + data.unread + ")");
    })
    .catch(function () {});
})();
