"""A cross round is in force from its first day to its last, both inclusive: the one rule
(inspections/models.py _round_in_force) every cross-inspection check applies."""

import datetime

import pytest

from inspections.models import CrossAssignment, CrossRound
from tests.factories import make_campaign, make_township

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "in_force"),
    [
        (D(2018, 5, 9), False),
        (D(2018, 5, 10), True),
        (D(2018, 5, 20), True),
        (D(2018, 5, 31), True),
        (D(2018, 6, 1), False),
    ],
)
def test_a_round_is_in_force_on_its_first_and_last_day_and_not_beyond(day, in_force):
    campaign = make_campaign()
    inspecting, inspected = make_township("甲镇"), make_township("乙镇")
    round_ = CrossRound.objects.create(
        campaign=campaign, name="第一轮", held_on=D(2018, 5, 10), ends_on=D(2018, 5, 31), seed=1
    )
    CrossAssignment.objects.create(round=round_, inspecting=inspecting, inspected=inspected)
    assert CrossRound.objects.in_force(day).exists() is in_force
    assert CrossRound.objects.with_in_force(day).get().in_force is in_force
    assert CrossAssignment.objects.in_force(day, inspecting).exists() is in_force
    assert not CrossAssignment.objects.in_force(day, inspected).exists()  # the inspected side sees nothing
