from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from campaign.rules import parse_milestones
from campaign.services import campaign_create
from core.management.base import SpecCommand


class Command(SpecCommand):
    help = "Create a campaign (整治行动) for one year with its annual target and milestones."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--target", type=int, required=True, help="the city's annual target")
        parser.add_argument(
            "--milestones",
            default="03-31:30,06-30:60,09-30:80,12-31:100",
            help="MM-DD:PERCENT,… cumulative (default: %(default)s)",
        )
        parser.add_argument("--band", default="10", help="yellow band in percentage points (default 10)")
        parser.add_argument("--name", default="", help="display name (default: 'YYYY年“四无”…整治行动')")

    def handle(self, *args, slug, year, target, milestones, band, name, **options):
        if target < 0:
            raise CommandError("--target 不能为负数")
        if not 2000 <= year <= 2100:
            raise CommandError("--year 须在 2000 至 2100 之间")
        try:
            band_value = Decimal(band)
        except InvalidOperation:
            raise CommandError(f"--band 须为数字，收到 '{band}'") from None
        if band_value < 0 or not band_value.is_finite():
            raise CommandError("--band 不能为负数")
        try:
            schedule = parse_milestones(milestones)
        except ValueError as exc:
            raise CommandError(f"--milestones 格式错误：{exc}") from None
        try:
            campaign = campaign_create(
                slug=slug, year=year, target=target, milestones=schedule, band=band_value, name=name
            )
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from None
        self.stdout.write(f"created campaign {campaign.slug}: {campaign.name}, target {campaign.target}")
