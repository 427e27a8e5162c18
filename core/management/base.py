"""Shared behaviour of the commands whose interface is fixed (docs/spec.md, section 3): exit 1 on any bad input."""

import datetime

from django.core.management.base import BaseCommand, CommandError


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


def parse_day(text, option):
    try:
        return datetime.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise CommandError(f"{option} 须为 YYYY-MM-DD 格式的日期，收到 '{text}'") from None
