"""The nightly jobs: one command runs them all, for whichever campaign is in force, and a timer starts it."""

import configparser
import datetime
import io
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from enterprises.models import Method
from enterprises.services import rectification_record
from inspections.models import Lookback
from tests.factories import make_campaign, make_township, make_unit

D = datetime.date
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def nightly(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("nightly", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_nightly_schedules_the_campaign_in_force_without_being_told_its_name(campaign):
    make_campaign(slug="c2019", year=2019)
    unit = make_unit(make_township(), D(2018, 1, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 1))
    shown = nightly("--as-of", "2018-03-31")
    assert "c2018 2018-03-31: 1 个回头看已排期" in shown
    assert "c2019" not in shown  # its year does not hold the day
    assert list(Lookback.objects.values_list("offset_days", "due_on")) == [(30, D(2018, 3, 31))]
    # Idempotent: the next night schedules nothing again.
    assert "c2018 2018-03-31: 0 个回头看已排期" in nightly("--as-of", "2018-03-31")


def test_nightly_on_a_day_no_campaign_holds_schedules_nothing_and_still_runs_the_rest(campaign):
    shown = nightly("--as-of", "2030-01-01")
    assert "没有进行中的整治行动" in shown
    assert "clearsessions: ok" in shown and "prune_history: ok" in shown


def test_nightly_removes_expired_sessions_and_keeps_live_ones(campaign):
    now = timezone.now()
    Session.objects.create(session_key="e" * 32, session_data="x", expire_date=now - datetime.timedelta(minutes=1))
    Session.objects.create(session_key="l" * 32, session_data="x", expire_date=now + datetime.timedelta(minutes=30))
    nightly("--as-of", "2018-03-31")
    assert list(Session.objects.values_list("session_key", flat=True)) == ["l" * 32]


def test_nightly_prunes_old_audit_rows_but_keeps_each_objects_newest(campaign):
    township = make_township()
    township.name = township.name + "（改）"
    township.save()
    history = township.history.order_by("history_id")
    assert history.count() == 2
    history.update(history_date=timezone.now() - datetime.timedelta(days=400))
    nightly("--as-of", "2018-03-31", "--history-days", "365")
    assert list(township.history.values_list("name", flat=True)) == [township.name]


def test_a_failing_job_does_not_skip_the_others_and_fails_the_run(campaign):
    Session.objects.create(
        session_key="e" * 32, session_data="x", expire_date=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(CommandError, match="failed: prune_history"):
        nightly("--as-of", "2018-03-31", "--history-days", "10")  # below the legal minimum: refused
    assert not Session.objects.exists()  # clearsessions still ran


def test_the_shipped_timer_starts_the_nightly_command_every_night():
    timer = configparser.ConfigParser(strict=False)
    timer.read(ROOT / "deploy/systemd/siwu-nightly.timer", encoding="utf-8")
    service = configparser.ConfigParser(strict=False)
    service.read(ROOT / "deploy/systemd/siwu-nightly.service", encoding="utf-8")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:30:00"
    assert timer["Timer"]["Unit"] == "siwu-nightly.service"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].endswith("manage.py nightly")
