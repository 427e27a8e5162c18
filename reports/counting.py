"""The narrow interface between the register and the progress arithmetic.

``daily_counts(campaign, as_of)`` returns, per township, how many units were identified, rectified
and re-opened on each day of the campaign up to ``as_of``, plus the stock carried in from before
the campaign. Every figure of SPEC section 2 at any day d ≤ as_of is a prefix sum over these
(``TownshipCounts``), so a report that needs the counts at several dates (today, each milestone,
a week ago, the start of the year) costs the same three grouped queries as one that needs one.

The rule behind it (docs/counting.md): a unit is rectified on day d when one of its rectified
periods [rectified_on, reopened_on) holds d. Periods never overlap, so summing starts and ends:

    rectified(d) = #periods started in [start, d]  −  #of those re-opened on or before d
    open(d)      = identified up to d − #periods (started any time) holding on d

This is the only module that knows how the counts are obtained: it reads the tables of daily
counts that the database keeps up to date with every write (enterprises/counts.py).
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import BooleanField, Case, DateField, F, Q, Sum, Value, When

from enterprises.models import PeriodDay, UnitDay

ZERO_AREA = Decimal("0")


def _prefix(counter, day):
    return sum(v for k, v in counter.items() if k <= day)


@dataclass
class TownshipCounts:
    start: datetime.date
    opening_identified: int = 0  # alive units identified before the campaign started
    opening_rectified: int = 0  # of those, the ones rectified (a period holding) on the eve
    identified: Counter = field(default_factory=Counter)  # day -> units identified that day
    rectified: Counter = field(default_factory=Counter)  # day -> periods started that day
    reopened: Counter = field(default_factory=Counter)  # day -> in-year periods re-opened that day
    reopened_carried: Counter = field(default_factory=Counter)  # day -> pre-year periods re-opened
    demolished: Counter = field(default_factory=Counter)  # day -> m² of periods started
    demolished_reopened: Counter = field(default_factory=Counter)  # day -> m² of in-year re-opened

    def add(self, other):
        self.opening_identified += other.opening_identified
        self.opening_rectified += other.opening_rectified
        for name in (
            "identified",
            "rectified",
            "reopened",
            "reopened_carried",
            "demolished",
            "demolished_reopened",
        ):
            getattr(self, name).update(getattr(other, name))

    def identified_by(self, day):
        """identified(d): units identified in [start, d]."""
        return _prefix(self.identified, day)

    def rectified_by(self, day):
        """rectified(d): periods started in [start, d] still holding on d."""
        if day < self.start:
            return 0
        return _prefix(self.rectified, day) - _prefix(self.reopened, day)

    def rectified_events(self, first, last):
        """Rectifications completed in [first, last] (each re-rectification counts again)."""
        return sum(v for k, v in self.rectified.items() if first <= k <= last)

    def relapses(self, first, last):
        """Relapses found in [first, last], whichever year the re-opened rectification was."""
        return sum(v for c in (self.reopened, self.reopened_carried) for k, v in c.items() if first <= k <= last)

    def rectified_state(self, day):
        """Units (identified any time) with a rectified period holding on ``day``."""
        if day < self.start:
            return self.opening_rectified
        carried = self.opening_rectified - _prefix(self.reopened_carried, day)
        return carried + self.rectified_by(day)

    def open_on(self, day):
        """open(d): units identified on or before d that are not rectified as of d."""
        identified = self.opening_identified + (self.identified_by(day) if day >= self.start else 0)
        return identified - self.rectified_state(day)

    def demolished_by(self, day):
        """m² demolished by the rectifications counted in rectified(d)."""
        return _prefix(self.demolished, day) - _prefix(self.demolished_reopened, day)

    def ledger(self, first, last):
        """Stock ledger of [first, last]: open before + identified − rectified + relapsed = open after."""
        eve = first - datetime.timedelta(days=1)
        return {
            "open_start": self.open_on(eve),
            "identified": self.identified_by(last) - self.identified_by(eve),
            "rectified": self.rectified_events(first, last),
            "relapsed": self.relapses(first, last),
            "open_end": self.open_on(last),
        }


def daily_counts(campaign, as_of):
    """{township_id: TownshipCounts} for every township with a unit, from three grouped queries.

    The queries read the per-township daily counts the database maintains (enterprises/counts.py),
    never the register itself: their cost depends on the number of townships and days, not units.
    """
    start = campaign.start
    counts = defaultdict(lambda: TownshipCounts(start=start))
    null_day = Value(None, output_field=DateField())

    units = (
        UnitDay.objects.filter(day__lte=as_of)
        .annotate(start_day=Case(When(day__lt=start, then=null_day), default=F("day")))
        .values("township_id", "start_day")
        .annotate(total=Sum("n"))
        .order_by()
    )
    for row in units:
        c = counts[row["township_id"]]
        if row["start_day"] is None:
            c.opening_identified += row["total"]
        else:
            c.identified[row["start_day"]] += row["total"]

    # Periods that started by as_of and either started in-year or still held on the eve of it.
    starts = (
        PeriodDay.objects.filter(started__lte=as_of)
        .filter(Q(started__gte=start) | Q(ended__gte=start))
        .annotate(start_day=Case(When(started__lt=start, then=null_day), default=F("started")))
        .values("township_id", "start_day")
        .annotate(total=Sum("n"), hundredths=Sum("area"))
        .order_by()
    )
    for row in starts:
        c = counts[row["township_id"]]
        if row["start_day"] is None:
            c.opening_rectified += row["total"]
        else:
            c.rectified[row["start_day"]] += row["total"]
            c.demolished[row["start_day"]] += _m2(row["hundredths"])

    ends = (
        PeriodDay.objects.filter(ended__gte=start, ended__lte=as_of)
        .annotate(
            in_year=Case(
                When(started__gte=start, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .values("township_id", "ended", "in_year")
        .annotate(total=Sum("n"), hundredths=Sum("area"))
        .order_by()
    )
    for row in ends:
        c = counts[row["township_id"]]
        if row["in_year"]:
            c.reopened[row["ended"]] += row["total"]
            c.demolished_reopened[row["ended"]] += _m2(row["hundredths"])
        else:
            c.reopened_carried[row["ended"]] += row["total"]

    for c in counts.values():  # zero rows (a unit deleted or moved) leave no trace in the counters
        for counter in (c.identified, c.rectified, c.reopened, c.reopened_carried):
            for day in [day for day, n in counter.items() if not n]:
                del counter[day]
    return {
        township_id: c
        for township_id, c in counts.items()
        if c.opening_identified
        or c.identified
        or c.rectified
        or c.reopened
        or c.reopened_carried
        or c.opening_rectified
    }


def _m2(hundredths):
    return (Decimal(hundredths or 0) / 100).quantize(Decimal("0.01"))
