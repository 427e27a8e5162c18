/* The service worker (served as /sw.js by fieldsync.views.service_worker, which sets self.FIELDSYNC
 * and imports this file after fieldsync-queue.js). docs/offline.md says what it keeps and why.
 *
 * - The app shell (style, scripts, icons, the offline page) is cached at installation.
 * - Static files: from the cache, fetched and kept on first use.
 * - Pages: from the network; a copy of each page opened is kept, and shown when there is no signal.
 *   A page never opened falls back to the offline page, which lists the queue.
 * - Background sync ("fieldsync"): sends the queue when the signal returns, even with no tab open.
 * - A form marked data-offline sent without signal is kept in the queue (IndexedDB) rather than lost.
 * Nothing but GET is ever answered from a cache: form posts always go to the network first.
 */
"use strict";

var CONFIG = self.FIELDSYNC;
var SHELL = "fieldsync-shell-" + CONFIG.version;
var STATIC = "fieldsync-static";
var PAGES = "fieldsync-pages";
var PAGES_KEPT = 80;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL).then(function (cache) {
      // Without cookies: the offline page is the same for whoever uses the phone (no one's name in it).
      return cache.addAll(CONFIG.shell.map(function (url) { return new Request(url, { credentials: "omit" }); }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        // An older shell, and static files of older versions (hashed names that no page asks for).
        return (name.indexOf("fieldsync-shell-") === 0 && name !== SHELL) || name === STATIC;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function isCachablePage(url) {
  return !CONFIG.noCache.some(function (prefix) { return url.pathname.indexOf(prefix) === 0; });
}

function keepPage(request, response) {
  return caches.open(PAGES).then(function (cache) {
    return cache.put(request, response).then(function () {
      return cache.keys();
    }).then(function (keys) {
      // The oldest copies go first (keys come back in insertion order).
      return Promise.all(keys.slice(0, Math.max(0, keys.length - PAGES_KEPT)).map(function (key) {
        return cache.delete(key);
      }));
    });
  });
}

function page(event) {
  var request = event.request;
  var url = new URL(request.url);
  return fetch(request).then(function (response) {
    var type = response.headers.get("Content-Type") || "";
    if (response.ok && !response.redirected && type.indexOf("text/html") === 0 && isCachablePage(url)) {
      event.waitUntil(keepPage(request, response.clone()));
    }
    return response;
  }, function () {
    // Vary (Cookie, Accept-Language) is ignored: the copies are this user's own (the cache is emptied
    // when another signs in), and the queue page is kept by a request of the worker's making.
    return caches.match(request, { cacheName: PAGES, ignoreVary: true }).then(function (kept) {
      return kept || caches.match(CONFIG.offline, { cacheName: SHELL, ignoreVary: true });
    }).then(function (response) {
      return response || Response.error();
    });
  });
}

function staticFile(event) {
  var request = event.request;
  return caches.match(request).then(function (cached) {
    if (cached) return cached;
    return fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.put(request, copy); }));
      }
      return response;
    });
  });
}

/* A form sent without signal: if it is one the phone may keep (it carries fieldsync_key, which
 * fieldsync.js adds to forms marked data-offline), keep it in the queue and show the queue page;
 * the browser's own "no connection" page otherwise. The form's request is read before it is sent,
 * so that its body (photos included) is still there when the network refuses it. */
function formPost(event) {
  var request = event.request;
  var copy = request.clone();
  return fetch(request).catch(function (error) {
    return copy.formData().then(function (data) {
      var key = data.get("fieldsync_key");
      if (!key) throw error;
      var referrer = request.referrer ? new URL(request.referrer) : null;
      var entry = {
        key: key,
        user: data.get("fieldsync_user") || "",
        url: request.url,
        page: referrer && referrer.origin === self.location.origin ? referrer.pathname + referrer.search : CONFIG.queue,
        title: data.get("fieldsync_title") || "",
        created: Date.now(),
        status: "pending",
        attempts: 0,
        message: "",
      };
      data.delete("fieldsync_user");
      data.delete("fieldsync_title");
      entry.fields = self.FieldsyncQueue.fieldsOf(data);
      entry.photos = self.FieldsyncQueue.photoCount(entry);
      return self.FieldsyncQueue.put(entry).then(function () {
        if (self.registration.sync) self.registration.sync.register("fieldsync").catch(function () {});
        // The queue page as kept from a visit (a fragment is not part of the cached page's address).
        return Response.redirect(new URL(CONFIG.queue + "#saved", self.location.origin).href, 303);
      });
    });
  }).catch(function () {
    return Response.error();
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method === "POST" && request.mode === "navigate") {
    event.respondWith(formPost(event));
    return;
  }
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (url.pathname.indexOf(CONFIG.staticPrefix) === 0) {
    event.respondWith(staticFile(event));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "fieldsync") {
    event.waitUntil(self.FieldsyncQueue.flush(CONFIG.session));
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "keep" && typeof data.url === "string" && data.url.indexOf("/") === 0) {
    // A page the phone needs without signal (the queue), fetched now while signed in.
    var request = new Request(data.url, { credentials: "same-origin" });
    event.waitUntil(caches.match(request, { cacheName: PAGES, ignoreVary: true }).then(function (kept) {
      if (kept) return null;
      return fetch(request).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && !response.redirected && type.indexOf("text/html") === 0) return keepPage(request, response);
        return null;
      });
    }).catch(function () { /* no signal: next time */ }));
  }
  if (data.type === "forget-pages") {
    // Signed out, or another user signed in on this phone: no page of the last one stays readable.
    event.waitUntil(caches.delete(PAGES));
  }
});
