"""Paging and counting the unit register at any size (docs/performance.md, "Register").

Pages are keyset pages in the register's order, latest identified first then latest entered
(``-identified_on, -id``): "next" asks for the rows after the last row shown, "previous" for the
rows before the first, so page 1,000 costs what page 1 does (an OFFSET would read and drop every
row before it). The position travels in a signed ``cursor`` parameter; a cursor that was altered,
is malformed or leads nowhere shows the first page.

Totals of the whole register, or of some townships and statuses, are read from the counts the
database maintains (UnitStatus). Other filters are counted exactly on SQLite;
on PostgreSQL when the planner expects at most ``EXACT_UP_TO`` units at a cost of at most
``EXACT_COST`` (an index finds them), and otherwise its row estimates are shown, marked as such.
"""

import datetime
import json
import math
from dataclasses import dataclass

from django.core import signing
from django.db import connections
from django.db.models import Count, Q

from .models import Status, UnitStatus

EXACT_UP_TO = 10_000  # rows the planner expects ...
EXACT_COST = 1_000  # ... and its cost of reading them (about 10 ms here), to count them exactly
ORDER = ("-identified_on", "-id")
REVERSED = ("identified_on", "id")

_signer = signing.Signer(salt="enterprises.register.cursor")
NEXT, PREVIOUS, LAST = "n", "p", "l"


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (NEXT) or before (PREVIOUS) a row's key, or the last page (LAST)."""

    direction: str
    number: int  # the position of the page it leads to (1 = first)
    identified_on: datetime.date | None = None
    pk: int | None = None

    def encode(self):
        key = f".{self.identified_on.isoformat()}.{self.pk}" if self.direction != LAST else ""
        return _signer.sign(f"{self.direction}.{self.number}{key}")

    @classmethod
    def decode(cls, value):
        """The cursor ``value`` stands for, or None when it is absent, altered or malformed."""
        if not value:
            return None
        try:
            direction, number, *key = _signer.unsign(value).split(".")
            number = int(number)
            if number < 1:
                return None
            if direction == LAST and not key:
                return cls(LAST, number)
            if direction in (NEXT, PREVIOUS) and len(key) == 2:
                day, pk = datetime.date.fromisoformat(key[0]), int(key[1])
                return cls(direction, number, day, pk) if pk > 0 else None
        except (signing.BadSignature, ValueError):
            pass
        return None


@dataclass
class Totals:
    """The register's four figures; ``exact`` is False when they are the planner's estimates."""

    total: int
    open: int
    in_progress: int
    rectified: int
    exact: bool = True

    @classmethod
    def of(cls, by_status, exact=True):
        """From {status: n} holding every status."""
        return cls(
            sum(by_status.values()),
            by_status[Status.OPEN],
            by_status[Status.IN_PROGRESS],
            by_status[Status.RECTIFIED],
            exact=exact,
        )

    def as_dict(self):
        return {"total": self.total, "open": self.open, "in_progress": self.in_progress, "rectified": self.rectified}


@dataclass
class KeysetPage:
    object_list: list
    number: int
    num_pages: int | None  # None unless the total is exact
    has_previous: bool
    has_next: bool
    previous_cursor: str | None
    next_cursor: str | None
    last_cursor: str | None

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    @property
    def is_paged(self):
        return self.has_previous or self.has_next


def _after(row):
    return Q(identified_on__lte=row.identified_on) & (Q(identified_on__lt=row.identified_on) | Q(id__lt=row.pk))


def _before(row):
    return Q(identified_on__gte=row.identified_on) & (Q(identified_on__gt=row.identified_on) | Q(id__gt=row.pk))


def keyset_page(queryset, cursor, per_page, *, totals=None):
    """The page ``cursor`` leads to (None: the first), in one query: ``per_page`` rows and one to look ahead.

    The key conditions are written ``identified_on <= d AND (identified_on < d OR id < i)`` rather
    than as a row comparison: both databases then walk the (identified_on, id) index from ``d`` on.
    """
    num_pages = max(1, math.ceil(totals.total / per_page)) if totals is not None and totals.exact else None
    if cursor is not None and cursor.direction == LAST and num_pages is None:
        cursor = None  # the last page is only known by its size, and that only from an exact total
    if cursor is not None and cursor.direction == LAST:
        # As many rows as the last page of the forward walk holds, so the pages line up.
        size = max(1, totals.total - (num_pages - 1) * per_page)
        rows = list(queryset.order_by(*REVERSED)[: size + 1])[::-1]
        has_previous, rows, has_next = len(rows) > size, rows[-size:], False
        number = num_pages
    elif cursor is not None and cursor.direction == PREVIOUS:
        rows = list(queryset.filter(_before(cursor)).order_by(*REVERSED)[: per_page + 1])[::-1]
        has_previous, rows, has_next = len(rows) > per_page, rows[-per_page:], True
        number = cursor.number if has_previous else 1
    elif cursor is not None:
        rows = list(queryset.filter(_after(cursor)).order_by(*ORDER)[: per_page + 1])
        has_previous, has_next, rows = True, len(rows) > per_page, rows[:per_page]
        number = cursor.number
    else:
        rows = list(queryset.order_by(*ORDER)[: per_page + 1])
        has_previous, has_next, rows = False, len(rows) > per_page, rows[:per_page]
        number = 1
    if not rows and cursor is not None:
        return keyset_page(queryset, None, per_page, totals=totals)  # the rows it pointed at are gone
    if num_pages is not None and number > num_pages:
        num_pages = None  # the list shrank since the cursor was made: the position is approximate
    return KeysetPage(
        object_list=rows,
        number=number,
        num_pages=num_pages,
        has_previous=has_previous,
        has_next=has_next,
        previous_cursor=_link(PREVIOUS, number, rows[0]) if has_previous else None,
        next_cursor=_link(NEXT, number, rows[-1]) if has_next else None,
        last_cursor=Cursor(LAST, num_pages).encode() if num_pages and has_next else None,
    )


def _link(direction, number, row):
    target = number + 1 if direction == NEXT else max(1, number - 1)
    return Cursor(direction, target, row.identified_on, row.pk).encode()


# --- totals ------------------------------------------------------------------------------------


def register_totals(filterset):
    """The four figures of what ``filterset`` selects; see the module docstring for the rule."""
    scope = filterset.maintained_scope()
    if scope is not None:
        townships, statuses = scope
        by_status = UnitStatus.objects.totals(townships, statuses)
        return Totals.of(by_status)
    queryset = filterset.qs.order_by()
    if connections[queryset.db].vendor != "postgresql":
        return Totals(**_exact(queryset))
    by_status, cost = _estimate(queryset, filterset.selected_statuses())
    if sum(by_status.values()) <= EXACT_UP_TO and cost <= EXACT_COST:
        return Totals(**_exact(queryset))
    return Totals.of(by_status, exact=False)


def _exact(queryset):
    return queryset.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status=Status.OPEN)),
        in_progress=Count("id", filter=Q(status=Status.IN_PROGRESS)),
        rectified=Count("id", filter=Q(status=Status.RECTIFIED)),
    )


def _estimate(queryset, statuses):
    """PostgreSQL's estimates, in one EXPLAIN of a UNION ALL with a branch per status:
    ({status: rows}, the planner's cost of the dearest branch, about that of counting them all).
    """
    chosen = [s for s in Status.values if statuses is None or s in statuses]
    parts = [queryset.filter(status=status).values("id") for status in chosen]
    explained = parts[0].union(*parts[1:], all=True).explain(format="json")
    if not explained:  # a query that can select nothing (a search that found no unit): Django runs none
        return dict.fromkeys(Status.values, 0), 0
    plan = json.loads(explained)[0]["Plan"]
    branches = [plan]
    if len(chosen) > 1:
        append = plan
        while append["Node Type"] != "Append" and len(append.get("Plans", [])) == 1:  # e.g. under a Gather
            append = append["Plans"][0]
        branches = append.get("Plans", [])
    if len(branches) != len(chosen):  # a plan shape we do not know: spread the total evenly
        rows = {status: round(plan["Plan Rows"] / len(chosen)) for status in chosen}
        return {status: rows.get(status, 0) for status in Status.values}, plan["Total Cost"]
    rows = {status: int(branch["Plan Rows"]) for status, branch in zip(chosen, branches, strict=True)}
    return {status: rows.get(status, 0) for status in Status.values}, max(b["Total Cost"] for b in branches)


def about(n):
    """An estimate for display: three significant digits (12,345 → 12,300)."""
    if n < 1000:
        return n
    digits = int(math.log10(n)) - 2
    return round(n, -digits)
