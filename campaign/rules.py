"""A campaign's milestone schedule: how it is written, and when it is usable."""

import datetime
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, order=True)
class MilestoneSpec:
    date: datetime.date
    percent: Decimal


def parse_milestones(text):
    """'03-31:30,06-30:60' → [(3, 31, Decimal('30')), …]; ValueError with a readable reason."""
    parsed = []
    for chunk in filter(None, (part.strip() for part in text.split(","))):
        try:
            day_text, percent_text = chunk.split(":")
            month, day = (int(x) for x in day_text.split("-"))
            percent = Decimal(percent_text)
        except (ValueError, ArithmeticError):
            raise ValueError(f"'{chunk}' is not MM-DD:PERCENT") from None
        if not (0 < percent <= 100):
            raise ValueError(f"'{chunk}': the percent must be above 0 and at most 100")
        parsed.append((month, day, percent))
    if not parsed:
        raise ValueError("no milestone given")
    return parsed


def check_schedule(milestones, start, end):
    """Reasons the schedule is unusable: dates outside the year, percents that go down."""
    problems = []
    ordered = sorted(milestones)
    for m in ordered:
        if not (start <= m.date <= end):
            problems.append(f"{m.date}: outside the campaign year {start}..{end}")
    for earlier, later in zip(ordered, ordered[1:]):
        if later.date == earlier.date:
            problems.append(f"{later.date}: two milestones on one day")
        elif later.percent < earlier.percent:
            problems.append(f"{later.date}: {later.percent}% is below the earlier {earlier.percent}%")
    return problems
