"""A committed source database with data of every kind and media files, backed up once per module.

pg_dump sees only committed rows, so the source is written outside any test transaction by a
module fixture (like tests/campaign/test_seed_demo.py), and the tests that use it are marked
transactional: the flush that ends each of them leaves the test database as such tests are
expected to. The backups, the source's checksums and its media hashes are taken before the first
flush. Every restore goes into a fresh database (PostgreSQL: h9bak_* created and dropped here;
SQLite: a temporary file), never into the test database.
"""

import contextlib
import datetime
import hashlib
import io
import itertools
import os
import stat
from importlib import import_module
from types import SimpleNamespace
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core import backup
from demo import city as demo

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The user agent of the failed login seeded below: it lands in django-axes' tables only.
PROBE_AGENT = "h3-probe-agent/0e1d4c"
_databases = itertools.count(1)


def jpeg(color):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


def source_checksums():
    """Row counts and checksums of the live test database (the backup's source)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return backup.sqlite_checksums(connection.connection)
    return backup.database_checksums(connection.settings_dict)


def media_hashes(root):
    return {name: backup.file_sha256(root / name) for name in backup.media_files(root)}


def _sign_in_admin():
    """The city admin logs in from two browsers and out of the first; a stranger fails once.

    Returns the admin's live session key and the ended one. The logins write django_session and
    axes_accesslog rows, the failed one an axes_accessattempt row (from another username: a
    successful login resets the user's attempts). The logout deletes its session row last: on a
    SQLite built without SQLITE_SECURE_DELETE (as below) its bytes stay in the file's free space.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = OFF")
    stranger = Client(HTTP_USER_AGENT=PROBE_AGENT)
    stranger.post(reverse("login"), {"username": "nobody-h3", "password": "wrong"})
    credentials = {"username": demo.DEMO_USERS[0].username, "password": demo.DEMO_USERS[0].password}
    browsers = [Client(), Client()]
    for browser in browsers:
        response = browser.post(reverse("login"), credentials)
        assert response.status_code == 302, response.content[:500]
        assert browser.get(reverse(settings.LOGIN_REDIRECT_URL)).status_code == 200  # the key signs in
    ended, live = (browser.cookies[settings.SESSION_COOKIE_NAME].value for browser in browsers)
    browsers[0].post(reverse("logout"))
    assert not Session.objects.filter(pk=ended).exists()
    return live, ended


def _end_sessions(count=300):
    """Sessions ended before the backup (an administrator ends a user's sessions, say): their keys.

    Their rows are deleted; on a SQLite built without SQLITE_SECURE_DELETE (see _sign_in_admin) the
    pages that held them go to the file's free list as they are.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    for _ in range(count):
        session = store()
        session["note"] = "已结束的会话"
        session.create()
        keys.append(session.session_key)
    Session.objects.filter(pk__in=keys).delete()
    return keys


def _add_every_kind(campaign):
    """What seed_demo does not write: photos, an import batch, an issued notice, a session, a log entry."""
    from enterprises.models import ImportBatch, Rectification
    from enterprises.photos import attach_photos, clean_photo
    from inspections.models import Inspection, InspectionPhoto
    from reports.models import Notice

    admin = get_user_model().objects.get(username=demo.DEMO_USERS[0].username)
    from django.core.files.uploadedfile import SimpleUploadedFile

    for index, rectification in enumerate(Rectification.objects.order_by("pk")[:3]):
        upload = SimpleUploadedFile("现场.jpg", jpeg((200, 30 * index, 30)), "image/jpeg")
        attach_photos(rectification=rectification, photos=[clean_photo(upload)], user=admin)
    content = jpeg((10, 120, 200))
    InspectionPhoto.objects.create(
        inspection=Inspection.objects.order_by("pk").first(),
        image=ContentFile(content, name="督查.jpg"),
        width=64,
        height=48,
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=admin,
    )
    listing = "单位名称,乡镇街道\n测试点,城关镇\n".encode()
    ImportBatch.objects.create(
        uploaded_by=admin,
        file=ContentFile(listing, name="名单.csv"),
        file_name="名单.csv",
        sha256=hashlib.sha256(listing).hexdigest(),
        size=len(listing),
        rows=1,
        summary={"新增": 1, "说明": "含中文的 JSON"},
        plan=bytes(range(256)) * 4,  # a binary column
    )
    files = {fmt: f"第1期 {fmt}".encode() for fmt in ("docx", "xlsx", "html")}
    Notice.objects.create(
        campaign=campaign,
        serial=1,
        as_of=datetime.date(2018, 3, 31),
        issued_by=admin,
        figures={"rate": "47.22", "townships": [1, 2, 3]},
        **{fmt: ContentFile(data, name=f"notice.{fmt}") for fmt, data in files.items()},
        **{f"{fmt}_sha256": hashlib.sha256(data).hexdigest() for fmt, data in files.items()},
    )
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session["note"] = "会话"
    session.create()
    LogEntry.objects.create(
        user=admin, action_flag=ADDITION, object_repr="示范", change_message="[]", action_time=timezone.now()
    )
    # A file stored before FILE_UPLOAD_PERMISSIONS was set: world-readable on disk.
    batch = ImportBatch.objects.get()
    os.chmod(batch.file.path, 0o644)
    return batch.file.name


@pytest.fixture(scope="module")
def source(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seed, back up (a .tar and a directory), and record what the restores must reproduce."""
    name = str(connection.settings_dict["NAME"])
    if not (name.startswith("test_") or "memory" in name):
        pytest.fail(f"refusing to seed {name}: not a test database (mark the tests with django_db)")
    root = tmp_path_factory.mktemp("h9bak_source")
    media = root / "media"
    with override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=FAST_HASHERS), django_db_blocker.unblock(), umask(0o022):
        try:
            summary = demo.seed_demo(scale=0.02)
            old_file = _add_every_kind(summary.campaign)
            admin_key, ended_key = _sign_in_admin()
            ended_keys = [ended_key, *_end_sessions()]
            session_keys = [*Session.objects.values_list("session_key", flat=True), *ended_keys]
            admin_password_hash = (
                get_user_model().objects.values_list("password", flat=True).get(username=demo.DEMO_USERS[0].username)
            )
            archive = root / "backup.tar"
            folder = root / "backup-dir"
            out = io.StringIO()
            call_command("backup", str(archive), stdout=out)
            call_command("backup", str(folder), stdout=out)
            # A backup as they were made before sessions and login records were left out.
            with mock.patch.object(backup, "EXCLUDED_TABLES", frozenset()):
                call_command("backup", str(root / "with-sessions.tar"), stdout=io.StringIO())
            checksums = source_checksums()
            # sqlite_stat*: the planner's statistics (seed_demo runs ANALYZE), not data; the
            # backup copies them with the file and leaves them out of the checksums.
            tables = [t for t in connection.introspection.table_names() if not t.startswith("sqlite_stat")]
        except BaseException:
            call_command("flush", interactive=False, verbosity=0)
            raise
    assert admin_key in session_keys
    return SimpleNamespace(
        admin_key=admin_key,
        admin_password_hash=admin_password_hash,
        session_keys=session_keys,
        old_file=old_file,
        archive=archive,
        folder=folder,
        archive_with_sessions=root / "with-sessions.tar",
        media=media,
        checksums=checksums,
        tables=tables,
        media_hashes=media_hashes(media),
        output=out.getvalue(),
    )


@contextlib.contextmanager
def umask(mask):
    """The process's umask for the block (022, the usual default, lets folders and files be made 0755/0644)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def usual_umask():
    """Run the test under umask 022: a mode a test expects must come from the code, not the umask."""
    with umask(0o022):
        yield


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def fresh_db(tmp_path, monkeypatch):
    """A DATABASES entry, and its URL, for a database that does not hold anything yet."""
    if connection.vendor == "sqlite":
        path = tmp_path / "restored.sqlite3"
        yield SimpleNamespace(url=f"sqlite:///{path}", settings={"ENGINE": "django.db.backends.sqlite3", "NAME": path})
        return
    import psycopg2

    source = connection.settings_dict
    name = f"h9bak_restore_{os.getpid()}_{next(_databases)}"
    admin = backup.pg_connect(source)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    host, port, user = source.get("HOST") or "localhost", source.get("PORT") or 5432, source.get("USER") or ""
    target = {**source, "NAME": name}
    if source.get("PASSWORD"):
        monkeypatch.setenv("PGPASSWORD", source["PASSWORD"])  # the URL given to restore carries none
    try:
        yield SimpleNamespace(url=f"postgres://{user}@{host}:{port}/{name}", settings=target)
    finally:
        with admin.cursor() as cursor, contextlib.suppress(psycopg2.Error):
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
