"""Delete audit rows older than N days — never fewer than 183 (the legal minimum for logs).

The newest history row of every object is kept however old it is: it is the object's baseline,
without which its next change could not be shown as "old → new". Admin log entries (which also
hold the records of who viewed personal data) follow the same rule of age.
"""

import datetime

from django.contrib.admin.models import LogEntry
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.audit import history_model, tracked_models

MIN_DAYS = 183


class Command(BaseCommand):
    help = "Delete history and admin log rows older than --days (at least 183), keeping each object's latest."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help=f"keep this many days (at least {MIN_DAYS})")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args, days, dry_run, **options):
        if days < MIN_DAYS:
            raise CommandError(f"--days must be at least {MIN_DAYS}: audit logs are kept for 183 days by law")
        cutoff = timezone.now() - datetime.timedelta(days=days)
        total = 0
        with transaction.atomic():
            for model in tracked_models():
                history = history_model(model)
                pk_name = model._meta.pk.attname
                latest = history.objects.values(pk_name).annotate(last=Max("history_id")).values("last")
                old = history.objects.filter(history_date__lt=cutoff).exclude(history_id__in=latest)
                count = old.count() if dry_run else old.delete()[0]
                total += count
                if count:
                    self.stdout.write(f"{history._meta.db_table}: {count}")
            log = LogEntry.objects.filter(action_time__lt=cutoff)
            count = log.count() if dry_run else log.delete()[0]
            total += count
            if count:
                self.stdout.write(f"{LogEntry._meta.db_table}: {count}")
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {total} audit rows older than {cutoff:%Y-%m-%d %H:%M} ({days} days)")
