"""Shared behaviour of the commands SPEC section 3 fixes."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign


class SpecCommand(BaseCommand):
    """A command whose every failure is a message on stderr and exit status 1.

    argparse exits with 2 on a bad argument; SPEC 3 promises 1 for any bad argument or file.
    System checks are left to `manage.py check` (run by `make test`): loading every URL and view
    on each call would double the time of a one-line `progress --json`.
    """

    requires_system_checks = []

    def run_from_argv(self, argv):
        try:
            super().run_from_argv(argv)
        except SystemExit as exc:
            if exc.code == 2:
                raise SystemExit(1) from exc
            raise


def campaign_or_error(slug):
    try:
        return Campaign.objects.get(slug=slug)
    except Campaign.DoesNotExist:
        known = ", ".join(Campaign.objects.values_list("slug", flat=True)) or "—"
        raise CommandError(f"未找到整治行动 '{slug}'（已有：{known}）") from None


def parse_day(text, option):
    try:
        return datetime.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise CommandError(f"{option} 须为 YYYY-MM-DD 格式的日期，收到 '{text}'") from None
