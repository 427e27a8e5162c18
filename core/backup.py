"""Backups of the database and the media folder, and their verification (manage.py backup / restore).

A backup is one directory or one ``.tar`` archive holding

* ``database.dump`` (PostgreSQL: ``pg_dump -Fc``) or ``database.sqlite3`` (SQLite: a copy made with
  SQLite's online backup API, never a copy of the live file);
* ``media/``: every file under MEDIA_ROOT (evidence photos, archived notices, uploaded lists);
* ``manifest.json``: when and from what it was made, the database file's SHA-256, every table's row
  count and row checksum, every media file's size and SHA-256, and the applied migrations.

The row checksum of a table is the SHA-256 of its rows, each as a canonical text, in primary-key
order. On PostgreSQL the server turns each row into text (``ROW(t.*)::text`` under fixed
DateStyle/TimeZone/float settings) and hashes it with md5; a server-side cursor streams the
per-row hashes to Python, which chains them. On SQLite Python reads the rows with a streaming
cursor and hashes ``repr`` of each. Either way a table of a million rows is hashed in constant
memory, and the same data give the same value on the source and on a restored database of the
same vendor.

Some tables' rows stay out of every backup (``EXCLUDED_TABLES``; their structure is kept): the
sessions, whose keys are signed-in logins, and django-axes' login records and lockouts, which hold
client addresses and user agents. PostgreSQL's dump leaves their data out (``--exclude-table-data``);
SQLite's copy has them emptied and is then rebuilt with VACUUM, so that no deleted row survives in a
free page. A restore thus signs everyone out. Media files keep their modes in a ``.tar`` (never wider
than FILE_UPLOAD_PERMISSIONS), and a restore writes them with FILE_UPLOAD_PERMISSIONS and the folders
it creates with FILE_UPLOAD_DIRECTORY_PERMISSIONS.

PostgreSQL is dumped from an exported snapshot (``pg_export_snapshot`` + ``pg_dump --snapshot``)
and the checksums are computed in that same snapshot, so the manifest describes exactly what the
dump holds even while the application keeps writing. SQLite's checksums are computed on the copy.
"""

import contextlib
import datetime
import hashlib
import io
import json
import os
import platform
import re
import shutil
import sqlite3
import stat
import subprocess  # nosec B404  # runs pg_dump/pg_restore with fixed argument lists, never a shell
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.storage import make_folders

FORMAT = "siwu-backup/1"
MANIFEST = "manifest.json"
MEDIA_DIR = "media"
DATABASE_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
VENDOR_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
CHUNK = 1024 * 1024
FETCH_ROWS = 10_000

# Tables whose rows a backup leaves out (docs/backup.md, "What a backup leaves out"). A restore does
# not need them, and each would hand something out to whoever reads the archive:
# - django_session: live session keys; a key is a signed-in login, an administrator's included;
# - axes_accessattempt, axes_accessattemptexpiration, axes_accessfailurelog: failed logins (client
#   address, user agent, the login form's fields) and the lockouts they cause;
# - axes_accesslog: every login with its client address, user agent and a hash of its session key.
# Password hashes stay (auth_user): without them nobody could log in to a restored database.
EXCLUDED_TABLES = frozenset(
    {
        "django_session",
        "axes_accessattempt",
        "axes_accessattemptexpiration",
        "axes_accessfailurelog",
        "axes_accesslog",
    }
)
EMPTY_TABLE = {"rows": 0, "checksum": hashlib.sha256().hexdigest()}

# Session settings under which PostgreSQL's text form of a row depends only on the data.
PG_CANONICAL_SESSION = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
)


class BackupError(Exception):
    """A failure an operator can act on; the message is Chinese and says what to do."""


# --- databases ------------------------------------------------------------------------------------


def vendor_of(db):
    """'postgresql' or 'sqlite' for a Django DATABASES entry."""
    engine = db.get("ENGINE", "")
    if "postgresql" in engine or "postgis" in engine:
        return "postgresql"
    if "sqlite3" in engine:
        return "sqlite"
    raise BackupError(f"不支持的数据库引擎：{engine}（仅支持 PostgreSQL 和 SQLite）")


def describe(db):
    """The database as an operator would name it (no password)."""
    if vendor_of(db) == "sqlite":
        return f"SQLite {db['NAME']}"
    host = db.get("HOST") or "localhost"
    port = db.get("PORT") or 5432
    return f"PostgreSQL {db.get('USER') or ''}@{host}:{port}/{db['NAME']}"


# libpq reads these from the environment; the password never appears on a command line.
_PG_ENV = {
    "HOST": "PGHOST",
    "PORT": "PGPORT",
    "USER": "PGUSER",
    "NAME": "PGDATABASE",
}
_PG_OPTION_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "service": "PGSERVICE",
    "passfile": "PGPASSFILE",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


def pg_environment(db):
    """os.environ plus the libpq variables that point pg_dump/pg_restore at ``db``."""
    env = dict(os.environ)
    for key, var in _PG_ENV.items():
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    for key, var in _PG_OPTION_ENV.items():
        value = (db.get("OPTIONS") or {}).get(key)
        if value not in (None, ""):
            env[var] = str(value)
    return env


def pg_connect(db):
    import psycopg2

    params = {"dbname": db["NAME"]}
    for key, name in (("USER", "user"), ("PASSWORD", "password"), ("HOST", "host"), ("PORT", "port")):
        if db.get(key):
            params[name] = db[key]
    params.update({k: v for k, v in (db.get("OPTIONS") or {}).items() if k in _PG_OPTION_ENV})
    try:
        return psycopg2.connect(**params)
    except psycopg2.OperationalError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        hint = "（请先创建该数据库，如 createdb）" if "does not exist" in detail else ""
        raise BackupError(f"无法连接数据库 {describe(db)}：{detail}{hint}") from None


def _sqlite_path(db):
    name = str(db["NAME"])
    if name in ("", ":memory:") or name.startswith("file:"):
        raise BackupError(f"SQLite 数据库须为一个文件，收到 '{name}'")
    return Path(name)


def pg_tool(name, server_version):
    """The pg_dump/pg_restore of the server's major version (or newer): PG_BIN, the Debian layout, PATH."""
    major = server_version // 10000
    candidates = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]) / name)
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin") / name)
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            version = _tool_major(path)
            if version is None or version >= major:
                return str(path)
    raise BackupError(
        f"未找到 {major} 或更高版本的 {name}（已查找 PG_BIN、/usr/lib/postgresql/{major}/bin 和 PATH）；"
        f"请安装 postgresql-client-{major}，或用环境变量 PG_BIN 指明其目录"
    )


def _tool_major(path):
    try:
        out = subprocess.run(  # nosec B603  # fixed argument list, no shell
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def pg_tables(cursor):
    """[(schema, table, oid)] of the user's ordinary tables, by schema and name."""
    cursor.execute(
        "SELECT n.nspname, c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
        "ORDER BY n.nspname, c.relname"
    )
    return cursor.fetchall()


def _pg_key(schema, table):
    return table if schema == "public" else f"{schema}.{table}"


def pg_checksums(conn, *, empty=()):
    """{table: {"rows", "checksum"}} of every table, read in ``conn``'s current transaction.

    Rows are ordered by the primary key (text columns in the "C" collation, so that a database
    created with another locale orders them alike); a table without one by its rows' hashes.
    Tables named in ``empty`` (a dump that leaves their rows out) are recorded as empty, unread.
    """
    from psycopg2 import sql

    result = {}
    with conn.cursor() as cursor:
        for statement in PG_CANONICAL_SESSION:
            cursor.execute(statement)
        tables = pg_tables(cursor)
        for index, (schema, table, oid) in enumerate(tables):
            if table in empty:
                result[_pg_key(schema, table)] = dict(EMPTY_TABLE)
                continue
            cursor.execute(
                "SELECT a.attname, a.attcollation <> 0 FROM pg_index i "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
                [oid],
            )
            key = [
                sql.SQL('{} COLLATE "C"').format(sql.Identifier(name)) if collatable else sql.Identifier(name)
                for name, collatable in cursor.fetchall()
            ]
            query = sql.SQL("SELECT md5(ROW(_r.*)::text) AS _h FROM {}.{} AS _r ORDER BY {}").format(
                sql.Identifier(schema),
                sql.Identifier(table),
                sql.SQL(", ").join(key) if key else sql.SQL("_h"),
            )
            digest = hashlib.sha256()
            rows = 0
            with conn.cursor(name=f"siwu_checksum_{index}") as stream:
                stream.itersize = FETCH_ROWS
                stream.execute(query)
                for (row_hash,) in stream:
                    digest.update(row_hash.encode())
                    rows += 1
            result[_pg_key(schema, table)] = {"rows": rows, "checksum": digest.hexdigest()}
    return result


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def sqlite_tables(conn):
    return [
        name
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not name.startswith("sqlite_stat")
    ]


def sqlite_checksums(conn):
    """{table: {"rows", "checksum"}} of every table of a sqlite3 connection, streamed row by row."""
    result = {}
    for table in sqlite_tables(conn):
        columns = list(conn.execute(f"PRAGMA table_info({_quote(table)})"))
        key = [row[1] for row in sorted((c for c in columns if c[5]), key=lambda c: c[5])]
        order = ", ".join(_quote(name) for name in (key or [c[1] for c in columns]))
        # Unary + returns the stored value unchanged and without its declared type, so converters
        # a connection may have registered (Django's turn datetime and decimal columns into
        # objects) do not apply: any connection reads the same values.
        values = ", ".join(f"+{_quote(c[1])}" for c in columns)
        digest = hashlib.sha256()
        rows = 0
        # Identifiers come from sqlite_master and are quoted; no value is put into the text.
        cursor = conn.execute(f"SELECT {values} FROM {_quote(table)} ORDER BY {order}")  # nosec B608  # see above
        for row in cursor:  # sqlite3 steps through the result one row at a time
            digest.update(repr(row).encode())
            digest.update(b"\n")
            rows += 1
        result[table] = {"rows": rows, "checksum": digest.hexdigest()}
    return result


def database_checksums(db):
    """Row counts and checksums of every table of the database a DATABASES entry names."""
    if vendor_of(db) == "sqlite":
        conn = sqlite3.connect(f"file:{_sqlite_path(db)}?mode=ro", uri=True)
        try:
            return sqlite_checksums(conn)
        finally:
            conn.close()
    conn = pg_connect(db)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        return pg_checksums(conn)
    finally:
        conn.rollback()
        conn.close()


def _migrations(rows):
    applied = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


# --- media ----------------------------------------------------------------------------------------


def media_files(root):
    """Sorted relative POSIX paths of the regular files under ``root`` (symlinks are not followed)."""
    root = Path(root)
    found = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_hashed(source, target):
    """Copy a file, returning (size, sha256) of the bytes written."""
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class _HashingReader:
    """A file wrapper that hashes what tarfile reads from it."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size=-1):
        chunk = self.handle.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


def media_modes():
    """(file mode, folder mode) for media files: FILE_UPLOAD_PERMISSIONS and FILE_UPLOAD_DIRECTORY_PERMISSIONS.

    Where a setting is None (Django then leaves the mode to the umask), owner-only.
    """
    from django.conf import settings

    file_mode = getattr(settings, "FILE_UPLOAD_PERMISSIONS", None)
    folder_mode = getattr(settings, "FILE_UPLOAD_DIRECTORY_PERMISSIONS", None)
    return (0o600 if file_mode is None else file_mode, 0o700 if folder_mode is None else folder_mode)


def safe_relative(name):
    """``name`` as a relative path that stays inside its folder, or None."""
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        return None
    return path


# --- making a backup ------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    seconds: float = 0.0

    @property
    def rows(self):
        return sum(t["rows"] for t in self.manifest["tables"].values())

    @property
    def media_bytes(self):
        return sum(f["size"] for f in self.manifest["media"]["files"].values())


@contextlib.contextmanager
def _private_files():
    """Backups hold personal data and password hashes: make everything readable by the owner only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def default_backup_path(directory, now=None):
    """``directory``/siwu-YYYYmmdd-HHMMSS.tar, in the project's time zone (as the manifest's created_at)."""
    if now is None:
        from django.utils import timezone

        now = timezone.localtime()
    return Path(directory) / f"siwu-{now:%Y%m%d-%H%M%S}.tar"


def make_backup(dest, *, db, media_root, sqlite_connection=None, file_mode=None, log=lambda message: None):
    """Back up ``db`` and ``media_root`` into ``dest`` (a ``.tar`` file, or else a new directory).

    ``sqlite_connection``: the live sqlite3 connection to copy from (Django's own, which also works
    for an in-memory test database); by default the file ``db['NAME']`` is opened.
    ``file_mode``: the widest mode a media file keeps in a ``.tar`` (default FILE_UPLOAD_PERMISSIONS).
    The rows of EXCLUDED_TABLES are left out.
    Everything is written under a temporary name and renamed at the end: a backup that failed
    half-way never looks complete.
    """
    began = time.perf_counter()
    dest = Path(dest).absolute()
    media_root = Path(media_root).absolute()
    vendor = vendor_of(db)
    if dest.exists():
        raise BackupError(f"{dest} 已存在，不覆盖已有备份")
    if dest == media_root or media_root in dest.parents:
        raise BackupError(f"备份位置 {dest} 在媒体目录 {media_root} 之内，请换一个位置")
    as_tar = dest.suffix == ".tar"
    if file_mode is None:
        file_mode = media_modes()[0]
    with _private_files():
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".siwu-backup-", dir=dest.parent))
        try:
            db_file = work / DATABASE_FILES[vendor]
            log(f"正在备份数据库（{describe(db)}）……")
            if vendor == "postgresql":
                database, tables, migrations = _dump_postgresql(db, db_file)
            else:
                database, tables, migrations = _copy_sqlite(db, db_file, sqlite_connection)
            database.update(file=db_file.name, size=db_file.stat().st_size, sha256=file_sha256(db_file))
            manifest = {
                "format": FORMAT,
                "created_at": _now_iso(),
                "database": database,
                "tables": tables,
                "excluded_tables": sorted(t for t in tables if t.rpartition(".")[2] in EXCLUDED_TABLES),
                "media": {"files": {}},
                "app": {
                    "django": _django_version(),
                    "python": platform.python_version(),
                    "migrations": migrations,
                },
            }
            names = media_files(media_root)
            log(f"正在备份媒体文件（{media_root}，{len(names)} 个）……")
            partial = dest.with_name(dest.name + ".part")
            if partial.exists():
                shutil.rmtree(partial) if partial.is_dir() else partial.unlink()
            if as_tar:
                _write_tar(partial, db_file, media_root, names, manifest, file_mode)
            else:
                _write_directory(partial, db_file, media_root, names, manifest)
            os.replace(partial, dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return BackupResult(dest, manifest, time.perf_counter() - began)


def _now_iso():
    from django.utils import timezone

    return timezone.localtime().isoformat(timespec="seconds")


def _django_version():
    import django

    return django.get_version()


def _dump_postgresql(db, target):
    """pg_dump -Fc from an exported snapshot; checksums and migrations read in that same snapshot.

    The rows of EXCLUDED_TABLES are left out of the dump (their tables are in it, empty).
    """
    conn = pg_connect(db)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
            excluded = [(schema, table) for schema, table, _oid in pg_tables(cursor) if table in EXCLUDED_TABLES]
        command = [
            pg_tool("pg_dump", conn.server_version),
            "--format=custom",
            f"--snapshot={snapshot}",
            f"--file={target}",
            "--no-password",
            # Quoted names match exactly one table: no pattern characters, no other schema.
            *(f"--exclude-table-data={_quote(schema)}.{_quote(table)}" for schema, table in excluded),
        ]
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(  # nosec B603  # fixed argument list, password in PGPASSWORD only
                command, env=pg_environment(db), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors
            )
            try:
                tables = pg_checksums(conn, empty={table for _schema, table in excluded})
                migrations = _pg_migrations(conn)
            finally:
                # The exported snapshot lives as long as this transaction: keep it until pg_dump is done.
                code = process.wait()
            if code != 0:
                errors.seek(0)
                detail = errors.read().decode(errors="replace").strip()
                raise BackupError(f"pg_dump 失败（退出码 {code}）：{detail}")
        database = {
            "vendor": "postgresql",
            "server_version": server_version,
            "name": db["NAME"],
            "format": "pg_dump custom",
        }
        return database, tables, migrations
    finally:
        conn.rollback()
        conn.close()


def _pg_migrations(conn):
    with conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return {}
        cursor.execute("SELECT app, name FROM django_migrations")
        return _migrations(cursor.fetchall())


def _sqlite_migrations(conn):
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'django_migrations'").fetchone():
        return {}
    return _migrations(conn.execute("SELECT app, name FROM django_migrations"))


def _copy_sqlite(db, target, source=None):
    """Copy with the online backup API (one step: a consistent snapshot), then read the copy."""
    own = source is None
    if own:
        path = _sqlite_path(db)
        if not path.exists():
            raise BackupError(f"SQLite 数据库文件 {path} 不存在")
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        # A copy of a WAL database is in WAL mode too; a backup must be one self-contained file.
        copy.execute("PRAGMA journal_mode = DELETE")
        _empty_excluded_tables(copy)
        # The page-by-page copy holds the source's free pages, where rows deleted earlier (ended
        # sessions among them) may linger, and the deletions above free more: rebuild the file.
        copy.execute("VACUUM")
        tables = sqlite_checksums(copy)
        migrations = _sqlite_migrations(copy)
        database = {
            "vendor": "sqlite",
            "server_version": sqlite3.sqlite_version,
            "name": Path(str(db["NAME"])).name,
            "format": "sqlite3 online backup",
        }
    finally:
        copy.close()
        if own:
            source.close()
    return database, tables, migrations


def _empty_excluded_tables(conn):
    """Delete the rows of EXCLUDED_TABLES from a sqlite3 connection's database; the number deleted."""
    conn.execute("PRAGMA secure_delete = ON")  # freed pages are overwritten with zeros
    deleted = 0
    with conn:
        for table in sqlite_tables(conn):
            if table in EXCLUDED_TABLES:
                deleted += conn.execute(f"DELETE FROM {_quote(table)}").rowcount  # nosec B608  # a fixed name
    return deleted


def _write_tar(path, db_file, media_root, names, manifest, file_mode):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(db_file, arcname=db_file.name, recursive=False)
        for name in names:
            source = media_root / name
            try:
                with open(source, "rb") as handle:
                    info = tar.gettarinfo(fileobj=handle, arcname=f"{MEDIA_DIR}/{name}")
                    # The file's own mode, but never wider than uploads get (a file stored before
                    # FILE_UPLOAD_PERMISSIONS was set may still be 0644).
                    info.mode = stat.S_IMODE(info.mode) & file_mode
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    reader = _HashingReader(handle)
                    tar.addfile(info, reader)
            except FileNotFoundError:
                continue  # deleted since the folder was listed
            # tarfile reads exactly info.size bytes: what it read is what the archive holds.
            manifest["media"]["files"][name] = {"size": reader.size, "sha256": reader.digest.hexdigest()}
        data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(datetime.datetime.now().timestamp())
        info.mode = 0o600
        tar.addfile(info, io.BytesIO(data))


def _write_directory(path, db_file, media_root, names, manifest):
    path.mkdir()
    shutil.move(db_file, path / db_file.name)
    media = path / MEDIA_DIR
    media.mkdir()
    for name in names:
        target = media / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            size, sha256 = copy_hashed(media_root / name, target)
        except FileNotFoundError:
            target.unlink(missing_ok=True)
            continue
        manifest["media"]["files"][name] = {"size": size, "sha256": sha256}
    write_manifest(path, manifest)


def write_manifest(folder, manifest):
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
    (Path(folder) / MANIFEST).write_text(text + "\n", encoding="utf-8")


# --- reading and restoring a backup ---------------------------------------------------------------


@contextlib.contextmanager
def opened(backup, tmpdir=None):
    """The backup as a folder: a directory as it is, a .tar extracted into a temporary folder."""
    backup = Path(backup)
    if backup.is_dir():
        yield backup
        return
    if not backup.is_file():
        raise BackupError(f"备份 {backup} 不存在")
    with tempfile.TemporaryDirectory(prefix="siwu-restore-", dir=tmpdir) as folder:
        try:
            with tarfile.open(backup, "r:*") as tar:
                members = []
                for member in tar.getmembers():
                    name = safe_relative(member.name)
                    if name is None or not (member.isfile() or member.isdir()):
                        raise BackupError(f"备份归档含有不允许的条目：{member.name}")
                    members.append(member)
                # The "data" filter refuses absolute paths, "..", links and special files as well.
                tar.extractall(folder, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupError(f"备份归档 {backup} 无法读取（已损坏或不完整）：{exc}") from None
        yield Path(folder)


def read_manifest(folder):
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"备份中没有 {MANIFEST}（备份不完整或不是本系统的备份）")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{MANIFEST} 无法解析：{exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} 的格式不是 {FORMAT}（收到 {manifest.get('format')!r}）")
    for key in ("database", "tables", "media"):
        if not isinstance(manifest.get(key), dict):
            raise BackupError(f"{MANIFEST} 缺少 {key}")
    if not isinstance(manifest["media"].get("files"), dict):
        raise BackupError(f"{MANIFEST} 缺少 media.files")
    vendor = manifest["database"].get("vendor")
    if vendor not in DATABASE_FILES or manifest["database"].get("file") != DATABASE_FILES[vendor]:
        raise BackupError(f"{MANIFEST} 中的数据库类型或文件名无效")
    return manifest


def check_database_file(folder, manifest):
    """Raise when the database file is missing, truncated or changed since the backup."""
    expected = manifest["database"]
    path = Path(folder) / expected["file"]
    if not path.is_file():
        raise BackupError(f"备份中缺少数据库文件 {expected['file']}")
    size = path.stat().st_size
    if size != expected.get("size"):
        raise BackupError(
            f"数据库文件 {expected['file']} 大小为 {size} 字节，清单记录为 {expected.get('size')} 字节："
            "文件被截断或改动，拒绝恢复"
        )
    if file_sha256(path) != expected.get("sha256"):
        raise BackupError(f"数据库文件 {expected['file']} 的 SHA-256 与清单不符：文件被改动，拒绝恢复")
    return path


@dataclass
class Differences:
    """What a restored (or checked) copy does not share with the manifest."""

    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.errors)


def compare_tables(expected, actual):
    diff = Differences()
    for table, want in sorted(expected.items()):
        got = actual.get(table)
        if got is None:
            diff.errors.append(f"表 {table}：恢复后的数据库中没有这张表")
        elif got["rows"] != want["rows"]:
            diff.errors.append(f"表 {table}：行数 {got['rows']}，备份时为 {want['rows']}")
        elif got["checksum"] != want["checksum"]:
            diff.errors.append(f"表 {table}：行数相同（{want['rows']}）但内容校验和不同")
    extra = sorted(set(actual) - set(expected))
    if extra:
        diff.warnings.append(f"数据库中有备份里没有的表（未改动）：{'、'.join(extra)}")
    return diff


def compare_media(expected, root, *, extra_is_error=False):
    """Compare the files under ``root`` with the manifest's {path: {size, sha256}}."""
    diff = Differences()
    root = Path(root)
    present = set(media_files(root))
    for name, want in sorted(expected.items()):
        if name not in present:
            diff.errors.append(f"媒体文件 {name}：缺失")
            continue
        path = root / name
        if path.stat().st_size != want["size"]:
            diff.errors.append(f"媒体文件 {name}：大小 {path.stat().st_size} 字节，备份时为 {want['size']} 字节")
        elif file_sha256(path) != want["sha256"]:
            diff.errors.append(f"媒体文件 {name}：SHA-256 与备份时不同（文件被改动）")
    extra = sorted(present - set(expected))
    if extra:
        shown = "、".join(extra[:10]) + (f" 等 {len(extra)} 个" if len(extra) > 10 else "")
        if extra_is_error:
            diff.errors.append(f"备份中有清单未列出的媒体文件：{shown}")
        else:
            diff.warnings.append(f"媒体目录中有备份里没有的文件（未改动）：{shown}")
    return diff


def check_backup(folder, manifest):
    """Verify a backup without restoring it: the database file, then every media file."""
    check_database_file(folder, manifest)
    return compare_media(manifest["media"]["files"], Path(folder) / MEDIA_DIR, extra_is_error=True)


def restore_database(source, db, *, force=False, log=lambda message: None):
    """Load the database file ``source`` (checked with check_database_file) into ``db``.

    PostgreSQL: pg_restore in one transaction, so a failure leaves the target as it was; with
    ``force`` the backup's objects are dropped first (--clean). SQLite: the online backup API
    writes the copy into the target file page by page.
    """
    if vendor_of(db) == "postgresql":
        conn = pg_connect(db)
        server_version = conn.server_version
        conn.close()
        command = [
            pg_tool("pg_restore", server_version),
            f"--dbname={db['NAME']}",
            "--no-password",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
        ]
        if force:
            command += ["--clean", "--if-exists"]
        log(f"正在用 pg_restore 恢复数据库（{describe(db)}）……")
        done = subprocess.run(  # nosec B603  # fixed argument list, password in PGPASSWORD only
            [*command, str(source)],
            env=pg_environment(db),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip()
            raise BackupError(f"pg_restore 失败（退出码 {done.returncode}），目标数据库未改动：{detail}")
        return
    path = _sqlite_path(db)
    log(f"正在恢复 SQLite 数据库（{path}）……")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # The database holds personal data and password hashes: a new file is its owner's only.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(path)
    try:
        src.backup(dst)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"SQLite 恢复失败：{exc}") from None
    finally:
        dst.close()
        src.close()


def table_count(db):
    """How many tables the database holds (0 for a fresh database or a SQLite file not yet made)."""
    if vendor_of(db) == "sqlite":
        path = _sqlite_path(db)
        if not path.exists() or path.stat().st_size == 0:
            return 0
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return len(sqlite_tables(conn))
        finally:
            conn.close()
    conn = pg_connect(db)
    try:
        with conn.cursor() as cursor:
            return len(pg_tables(cursor))
    finally:
        conn.close()


def restore_media(folder, manifest, media_root, *, modes=None, log=lambda message: None):
    """Copy the backup's media files that the manifest lists into ``media_root`` (same names are replaced).

    ``modes``: (file mode, folder mode), by default ``media_modes()``. Every restored file gets the
    file mode and every folder the restore creates (``media_root`` too) the folder mode, whatever the
    modes in the archive and the umask. Each file is written beside its target and renamed into
    place: a file of the same name is replaced, not written through (nor a link it may be).
    Returns the files found in the backup that the manifest does not list: they are not restored.
    """
    file_mode, folder_mode = modes or media_modes()
    source = Path(folder) / MEDIA_DIR
    media_root = Path(media_root)
    listed = manifest["media"]["files"]
    present = media_files(source)
    names = [name for name in present if name in listed]
    log(f"正在恢复媒体文件（{len(names)} 个）到 {media_root}……")
    make_folders(media_root, folder_mode)
    for name in names:
        target = media_root / name
        make_folders(target.parent, folder_mode)
        descriptor, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-")  # owner-only
        try:
            with os.fdopen(descriptor, "wb") as dst, open(source / name, "rb") as src:
                shutil.copyfileobj(src, dst, CHUNK)
                os.fchmod(dst.fileno(), file_mode)
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
    return [name for name in present if name not in listed]


def empty_excluded_tables(db):
    """Delete the rows of EXCLUDED_TABLES from the database ``db``; the number of rows deleted.

    A backup made before those rows were left out still carries them: after restoring one, the
    sessions it brings back must not sign anyone in.
    """
    if vendor_of(db) == "sqlite":
        conn = sqlite3.connect(_sqlite_path(db))
        try:
            return _empty_excluded_tables(conn)
        finally:
            conn.close()
    from psycopg2 import sql

    conn = pg_connect(db)
    deleted = 0
    try:
        with conn, conn.cursor() as cursor:
            for schema, table, _oid in pg_tables(cursor):
                if table in EXCLUDED_TABLES:
                    cursor.execute(sql.SQL("DELETE FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
                    deleted += cursor.rowcount
    finally:
        conn.close()
    return deleted


def migration_notes(manifest):
    """Compare the backup's applied migrations with the code's: what the operator should do next."""
    from django.db.migrations.loader import MigrationLoader

    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    recorded = (manifest.get("app") or {}).get("migrations") or {}
    applied = {(app, name) for app, names in recorded.items() for name in names}
    local_apps = {app for app, _ in on_disk}
    unknown = sorted(f"{app}.{name}" for app, name in applied - on_disk if app in local_apps)
    pending = sorted(f"{app}.{name}" for app, name in on_disk - applied)
    notes = []
    if unknown:
        notes.append(
            f"备份来自更新的程序版本：其中 {len(unknown)} 个数据库迁移本程序没有（如 {unknown[0]}），请先升级程序"
        )
    if pending:
        notes.append(f"本程序比备份多 {len(pending)} 个数据库迁移（如 {pending[0]}）：恢复后请运行 manage.py migrate")
    return notes
