"""Time a large screening list through parse + apply and report its peak memory.

    python manage.py bench_import [--rows 50000] [--keep]

Writes a list of ``--rows`` units (ten townships, a fifth of them rectified, phones and credit
codes as text) to a temporary .xlsx, then imports it in a child process, so the peak resident
memory measured (ru_maxrss of the child) is the import's own and not the generator's. The import
runs in a transaction that is rolled back unless ``--keep`` is given: the database is unchanged.
"""

import datetime
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from campaign.models import Township
from enterprises import importing
from enterprises.credit_code import make_credit_code

TOWNSHIPS = [f"基准测试{i}镇" for i in range(1, 11)]
LIMIT_SECONDS = 8
LIMIT_MB = 400


class _Rollback(Exception):
    pass


def write_list(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("排查清单")
    sheet.append([column.header for column in importing.COLUMNS])
    day = datetime.date(2018, 1, 2)
    for i in range(rows):
        rectified = i % 5 == 0
        sheet.append(
            [
                f"基准单位{i:06d}",
                make_credit_code("9", "1", "330102", f"{i:08d}"),
                TOWNSHIPS[i % len(TOWNSHIPS)],
                f"第{i % 40}村",
                f"网格{i % 12}",
                f"基准路{i}号",
                f"负责人{i % 997}",
                f"138{i:08d}",
                "制造业",
                "厂房",
                "是",
                "否" if i % 3 else "是",
                "否",
                "是" if i % 7 == 0 else "否",
                day + datetime.timedelta(days=i % 60),
                "排查",
                "已整治" if rectified else "未整治",
                "关停取缔" if rectified else "",
                day + datetime.timedelta(days=70) if rectified else None,
                None,
            ]
        )
    book.save(path)


class Command(BaseCommand):
    help = "Benchmark the screening-list import: seconds for parse + apply and peak memory (MB)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=50000)
        parser.add_argument("--keep", action="store_true", help="commit the imported units")
        parser.add_argument("--run", help=argparse_suppress())

    def handle(self, *args, rows, keep, run, **options):
        if run:
            return self.child(Path(run), keep=keep)
        for name in TOWNSHIPS:
            Township.objects.get_or_create(name=name, defaults={"kind": Township.kind_from_name(name)})
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.xlsx"
            started = time.perf_counter()
            write_list(path, rows)
            self.stdout.write(
                f"generated {rows} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
            )
            command = [sys.executable, sys.argv[0], "bench_import", "--run", str(path)] + (["--keep"] if keep else [])
            started = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)
            wall = time.perf_counter() - started
        if result.returncode:
            raise CommandError(result.stderr or result.stdout)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
        self.stdout.write(result.stdout.strip())
        seconds = float(result.stdout.split("seconds=")[1].split()[0])
        self.stdout.write(f"child process wall time (incl. Django start-up): {wall:.2f} s")
        self.stdout.write(f"import time (parse + apply): {seconds:.2f} s (limit {LIMIT_SECONDS} s)")
        self.stdout.write(f"peak memory (ru_maxrss of the import process): {peak_mb:.0f} MB (limit {LIMIT_MB} MB)")
        if seconds > LIMIT_SECONDS or peak_mb > LIMIT_MB:
            raise CommandError("over the limit")

    def child(self, path: Path, *, keep: bool) -> None:
        started = time.perf_counter()
        try:
            with transaction.atomic():
                plan = importing.parse(path, file_name=path.name)
                parsed = time.perf_counter()
                if plan.errors:
                    raise CommandError("\n".join(str(issue) for issue in plan.errors[:20]))
                importing.apply(plan)
                applied = time.perf_counter()
                if not keep:
                    raise _Rollback
        except _Rollback:
            pass
        self.stdout.write(
            f"seconds={applied - started:.2f} parse={parsed - started:.2f} apply={applied - parsed:.2f} "
            f"{plan.summary()}"
        )


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
