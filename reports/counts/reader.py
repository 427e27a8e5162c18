"""The narrow interface between the register and the progress arithmetic.

``daily_counts(campaign, as_of)`` returns, per township, how many units were identified, rectified
and re-opened on each day of the campaign up to ``as_of``, plus the stock carried in from before
the campaign. Every figure of SPEC section 2 at any day d ≤ as_of is a prefix sum over these
(``TownshipCounts``), so a report that needs the counts at several dates (today, each milestone,
a week ago, the start of the year) costs the same three grouped queries as one that needs one.

Any day costs the same: the counts are read day by day for the whole campaign (up to its end, or
``as_of`` if later) once per township and counts version, and kept in the process
(reports/counts/cache.py); a figure at a day is then a binary search in a township's running
totals, whichever day is asked. A leader asking "where were we on 30 June" after the page showed
today is served from what the page read, without a query; after a change in one township only
that township's days are read again.

The rule behind it (docs/counting.md): a unit is rectified on day d when one of its rectified
periods [rectified_on, reopened_on) holds d. Periods never overlap, so summing starts and ends:

    rectified(d) = #periods started in [start, d]  −  #of those re-opened on or before d
    open(d)      = identified up to d − #periods (started any time) holding on d

This is the only module that knows how the counts are obtained: it reads the tables of daily
counts that the database keeps up to date with every write (reports/counts/tables.py).
"""

import copy
import datetime
import functools
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate

from django.db import connection
from django.db.models import BooleanField, Case, DateField, F, Q, Sum, Value, When

from enterprises.models import PeriodDay, UnitDay

from . import cache

ZERO_AREA = Decimal("0")
ONE_DAY = datetime.timedelta(days=1)


COUNTERS = ("identified", "rectified", "reopened", "reopened_carried", "demolished", "demolished_reopened")

# What the cached reads below read: the maintained daily counts (reports/counts/cache.py).
_DAY_COLUMNS = ((UnitDay, "township", "day", "n"), (PeriodDay, "township", "started", "ended", "n", "area"))
DAILY_COUNTS = cache.reads("daily-counts", *_DAY_COLUMNS)
CITY_SERIES = cache.reads("city-series", *_DAY_COLUMNS)


@dataclass
class TownshipCounts:
    """Per-day counts of one township (or the city) and every figure as a prefix sum of them.

    Each counter is sorted once, on the first figure read from it, into days and running totals;
    every prefix sum is then a binary search. The counters are filled by ``daily_counts`` and
    ``add`` before any figure is read: ``add`` drops the running totals, other changes must not
    follow a read.

    The counters may hold days after the day a report is made for (they are read to the campaign's
    end, once, for every day's report): ``upto(day)`` gives a view whose figures stop at ``day``,
    as if nothing after it had been counted, sharing the counters and running totals.
    """

    start: datetime.date
    opening_identified: int = 0  # alive units identified before the campaign started
    opening_rectified: int = 0  # of those, the ones rectified (a period holding) on the eve
    identified: Counter = field(default_factory=Counter)  # day -> units identified that day
    rectified: Counter = field(default_factory=Counter)  # day -> periods started that day
    reopened: Counter = field(default_factory=Counter)  # day -> in-year periods re-opened that day
    reopened_carried: Counter = field(default_factory=Counter)  # day -> pre-year periods re-opened
    demolished: Counter = field(default_factory=Counter)  # day -> m² of periods started
    demolished_reopened: Counter = field(default_factory=Counter)  # day -> m² of in-year re-opened
    # None: every day the counters hold counts. A day: figures stop there (``upto``).
    cap: datetime.date | None = None
    _running: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def upto(self, day):
        """A view of these counts whose every figure is the figure on ``day`` from ``day`` on."""
        view = copy.copy(self)  # shares the counters and the running totals, built once for all views
        view.cap = day
        return view

    def add(self, other):
        self.opening_identified += other.opening_identified
        self.opening_rectified += other.opening_rectified
        for name in COUNTERS:
            getattr(self, name).update(getattr(other, name))
        self._running.clear()

    def subtract(self, other):
        """Take ``other``'s counts out again (a township's old counts out of the city's sum)."""
        self.opening_identified -= other.opening_identified
        self.opening_rectified -= other.opening_rectified
        for name in COUNTERS:
            counter, theirs = getattr(self, name), getattr(other, name)
            counter.subtract(theirs)
            for day in [day for day in theirs if not counter[day]]:  # as if never counted
                del counter[day]
        self._running.clear()

    def copy(self):
        """A copy whose counters can change without changing these (which may be shared)."""
        twin = TownshipCounts(
            start=self.start,
            cap=self.cap,
            opening_identified=self.opening_identified,
            opening_rectified=self.opening_rectified,
        )
        for name in COUNTERS:
            setattr(twin, name, Counter(getattr(self, name)))
        return twin

    def _totals(self, name):
        """(the days counter ``name`` counts, sorted; the running totals before each and after all)."""
        running = self._running.get(name)
        if running is None:
            counter = getattr(self, name)
            days = sorted(counter)
            running = self._running[name] = (days, list(accumulate(map(counter.__getitem__, days), initial=0)))
        return running

    def _prefix(self, name, day):
        """The sum of counter ``name`` over the days on or before ``day`` (and the cap)."""
        if self.cap is not None and day > self.cap:
            day = self.cap
        days, totals = self._totals(name)
        return totals[bisect_right(days, day)]

    def counted_by(self, day):
        """Whether anything is counted on or before ``day``: a unit (identified or carried in), a
        rectification or a relapse. A township whose first unit comes later is not in that day's report."""
        if self.opening_identified or self.opening_rectified:
            return True
        for name in ("identified", "rectified", "reopened", "reopened_carried"):
            days, _totals = self._totals(name)
            if days and days[0] <= day:
                return True
        return False

    def _between(self, name, first, last):
        """The sum of counter ``name`` over [first, last]."""
        if last < first:
            return 0
        return self._prefix(name, last) - self._prefix(name, first - ONE_DAY)

    def identified_by(self, day):
        """identified(d): units identified in [start, d]."""
        return self._prefix("identified", day)

    def rectified_by(self, day):
        """rectified(d): periods started in [start, d] still holding on d."""
        if day < self.start:
            return 0
        return self._prefix("rectified", day) - self._prefix("reopened", day)

    def rectified_events(self, first, last):
        """Rectifications completed in [first, last] (each re-rectification counts again)."""
        return self._between("rectified", first, last)

    def relapses(self, first, last):
        """Relapses found in [first, last], whichever year the re-opened rectification was."""
        return self._between("reopened", first, last) + self._between("reopened_carried", first, last)

    def rectified_state(self, day):
        """Units (identified any time) with a rectified period holding on ``day``."""
        if day < self.start:
            return self.opening_rectified
        carried = self.opening_rectified - self._prefix("reopened_carried", day)
        return carried + self.rectified_by(day)

    def open_on(self, day):
        """open(d): units identified on or before d that are not rectified as of d."""
        identified = self.opening_identified + (self.identified_by(day) if day >= self.start else 0)
        return identified - self.rectified_state(day)

    def demolished_by(self, day):
        """m² demolished by the rectifications counted in rectified(d)."""
        return self._prefix("demolished", day) - self._prefix("demolished_reopened", day)

    def ledger(self, first, last):
        """Stock ledger of [first, last]: open before + identified − rectified + relapsed = open after."""
        eve = first - ONE_DAY
        return {
            "open_start": self.open_on(eve),
            "identified": self.identified_by(last) - self.identified_by(eve),
            "rectified": self.rectified_events(first, last),
            "relapsed": self.relapses(first, last),
            "open_end": self.open_on(last),
        }


class CombinedCounts(TownshipCounts):
    """Several townships' counts added up (the city), without merging their counters up front.

    A figure is the sum of the parts' figures (integers and exact m², so the same as the figure of
    the merged counters); a counter read by name, as a chart's daily series reads one, is merged
    on first use, and later figures from it read the merged counter.
    """

    def __init__(self, start, parts, cap=None):
        self.start = start
        self.parts = list(parts)
        self.cap = cap
        self.opening_identified = sum(part.opening_identified for part in self.parts)
        self.opening_rectified = sum(part.opening_rectified for part in self.parts)
        self._running = {}

    def __getattr__(self, name):  # only reached for a counter not merged yet
        if name not in COUNTERS:
            raise AttributeError(name)
        merged = Counter()
        for part in self.parts:
            merged.update(getattr(part, name))
        setattr(self, name, merged)
        return merged

    def _prefix(self, name, day):
        if name in self.__dict__:
            return super()._prefix(name, day)
        if self.cap is not None and day > self.cap:
            day = self.cap
        return sum(part._prefix(name, day) for part in self.parts)

    def add(self, other):
        for name in COUNTERS:
            getattr(self, name)
        super().add(other)


def horizon(campaign, as_of):
    """The last day the counts are read to: the campaign's end, or ``as_of`` if later. Every report
    of the campaign reads the same counts, whatever its day."""
    return max(as_of, campaign.end)


def daily_counts(campaign, as_of, *, version=None):
    """{township_id: TownshipCounts} for every township with a unit, from three grouped queries.

    The queries read the per-township daily counts the database maintains (reports/counts/tables.py),
    never the register itself: their cost depends on the number of townships and days, not units.
    They read every day to the ``horizon`` (the campaign's end), so that one answer serves a report
    on any day of the campaign: a report takes ``counts.upto(as_of)`` of each. ``version``: the
    counts' version (``reports.counts.token()``) when the caller has read it for its page already.
    """
    start, last = campaign.start, horizon(campaign, as_of)
    # The answer is kept per process under the counts' versions (reports/counts/cache.py), renewed
    # township by township as their versions change; the TownshipCounts in it are shared by the
    # requests that read the same versions, and never changed.
    return cache.per_township(
        DAILY_COUNTS, (start, last), version or cache.token(), lambda ids: _daily_counts(start, last, ids), large=True
    )


def _daily_counts(start, last, township_ids):
    """The counts of ``township_ids`` (None: every township) to ``last``."""
    counts = defaultdict(lambda: TownshipCounts(start=start))
    units, starts, ends = _statements(connection.vendor, start, last, _size(township_ids))

    def owner(row):
        return counts[row[0]]

    skip = 1  # the township's id leads a row
    for row in units.rows(township_ids):
        c, day, total = owner(row), row[skip], row[skip + 1]
        if day is None:
            c.opening_identified += total
        else:
            c.identified[day] += total

    for row in starts.rows(township_ids):
        c, day, total, hundredths = owner(row), row[skip], row[skip + 1], row[skip + 2]
        if day is None:
            c.opening_rectified += total
        else:
            c.rectified[day] += total
            c.demolished[day] += _m2(hundredths)

    for row in ends.rows(township_ids):
        c, day, in_year, total, hundredths = owner(row), *row[skip : skip + 4]
        if in_year:
            c.reopened[day] += total
            c.demolished_reopened[day] += _m2(hundredths)
        else:
            c.reopened_carried[day] += total

    for c in counts.values():  # zero rows (a unit deleted or moved, no area) leave no trace in the counters
        for name in COUNTERS:
            counter = getattr(c, name)
            for day in [day for day, n in counter.items() if not n]:
                del counter[day]
    return {
        key: c
        for key, c in counts.items()
        if c.opening_identified
        or c.identified
        or c.rectified
        or c.reopened
        or c.reopened_carried
        or c.opening_rectified
    }


def _size(township_ids):
    return None if township_ids is None else len(township_ids)


# Stand-ins for the townships' ids while a statement is compiled (no real id is negative).
_STAND_IN = -(2**62)


class _Statement:
    """A grouped query compiled once, run with the townships' ids put in place of stand-ins.

    The ORM spends about a millisecond building and compiling each of these queries; a page after a
    change runs them once or twice, so they are compiled once per shape (``_statements``) and their
    rows read as tuples.
    The queryset stays the one definition of the query.
    """

    def __init__(self, queryset, size, day_column):
        self.sql, params = queryset.query.sql_with_params()
        self.params = list(params)
        self.slots = [i for i, value in enumerate(self.params) if isinstance(value, int) and value <= _STAND_IN]
        if len(self.slots) != (size or 0):
            raise AssertionError("the townships' stand-ins are not all among the statement's parameters")
        self.day = day_column

    def rows(self, township_ids):
        """The rows as tuples, in the queryset's ``values()`` order, the day column as a date."""
        params = list(self.params)
        for slot, township_id in zip(self.slots, township_ids or (), strict=True):
            params[slot] = township_id
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            found = cursor.fetchall()
        day = self.day
        # PostgreSQL gives dates; SQLite gives the ISO text it stores them as.
        return [row if not isinstance(row[day], str) else _with_day(row, day) for row in found]


def _with_day(row, column):
    return (*row[:column], datetime.date.fromisoformat(row[column]), *row[column + 1 :])


@functools.lru_cache(maxsize=64)
def _statements(vendor, start, last, size):
    """The three grouped queries of ``_daily_counts`` for one shape, compiled (``_Statement``).

    ``size``: how many townships the queries are narrowed to (None: every township). ``vendor``
    is part of the key only so that a process never reuses one database's SQL on another.
    """
    null_day = Value(None, output_field=DateField())
    group = ("township_id",)
    lead = 1  # the township's id comes first

    def scoped(queryset):
        if size is None:
            return queryset
        return queryset.filter(township_id__in=[_STAND_IN - i for i in range(size)])

    def bucket(column):
        """The day itself; NULL before the start (the stock carried in)."""
        return Case(When(**{f"{column}__lt": start}, then=null_day), default=F(column))

    units = (
        scoped(UnitDay.objects.filter(day__lte=last))
        .annotate(start_day=bucket("day"))
        .values(*group, "start_day")
        .annotate(total=Sum("n"))
        .order_by()
    )
    # Periods that started by the last day and either started in-year or still held on the eve of it.
    starts = (
        scoped(PeriodDay.objects.filter(started__lte=last))
        .filter(Q(started__gte=start) | Q(ended__gte=start))
        .annotate(start_day=bucket("started"))
        .values(*group, "start_day")
        .annotate(total=Sum("n"), hundredths=Sum("area"))
        .order_by()
    )
    ends = (
        scoped(PeriodDay.objects.filter(ended__gte=start, ended__lte=last))
        .annotate(
            end_day=bucket("ended"),
            in_year=Case(
                When(started__gte=start, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .values(*group, "end_day", "in_year")
        .annotate(total=Sum("n"), hundredths=Sum("area"))
        .order_by()
    )
    return (
        _Statement(units, size, lead),
        _Statement(starts, size, lead),
        _Statement(ends, size, lead),
    )


def series_counts(campaign, as_of, township_id=None, version=None):
    """Day-by-day counts of one township, or of the city when ``township_id`` is None (for charts),
    with their figures stopping at ``as_of`` (the counters themselves run to the horizon). Both come
    from the townships' counts a report of the same versions reads: no query of their own."""
    version = version or cache.token()
    if township_id is None:
        return _city_series(campaign, as_of, version).upto(as_of)
    found = daily_counts(campaign, as_of, version=version).get(township_id)
    return (found or TownshipCounts(start=campaign.start)).upto(as_of)


def _city_series(campaign, as_of, version):
    """The city's day-by-day counts: the sum of its townships' (``daily_counts``), kept with them.

    After a change, the sum is renewed by taking the changed townships' old counts out and putting
    their new ones in: the dashboard's chart after a rectification costs no more than the report's
    read of that one township's days.
    """
    start = campaign.start
    parts = daily_counts(campaign, as_of, version=version)

    def first():
        total = TownshipCounts(start=start)
        for part in parts.values():
            total.add(part)
        return parts, total

    def renew(state, stale):
        old, total = state
        total = total.copy()
        for township_id in stale:
            if township_id in old:
                total.subtract(old[township_id])
            if township_id in parts:
                total.add(parts[township_id])
        return parts, total

    return cache.renewed(CITY_SERIES, (start, horizon(campaign, as_of)), version, first, renew, large=True)[1]


def _m2(hundredths):
    return (Decimal(hundredths or 0) / 100).quantize(Decimal("0.01"))
