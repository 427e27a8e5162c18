"""The system check that the database holds the counts unit's triggers as declared (``check --database``)."""

from django.core.checks import Error, Tags, register
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _

from .schema import drift


def _migrated(connection):
    """Whether every migration is applied: until then the triggers are the migrations' business (and
    ``migrate``, which runs this check first, must not be stopped by what it is about to install)."""
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


@register(Tags.database)
def counts_triggers(app_configs=None, databases=None, **kwargs):
    errors = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor not in ("postgresql", "sqlite") or not _migrated(connection):
            continue
        errors += [
            Error(
                str(found),
                hint=_(
                    "统计表与统计版本靠这些触发器随每次写入更新，不一致时统计数字可能不再正确。"
                    "触发器只由迁移安装与更改：请查明数据库中的手工改动，或为改动了的声明补上迁移（docs/counting.md）。"
                ),
                obj=f"{alias}: {found.table or found.name}",
                id="reports.E001",
            )
            for found in drift(connection)
        ]
    return errors
