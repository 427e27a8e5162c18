"""挂图作战 in real headless Chromium: the map drawn from a local tile server the test starts, grid
cells for the city, units for a township, a click that opens a unit, the outlines without tiles,
and "使用我的位置" on the unit form with an emulated position (docs/map.md)."""

import datetime
import io
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from campaign.models import Outline
from enterprises.models import Enterprise
from enterprises.services import rectification_record, relapse_record
from inspections.services import finding_record, inspection_record
from reports import maps
from tests.browser.conftest import CHROMIUM_ARGS, PageWatch  # noqa: F401 - the watch every page gets
from tests.factories import make_township, make_unit, make_user, make_village

D = datetime.date
TODAY = D(2018, 6, 30)
PASSWORD = "map-2018"
PHONE_390 = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def _tile_png():
    image = Image.new("RGB", (256, 256), (222, 234, 226))
    for x in range(0, 256, 32):
        for y in range(256):
            image.putpixel((x, y), (190, 205, 196))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class TileServer:
    """A tiny tile server: the same generated PNG for every /{z}/{x}/{y}.png, and the paths it served."""

    def __init__(self):
        png = _tile_png()
        served = self.served = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                served.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tiles(settings):
    server = TileServer()
    settings.MAP_TILE_URL = server.origin + "/{z}/{x}/{y}.png"
    settings.MAP_TILE_CRS = "wgs84"
    settings.MAP_TILE_ATTRIBUTION = "测试瓦片"
    yield server
    server.close()


@pytest.fixture
def map_city(transactional_db, campaign, frozen_today, settings, monkeypatch):
    """Two townships of 40 units each, placed around their centres, in every status; a city admin."""
    frozen_today(TODAY)
    settings.MAP_TILE_URL = ""
    monkeypatch.setattr(maps, "POINTS_MAX", 50)  # the city's 80 units as cells, a township's 40 as units
    east, west = make_township("东城街道"), make_township("西山镇")
    for town, (lng, lat) in ((east, (120.70, 28.00)), (west, (120.80, 28.02))):
        village = make_village(town, f"{town.name[:2]}一村")
        for i in range(40):
            unit = make_unit(
                town,
                D(2018, 1, 5),
                name=f"{town.name[:2]}作坊{i:02d}",
                village=village,
                longitude=Decimal(f"{lng + (i % 8) * 0.004:.6f}"),
                latitude=Decimal(f"{lat + (i // 8) * 0.003:.6f}"),
                status="in_progress" if i % 7 == 3 else "open",
            )
            if i % 4 == 1:
                rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 3, 1))
            if i % 8 == 5:
                relapse_record(enterprise=unit, found_on=D(2018, 4, 1))
        ring = [
            [lng - 0.01, lat - 0.01],
            [lng + 0.04, lat - 0.01],
            [lng + 0.04, lat + 0.025],
            [lng - 0.01, lat + 0.025],
        ]
        Outline.objects.create(
            township=town,
            geometry={"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            west=lng - 0.01,
            south=lat - 0.01,
            east=lng + 0.04,
            north=lat + 0.025,
        )
    # One unit of 西山镇 with a finding past its deadline: ringed on the map.
    overdue = Enterprise.objects.get(name="西山作坊17")
    inspector = make_user("ducha", role="inspector")
    inspection = inspection_record(
        kind="unannounced", inspected_on=D(2018, 5, 2), team="市督查组", township=west, units=[overdue], user=inspector
    )
    finding_record(
        inspection=inspection, kind="not_done", description="未整改", deadline=D(2018, 5, 20), enterprise=overdue
    )
    make_user("shiban", role="city_admin", password=PASSWORD, first_name="市整治办")
    make_user("xishan", role="township_staff", township=west, password=PASSWORD)
    return {"east": east, "west": west}


def open_page(browser, live_server, viewport, allowed=(), **context_options):
    """A page that fails its test on a request outside the test server and ``allowed``, or on a CSP
    violation (as the suite's own page fixtures do)."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live_server.url, **context_options)
    page = context.new_page()
    watch = PageWatch(live_server.url)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.console_errors.append(str(exc)))

    def on_request(request):
        if not any(request.url.startswith(origin) for origin in allowed):
            watch.on_request(request)

    page.on("request", on_request)
    page.watch = watch
    return context, page


def check(page):
    assert page.watch.outside_requests == [], page.watch.outside_requests
    assert page.watch.csp_violations == [], page.watch.csp_violations
    assert page.watch.console_errors == [], page.watch.console_errors


def login(page, username):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" not in page.url, "login failed"


def wait_drawn(page):
    page.wait_for_selector("#unit-map[data-state=ready]")
    page.wait_for_load_state("networkidle")


def test_the_city_map_on_tiles_then_a_township_then_a_unit(browser, live_server, map_city, tiles, screenshot):
    context, page = open_page(browser, live_server, DESKTOP, allowed=(tiles.origin,))
    try:
        login(page, "shiban")
        page.goto("/map/")
        wait_drawn(page)
        assert len(tiles.served) > 0 and all(p.endswith(".png") for p in tiles.served)
        assert page.locator("#unit-map").get_attribute("data-mode") == "cells"
        assert page.locator("#unit-map").get_attribute("data-total") == "80"
        cells = page.locator(".map-cell")
        assert cells.count() >= 2
        counts = [int(t) for t in page.locator(".map-cell-count").all_inner_texts()]
        assert sum(counts) == 80
        assert [int(t) for t in page.locator(".map-cell-overdue").all_inner_texts()] == [1]
        assert page.locator(".leaflet-tile-loaded").count() > 0
        screenshot(page, "map-city-desktop")

        # One township (the register's filter): few enough units to be drawn one by one.
        page.goto(f"/map/?township={map_city['west'].pk}")
        wait_drawn(page)
        assert page.locator("#unit-map").get_attribute("data-mode") == "points"
        points = page.locator("path.unit-point")
        assert points.count() == 40
        assert page.locator("path.unit-point.status-relapsed").count() == 5
        assert page.locator("path.unit-point.status-rectified").count() == 5
        screenshot(page, "map-township-desktop")

        # A click on a unit opens it.
        page.locator("path.unit-point.overdue").click()
        page.wait_for_load_state("networkidle")
        assert "/units/" in page.url
        assert page.locator("h1").inner_text().startswith("西山作坊17")
        assert page.locator("[data-position]").inner_text().startswith("经度")
        check(page)
    finally:
        context.close()


# The centre of a cell well inside the map (one at its edge may lie under the page around it).
INSIDE_CELL = """() => {
  const map = document.getElementById("unit-map").getBoundingClientRect();
  for (const cell of document.querySelectorAll(".map-cell")) {
    const r = cell.getBoundingClientRect();
    if (r.left > map.left + 50 && r.right < map.right - 10 && r.top > map.top + 10 && r.bottom < map.bottom - 10
        && r.bottom < window.innerHeight) {
      return [r.left + r.width / 2, r.top + r.height / 2];
    }
  }
  throw new Error("no cell inside the map");
}"""


def test_a_click_on_a_cell_zooms_in_until_units_show(browser, live_server, map_city, tiles):
    context, page = open_page(browser, live_server, DESKTOP, allowed=(tiles.origin,))
    try:
        login(page, "shiban")
        page.goto("/map/")
        wait_drawn(page)
        for _attempt in range(6):
            if page.locator("#unit-map").get_attribute("data-mode") == "points":
                break
            page.mouse.click(*page.evaluate(INSIDE_CELL))
            page.wait_for_timeout(800)  # the zoom's animation, then the new view's data
            wait_drawn(page)
        assert page.locator("#unit-map").get_attribute("data-mode") == "points"
        check(page)
    finally:
        context.close()


def test_township_staff_on_a_phone_without_tiles_see_outlines_and_their_units(
    browser, live_server, map_city, screenshot
):
    context, page = open_page(browser, live_server, PHONE_390, has_touch=True, is_mobile=True)
    try:
        login(page, "xishan")
        page.goto("/map/")
        wait_drawn(page)
        assert page.locator("#unit-map").get_attribute("data-total") == "40"
        assert page.locator(".map-grid-tile").count() > 0  # the plain grid instead of tiles
        page.wait_for_selector("path.leaflet-interactive:not(.unit-point)")  # the township's outline
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_390["width"], f"page is {width}px wide"
        screenshot(page, "map-township-phone")
        check(page)
    finally:
        context.close()


def test_use_my_position_fills_the_unit_form(browser, live_server, map_city, screenshot):
    context, page = open_page(
        browser,
        live_server,
        PHONE_390,
        has_touch=True,
        is_mobile=True,
        geolocation={"latitude": 28.0123456, "longitude": 120.6543219, "accuracy": 12},
        permissions=["geolocation"],
    )
    try:
        login(page, "xishan")
        page.goto("/units/new/")
        button = page.get_by_role("button", name="使用我的位置")
        assert button.is_visible()
        button.click()
        page.wait_for_function("document.querySelector('[data-position=lat]').value !== ''")
        assert page.locator("input[name=longitude]").input_value() == "120.654322"
        assert page.locator("input[name=latitude]").input_value() == "28.012346"
        assert "精度约 12 米" in page.locator("[data-position-status]").inner_text()
        screenshot(page, "unit-form-position-phone")
        page.fill("input[name=name]", "定位测试作坊")
        page.fill("input[name=address]", "西山路1号")
        page.locator("input[name=defects][value=unsafe]").check()
        page.fill("input[name=watcher_name]", "赵村干")
        page.get_by_role("button", name="保存").click()
        page.wait_for_load_state("networkidle")
        unit = Enterprise.objects.get(name="定位测试作坊")
        assert (unit.longitude, unit.latitude, unit.watcher_name) == (
            Decimal("120.654322"),
            Decimal("28.012346"),
            "赵村干",
        )
        check(page)
    finally:
        context.close()
