"""schedule_lookbacks: the nightly job that creates the look-backs due at the city's offsets."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enterprises.models import Method
from enterprises.services import rectification_record
from inspections.models import Lookback
from tests.factories import make_township, make_unit

D = datetime.date
pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("schedule_lookbacks", *args, stdout=out)
    return out.getvalue()


def test_schedules_each_offset_once(campaign):
    unit = make_unit(make_township(), D(2018, 1, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 1))
    assert "0 个回头看" in run("--campaign", "c2018", "--as-of", "2018-03-30")
    assert "1 个回头看" in run("--campaign", "c2018", "--as-of", "2018-03-31")  # 30 days after
    assert "0 个回头看" in run("--campaign", "c2018", "--as-of", "2018-04-01")
    assert "2 个回头看" in run("--campaign", "c2018", "--as-of", "2018-12-31")  # 90 and 180 days
    assert sorted(Lookback.objects.values_list("offset_days", "due_on")) == [
        (30, D(2018, 3, 31)),
        (90, D(2018, 5, 30)),
        (180, D(2018, 8, 28)),
    ]


def test_unknown_campaign_or_bad_date_is_an_error(campaign):
    with pytest.raises(CommandError, match="未找到整治行动"):
        run("--campaign", "nope")
    with pytest.raises(CommandError):
        run("--campaign", "c2018", "--as-of", "2018-02-30")
