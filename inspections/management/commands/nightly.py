"""The nightly jobs, in one command a deployment's timer starts (deploy/systemd/siwu-nightly.timer).

    python manage.py nightly [--as-of YYYY-MM-DD] [--history-days 365]

1. look-backs due today for every campaign in force (schedule_lookbacks without --campaign);
2. expired sessions removed (clearsessions);
3. audit rows older than HISTORY_KEEP_DAYS removed, each object's newest kept (prune_history).

Each job runs even when an earlier one failed; the command exits 1 if any failed, naming it, so the
timer's unit shows as failed in `systemctl list-timers` / the journal.
"""

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the nightly jobs: look-back scheduling, expired sessions, old audit rows."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="the day to schedule look-backs for (default today)")
        parser.add_argument(
            "--history-days",
            type=int,
            default=int(os.environ.get("HISTORY_KEEP_DAYS", "365")),
            help="audit rows kept (days, at least 183; default HISTORY_KEEP_DAYS or 365)",
        )

    def handle(self, *args, as_of, history_days, **options):
        lookbacks = ["--as-of", as_of] if as_of else []
        jobs = [
            ("schedule_lookbacks", lookbacks),
            ("clearsessions", []),
            ("prune_history", ["--days", str(history_days)]),
        ]
        failed = []
        for name, arguments in jobs:
            try:
                call_command(name, *arguments, stdout=self.stdout, stderr=self.stderr)
            except Exception as exc:  # one job's failure must not skip the others
                self.stderr.write(f"{name}: {exc}")
                failed.append(name)
            else:
                self.stdout.write(f"{name}: ok")
        if failed:
            raise CommandError("nightly: failed: " + ", ".join(failed))
