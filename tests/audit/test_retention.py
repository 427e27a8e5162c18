"""Audit rows are kept at least 183 days, whichever command an operator reaches for."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.management.commands.clean_old_history import Command as SafeClean


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["1", "182"])
def test_the_librarys_clean_old_history_is_shadowed_and_refuses_short_retention(days):
    from django.core.management import get_commands

    assert get_commands()["clean_old_history"] == "core"
    with pytest.raises(CommandError, match="183"):
        call_command("clean_old_history", "--days", days, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("clean_old_history", "--auto", stdout=io.StringIO())


@pytest.mark.django_db
def test_clean_old_history_with_enough_days_prunes_like_prune_history():
    out = io.StringIO()
    call_command("clean_old_history", "--days", "183", "--dry-run", stdout=out)
    assert "would delete 0 audit rows" in out.getvalue()
    assert SafeClean.help.startswith("Delete history")
