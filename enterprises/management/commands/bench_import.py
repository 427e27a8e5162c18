"""Time a large screening list through parse + apply and report its peak memory.

    python manage.py bench_import [--rows 50000] [--keep]

Writes a list of ``--rows`` units (ten townships, a fifth of them rectified, phones and credit
codes as text) to a temporary .xlsx, then imports it twice, each time in a child process of its
own, so the peak resident memory measured (ru_maxrss of the child) is the import's own and not the
generator's:

- ``command``: parse + apply, as ``import_units`` does;
- ``browser``: the browser's three requests through Django's test client as a city admin
  (upload and check → preview page → confirm), each timed, the file stored in a temporary media
  folder. A person reads the preview between them, so the limit holds for each request.

Both end with the checks the database would run at commit (deferred foreign keys), inside a
transaction that is then rolled back unless ``--keep`` is given (``--keep`` imports by command
only): the database is unchanged.
"""

import datetime
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import reverse

from campaign.models import Township
from enterprises import importing
from enterprises.credit_code import make_credit_code

TOWNSHIPS = [f"基准测试{i}镇" for i in range(1, 11)]
LIMIT_SECONDS = 8
LIMIT_MB = 400
BROWSER_STEPS = ("upload", "preview", "confirm")


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
        parser.add_argument("--mode", choices=["command", "browser"], help=argparse_suppress())

    def handle(self, *args, rows, keep, run, mode, **options):
        if run:
            return self.browser(Path(run)) if mode == "browser" else self.child(Path(run), keep=keep)
        for name in TOWNSHIPS:
            Township.objects.get_or_create(name=name, defaults={"kind": Township.kind_from_name(name)})
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.xlsx"
            started = time.perf_counter()
            write_list(path, rows)
            self.stdout.write(
                f"generated {rows} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
            )
            over = False
            for mode in ["command"] if keep else ["command", "browser"]:
                over |= self.measure(path, mode, keep)
        if over:
            raise CommandError("over the limit")

    def measure(self, path: Path, mode: str, keep: bool) -> bool:
        """Run one import in a child process; print its figures; True when over a limit."""
        manage = Path(settings.BASE_DIR) / "manage.py"
        command = [sys.executable, str(manage), "bench_import", "--run", str(path), "--mode", mode]
        started = time.perf_counter()
        result = subprocess.run(
            command + (["--keep"] if keep else []), capture_output=True, text=True, env=os.environ.copy(), check=False
        )
        wall = time.perf_counter() - started
        if result.returncode:
            raise CommandError((result.stderr or result.stdout)[-3000:])
        # ru_maxrss of the children is the largest of them: each mode runs after a smaller one or alone.
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
        seconds = float(result.stdout.split("seconds=")[1].split()[0])
        self.stdout.write(f"[{mode}] {result.stdout.strip()}")
        self.stdout.write(f"[{mode}] child process wall time (incl. Django start-up): {wall:.2f} s")
        if mode == "browser":
            # Three requests with a person reading the preview in between: each wait is held to the limit.
            steps = {name: float(result.stdout.split(f" {name}=")[1].split()[0]) for name in BROWSER_STEPS}
            seconds = max(steps.values())
            self.stdout.write(
                f"[{mode}] longest request: {seconds:.2f} s (limit {LIMIT_SECONDS} s); "
                f"server time of the three together {sum(steps.values()):.2f} s"
            )
        else:
            self.stdout.write(f"[{mode}] file to committed rows: {seconds:.2f} s (limit {LIMIT_SECONDS} s)")
        self.stdout.write(f"[{mode}] peak memory (ru_maxrss, largest child): {peak_mb:.0f} MB (limit {LIMIT_MB} MB)")
        return seconds > LIMIT_SECONDS or peak_mb > LIMIT_MB

    def child(self, path: Path, *, keep: bool) -> None:
        started = time.perf_counter()
        try:
            with transaction.atomic():
                plan = importing.parse(path, file_name=path.name)
                parsed = time.perf_counter()
                if plan.errors:
                    raise CommandError("\n".join(str(issue) for issue in plan.errors[:20]))
                importing.apply(plan)
                connection.check_constraints()  # the foreign-key checks a commit would run
                applied = time.perf_counter()
                if not keep:
                    raise _Rollback
        except _Rollback:
            pass
        self.stdout.write(
            f"seconds={applied - started:.2f} parse={parsed - started:.2f} apply={applied - parsed:.2f} "
            f"{plan.summary()}"
        )

    def browser(self, path: Path) -> None:
        from django.contrib.auth.models import User

        from campaign.access import assign_role
        from enterprises.models import ImportBatch

        data = path.read_bytes()
        timings = {}
        with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media, ALLOWED_HOSTS=["testserver"]):
            try:
                with transaction.atomic():
                    user = User.objects.create_user("bench-import-admin")
                    assign_role(user, "city_admin")
                    client = Client()
                    client.force_login(user)
                    file = io.BytesIO(data)
                    file.name = "基准清单.xlsx"
                    started = time.perf_counter()
                    response = client.post(reverse("imports:upload"), {"file": file})
                    timings["upload"] = time.perf_counter() - started
                    if response.status_code != 302:
                        raise CommandError(f"upload answered {response.status_code}")
                    step = time.perf_counter()
                    page = client.get(response.url)
                    timings["preview"] = time.perf_counter() - step
                    batch = ImportBatch.objects.defer("plan").get()
                    step = time.perf_counter()
                    client.post(reverse("imports:confirm", args=[batch.pk]))
                    connection.check_constraints()  # the foreign-key checks a commit would run
                    timings["confirm"] = time.perf_counter() - step
                    total = time.perf_counter() - started
                    batch.refresh_from_db()
                    if page.status_code != 200 or batch.status != ImportBatch.State.APPLIED:
                        raise CommandError(f"preview {page.status_code}, batch {batch.status}: {batch.failure}")
                    raise _Rollback
            except _Rollback:
                pass
        steps = " ".join(f"{name}={seconds:.2f}" for name, seconds in timings.items())
        self.stdout.write(f"seconds={total:.2f} {steps} {batch.summary['text']}")


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
