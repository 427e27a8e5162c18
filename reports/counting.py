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

This is the only module that knows how the counts are obtained; it is where a maintained table
of daily counts can replace the grouped queries without any caller noticing.
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import BooleanField, Case, Count, DateField, F, Q, Sum, Value, When

from enterprises.models import Enterprise, Rectification

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
    """{township_id: TownshipCounts} for every township with a unit, from three grouped queries."""
    start = campaign.start
    counts = defaultdict(lambda: TownshipCounts(start=start))
    null_day = Value(None, output_field=DateField())

    units = (
        Enterprise.objects.alive()
        .filter(identified_on__lte=as_of)
        .annotate(day=Case(When(identified_on__lt=start, then=null_day), default=F("identified_on")))
        .values("township_id", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in units:
        c = counts[row["township_id"]]
        if row["day"] is None:
            c.opening_identified += row["n"]
        else:
            c.identified[row["day"]] += row["n"]

    # Periods that started by as_of and either started in-year or still held on the eve of it.
    starts = (
        Rectification.objects.alive()
        .filter(rectified_on__lte=as_of)
        .filter(Q(rectified_on__gte=start) | Q(reopened_on__isnull=True) | Q(reopened_on__gte=start))
        .annotate(day=Case(When(rectified_on__lt=start, then=null_day), default=F("rectified_on")))
        .values("enterprise__township_id", "day")
        .annotate(n=Count("id"), area=Sum("demolished_m2"))
        .order_by()
    )
    for row in starts:
        c = counts[row["enterprise__township_id"]]
        if row["day"] is None:
            c.opening_rectified += row["n"]
        else:
            c.rectified[row["day"]] += row["n"]
            c.demolished[row["day"]] += row["area"] or ZERO_AREA

    ends = (
        Rectification.objects.alive()
        .filter(reopened_on__gte=start, reopened_on__lte=as_of)
        .annotate(
            in_year=Case(
                When(rectified_on__gte=start, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .values("enterprise__township_id", "reopened_on", "in_year")
        .annotate(n=Count("id"), area=Sum("demolished_m2"))
        .order_by()
    )
    for row in ends:
        c = counts[row["enterprise__township_id"]]
        if row["in_year"]:
            c.reopened[row["reopened_on"]] += row["n"]
            c.demolished_reopened[row["reopened_on"]] += row["area"] or ZERO_AREA
        else:
            c.reopened_carried[row["reopened_on"]] += row["n"]

    return dict(counts)
