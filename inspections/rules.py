"""Pure rules of the inspection loop: no database, so each is tested on its own."""

import calendar
import datetime
import math
import random
from fractions import Fraction

from core.numbers import round_half_up


def add_days(day: datetime.date, days: int) -> datetime.date:
    return day + datetime.timedelta(days=days)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later, or the month's last day when it has no such day (01-31 → 02-29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_overdue(state: str, deadline: datetime.date, today: datetime.date) -> bool:
    """A finding still waiting for rectification after its deadline day; the deadline day itself is in time."""
    return state == "open" and deadline < today


def cross_assignment(township_ids: list[int], seed: int) -> list[tuple[int, int]]:
    """(inspecting, inspected) pairs: every township inspects one other and is inspected by one other.

    The townships are shuffled with ``seed`` and each inspects the next one round the circle, so no
    township inspects itself and, with three or more, no two inspect each other in the same round.
    The same seed and townships give the same assignment.
    """
    ids = sorted(set(township_ids))
    if len(ids) < 3:
        raise ValueError("a cross-inspection round needs at least three townships")
    random.Random(seed).shuffle(ids)  # noqa: S311 - a reproducible draw, not a secret
    return [(ids[i], ids[(i + 1) % len(ids)]) for i in range(len(ids))]


def sample_size(population: int, percent: int, minimum: int) -> int:
    """How many of ``population`` rectified units a look-back sample takes: the share, at least ``minimum``."""
    return min(population, max(minimum, math.ceil(population * percent / 100)))


def draw_sample(unit_ids: list[int], size: int, seed: int) -> list[int]:
    """A random sample of ``size`` ids, the same for the same ids and seed (the ids are sorted first)."""
    ordered = sorted(unit_ids)
    return sorted(random.Random(seed).sample(ordered, min(size, len(ordered))))  # noqa: S311 - reproducible, audited


def new_seed() -> int:
    """A seed for a draw, recorded with it (so any draw can be redone and checked)."""
    return random.SystemRandom().randrange(1, 2**62)


def lookback_dates(rectified_on: datetime.date, offsets: list[int]) -> list[tuple[int, datetime.date]]:
    return [(offset, add_days(rectified_on, offset)) for offset in sorted(set(offsets))]


def checklist_passed(values: dict[str, bool | None]) -> bool:
    """两断三清: water and power cut, materials, equipment and products cleared: all five ticked."""
    return bool(values) and all(value is True for value in values.values())


def half_month_start(day: datetime.date) -> datetime.date:
    """The reconciliation period a day falls in: from the 1st or from the 16th."""
    return day.replace(day=1 if day.day < 16 else 16)


def relapse_rate(relapsed: int, checked: int):
    """Relapses found per 100 look-backs checked, rounded half-up to 2 decimals; None when none was checked."""
    if not checked:
        return None
    return round_half_up(Fraction(relapsed * 100, checked))
