"""manage.py restore: load a backup made by `manage.py backup`, then verify it against its manifest.

The target database must be empty (a database created for the purpose, or a SQLite file that does
not exist yet) and MEDIA_ROOT empty, unless --force. After restoring, every table's row count and
row checksum and every media file's SHA-256 are compared with the manifest; any difference is
listed and the command exits with status 1. A backup holds no sessions (see core/backup.py,
EXCLUDED_TABLES): after a restore everyone logs in again; the sessions an older backup still holds
are deleted once the restore is verified. See docs/backup.md.
"""

from pathlib import Path

import dj_database_url
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from django.utils.translation import gettext as _

from core import backup
from core.management.base import SpecCommand


class Command(SpecCommand):
    help = (
        "Restore a backup (a .tar archive or a directory) into an empty database and MEDIA_ROOT, then check "
        "every table's row count and checksum and every media file's hash against the backup's manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", help="the .tar archive or directory `manage.py backup` wrote")
        parser.add_argument(
            "--database-url",
            help="restore into this database instead of the configured one, e.g. postgres://siwu@db:5432/siwu_new "
            "or sqlite:////srv/siwu/restored.sqlite3 (give a PostgreSQL password in PGPASSWORD, not here)",
        )
        parser.add_argument("--media-root", help="restore the media files here instead of MEDIA_ROOT")
        parser.add_argument(
            "--force",
            action="store_true",
            help="restore over a database or media folder that is not empty (PostgreSQL: pg_restore --clean)",
        )
        parser.add_argument(
            "--check", action="store_true", help="only verify the backup's own files against its manifest"
        )
        parser.add_argument("--tmpdir", help="where a .tar archive is unpacked (default: the system's temp folder)")

    def handle(self, *args, **options):
        path = options["backup"]
        try:
            with backup.opened(path, options["tmpdir"]) as folder:
                manifest = backup.read_manifest(folder)
                self._describe(path, manifest)
                if options["check"]:
                    self._check(folder, manifest)
                else:
                    self._restore(folder, manifest, options["database_url"], options["media_root"], options["force"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None

    def _describe(self, path, manifest):
        database = manifest["database"]
        rows = sum(t.get("rows", 0) for t in manifest["tables"].values())
        self.stdout.write(
            f"备份 {path}：{manifest.get('created_at', '?')} 生成，"
            f"{backup.VENDOR_NAMES[database['vendor']]} {database.get('server_version', '')}，"
            f"{len(manifest['tables'])} 张表、{rows} 行，媒体文件 {len(manifest['media']['files'])} 个。"
        )

    def _check(self, folder, manifest):
        diff = backup.check_backup(folder, manifest)
        self._report(diff)
        if diff:
            raise CommandError(f"备份与清单不符：{len(diff.errors)} 处差异（见上）")
        self.stdout.write("备份完好：数据库文件和全部媒体文件与清单一致（未恢复任何内容）。")

    def _restore(self, folder, manifest, database_url, media_root, force):
        db = dj_database_url.parse(database_url) if database_url else connections["default"].settings_dict
        media_root = Path(media_root) if media_root else Path(settings.MEDIA_ROOT)
        vendor = backup.vendor_of(db)
        source_vendor = manifest["database"]["vendor"]
        if vendor != source_vendor:
            raise CommandError(
                f"备份来自 {backup.VENDOR_NAMES[source_vendor]}，目标数据库是 {backup.VENDOR_NAMES[vendor]}："
                "只能恢复到同一种数据库"
            )
        source = backup.check_database_file(folder, manifest)
        if not force:
            tables = backup.table_count(db)
            if tables:
                raise CommandError(
                    f"目标数据库 {backup.describe(db)} 不是空的（已有 {tables} 张表）：请恢复到新建的空数据库；"
                    "确要覆盖，请加 --force"
                )
            present = backup.media_files(media_root)
            if present:
                raise CommandError(
                    f"媒体目录 {media_root} 不是空的（已有 {len(present)} 个文件）：请换一个空目录（--media-root）；"
                    "确要覆盖，请加 --force"
                )
        for note in backup.migration_notes(manifest):
            self.stdout.write(f"注意：{note}")
        backup.restore_database(source, db, force=force, log=self.stdout.write)
        unlisted = backup.restore_media(folder, manifest, media_root, log=self.stdout.write)

        self.stdout.write("正在校验恢复结果（每张表的行数和校验和、每个媒体文件的 SHA-256）……")
        tables = backup.compare_tables(manifest["tables"], backup.database_checksums(db))
        media = backup.compare_media(manifest["media"]["files"], media_root)
        diff = backup.Differences(tables.errors + media.errors, tables.warnings + media.warnings)
        if unlisted:
            diff.errors.append(f"备份中有清单未列出的媒体文件（未恢复）：{'、'.join(unlisted[:10])}")
        self._report(diff)
        if diff:
            raise CommandError(f"恢复后的数据与备份清单不符：{len(diff.errors)} 处差异（见上）")
        ended = backup.empty_excluded_tables(db)
        if ended:
            self.stdout.write(
                _("已删除旧备份带来的 %(rows)d 行登录会话和登录记录（本系统的备份不再包含它们）。") % {"rows": ended}
            )
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(
            f"已恢复到 {backup.describe(db)} 和 {media_root}，校验一致：{len(manifest['tables'])} 张表、{rows} 行、"
            f"{len(manifest['media']['files'])} 个媒体文件。"
        )
        self.stdout.write(_("备份不含登录会话：所有用户须重新登录。"))

    def _report(self, diff):
        for line in diff.warnings:
            self.stdout.write(f"提示：{line}")
        for line in diff.errors:
            self.stderr.write(f"不一致：{line}")
