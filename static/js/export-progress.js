/* The register's export links (a[data-export]): with scripts on, the file is fetched here and the
   page says how far the download has got: the units the server announced (X-Rows-Total) and the
   bytes received so far, a bar of the rows received for a CSV file. The file is then saved under
   the name the server gave it. Without scripts, or a browser without streams, the link downloads
   the file as it is. The messages come from the link's data-export-* attributes (translated). */
(function () {
  "use strict";
  if (!window.fetch || !window.ReadableStream || !window.Blob || !window.URL || !URL.createObjectURL) {
    return;
  }
  var busy = false;

  function fill(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : whole;
    });
  }

  function size(bytes) {
    if (bytes < 1024 * 1024) {
      return Math.max(1, Math.round(bytes / 1024)) + " KB";
    }
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function fileName(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var encoded = /filename\*=utf-8''([^;]+)/i.exec(header);
    if (encoded) {
      try {
        return decodeURIComponent(encoded[1]);
      } catch (error) {
        // fall through to the plain name
      }
    }
    var plain = /filename="?([^";]+)"?/i.exec(header);
    return plain ? plain[1] : fallback;
  }

  function countLines(bytes) {
    var lines = 0;
    for (var i = 0; i < bytes.length; i += 1) {
      if (bytes[i] === 10) {
        lines += 1;
      }
    }
    return lines;
  }

  // One status line for the page, below the heading whose links start the export.
  function statusFor(link) {
    var box = document.getElementById("export-status");
    if (!box) {
      box = document.createElement("div");
      box.id = "export-status";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      box.appendChild(document.createElement("progress"));
      box.appendChild(document.createTextNode(" "));
      box.appendChild(document.createElement("span"));
      var header = link.closest(".page-header") || link.parentNode;
      header.parentNode.insertBefore(box, header.nextSibling);
    }
    return {
      box: box,
      bar: box.querySelector("progress"),
      text: box.querySelector("span"),
    };
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = name;
    anchor.hidden = true;
    document.body.appendChild(anchor);
    anchor.click();
    anchor.remove();
    window.setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 60000);
  }

  function setBusy(on) {
    busy = on;
    document.querySelectorAll("a[data-export]").forEach(function (link) {
      if (on) {
        link.setAttribute("aria-disabled", "true");
      } else {
        link.removeAttribute("aria-disabled");
      }
    });
  }

  function start(link) {
    var status = statusFor(link);
    var fallback = link.getAttribute("href").split("?")[0].split("/").pop();
    status.box.className = "message export-status";
    status.bar.removeAttribute("value");
    status.text.textContent = link.getAttribute("data-export-preparing");
    setBusy(true);
    fetch(link.href, { credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (response.type === "opaqueredirect") {
          // Refused before any byte (a filter in error, a session that ended): the page says why.
          window.location.reload();
          return null;
        }
        if (!response.ok || !response.body) {
          throw new Error("HTTP " + response.status);
        }
        var total = parseInt(response.headers.get("X-Rows-Total") || "", 10);
        var rows = isNaN(total) ? "" : total.toLocaleString();
        var type = response.headers.get("Content-Type") || "application/octet-stream";
        var csv = type.indexOf("text/csv") === 0 && total > 0;
        var name = fileName(response, fallback);
        var reader = response.body.getReader();
        var chunks = [];
        var received = 0;
        var lines = 0;
        if (csv) {
          status.bar.max = total;
          status.bar.value = 0;
        }
        function show(template) {
          status.text.textContent = fill(template, { rows: rows, size: size(received) });
        }
        function pump() {
          return reader.read().then(function (step) {
            if (step.done) {
              return null;
            }
            chunks.push(step.value);
            received += step.value.length;
            if (csv) {
              lines += countLines(step.value);
              status.bar.value = Math.min(total, Math.max(0, lines - 1)); // the header is a line too
            }
            show(link.getAttribute("data-export-progress"));
            return pump();
          });
        }
        return pump().then(function () {
          save(new Blob(chunks, { type: type }), name);
          status.bar.max = 1;
          status.bar.value = 1;
          status.box.className = "message success export-status";
          show(link.getAttribute("data-export-done"));
        });
      })
      .catch(function () {
        status.bar.max = 1;
        status.bar.value = 0;
        status.box.className = "message error export-status";
        status.text.textContent = link.getAttribute("data-export-failed");
      })
      .then(function () {
        setBusy(false);
      });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-export]") : null;
    if (!link || event.defaultPrevented || event.button !== 0) {
      return;
    }
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return; // a new tab or window, or "save link as": the browser's own download
    }
    event.preventDefault();
    if (!busy) {
      start(link);
    }
  });
})();
