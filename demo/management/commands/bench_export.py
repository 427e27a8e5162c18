"""Stream the whole register once, as a city admin, and report the time and this process's peak memory.

    python manage.py bench_export [--format xlsx|csv]

``make bench`` runs it in a child process of its own for each format, so that the peak resident
memory it prints is that of a process serving the export (as a gunicorn worker would), not that of
the benchmark that built the city and timed the pages. It signs in the benchmark's city admin with
Django's test client, opens the register once (as a person does before clicking 导出, and as a
running worker has loaded the views' code), then requests the export with no filter and reads the
streamed pieces, discarding them. It prints one line:

    seconds=… first=… rows=… bytes=… queries=… rss_before_mb=… peak_mb=…

``first`` is the time to the first piece (the request, its census query and the workbook's fixed
parts); ``queries`` the SQL statements of the download, on every connection (the rows are read on
a thread of its own); ``rss_before_mb`` the resident memory before the export; ``peak_mb`` the peak during it
(VmHWM from /proc/self/status, reset before the export by writing 5 to /proc/self/clear_refs;
where that is not available, ``ru_maxrss``, the peak since the process started).
"""

import resource
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import Client, override_settings
from django.urls import reverse

from campaign.services import assign_role
from demo.benchmark import QueryCount

USERNAME = "bench-admin"


def _status_mb(field):
    """A ``Vm…`` figure of /proc/self/status in MB, or None where there is none (not Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return None


def _reset_peak():
    """Start VmHWM again from the current RSS; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def stream_export(client, fmt):
    """Request the whole register's export and read it to the end, discarding it: the figures of the
    download, with the SQL statements run to the first piece and in all (on every connection: the
    export reads its rows on a thread of its own)."""
    url = reverse("enterprises:export_csv" if fmt == "csv" else "enterprises:export")
    with QueryCount() as counted:
        began = time.perf_counter()
        response = client.get(url)
        if response.status_code != 200 or not response.streaming:
            raise CommandError(f"{url} answered {response.status_code}")
        pieces = iter(response.streaming_content)
        size = len(next(pieces, b""))
        first, first_queries = time.perf_counter() - began, counted.n
        for piece in pieces:
            size += len(piece)
        # Read to the end, the test client has closed the response (as a server does after the last byte).
        seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "first": first,
        "rows": int(response["X-Rows-Total"]),
        "bytes": size,
        "queries": counted.n,
        "first_queries": first_queries,
    }


class Command(BaseCommand):
    help = "Stream the whole register's export once as a city admin; print the time and the peak memory."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")

    def handle(self, *args, format, **options):  # noqa: A002 - the option's name
        with override_settings(ALLOWED_HOSTS=["testserver"], DEBUG=False):
            user, _created = get_user_model().objects.get_or_create(username=USERNAME)
            assign_role(user, "city_admin")
            client = Client()
            client.force_login(user)
            client.get(reverse("enterprises:list"))  # what a worker has done before its first export
            before = _status_mb("VmRSS")
            reset = _reset_peak()
            figures = stream_export(client, format)
        peak = _status_mb("VmHWM") if reset else None
        if peak is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
        self.stdout.write(
            f"seconds={figures['seconds']:.3f} first={figures['first']:.3f} rows={figures['rows']} "
            f"bytes={figures['bytes']} queries={figures['queries']} rss_before_mb={before or 0:.0f} peak_mb={peak:.0f}"
        )
