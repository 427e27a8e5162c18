"""manage.py backup: the database and the media folder into one .tar archive (or a directory).

See docs/backup.md. PostgreSQL is dumped with pg_dump -Fc from an exported snapshot, SQLite copied
with the online backup API; manifest.json records every table's row count and row checksum and
every media file's SHA-256, which `manage.py restore` checks after restoring. Sessions and
django-axes' login records are left out (core/backup.py, EXCLUDED_TABLES).
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections

from core import backup
from core.management.base import SpecCommand


def backup_dir():
    """BACKUP_DIR from the environment, else <project>/backups."""
    return Path(os.environ.get("BACKUP_DIR") or settings.BASE_DIR / "backups")


class Command(SpecCommand):
    help = (
        "Back up the database and MEDIA_ROOT with a manifest of row counts, row checksums and file hashes. "
        "DEST ending in .tar makes one archive, any other DEST a new directory; "
        "default $BACKUP_DIR/siwu-YYYYmmdd-HHMMSS.tar (BACKUP_DIR defaults to <project>/backups)."
    )

    def add_arguments(self, parser):
        parser.add_argument("dest", nargs="?", help="a new .tar file or a new directory (default: see above)")
        parser.add_argument("--database", default="default", help="database alias (default %(default)s)")

    def handle(self, *args, dest, database, **options):
        if database not in connections:
            raise CommandError(f"未配置数据库别名 '{database}'")
        db = connections[database].settings_dict
        dest = Path(dest) if dest else backup.default_backup_path(backup_dir())
        live = None
        try:
            if backup.vendor_of(db) == "sqlite":
                # Django's own connection: the online backup API copies a consistent snapshot of it.
                connections[database].ensure_connection()
                live = connections[database].connection
            result = backup.make_backup(
                dest, db=db, media_root=settings.MEDIA_ROOT, sqlite_connection=live, log=self.stdout.write
            )
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = result.manifest
        size = sum(f.stat().st_size for f in _files(result.path))
        self.stdout.write(
            f"已备份到 {result.path}（{_human(size)}）：{backup.VENDOR_NAMES[manifest['database']['vendor']]} "
            f"{len(manifest['tables'])} 张表、{result.rows} 行，媒体文件 {len(manifest['media']['files'])} 个"
            f"（{_human(result.media_bytes)}），用时 {result.seconds:.1f} 秒。"
        )
        self.stdout.write("备份含个人信息和密码散列：请保存在只有管理员能读的位置（文件权限已设为仅属主可读）。")


def _files(path):
    path = Path(path)
    return [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]


def _human(size):
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
