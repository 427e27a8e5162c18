import json

from django.core.management.base import CommandError

from campaign.management.base import campaign_or_error
from core.management.base import SpecCommand, parse_day
from reports.progress import ReportError, progress_report


class Command(SpecCommand):
    help = "Print the progress report of a campaign as of a date (SPEC section 3)."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--as-of", required=True, dest="as_of")
        parser.add_argument("--json", action="store_true", help="print the JSON document")

    def handle(self, *args, **options):
        the_campaign = campaign_or_error(options["campaign"])
        day = parse_day(options["as_of"], "--as-of")
        try:
            report = progress_report(the_campaign, day)
        except ReportError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(render_table(report))


def render_table(report):
    def fmt(row):
        rate = "—" if row.rate is None else f"{row.rate}%"
        nxt = row.milestone_next
        short = "—" if nxt is None else str(nxt["shortfall"])
        return (
            f"{row.rank or '':>3} {row.name:<12} {row.target:>6} {row.rectified:>6} {rate:>8} "
            f"{row.colour or '—':<6} {row.open:>6} {short:>6}"
        )

    lines = [
        f"{report.campaign.name}  截至 {report.as_of.isoformat()}  应完成 {report.city.expected_rate}%",
        " ".join(["名次", "乡镇(街道)", "年度任务", "已整治", "完成率", "预警", "未整治", "缺口"]),
    ]
    lines += [fmt(row) for row in report.townships]
    lines.append(fmt(report.city))
    return "\n".join(lines)
