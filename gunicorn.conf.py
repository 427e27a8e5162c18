"""gunicorn settings for 四无整治督考平台: `make serve`, or `gunicorn -c gunicorn.conf.py siwu.wsgi`.

Every value can be set from the environment (GUNICORN_*); docs/deployment.md explains the choices.
The application's own request log (JSON, with the request id) replaces gunicorn's access log.
"""

import gc
import multiprocessing
import os

wsgi_app = "siwu.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# Sync workers: the pages are CPU-bound (templates, counting) and short; one request per process
# keeps a slow export from holding up anything but its own worker. 2 × cores + 1 is gunicorn's
# rule of thumb; each worker holds one database connection (CONN_MAX_AGE).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# An upload of a large screening list is checked within the request (docs/performance.md: seconds,
# not minutes); a worker silent for longer than this is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Replace each worker after a few thousand requests, at staggered times, so that memory a library
# keeps growing is returned without all workers restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10

# Load Django once in the master: workers fork ready to serve, so a worker that dies (or is
# killed) is replaced in milliseconds. No database connection is opened before the fork.
preload_app = True
# The heartbeat file on tmpfs: a container's overlay disk can stall it and get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # nosec B108  # gunicorn heartbeat files on tmpfs, as gunicorn's documentation advises

# Trust X-Forwarded-* only from the reverse proxy (its address, comma-separated).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No control socket: it lives at one path per user, which several instances on a host would share.
control_socket_disable = True


def when_ready(server):
    """Warm up in the master, once: every worker forks with the URL map and the catalogs loaded.

    Otherwise each new worker spends its first request (about half a second) importing every view.
    """
    from django.db import connections
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().url_patterns  # noqa: B018 (imports the views)
    for language in ("zh-hans", "en"):
        with translation.override(language):
            translation.gettext("四无整治督考平台")
    connections.close_all()
    # What is loaded now lives as long as the process: moved out of the garbage collector's sight,
    # its full collections (about one a request) no longer walk Django's few hundred thousand
    # objects, and the workers do not copy the pages the collector would have touched.
    gc.collect()
    gc.freeze()
