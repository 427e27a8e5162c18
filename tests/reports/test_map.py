"""挂图作战: the map's data for a view (grid cells or units), its page, the outlines and their import,
and the WGS-84 ⇄ GCJ-02 conversion (reports/maps.py, reports/map_views.py, core/geo.py; docs/map.md)."""

import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from campaign.models import Outline
from core import geo
from enterprises.models import Enterprise, Rectification
from enterprises.services import rectification_record, relapse_record
from inspections.services import finding_record, inspection_record
from reports import maps
from tests.factories import make_township, make_unit, make_user, make_village

D = datetime.date
TODAY = D(2018, 6, 30)
CITY_BOX = "119.5,27.5,121.5,28.5"


@pytest.fixture(autouse=True)
def map_urls(settings, monkeypatch):
    settings.MAP_TILE_URL = ""
    settings.MAP_TILE_CRS = "wgs84"
    # No history ids looked at again below a stamp (PostgreSQL's is tested on its own below): the
    # query counts are the same on both databases.
    monkeypatch.setattr(maps, "_lookback", lambda: 0)
    maps.grids.clear()  # ids start again after a rolled-back test: a grid kept by another must not answer
    yield
    maps.grids.clear()


@pytest.fixture
def city(campaign, frozen_today):
    """Two townships around (120.70, 28.00) and (120.90, 28.00): in 东城 five open units (one with an
    overdue finding), two rectified, one in progress, one relapsed and one without a position; in 西山
    three open units."""
    frozen_today(TODAY)
    east, west = make_township("东城街道"), make_township("西山镇")
    village = make_village(east, "东门村")
    units = {}

    def unit(town, name, lng, lat, **kwargs):
        units[name] = make_unit(town, D(2018, 1, 5), name=name, longitude=Decimal(lng), latitude=Decimal(lat), **kwargs)
        return units[name]

    for i in range(5):
        unit(east, f"东城作坊{i}", f"120.70{i}", "28.001", village=village)
    for i in range(2):
        rectification_record(
            enterprise=unit(east, f"东城已整治{i}", f"120.71{i}", "28.002"), method="closed", rectified_on=D(2018, 3, 1)
        )
    unit(east, "东城整治中", "120.720", "28.003", status="in_progress")
    relapsed = unit(east, "东城复燃", "120.730", "28.004")
    rectification_record(enterprise=relapsed, method="closed", rectified_on=D(2018, 2, 1))
    relapse_record(enterprise=relapsed, found_on=D(2018, 4, 1))
    make_unit(east, D(2018, 1, 5), name="东城无位置")
    for i in range(3):
        unit(west, f"西山作坊{i}", f"120.90{i}", "28.000")
    inspector = make_user("ducha", role="inspector")
    target = units["东城作坊0"]
    inspection = inspection_record(
        kind="unannounced", inspected_on=D(2018, 5, 2), team="市督查组", township=east, units=[target], user=inspector
    )
    finding_record(
        inspection=inspection, kind="not_done", description="未整改", deadline=D(2018, 5, 20), enterprise=target
    )
    return {"east": east, "west": west, "village": village, "units": units}


def admin_client(client):
    client.force_login(make_user("shizhengzhiban", role="city_admin"))
    return client


def data(client, bbox=CITY_BOX, zoom=9, **filters):
    response = client.get(reverse("maps:data"), {"bbox": bbox, "zoom": zoom, **filters})
    assert response.status_code == 200, response.content
    return response.json()


# --- grid cells and units ------------------------------------------------------------------------


def test_few_units_in_view_come_one_by_one_with_status_and_overdue(client, city):
    answer = data(admin_client(client))
    assert answer["mode"] == "points" and answer["total"] == 12
    by_name = {p["name"]: p for p in answer["points"]}
    assert "东城无位置" not in by_name
    assert by_name["东城作坊0"] == {
        "id": city["units"]["东城作坊0"].pk,
        "name": "东城作坊0",
        "lng": 120.7,
        "lat": 28.001,
        "status": "open",
        "overdue": True,
    }
    statuses = {name: p["status"] for name, p in by_name.items()}
    assert statuses["东城已整治0"] == "rectified"
    assert statuses["东城整治中"] == "rectifying"
    assert statuses["东城复燃"] == "relapsed"
    assert statuses["东城作坊1"] == "open" and not by_name["东城作坊1"]["overdue"]


def test_many_units_in_view_come_as_cells_with_counts_per_status(client, city, monkeypatch):
    monkeypatch.setattr(maps, "POINTS_MAX", 5)
    answer = data(admin_client(client), zoom=9)
    assert answer["mode"] == "cells" and answer["points"] == []
    cells = answer["cells"]
    assert sum(c["n"] for c in cells) == answer["total"] == 12
    assert len(cells) == 2  # each township within one cell of 90/512 degrees at zoom 9
    east = max(cells, key=lambda c: c["n"])
    assert {k: east[k] for k in ("n", "open", "rectifying", "rectified", "relapsed", "overdue")} == {
        "n": 9, "open": 5, "rectifying": 1, "rectified": 2, "relapsed": 1, "overdue": 1,
    }  # fmt: skip
    assert 120.70 < east["lng"] < 120.74 and 28.0 < east["lat"] < 28.01
    # Zoomed in, cells are smaller: the township's units split into more cells.
    finer = data(client, bbox="120.69,27.99,120.74,28.01", zoom=16)
    assert finer["mode"] == "cells" and len(finer["cells"]) > 2


def test_the_view_box_bounds_what_is_sent(client, city):
    answer = data(admin_client(client), bbox="120.85,27.9,121.0,28.1", zoom=12)
    assert sorted(p["name"] for p in answer["points"]) == ["西山作坊0", "西山作坊1", "西山作坊2"]


def test_the_registers_filters_narrow_the_map(client, city):
    client = admin_client(client)
    assert {p["name"] for p in data(client, status="rectified")["points"]} == {"东城已整治0", "东城已整治1"}
    assert {p["name"] for p in data(client, township=city["west"].pk)["points"]} == {f"西山作坊{i}" for i in range(3)}
    assert len(data(client, village=city["village"].pk)["points"]) == 5
    assert [p["name"] for p in data(client, q="复燃")["points"]] == ["东城复燃"]


def test_township_staff_see_their_own_township_only(client, city, monkeypatch):
    client.force_login(make_user("xishan", role="township_staff", township=city["west"]))
    answer = data(client)
    assert {p["name"] for p in answer["points"]} == {f"西山作坊{i}" for i in range(3)}
    # A forged filter for another township is refused, not answered.
    assert (
        client.get(reverse("maps:data"), {"bbox": CITY_BOX, "zoom": 9, "township": city["east"].pk}).status_code == 400
    )
    monkeypatch.setattr(maps, "POINTS_MAX", 1)
    cells = data(client)["cells"]
    assert sum(c["n"] for c in cells) == 3


@pytest.mark.parametrize(
    "params",
    [
        {"zoom": 9},
        {"bbox": "1,2,3", "zoom": 9},
        {"bbox": "a,b,c,d", "zoom": 9},
        {"bbox": "121,27,120,28", "zoom": 9},
        {"bbox": "nan,27,121,28", "zoom": 9},
        {"bbox": CITY_BOX, "zoom": 30},
        {"bbox": CITY_BOX, "zoom": "x"},
        {"bbox": CITY_BOX, "zoom": 9, "status": "nonsense"},
        {"bbox": CITY_BOX, "zoom": 9, "township": "99999999999999999999"},
    ],
)
def test_a_bad_view_or_filter_is_a_clear_400(client, city, params):
    response = admin_client(client).get(reverse("maps:data"), params)
    assert response.status_code == 400
    assert response.json()["error"] in ("地图范围参数无效", "筛选条件有误")


def test_the_map_needs_a_login(client, city):
    for name in ("maps:page", "maps:data", "maps:outlines"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_gcj02_tiles_get_converted_positions_and_send_converted_boxes(client, city, settings):
    settings.MAP_TILE_CRS = "gcj02"
    stored = (120.9, 28.0)
    shown = geo.wgs84_to_gcj02(*stored)
    # A box drawn tightly around the shown (GCJ-02) position finds the unit stored in WGS-84.
    box = f"{shown[0] - 0.0005},{shown[1] - 0.0005},{shown[0] + 0.0005},{shown[1] + 0.0005}"
    answer = data(admin_client(client), bbox=box, zoom=18)
    assert [p["name"] for p in answer["points"]] == ["西山作坊0"]
    assert (answer["points"][0]["lng"], answer["points"][0]["lat"]) == (round(shown[0], 6), round(shown[1], 6))
    assert answer["crs"] == "gcj02"
    # The same box in WGS-84 would miss it: the shift is hundreds of metres.
    settings.MAP_TILE_CRS = "wgs84"
    assert data(client, bbox=box, zoom=18)["points"] == []


# --- query counts --------------------------------------------------------------------------------


def test_query_counts_do_not_grow_with_units(client, city, monkeypatch, django_assert_num_queries):
    client = admin_client(client)
    # The session, the user with its role, the industries and premises the filters offer, the
    # data's freshness, the grid unless kept (one grouped query: its units by status, relapsed and
    # with an overdue finding), and for few units the units with their marks.
    with django_assert_num_queries(7):
        data(client)
    with django_assert_num_queries(6):
        data(client)  # the grid is kept
    monkeypatch.setattr(maps, "POINTS_MAX", 5)
    with django_assert_num_queries(5):
        data(client)
    for i in range(30):
        make_unit(city["west"], D(2018, 1, 5), name=f"西山加{i}", longitude=Decimal("120.95"), latitude=Decimal("28"))
    with django_assert_num_queries(9):
        answer = data(client)  # new units: the units changed (three queries) and their cells counted again
    assert answer["total"] == 42
    with django_assert_num_queries(5):
        data(client)
    # Zoomed in past CACHE_MAX_ZOOM (POINTS_ZOOM here): the units are asked first, then, too many, the
    # view's own grid; a view that holds few is its units alone.
    assert maps.CACHE_MAX_ZOOM + 1 == maps.POINTS_ZOOM
    with django_assert_num_queries(6):
        assert data(client, bbox="120.6,27.9,121.0,28.1", zoom=maps.POINTS_ZOOM)["mode"] == "cells"
    with django_assert_num_queries(5):
        assert data(client, bbox="120.699,28.0,120.702,28.002", zoom=maps.POINTS_ZOOM)["mode"] == "points"


def test_a_kept_grid_follows_every_change_of_what_it_counts(client, city, monkeypatch):
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 2)

    def west_cell():
        return next(c for c in data(client)["cells"] if c["lng"] > 120.85)

    assert west_cell()["open"] == 3
    unit = city["units"]["西山作坊0"]
    rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 5, 1))
    assert (west_cell()["open"], west_cell()["rectified"]) == (2, 1)
    relapse_record(enterprise=unit, found_on=D(2018, 6, 1))
    assert (west_cell()["relapsed"], west_cell()["rectified"]) == (1, 0)
    unit.refresh_from_db()
    unit.longitude = Decimal("120.705")
    unit.save()
    assert west_cell()["n"] == 2
    inspection = inspection_record(
        kind="unannounced", inspected_on=D(2018, 5, 2), team="市督查组", township=city["west"], units=[], user=None
    )
    finding_record(inspection=inspection, kind="not_done", description="未整改", deadline=D(2018, 6, 1),
                   enterprise=city["units"]["西山作坊1"])  # fmt: skip
    assert west_cell()["overdue"] == 1


def full_read(client):
    """The answer for the city view read with nothing kept."""
    maps.grids.clear()
    return data(client)


def test_a_patched_grid_equals_a_full_read_after_each_kind_of_change(client, city, monkeypatch):
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 2)
    for zoom in (9, 12, 13):  # cells of several sizes, each kept in blocks
        data(client, zoom=zoom)
    units = city["units"]
    rectification_record(enterprise=units["西山作坊0"], method="closed", rectified_on=D(2018, 5, 1))
    relapse_record(enterprise=units["东城已整治0"], found_on=D(2018, 6, 1))
    moved = units["东城作坊3"]
    moved.refresh_from_db()
    moved.longitude, moved.latitude = Decimal("120.95"), Decimal("28.05")  # to a cell of its own
    moved.save()
    make_unit(city["west"], D(2018, 1, 5), name="西山新", longitude=Decimal("120.905"), latitude=Decimal("28.0"))
    gone = units["西山作坊2"]
    gone.refresh_from_db()
    gone.deleted_at = gone.updated_at
    gone.save()
    inspection = inspection_record(
        kind="unannounced", inspected_on=D(2018, 5, 2), team="市督查组", township=city["east"], units=[], user=None
    )
    finding_record(inspection=inspection, kind="not_done", description="未整改", deadline=D(2018, 6, 1),
                   enterprise=units["东城整治中"])  # fmt: skip
    for zoom in (9, 12, 13):
        patched = data(client, zoom=zoom)
        assert patched == full_read_at(client, zoom), zoom


def full_read_at(client, zoom):
    maps.grids.clear()
    return data(client, zoom=zoom)


def test_a_write_elsewhere_costs_a_kept_block_no_count(client, city, monkeypatch, django_assert_num_queries):
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 2)
    east_view = "120.69,27.99,120.74,28.01"
    before = data(client, bbox=east_view, zoom=13)
    far = make_unit(city["west"], D(2018, 1, 5), name="远处", longitude=Decimal("121.4"), latitude=Decimal("28.4"))
    assert far.pk
    # The session, the user, the filters' choices, the freshness and the changed units' positions
    # (three): the view's blocks hold no changed cell, so nothing is counted again.
    with django_assert_num_queries(8):
        assert data(client, bbox=east_view, zoom=13) == before


def test_too_many_changes_read_the_grid_in_full(client, city, monkeypatch, django_assert_num_queries):
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 2)
    monkeypatch.setattr(maps, "PATCH_MAX", 3)
    data(client)
    for i in range(4):
        make_unit(city["west"], D(2018, 1, 5), name=f"西山批{i}", longitude=Decimal("120.91"), latitude=Decimal("28"))
    with django_assert_num_queries(7):  # the freshness, the changed units (too many), the grid in full
        answer = data(client)
    assert answer == full_read(client)
    assert answer["total"] == 16


def test_a_kept_block_is_read_in_full_after_its_time(client, city, monkeypatch, django_assert_num_queries):
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 2)
    data(client)
    clock = maps.time.monotonic()
    monkeypatch.setattr(maps.time, "monotonic", lambda: clock + maps.KEPT_SECONDS + 1)
    with django_assert_num_queries(6):  # nothing changed, but the blocks are old: read in full
        data(client)
    with django_assert_num_queries(5):
        data(client)


def test_a_unit_written_without_history_that_moves_makes_the_grid_read_in_full(client, city, monkeypatch):
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 2)
    # As the demo city writes its units: in bulk, with no history of their creation.
    (bare,) = Enterprise.objects.bulk_create(
        [
            Enterprise(
                name="无历史",
                township=city["west"],
                identified_on=D(2018, 1, 5),
                unlicensed=True,
                longitude=Decimal("120.901"),
                latitude=Decimal("28.0"),
            )
        ]
    )
    maps.grids.clear()
    before = data(client, zoom=13)
    bare.refresh_from_db()
    bare.longitude, bare.latitude = Decimal("121.3"), Decimal("28.4")  # its first history row: the new place
    bare.save()
    after = data(client, zoom=13)
    assert after == full_read_at(client, 13)
    assert sum(cell["n"] for cell in after["cells"]) == sum(cell["n"] for cell in before["cells"])


def test_a_rectification_corrected_moves_a_unit_in_or_out_of_a_method_filter(client, city, monkeypatch):
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 0)  # cells however few: the kept grid answers
    closed = data(client, method="closed")["total"]
    rectification = Rectification.objects.filter(enterprise=city["units"]["东城已整治0"]).get()
    rectification.method = "demolished"
    rectification.demolished_m2 = Decimal("10")
    units_history = Enterprise.history.count()
    rectification.save()  # the unit's current method follows by trigger; its own row leaves no history
    assert Enterprise.history.count() == units_history
    assert data(client, method="closed")["total"] == closed - 1
    assert data(client, method="demolished")["total"] == 1
    assert data(client, method="closed")["mode"] == "cells"


def _late_write(client, city):
    """A unit moved, then the kept blocks stamped past its write by hand, as a view would have stamped
    them between its write and its commit (counted before, stamped after), then a later write."""
    data(client, zoom=13)
    late = city["units"]["西山作坊1"]
    late.refresh_from_db()
    late.longitude, late.latitude = Decimal("121.3"), Decimal("28.4")
    late.save()
    stamp = maps.freshness()
    for key, kept in list(maps.grids.grids.items()):
        maps.grids.grids[key] = maps.Kept(stamp, kept.read_at, kept.rows)
    make_unit(city["east"], D(2018, 1, 5), name="后写", longitude=Decimal("120.75"), latitude=Decimal("28.05"))


def test_a_write_that_commits_after_a_later_one_is_still_counted(client, city, monkeypatch):
    """On PostgreSQL a history row's id is handed out when it is written: a write that commits after
    a later one carries an id below a stamp taken in between."""
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 2)
    _late_write(client, city)
    monkeypatch.setattr(maps, "_lookback", lambda: 4)
    assert data(client, zoom=13) == full_read_at(client, 13)


def test_without_looking_back_the_late_write_would_be_missed(client, city, monkeypatch):
    """The test above fails as it should when no history id is looked at again."""
    client = admin_client(client)
    monkeypatch.setattr(maps, "POINTS_MAX", 2)
    _late_write(client, city)
    assert data(client, zoom=13) != full_read_at(client, 13)


def test_postgresql_looks_back_and_sqlite_does_not(monkeypatch):
    monkeypatch.undo()  # the module's own _lookback
    from django.db import connection

    assert maps._lookback() == (maps.LOOKBACK if connection.vendor == "postgresql" else 0)


def test_the_page_query_count_is_pinned(client, city, django_assert_num_queries):
    client = admin_client(client)
    client.get(reverse("maps:page"))
    for i in range(30):
        make_unit(city["west"], D(2018, 1, 5), name=f"西山加{i}", longitude=Decimal("120.95"), latitude=Decimal("28"))
    # The session, the user; the filters' industries, premises, townships and villages; the townships
    # whose outlines are drawn; the data's freshness, and the units' count and extent unless kept.
    with django_assert_num_queries(9):
        response = client.get(reverse("maps:page"))
    assert response.status_code == 200
    assert config_of(response)["extent"]["total"] == 43
    with django_assert_num_queries(8):
        client.get(reverse("maps:page"))


# --- the page ------------------------------------------------------------------------------------


def config_of(response):
    html = response.content.decode()
    return json.loads(html.split('<script id="map-config" type="application/json">', 1)[1].split("</script>", 1)[0])


def test_the_page_for_the_city_a_township_and_a_village(client, city):
    client = admin_client(client)
    response = client.get(reverse("maps:page"))
    html = response.content.decode()
    assert "vendor/leaflet/leaflet.js" in html and "js/unit-map.js" in html
    assert "符合条件的 13 家单位中，12 家已标注位置。" in html
    config = config_of(response)
    assert config["extent"]["box"] == [120.7, 28.0, 120.902, 28.004]
    assert config["tiles"] == {"url": "", "crs": "wgs84", "attribution": "", "max_zoom": 18}
    assert config["unit"] == "/units/{id}/"
    assert f"township={city['east'].pk}" in config["outlines"] and f"township={city['west'].pk}" in config["outlines"]
    one = config_of(client.get(reverse("maps:page"), {"township": city["west"].pk}))
    assert one["extent"] == {"total": 3, "placed": 3, "box": [120.9, 28.0, 120.902, 28.0]}
    assert one["data"].endswith(f"?township={city['west'].pk}")
    village = config_of(client.get(reverse("maps:page"), {"village": city["village"].pk}))
    assert village["extent"]["placed"] == 5 and village["outlines"].endswith(f"?village={city['village'].pk}")


def test_a_tile_server_is_allowed_by_the_pages_policy(client, city, settings):
    settings.MAP_TILE_URL = "http://tiles.example.internal:8088/{z}/{x}/{y}.png"
    response = admin_client(client).get(reverse("maps:page"))
    policy = response["Content-Security-Policy"]
    assert "img-src" in policy and "http://tiles.example.internal:8088" in policy
    other = client.get(reverse("enterprises:list"))
    assert "tiles.example.internal" not in other["Content-Security-Policy"]


# --- outlines ------------------------------------------------------------------------------------


def square(west, south, size=0.05):
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def geojson(tmp_path, features, name="边界.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def test_import_outlines_and_serve_them_in_scope(client, city, tmp_path):
    path = geojson(
        tmp_path,
        [
            {"type": "Feature", "properties": {"乡镇街道": "东城街道"}, "geometry": square(120.68, 27.98)},
            {"type": "Feature", "properties": {"乡镇街道": "西山镇"}, "geometry": square(120.88, 27.98)},
            {
                "type": "Feature",
                "properties": {"township": "东城街道", "village": "东门村"},
                "geometry": {"type": "MultiPolygon", "coordinates": [square(120.69, 27.99, 0.01)["coordinates"]]},
            },
        ],
    )
    out = io.StringIO()
    call_command("import_outlines", str(path), stdout=out)
    assert "已导入 2 个乡镇（街道）、1 个村（社区）的边界" in out.getvalue()
    east = Outline.objects.get(township=city["east"])
    assert (east.west, east.south, east.east, east.north) == (120.68, 27.98, pytest.approx(120.73), 28.03)
    call_command("import_outlines", str(path), stdout=io.StringIO())  # again: replaced, not added
    assert Outline.objects.count() == 3

    url = reverse("maps:outlines")
    client.force_login(make_user("xishan", role="township_staff", township=city["west"]))
    got = client.get(url, {"township": [city["east"].pk, city["west"].pk], "village": city["village"].pk}).json()
    assert [f["properties"]["name"] for f in got["features"]] == ["西山镇"]
    admin = admin_client(client)
    got = admin.get(url, {"township": [city["east"].pk, city["west"].pk], "village": city["village"].pk}).json()
    assert sorted(f["properties"]["name"] for f in got["features"]) == ["东城街道", "东门村", "西山镇"]


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        (
            {"properties": {"乡镇街道": "无此镇"}, "geometry": square(120, 28)},
            "第2个要素：系统中没有乡镇（街道）“无此镇”",
        ),
        (
            {"properties": {"乡镇街道": "东城街道", "村社区": "无此村"}, "geometry": square(120, 28)},
            "东城街道没有村（社区）“无此村”",
        ),
        ({"properties": {}, "geometry": square(120, 28)}, "第2个要素：属性中缺少“乡镇街道”"),
        (
            {"properties": {"乡镇街道": "西山镇"}, "geometry": {"type": "Point", "coordinates": [1, 2]}},
            "几何类型应为 Polygon 或 MultiPolygon",
        ),
        ({"properties": {"乡镇街道": "西山镇"}, "geometry": square(3000000, 28)}, "坐标超出范围"),
        (
            {"properties": {"乡镇街道": "东城街道"}, "geometry": square(120, 28)},
            "第2个要素（东城街道）：与前面的要素重复",
        ),
    ],
)
def test_a_bad_outline_file_writes_nothing(city, tmp_path, feature, message):
    good = {"type": "Feature", "properties": {"乡镇街道": "东城街道"}, "geometry": square(120.68, 27.98)}
    path = geojson(tmp_path, [good, {"type": "Feature", **feature}])
    with pytest.raises(CommandError, match=message):
        call_command("import_outlines", str(path), stdout=io.StringIO())
    assert not Outline.objects.exists()


def test_an_outline_file_that_is_not_geojson(city, tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text("{not json", "utf-8")
    with pytest.raises(CommandError, match="不是有效的 GeoJSON"):
        call_command("import_outlines", str(path))
    with pytest.raises(CommandError, match="无法读取文件"):
        call_command("import_outlines", str(tmp_path / "missing.geojson"))


# --- WGS-84 ⇄ GCJ-02 -----------------------------------------------------------------------------

# Published reference points: googollee/eviltransform's tests (Shanghai, Shenzhen, Beijing) and
# coordtransform's (Beijing), WGS-84 → GCJ-02 as (lng, lat).
REFERENCE = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
]


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_wgs84_to_gcj02_matches_the_published_points(wgs, gcj):
    assert geo.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_gcj02_to_wgs84_inverts_it(wgs, gcj):
    assert geo.gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=1e-8)


def test_gcj02_to_wgs84_matches_gcoords_published_point():
    # hujiulong/gcoord: GCJ02 → WGS84 of (123, 45), to 5 decimals.
    assert geo.gcj02_to_wgs84(123, 45) == pytest.approx((122.99395597, 44.99804071), abs=1e-5)


def test_outside_china_nothing_moves():
    assert geo.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert geo.gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)
    assert geo.to_display("wgs84", Decimal("120.1"), Decimal("30.2")) == (120.1, 30.2)
