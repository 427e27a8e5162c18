"""manage.py backup / restore: a restore into a fresh database reproduces every table and media file.

Every table is compared by row count and row checksum with the source as it was when backed up,
and every media file by SHA-256; a changed media file, a truncated dump or archive, and a manifest
that does not match the restored rows are each reported, with exit status 1. Sessions and login
records are left out (no key in the archive signs anyone in), and media files keep their
owner-and-group modes in the archive and after a restore.
"""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from core import backup
from demo.city import DEMO_USERS

from .conftest import PROBE_AGENT, media_hashes, mode


def as_backed_up(checksums):
    """The source's checksums as a backup records them: the left-out tables empty."""
    return {table: backup.EMPTY_TABLE if table in backup.EXCLUDED_TABLES else want for table, want in checksums.items()}


# Tables seed_demo and conftest._add_every_kind fill: the backup must carry data of every kind.
EXPECTED_FILLED = [
    "auth_user",
    "auth_group",
    "django_migrations",
    "django_admin_log",
    "campaign_township",
    "campaign_village",
    "campaign_campaign",
    "campaign_milestone",
    "campaign_targetrevision",
    "enterprises_enterprise",
    "enterprises_rectification",
    "enterprises_relapse",
    "enterprises_rectificationphoto",
    "enterprises_historicalrectificationphoto",
    "enterprises_importbatch",
    "enterprises_unitday",
    "inspections_inspection",
    "inspections_inspectionphoto",
    "reports_notice",
]


def restore(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("restore", *map(str, args), stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def restore_fails(*args):
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("restore", *map(str, args), stdout=io.StringIO(), stderr=err)
    return f"{err.getvalue()}\n{raised.value}"


def copy_of(folder, tmp_path, name):
    return Path(shutil.copytree(folder, tmp_path / name))


def change_one_name(db):
    # auth_user has no trigger: the change shows in that table alone.
    query = "UPDATE auth_user SET first_name = first_name || '改' WHERE id = (SELECT min(id) FROM auth_user)"
    if backup.vendor_of(db) == "sqlite":
        conn = sqlite3.connect(db["NAME"])
        with conn:
            conn.execute(query)
        conn.close()
        return
    conn = backup.pg_connect(db)
    with conn, conn.cursor() as cursor:
        cursor.execute(query)
    conn.close()


# The tests that use the committed source are transactional (see conftest.py): each ends with a
# flush of the test database, seconds on PostgreSQL, so they are few and each checks several things.
uses_source = pytest.mark.django_db(transaction=True)


@uses_source
def test_a_restore_into_a_fresh_database_reproduces_every_table_and_media_file(source, fresh_db, tmp_path):
    manifest = json.loads((source.folder / backup.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format"] == backup.FORMAT
    assert manifest["database"]["vendor"] == ("sqlite" if connection.vendor == "sqlite" else "postgresql")
    assert manifest["tables"] == as_backed_up(source.checksums)
    assert set(source.tables) <= set(manifest["tables"])
    assert [t for t in EXPECTED_FILLED if manifest["tables"][t]["rows"] == 0] == []
    assert {name: f["sha256"] for name, f in manifest["media"]["files"].items()} == source.media_hashes
    from inspections.models import FindingPhoto

    # rectification photos, inspection photo, list, notice, and the demo's finding completion photos
    assert len(source.media_hashes) == 3 + 1 + 1 + 3 + FindingPhoto.objects.count()
    assert FindingPhoto.objects.exists()
    assert "campaign" in manifest["app"]["migrations"]
    assert backup.file_sha256(source.folder / manifest["database"]["file"]) == manifest["database"]["sha256"]
    assert "已备份到" in source.output
    # Backups hold personal data and password hashes: readable by their owner only.
    assert source.archive.stat().st_mode & 0o077 == 0
    assert source.folder.stat().st_mode & 0o077 == 0
    assert (source.folder / backup.MANIFEST).stat().st_mode & 0o077 == 0

    media = tmp_path / "media"
    output = restore(source.archive, "--database-url", fresh_db.url, "--media-root", media)

    assert "校验一致" in output
    restored = backup.database_checksums(fresh_db.settings)
    assert set(restored) == set(source.checksums)
    for table, want in as_backed_up(source.checksums).items():
        assert restored[table] == want, table
    assert media_hashes(media) == source.media_hashes

    # Restoring again is refused: the target is no longer empty.
    message = restore_fails(source.folder, "--database-url", fresh_db.url, "--media-root", media)
    assert "不是空的" in message and "--force" in message

    # The checksum is of the rows' content: one changed value shows in that table alone ...
    change_one_name(fresh_db.settings)
    diff = backup.compare_tables(as_backed_up(source.checksums), backup.database_checksums(fresh_db.settings))
    assert diff.errors == [f"表 auth_user：行数相同（{source.checksums['auth_user']['rows']}）但内容校验和不同"]

    # ... and --force restores over it; a file added since is reported and left alone.
    (media / "新上传.jpg").write_bytes(b"after the backup")
    output = restore(source.folder, "--database-url", fresh_db.url, "--media-root", media, "--force")
    assert "校验一致" in output
    assert "新上传.jpg" in output
    assert backup.database_checksums(fresh_db.settings) == as_backed_up(source.checksums)


@uses_source
def test_a_tampered_backup_is_detected(source, fresh_db, tmp_path):
    media = tmp_path / "media"

    # A truncated dump: refused before anything is written.
    cut = copy_of(source.folder, tmp_path, "cut")
    dump = cut / backup.read_manifest(cut)["database"]["file"]
    with open(dump, "r+b") as handle:
        handle.truncate(dump.stat().st_size // 2)
    assert "截断" in restore_fails(cut, "--check")
    message = restore_fails(cut, "--database-url", fresh_db.url, "--media-root", media)
    assert "截断" in message and "拒绝恢复" in message
    assert backup.table_count(fresh_db.settings) == 0
    assert not media.exists()

    # A truncated archive: the same.
    archive = tmp_path / "cut.tar"
    data = source.archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    message = restore_fails(archive, "--database-url", fresh_db.url, "--media-root", media)
    assert "备份归档" in message and "无法读取" in message
    assert backup.table_count(fresh_db.settings) == 0
    assert not media.exists()

    # A media file changed in the backup, and one slipped in: found by --check, and by the
    # restore's verification (which does not restore the unlisted file).
    changed_media = copy_of(source.folder, tmp_path, "changed-media")
    changed = sorted(source.media_hashes)[0]
    path = changed_media / backup.MEDIA_DIR / changed
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte different
    path.write_bytes(bytes(data))
    (changed_media / backup.MEDIA_DIR / "evidence" / "混入.jpg").write_bytes(b"not in the manifest")
    checked = restore_fails(changed_media, "--check")
    assert f"媒体文件 {changed}：SHA-256 与备份时不同" in checked
    assert "清单未列出的媒体文件：evidence/混入.jpg" in checked
    message = restore_fails(changed_media, "--database-url", fresh_db.url, "--media-root", media)
    assert f"媒体文件 {changed}：SHA-256 与备份时不同" in message
    assert "清单未列出的媒体文件（未恢复）：evidence/混入.jpg" in message
    assert not (media / "evidence" / "混入.jpg").exists()
    assert "2 处差异" in message

    # As a process: status 0 for the intact backup, 1 for the changed one.
    good, bad = (
        subprocess.run(
            [sys.executable, "manage.py", "restore", str(path), "--check"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        for path in (source.archive, changed_media)
    )
    assert good.returncode == 0, good.stderr
    assert "备份完好" in good.stdout
    assert bad.returncode == 1
    assert "不一致" in bad.stderr and changed in bad.stderr

    # Rows that do not match the manifest: every such table is listed.
    changed_rows = copy_of(source.folder, tmp_path, "changed-rows")
    manifest = backup.read_manifest(changed_rows)
    manifest["tables"]["campaign_township"]["rows"] += 1
    manifest["tables"]["enterprises_relapse"]["checksum"] = "0" * 64
    backup.write_manifest(changed_rows, manifest)
    message = restore_fails(changed_rows, "--database-url", fresh_db.url, "--media-root", media, "--force")
    rows = source.checksums["campaign_township"]["rows"]
    assert f"表 campaign_township：行数 {rows}，备份时为 {rows + 1}" in message
    assert "表 enterprises_relapse：行数相同" in message
    assert "2 处差异" in message


@uses_source
def test_a_backup_goes_to_the_same_kind_of_database_and_is_never_overwritten(source, tmp_path):
    other = "postgres://nobody@127.0.0.1:1/h9bak_none" if connection.vendor == "sqlite" else f"sqlite:///{tmp_path}/x"

    message = restore_fails(source.archive, "--database-url", other, "--media-root", tmp_path / "media")

    assert "只能恢复到同一种数据库" in message
    with pytest.raises(CommandError, match="已存在"):
        call_command("backup", str(source.archive), stdout=io.StringIO())


def test_checksums_stream_a_large_table_in_constant_memory(tmp_path):
    path = tmp_path / "big.sqlite3"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT, note TEXT)")
        conn.executemany("INSERT INTO big VALUES (?, ?, ?)", ((i, f"单位{i}", "备注" * 200) for i in range(50_000)))
    conn.close()
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": path}

    tracemalloc.start()
    try:
        result = backup.database_checksums(db)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result["big"]["rows"] == 50_000
    assert peak < 10 * 1024 * 1024  # the table's rows as Python objects would take over 40 MB


def backup_bytes(source):
    """Every byte the backups hold, and on PostgreSQL also the dump's plain SQL (the custom format is compressed)."""
    chunks = [source.archive.read_bytes()]
    chunks += [path.read_bytes() for path in sorted(source.folder.rglob("*")) if path.is_file()]
    if connection.vendor == "postgresql":
        dump = source.folder / backup.DATABASE_FILES["postgresql"]
        tool = backup.pg_tool("pg_restore", connection.pg_version)
        chunks.append(subprocess.run([tool, "--file=-", str(dump)], capture_output=True, check=True).stdout)
    return b"\n".join(chunks)


# Run against the restored database in a separate process: the old admin's session cookie, then a
# fresh login with the password the backup kept.
SIGN_IN = """
import os
from django.conf import settings
from django.test import Client, override_settings
from django.test.utils import setup_test_environment
from django.urls import reverse

setup_test_environment()
home = reverse(settings.LOGIN_REDIRECT_URL)
old = Client()
old.cookies[settings.SESSION_COOKIE_NAME] = os.environ["PROBE_SESSION_KEY"]
response = old.get(home)
print("old-key", response.status_code, response.get("Location", ""))
with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
    new = Client()
    login = new.post(reverse("login"), {"username": os.environ["PROBE_USER"], "password": os.environ["PROBE_PASSWORD"]})
    print("login", login.status_code, new.get(home).status_code)
"""


@uses_source
def test_a_backup_holds_no_session_or_login_record_and_a_restore_signs_everyone_out(source, fresh_db, tmp_path):
    # The source had a signed-in admin, another session, a login and a failed login ...
    for table in ("django_session", "axes_accesslog", "axes_accessattempt"):
        assert source.checksums[table]["rows"] > 0, table
    assert set(source.checksums) >= backup.EXCLUDED_TABLES
    # ... and the backup records their tables as empty.
    manifest = backup.read_manifest(source.folder)
    assert manifest["excluded_tables"] == sorted(backup.EXCLUDED_TABLES)
    assert {table: manifest["tables"][table] for table in backup.EXCLUDED_TABLES} == dict.fromkeys(
        backup.EXCLUDED_TABLES, backup.EMPTY_TABLE
    )

    # No session key, nor django-axes' hash of it or the failed login's user agent, anywhere in
    # the backups' bytes; the password hashes (needed to log in to a restored database) are there.
    data = backup_bytes(source)
    assert len(source.session_keys) > 300  # live and ended ones
    assert [key for key in source.session_keys if key.encode() in data] == []
    assert [key for key in source.session_keys if hashlib.sha256(key.encode()).hexdigest().encode() in data] == []
    assert PROBE_AGENT.encode() not in data
    assert source.admin_password_hash.encode() in data

    restore(source.archive, "--database-url", fresh_db.url, "--media-root", tmp_path / "media")
    restored = backup.database_checksums(fresh_db.settings)
    assert {table: restored[table]["rows"] for table in backup.EXCLUDED_TABLES} == dict.fromkeys(
        backup.EXCLUDED_TABLES, 0
    )

    admin = DEMO_USERS[0]
    env = {
        **os.environ,
        "DATABASE_URL": fresh_db.url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PROBE_SESSION_KEY": source.admin_key,
        "PROBE_USER": admin.username,
        "PROBE_PASSWORD": admin.password,
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SIGN_IN],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("old-key ", "login ")))
    assert set(lines) == {"old-key", "login"}, done.stdout
    # The admin's key from before the backup is sent to the login page; the password still works.
    status, location = lines["old-key"].split(" ", 1)
    assert status == "302" and location.startswith(reverse("login")), lines
    assert lines["login"] == "302 200"

    # A backup made before these rows were left out still holds them: once it is restored and
    # verified, they are deleted.
    with backup.opened(source.archive_with_sessions) as folder:
        assert backup.read_manifest(folder)["tables"]["django_session"]["rows"] > 0
    output = restore(
        source.archive_with_sessions, "--database-url", fresh_db.url, "--media-root", tmp_path / "media2", "--force"
    )
    assert "校验一致" in output and "已删除旧备份带来的" in output
    restored = backup.database_checksums(fresh_db.settings)
    assert {table: restored[table]["rows"] for table in backup.EXCLUDED_TABLES} == dict.fromkeys(
        backup.EXCLUDED_TABLES, 0
    )


def folders_between(root, path):
    """``root`` and every folder under it on the way to ``path``."""
    folders = [root]
    for part in Path(path).relative_to(root).parent.parts:
        folders.append(folders[-1] / part)
    return folders


@uses_source
def test_media_files_keep_owner_and_group_modes_in_the_archive_and_after_a_restore(
    source, fresh_db, tmp_path, usual_umask
):
    assert (settings.FILE_UPLOAD_PERMISSIONS, settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS) == (0o640, 0o750)
    # On the source, the service stored the photos 0640 in 0750 folders; one older file is 0644.
    for name in source.media_hashes:
        expected = 0o644 if name == source.old_file else 0o640
        assert mode(source.media / name) == expected, name
        assert {mode(folder) for folder in folders_between(source.media, source.media / name)} == {0o750}, name

    # In the archive (itself 0600) every media file is 0640, the older one narrowed; the rest 0600.
    assert mode(source.archive) == 0o600
    with tarfile.open(source.archive) as tar:
        modes = {member.name: member.mode for member in tar.getmembers()}
    media = {name[len(backup.MEDIA_DIR) + 1 :]: m for name, m in modes.items() if name.startswith("media/")}
    assert media == dict.fromkeys(source.media_hashes, 0o640)
    assert {m for name, m in modes.items() if not name.startswith("media/")} == {0o600}

    # A restore into a media folder that does not exist yet writes 0640 files in 0750 folders.
    target = tmp_path / "restored" / "media"
    restore(source.archive, "--database-url", fresh_db.url, "--media-root", target)
    for name in source.media_hashes:
        assert mode(target / name) == 0o640, name
        assert {mode(folder) for folder in folders_between(target, target / name)} == {0o750}, name
    assert mode(target.parent) == 0o750
    if connection.vendor == "sqlite":
        # The restored database file (personal data, password hashes) is its owner's only.
        assert mode(fresh_db.settings["NAME"]) == 0o600
