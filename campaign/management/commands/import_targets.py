"""``import_targets FILE --campaign SLUG [--indicator KEY]``: township annual targets (年度任务) from a
spreadsheet, of the 四无 count (``rectified``, the default) or of another indicator (SPEC 5).

The file and its rules are campaign.targets's: columns 乡镇街道, 年度任务, optionally 生效日期 and
调整原因; all rows or none are written, and importing the same file again changes nothing.
"""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from campaign.indicators import indicator_or_error
from campaign.management.base import campaign_or_error
from campaign.models import RECTIFIED
from campaign.targets import apply_targets, parse_targets
from core.management.base import SpecCommand


class Command(SpecCommand):
    help = "Import township annual targets (年度任务) of a campaign's indicator; all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--indicator", default=RECTIFIED, help="indicator key (default: %(default)s)")

    def handle(self, *args, file, campaign, indicator, **options):
        the_campaign = campaign_or_error(campaign)
        try:
            the_indicator = indicator_or_error(the_campaign, indicator)
        except ValueError as exc:
            raise CommandError(f"--indicator：{exc}") from None
        plan = parse_targets(file, the_campaign, the_indicator)
        for issue in plan.warnings:
            self.stdout.write(_("提醒：%(issue)s") % {"issue": issue})
        if plan.errors:
            for issue in plan.errors:
                self.stderr.write(str(issue))
            raise CommandError(_("导入失败：共%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)})
        apply_targets(plan, the_campaign, indicator=the_indicator)
        self.stdout.write(_("导入完成：%(summary)s") % {"summary": plan.summary()})
