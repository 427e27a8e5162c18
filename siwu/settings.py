"""Settings for 四无整治督考平台.

Everything that differs between a laptop and a server comes from the environment. The defaults are
production-safe: DEBUG is off and SECRET_KEY must be given. `make run` sets what a laptop demo
needs (a local key, HTTPS=false, SQLite inside the project); the test suite sets DEBUG=true at
import (tests/settings_env.py) and pytest-django turns DEBUG off again for every test.
"""

import datetime
import os
from pathlib import Path

import dj_database_url

# python-docx (the notices) brings lxml, and openpyxl switches to it when it can import it: its xlsx
# would then write Chinese as character references (&#22478;). Keep openpyxl's own writer; this must
# be set before openpyxl is first imported, which settings (loaded first) guarantee.
os.environ.setdefault("OPENPYXL_LXML", "False")
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)


def _secret_key():
    """SECRET_KEY from the environment; without it, a random key of this installation, made once and
    kept (readable by its owner only) in SECRET_KEY_FILE (default ``<project>/.secret-key``).

    Never a key written in the code. Several servers must share one key: set SECRET_KEY on each
    (docs/deployment.md). A key that cannot be read or written stops the process with a message.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(os.environ.get("SECRET_KEY_FILE", BASE_DIR / ".secret-key"))
    try:
        if not path.exists():
            import secrets

            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(50))
        key = path.read_text().strip()
    except FileExistsError:  # another process made it meanwhile
        key = path.read_text().strip()
    except OSError as exc:
        raise RuntimeError(
            f"SECRET_KEY must be set: it is not in the environment and {path} cannot be read or written ({exc})"
        ) from exc
    if len(key) < 50:
        raise RuntimeError(f"SECRET_KEY must be set: {path} holds no usable key (50 characters at least)")
    return key


SECRET_KEY = _secret_key()
# Without a configured host name, only this machine's names: a deployment names its own.
_HOSTS_GIVEN = bool(os.environ.get("ALLOWED_HOSTS"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
# Addresses (or networks) of the reverse proxies and load balancers in front of the servers.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    # The floors, ground first (docs/architecture.md). core before simple_history: its
    # clean_old_history (which keeps 183 days) shadows the library's.
    "core.apps.CoreConfig",
    "campaign.apps.CampaignConfig",
    "fieldsync.apps.FieldsyncConfig",
    "enterprises.apps.EnterprisesConfig",
    "inspections.apps.InspectionsConfig",
    # Reminders and their outbox (docs/notify.md): the outbox below the inspections, its reminder
    # rules above them (pyproject.toml's layers).
    "notify.apps.NotifyConfig",
    "reports.apps.ReportsConfig",
    "demo.apps.DemoConfig",
    "simple_history",
    "axes",
    "csp",
]

MIDDLEWARE = [
    # First: every response, even a redirect or a static file, carries the request id, and every
    # request is logged once (core/ops.py).
    "core.ops.RequestIdMiddleware",
    # Behind a load balancer: the client's address from X-Forwarded-For, believed from TRUSTED_PROXIES only.
    "core.ops.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from gunicorn (compressed, hashed names, cached forever); no web server
    # needed in front for them, and no request for one reaches Django.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Deny by default: a view that does not declare who may use it is refused (core/access.py).
    "core.middleware.AccessPolicyMiddleware",
    # Queued offline submissions sent again are answered once (docs/offline.md).
    "fieldsync.middleware.IdempotencyMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "siwu.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "campaign.context_processors.picker",
                "core.access.access_context",
            ],
        },
    },
]

WSGI_APPLICATION = "siwu.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # A server keeps its connection between requests (a new PostgreSQL connection costs a process
        # fork); the health check before each request reconnects after a database restart.
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0" if DEBUG else "60")),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", default=True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database host fails the request in seconds (503) rather than at the worker timeout.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", int(os.environ.get("DB_CONNECT_TIMEOUT", "5")))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers (report pages) run while a writer (an import) holds the lock.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Logins ---------------------------------------------------------------------------------------

# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading the signed-in user with their role and township in one query.
    "core.backends.UserBackend",
]
# Lock a username from one address only: a township office shares one NAT address, and one
# person's typos must not lock out the whole office (nor can anyone lock a user out from afar).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The address is REMOTE_ADDR (a reverse proxy must set it to the client's, see core/history.py).
AXES_CLIENT_IP_CALLABLE = "core.history.client_address"

# Idle timeout: a session ends 30 minutes after the last request (core/sessions.py refreshes
# the expiry at most once a minute rather than writing the session on every request).
SESSION_ENGINE = "core.sessions"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_MINUTES", "30")) * 60
SESSION_REFRESH_AFTER = 60

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Evidence photos. No URL serves this folder: each photo goes out through a view that checks who
# asks (enterprises.views.rectification_photo); MEDIA_URL only names it. The reverse proxy must not
# expose MEDIA_ROOT either. Several servers share it over a network file system (docs/deployment.md).
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Evidence files are readable by the server's user and group only (not by every local user), and so
# are the folders they are written into; backups keep these modes (docs/backup.md).
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
STORAGES = {
    # A photo is written whole or not at all, and removed again if its rows are rolled back.
    "default": {"BACKEND": "core.storage.WholeFileStorage"},
    # In production, `collectstatic` writes hashed names (cached for a year by browsers) and gzip
    # copies that WhiteNoise serves; in development the files are served as they are.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# While developing, WhiteNoise serves the files from static/ as they change; in production it
# indexes STATIC_ROOT once at start.
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reports:home"  # each role's own first screen (reports/home.py)
LOGOUT_REDIRECT_URL = "login"

# --- HTTPS in production --------------------------------------------------------------------------

if not DEBUG:
    # HTTPS=false is for an intranet where nothing terminates TLS: cookies then travel over plain
    # HTTP (a browser would not send a Secure cookie back) and nothing redirects or pins to HTTPS.
    # `check --deploy` keeps warning about it (W004, W008, W012, W016): that is the truth about HTTP.
    # A deployment that names its host serves it over TLS unless it says HTTPS=false; with no host
    # configured (this machine's names only: a trial, a laptop) nothing terminates TLS.
    HTTPS = env_bool("HTTPS", default=_HOSTS_GIVEN)
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
    # A load balancer probes each server directly over HTTP: the health check is not redirected.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    # HSTS pins the host to HTTPS in browsers for this long; raise it once HTTPS is known to work.
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "3600" if HTTPS else "0"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
    # Behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO (value "https").
    if os.environ.get("SECURE_PROXY_SSL_HEADER"):
        SECURE_PROXY_SSL_HEADER = (os.environ["SECURE_PROXY_SSL_HEADER"], "https")

# --- Content-Security-Policy (django-csp) -----------------------------------------------------------

# Everything the pages load comes from this server (no CDN on a government intranet), and no page
# needs inline script or style: scripts and styles are files under static/, data for charts travels
# in <script type="application/json"> blocks, which a policy does not execute. Charts and the
# notice's figure are data: or blob: images. The browser tests fail on any violation.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

SILENCED_SYSTEM_CHECKS = [
    # security.W005 (HSTS without includeSubDomains): the city's domain also names other
    # departments' systems, some of them on plain HTTP; pinning them all to HTTPS is not this
    # application's decision. SECURE_HSTS_INCLUDE_SUBDOMAINS=true turns it on where it is.
    "security.W005",
    # security.W021 (no HSTS preload): preloading submits the domain to the browsers' public list,
    # which an intranet name is not on and cannot be; SECURE_HSTS_PRELOAD=true where it applies.
    "security.W021",
]
if not DEBUG and not HTTPS:
    # HTTPS=false is the documented intranet setup: the four warnings about plain HTTP (no Secure
    # cookies, no redirect, no HSTS) would stop `make serve`. They are replaced by one notice,
    # campaign.I001 (core/checks.py), which `check --deploy` prints without failing.
    SILENCED_SYSTEM_CHECKS += ["security.W004", "security.W008", "security.W012", "security.W016"]

# Upper bound on rows read from one screening list; reading stops there with an error.
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "200000"))

# Evidence photos (enterprises/photos.py): what one photo and one submission may cost. Each photo's
# header is read first; nothing is decoded unless every photo of the submission is within these.
for _name in (
    "PHOTO_MAX_UPLOAD_BYTES",
    "PHOTO_MAX_PHOTOS",
    "PHOTO_MAX_PIXELS",
    "PHOTO_MAX_FULL_DECODE_PIXELS",
    "PHOTO_MAX_DECODE_BYTES",
    "PHOTO_MAX_REQUEST_PIXELS",
    "PHOTO_MAX_REQUEST_DECODE_BYTES",
):
    if os.environ.get(_name):
        globals()[_name] = int(os.environ[_name])

# Nothing here keeps state in one process that another worker or server would need to see:
# sessions are rows (core/sessions.py), messages a signed cookie, login lockouts rows
# (django-axes' database handler), CSRF tokens a cookie. Django's cache is unused (and per process);
# the report pages' count cache (reports/counts/cache.py) is per process too, but keyed on versions
# the database keeps, so every process is right on its own.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Logs -----------------------------------------------------------------------------------------

# One line per event on stderr: JSON in production (LOG_FORMAT=json, with the request id on every
# line written during a request), plain text while developing.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "core.ops.JsonFormatter"},
        "text": {"format": "%(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.environ.get("LOG_FORMAT", "text" if DEBUG else "json"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        # Refusals (siwu.access) are always logged, whatever LOG_LEVEL hides.
        "siwu.access": {"level": "WARNING"},
        # The request log: one line per request (core.ops.RequestIdMiddleware). runserver logs
        # requests itself, so development leaves it off; REQUEST_LOG_LEVEL=INFO turns it on.
        "siwu.request": {"level": os.environ.get("REQUEST_LOG_LEVEL", "WARNING" if DEBUG else "INFO")},
    },
}

FORM_RENDERER = "core.form_renderer.Renderer"

# --- Reminders: the outbox, its worker and the channels (docs/notify.md) -----------------------------

# The channels, name → adapter class (notify/channels/__init__.py); a city adds its own by dotted path.
NOTIFY_CHANNELS = {
    "inapp": "notify.channels.inapp.InAppChannel",
    "email": "notify.channels.email.EmailChannel",
    "dingtalk": "notify.channels.robots.DingTalkChannel",
    "wecom": "notify.channels.robots.WeComChannel",
}
# The address the links in e-mails and robot messages start with.
NOTIFY_SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
# Reminders: a finding's deadline this many days ahead is "approaching".
NOTIFY_DUE_DAYS = int(os.environ.get("NOTIFY_DUE_DAYS", "3"))
# The worker: attempts before a delivery is dead, back-off base and cap (seconds: 30, 60, 120 … ≤ 1 h),
# how long a claim holds (a dead worker's deliveries wait this long), one send's time limit, rows
# claimed at once, and the pause when nothing is due.
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "8"))
NOTIFY_RETRY_BASE_SECONDS = int(os.environ.get("NOTIFY_RETRY_BASE_SECONDS", "30"))
NOTIFY_RETRY_MAX_SECONDS = int(os.environ.get("NOTIFY_RETRY_MAX_SECONDS", "3600"))
NOTIFY_LEASE_SECONDS = int(os.environ.get("NOTIFY_LEASE_SECONDS", "300"))
NOTIFY_HTTP_TIMEOUT = int(os.environ.get("NOTIFY_HTTP_TIMEOUT", "10"))
NOTIFY_BATCH = int(os.environ.get("NOTIFY_BATCH", "20"))
NOTIFY_POLL_SECONDS = float(os.environ.get("NOTIFY_POLL_SECONDS", "5"))
# The scheduler (manage.py scheduler, docs/notify.md): each daily job, its local time (HH:MM,
# Asia/Shanghai) and its command. A job runs once a day across all servers; one whose time passed while
# no scheduler ran is run when one starts. Look-backs are scheduled before the reminders read them.
SCHEDULE = [
    ("lookbacks", os.environ.get("SCHEDULE_LOOKBACKS", "02:30"), ["schedule_lookbacks"]),
    ("sessions", os.environ.get("SCHEDULE_SESSIONS", "02:40"), ["clearsessions"]),
    (
        "history",
        os.environ.get("SCHEDULE_HISTORY", "03:00"),
        ["clean_old_history", "--days", os.environ.get("HISTORY_KEEP_DAYS", "365")],
    ),
    # The week's notice draft (on NOTICE_DRAFT_WEEKDAY) and the interview commitments, before the office opens.
    ("office", os.environ.get("SCHEDULE_OFFICE", "07:30"), ["report_reminders"]),
    ("reminders", os.environ.get("SCHEDULE_REMINDERS", "08:00"), ["notify_reminders"]),
]
# The map (挂图作战, docs/map.md): the tile server's URL template ({z}/{x}/{y}; empty: no tiles, the
# map draws the imported township and village outlines on a plain grid), the system its tiles are
# drawn in ("wgs84" for 天地图 / CGCS2000, "gcj02" for most other Chinese web maps: positions are
# stored in WGS-84 and converted for display only), their attribution and deepest zoom.
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_TILE_CRS = os.environ.get("MAP_TILE_CRS", "wgs84")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")
MAP_TILE_MAX_ZOOM = int(os.environ.get("MAP_TILE_MAX_ZOOM", "18"))
# Evidence photos (core/evidence.py): a photo taken farther than this from the unit's recorded
# position, or more than this many days before the date its record claims, is flagged for inspectors.
EVIDENCE_FAR_METRES = int(os.environ.get("EVIDENCE_FAR_METRES", "500"))
EVIDENCE_EARLY_DAYS = int(os.environ.get("EVIDENCE_EARLY_DAYS", "30"))
# The weekday (0 = Monday) the office is told that the week's notice draft is ready for review.
NOTICE_DRAFT_WEEKDAY = int(os.environ.get("NOTICE_DRAFT_WEEKDAY", "0"))
# E-mail for the reminders: Django's mail backends, configured from the environment (SMTP by default).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "siwu@localhost")
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (`make run` writes the demo's mail there).
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
