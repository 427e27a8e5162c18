from django.core.management.base import BaseCommand

from core.management.base import parse_day
from reports import reminders


class Command(BaseCommand):
    help = (
        "Enqueue the office's reminders: interview commitments falling due or lapsed, and on the notice "
        "weekday the week's notice draft for the city's admins (reports/reminders.py). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="the day to remind as of (YYYY-MM-DD; default today)")
        parser.add_argument("--draft", action="store_true", help="announce the notice draft whatever the weekday")

    def handle(self, *args, **options):
        today = parse_day(options["as_of"], "--as-of") if options["as_of"] else None
        found = reminders.run(today=today, force_draft=options["draft"])
        self.stdout.write(" ".join(f"{kind}={n}" for kind, n in found.items()))
