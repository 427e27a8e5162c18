/* The offline queue (docs/offline.md), shared by the pages and the service worker.
 *
 * A submission saved without signal is one IndexedDB record, keyed by its idempotency key
 * (crypto.randomUUID, made when the form was first submitted): the form's fields as [name, value]
 * pairs, photos as Blobs. Sending is serialised across every tab and the service worker by one Web
 * Lock, and each record is re-read under the lock before it is sent, so a record already sent by
 * another tab is not sent again; should a send still be repeated (a response lost on the way back),
 * the server answers the same key with the first outcome and writes nothing (fieldsync/middleware.py).
 */
(function (global) {
  "use strict";

  var DB_NAME = "fieldsync";
  var STORE = "entries";
  var LOCK = "fieldsync-send";
  var SENT_KEPT_MS = 7 * 24 * 3600 * 1000;
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("fieldsync") : null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  var opened = null;
  function db() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          var store = req.result.createObjectStore(STORE, { keyPath: "key" });
          store.createIndex("user", "user");
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { opened = null; reject(req.error); };
      });
    }
    return opened;
  }

  function withStore(mode, work) {
    return db().then(function (conn) {
      return new Promise(function (resolve, reject) {
        var tx = conn.transaction(STORE, mode);
        var result;
        Promise.resolve(work(tx.objectStore(STORE))).then(function (value) { result = value; }, reject);
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error || new Error("aborted")); };
      });
    });
  }

  function changed() {
    if (channel) channel.postMessage({ type: "changed" });
    if (global.dispatchEvent && typeof CustomEvent === "function") {
      global.dispatchEvent(new CustomEvent("fieldsync:changed"));
    }
  }

  function all() {
    return withStore("readonly", function (store) { return request(store.getAll()); });
  }

  function get(key) {
    return withStore("readonly", function (store) { return request(store.get(key)); });
  }

  function put(entry) {
    return withStore("readwrite", function (store) { return request(store.put(entry)); }).then(function () {
      changed();
      return entry;
    });
  }

  function remove(key) {
    return withStore("readwrite", function (store) { return request(store.delete(key)); }).then(changed);
  }

  /* Change a record in one transaction (read and write together), so two tabs cannot interleave. */
  function update(key, changes) {
    return withStore("readwrite", function (store) {
      return request(store.get(key)).then(function (entry) {
        if (!entry) return null;
        Object.assign(entry, typeof changes === "function" ? changes(entry) : changes);
        return request(store.put(entry)).then(function () { return entry; });
      });
    }).then(function (entry) { changed(); return entry; });
  }

  /* The fields of a form as storable pairs: strings, and files as {blob, name}. Empty file inputs are left out. */
  function fieldsOf(formData) {
    var fields = [];
    formData.forEach(function (value, name) {
      if (typeof value === "string") {
        fields.push([name, value]);
      } else if (value && value.size > 0) {
        fields.push([name, { blob: value, name: value.name, type: value.type }]);
      }
    });
    return fields;
  }

  function formDataOf(fields, csrf) {
    var data = new FormData();
    fields.forEach(function (pair) {
      var name = pair[0], value = pair[1];
      // A queued form's own token is stale after a new login: a fresh one replaces it.
      if (name === "csrfmiddlewaretoken" && csrf) return;
      if (value && typeof value === "object") data.append(name, value.blob, value.name);
      else data.append(name, value);
    });
    if (csrf) data.append("csrfmiddlewaretoken", csrf);
    return data;
  }

  function photoCount(entry) {
    return (entry.fields || []).filter(function (pair) { return pair[1] && typeof pair[1] === "object"; }).length;
  }

  function decode(text) {
    return text.replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
      .replace(/&#x27;|&#39;/g, "'").replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
  }

  /* The errors a form page shows (Django's <ul class="errorlist">, the 403 page's message), as text.
   * A regular expression rather than DOMParser: the service worker has no DOM. */
  function errorsIn(html) {
    var found = [];
    var lists = html.match(/<ul class="errorlist[^"]*"[^>]*>[\s\S]*?<\/ul>/g) || [];
    lists.forEach(function (list) {
      (list.match(/<li[^>]*>[\s\S]*?<\/li>/g) || []).forEach(function (item) {
        var text = decode(item);
        if (text && found.indexOf(text) < 0) found.push(text);
      });
    });
    if (!found.length) {
      var box = html.match(/<p class="(?:warning-box|error-message)[^"]*"[^>]*>([\s\S]*?)<\/p>/);
      if (box) found.push(decode(box[1]));
    }
    return found;
  }

  function isLoginUrl(url) {
    return /\/accounts\/login\//.test(url || "");
  }

  /* Who is signed in, and a CSRF token: {user, csrf}, {login: true} when signed out, null without signal. */
  function session(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.redirected && isLoginUrl(response.url)) return { login: true };
        if (!response.ok) return null;
        return response.json();
      })
      .catch(function () { return null; });
  }

  /* One POST of a record. Resolves to what became of it:
   *   {state: "sent", location, messages}   accepted now, or earlier (the server replayed the key);
   *   {state: "conflict", message}          refused: the record changed meanwhile, or the form's errors;
   *   {state: "login"}                      signed out: kept, sent after the next login;
   *   {state: "retry", message}             the server failed (5xx): kept, tried again later;
   *   {state: "offline"}                    no network: kept. */
  function send(entry, options) {
    var headers = { "X-Idempotency-Key": entry.key, Accept: "application/json" };
    if (options.csrf) headers["X-CSRFToken"] = options.csrf;
    if (options.queued) headers["X-Fieldsync-Queued"] = "1";
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, options.timeout || 120000) : null;
    return fetch(entry.url, {
      method: "POST",
      body: formDataOf(entry.fields, options.csrf),
      headers: headers,
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
    }).then(function (response) {
      if (timer) clearTimeout(timer);
      var type = response.headers.get("Content-Type") || "";
      if (response.redirected && isLoginUrl(response.url)) return { state: "login" };
      if (type.indexOf("application/json") === 0) {
        return response.json().then(function (body) {
          if (body.ok) return { state: "sent", location: body.location, messages: body.messages || [], replayed: body.replayed };
          return { state: "conflict", message: body.message || String(response.status) };
        });
      }
      return response.text().then(function (html) {
        var errors = errorsIn(html);
        if (response.status >= 500) return { state: "retry", message: errors.join(" ") || String(response.status) };
        return { state: "conflict", message: errors.join(" ") || String(response.status), status: response.status };
      });
    }, function () {
      if (timer) clearTimeout(timer);
      return { state: "offline" };
    });
  }

  function withLock(work) {
    if (global.navigator && navigator.locks && navigator.locks.request) {
      return navigator.locks.request(LOCK, work);
    }
    return work();
  }

  /* Send every waiting record of the signed-in user, oldest first, one at a time. */
  function flush(sessionUrl) {
    return withLock(function () {
      return session(sessionUrl).then(function (who) {
        if (!who) return { offline: true };
        if (who.login) return { login: true };
        return all().then(function (entries) {
          var mine = entries
            .filter(function (e) { return e.status === "pending" && String(e.user) === String(who.user); })
            .sort(function (a, b) { return a.created - b.created; });
          var report = { sent: 0, conflict: 0 };
          return mine.reduce(function (chain, listed) {
            return chain.then(function (stop) {
              if (stop) return stop;
              // Read again under the lock: another tab (or the worker) may have sent it meanwhile.
              return get(listed.key).then(function (entry) {
                if (!entry || entry.status !== "pending") return null;
                return send(entry, { csrf: who.csrf, queued: true }).then(function (result) {
                  return settle(entry, result, report);
                });
              });
            });
          }, Promise.resolve(null)).then(function (stop) {
            if (stop) report[stop] = true;
            return prune().then(function () { return report; });
          });
        });
      });
    });
  }

  /* Record what became of a send; returns "offline"/"login" to stop the round, else null. */
  function settle(entry, result, report) {
    var now = Date.now();
    if (result.state === "sent") {
      report.sent += 1;
      // The photos are not needed any more: free the phone's storage, keep the record of the send.
      return update(entry.key, {
        status: "sent", sentAt: now, location: result.location, message: (result.messages || []).join(" "),
        fields: null, photos: photoCount(entry),
      }).then(function () { return null; });
    }
    if (result.state === "conflict") {
      report.conflict += 1;
      return update(entry.key, { status: "conflict", message: result.message, triedAt: now })
        .then(function () { return null; });
    }
    if (result.state === "retry") {
      return update(entry.key, { message: result.message, triedAt: now, attempts: (entry.attempts || 0) + 1 })
        .then(function () { return null; });
    }
    return Promise.resolve(result.state); // offline or login: stop, keep everything waiting
  }

  /* Sent records are listed for a week, then forgotten. */
  function prune() {
    return all().then(function (entries) {
      var old = entries.filter(function (e) { return e.status === "sent" && Date.now() - e.sentAt > SENT_KEPT_MS; });
      return Promise.all(old.map(function (e) { return remove(e.key); }));
    });
  }

  global.FieldsyncQueue = {
    all: all, get: get, put: put, remove: remove, update: update, fieldsOf: fieldsOf, photoCount: photoCount,
    send: send, flush: flush, session: session, settle: settle, channel: channel, errorsIn: errorsIn,
  };
})(self);
