from pathlib import Path

from django.core.management.base import CommandError

from campaign.management.base import campaign_or_error
from core.management.base import SpecCommand, parse_day
from reports.models import Notice
from reports.notices import content as notice
from reports.progress import ReportError

FORMATS = ("docx", "xlsx")


class Command(SpecCommand):
    help = (
        "Write the weekly notice of a campaign as of a date (SPEC section 3): the archived file when that "
        "week's notice was issued, otherwise a draft with the next serial number. Nothing is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--as-of", required=True, dest="as_of")
        parser.add_argument("--format", required=True, dest="fmt")
        parser.add_argument("--output", required=True)

    def handle(self, *args, **options):
        fmt = options["fmt"]
        if fmt not in FORMATS:
            raise CommandError(f"--format 须为 docx 或 xlsx，收到 '{fmt}'")
        the_campaign = campaign_or_error(options["campaign"])
        day = parse_day(options["as_of"], "--as-of")
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"输出目录不存在：{output.parent}")
        issued = Notice.objects.filter(campaign=the_campaign, as_of=day).first()
        if issued is not None:
            field, _sha = issued.stored(fmt)
            with field.open("rb") as stored:
                data = stored.read()
            what = f"第{issued.serial}期（已发布）"
        else:
            try:
                content = notice.draft_content(the_campaign, day)
            except ReportError as exc:
                raise CommandError(str(exc)) from None
            data = notice.render(content, fmt)
            what = f"第{content['serial']}期草稿"
        # Written in one go once everything is ready, so a failure leaves no partial file.
        output.write_bytes(data)
        self.stdout.write(f"{output}：{what}")
