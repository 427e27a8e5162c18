"""A township's villages: the figures of a township page's village lines, read from the per-village
counts the database maintains (``VillageDay``, ``VillagePeriodDay``: reports/counts/tables.py).

Per village of one township (and one line, ``village_id`` None, for its units with no village), at
``as_of`` with the campaign starting on ``start``:

- ``total``: alive units identified on or before ``as_of``;
- ``identified``: of those, the ones identified in [start, as_of];
- ``holding``: of those, the ones with a rectified period holding on ``as_of`` (whenever it began);
- ``rectified``: of those, the ones whose holding period began in [start, as_of];

so open(d) is ``total − holding``. A period counts from ``since``, the later of its start and its
unit's identification day, so a unit identified after ``as_of`` counts in none of them, as in the
register query this replaces (``Enterprise.objects.alive().filter(identified_on__lte=as_of)`` with
``holding_on(as_of)``). Periods of one unit never overlap, so a count of periods holding is a count
of units.

One query sums the township's rows, an index range of each table (their keys lead with the
township), whatever the number of units; its answer is kept per process under the township's
version (``Token.of``), which every change of these tables moves (reports/counts/versions.py).
"""

from dataclasses import dataclass

from django.db import connection

from enterprises.models import NO_VILLAGE, VillageDay, VillagePeriodDay

from . import cache

VILLAGE_DAYS = VillageDay._meta.db_table
VILLAGE_PERIODS = VillagePeriodDay._meta.db_table

# What the read below reads (reports/counts/cache.py).
VILLAGES = cache.reads(
    "villages",
    (VillageDay, "township", "village_id", "day", "n"),
    (VillagePeriodDay, "township", "village_id", "started", "since", "ended", "n"),
)


@dataclass(frozen=True)
class VillageCounts:
    """One village's figures at a day (``village_id`` None: the units with no village)."""

    village_id: int | None
    total: int
    identified: int
    rectified: int
    holding: int

    @property
    def open(self):
        """open(d): identified by the day, with no period holding on it."""
        return self.total - self.holding


_SQL = f"""
SELECT village_id, SUM(total), SUM(identified), SUM(rectified), SUM(holding) FROM (
  SELECT village_id, n AS total, CASE WHEN day >= %(start)s THEN n ELSE 0 END AS identified,
         0 AS rectified, 0 AS holding
  FROM {VILLAGE_DAYS} WHERE township_id = %(township)s AND day <= %(as_of)s
  UNION ALL
  SELECT village_id, 0, 0, CASE WHEN started >= %(start)s THEN n ELSE 0 END, n
  FROM {VILLAGE_PERIODS} WHERE township_id = %(township)s AND since <= %(as_of)s AND ended > %(as_of)s
) AS counts
GROUP BY village_id HAVING SUM(total) > 0
"""  # nosec B608  # SQL from module constants (table names from _meta)


def village_counts(township_id, start, as_of, version=None):
    """[VillageCounts] of township ``township_id`` at ``as_of`` (campaign starting ``start``), in no
    particular order: one grouped query, kept per process under the township's version.
    ``version``: the counts' versions (``reports.counts.token()``) when the caller has read them."""
    version = version or cache.token()
    key = (version.of(township_id), township_id, start, as_of)
    return cache.rows(VILLAGES, key, lambda: _village_counts(township_id, start, as_of))


def _village_counts(township_id, start, as_of):
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"township": township_id, "start": start, "as_of": as_of})
        found = cursor.fetchall()
    return [
        VillageCounts(
            village_id=None if village_id == NO_VILLAGE else village_id,
            total=int(total),
            identified=int(identified),
            rectified=int(rectified),
            holding=int(holding),
        )
        for village_id, total, identified, rectified, holding in found
    ]
