/* Field entry without signal, in the page (docs/offline.md).
 *
 * - Registers the service worker (/sw.js), which keeps the pages opened for reading offline.
 * - Forms marked data-offline get an idempotency key (fieldsync_key) when first submitted. The
 *   browser sends them as usual; without signal the service worker keeps the form (photos included)
 *   in IndexedDB (fieldsync-queue.js), and it is sent when the signal returns: the online event, the
 *   worker's background sync, or the next page load.
 * - A queued form the server refuses (the record changed meanwhile, or the form's errors) is kept as
 *   a conflict with the server's message; the user opens it (the form filled in again) or discards it.
 * - The badge (#fieldsync-badge) counts what waits; #fieldsync-queue lists the queue.
 */
(function () {
  "use strict";

  var Q = window.FieldsyncQueue;
  var meta = document.querySelector('meta[name="fieldsync"]');
  if (!Q || !meta || !window.indexedDB) return;
  var config = meta.dataset;
  var REOPEN = "fieldsync-reopen";
  var LAST_USER = "fieldsync-user";

  // --- who is signed in on this phone ----------------------------------------------------------

  function forgetPages() {
    if (window.caches) caches.delete("fieldsync-pages");
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget-pages" });
    }
  }

  var user = config.user || "";
  var lastUser = "";
  try { lastUser = localStorage.getItem(LAST_USER) || ""; } catch (e) { /* storage disabled */ }
  if (user && lastUser && user !== lastUser) forgetPages();
  try { if (user) localStorage.setItem(LAST_USER, user); } catch (e) { /* storage disabled */ }
  // Signed out (an expired session): the queue still belongs to the last user of this phone.
  var owner = user || lastUser;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches('form[action$="/accounts/logout/"]')) {
      forgetPages();
      try { localStorage.removeItem(LAST_USER); } catch (e) { /* storage disabled */ }
    }
  }, true);

  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(config.sw, { scope: "/" }).catch(function () { /* the page works without it */ });
    if (user) {
      // Keep the queue page for reading without signal, as this user sees it.
      navigator.serviceWorker.ready.then(function (registration) {
        if (registration.active) registration.active.postMessage({ type: "keep", url: config.queue });
      });
    }
  }

  // --- texts (translated by the template) ------------------------------------------------------

  var texts = {};
  function loadTexts() {
    var template = document.getElementById("fieldsync-texts");
    if (!template) return;
    template.content.querySelectorAll("[data-text]").forEach(function (node) {
      texts[node.dataset.text] = node.textContent;
    });
  }
  function text(name, value) {
    var said = texts[name] || name;
    return value === undefined ? said : said.replace("%s", value);
  }

  // --- the forms -------------------------------------------------------------------------------

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function notice(before, content, kind) {
    var box = before.parentNode.querySelector(".fieldsync-notice");
    if (!box) {
      box = document.createElement("div");
      box.setAttribute("role", "status");
      before.parentNode.insertBefore(box, before);
    }
    box.className = "fieldsync-notice " + (kind || "");
    box.textContent = "";
    box.appendChild(content);
    return box;
  }

  /* What the queue calls the record: the form's data-offline-title, else the page's heading and,
   * for a new record, the name typed in. */
  function titleOf(form) {
    if (form.dataset.offlineTitle) return form.dataset.offlineTitle;
    var heading = document.querySelector("main h1");
    var title = heading ? heading.textContent.trim() : document.title;
    var name = form.querySelector("input[name=name]");
    return name && name.value.trim() ? title + "：" + name.value.trim() : title;
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

  /* The browser sends the form as usual, with its key: with signal the server answers as always
   * (and applies the key once); without, the service worker keeps the form in the queue. */
  function intercept(form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      var reopened = form.dataset.fieldsyncReopened;
      hidden(form, "fieldsync_key", reopened || newKey());
      hidden(form, "fieldsync_user", owner);
      hidden(form, "fieldsync_title", titleOf(form));
      if (!reopened) return;
      // A conflict edited and sent again, under its own key (never applied: the server refused it).
      // Saved as waiting first, so that it is not lost whatever becomes of this send; sent with
      // signal, the next round finds the key applied and only marks it sent.
      event.preventDefault();
      var data;
      try { data = new FormData(form, event.submitter || undefined); } catch (e) { data = new FormData(form); }
      data.delete("fieldsync_user");
      data.delete("fieldsync_title");
      var fields = Q.fieldsOf(data);
      Q.update(reopened, {
        fields: fields, status: "pending", message: "", title: titleOf(form),
        photos: Q.photoCount({ fields: fields }), created: Date.now(),
      }).then(function () {
        try { sessionStorage.removeItem(REOPEN); } catch (e) { /* storage disabled */ }
        HTMLFormElement.prototype.submit.call(form);
      });
    });
  }

  /* The queue page, opened by the service worker after it kept a form: say so. */
  function savedNotice() {
    var panel = document.getElementById("fieldsync-queue");
    if (!panel || location.hash !== "#saved") return;
    var content = document.createDocumentFragment();
    content.appendChild(element("strong", "", text("saved-offline")));
    notice(panel, content, "queued").id = "fieldsync-saved";
  }

  // --- opening a conflict again ----------------------------------------------------------------

  function fill(form, entry) {
    var files = {};
    (entry.fields || []).forEach(function (pair) {
      var name = pair[0], value = pair[1];
      // The page's own token and version are current; the key is set again on submit.
      if (name === "csrfmiddlewaretoken" || name === "fieldsync_version" || name === "fieldsync_key") return;
      if (value && typeof value === "object") {
        (files[name] = files[name] || []).push(new File([value.blob], value.name, { type: value.type || value.blob.type }));
        return;
      }
      form.querySelectorAll('[name="' + CSS.escape(name) + '"]').forEach(function (field) {
        if (field.type === "checkbox" || field.type === "radio") {
          if (field.value === value) field.checked = true;
        } else if (field.tagName === "SELECT" && field.multiple) {
          Array.prototype.forEach.call(field.options, function (o) { if (o.value === value) o.selected = true; });
        } else if (field.type !== "file" && field.type !== "submit" && field.type !== "hidden") {
          field.value = value;
        }
      });
    });
    Object.keys(files).forEach(function (name) {
      var input = form.querySelector('input[type=file][name="' + CSS.escape(name) + '"]');
      if (!input || typeof DataTransfer !== "function") return;
      var transfer = new DataTransfer();
      files[name].forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function reopen(forms) {
    var key;
    try { key = sessionStorage.getItem(REOPEN); } catch (e) { return; }
    if (!key) return;
    Q.get(key).then(function (entry) {
      if (!entry || entry.status !== "conflict") return;
      var form = forms.filter(function (f) { return f.action === entry.url; })[0];
      if (!form) return;
      fill(form, entry);
      form.dataset.fieldsyncReopened = entry.key;
      var fragment = document.createDocumentFragment();
      var strong = document.createElement("strong");
      strong.textContent = text("reopened");
      fragment.appendChild(strong);
      var said = document.createElement("p");
      said.className = "fieldsync-message";
      said.textContent = entry.message || "";
      fragment.appendChild(said);
      notice(form, fragment, "conflict").id = "fieldsync-reopened";
    });
  }

  // --- the badge and the queue page ------------------------------------------------------------

  function mine(entries) {
    return entries.filter(function (e) { return String(e.user) === String(owner); });
  }

  function updateBadge(entries) {
    var badge = document.getElementById("fieldsync-badge");
    if (!badge) return;
    var waiting = mine(entries).filter(function (e) { return e.status !== "sent"; });
    var count = badge.querySelector(".fieldsync-count");
    if (count) count.textContent = String(waiting.length);
    badge.hidden = waiting.length === 0;
    badge.classList.toggle("has-conflict", waiting.some(function (e) { return e.status === "conflict"; }));
  }

  function when(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function item(entry) {
    var li = element("li", "fieldsync-item fieldsync-" + entry.status);
    li.dataset.key = entry.key;
    li.dataset.status = entry.status;
    var head = element("div", "fieldsync-item-head");
    head.appendChild(element("strong", "", entry.title));
    head.appendChild(element("span", "badge " + ({ pending: "badge-yellow", sent: "badge-green", conflict: "badge-red" }[entry.status] || ""), text(entry.status)));
    li.appendChild(head);
    var facts = [text("saved-at", when(entry.created))];
    if (entry.photos) facts.push(text("photos", entry.photos));
    if (entry.sentAt) facts.push(text("sent-at", when(entry.sentAt)));
    li.appendChild(element("div", "muted", facts.join(" · ")));
    if (entry.message && entry.status === "conflict") li.appendChild(element("p", "fieldsync-message", entry.message));
    else if (entry.message && entry.status === "pending") li.appendChild(element("p", "muted", text("retry", entry.message)));
    else if (entry.message) li.appendChild(element("p", "muted", entry.message));
    var actions = element("div", "fieldsync-actions");
    if (entry.status === "conflict") {
      var open = element("button", "btn btn-primary", text("open"));
      open.type = "button";
      open.dataset.action = "open";
      actions.appendChild(open);
    }
    if (entry.status !== "sent") {
      var discard = element("button", "btn btn-secondary", text("discard"));
      discard.type = "button";
      discard.dataset.action = "discard";
      actions.appendChild(discard);
    }
    if (entry.status === "sent" && entry.location) {
      var view = element("a", "btn btn-secondary", text("view"));
      view.href = entry.location;
      actions.appendChild(view);
    }
    li.appendChild(actions);
    return li;
  }

  var state = { login: false };

  function renderQueue(entries) {
    var panel = document.getElementById("fieldsync-queue");
    if (!panel) return;
    var list = panel.querySelector('[data-role="list"]');
    var loading = panel.querySelector('[data-role="loading"]');
    if (loading) loading.hidden = true;
    var status = panel.querySelector('[data-role="status"]');
    var own = mine(entries);
    var others = entries.filter(function (e) { return String(e.user) !== String(owner) && e.status !== "sent"; });
    status.textContent = "";
    var lines = [];
    lines.push(navigator.onLine ? text("online") : text("offline"));
    if (state.login) lines.push(text("login"));
    if (others.length) lines.push(text("other-users", others.length));
    lines.forEach(function (line) { status.appendChild(element("p", "", line)); });
    status.className = "fieldsync-status" + (navigator.onLine ? "" : " is-offline");
    list.textContent = "";
    var groups = [["conflict", "group-conflict"], ["pending", "group-pending"], ["sent", "group-sent"]];
    var any = false;
    groups.forEach(function (group) {
      var rows = own.filter(function (e) { return e.status === group[0]; })
        .sort(function (a, b) { return (b.sentAt || b.created) - (a.sentAt || a.created); });
      if (!rows.length) return;
      any = true;
      var section = element("section", "card fieldsync-group");
      section.dataset.group = group[0];
      section.appendChild(element("h2", "", text(group[1]) + " (" + rows.length + ")"));
      var ul = element("ul", "fieldsync-list");
      rows.forEach(function (e) { ul.appendChild(item(e)); });
      section.appendChild(ul);
      list.appendChild(section);
    });
    if (!any) list.appendChild(element("p", "muted fieldsync-empty", text("empty")));
    var sendAll = panel.querySelector('[data-action="send-all"]');
    sendAll.hidden = !navigator.onLine || !own.some(function (e) { return e.status === "pending"; });
  }

  var counts = { pending: 0, sent: 0, conflict: 0 };
  function refresh() {
    return Q.all().then(function (entries) {
      counts.pending = counts.sent = counts.conflict = 0;
      mine(entries).forEach(function (e) { counts[e.status] = (counts[e.status] || 0) + 1; });
      updateBadge(entries);
      renderQueue(entries);
      return entries;
    });
  }

  function onQueueClick(event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    var action = button.dataset.action;
    if (action === "send-all") { flush(); return; }
    var li = button.closest("[data-key]");
    if (!li) return;
    var key = li.dataset.key;
    if (action === "discard") {
      if (window.confirm(text("discard-confirm"))) Q.remove(key);
    } else if (action === "open") {
      Q.get(key).then(function (entry) {
        if (!entry) return;
        try { sessionStorage.setItem(REOPEN, key); } catch (e) { /* storage disabled */ }
        window.location.assign(entry.page);
      });
    }
  }

  // --- sending ---------------------------------------------------------------------------------

  var flushing = null;
  function flush() {
    if (!navigator.onLine || !owner) return Promise.resolve(null);
    if (flushing) return flushing;
    flushing = Q.flush(config.session).then(function (report) {
      state.login = !!(report && report.login);
      return report;
    }, function () { return null; }).then(function (report) {
      flushing = null;
      return refresh().then(function () { return report; });
    });
    return flushing;
  }

  // --- start -----------------------------------------------------------------------------------

  function start() {
    loadTexts();
    var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-offline]"));
    forms.forEach(intercept);
    reopen(forms);
    savedNotice();
    var panel = document.getElementById("fieldsync-queue");
    if (panel) panel.addEventListener("click", onQueueClick);
    window.addEventListener("fieldsync:changed", refresh);
    if (Q.channel) Q.channel.addEventListener("message", refresh);
    window.addEventListener("online", function () { flush(); });
    window.addEventListener("offline", refresh);
    window.FieldsyncPage = { flush: flush, refresh: refresh, counts: counts };
    refresh().then(function (entries) {
      if (mine(entries).some(function (e) { return e.status === "pending"; })) flush();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
