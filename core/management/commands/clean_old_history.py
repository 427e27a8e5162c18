"""django-simple-history's clean_old_history, made safe: audit rows are kept at least 183 days.

The library's own command deletes history of any age; this one (which shadows it, campaign being
listed before simple_history in INSTALLED_APPS) refuses fewer days and then does what
prune_history does, keeping each object's newest row.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from .prune_history import MIN_DAYS


class Command(BaseCommand):
    help = f"Delete history older than --days (at least {MIN_DAYS}); same as prune_history."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None)
        parser.add_argument("--auto", action="store_true", help="accepted for compatibility; ignored")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days, dry_run, **options):
        if days is None or days < MIN_DAYS:
            raise CommandError(f"--days must be given and at least {MIN_DAYS}: audit logs are kept 183 days by law")
        call_command("prune_history", days=days, dry_run=dry_run, stdout=self.stdout)
