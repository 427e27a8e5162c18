"""The counts: every figure of SPEC section 2 and the overdue findings, read fast and kept right.

One unit, one way in: code outside this package imports from ``reports.counts`` only.

- ``tables``: the per-township count tables the database maintains (UnitDay, PeriodDay, UnitStatus,
  and per village VillageDay, VillagePeriodDay)
  and the triggers' SQL that maintains them; ``recount``/``differences``/``rebuild`` check and
  repair them against the register.
- ``versions``: the triggers that give a township a new ``CountsVersion`` with each change of its
  counts or findings.
- ``cache``: the per-process cache of count queries under those versions; every cached read
  declares what it reads (``reads``), and the cache takes nothing else.
- ``reader``: ``daily_counts``/``series_counts``, the only reader of the count tables.
- ``overdue``: findings overdue on a day, cached the same way.
- ``villages``: a township's figures per village (``village_counts``), from the per-village count
  tables (VillageDay, VillagePeriodDay), cached the same way.
- ``schema``: the SQL the database is expected to hold (``declared``), what differs (``drift``:
  ``verify_counts`` and the system check ``check --database default`` report it) and which
  declared column no version trigger follows (``uncovered``).

The migrations that installed the triggers carry their own literal copy of the SQL; a change of
the SQL here comes with a new migration carrying the new text (docs/counting.md, "The counts unit").
"""

from . import checks  # noqa: F401  (registers the drift check, Tags.database)
from .cache import LARGE, READS, SIZE, Reads, Token, answer, clear, per_township, reads, renewed, replaced, rows, token
from .overdue import OverdueFinding, overdue_counts, overdue_list, overdue_on
from .reader import COUNTERS, CombinedCounts, TownshipCounts, daily_counts, horizon, series_counts
from .schema import Drift, declared, drift, explain, uncovered
from .tables import (
    differences,
    maintained,
    maintained_statuses,
    maintained_villages,
    rebuild,
    recount,
    recount_statuses,
    recount_villages,
)
from .villages import VillageCounts, village_counts

__all__ = [
    "COUNTERS",
    "LARGE",
    "READS",
    "SIZE",
    "CombinedCounts",
    "Drift",
    "OverdueFinding",
    "Reads",
    "Token",
    "TownshipCounts",
    "VillageCounts",
    "answer",
    "clear",
    "daily_counts",
    "declared",
    "differences",
    "drift",
    "explain",
    "maintained",
    "maintained_statuses",
    "maintained_villages",
    "overdue_counts",
    "overdue_list",
    "overdue_on",
    "per_township",
    "horizon",
    "reads",
    "rebuild",
    "recount",
    "recount_statuses",
    "recount_villages",
    "renewed",
    "replaced",
    "rows",
    "series_counts",
    "token",
    "uncovered",
    "village_counts",
]
