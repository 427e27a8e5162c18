/* Sortable tables: <table class="sortable"> whose <th data-sort="number|text"> become buttons.
   A cell sorts by its data-sort-value when it has one, else by its text; empty values sort last. */
(function () {
  "use strict";
  var collator = new Intl.Collator(document.documentElement.lang || undefined, { numeric: true });

  function cellValue(row, index, type) {
    var cell = row.children[index];
    if (!cell) {
      return null;
    }
    var raw = cell.hasAttribute("data-sort-value") ? cell.getAttribute("data-sort-value") : cell.textContent;
    raw = raw.trim();
    if (raw === "") {
      return null;
    }
    if (type === "number") {
      var n = parseFloat(raw.replace(/[^0-9.+-]/g, ""));
      return isNaN(n) ? null : n;
    }
    return raw;
  }

  function sortBy(table, header, index) {
    var type = header.getAttribute("data-sort");
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type);
      var y = cellValue(b, index, type);
      if (x === null || y === null) {
        return x === y ? 0 : x === null ? 1 : -1;
      }
      var order = type === "number" ? x - y : collator.compare(x, y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) {
      body.appendChild(row);
    });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th[data-sort]").forEach(function (header) {
      var index = Array.prototype.indexOf.call(header.parentNode.children, header);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (header.firstChild) {
        button.appendChild(header.firstChild);
      }
      header.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(table, header, index);
      });
    });
  });
})();
