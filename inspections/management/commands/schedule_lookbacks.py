"""Schedule the look-back re-checks (回头看) due by a date at the city's offsets after rectification.

    python manage.py schedule_lookbacks [--campaign 2018] [--as-of YYYY-MM-DD]

Without --campaign, every campaign whose year holds the day is scheduled, so the nightly job
(`manage.py nightly`, docs/deployment.md) needs no edit when a new year's campaign is created.
Idempotent (a rectification is scheduled once per offset), so it can run every night.
"""

from django.utils import timezone

from campaign.management.base import campaign_or_error
from campaign.models import Campaign
from core.management.base import SpecCommand, parse_day
from inspections.services import lookbacks_schedule


class Command(SpecCommand):
    help = (
        "Create the look-backs due by --as-of (default today) at the campaign's offsets (30/90/180 days); "
        "without --campaign, for every campaign whose year holds that day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", help="the campaign's slug (default: every campaign in force on the day)")
        parser.add_argument("--as-of")

    def handle(self, *args, campaign, as_of, **options):
        day = parse_day(as_of, "--as-of") if as_of else timezone.localdate()
        if campaign:
            campaigns = [campaign_or_error(campaign)]
        else:
            campaigns = list(Campaign.objects.filter(start__lte=day, end__gte=day).order_by("start", "slug"))
            if not campaigns:
                self.stdout.write(f"{day.isoformat()}: 没有进行中的整治行动，未排期回头看")
        for each in campaigns:
            created = lookbacks_schedule(campaign=each, as_of=day)
            self.stdout.write(f"{each.slug} {day.isoformat()}: {created} 个回头看已排期")
