"""The production settings: `check --deploy` passes, static files are hashed and compressed, media is
not served, and nothing assumes a single process. Each production case runs in a subprocess with
the environment a server would have (settings read it once, at import)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.urls import reverse
from django.utils.module_loading import import_string

from enterprises.models import RectificationPhoto
from tests.ops.conftest import photo, rectify_data

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k9Vq2r7xLp0sT4wY8zB1cN5mF3hJ6gD0aE2iO4uR7tW9yQ1xZ3vC5nM8bL0kJ2h",
    "ALLOWED_HOSTS": "siwu.example.gov.cn",
}


def run(args, env=None, **kwargs):
    # Not what this test process has: the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for themselves.
    dropped = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, **kwargs
    )


def test_check_deploy_passes_under_the_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


KEY_SHOWN = """
import django, json
django.setup()
from django.conf import settings as s
print(json.dumps({"key": s.SECRET_KEY, "debug": s.DEBUG}))
"""


def test_without_a_secret_key_an_installation_makes_its_own_once_and_keeps_it_private(tmp_path):
    # Never a key written in the code: a random one, kept readable by its owner only, the same for
    # every later process of this installation.
    env = {"SECRET_KEY_FILE": str(tmp_path / ".secret-key"), "DJANGO_SETTINGS_MODULE": "siwu.settings"}
    first = run(["-c", KEY_SHOWN], env)
    assert first.returncode == 0, first.stderr
    second = run(["-c", KEY_SHOWN], env)
    key = json.loads(first.stdout)["key"]
    assert len(key) >= 50 and json.loads(second.stdout)["key"] == key
    assert "dev-only" not in key and json.loads(first.stdout)["debug"] is False
    assert (tmp_path / ".secret-key").stat().st_mode & 0o777 == 0o600


def test_a_key_that_cannot_be_kept_stops_the_process_with_a_message(tmp_path):
    env = {"SECRET_KEY_FILE": str(tmp_path / "missing-folder" / ".secret-key")}
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


SHOW = """
import django, json
django.setup()
from django.conf import settings as s
print(json.dumps({
    "cookies_secure": [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE],
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "hsts_seconds": s.SECURE_HSTS_SECONDS,
    "conn_max_age": s.DATABASES["default"]["CONN_MAX_AGE"],
    "health_checks": s.DATABASES["default"]["CONN_HEALTH_CHECKS"],
    "log_format": s.LOGGING["handlers"]["console"]["formatter"],
}))
"""


def settings_under(env):
    result = run(["-c", SHOW], {**env, "DJANGO_SETTINGS_MODULE": "siwu.settings"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_settings_secure_cookies_hsts_persistent_connections_json_logs():
    assert settings_under(PRODUCTION) == {
        "cookies_secure": [True, True],
        "ssl_redirect": True,
        "hsts_seconds": 3600,
        "conn_max_age": 60,
        "health_checks": True,
        "log_format": "json",
    }


def test_with_no_host_configured_only_this_machine_is_served_over_plain_http(tmp_path):
    # A trial or a laptop: `manage.py runserver` with no variable serves 127.0.0.1 without a redirect
    # to an HTTPS that nothing terminates; a deployment names its host and gets HTTPS (above).
    shown = settings_under({"SECRET_KEY_FILE": str(tmp_path / ".secret-key")})
    assert shown["ssl_redirect"] is False and shown["cookies_secure"] == [False, False]
    result = run(
        ["-c", "import django; django.setup(); from django.conf import settings as s; print(s.ALLOWED_HOSTS)"],
        {"SECRET_KEY_FILE": str(tmp_path / ".secret-key"), "DJANGO_SETTINGS_MODULE": "siwu.settings"},
    )
    assert result.stdout.strip() == "['127.0.0.1', 'localhost', '[::1]']"


def test_an_intranet_without_tls_turns_off_what_needs_https():
    assert settings_under({**PRODUCTION, "HTTPS": "false"}) == {
        "cookies_secure": [False, False],
        "ssl_redirect": False,
        "hsts_seconds": 0,
        "conn_max_age": 60,
        "health_checks": True,
        "log_format": "json",
    }
    # `make serve` runs `check --deploy --fail-level WARNING`: the documented intranet setup passes it,
    # and the check still says what is off (campaign.I001) instead of four warnings.
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {**PRODUCTION, "HTTPS": "false"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "campaign.I001" in result.stdout + result.stderr
    assert not re.findall(r"security\.W0(04|08|12|16)", result.stdout + result.stderr)


def test_the_plain_http_warnings_still_stop_a_server_that_claims_https():
    # Only HTTPS=false silences them: a TLS server that lost its settings must not pass quietly.
    env = {**PRODUCTION, "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0"}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert {"security.W004", "security.W008"} <= set(re.findall(r"security\.W\d+", result.stdout + result.stderr))


DEBUG_SHOWN = """
import django, json
django.setup()
from django.conf import settings as s
print(json.dumps({"debug": s.DEBUG}))
"""


def test_a_server_started_without_the_debug_variable_is_not_in_debug_mode():
    result = run(
        ["-c", DEBUG_SHOWN], {"SECRET_KEY": PRODUCTION["SECRET_KEY"], "DJANGO_SETTINGS_MODULE": "siwu.settings"}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"debug": False}


MISSING_PAGE = """
import django, json
django.setup()
from django.test import Client
from django.contrib.auth import get_user_model
from django.core.management import call_command
call_command("migrate", verbosity=0)
client = Client(HTTP_HOST="127.0.0.1")  # plain HTTP: no redirect to HTTPS without a configured host
anonymous = client.get("/no-such-page/")
user = get_user_model().objects.create_user("probe", password="probe-password-123")
client.force_login(user)
missing = client.get("/no-such-page/")
print(json.dumps({"status": missing.status_code, "body": missing.content.decode(), "anonymous": anonymous.status_code}))
"""


def test_the_make_run_demo_shows_the_products_own_404_not_the_debug_page(tmp_path, migrated_sqlite):
    # What `make run` runs: the settings with no variable at all (its own key, this machine's host
    # names, plain HTTP), only the database and static folder moved into tmp_path here. The database
    # is a copy of one migrated once for the run (tests/conftest.py): its `migrate` has nothing to do.
    env = {
        "SECRET_KEY_FILE": str(tmp_path / ".secret-key"),
        "DATABASE_URL": f"sqlite:///{migrated_sqlite}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_SETTINGS_MODULE": "siwu.settings",
    }
    assert run(["manage.py", "collectstatic", "--noinput"], env).returncode == 0
    result = run(["-c", MISSING_PAGE], env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["status"] == 404
    assert "URLconf" not in shown["body"] and "Using the URLconf" not in shown["body"]
    assert "页面不存在" in shown["body"] or "找不到" in shown["body"], shown["body"][:500]


def test_every_response_carries_a_content_security_policy_without_unsafe_inline(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


WHITENOISE = """
import django, json
django.setup()
from django.templatetags.static import static
from django.test import Client

client, url = Client(), static("css/app.css")
def fetch(path, **headers):
    response = client.get(path, secure=True, **headers)
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return {"status": response.status_code, "encoding": response.get("Content-Encoding", ""),
            "cache": response.get("Cache-Control", ""), "size": len(body)}
worker, manifest = client.get("/sw.js", secure=True), client.get("/manifest.webmanifest", secure=True)
print(json.dumps({"url": url, "gzip": fetch(url, HTTP_ACCEPT_ENCODING="gzip"), "plain": fetch(url),
                  "unhashed": fetch("/static/css/app.css"),
                  "worker": [worker.status_code, worker.content.decode()],
                  "manifest": [manifest.status_code, manifest.content.decode()]}))
"""


def test_whitenoise_serves_hashed_compressed_static_files_after_collectstatic(tmp_path):
    env = {**PRODUCTION, "ALLOWED_HOSTS": "testserver", "STATIC_ROOT": str(tmp_path / "static")}
    collected = run(["manage.py", "collectstatic", "--noinput"], env)
    assert collected.returncode == 0, collected.stderr
    served = run(["-c", WHITENOISE], {**env, "DJANGO_SETTINGS_MODULE": "siwu.settings"})
    assert served.returncode == 0, served.stderr
    found = json.loads(served.stdout)
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", found["url"])
    gzipped, plain = found["gzip"], found["plain"]
    assert (gzipped["status"], gzipped["encoding"], plain["status"], plain["encoding"]) == (200, "gzip", 200, "")
    assert gzipped["size"] < plain["size"] / 2
    # A hashed name never changes content: browsers keep it for ten years without asking again.
    assert "immutable" in gzipped["cache"] and "max-age=315360000" in gzipped["cache"]
    # The plain name is served too, but browsers must ask again soon.
    assert found["unhashed"]["status"] == 200 and "immutable" not in found["unhashed"]["cache"]
    # The offline app's service worker and manifest name the hashed files (docs/offline.md).
    (worker_status, worker), (manifest_status, manifest) = found["worker"], found["manifest"]
    assert worker_status == 200 and found["url"] in worker and '"staticPrefix": "/static/"' in worker
    assert manifest_status == 200 and re.search(r"/static/fieldsync/icon-192\.[0-9a-f]{12}\.png", manifest)


@pytest.mark.django_db
def test_evidence_photos_are_not_served_from_the_media_url(township):
    _town, _staff, client, unit = township
    client.post(reverse("enterprises:rectify", args=[unit.pk]), rectify_data(photo()))
    stored = RectificationPhoto.objects.get()
    assert Path(settings.MEDIA_ROOT, stored.image.name).exists()
    assert client.get("/" + settings.MEDIA_URL + stored.image.name).status_code == 404
    # Only through the view that checks who asks.
    viewed = client.get(reverse("enterprises:photo", args=[unit.pk, stored.pk]))
    assert (viewed.status_code, viewed["Content-Type"]) == (200, "image/jpeg")


def test_nothing_is_kept_in_one_process_that_another_would_need():
    # Sessions are rows (any server reads them), messages a signed cookie, lockouts rows.
    assert issubclass(import_string(settings.SESSION_ENGINE + ".SessionStore"), DatabaseSessionStore)
    assert settings.MESSAGE_STORAGE == "django.contrib.messages.storage.fallback.FallbackStorage"
    assert getattr(settings, "AXES_HANDLER", "axes.handlers.database.AxesDatabaseHandler").endswith(
        "AxesDatabaseHandler"
    )
    # And no code uses the cache, which is per process.
    users = [
        path.relative_to(ROOT)
        for app in ("campaign", "enterprises", "inspections", "reports")
        for path in (ROOT / app).rglob("*.py")
        if re.search(
            r"^\s*from django\.core\.cache|^\s*import django\.core\.cache|cache_page|cached_db",
            path.read_text(encoding="utf-8"),
            re.M,
        )
    ]
    assert users == []
