"""``import_parks FILE --campaign SLUG``: small-micro parks (小微园) from a spreadsheet (SPEC 5).

The file and its rules are campaign.parks's: columns 园区名称, 乡镇街道 (required), 规划用地, 开工日期,
开工面积, 竣工日期, 竣工面积, 入驻容量; a park is the same park when township and name match; all
rows or none are written, and importing the same file again changes nothing. Parks belong to
their township, not to a campaign: ``--campaign`` names the year the file is checked against
(dates outside it are warned about, not refused; docs/parks.md).
"""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from campaign.management.base import campaign_or_error
from campaign.parks import ParkImportError, apply_parks, parse_parks
from core.management.base import SpecCommand


class Command(SpecCommand):
    help = "Import small-micro parks (小微园) of the townships; all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--campaign", required=True)

    def handle(self, *args, file, campaign, **options):
        the_campaign = campaign_or_error(campaign)
        plan = parse_parks(file, the_campaign)
        for issue in plan.warnings:
            self.stdout.write(_("提醒：%(issue)s") % {"issue": issue})
        if plan.errors:
            for issue in plan.errors:
                self.stderr.write(str(issue))
            raise CommandError(_("导入失败：共%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)})
        try:
            apply_parks(plan)
        except ParkImportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(_("导入完成：%(summary)s") % {"summary": plan.summary()})
