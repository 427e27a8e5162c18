"""Findings overdue as of a date (限期整改 not met): for the dashboard, the township page and the notice.

A finding is overdue on day ``d`` when it was made on or before ``d``, its deadline is before ``d``,
and by ``d`` it had been neither reported rectified nor closed off. The deadline day itself is in
time. For today this is the same set as ``Finding.objects.overdue(today)``; for an earlier day it
is read from the dates the finding carries, so a page for a past week shows that week's standing.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q

from reports import counts_cache

from .models import Finding


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


def overdue_list(day, township, limit):
    """The first ``limit`` findings of ``township`` overdue on ``day``, oldest deadline first.

    Sorted and cut in the database before the units' names are joined: joining every overdue finding
    of a township first (hundreds at 100,000 units) cost more than the rest of the query.
    """
    first = overdue_on(day, township).values("pk")[:limit]
    rows = (
        Finding.objects.filter(pk__in=first)
        .order_by("deadline", "id")
        .values_list("pk", "enterprise__name", "kind", "severity", "found_on", "deadline")
    )
    return [OverdueFinding(*row, days_overdue=(day - row[-1]).days) for row in rows]


def overdue_counts(day, version=None):
    """{township id: findings overdue on ``day``}, in one grouped query (kept per process until a
    finding changes: reports/counts_cache.py)."""

    def grouped():
        found = Finding.objects.alive().filter(_as_of(day)).exclude(closed_on__lte=day)
        return found.values_list("township_id").annotate(n=Count("id")).values_list("township_id", "n")

    return dict(counts_cache.rows((version or counts_cache.token(), "overdue", day), grouped))
