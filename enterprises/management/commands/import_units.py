from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from campaign.management.base import campaign_or_error
from core.management.base import SpecCommand
from enterprises import importing


class Command(SpecCommand):
    help = "Import a screening list (排查清单, .xlsx or .csv) into the unit register; all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--dry-run", action="store_true", dest="dry_run", help="check and summarise, write nothing")

    def handle(self, *args, file, campaign, dry_run, **options):
        the_campaign = campaign_or_error(campaign)

        def parse():
            return importing.parse(file, file_name=Path(file).name, campaign=the_campaign)

        plan = parse()
        for issue in plan.warnings:
            self.stdout.write(_("提醒：%(issue)s") % {"issue": issue})
        if plan.errors:
            for issue in plan.errors:
                self.stderr.write(str(issue))
            raise CommandError(_("导入失败：共%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)})
        if dry_run:
            self.stdout.write(_("试运行，未写入任何数据：%(summary)s") % {"summary": plan.summary()})
            return
        try:
            # Another import of these townships committed between the check and now: the file is
            # read again inside apply's lock, and the units it wrote are matched, not created twice.
            plan = importing.apply(plan, reread=parse)
        except importing.PlanError as exc:
            for issue in exc.issues:
                self.stderr.write(str(issue))
            raise CommandError(str(exc)) from None
        self.stdout.write(_("导入完成：%(summary)s") % {"summary": plan.summary()})
