"""The map page's data (挂图作战): units by where they are, coloured by status, overdue findings marked.

A view of the map asks for the units inside its box at its zoom. The database answers with a grid
aggregate, not with the units: one grouped query (GROUP BY the cell a unit's position falls in)
counting each cell's units per map status and those with an overdue finding, so that the answer is
a few hundred cells whatever the number of units. Only when the box holds few units (``POINTS_MAX``)
are they sent one by one. Positions are stored in WGS-84; a map on GCJ-02 tiles gets them converted
for display, and its box converted back (core/geo.py, docs/map.md).

Map statuses, from the register's own notions (enterprises.models, docs/counting.md), as of today:

- ``relapsed`` 死灰复燃: not rectified now, and a standing (not withdrawn) relapse re-opened it;
- ``open`` 未整治 and ``rectifying`` 整治中: the unit's 整治状态, when it has no such relapse;
- ``rectified`` 已整治: the unit's 整治状态 (its current rectification holds).

A finding is overdue as ``inspections.Finding.objects.overdue(today)`` says (待整改 after its deadline).
"""

import datetime
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, BigIntegerField, Count, Exists, FloatField, Func, Max, Min, OuterRef, Q, Value
from django.db.models.functions import Cast
from django.utils import timezone

from campaign.models import Outline
from core import geo
from enterprises.models import Enterprise, Rectification, Relapse, Status
from inspections.models import Finding

POINTS_MAX = 300  # at most this many units in a view are sent one by one; more are cells
MAP_STATUSES = ("open", "rectifying", "rectified", "relapsed")


class BadBox(ValueError):
    """A view box or zoom that cannot be a map's."""


@dataclass(frozen=True)
class Box:
    """A view: west, south, east, north in degrees of the map's display CRS, and its zoom."""

    west: float
    south: float
    east: float
    north: float
    zoom: int

    @classmethod
    def parse(cls, bbox, zoom):
        """``bbox`` "w,s,e,n" and ``zoom`` as the map's script sends them; BadBox otherwise."""
        try:
            west, south, east, north = (float(part) for part in str(bbox or "").split(","))
            zoom = int(zoom)
        except (TypeError, ValueError):
            raise BadBox(bbox) from None
        if not all(map(_finite, (west, south, east, north))) or not 0 <= zoom <= 22:
            raise BadBox(bbox)
        west, east = max(west, -180.0), min(east, 180.0)
        south, north = max(south, -90.0), min(north, 90.0)
        if west >= east or south >= north:
            raise BadBox(bbox)
        return cls(west, south, east, north, zoom)

    def stored(self, crs):
        """The box in stored (WGS-84) degrees: each corner converted, widened to hold them all."""
        corners = [
            geo.from_display(crs, lng, lat) for lng in (self.west, self.east) for lat in (self.south, self.north)
        ]
        lngs, lats = [c[0] for c in corners], [c[1] for c in corners]
        return min(lngs), min(lats), max(lngs), max(lats)


def _finite(x):
    return x == x and abs(x) != float("inf")


class CellIndex(Func):
    """floor(value / size) of a non-negative value, as an integer (the operand is shifted first).

    SQLite's CAST truncates, which is floor for a value ≥ 0; PostgreSQL's rounds, so it floors first.
    """

    output_field = BigIntegerField()
    template = "CAST(%(expressions)s AS INTEGER)"  # SQLite's INTEGER has 64 bits

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(FLOOR(%(expressions)s) AS BIGINT)", **extra_context)


# A cell's two indexes as one number, cx * CELL_KEY + cy, to group by: one key sorts faster than two
# (SQLite groups through a temporary B-tree; 44 against 56 ms at 100,000 units). An index is below
# 2^24 at every zoom up to 22 (360 / (90 / 2^22) = 2^24), so the key fits in 48 bits.
CELL_KEY = 1 << 24


def _degrees(column):
    return Cast(column, FloatField())


def relapsed_units():
    """Units a standing relapse (死灰复燃) re-opened at some time: "relapsed" while not rectified."""
    return Relapse.objects.filter(deleted_at__isnull=True).values("enterprise_id")


def overdue_units(today):
    """Units with a finding overdue today (待整改 after its deadline)."""
    return Finding.objects.overdue(today).filter(enterprise_id__isnull=False).values("enterprise_id")


def _marks(today, probe):
    """(relapsed, overdue): conditions on a unit. ``probe``: each unit looks up its own relapses
    and findings (EXISTS, by their unit's index), for a read of few units (a few cells, a view of a
    few streets); else the relapsed and overdue units are read once whole (IN, hashed or indexed
    once), for a read of many (a township, the city): at a million units, the overdue findings alone
    are 100,000 rows to read before the first cell."""
    if probe:
        return (
            Exists(Relapse.objects.filter(deleted_at__isnull=True, enterprise_id=OuterRef("pk"))),
            Exists(Finding.objects.overdue(today).filter(enterprise_id=OuterRef("pk"))),
        )
    return Q(id__in=relapsed_units()), Q(id__in=overdue_units(today))


def placed(units):
    """The units that have a position."""
    return units.filter(longitude__isnull=False)


def in_box(units, west, south, east, north):
    return placed(units).filter(longitude__range=(west, east), latitude__range=(south, north))


def _grid(units, size, today, probe=False):
    """The grid aggregate of ``units`` at cells of ``size`` degrees: a row per cell with its index,
    its units' count and mean position, and its counts per map status and of units with an overdue
    finding. One grouped query, one scan of the units: the relapsed units and those with an overdue
    finding are each read once from their own small table (an ``IN`` that both databases hash or
    index once) and each unit is looked up in them, or, ``probe``, each unit looks its own up
    (``_marks``)."""
    is_relapsed, is_overdue = _marks(today, probe)
    relapsed = Q(is_relapsed) & ~Q(status=Status.RECTIFIED)
    rows = (
        units.annotate(
            cell=CellIndex((_degrees("longitude") + 180.0) / size) * CELL_KEY
            + CellIndex((_degrees("latitude") + 90.0) / size)
        )
        .values("cell")
        .annotate(
            n=Count("id"),
            lng=Avg(_degrees("longitude")),
            lat=Avg(_degrees("latitude")),
            rectified=Count("id", filter=Q(status=Status.RECTIFIED)),
            in_progress=Count("id", filter=Q(status=Status.IN_PROGRESS)),
            relapsed=Count("id", filter=relapsed),
            relapsed_in_progress=Count("id", filter=relapsed & Q(status=Status.IN_PROGRESS)),
            overdue=Count("id", filter=Q(is_overdue)),
        )
    )
    found = []
    for row in rows:
        row["cx"], row["cy"] = divmod(row.pop("cell"), CELL_KEY)
        # A relapsed unit is shown as relapsed, not as in progress (map_status).
        row["rectifying"] = row.pop("in_progress") - row.pop("relapsed_in_progress")
        found.append(row)
    return sorted(found, key=lambda row: (row["cx"], row["cy"]))


@dataclass(frozen=True)
class Kept:
    """A kept block of the grid: its rows, the data's ``freshness()`` they count, and when the block
    was last read in full (``time.monotonic()``)."""

    stamp: tuple
    read_at: float
    rows: list


class _GridCache:
    """The grids of the zoomed-out views (and the page's extent), kept per process.

    A view at zoom ≤ CACHE_MAX_ZOOM (the city, a township) is answered from blocks of the grid of the
    units the user's scope and filters give (``_kept_rows``), cut to the view's cells in Python:
    panning and zooming back cost no grouped query once the blocks are read. Each block is kept with
    ``freshness()``, the latest history row of the units, relapses, findings and rectifications
    (every write through the product leaves one: forms, services, the import, restores). When the
    data have changed since, the block is patched, not read again: the units the new history rows
    name (``touched``) give the cells that may have changed, at every position those units have or
    ever had, and only those cells are counted again, so that a write costs the next view one small
    grouped query, not the city's. What ``touched`` cannot answer (too many units, a history that
    went back, a unit with no history of its creation), more than PATCH_CELLS changed cells, a new
    day (overdue findings) or a block read in full more than KEPT_SECONDS ago (a write that bypassed
    the history) make the block be read again in full.
    """

    def __init__(self, size=1024):
        self.size = size
        self.grids = OrderedDict()
        self.touched = OrderedDict()  # (since, now) → the positions changed between them, or None
        self.lock = threading.Lock()

    def peek(self, key):
        with self.lock:
            if key in self.grids:
                self.grids.move_to_end(key)
            return self.grids.get(key)

    def put(self, key, value):
        with self.lock:
            self.grids[key] = value
            while len(self.grids) > self.size:
                self.grids.popitem(last=False)

    def get(self, key, fetch):
        found = self.peek(key)
        if found is None:
            found = fetch()
            self.put(key, found)
        return found

    def changes(self, since, now):
        """``touched(since, now)``, asked once per pair of stamps in a process."""
        with self.lock:
            if (since, now) in self.touched:
                return self.touched[(since, now)]
        found = touched(since, now)
        with self.lock:
            self.touched[(since, now)] = found
            while len(self.touched) > 16:
                self.touched.popitem(last=False)
        return found

    def clear(self):
        with self.lock:
            self.grids.clear()
            self.touched.clear()


CACHE_MAX_ZOOM = 13  # above it a view is a few streets: its own grid is read, not kept
BLOCK = 8  # cells a side of a kept block of the grid
POINTS_ZOOM = 14  # from here a view asks for its units first (few, as a rule), then for a grid
PATCH_MAX = 200  # units changed since a block was kept, at most, for it to be patched and not read again
KEPT_SECONDS = 600  # a kept block is read in full again after this long, whatever it was patched with
PATCH_CELLS = 64  # changed cells, at most, counted again one by one in a view; more: their blocks in full
LOOKBACK = 8  # history ids below a stamp looked at again on PostgreSQL (_lookback)…
LOOKBACK_SECONDS = 60  # …when written this recently (a transaction still open at the stamp)
PROBE_CELLS, PROBE_ZOOM = 8, 12  # at most these many cells, from this zoom: their marks looked up unit by unit
EDGE = 1e-6  # degrees: a position's cells are those of a box this much around it (rounding at a cell's edge)
grids = _GridCache()


def _history_models():
    """The history tables a map's counts follow: units (their position, status, filters), relapses,
    findings (overdue marks) and rectifications (the method and date filters read the unit's
    current rectification, which triggers keep and the unit's history leaves out)."""
    return [model.history.model for model in (Enterprise, Relapse, Finding, Rectification)]


def freshness():
    """The latest history row of units, relapses, findings and rectifications (0 for none): one
    query of four index look-ups."""
    tables = [model._meta.db_table for model in _history_models()]
    parts = ", ".join(f"(SELECT MAX(history_id) FROM {table})" for table in tables)  # nosec B608  # table names from _meta
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {parts}")  # nosec B608  # table names from _meta, no value in the text
        return tuple(int(found or 0) for found in cursor.fetchone())


def _lookback():
    """History ids looked at again below a stamp: PostgreSQL hands out a history row's id when it is
    written, not when its transaction commits, so a write that commits after a later one carries an
    id under a stamp taken in between. Of those, only the rows written in the last LOOKBACK_SECONDS
    are read (older ones were committed long before), so that a quiet map does not count the last
    writes' cells again at every change. SQLite has one writer at a time: none."""
    return LOOKBACK if connection.vendor == "postgresql" else 0


def touched(since, now):
    """The positions (stored degrees) that units changed between two ``freshness()`` stamps have or
    had: every position in the history of each unit whose row, relapse, finding or rectification got
    a history row after ``since`` (less ``_lookback()``), and of each unit a changed relapse, finding
    or rectification names or named, and the units' positions now. None, and the caller reads in
    full, when more than PATCH_MAX units changed, when the history went back (a restore), or when a
    unit whose own row changed has no history of its creation (a unit written without history, as
    the demo city's are: its earlier positions are unknown). Three queries."""
    if any(new < old for old, new in zip(since, now, strict=True)):
        return None
    units, *others = _history_models()
    back = _lookback()

    recent = timezone.now() - datetime.timedelta(seconds=LOOKBACK_SECONDS)

    def after(model, position):
        rows = model.objects.filter(history_id__gt=since[position] - back, history_id__lte=now[position])
        if back:  # below the stamp, only the rows of writes recent enough to have been in flight
            rows = rows.filter(Q(history_id__gt=since[position]) | Q(history_date__gte=recent))
        return rows.order_by()

    named = [
        model.objects.filter(id__in=after(model, position).values("id"), enterprise_id__isnull=False)
        .order_by()
        .values_list("enterprise_id", Value(False))
        for position, model in enumerate(others, 1)
    ]
    # (unit id, whether the unit's own row changed): the unit's row first, then the units named.
    changed = after(units, 0).values_list("id", Value(True)).union(*named, all=True)
    rows = list(changed[: 4 * PATCH_MAX + 1])  # a unit has a row per history row that names it
    found = {}
    for pk, own in rows:
        found[pk] = found.get(pk, False) or bool(own)
    if len(found) > PATCH_MAX or len(rows) > 4 * PATCH_MAX:
        return None
    if not found:
        return frozenset()
    positions, created = set(), set()
    for pk, lng, lat, kind in (
        units.objects.filter(id__in=list(found)).order_by().values_list("id", "longitude", "latitude", "history_type")
    ):
        if kind == "+":
            created.add(pk)
        if lng is not None and lat is not None:
            positions.add((float(lng), float(lat)))
    if any(own and pk not in created for pk, own in found.items()):
        return None
    now_placed = Enterprise.objects.filter(id__in=list(found), longitude__isnull=False, latitude__isnull=False)
    positions |= {(float(lng), float(lat)) for lng, lat in now_placed.values_list("longitude", "latitude")}
    return frozenset(positions)


def _cells_of(positions, size):
    """The grid cells (at ``size`` degrees) the positions fall in, each widened by EDGE."""
    cells = set()
    for lng, lat in positions:
        for x in {math.floor((lng - EDGE + 180.0) / size), math.floor((lng + EDGE + 180.0) / size)}:
            for y in {math.floor((lat - EDGE + 90.0) / size), math.floor((lat + EDGE + 90.0) / size)}:
                cells.add((x, y))
    return cells


def _cell_rows(units, cells, size, today):
    """The grid rows of ``cells`` alone (those with units): one grouped query over their boxes. A few
    small cells look their units' marks up one by one (``_marks``); more, or larger, read them whole:
    a cell of the city's view holds thousands of units."""
    area = Q()
    for cx, cy in cells:
        area |= Q(
            longitude__range=(round(cx * size - 180.0 - EDGE, 7), round((cx + 1) * size - 180.0 + EDGE, 7)),
            latitude__range=(round(cy * size - 90.0 - EDGE, 7), round((cy + 1) * size - 90.0 + EDGE, 7)),
        )
    probe = len(cells) <= PROBE_CELLS and size <= geo.cell_size(PROBE_ZOOM)
    rows = _grid(placed(units).filter(area).order_by(), size, today, probe=probe)
    return {(row["cx"], row["cy"]): row for row in rows if (row["cx"], row["cy"]) in cells}


def _kept_rows(units, key, size, box, today):
    """The grid rows of the cells a view's box touches, from the kept blocks of cells.

    The grid is kept in blocks of BLOCK × BLOCK cells; the blocks a view touches that are not kept
    yet are read in one grouped query over their joint box (a township's view reads a few
    townships' units once, the city's view the city's) and kept, empty ones too. Kept blocks whose
    data changed since are patched (``_GridCache``): the changed cells of all of them are counted
    again in one grouped query; a block none of whose cells changed is only stamped fresh."""
    west, south, east, north = box
    low_x, high_x = math.floor((west + 180.0) / size), math.floor((east + 180.0) / size)
    low_y, high_y = math.floor((south + 90.0) / size), math.floor((north + 90.0) / size)
    blocks = [
        (bx, by)
        for bx in range(low_x // BLOCK, high_x // BLOCK + 1)
        for by in range(low_y // BLOCK, high_y // BLOCK + 1)
    ]
    now, clock = freshness(), time.monotonic()
    found, missing, stale = {}, [], {}
    changed_cells = {}  # the changes since a stamp, as cells of this size: the blocks share a few stamps
    for block in blocks:
        kept = grids.peek((key, block))
        if kept is None or clock - kept.read_at > KEPT_SECONDS:
            missing.append(block)
            continue
        if kept.stamp == now:
            found[block] = kept.rows
            continue
        if kept.stamp not in changed_cells:
            positions = grids.changes(kept.stamp, now)
            changed_cells[kept.stamp] = None if positions is None else _cells_of(positions, size)
        if changed_cells[kept.stamp] is None:
            missing.append(block)
            continue
        cells = {cell for cell in changed_cells[kept.stamp] if (cell[0] // BLOCK, cell[1] // BLOCK) == block}
        if cells:
            stale[block] = (kept, cells)
        else:
            grids.put((key, block), Kept(now, kept.read_at, kept.rows))
            found[block] = kept.rows
    if sum(len(cells) for _kept, cells in stale.values()) > PATCH_CELLS:
        missing += list(stale)  # changes spread over many cells: their blocks are read in full
        stale = {}
    if missing:
        xs, ys = [bx for bx, _by in missing], [by for _bx, by in missing]
        joint = (
            min(xs) * BLOCK * size - 180.0,
            min(ys) * BLOCK * size - 90.0,
            (max(xs) + 1) * BLOCK * size - 180.0,
            (max(ys) + 1) * BLOCK * size - 90.0,
        )
        read = {block: [] for block in missing}
        for row in _grid(in_box(units, *(round(v, 6) for v in joint)).order_by(), size, today):
            block = (row["cx"] // BLOCK, row["cy"] // BLOCK)
            if block in read:
                read[block].append(row)
        for block, rows in read.items():
            grids.put((key, block), Kept(now, clock, rows))
        found.update(read)
    if stale:
        fresh = _cell_rows(units, set().union(*(cells for _kept, cells in stale.values())), size, today)
        for block, (kept, cells) in stale.items():
            rows = [row for row in kept.rows if (row["cx"], row["cy"]) not in cells]
            rows += [fresh[cell] for cell in sorted(cells) if cell in fresh]
            grids.put((key, block), Kept(now, kept.read_at, rows))
            found[block] = rows
    rows = [
        row for rows in found.values() for row in rows if low_x <= row["cx"] <= high_x and low_y <= row["cy"] <= high_y
    ]
    return sorted(rows, key=lambda row: (row["cx"], row["cy"]))


def map_data(units, box, *, crs=geo.WGS84, today=None, cache_key=None):
    """The answer to one view of the map: cells of the grid, or the units themselves when few.

    ``units`` is the user's scoped, filtered register (the register's filterset's ``qs``);
    ``cache_key`` what decides it (scope and filters), to keep zoomed-out grids (``_GridCache``).
    """
    today = today or datetime.date.today()
    west, south, east, north = (round(v, 6) for v in box.stored(crs))
    inside = in_box(units, west, south, east, north).order_by()
    size = geo.cell_size(box.zoom)
    answer = {"crs": crs, "zoom": box.zoom, "cell": size}
    if box.zoom >= POINTS_ZOOM:
        points = _points(inside, crs, today, limit=POINTS_MAX + 1)
        if len(points) <= POINTS_MAX:
            answer.update(mode="points", total=len(points), points=points, cells=[])
            return answer
    if cache_key is not None and box.zoom <= CACHE_MAX_ZOOM:
        rows = _kept_rows(units, (cache_key, today, box.zoom), size, (west, south, east, north), today)
    else:
        rows = _grid(inside, size, today, probe=box.zoom > CACHE_MAX_ZOOM)
    total = sum(row["n"] for row in rows)
    answer["total"] = total
    if total <= POINTS_MAX:
        points = _points(inside, crs, today)
        answer.update(mode="points", total=len(points), points=points, cells=[])
        return answer
    cells = []
    for row in rows:
        lng, lat = geo.to_display(crs, row["lng"], row["lat"])
        n = row["n"]
        counts = {key: row[key] for key in ("rectified", "relapsed", "rectifying")}
        counts["open"] = n - sum(counts.values())
        cells.append({"lng": round(lng, 6), "lat": round(lat, 6), "n": n, "overdue": row["overdue"], **counts})
    answer.update(mode="cells", cells=cells, points=[])
    return answer


def _points(units, crs, today, limit=None):
    """The units themselves (at most ``limit``, POINTS_MAX), each with its map status and overdue mark:
    one query."""
    is_relapsed, is_overdue = _marks(today, probe=True)
    rows = units.annotate(relapsed=is_relapsed, overdue=is_overdue).values_list(
        "id", "name", "longitude", "latitude", "status", "relapsed", "overdue"
    )
    points = []
    for pk, name, lng, lat, status, relapsed, overdue in rows.order_by("id")[: limit or POINTS_MAX]:
        lng, lat = geo.to_display(crs, lng, lat)
        points.append(
            {
                "id": pk,
                "name": name,
                "lng": round(lng, 6),
                "lat": round(lat, 6),
                "status": map_status(status, bool(relapsed)),
                "overdue": bool(overdue),
            }
        )
    return points


def map_status(status, relapsed):
    if status == Status.RECTIFIED:
        return "rectified"
    if relapsed:
        return "relapsed"
    return "rectifying" if status == Status.IN_PROGRESS else "open"


def extent(units, crs=geo.WGS84, cache_key=None):
    """How many of ``units`` there are and have a position, and the box holding them (display CRS);
    kept like the grids (``_GridCache``) under ``cache_key`` when one is given."""

    def fetch():
        return units.order_by().aggregate(
            total=Count("id"),
            placed=Count("longitude"),
            west=Min("longitude"),
            south=Min("latitude"),
            east=Max("longitude"),
            north=Max("latitude"),
        )

    found = fetch() if cache_key is None else grids.get((cache_key, freshness(), "extent"), fetch)
    box = None
    if found["placed"]:
        west, south = geo.to_display(crs, found["west"], found["south"])
        east, north = geo.to_display(crs, found["east"], found["north"])
        box = [round(west, 6), round(south, 6), round(east, 6), round(north, 6)]
    return {"total": found["total"], "placed": found["placed"], "box": box}


def outlines(*, townships=None, villages=None, crs=geo.WGS84):
    """A GeoJSON FeatureCollection of the outlines of ``townships`` (ids) and ``villages`` (ids)."""
    found = Outline.objects.none()
    if townships:
        found = found | Outline.objects.filter(township_id__in=townships)
    if villages:
        found = found | Outline.objects.filter(village_id__in=villages)
    features = []
    for outline in found.select_related("township", "village").order_by("township_id", "village_id", "id"):
        geometry = outline.geometry
        if crs == geo.GCJ02:
            geometry = _converted(geometry)
        kind = "township" if outline.township_id else "village"
        place = outline.township or outline.village
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"kind": kind, "id": place.pk, "name": place.name},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _converted(geometry):
    def ring(points):
        return [list(geo.wgs84_to_gcj02(lng, lat)) for lng, lat, *_rest in points]

    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in geometry["coordinates"]]}
    return {"type": "MultiPolygon", "coordinates": [[ring(r) for r in poly] for poly in geometry["coordinates"]]}
