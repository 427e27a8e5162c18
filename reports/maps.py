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
from collections import OrderedDict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, BooleanField, Count, ExpressionWrapper, FloatField, Func, IntegerField, Max, Min, Q
from django.db.models.functions import Cast

from campaign.models import Outline
from core import geo
from enterprises.models import Enterprise, Relapse, Status
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

    output_field = IntegerField()
    template = "CAST(%(expressions)s AS INTEGER)"

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(FLOOR(%(expressions)s) AS INTEGER)", **extra_context)


def _degrees(column):
    return Cast(column, FloatField())


def relapsed_units():
    """Units a standing relapse (死灰复燃) re-opened at some time: "relapsed" while not rectified."""
    return Relapse.objects.filter(deleted_at__isnull=True).values("enterprise_id")


def overdue_units(today):
    """Units with a finding overdue today (待整改 after its deadline)."""
    return Finding.objects.overdue(today).filter(enterprise_id__isnull=False).values("enterprise_id")


def _status_counts():
    return {
        "rectified": Count("id", filter=Q(status=Status.RECTIFIED)),
        "in_progress": Count("id", filter=Q(status=Status.IN_PROGRESS)),
    }


def placed(units):
    """The units that have a position."""
    return units.filter(longitude__isnull=False)


def in_box(units, west, south, east, north):
    return placed(units).filter(longitude__range=(west, east), latitude__range=(south, north))


def _grid(units, size, today):
    """The grid aggregate of ``units`` at cells of ``size`` degrees: a row per cell with its index,
    its units' count and mean position, and its counts per map status and of units with an overdue
    finding. Three grouped queries: every unit by status, then the few relapsed units and the few
    with an overdue finding (each read through its own small table), so that the scan of every unit
    tests nothing but its status."""

    def cells(queryset, **counts):
        return (
            queryset.annotate(
                cx=CellIndex((_degrees("longitude") + 180.0) / size),
                cy=CellIndex((_degrees("latitude") + 90.0) / size),
            )
            .values("cx", "cy")
            .annotate(**counts)
        )

    rows = {
        (row["cx"], row["cy"]): row
        for row in cells(
            units, n=Count("id"), lng=Avg(_degrees("longitude")), lat=Avg(_degrees("latitude")), **_status_counts()
        )
    }
    relapsed = units.filter(id__in=relapsed_units()).exclude(status=Status.RECTIFIED)
    for row in cells(
        relapsed, relapsed=Count("id"), relapsed_in_progress=Count("id", filter=Q(status=Status.IN_PROGRESS))
    ):
        cell = rows[(row["cx"], row["cy"])]
        cell["relapsed"], cell["in_progress"] = row["relapsed"], cell["in_progress"] - row["relapsed_in_progress"]
    for row in cells(units.filter(id__in=overdue_units(today)), overdue=Count("id")):
        rows[(row["cx"], row["cy"])]["overdue"] = row["overdue"]
    for row in rows.values():
        row.setdefault("relapsed", 0)
        row.setdefault("overdue", 0)
        row["rectifying"] = row.pop("in_progress")
    return [rows[key] for key in sorted(rows)]


class _GridCache:
    """The grids of the zoomed-out views (and the page's extent), kept per process until the data
    they count change.

    A view at zoom ≤ CACHE_MAX_ZOOM (the city, a township) is answered from blocks of the grid of the
    units the user's scope and filters give (``_kept_rows``), cut to the view's cells in Python:
    panning and zooming back cost no grouped query once the blocks are read. They are kept under
    ``freshness()``: the latest history row of the units, relapses and findings (every write through
    the product leaves one: forms, services, the import, restores) and the day, so a change of a
    position, a status, a relapse or a finding makes the next view read its blocks again. A write
    that bypasses the history (raw SQL) is seen with the next one that does not.
    """

    def __init__(self, size=1024):
        self.size = size
        self.grids = OrderedDict()
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
        with self.lock:
            if key in self.grids:
                self.grids.move_to_end(key)
                return self.grids[key]
        grid = fetch()
        with self.lock:
            self.grids[key] = grid
            while len(self.grids) > self.size:
                self.grids.popitem(last=False)
        return grid

    def clear(self):
        with self.lock:
            self.grids.clear()


CACHE_MAX_ZOOM = 13  # above it a view is a few streets: its own grid is read, not kept
BLOCK = 8  # cells a side of a kept block of the grid
POINTS_ZOOM = 14  # from here a view asks for its units first (few, as a rule), then for a grid
grids = _GridCache()


def freshness():
    """The latest history row of units, relapses and findings: one query of three index look-ups."""
    tables = [model.history.model._meta.db_table for model in (Enterprise, Relapse, Finding)]
    parts = ", ".join(f"(SELECT MAX(history_id) FROM {table})" for table in tables)  # nosec B608  # table names from _meta
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {parts}")  # nosec B608  # table names from _meta, no value in the text
        return tuple(cursor.fetchone())


def _kept_rows(units, key, size, box, today):
    """The grid rows of the cells a view's box touches, from the kept blocks of cells.

    The grid is kept in blocks of BLOCK × BLOCK cells; the blocks a view touches that are not kept
    yet are read in one grouped query over their joint box (a township's view reads a few
    townships' units once, the city's view the city's) and kept, empty ones too."""
    west, south, east, north = box
    low_x, high_x = math.floor((west + 180.0) / size), math.floor((east + 180.0) / size)
    low_y, high_y = math.floor((south + 90.0) / size), math.floor((north + 90.0) / size)
    blocks = [
        (bx, by)
        for bx in range(low_x // BLOCK, high_x // BLOCK + 1)
        for by in range(low_y // BLOCK, high_y // BLOCK + 1)
    ]
    found = {block: grids.peek((key, block)) for block in blocks}
    missing = [block for block, rows in found.items() if rows is None]
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
            grids.put((key, block), rows)
        found.update(read)
    return [
        row for rows in found.values() for row in rows if low_x <= row["cx"] <= high_x and low_y <= row["cy"] <= high_y
    ]


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
        rows = _kept_rows(units, (cache_key, freshness(), today, box.zoom), size, (west, south, east, north), today)
    else:
        rows = _grid(inside, size, today)
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
    rows = units.annotate(
        relapsed=ExpressionWrapper(Q(id__in=relapsed_units()), output_field=BooleanField()),
        overdue=ExpressionWrapper(Q(id__in=overdue_units(today)), output_field=BooleanField()),
    ).values_list("id", "name", "longitude", "latitude", "status", "relapsed", "overdue")
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
