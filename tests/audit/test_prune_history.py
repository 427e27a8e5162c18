"""Audit rows are kept at least 183 days (the legal minimum for logs); older ones may be pruned."""

import datetime

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaign.models import Township
from tests.factories import make_township, make_user

pytestmark = pytest.mark.django_db


def age(queryset, days):
    queryset.update(history_date=timezone.now() - datetime.timedelta(days=days))


@pytest.mark.parametrize("days", [0, 30, 182])
def test_fewer_than_183_days_is_refused(days):
    with pytest.raises(CommandError, match="at least 183"):
        call_command("prune_history", days=days)


def test_old_rows_go_and_each_objects_latest_row_stays():
    busy = make_township("城关镇")
    for order in (1, 2, 3):
        busy.sort_order = order
        busy.save()
    quiet = make_township("新塘乡")
    history = Township.history.model
    age(history.objects.filter(id=busy.pk, sort_order__lte=1), 400)  # created, and the first change
    age(history.objects.filter(id=busy.pk, sort_order=2), 100)  # too young to go
    age(history.objects.filter(id=quiet.pk), 400)  # old, but its only (latest) row
    user = make_user("admin")
    old_log = LogEntry.objects.create(user=user, action_flag=CHANGE, change_message="查看完整联系方式")
    LogEntry.objects.filter(pk=old_log.pk).update(action_time=timezone.now() - datetime.timedelta(days=400))
    LogEntry.objects.create(user=user, action_flag=CHANGE, change_message="查看完整联系方式")

    call_command("prune_history", days=365, dry_run=True)
    assert history.objects.count() == 5

    call_command("prune_history", days=365)

    assert sorted(history.objects.filter(id=busy.pk).values_list("sort_order", flat=True)) == [2, 3]
    assert history.objects.filter(id=quiet.pk).count() == 1
    assert LogEntry.objects.count() == 1


def test_rows_younger_than_the_limit_stay():
    township = make_township()
    township.name = "改名镇"
    township.save()
    age(Township.history.model.objects.all(), 183)
    call_command("prune_history", days=184)
    assert Township.history.model.objects.count() == 2
