"""The office's reminders (reports/reminders.py): interview commitments, and the week's notice draft."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from notify.models import Delivery, Message
from reports import reminders
from reports.models import Commitment, Interview, Notice
from tests.factories import make_township, make_unit, make_user, set_target

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2018, 6, 18)  # a Monday


@pytest.fixture
def office(campaign, frozen_today):
    frozen_today(TODAY)
    east, west = make_township("东城街道"), make_township("西城街道")
    set_target(campaign, east, 10)
    set_target(campaign, west, 10)
    make_unit(east, identified_on=D(2018, 1, 5))
    people = {
        "staff": make_user("dongcheng", role="township_staff", township=east),
        "other": make_user("xicheng", role="township_staff", township=west),
        "admin": make_user("boss", role="city_admin"),
        "inspector": make_user("ducha", role="inspector"),
    }
    interview = Interview.objects.create(
        campaign=campaign, township=east, held_on=D(2018, 6, 1), summoned="镇长 王某某", created_by=people["admin"]
    )
    return campaign, east, interview, people


def told(event, user):
    return sorted(
        Delivery.objects.filter(message__event=event, user=user, channel="inapp").values_list(
            "message__title", flat=True
        )
    )


@pytest.mark.parametrize(
    ("due_in", "met", "event"),
    [
        (4, False, None),  # not yet: more than NOTIFY_DUE_DAYS (3) ahead
        (3, False, "commitment_due"),
        (0, False, "commitment_due"),  # the day itself is in time
        (-1, False, "commitment_overdue"),
        (-1, True, None),  # met: nothing
    ],
)
def test_a_commitment_is_reminded_when_due_and_when_lapsed(office, due_in, met, event):
    _campaign, _east, interview, people = office
    Commitment.objects.create(
        interview=interview,
        text="关停三家",
        due_on=TODAY + datetime.timedelta(days=due_in),
        met_on=TODAY - datetime.timedelta(days=2) if met else None,
    )
    found = reminders.commitments(TODAY)
    assert sum(found.values()) == (event is not None)
    if event is None:
        assert not Message.objects.exists()
        return
    assert found[event] == 1
    assert len(told(event, people["staff"])) == 1
    assert told(event, people["other"]) == [] and told(event, people["inspector"]) == []
    # A lapsed commitment is the city's business too; an approaching one is the township's.
    assert len(told(event, people["admin"])) == (event == "commitment_overdue")
    message = Message.objects.get()
    assert message.link == interview.get_absolute_url() and "关停三家" in message.title
    # Run again the same day (or the next): nothing more.
    assert sum(reminders.commitments(TODAY).values()) == 0
    assert Message.objects.count() == 1


def test_a_new_due_day_reminds_again(office):
    _campaign, _east, interview, _people = office
    commitment = Commitment.objects.create(interview=interview, text="关停三家", due_on=TODAY)
    assert reminders.commitments(TODAY)["commitment_due"] == 1
    commitment.due_on = TODAY + datetime.timedelta(days=2)
    commitment.save()
    assert reminders.commitments(TODAY)["commitment_due"] == 1
    assert Message.objects.count() == 2


def test_on_monday_the_office_is_told_the_weeks_draft_is_ready(office):
    campaign, east, _interview, people = office
    assert reminders.notice_draft(TODAY - datetime.timedelta(days=1)) == 0  # a Sunday: nothing
    assert reminders.notice_draft(TODAY) == 1
    (title,) = told("notice_draft", people["admin"])
    assert title == "第1期通报草稿待审核（截至2018-06-17）"
    message = Message.objects.get(event="notice_draft")
    assert message.link == "/notices/preview/?campaign=c2018&as_of=2018-06-17"
    assert "东城街道" in message.body  # red: nothing rectified by mid-June
    assert told("notice_draft", people["staff"]) == []
    assert reminders.notice_draft(TODAY) == 0  # once


def test_no_draft_reminder_once_the_notice_is_issued(office):
    campaign, _east, _interview, people = office
    Notice.objects.create(
        campaign=campaign,
        serial=3,
        as_of=D(2018, 6, 17),
        figures={},
        issued_at=timezone.now(),
        issued_by=people["admin"],
    )
    assert reminders.notice_draft(TODAY) == 0


def test_the_command_runs_both_and_is_in_the_schedule(office, settings):
    _campaign, _east, interview, _people = office
    Commitment.objects.create(interview=interview, text="关停三家", due_on=TODAY - datetime.timedelta(days=3))
    from io import StringIO

    out = StringIO()
    call_command("report_reminders", "--as-of", TODAY.isoformat(), stdout=out)
    assert out.getvalue().split() == ["commitment_due=0", "commitment_overdue=1", "notice_draft=1"]
    assert ["report_reminders"] in [command for _name, _at, command in settings.SCHEDULE]
