"""Schedule the look-back re-checks (回头看) due by a date at the city's offsets after rectification.

    python manage.py schedule_lookbacks --campaign 2018 [--as-of YYYY-MM-DD]

Idempotent (a rectification is scheduled once per offset), so it can run every night from cron.
"""

from django.utils import timezone

from campaign.management.base import SpecCommand, campaign_or_error, parse_day
from inspections.services import lookbacks_schedule


class Command(SpecCommand):
    help = "Create the look-backs due by --as-of (default today) at the campaign's offsets (30/90/180 days)."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--as-of")

    def handle(self, *args, campaign, as_of, **options):
        campaign = campaign_or_error(campaign)
        day = parse_day(as_of, "--as-of") if as_of else timezone.localdate()
        created = lookbacks_schedule(campaign=campaign, as_of=day)
        self.stdout.write(f"{campaign.slug} {day.isoformat()}: {created} 个回头看已排期")
