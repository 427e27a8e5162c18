"""Enqueue today's reminders (docs/notify.md); running it again the same day writes nothing new.

python manage.py notify_reminders [--as-of YYYY-MM-DD]
"""

import datetime

from django.core.management.base import BaseCommand, CommandError

from notify.reminders import daily


class Command(BaseCommand):
    help = "Enqueue the reminders due today: deadlines approaching and passed, look-backs falling due."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="the day to compute them for (default today)")

    def handle(self, *args, as_of, **options):
        try:
            today = datetime.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise CommandError(f"--as-of: not a date (YYYY-MM-DD): {as_of}") from None
        counts = daily.run(today=today)
        self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))
