import json

from django.core.management.base import CommandError

from campaign.management.base import campaign_or_error
from core.management.base import SpecCommand, parse_day
from reports.scorecard import ReportError, scorecard


class Command(SpecCommand):
    help = "Print the 赛马 scorecard of a campaign as of a date (SPEC section 5)."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--as-of", required=True, dest="as_of")
        parser.add_argument("--json", action="store_true", help="print the JSON document")

    def handle(self, *args, **options):
        the_campaign = campaign_or_error(options["campaign"])
        day = parse_day(options["as_of"], "--as-of")
        try:
            card = scorecard(the_campaign, day)
        except ReportError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(card.as_json(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(render_table(card))


def render_table(card):
    """The ranking for people: rank, township, score, then each indicator's rate (— without a target)."""

    def pct(value):
        return "—" if value is None else f"{value}%"

    lines = [
        f"{card.campaign.name}  截至 {card.as_of.isoformat()}",
        " ".join(["名次", "乡镇(街道)", "得分", *(indicator.name for indicator in card.indicators)]),
    ]
    for line in card.ranking:
        rates = [pct(None if row is None else row.rate) for row in line.rows]
        lines.append(f"{line.rank or '':>3} {line.name:<12} {pct(line.score):>8} " + " ".join(f"{r:>8}" for r in rates))
    return "\n".join(lines)
