"""``import_targets FILE --campaign SLUG``: township annual targets (年度任务) from a spreadsheet.

The file and its rules are campaign.targets's: columns 乡镇街道, 年度任务, optionally 生效日期 and
调整原因; all rows or none are written, and importing the same file again changes nothing.
"""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from campaign.management.base import campaign_or_error
from campaign.targets import apply_targets, parse_targets
from core.management.base import SpecCommand


class Command(SpecCommand):
    help = "Import township annual targets (年度任务) for a campaign; all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--campaign", required=True)

    def handle(self, *args, file, campaign, **options):
        the_campaign = campaign_or_error(campaign)
        plan = parse_targets(file, the_campaign)
        for issue in plan.warnings:
            self.stdout.write(_("提醒：%(issue)s") % {"issue": issue})
        if plan.errors:
            for issue in plan.errors:
                self.stderr.write(str(issue))
            raise CommandError(_("导入失败：共%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)})
        apply_targets(plan, the_campaign)
        self.stdout.write(_("导入完成：%(summary)s") % {"summary": plan.summary()})
