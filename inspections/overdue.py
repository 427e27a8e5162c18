"""Findings overdue as of a date (限期整改 not met): for the dashboard, the township page and the notice.

A finding is overdue on day ``d`` when it was made on or before ``d``, its deadline is before ``d``,
and by ``d`` it had been neither reported rectified nor closed off. The deadline day itself is in
time. For today this is the same set as ``Finding.objects.overdue(today)``; for an earlier day it
is read from the dates the finding carries, so a page for a past week shows that week's standing.
"""

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
    return found.select_related("enterprise", "township", "inspection").order_by("deadline", "id")


def overdue_counts(day, version=None):
    """{township id: findings overdue on ``day``}, in one grouped query (kept per process until a
    finding changes: reports/counts_cache.py)."""

    def grouped():
        found = Finding.objects.alive().filter(_as_of(day)).exclude(closed_on__lte=day)
        return found.values_list("township_id").annotate(n=Count("id")).values_list("township_id", "n")

    return dict(counts_cache.rows((version or counts_cache.token(), "overdue", day), grouped))
