"""``make bench``: build a synthetic city at scale and time every page that matters on it.

    python manage.py bench [--units 100000] [--runs 20] [--no-write]

Runs on the database DATABASE_URL names. Prints a table (median and p95 server time in ms, query
count) and writes it to docs/performance.md between the bench markers, with the machine, the scale
and the command. The synthetic campaign (slug ``bench``) is built once and reused by later runs on
the same database; the import is rolled back.
"""

import datetime
import io
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from campaign.models import Township
from campaign.services import assign_role
from demo import benchmark
from enterprises.models import Enterprise
from enterprises.pagination import NEXT, ORDER, Cursor
from enterprises.views import PAGE_SIZE
from reports import counts
from reports.models import CountsVersion

TARGETS_100K = {
    "dashboard": 25,
    "township page": 25,
    "register, first page": 30,
    "register, page 1,000": 30,
    "register, filtered": 30,
    "unit detail": 15,
    "progress JSON": 25,
}
# The province case: the dashboard and every register page (the others have no target there).
TARGETS_1M = {
    "dashboard": 40,
    "register, first page": 50,
    "register, page 1,000": 50,
    "register, filtered": 50,
}


class Command(BaseCommand):
    help = "Benchmark the pages, the notice, the import and the export on a synthetic city (see docs/performance.md)."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=100_000)
        parser.add_argument("--runs", type=int, default=20)
        parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
        parser.add_argument("--import-rows", type=int, default=50_000, help="0 skips the import benchmark")
        parser.add_argument("--build-only", action="store_true", help="build the synthetic city and stop")
        parser.add_argument(
            "--pages-only", action="store_true", help="time the pages and the raw scan only (the province case)"
        )
        parser.add_argument(
            "--build-here",
            action="store_true",
            help="build in this process (the tests: a child process would not see their database)",
        )

    def handle(self, *args, units, runs, no_write, import_rows, build_only, build_here, pages_only, **options):
        if build_only:
            benchmark.build(units=units, out=self.stdout.write)
            return
        # The city is built in a child process, so that this one's peak memory is that of serving pages.
        if not build_here:
            manage = Path(settings.BASE_DIR) / "manage.py"
            subprocess.run([sys.executable, str(manage), "bench", "--build-only", "--units", str(units)], check=True)
        campaign = benchmark.build(units=units, out=self.stdout.write)
        self.targets = TARGETS_1M if units >= 1_000_000 else TARGETS_100K
        rows = []
        with override_settings(ALLOWED_HOSTS=["testserver"], DEBUG=False):
            client = self._client()
            rows += self._pages(client, campaign, runs)
            rows.append(self._raw_scan(runs))
            rss_pages = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            if not pages_only:
                rows += self._notice(campaign)
                rows.append(self._export(client))
        if import_rows and not pages_only:
            rows += self._import(import_rows)
        table = self._table(rows, units, rss_pages)
        self.stdout.write(table)
        if not no_write:
            self._write(table, units)

    def _client(self):
        user, _created = get_user_model().objects.get_or_create(username="bench-admin")
        assign_role(user, "city_admin")
        client = Client()
        client.force_login(user)
        return client

    def _get(self, client, url):
        def fetch():
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            if response.streaming:
                b"".join(response.streaming_content)

        return fetch

    def _pages(self, client, campaign, runs):
        as_of = benchmark.AS_OF.isoformat()
        query = f"?campaign={campaign.slug}&as_of={as_of}"
        township = Township.objects.filter(name__startswith="基准").order_by("name").first()
        unit = Enterprise.objects.filter(township=township, status="rectified").order_by("-id").first()
        register = reverse("enterprises:list")
        deep = min(1000, max(2, Enterprise.objects.alive().count() // PAGE_SIZE))
        pages = [
            ("dashboard", reverse("reports:dashboard") + query),
            ("township page", reverse("reports:township", args=[township.pk]) + query),
            ("register, first page", register),
            (f"register, page {deep:,}", register + _deep_page_query(deep)),
            ("register, filtered", register + f"?township={township.pk}&status=open"),
            ("unit detail", reverse("enterprises:detail", args=[unit.pk])),
            ("progress JSON", reverse("reports:progress_api") + query),
        ]
        rows = []
        for name, url in pages:
            median, p95, queries = benchmark.timed(self._get(client, url), runs=runs)
            rows.append((name, median, p95, queries, self.targets.get(name)))
            self.stdout.write(f"{name}: {median:.1f} ms median, {p95:.1f} ms p95, {queries} queries")
        self._dashboard_median = rows[0][1]
        # The report pages right after a change in one township (another each time): its counts'
        # version moves as the triggers move it with every write, so the page reads that township's
        # figures again and keeps the others' (reports/counts/cache.py). The data stay as they are.
        towns = list(Township.objects.filter(name__startswith="基准").values_list("pk", flat=True))
        rng = random.Random(7)

        def changed():
            CountsVersion.objects.update_or_create(
                township_id=rng.choice(towns), defaults={"version": rng.getrandbits(62)}
            )

        # And with nothing cached: the first request a new server process answers.
        report_pages = [(name, url) for name, url in pages if name in ("dashboard", "township page", "progress JSON")]
        variants = (("right after a change in one township", changed), ("nothing cached", counts.clear))
        for label, before in variants:
            for name, url in report_pages:
                median, p95, queries = benchmark.timed(self._get(client, url), runs=runs, before=before)
                rows.append((f"{name}, {label}", median, p95, queries, None))
                self.stdout.write(f"{name} ({label}): {median:.1f} ms median, {p95:.1f} ms p95, {queries} queries")
        return rows

    def _raw_scan(self, runs):
        sql, params = benchmark.full_scan_sql(benchmark.AS_OF)

        def scan():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        median, p95, queries = benchmark.timed(scan, runs=runs)
        self._scan_median = median
        return ("raw full-scan aggregate (BI tool)", median, p95, queries, None)

    def _notice(self, campaign):
        rows = []
        for fmt in ("docx", "xlsx"):
            with tempfile.TemporaryDirectory() as folder:
                out = Path(folder) / f"notice.{fmt}"

                def generate(out=out, fmt=fmt):
                    call_command(
                        "weekly_notice",
                        "--campaign",
                        campaign.slug,
                        "--as-of",
                        benchmark.AS_OF.isoformat(),
                        "--format",
                        fmt,
                        "--output",
                        str(out),
                        stdout=io.StringIO(),
                    )

                median, p95, queries = benchmark.timed(generate, runs=3, warmup=1)
            rows.append((f"weekly notice .{fmt}", median, p95, queries, 1500))
        return rows

    def _export(self, client):
        # About 50,000 rows: the rectified units of the first townships, as the register filters them.
        url = reverse("enterprises:export") + "?status=rectified"
        count = Enterprise.objects.alive().filter(status="rectified").count()
        median, p95, queries = benchmark.timed(self._get(client, url), runs=3, warmup=1)
        return (f"export .xlsx ({count} rows)", median, p95, queries, 5000)

    def _import(self, count):
        """The screening-list import in a child process (its own peak memory), rolled back."""
        manage = Path(settings.BASE_DIR) / "manage.py"
        began = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(manage), "bench_import", "--rows", str(count)],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            check=False,
        )
        seconds = time.perf_counter() - began
        lines = [line for line in result.stdout.splitlines() if "file to committed rows" in line or "peak" in line]
        self.stdout.write("\n".join(lines) or result.stderr[-2000:])
        figure = next((line for line in lines if "file to committed rows" in line), "")
        ms = float(figure.split(":")[1].split("s")[0]) * 1000 if figure else seconds * 1000
        return [(f"{count:,}-row import (command)", ms, ms, None, 8000)]

    def _table(self, rows, units, rss_pages):
        lines = [
            f"Measured {datetime.date.today().isoformat()} on {platform.node() or 'this machine'} "
            f"({os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
            f"{connection.vendor} {_server_version()}), {units:,} units. "
            f"Command: `DATABASE_URL=… python manage.py bench --units {units}` (or `make bench UNITS={units}`). "
            "Server time through Django's test client as a city admin, in ms.",
            "",
            "| what | median ms | p95 ms | queries | target ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, median, p95, queries, target in rows:
            lines.append(
                f"| {name} | {median:.1f} | {p95:.1f} | {'' if queries is None else queries} | {target or ''} |"
            )
        ratio = self._scan_median / self._dashboard_median if self._dashboard_median else 0
        lines += [
            "",
            f"Dashboard vs the raw full-scan aggregate: {self._dashboard_median:.1f} ms vs {self._scan_median:.1f} ms "
            f"(the scan takes {ratio:.1f}× the dashboard's time).",
            f"Peak resident memory of the serving process through the page requests: {rss_pages:.0f} MB.",
        ]
        return "\n".join(lines) + "\n"

    def _write(self, table, units):
        """Replace this scale's table (between its markers) in docs/performance.md, or append one."""
        start_mark, end_mark = (
            f"<!-- bench:{connection.vendor}:{units}:start -->",
            f"<!-- bench:{connection.vendor}:{units}:end -->",
        )
        path = Path(settings.BASE_DIR) / "docs" / "performance.md"
        text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
        section = f"{start_mark}\n{table}{end_mark}"
        if start_mark in text and end_mark in text:
            head, rest = text.split(start_mark, 1)
            text = head + section + rest.split(end_mark, 1)[1]
        else:
            text = text.rstrip() + f"\n\n### {connection.vendor}, {units:,} units\n\n{section}\n"
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"written to {path}")


def _deep_page_query(number):
    """The link "下一页" on page ``number - 1`` leads to: a cursor after that page's last row.

    Reached here by one OFFSET query instead of following 999 links; the page itself is read the
    way every register page is (enterprises/pagination.py), whatever its depth.
    """
    last = Enterprise.objects.alive().order_by(*ORDER).values_list("identified_on", "pk")[(number - 1) * PAGE_SIZE - 1]
    return "?cursor=" + Cursor(NEXT, number, *last).encode()


def _server_version():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        return cursor.fetchone()[0]
