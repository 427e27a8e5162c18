"""Compare the per-township counts the database maintains with a full recount of the register, and
the triggers that maintain them with the ones the counts unit declares.

    python manage.py verify_counts [--repair]

Exit status 0 when both agree; 1 (with the differing keys, and every trigger or trigger function
missing, extra or different: ``reports.counts.drift``) when they do not. ``--repair`` rebuilds the
count tables from the register in one transaction and checks again; it leaves the triggers alone,
which only migrations install.
"""

from django.core.management.base import CommandError
from django.db import connection
from django.utils.translation import gettext as _

from core.management.base import SpecCommand
from reports import counts

SHOWN = 20


class Command(SpecCommand):
    help = "Check (and with --repair rebuild) the maintained daily counts against a full recount."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="rebuild the counts from the register")

    def handle(self, *args, repair, **options):
        if repair:
            counts.rebuild()
        problems = []
        found = counts.differences()
        if found:
            lines = [
                f"{table} {'/'.join(key)}: 维护值 {kept} ≠ 重算值 {counted}" for table, key, kept, counted in found
            ]
            problems.append(
                f"每日统计与全量重算有 {len(found)} 处不一致（可用 --repair 重建）：\n" + "\n".join(lines[:SHOWN])
            )
        drifted = counts.drift(connection)
        if drifted:
            lines = [str(item) for item in drifted]
            problems.append(
                _(
                    "数据库中维护统计的触发器与代码声明的有 %(n)d 处不一致（--repair 不改触发器；"
                    "请查明数据库中的手工改动，或为改动了的声明补上迁移）："
                )
                % {"n": len(drifted)}
                + "\n"
                + "\n".join(lines[:SHOWN])
            )
        if problems:
            raise CommandError("\n".join(problems))
        units, periods = counts.recount()
        self.stdout.write(
            f"每日统计与全量重算一致：{sum(v[0] for v in units.values())} 家单位，"
            f"{sum(v[0] for v in periods.values())} 条有效整治记录。"
        )
