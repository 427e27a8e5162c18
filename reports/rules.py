"""The counting rules of SPEC section 2 as pure functions over plain values.

Nothing here touches the database: dates, counts, targets and milestone schedules go in, numbers
come out. Arithmetic is exact (integers and Fractions) and rounded once, half-up, to two decimals,
so 4267 of 9000 is 47.41 and 1 of 8 is 12.50 on every platform. The one place that decides a
colour, a rank or a required count is this module; views and templates never compute them.
"""

import functools
import math
from decimal import Decimal
from fractions import Fraction

from campaign.rules import MilestoneSpec, check_schedule, parse_milestones  # noqa: F401  (part of the rules)
from core.numbers import HUNDREDTH, round_half_up  # noqa: F401

GREEN, YELLOW, RED = "green", "yellow", "red"


@functools.lru_cache(maxsize=65536)
def completion_rate(rectified, target):
    """rectified / target × 100, rounded half-up to 2 decimals; None when the target is 0.

    Kept per (rectified, target): a scorecard asks hundreds of them and the same pairs recur from
    page to page (the result is an immutable Decimal)."""
    if not target:
        return None
    return round_half_up(Fraction(rectified * 100, target))


@functools.lru_cache(maxsize=65536)
def required_count(target, percent):
    """Units due by a milestone: ceil(target × percent / 100), exactly. Kept per pair, as above."""
    return math.ceil(Fraction(target) * Fraction(Decimal(percent)) / 100)


def milestone_due(day, milestones):
    """The latest milestone on or before ``day`` (its own date included), or None."""
    due = [m for m in milestones if m.date <= day]
    return max(due) if due else None


def milestone_next(day, milestones):
    """The earliest milestone strictly after ``day``, or None."""
    upcoming = [m for m in milestones if m.date > day]
    return min(upcoming) if upcoming else None


def expected_rate(day, start, milestones):
    """The pro-rata rate due on ``day``.

    Linear in days from the previous milestone (or 0 % on ``start``) to the next one, equal to a
    milestone's percent on its own date, and flat at the last milestone's percent after it.
    """
    previous = milestone_due(day, milestones)
    upcoming = milestone_next(day, milestones)
    base_day, base_pct = (previous.date, Fraction(previous.percent)) if previous else (start, Fraction(0))
    if upcoming is None:
        return round_half_up(base_pct)
    span = (upcoming.date - base_day).days
    elapsed = max((day - base_day).days, 0)
    return round_half_up(base_pct + (Fraction(upcoming.percent) - base_pct) * Fraction(elapsed, span))


def colour(rate, expected, band):
    """三色预警: green on or above the expected rate, yellow within ``band`` points below, else red."""
    if rate is None:
        return None
    if rate >= expected:
        return GREEN
    if rate >= expected - Decimal(band):
        return YELLOW
    return RED


def ranks(rows):
    """Competition ranks (1, 2, 2, 4) for (rate, rectified) pairs; rows with no rate get None.

    Ordered by rate descending, then rectified descending; equal rate and count share a rank.
    """
    keyed = sorted(
        ((rate, rectified, i) for i, (rate, rectified) in enumerate(rows) if rate is not None),
        key=lambda item: (-item[0], -item[1]),
    )
    result = [None] * len(rows)
    previous, previous_rank = None, 0
    for position, (rate, rectified, i) in enumerate(keyed, start=1):
        if (rate, rectified) != previous:
            previous, previous_rank = (rate, rectified), position
        result[i] = previous_rank
    return result


# 赛马 score: a rate counts at most this much, so that one overshoot cannot carry a township.
SCORE_CAP = 120


def score(rates, cap=SCORE_CAP):
    """A township's 赛马 score: Σ weight × min(rate, cap) / Σ weight, rounded half-up to 2 decimals.

    ``rates`` holds (rate, weight) pairs, one per indicator; a rate of None (no target > 0 on the day)
    leaves its indicator out. No score (None) when no indicator is left. Rates enter as rounded.
    """
    counted = [(Decimal(rate), Decimal(weight)) for rate, weight in rates if rate is not None]
    total = sum((weight for _rate, weight in counted), Decimal(0))
    if not counted or total <= 0:
        return None
    capped = sum((weight * min(rate, Decimal(cap)) for rate, weight in counted), Decimal(0))
    return round_half_up(Fraction(capped) / Fraction(total))


def score_ranks(scores):
    """Competition ranks (1, 2, 2, 4) by score descending; a township without a score is unranked."""
    keyed = sorted((value, i) for i, value in enumerate(scores) if value is not None)
    keyed.sort(key=lambda item: -item[0])
    result = [None] * len(scores)
    previous, previous_rank = None, 0
    for position, (value, i) in enumerate(keyed, start=1):
        if value != previous:
            previous, previous_rank = value, position
        result[i] = previous_rank
    return result


def due_status(milestone, target_then, rectified_then):
    """milestone_due judged with the target and the count as of the milestone's own date."""
    if milestone is None:
        return None
    required = required_count(target_then, milestone.percent)
    return {
        "date": milestone.date.isoformat(),
        "percent": milestone.percent,
        "required": required,
        "met": rectified_then >= required,
    }


def next_status(milestone, day, target_now, rectified_now):
    """milestone_next: what the next milestone asks for, judged with today's target and count."""
    if milestone is None:
        return None
    required = required_count(target_now, milestone.percent)
    return {
        "date": milestone.date.isoformat(),
        "percent": milestone.percent,
        "required": required,
        "shortfall": max(0, required - rectified_now),
        "days_left": (milestone.date - day).days,
    }


def target_on(revisions, day, default=0):
    """The annual target in force on ``day`` from (effective_on, target) pairs; else ``default``."""
    in_force = [(effective, target) for effective, target in revisions if effective <= day]
    return max(in_force)[1] if in_force else default


def weekly_pace_needed(shortfall, days_left):
    """Units a week needed to close ``shortfall`` in ``days_left`` days (rounded up)."""
    if shortfall <= 0:
        return 0
    if days_left <= 0:
        return shortfall
    return math.ceil(Fraction(shortfall * 7, days_left))
