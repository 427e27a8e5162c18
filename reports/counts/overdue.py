"""Findings overdue as of a date (限期整改 not met): for the dashboard, the township page and the notice.

A finding is overdue on day ``d`` when it was made on or before ``d``, its deadline is before ``d``,
and by ``d`` it had been neither reported rectified nor closed off. The deadline day itself is in
time. For today this is the same set as ``Finding.objects.overdue(today)``; for an earlier day it
is read from the dates the finding carries, so a page for a past week shows that week's standing.
"""

import datetime
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import accumulate

from django.db.models import BooleanField, Case, Count, DateField, F, Q, Value, When
from django.db.models.functions import Coalesce, Greatest, Least

from enterprises.models import Enterprise
from inspections.models import Finding

from . import cache

# What the cached reads below read (reports/counts/cache.py): what decides "overdue on a day", and
# for the list what it shows.
_OVERDUE = ("pk", "township", "deleted_at", "found_on", "deadline", "rectified_on", "closed_on")
OVERDUE_COUNTS = cache.reads("overdue-counts", (Finding, *_OVERDUE))
OVERDUE_LIST = cache.reads("overdue-list", (Finding, *_OVERDUE, "enterprise", "kind", "severity"))


def _as_of(day):
    return Q(found_on__lte=day, deadline__lt=day) & (Q(rectified_on__isnull=True) | Q(rectified_on__gt=day))


def overdue_on(day, township=None):
    """The findings overdue on ``day`` (of one township, or all), oldest deadline first."""
    found = Finding.objects.alive().filter(_as_of(day)).exclude(closed_on__lte=day)
    if township is not None:
        found = found.filter(township=township)
    return found.order_by("deadline", "id")


@dataclass(frozen=True)
class OverdueFinding:
    """One line of a page's list of overdue findings."""

    pk: int
    unit_name: str
    kind: str
    severity: str
    found_on: datetime.date
    deadline: datetime.date
    days_overdue: int


def overdue_list(day, township, limit, version=None):
    """The first ``limit`` findings of ``township`` overdue on ``day``, oldest deadline first.

    The findings are kept per process under the counts' versions, which every change of a finding
    renews (reports/counts/cache.py); the units' names are read afresh (a rename does not renew
    them), by key, for the few findings shown: joining every overdue finding of a township to its
    unit before sorting cost more than the rest of the page.
    """

    def first():
        return overdue_on(day, township).values_list("pk", "enterprise_id", "kind", "severity", "found_on", "deadline")[
            :limit
        ]

    key = ((version or cache.token()).of(township.pk), township.pk, day, limit)
    rows = cache.rows(OVERDUE_LIST, key, first)
    ids = {row[1] for row in rows}
    names = dict(Enterprise._base_manager.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    return [
        OverdueFinding(
            pk=pk,
            unit_name=names.get(unit_id, ""),
            kind=kind,
            severity=severity,
            found_on=found_on,
            deadline=deadline,
            days_overdue=(day - deadline).days,
        )
        for pk, unit_id, kind, severity, found_on, deadline in rows
    ]


class _OverdueDays:
    """One township's findings as two day-by-day tallies, from which the number overdue on any day is
    two binary searches: a finding is overdue from the day after its deadline until the first day it
    has been reported rectified or closed off (``end``; one done by its deadline ends the day it
    would have begun), so

        overdue(d) = #(deadline < d) − #(end ≤ d).

    (The deadline is never before the finding was made: a database constraint.)"""

    __slots__ = ("deadlines", "due_before", "ends", "ended_by")

    def __init__(self, deadlines, ends):
        self.deadlines, self.due_before = _running(deadlines)
        self.ends, self.ended_by = _running(ends)

    def on(self, day):
        return self.due_before[bisect_left(self.deadlines, day)] - self.ended_by[bisect_right(self.ends, day)]


def _running(tally):
    days = sorted(tally)
    return days, list(accumulate((tally[d] for d in days), initial=0))


_NEVER = datetime.date(9999, 12, 31)
ONE_DAY = datetime.timedelta(days=1)


def _overdue_days(township_ids):
    """{township id: _OverdueDays} of the alive findings of ``township_ids`` (None: every township),
    from two grouped queries whose rows are a township's days, not its findings."""
    found = Finding.objects.alive()
    if township_ids is not None:
        found = found.filter(township_id__in=township_ids)
    deadlines, ends = defaultdict(Counter), defaultdict(Counter)
    for township_id, day, n in found.values_list("township_id", "deadline").annotate(n=Count("id")).order_by():
        deadlines[township_id][_date(day)] += n
    # A finding done (or closed off) by its deadline was never overdue: it ends, in the tally, the
    # day after its deadline, the day it would have begun.
    never = Value(_NEVER, output_field=DateField())
    end = Least(Coalesce("rectified_on", never), Coalesce("closed_on", never))
    ended = found.annotate(end=end).filter(end__lt=never)
    ended = ended.annotate(
        day=Greatest("end", "deadline"),
        late=Case(When(end__gt=F("deadline"), then=Value(True)), default=Value(False), output_field=BooleanField()),
    )
    for township_id, day, late, n in ended.values_list("township_id", "day", "late").annotate(n=Count("id")).order_by():
        ends[township_id][_date(day) if late else _date(day) + ONE_DAY] += n
    return {t: _OverdueDays(deadlines[t], ends[t]) for t in deadlines}


def _date(value):
    # SQLite gives a computed date (LEAST of two columns) as its ISO text.
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def overdue_counts(day, version=None):
    """{township id: findings overdue on ``day``}: the townships' findings are read as day-by-day
    tallies once, kept per process and renewed township by township as findings change
    (reports/counts/cache.py), so any day costs what today does."""
    tallies = cache.per_township(OVERDUE_COUNTS, ("days",), version or cache.token(), _overdue_days)
    found = {township_id: tally.on(day) for township_id, tally in tallies.items()}
    return {township_id: n for township_id, n in found.items() if n}
