"""The dashboard's pure date windows, series and pace projection (no database)."""

import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import projection
from reports.rules import MilestoneSpec

D = datetime.date
START, END = D(2018, 1, 1), D(2018, 12, 31)
MILESTONES = [
    MilestoneSpec(D(2018, 3, 31), Decimal("30")),
    MilestoneSpec(D(2018, 6, 30), Decimal("60")),
    MilestoneSpec(D(2018, 9, 30), Decimal("80")),
    MilestoneSpec(D(2018, 12, 31), Decimal("100")),
]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (D(2018, 3, 31), (D(2018, 3, 25), D(2018, 3, 31))),
        (D(2018, 1, 7), (D(2018, 1, 1), D(2018, 1, 7))),
        (D(2018, 1, 3), (D(2018, 1, 1), D(2018, 1, 3))),  # cut at the campaign's start
        (D(2018, 1, 1), (D(2018, 1, 1), D(2018, 1, 1))),
    ],
)
def test_this_week_is_the_seven_days_ending_on_as_of(as_of, expected):
    assert projection.this_week(as_of, START) == expected


@pytest.mark.parametrize(
    ("day", "first"),
    [
        (D(2018, 1, 1), D(2018, 1, 1)),
        (D(2018, 3, 31), D(2018, 1, 1)),
        (D(2018, 4, 1), D(2018, 4, 1)),
        (D(2018, 6, 30), D(2018, 4, 1)),
        (D(2018, 8, 15), D(2018, 7, 1)),
        (D(2018, 12, 31), D(2018, 10, 1)),
    ],
)
def test_quarter_start_is_the_first_day_of_the_calendar_quarter(day, first):
    assert projection.quarter_start(day) == first


def test_this_quarter_never_begins_before_the_campaign():
    # A campaign that starts mid-quarter: the quarter is cut at its start.
    assert projection.this_quarter(D(2018, 5, 20), D(2018, 5, 1)) == (D(2018, 5, 1), D(2018, 5, 20))
    assert projection.this_quarter(D(2018, 5, 20), START) == (D(2018, 4, 1), D(2018, 5, 20))


def test_week_windows_end_on_as_of_and_cut_the_oldest_at_start():
    windows = projection.week_windows(START, D(2018, 1, 20))
    assert windows == [
        (D(2018, 1, 1), D(2018, 1, 6)),
        (D(2018, 1, 7), D(2018, 1, 13)),
        (D(2018, 1, 14), D(2018, 1, 20)),
    ]


@given(st.dates(min_value=START, max_value=END))
def test_week_windows_tile_the_campaign_to_date(as_of):
    windows = projection.week_windows(START, as_of)
    assert windows[0][0] == START
    assert windows[-1] == projection.this_week(as_of, START)
    for (_, last), (first, _) in zip(windows, windows[1:]):
        assert first == last + datetime.timedelta(days=1)
    assert all(1 <= (last - first).days + 1 <= 7 for first, last in windows)
    assert all((last - first).days == 6 for first, last in windows[1:])


def test_cumulative_series_has_a_point_at_start_each_change_and_as_of():
    added = {D(2018, 1, 5): 2, D(2018, 2, 1): 3, D(2018, 5, 1): 9}  # the last one is after as_of
    removed = {D(2018, 2, 10): 1}
    assert projection.cumulative_series(added, removed, START, D(2018, 3, 1)) == [
        (D(2018, 1, 1), 0),
        (D(2018, 1, 5), 2),
        (D(2018, 2, 1), 5),
        (D(2018, 2, 10), 4),
        (D(2018, 3, 1), 4),
    ]


def test_cumulative_series_of_nothing_is_flat_at_zero():
    assert projection.cumulative_series({}, {}, START, START) == [(START, 0)]


def test_expected_line_has_a_corner_on_every_milestone():
    assert projection.expected_line(START, 9000, MILESTONES) == [
        (START, Decimal(0)),
        (D(2018, 3, 31), Decimal(2700)),
        (D(2018, 6, 30), Decimal(5400)),
        (D(2018, 9, 30), Decimal(7200)),
        (D(2018, 12, 31), Decimal(9000)),
    ]


def test_milestone_steps_round_the_required_count_up():
    steps = projection.milestone_steps(7, MILESTONES)
    assert [required for _, _, required in steps] == [3, 5, 6, 7]  # ceil(2.1), ceil(4.2), ceil(5.6), 7


@pytest.mark.parametrize(
    ("count", "days", "pace"),
    [(8, 28, 2), (0, 28, 0), (3, 7, 3), (1, 3, Fraction(7, 3)), (5, 0, 0)],
)
def test_weekly_pace(count, days, pace):
    assert projection.weekly_pace(count, days) == pace


@pytest.mark.parametrize(
    ("kwargs", "pace", "needed", "projected", "on_track"),
    [
        # 40 in 4 weeks = 10 a week; 14 days left → +20 → 120 ≥ 110.
        ({"rectified": 100, "recent": 40, "recent_days": 28, "required": 110, "days_left": 14}, "10.0", 5, 120, True),
        # Same pace, 130 needed: 120 falls short; 30 in two weeks → 15 a week.
        ({"rectified": 100, "recent": 40, "recent_days": 28, "required": 130, "days_left": 14}, "10.0", 15, 120, False),
        # Already met: on track whatever the pace, nothing more needed.
        ({"rectified": 50, "recent": 0, "recent_days": 28, "required": 50, "days_left": 30}, "0.0", 0, 50, True),
        # More relapses than rectifications: projected flat, not backwards.
        ({"rectified": 10, "recent": -4, "recent_days": 28, "required": 20, "days_left": 7}, "0.0", 10, 10, False),
        # A short window early in the year: 3 in 3 days is 7 a week.
        ({"rectified": 3, "recent": 3, "recent_days": 3, "required": 30, "days_left": 28}, "7.0", 7, 31, True),
        # Pace rounds half up to one decimal (1 in 28 days = 0.25 a week); 1 unit in 1 day is 7 a week.
        ({"rectified": 0, "recent": 1, "recent_days": 28, "required": 1, "days_left": 1}, "0.3", 7, 0, False),
    ],
)
def test_project(kwargs, pace, needed, projected, on_track):
    result = projection.project(**kwargs)
    assert result == projection.Projection(pace=Decimal(pace), needed=needed, projected=projected, on_track=on_track)


@given(
    rectified=st.integers(0, 5000),
    recent=st.integers(0, 500),
    recent_days=st.integers(1, 28),
    required=st.integers(0, 9000),
    days_left=st.integers(1, 365),
)
def test_needing_no_more_than_the_pace_means_on_track(rectified, recent, recent_days, required, days_left):
    result = projection.project(
        rectified=rectified, recent=recent, recent_days=recent_days, required=required, days_left=days_left
    )
    if rectified >= required:
        assert result.on_track and result.needed == 0
    if not result.on_track:
        # Falling short means the pace is below what the shortfall asks for.
        assert projection.weekly_pace(recent, recent_days) * days_left / 7 < required - rectified
