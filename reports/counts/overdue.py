"""Findings overdue as of a date (限期整改 not met): for the dashboard, the township page and the notice.

A finding is overdue on day ``d`` when it was made on or before ``d``, its deadline is before ``d``,
and by ``d`` it had been neither reported rectified nor closed off. The deadline day itself is in
time. For today this is the same set as ``Finding.objects.overdue(today)``; for an earlier day it
is read from the dates the finding carries, so a page for a past week shows that week's standing.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q

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


def overdue_counts(day, version=None):
    """{township id: findings overdue on ``day``}, from one grouped query, kept per process and
    renewed township by township as findings change (reports/counts/cache.py)."""

    def grouped(township_ids):
        found = Finding.objects.alive().filter(_as_of(day)).exclude(closed_on__lte=day)
        if township_ids is not None:
            found = found.filter(township_id__in=township_ids)
        return dict(found.values_list("township_id").annotate(n=Count("id")).values_list("township_id", "n"))

    return cache.per_township(OVERDUE_COUNTS, (day,), version or cache.token(), grouped)
