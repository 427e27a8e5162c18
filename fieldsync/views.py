"""The installable web app's files (manifest, service worker) and the offline queue's pages.

The queue itself lives in the phone's browser (IndexedDB); these pages carry no data of the server's
but the signed-in user's id and a CSRF token (``session``), which the queue's sender needs.
"""

import hashlib
import json

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.access import ALL_ROLES, allow, public

# What the service worker keeps from its installation on, so that a page opens without signal: the
# site's style and scripts, the queue's scripts, the icons and the offline page (which lists the queue).
SHELL_STATIC = (
    "css/app.css",
    "css/notify.css",
    "css/register.css",
    "css/fieldsync.css",
    "js/app.js",
    "js/notify-bell.js",
    "js/campaign-dates.js",
    "js/village-filter.js",
    "js/fieldsync.js",
    "js/fieldsync-queue.js",
    "fieldsync/icon-192.png",
    "fieldsync/icon-512.png",
)
# Read by the service worker itself (importScripts): a change to either updates the installed worker.
WORKER_SCRIPTS = ("js/fieldsync-queue.js", "js/fieldsync-sw.js")


@public
@require_safe
def manifest(request):
    """The web app manifest: what a phone's "add to home screen" installs."""
    data = {
        "name": _("四无整治督考平台"),
        "short_name": _("四无整治"),
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": reverse("reports:dashboard"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#174a83",
        "icons": [
            {"src": static("fieldsync/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("fieldsync/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("fieldsync/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


def _worker_config():
    shell = [static(name) for name in SHELL_STATIC] + [reverse("fieldsync:offline")]
    # The version names the shell's cache: it changes when a listed file (or its hashed name) does.
    fingerprint = hashlib.sha256()
    for name in SHELL_STATIC + WORKER_SCRIPTS:
        fingerprint.update(static(name).encode())
        found = finders.find(name)
        if found:
            with open(found, "rb") as file:
                fingerprint.update(file.read())
    return {
        "version": fingerprint.hexdigest()[:16],
        "shell": shell,
        "staticPrefix": settings.STATIC_URL,  # static("") has no manifest entry when files are hashed
        "offline": reverse("fieldsync:offline"),
        "session": reverse("fieldsync:session"),
        "queue": reverse("fieldsync:queue"),
        # Pages never kept for reading offline: sign-in, the admin site, downloads.
        "noCache": ["/accounts/", "/admin/", "/exports/", "/imports/", reverse("fieldsync:session")],
    }


@public
@require_safe
@never_cache
def service_worker(request):
    """The service worker, from the site's root so that it may control every page (scope "/")."""
    config = json.dumps(_worker_config(), ensure_ascii=False)
    scripts = ", ".join(json.dumps(static(name)) for name in WORKER_SCRIPTS)
    body = f"self.FIELDSYNC = {config};\nimportScripts({scripts});\n"
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@public
@require_safe
def offline(request):
    """Shown by the service worker for a page that was never opened while there was signal."""
    return render(request, "fieldsync/offline.html")


@allow(get=ALL_ROLES)
def queue(request):
    """What the phone holds: waiting to be sent, sent, in conflict (rendered by static/js/fieldsync.js)."""
    return render(request, "fieldsync/queue.html")


@never_cache
@allow(get=ALL_ROLES)
def session(request):
    """Who is signed in, and a CSRF token for the queue's sends (a queued form's own token may be stale)."""
    return JsonResponse({"user": request.user.pk, "csrf": get_token(request)})
