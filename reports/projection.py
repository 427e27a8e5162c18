"""Date windows, series and the pace projection the dashboard shows, as pure functions.

Nothing here touches the database: dates, counts and day-indexed counters go in, plain values come
out. The counts themselves come from reports.counts; the milestone arithmetic from reports.rules.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from . import rules

WEEK = 7
PACE_WEEKS = 4
ONE_DAY = datetime.timedelta(days=1)
TENTH = Decimal("0.1")


def window_ending(as_of, start, days):
    """The ``days`` days ending on ``as_of`` (inclusive), cut so they never begin before ``start``."""
    first = max(start, as_of - datetime.timedelta(days=days - 1))
    return first, as_of


def this_week(as_of, start):
    """ "This week": the 7 days ending on ``as_of``, not before the campaign's start."""
    return window_ending(as_of, start, WEEK)


def quarter_start(day):
    """The first day of ``day``'s calendar quarter."""
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def this_quarter(as_of, start):
    """ "This quarter": from the start of the calendar quarter (not before ``start``) to ``as_of``."""
    return max(start, quarter_start(as_of)), as_of


def week_windows(start, as_of):
    """Consecutive 7-day windows ending on ``as_of``, oldest first; the oldest is cut at ``start``.

    Aligned on ``as_of`` rather than on Mondays so that the last bar is exactly "this week".
    """
    windows = []
    last = as_of
    while last >= start:
        first, _ = window_ending(last, start, WEEK)
        windows.append((first, last))
        last = first - ONE_DAY
    windows.reverse()
    return windows


def cumulative_series(added, removed, start, as_of):
    """Running total of ``added`` minus ``removed`` (day → count) from ``start`` to ``as_of``.

    Returns (day, total) at ``start``, at every day the total changes, and at ``as_of``: enough
    points to draw the curve as steps, however many units there are.
    """
    days = sorted({d for d in (*added, *removed) if start <= d <= as_of} | {start, as_of})
    total, points = 0, []
    for day in days:
        total += added.get(day, 0) - removed.get(day, 0)
        points.append((day, total))
    return points


def expected_line(start, target, milestones):
    """The pro-rata expected count's corners: 0 on ``start``, target × percent / 100 on each milestone.

    Between two corners the expected rate is linear in days (SPEC 2), so straight lines between
    these points are exactly the expected curve.
    """
    points = [(start, Decimal(0))]
    for m in sorted(milestones):
        points.append((m.date, Decimal(target) * Decimal(m.percent) / 100))
    return points


def milestone_steps(target, milestones):
    """(date, percent, required) per milestone, the staircase the cumulative curve must clear."""
    return [(m.date, m.percent, rules.required_count(target, m.percent)) for m in sorted(milestones)]


@dataclass(frozen=True)
class Projection:
    """Where a township is heading at its recent pace, against its next milestone."""

    pace: Decimal  # units a week over the pace window, one decimal
    needed: int  # units a week still needed to meet the next milestone
    projected: int  # count expected on the milestone's date at the current pace
    on_track: bool


def weekly_pace(count, days):
    """``count`` units in ``days`` days, as units a week (exact)."""
    if days <= 0:
        return Fraction(0)
    return Fraction(count * WEEK, days)


def project(*, rectified, recent, recent_days, required, days_left):
    """Project the count on the next milestone's date from the recent pace.

    ``recent`` units were rectified (net) in the last ``recent_days`` days; the milestone needs
    ``required`` in ``days_left`` days. A township that has already met it is on track whatever
    its pace; one that went backwards (more relapses than rectifications) is projected flat.
    """
    pace = max(weekly_pace(recent, recent_days), Fraction(0))
    shortfall = max(0, required - rectified)
    projected = rectified + int(pace * days_left / WEEK)
    return Projection(
        pace=(Decimal(pace.numerator) / Decimal(pace.denominator)).quantize(TENTH, rounding=ROUND_HALF_UP),
        needed=rules.weekly_pace_needed(shortfall, days_left),
        projected=projected,
        on_track=projected >= required,
    )
