"""The pure rules of the inspection loop (inspections/rules.py): no database."""

import datetime
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspections import rules

D = datetime.date


# --- deadlines: 29 February ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2020, 1, 31), 1, D(2020, 2, 29)),  # leap year: the month's last day
        (D(2019, 1, 31), 1, D(2019, 2, 28)),
        (D(2020, 1, 29), 1, D(2020, 2, 29)),
        (D(2020, 2, 29), 12, D(2021, 2, 28)),
        (D(2020, 2, 29), 48, D(2024, 2, 29)),
        (D(2020, 3, 31), -1, D(2020, 2, 29)),
        (D(2020, 11, 30), 3, D(2021, 2, 28)),
        (D(2020, 12, 15), 1, D(2021, 1, 15)),
        (D(2021, 1, 15), -1, D(2020, 12, 15)),
        (D(2020, 5, 31), 0, D(2020, 5, 31)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_months_last(day, months, expected):
    assert rules.add_months(day, months) == expected


def test_add_days_crosses_29_february():
    assert rules.add_days(D(2020, 2, 28), 1) == D(2020, 2, 29)
    assert rules.add_days(D(2020, 2, 29), 1) == D(2020, 3, 1)
    assert rules.add_days(D(2020, 2, 14), 15) == D(2020, 2, 29)
    assert rules.add_days(D(2019, 2, 14), 15) == D(2019, 3, 1)


def test_deadline_day_itself_is_in_time():
    deadline = D(2020, 2, 29)
    assert not rules.is_overdue("open", deadline, D(2020, 2, 28))
    assert not rules.is_overdue("open", deadline, D(2020, 2, 29))
    assert rules.is_overdue("open", deadline, D(2020, 3, 1))
    # Reported rectified or closed off: never overdue, whatever the day.
    assert not rules.is_overdue("rectified", deadline, D(2020, 3, 1))
    assert not rules.is_overdue("closed", deadline, D(2020, 3, 1))


# --- cross-inspection assignment -----------------------------------------------------------------


def _check_assignment(ids, pairs):
    inspecting = [a for a, _b in pairs]
    inspected = [b for _a, b in pairs]
    assert sorted(inspecting) == sorted(set(ids)), "every township inspects exactly one other"
    assert sorted(inspected) == sorted(set(ids)), "every township is inspected exactly once"
    assert all(a != b for a, b in pairs), "a township never inspects itself"
    as_set = set(pairs)
    assert not any((b, a) in as_set for a, b in pairs), "no reciprocal pair in one round"


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=3, max_value=40), seed=st.integers(min_value=0, max_value=2**62), data=st.data())
def test_cross_assignment_never_self_never_reciprocal(n, seed, data):
    ids = data.draw(st.lists(st.integers(min_value=1, max_value=10**6), min_size=n, max_size=n, unique=True))
    pairs = rules.cross_assignment(ids, seed)
    _check_assignment(ids, pairs)
    # The same seed and townships, in any order, give the same assignment.
    assert rules.cross_assignment(list(reversed(ids)), seed) == pairs


def test_cross_assignment_exhaustive_small_rounds():
    for n in range(3, 41):
        ids = list(range(100, 100 + n))
        for seed in range(60):
            _check_assignment(ids, rules.cross_assignment(ids, seed))


def test_cross_assignment_is_reproducible_and_seed_dependent():
    ids = list(range(1, 13))
    shuffled = ids[:]
    random.Random(7).shuffle(shuffled)
    assert rules.cross_assignment(ids, 42) == rules.cross_assignment(shuffled, 42)
    drawn = {tuple(rules.cross_assignment(ids, seed)) for seed in range(20)}
    assert len(drawn) > 10  # different seeds, different rounds


@pytest.mark.parametrize("ids", [[], [1], [1, 2], [1, 1, 2], [5, 5, 5]])
def test_cross_assignment_refuses_fewer_than_three_townships(ids):
    with pytest.raises(ValueError):
        rules.cross_assignment(ids, 1)


# --- look-back sample ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "percent", "minimum", "expected"),
    [
        (100, 10, 3, 10),  # the share
        (101, 10, 3, 11),  # the share, rounded up
        (20, 10, 3, 3),  # at least the minimum
        (2, 10, 3, 2),  # never more than there are
        (0, 10, 3, 0),
        (7, 100, 3, 7),
        (1000, 1, 0, 10),
        (5, 1, 0, 1),  # any share of a non-empty population takes at least one
    ],
)
def test_sample_size(population, percent, minimum, expected):
    assert rules.sample_size(population, percent, minimum) == expected


def test_draw_sample_is_reproducible_from_its_seed_whatever_the_order():
    ids = list(range(1000, 1100))
    sample = rules.draw_sample(ids, 10, 123456789)
    assert len(sample) == 10 and len(set(sample)) == 10 and set(sample) <= set(ids)
    for order_seed in range(5):
        shuffled = ids[:]
        random.Random(order_seed).shuffle(shuffled)
        assert rules.draw_sample(shuffled, 10, 123456789) == sample


def test_draw_sample_differs_with_the_seed():
    ids = list(range(1, 201))
    samples = {tuple(rules.draw_sample(ids, 10, seed)) for seed in range(1, 21)}
    assert len(samples) == 20


def test_draw_sample_size_above_population_takes_everyone():
    assert rules.draw_sample([3, 1, 2], 10, 5) == [1, 2, 3]
    assert rules.draw_sample([], 3, 5) == []


def test_new_seed_is_a_positive_bigint():
    seeds = {rules.new_seed() for _ in range(50)}
    assert len(seeds) > 45
    assert all(0 < seed < 2**63 for seed in seeds)


def test_lookback_dates_at_offsets():
    assert rules.lookback_dates(D(2020, 1, 31), [180, 30, 90, 30]) == [
        (30, D(2020, 3, 1)),
        (90, D(2020, 4, 30)),
        (180, D(2020, 7, 29)),
    ]


def test_checklist_needs_all_five_ticks():
    ticks = dict.fromkeys(
        ("water_cut", "power_cut", "materials_cleared", "equipment_cleared", "products_cleared"), True
    )
    assert rules.checklist_passed(ticks)
    for name in ticks:
        assert not rules.checklist_passed({**ticks, name: False})
        assert not rules.checklist_passed({**ticks, name: None})
    assert not rules.checklist_passed({})


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (D(2018, 5, 1), D(2018, 5, 1)),
        (D(2018, 5, 15), D(2018, 5, 1)),
        (D(2018, 5, 16), D(2018, 5, 16)),
        (D(2018, 5, 31), D(2018, 5, 16)),
        (D(2020, 2, 29), D(2020, 2, 16)),
    ],
)
def test_half_month_start(day, start):
    assert rules.half_month_start(day) == start


@pytest.mark.parametrize(
    ("relapsed", "checked", "rate"),
    [(1, 3, Decimal("33.33")), (2, 3, Decimal("66.67")), (1, 8, Decimal("12.50")), (0, 4, Decimal("0.00"))],
)
def test_relapse_rate(relapsed, checked, rate):
    assert rules.relapse_rate(relapsed, checked) == rate


def test_relapse_rate_without_lookbacks_is_none():
    assert rules.relapse_rate(0, 0) is None
