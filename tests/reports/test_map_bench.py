"""The bench's map rows (demo/management/commands/bench.py ``_map``) and the synthetic city's
positions (demo/benchmark.py): every unit placed around its township's centre, and the rows timed."""

import pytest
from django.test import override_settings

from campaign.models import Township
from demo import benchmark
from demo.management.commands.bench import MAP_CITY_MS, MAP_TOWNSHIP_MS, PAGE_MS, Command
from enterprises.models import Enterprise
from reports import maps

pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_city(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    maps.grids.clear()
    benchmark.build(units=600, out=lambda *_: None)
    yield
    maps.grids.clear()


def test_every_synthetic_unit_has_a_position_in_its_townships_box(bench_city):
    townships = list(Township.objects.filter(name__startswith="基准").order_by("pk"))
    assert not Enterprise.objects.filter(longitude__isnull=True).exists()
    for index, township in enumerate(townships):
        lng, lat = benchmark.township_centre(index, len(townships))
        box = Enterprise.objects.filter(township=township)
        assert box.exists()
        for unit in box:
            assert abs(float(unit.longitude) - lng) <= benchmark.MAP_SPREAD + 1e-6
            assert abs(float(unit.latitude) - lat) <= benchmark.MAP_SPREAD + 1e-6


def test_a_city_built_before_positions_gets_them_once_when_reused(bench_city):
    Enterprise.objects.update(longitude=None, latitude=None)
    assert benchmark.add_positions(out=lambda *_: None) is True
    assert not Enterprise.objects.filter(longitude__isnull=True).exists()
    assert benchmark.add_positions(out=lambda *_: None) is False


def test_the_map_rows_are_timed_with_their_targets(bench_city):
    command = Command()
    command.units, command.townships, command.page_ms = 600, 30, PAGE_MS[100_000]
    command.stdout.write = lambda *_: None
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        rows = {row.what: row for row in command._map(command._client(), runs=1)}
    assert rows["map data, city (grid cells)"].target == MAP_CITY_MS == 150
    assert rows["map data, a township (grid cells)"].target == MAP_TOWNSHIP_MS == 50
    assert rows["map page, city"].target == PAGE_MS[100_000]
    # Kept grids: a view of the city costs fewer queries than the first one after a change (the
    # changed units and their cells), which costs more than a full read (the cells are counted again).
    kept, after = rows["map data, city (grid cells)"], rows["map data, city (grid cells), right after a change"]
    full = rows["map data, city (grid cells), first view of a day (read in full)"]
    assert kept.queries < full.queries < after.queries
    assert all(row.queries and row.median > 0 for row in rows.values())
