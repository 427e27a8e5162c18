"""The counting rules of SPEC section 2, table by table, without a database."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import rules
from reports.rules import MilestoneSpec

D = datetime.date
START, END = D(2018, 1, 1), D(2018, 12, 31)
QUARTERS = [
    MilestoneSpec(D(2018, 3, 31), Decimal("30")),
    MilestoneSpec(D(2018, 6, 30), Decimal("60")),
    MilestoneSpec(D(2018, 9, 30), Decimal("80")),
    MilestoneSpec(D(2018, 12, 31), Decimal("100")),
]


@pytest.mark.parametrize(
    ("rectified", "target", "expected"),
    [
        (4267, 9000, Decimal("47.41")),  # the 2018 first quarter
        (1, 8, Decimal("12.50")),
        (1, 3, Decimal("33.33")),
        (2, 3, Decimal("66.67")),
        (1, 16, Decimal("6.25")),  # exact, no rounding
        (1, 1600, Decimal("0.06")),  # 0.0625 → half-up at the third decimal
        (1, 400000, Decimal("0.00")),  # 0.00025 → 0.00
        (1, 20000, Decimal("0.01")),  # 0.005 exactly → half-up to 0.01, not to even (0.00)
        (3, 20000, Decimal("0.02")),  # 0.015 exactly → 0.02
        (3, 200000, Decimal("0.00")),  # 0.0015 → 0.00 (only the hundredths place is rounded)
        (0, 9000, Decimal("0.00")),
        (9000, 9000, Decimal("100.00")),
        (9500, 9000, Decimal("105.56")),  # above target is allowed
        (5, 0, None),  # no rate without a target
        (0, 0, None),
    ],
)
def test_rate_is_rounded_half_up_to_two_decimals(rectified, target, expected):
    assert rules.completion_rate(rectified, target) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.125", "0.13"),
        ("0.135", "0.14"),  # banker's rounding would give 0.14 too; 0.125 is the telling case
        ("2.675", "2.68"),  # binary floats give 2.67 here
        ("1.005", "1.01"),
        ("-1.005", "-1.01"),
        ("99.994", "99.99"),
        ("99.995", "100.00"),
    ],
)
def test_round_half_up_is_exact_decimal_rounding(value, expected):
    from fractions import Fraction

    assert rules.round_half_up(Fraction(value)) == Decimal(expected)


@pytest.mark.parametrize(
    ("target", "percent", "required"),
    [
        (9000, "30", 2700),
        (9000, "60", 5400),
        (100, "33.33", 34),  # 33.33 → up
        (7, "30", 3),  # 2.1 → 3
        (10, "30", 3),  # exact stays exact
        (0, "30", 0),
        (1, "100", 1),
        (333, "12.5", 42),  # 41.625 → 42
    ],
)
def test_required_count_is_the_ceiling(target, percent, required):
    assert rules.required_count(target, Decimal(percent)) == required


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2018, 1, 1), Decimal("0.00")),  # 0 % on the campaign's first day
        (D(2018, 3, 31), Decimal("30.00")),  # a milestone's own date: its percent
        (D(2018, 4, 1), Decimal("30.33")),  # 30 + 30 × 1/91
        (D(2018, 6, 30), Decimal("60.00")),
        (D(2018, 5, 15), Decimal("44.84")),  # 30 + 30 × 45/91 = 44.835… → 44.84
        (D(2018, 9, 30), Decimal("80.00")),
        (D(2018, 12, 31), Decimal("100.00")),  # last day of the year
        (D(2018, 2, 14), Decimal("14.83")),  # 30 × 44/89 = 14.831…
    ],
)
def test_expected_rate_is_linear_between_milestones(day, expected):
    assert rules.expected_rate(day, START, QUARTERS) == expected


def test_expected_rate_with_a_custom_schedule_and_after_its_last_milestone():
    schedule = [MilestoneSpec(D(2018, 2, 28), Decimal("50")), MilestoneSpec(D(2018, 10, 31), Decimal("90"))]
    assert rules.expected_rate(D(2018, 1, 1), START, schedule) == Decimal("0.00")
    assert rules.expected_rate(D(2018, 1, 30), START, schedule) == Decimal("25.00")  # 50 × 29/58
    assert rules.expected_rate(D(2018, 1, 31), START, schedule) == Decimal("25.86")  # 50 × 30/58 = 25.862…
    assert rules.expected_rate(D(2018, 2, 28), START, schedule) == Decimal("50.00")
    assert rules.expected_rate(D(2018, 11, 15), START, schedule) == Decimal("90.00")  # flat after the last one
    assert rules.expected_rate(D(2018, 12, 31), START, schedule) == Decimal("90.00")


@pytest.mark.parametrize(
    ("rate", "expected", "band", "colour"),
    [
        (Decimal("47.41"), Decimal("30.00"), 10, rules.GREEN),
        (Decimal("30.00"), Decimal("30.00"), 10, rules.GREEN),  # equal is green
        (Decimal("29.99"), Decimal("30.00"), 10, rules.YELLOW),
        (Decimal("20.00"), Decimal("30.00"), 10, rules.YELLOW),  # exactly the band is still yellow
        (Decimal("19.99"), Decimal("30.00"), 10, rules.RED),
        (Decimal("0.00"), Decimal("0.00"), 10, rules.GREEN),  # day one
        (Decimal("25.00"), Decimal("30.00"), Decimal("5"), rules.YELLOW),
        (Decimal("24.99"), Decimal("30.00"), Decimal("5"), rules.RED),
        (Decimal("29.99"), Decimal("30.00"), 0, rules.RED),  # no band: below is red
        (None, Decimal("30.00"), 10, None),  # no rate, no colour
    ],
)
def test_colour_against_the_expected_rate(rate, expected, band, colour):
    assert rules.colour(rate, expected, band) == colour


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([(Decimal("50"), 10), (Decimal("40"), 8), (Decimal("40"), 8), (Decimal("30"), 5)], [1, 2, 2, 4]),
        # equal rate, different counts: the larger count ranks first
        ([(Decimal("40"), 8), (Decimal("40"), 20)], [2, 1]),
        ([(Decimal("40"), 8), (None, 100), (Decimal("10"), 1)], [1, None, 2]),
        ([(Decimal("0"), 0), (Decimal("0"), 0), (Decimal("0"), 0)], [1, 1, 1]),
        ([], []),
        ([(None, 0)], [None]),
    ],
)
def test_ranks_share_on_ties_and_skip(rows, expected):
    assert rules.ranks(rows) == expected


def test_milestone_due_includes_its_own_date_and_next_excludes_it():
    assert rules.milestone_due(D(2018, 3, 30), QUARTERS) is None
    assert rules.milestone_due(D(2018, 3, 31), QUARTERS).date == D(2018, 3, 31)
    assert rules.milestone_next(D(2018, 3, 31), QUARTERS).date == D(2018, 6, 30)
    assert rules.milestone_next(D(2018, 12, 31), QUARTERS) is None
    assert rules.milestone_due(D(2018, 12, 31), QUARTERS).percent == Decimal("100")


def test_due_status_is_judged_with_the_figures_of_the_milestone_date():
    due = rules.due_status(QUARTERS[0], 9000, 4267)
    assert due == {"date": "2018-03-31", "percent": Decimal("30"), "required": 2700, "met": True}
    assert rules.due_status(QUARTERS[0], 9000, 2699)["met"] is False
    assert rules.due_status(QUARTERS[0], 9000, 2700)["met"] is True
    assert rules.due_status(None, 9000, 1) is None


def test_next_status_shortfall_and_days_left():
    nxt = rules.next_status(QUARTERS[1], D(2018, 3, 31), 9000, 4267)
    assert nxt == {
        "date": "2018-06-30",
        "percent": Decimal("60"),
        "required": 5400,
        "shortfall": 1133,
        "days_left": 91,
    }
    assert rules.next_status(QUARTERS[1], D(2018, 6, 29), 9000, 6000)["shortfall"] == 0
    assert rules.next_status(QUARTERS[1], D(2018, 6, 29), 9000, 6000)["days_left"] == 1


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2017, 12, 31), 7),  # before any revision: the default
        (D(2018, 1, 1), 100),
        (D(2018, 5, 14), 100),
        (D(2018, 5, 15), 150),  # raised mid-quarter: in force from its own date
        (D(2018, 12, 31), 150),
    ],
)
def test_target_in_force_on_a_day(day, expected):
    revisions = [(D(2018, 5, 15), 150), (D(2018, 1, 1), 100)]
    assert rules.target_on(revisions, day, default=7) == expected


def test_parse_milestones_accepts_custom_schedules_and_rejects_garbage():
    assert rules.parse_milestones("02-28:50, 10-31:90") == [(2, 28, Decimal("50")), (10, 31, Decimal("90"))]
    assert rules.parse_milestones("06-30:33.3") == [(6, 30, Decimal("33.3"))]
    for bad in ["", "03-31", "03-31:abc", "0331:30", "03-31:0", "03-31:101"]:
        with pytest.raises(ValueError):
            rules.parse_milestones(bad)


def test_check_schedule_refuses_dates_outside_the_year_and_falling_percents():
    bad = [MilestoneSpec(D(2019, 1, 1), Decimal("10")), MilestoneSpec(D(2018, 6, 30), Decimal("60"))]
    assert rules.check_schedule(bad, START, END)
    falling = [MilestoneSpec(D(2018, 3, 31), Decimal("60")), MilestoneSpec(D(2018, 6, 30), Decimal("30"))]
    assert rules.check_schedule(falling, START, END)
    assert rules.check_schedule(QUARTERS, START, END) == []


@pytest.mark.parametrize(
    ("shortfall", "days_left", "per_week"),
    [(0, 10, 0), (-5, 10, 0), (10, 7, 10), (10, 14, 5), (11, 14, 6), (5, 0, 5), (91, 91, 7)],
)
def test_weekly_pace_needed(shortfall, days_left, per_week):
    assert rules.weekly_pace_needed(shortfall, days_left) == per_week


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_rate_matches_decimal_half_up(rectified, target):
    from decimal import ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 50
        exact = (Decimal(rectified) * 100 / Decimal(target)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert rules.completion_rate(rectified, target) == exact


@given(st.dates(START, END))
def test_expected_rate_is_monotone_and_bounded(day):
    value = rules.expected_rate(day, START, QUARTERS)
    assert Decimal("0") <= value <= Decimal("100")
    if day < END:
        assert rules.expected_rate(day + datetime.timedelta(days=1), START, QUARTERS) >= value


# ---- the 赛马 score (SPEC 5) ----

SCORES = [
    # (rate, weight) pairs, cap, expected score
    ([(Decimal("47.41"), 1)], 120, Decimal("47.41")),
    ([(Decimal("150"), 1)], 120, Decimal("120.00")),  # capped
    ([(Decimal("150"), 1), (Decimal("30"), 1)], 120, Decimal("75.00")),  # the overshoot cannot carry
    ([(Decimal("100"), 3), (Decimal("40"), 1)], 120, Decimal("85.00")),  # weighted
    ([(Decimal("10"), 1), (None, 5)], 120, Decimal("10.00")),  # no target: left out with its weight
    ([(None, 1)], 120, None),  # no indicator with a target: no score
    ([], 120, None),
    ([(Decimal("33.33"), 1), (Decimal("33.34"), 2)], 120, Decimal("33.34")),  # 100.01 / 3 = 33.336…
    ([(Decimal("120"), 1)], 100, Decimal("100.00")),  # the campaign's own cap
    ([(Decimal("0.005"), 1)], 120, Decimal("0.01")),  # half-up
]


@pytest.mark.parametrize(("rates", "cap", "expected"), SCORES)
def test_score_is_the_weighted_mean_of_capped_rates(rates, cap, expected):
    assert rules.score(rates, cap) == expected


def test_score_ranks_share_equal_scores_and_leave_no_score_unranked():
    scores = [Decimal("80"), None, Decimal("95.5"), Decimal("80"), Decimal("12")]
    assert rules.score_ranks(scores) == [2, None, 1, 2, 4]
