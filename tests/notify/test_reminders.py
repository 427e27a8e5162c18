"""The reminder rules, table-driven: due, overdue, quiet hours, a preference off, the new-finding
event; and the daily job, idempotent."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from inspections import services
from inspections.models import Finding, FindingState, Kind, Lookback
from notify import worker
from notify.models import Delivery, Message, Preference, QuietHours, State
from notify.quiet import release_time
from notify.reminders import daily
from notify.reminders.rules import DUE, OVERDUE, finding_reminder
from tests.factories import make_campaign, make_township, make_unit, make_user

TODAY = datetime.date(2018, 5, 10)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour, minute=0, day=TODAY):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


# --- the rules, without a database ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline_in", "state", "deleted", "expected"),
    [
        (4, "open", False, None),  # beyond N = 3 days: nothing yet
        (3, "open", False, (DUE, 3)),  # N days before: approaching
        (1, "open", False, (DUE, 1)),
        (0, "open", False, (DUE, 0)),  # the deadline day is still in time
        (-1, "open", False, (OVERDUE, -1)),  # the day after: overdue
        (-30, "open", False, (OVERDUE, -30)),
        (-1, "rectified", False, None),  # reported rectified: waits for verification, not for the township
        (-1, "closed", False, None),
        (2, "closed", False, None),
        (-1, "open", True, None),  # deleted
    ],
)
def test_what_a_finding_calls_for(deadline_in, state, deleted, expected):
    deadline = TODAY + datetime.timedelta(days=deadline_in)
    assert finding_reminder(state=state, deadline=deadline, today=TODAY, due_days=3, deleted=deleted) == expected


@pytest.mark.parametrize(
    ("now", "window", "leaves"),
    [
        (at(23, 30), None, at(23, 30)),  # no quiet hours
        (at(23, 30), ("22:00", "07:00"), at(7, day=TODAY + datetime.timedelta(days=1))),  # before midnight
        (at(3), ("22:00", "07:00"), at(7)),  # after midnight
        (at(22), ("22:00", "07:00"), at(7, day=TODAY + datetime.timedelta(days=1))),  # the start is quiet
        (at(7), ("22:00", "07:00"), at(7)),  # the end is not
        (at(21, 59), ("22:00", "07:00"), at(21, 59)),
        (at(13), ("12:00", "14:00"), at(14)),  # a window inside the day
        (at(14), ("12:00", "14:00"), at(14)),
        (at(11, 59), ("12:00", "14:00"), at(11, 59)),
    ],
)
def test_quiet_hours_hold_a_message_until_they_end(now, window, leaves):
    start, end = (datetime.time.fromisoformat(t) for t in window) if window else (None, None)
    assert release_time(now, start, end) == leaves


# --- the daily job ----------------------------------------------------------------------------------


@pytest.fixture
def city(db, frozen_today):
    frozen_today(TODAY)
    campaign = make_campaign()
    east, west = make_township("东城街道"), make_township("西城街道")
    people = {
        "staff": make_user("dongcheng", role="township_staff", township=east, email="dc@example.cn"),
        "other": make_user("xicheng", role="township_staff", township=west, email="xc@example.cn"),
        "inspector": make_user("ducha", role="inspector", email="dd@example.cn"),
        "admin": make_user("boss", role="city_admin", email="boss@example.cn"),
    }
    inspection = services.inspection_record(
        kind=Kind.RANDOM,
        inspected_on=TODAY - datetime.timedelta(days=40),
        team="督查一组",
        township=east,
        user=people["inspector"],
    )
    return campaign, east, west, people, inspection


def finding(inspection, deadline_in, name):
    unit = make_unit(inspection.township, name=name)
    return services.finding_record(
        inspection=inspection,
        kind="not_done",
        description="未断电",
        enterprise=unit,
        deadline=TODAY + datetime.timedelta(days=deadline_in),
        user=None,
    )


def told(event, user=None, channel="inapp"):
    rows = Delivery.objects.filter(message__event=event, channel=channel)
    if user is not None:
        rows = rows.filter(user=user)
    return sorted(rows.values_list("message__title", flat=True))


def test_a_new_finding_tells_its_townships_staff_only(city):
    _campaign, _east, _west, people, inspection = city
    finding(inspection, 10, "宏达五金厂")
    assert told("finding_new", people["staff"]) == ["新的督查问题：宏达五金厂"]
    assert told("finding_new", people["other"]) == told("finding_new", people["inspector"]) == []
    assert told("finding_new", people["staff"], "email") == ["新的督查问题：宏达五金厂"]


def test_the_daily_job_reminds_due_and_overdue_once(city):
    _campaign, _east, _west, people, inspection = city
    finding(inspection, 4, "远期厂")
    finding(inspection, 3, "临近厂")
    finding(inspection, 0, "今天厂")
    finding(inspection, -2, "逾期厂")
    done = finding(inspection, -2, "已整改厂")
    Finding.objects.filter(pk=done.pk).update(state=FindingState.RECTIFIED)
    assert daily.run(today=TODAY) == {"finding_due": 2, "finding_overdue": 1, "lookback_due": 0}
    assert set(told("finding_due", people["staff"])) == {"整改期限临近：今天厂", "整改期限临近：临近厂"}
    assert told("finding_overdue", people["staff"]) == ["整改已逾期：逾期厂"]
    assert told("finding_due", people["other"]) == []
    # Twice the same day, or the next day: nothing new (once per finding and deadline).
    messages = Message.objects.count()
    assert daily.run(today=TODAY) == {"finding_due": 0, "finding_overdue": 0, "lookback_due": 0}
    tomorrow = daily.run(today=TODAY + datetime.timedelta(days=1))
    assert tomorrow == {"finding_due": 1, "finding_overdue": 1, "lookback_due": 0}  # 远期厂 due, 今天厂 overdue
    assert Message.objects.count() == messages + 2


def test_a_new_deadline_reminds_again(city):
    _campaign, _east, _west, people, inspection = city
    late = finding(inspection, -1, "逾期厂")
    daily.run(today=TODAY)
    Finding.objects.filter(pk=late.pk).update(deadline=TODAY + datetime.timedelta(days=2))
    assert daily.run(today=TODAY)["finding_due"] == 1
    assert told("finding_due", people["staff"]) == ["整改期限临近：逾期厂"]


def test_a_preference_off_stops_that_channel_for_that_event_only(city):
    _campaign, _east, _west, people, inspection = city
    Preference.objects.create(user=people["staff"], event="finding_due", channel="email", enabled=False)
    Preference.objects.create(user=people["staff"], event="finding_overdue", channel="inapp", enabled=False)
    finding(inspection, 1, "临近厂")
    finding(inspection, -1, "逾期厂")
    daily.run(today=TODAY)
    assert told("finding_due", people["staff"], "inapp") == ["整改期限临近：临近厂"]
    assert told("finding_due", people["staff"], "email") == []
    assert told("finding_overdue", people["staff"], "inapp") == []
    assert told("finding_overdue", people["staff"], "email") == ["整改已逾期：逾期厂"]


def test_quiet_hours_hold_email_but_not_the_bell(city, robot_server):
    _campaign, _east, _west, people, inspection = city
    QuietHours.objects.create(user=people["staff"], start=datetime.time(22), end=datetime.time(7))
    finding(inspection, -1, "逾期厂")
    daily.run(today=TODAY, now=at(23))
    inapp = Delivery.objects.get(message__event="finding_overdue", channel="inapp")
    email = Delivery.objects.get(message__event="finding_overdue", channel="email")
    assert inapp.state == State.SENT
    assert email.state == State.PENDING and email.due_at == at(7, day=TODAY + datetime.timedelta(days=1))


def test_lookbacks_falling_due_tell_the_inspectors_once_per_township_and_day(city):
    campaign, east, _west, people, _inspection = city
    from enterprises.services import rectification_record

    for name in ("甲厂", "乙厂"):
        unit = make_unit(east, name=name, identified_on=datetime.date(2018, 1, 5))
        rectification_record(
            enterprise=unit, method="closed", rectified_on=TODAY - datetime.timedelta(days=30), user=None
        )
    services.lookbacks_schedule(campaign=campaign, as_of=TODAY)
    assert Lookback.objects.filter(due_on=TODAY).count() == 2
    assert daily.run(today=TODAY)["lookback_due"] == 1
    assert told("lookback_due", people["inspector"]) == ["回头看到期：东城街道2家"]
    body = Message.objects.get(event="lookback_due").body
    assert "甲厂" in body and "乙厂" in body
    assert told("lookback_due", people["staff"]) == told("lookback_due", people["admin"]) == []
    assert daily.run(today=TODAY)["lookback_due"] == 0


def test_the_command_runs_the_daily_job(city, capsys):
    from django.core.management import call_command

    _campaign, _east, _west, _people, inspection = city
    finding(inspection, -1, "逾期厂")
    call_command("notify_reminders", "--as-of", TODAY.isoformat())
    assert "finding_overdue=1" in capsys.readouterr().out
    with pytest.raises(Exception, match="not a date"):
        call_command("notify_reminders", "--as-of", "2018-13-01")
    assert worker.run_once()["sent"] == 2  # the e-mails: the new finding and its overdue reminder
