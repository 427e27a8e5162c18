"""Running in production: request ids and the request log, the health check, the error pages.

Every request gets an id: a sane ``X-Request-ID`` from the reverse proxy is kept (so the proxy's
log and ours name the same request), otherwise a fresh uuid4. The id goes back in the response
header, onto every log line written while the request runs, and into the audit trail
(``core.history.fill_audit_fields`` reads ``request.request_id``). One structured line per
request is logged on ``siwu.request``: id, method, path, status, duration and CPU milliseconds, user.

The error pages are rendered without the database and without context processors (they are what
a visitor sees when the database is gone): a database that cannot be reached answers 503 with
``templates/503.html``, any other failure 500 with ``templates/500.html``.
"""

import contextvars
import datetime
import ipaddress
import json
import logging
import re
import sys
import time
import uuid

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .access import public
from .csp import allow_own_styles

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a proxy: short, and nothing a log reader or a header could trip over.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# Seconds a client is asked to wait before retrying while the database is away.
RETRY_AFTER = 10

request_logger = logging.getLogger("siwu.request")
_current_request_id = contextvars.ContextVar("siwu_request_id", default="")


def current_request_id():
    """The id of the request being served by this thread, or "" outside a request."""
    return _current_request_id.get()


def request_id_from(request):
    """The incoming ``X-Request-ID`` when it is sane, else a new uuid4 (hex)."""
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    return incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def _user_id(request):
    # Only a user the request already loaded: looking the user up here would cost a query on every
    # public page, and would fail when the database is what went wrong.
    user = getattr(request, "_cached_user", None)
    return user.pk if user is not None and user.is_authenticated else None


class RequestIdMiddleware:
    """Outermost middleware: names the request, answers the id, logs one line when it is done."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request)
        token = _current_request_id.set(request.request_id)
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            response = self.get_response(request)
            # CPU time of this thread: what the request cost the server, whatever else ran meanwhile.
            # Read before the wall clock, so the CPU interval lies inside the wall one (cpu ≤ duration).
            cpu_ms = round((time.thread_time() - cpu_started) * 1000, 1)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            response[REQUEST_ID_HEADER] = request.request_id
            # The path without its query string: searches can hold names and phone numbers.
            request_logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "cpu_ms": cpu_ms,
                    "user_id": _user_id(request),
                    "remote_addr": request.META.get("REMOTE_ADDR", ""),
                },
            )
            return response
        finally:
            _current_request_id.reset(token)


def _networks(entries):
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _trusted(address, networks):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(remote_addr, forwarded_for, networks):
    """The client's address behind trusted proxies: the right-most X-Forwarded-For hop that is not one.

    Only a request that came from a trusted proxy is believed, and only as far back as the chain
    of trusted proxies goes: anything left of that was written by the client and proves nothing.
    """
    if not networks or not _trusted(remote_addr, networks):
        return remote_addr
    for hop in reversed([hop.strip() for hop in forwarded_for.split(",") if hop.strip()]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote_addr
    return remote_addr


class TrustedProxyMiddleware:
    """Behind a load balancer, REMOTE_ADDR becomes the client's (TRUSTED_PROXIES names the proxies).

    The audit trail, the request log and the login lockout (per user name and address) all read
    REMOTE_ADDR; without this they would all see the load balancer.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.networks = _networks(getattr(settings, "TRUSTED_PROXIES", ()))

    def __call__(self, request):
        if self.networks:
            request.META["REMOTE_ADDR"] = forwarded_client(
                request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""), self.networks
            )
        return self.get_response(request)


# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request id and any ``extra``."""

    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# --- health ----------------------------------------------------------------------------------------


@public
@require_safe
@never_cache
def health(request):
    """200 when every configured database answers ``SELECT 1``, else 503: for load balancers.

    It touches neither the session nor the user, so it answers (503) while the database is down.
    """
    databases = {}
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError:
            databases[alias] = "unavailable"
        else:
            databases[alias] = "ok"
    healthy = all(state == "ok" for state in databases.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "databases": databases}, status=200 if healthy else 503
    )


# --- error pages -----------------------------------------------------------------------------------


def database_unreachable(exc):
    """True for the errors a lost or restarting database raises (not for a bad query)."""
    return isinstance(exc, OperationalError | InterfaceError)


def server_error(request):
    """handler500: 503 with a retry hint when the database is unreachable, 500 otherwise.

    Rendered from the template alone (no RequestContext, so no context processor runs a query).
    """
    context = {"request_id": getattr(request, "request_id", "")}
    if database_unreachable(sys.exc_info()[1]):
        response = HttpResponse(loader.get_template("503.html").render(context), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return allow_own_styles(response)
    return allow_own_styles(HttpResponse(loader.get_template("500.html").render(context), status=500))
