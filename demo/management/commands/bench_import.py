"""Time a large screening list through parse + apply and report its peak memory.

    python manage.py bench_import [--rows 50000] [--runs 3] [--keep]

Writes a list of ``--rows`` units (ten townships, a fifth of them rectified, phones and credit
codes as text) to a temporary .xlsx, then imports it twice, each time in a child process of its
own, so the peak resident memory measured (ru_maxrss of the child) is the import's own and not the
generator's:

- ``command``: parse + apply, as ``import_units`` does;
- ``browser``: the browser's three requests through Django's test client as a city admin
  (upload and check → preview page → confirm), each timed, the file stored in a temporary media
  folder. A person reads the preview between them, so the limit holds for each request. The
  upload page is opened first, untimed, as a person does (it also loads the views' code, as a
  running server has).

Both run as a server does (DEBUG off: no SQL is logged; with DEBUG on, Django would spend a
second on SQLite quoting every parameter of every statement for its query log), and both end
with the checks the database would run at commit (deferred foreign keys), inside a
transaction that is then rolled back unless ``--keep`` is given (``--keep`` imports by command
only): the database is unchanged. On PostgreSQL the rolled-back rows are then vacuumed away
(untimed), as autovacuum would do on a production server: where it is off, each run would
otherwise leave 50,000 dead rows in the tables and their indexes, and the next run would be
slower for them, not for the import.

``--runs N`` repeats each mode N times and prints the median. Each figure line also gives the
child's own CPU time and the database server's (PostgreSQL, when it runs on this machine), which
say what the import costs when other work shares the two cores.
"""

import datetime
import io
import os
import resource
import statistics
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

# Not named 基准…: the synthetic city is the townships so named (demo/benchmark.py), and these are kept.
TOWNSHIPS = [f"导入测试{i}镇" for i in range(1, 11)]
# The tables an import writes (and the browser run's batch): vacuumed after a rolled-back run.
WRITTEN = (
    "enterprises_enterprise",
    "enterprises_historicalenterprise",
    "enterprises_rectification",
    "enterprises_historicalrectification",
    "campaign_village",
    "campaign_historicalvillage",
    "enterprises_unitday",
    "enterprises_periodday",
    "enterprises_unitstatus",
    "enterprises_importbatch",
)
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
        parser.add_argument("--runs", type=int, default=1, help="runs of each mode; the median is reported")
        parser.add_argument("--run", help=argparse_suppress())
        parser.add_argument("--mode", choices=["command", "browser"], help=argparse_suppress())

    def handle(self, *args, rows, keep, run, mode, runs, **options):
        if run:
            return self.browser(Path(run)) if mode == "browser" else self.child(Path(run), keep=keep)
        self.runs = 1 if keep else max(1, runs)
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
        """Run the import ``self.runs`` times in child processes; print the figures; True when over a limit."""
        results = [self.run_child(path, mode, keep) for _run in range(self.runs)]
        # ru_maxrss of the children is the largest of them: each mode runs after a smaller one or alone.
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
        seconds = statistics.median(result["seconds"] for result in results)
        if len(results) > 1:
            figures = ", ".join(f"{result['seconds']:.2f}" for result in results)
            self.stdout.write(f"[{mode}] {len(results)} runs: {figures} s; median {seconds:.2f} s")
        if mode == "browser":
            # Three requests with a person reading the preview in between: each wait is held to the limit.
            steps = {name: statistics.median(result[name] for result in results) for name in BROWSER_STEPS}
            seconds = max(steps.values())
            self.stdout.write(
                f"[{mode}] longest request: {seconds:.2f} s (limit {LIMIT_SECONDS} s); "
                f"server time of the three together {sum(steps.values()):.2f} s"
            )
        else:
            self.stdout.write(f"[{mode}] file to committed rows: {seconds:.2f} s (limit {LIMIT_SECONDS} s)")
        self.stdout.write(f"[{mode}] peak memory (ru_maxrss, largest child): {peak_mb:.0f} MB (limit {LIMIT_MB} MB)")
        return seconds > LIMIT_SECONDS or peak_mb > LIMIT_MB

    def run_child(self, path: Path, mode: str, keep: bool) -> dict[str, float]:
        manage = Path(settings.BASE_DIR) / "manage.py"
        command = [sys.executable, str(manage), "bench_import", "--run", str(path), "--mode", mode]
        started = time.perf_counter()
        result = subprocess.run(
            command + (["--keep"] if keep else []), capture_output=True, text=True, env=os.environ.copy(), check=False
        )
        wall = time.perf_counter() - started
        if not keep:
            self.vacuum()
        if result.returncode:
            raise CommandError((result.stderr or result.stdout)[-3000:])
        self.stdout.write(f"[{mode}] {result.stdout.strip()}")
        self.stdout.write(f"[{mode}] child process wall time (incl. Django start-up): {wall:.2f} s")
        names = ("seconds", *(BROWSER_STEPS if mode == "browser" else ()))
        return {name: float(result.stdout.split(f"{name}=")[1].split()[0]) for name in names}

    def vacuum(self) -> None:
        """Clear the dead rows a rolled-back run left (PostgreSQL; SQLite's rollback leaves none)."""
        if connection.vendor != "postgresql":
            return
        present = set(connection.introspection.table_names())
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {', '.join(table for table in WRITTEN if table in present)}")

    def child(self, path: Path, *, keep: bool) -> None:
        cpu = _Cpu()
        started = time.perf_counter()
        try:
            with override_settings(DEBUG=False), transaction.atomic():
                plan = importing.parse(path, file_name=path.name)
                parsed = time.perf_counter()
                if plan.errors:
                    raise CommandError("\n".join(str(issue) for issue in plan.errors[:20]))
                importing.apply(plan)
                connection.check_constraints()  # the foreign-key checks a commit would run
                applied = time.perf_counter()
                used = cpu.used()
                if not keep:
                    raise _Rollback
        except _Rollback:
            pass
        self.stdout.write(
            f"seconds={applied - started:.2f} parse={parsed - started:.2f} apply={applied - parsed:.2f} "
            f"{used} {plan.summary()}"
        )

    def browser(self, path: Path) -> None:
        from django.contrib.auth.models import User

        from campaign.services import assign_role
        from enterprises.models import ImportBatch

        data = path.read_bytes()
        timings = {}
        with (
            tempfile.TemporaryDirectory() as media,
            override_settings(MEDIA_ROOT=media, ALLOWED_HOSTS=["testserver"], DEBUG=False),
        ):
            try:
                with transaction.atomic():
                    user = User.objects.create_user("bench-import-admin")
                    assign_role(user, "city_admin")
                    client = Client()
                    client.force_login(user)
                    # The upload page a person opens first (untimed): it also loads the views' code,
                    # as any earlier request has in a server that is running.
                    client.get(reverse("imports:upload"))
                    cpu = _Cpu()
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
                    batch = ImportBatch.objects.only("pk").get()
                    step = time.perf_counter()
                    client.post(reverse("imports:confirm", args=[batch.pk]))
                    connection.check_constraints()  # the foreign-key checks a commit would run
                    timings["confirm"] = time.perf_counter() - step
                    total = time.perf_counter() - started
                    used = cpu.used()
                    batch.refresh_from_db(fields=["status", "failure"])
                    if page.status_code != 200 or batch.status != ImportBatch.State.APPLIED:
                        raise CommandError(f"preview {page.status_code}, batch {batch.status}: {batch.failure}")
                    summary = ImportBatch.objects.values_list("summary__text", flat=True).get(pk=batch.pk)
                    raise _Rollback
            except _Rollback:
                pass
        steps = " ".join(f"{name}={seconds:.2f}" for name, seconds in timings.items())
        self.stdout.write(f"seconds={total:.2f} {steps} {used} {summary}")


class _Cpu:
    """CPU seconds used from now on by this process and by its database server process.

    Wall time on a shared two-core machine counts whatever else runs; these do not. The server's
    is read from /proc (PostgreSQL on this machine; "n/a" otherwise).
    """

    def __init__(self):
        self.pid = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (self.pid,) = cursor.fetchone()
        self.start = (time.process_time(), self.server())

    def server(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def used(self) -> str:
        client, server = time.process_time(), self.server() if self.pid else None
        text = f"cpu={client - self.start[0]:.2f}"
        if server is not None and self.start[1] is not None:
            text += f" db_cpu={server - self.start[1]:.2f}"
        return text


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
