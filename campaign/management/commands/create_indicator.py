"""``create_indicator KEY --campaign SLUG --target N [--name NAME] [--unit UNIT] [--weight 1]
[--milestones …]``: add an indicator with its city target to a campaign (SPEC 5)."""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from campaign.indicators import indicator_create
from campaign.management.base import campaign_or_error
from core.management.base import SpecCommand

# The argument each refusal of ``indicator_create`` is about, as the command line names it.
OPTIONS = {
    "key": "KEY",
    "target": "--target",
    "name": "--name",
    "unit": "--unit",
    "weight": "--weight",
    "milestones": "--milestones",
}


class Command(SpecCommand):
    help = "Add an indicator (指标) with its city annual target to a campaign."

    def add_arguments(self, parser):
        parser.add_argument("key", help="indicator key: a built-in one or your own (lowercase, digits, _)")
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--target", required=True, help="the city's annual target, a whole number")
        parser.add_argument("--name", default=None, help="display name (required for a key not built in)")
        parser.add_argument("--unit", default=None, help="unit of measure (required for a key not built in)")
        parser.add_argument("--weight", default="1", help="weight in the scorecard, above 0 (default 1)")
        parser.add_argument(
            "--milestones", default=None, help="own milestones MM-DD:PERCENT,… (default: the campaign's)"
        )

    def handle(self, *args, key, campaign, target, name, unit, weight, milestones, **options):
        the_campaign = campaign_or_error(campaign)
        try:
            indicator = indicator_create(
                the_campaign, key, target, name=name, unit=unit, weight=weight, milestones=milestones
            )
        except ValidationError as exc:
            lines = [
                f"{OPTIONS.get(field, field)}：{message}"
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
            raise CommandError("；".join(lines)) from None
        self.stdout.write(
            f"created indicator {indicator.key} in {the_campaign.slug}: {indicator.name} "
            f"({indicator.unit}), target {indicator.target}, weight {indicator.weight}"
        )
