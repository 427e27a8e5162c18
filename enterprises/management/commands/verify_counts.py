"""Compare the per-township daily counts the database maintains with a full recount of the register.

    python manage.py verify_counts [--repair]

Exit status 0 when they agree; 1 (with the differing keys) when they do not. ``--repair`` rebuilds
both tables from the register in one transaction and checks again.
"""

from django.core.management.base import CommandError

from core.management.base import SpecCommand
from enterprises import counts

SHOWN = 20


class Command(SpecCommand):
    help = "Check (and with --repair rebuild) the maintained daily counts against a full recount."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="rebuild the counts from the register")

    def handle(self, *args, repair, **options):
        if repair:
            counts.rebuild()
        found = counts.differences()
        if found:
            lines = [
                f"{table} {'/'.join(key)}: 维护值 {kept} ≠ 重算值 {counted}" for table, key, kept, counted in found
            ]
            raise CommandError(
                f"每日统计与全量重算有 {len(found)} 处不一致（可用 --repair 重建）：\n" + "\n".join(lines[:SHOWN])
            )
        units, periods = counts.recount()
        self.stdout.write(
            f"每日统计与全量重算一致：{sum(v[0] for v in units.values())} 家单位，"
            f"{sum(v[0] for v in periods.values())} 条有效整治记录。"
        )
