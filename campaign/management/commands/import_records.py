"""``import_records FILE --campaign SLUG --indicator KEY``: the records of an indicator that is not
built in (SPEC 5): columns 乡镇街道, 名称, 日期 (inside the campaign's year), 数量 (default 1, ≥ 0, at
most 2 decimals) and 说明. The same township and name are the same record: importing a file twice
changes nothing. All rows or none are written.
"""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from campaign.indicators import apply_records, indicator_or_error, parse_records, records_refusal
from campaign.management.base import campaign_or_error
from core.management.base import SpecCommand


class Command(SpecCommand):
    help = "Import the records of a campaign's indicator that is not built in; all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--indicator", required=True, help="the indicator's key")

    def handle(self, *args, file, campaign, indicator, **options):
        the_campaign = campaign_or_error(campaign)
        try:
            the_indicator = indicator_or_error(the_campaign, indicator)
        except ValueError as exc:
            raise CommandError(f"--indicator：{exc}") from None
        refusal = records_refusal(the_indicator)
        if refusal:
            raise CommandError(f"--indicator：{refusal}")
        plan = parse_records(file, the_indicator)
        if plan.errors:
            for issue in plan.errors:
                self.stderr.write(str(issue))
            raise CommandError(_("导入失败：共%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)})
        apply_records(plan, the_indicator)
        self.stdout.write(_("导入完成：%(summary)s") % {"summary": plan.summary()})
