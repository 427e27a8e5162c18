"""make bench at a toy scale: the synthetic city is consistent and every measured page answers."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from campaign.models import Demonstration, IndicatorRecord, Park
from demo import benchmark
from enterprises.credit_code import credit_code_error
from enterprises.models import Enterprise, LandParcel, ParkEntry, TaxReturn
from inspections.models import Finding, Lookback
from reports import counts
from reports.progress import progress_report
from reports.scorecard import scorecard

pytestmark = pytest.mark.django_db

FILTERS = (
    "status rectified, unsafe",
    "status in progress (no unit)",
    "method demolished",
    "source complaint",
    "one village",
    "no licence",
    "no environmental measures",
    "no legal premises: no",
    "industry",
    "premises",
    "identified in March",
    "rectified in June",
    "township, open, no licence, unsafe",
    "method closed, source complaint, identified in the first half",
    "village, rectified in the third quarter, no legal premises",
)
SEARCHES = (
    "a common 2-character term (五金)",
    "a 1-character term (坊)",
    "an absent 2-character term (无此)",
    "an absent 6-character term (无此单位名称)",
)


def _rows(text):
    """{what: [median, p95, queries, target, ratio…]} of the table's rows."""
    found = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| what "):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            found[cells[0]] = cells[1:]
    return found


def test_the_benchmark_builds_a_consistent_city_and_times_every_page(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    docs = tmp_path / "docs"
    (docs / "bench").mkdir(parents=True)
    vendor = connection.vendor
    # Figures "saved" at a tenth of the scale: the table gets the ratio column against them.
    earlier = {"units": 60, "townships": 30, "rows": [{"key": "dashboard", "median": 2.0}]}
    (docs / "bench" / f"{vendor}-60-30.json").write_text(json.dumps(earlier), encoding="utf-8")
    out = io.StringIO()
    call_command(
        "bench", "--units", "600", "--runs", "1", "--import-rows", "0", "--build-here", "--docs", str(docs), stdout=out
    )
    text = out.getvalue()
    rows = _rows(text)

    assert Enterprise.objects.count() == 600 and Finding.objects.exists() and Lookback.objects.exists()
    assert counts.differences() == []
    report = progress_report(benchmark.build(units=600, out=lambda *_: None), benchmark.AS_OF)
    assert report.city.identified > 0 and report.city.rectified > 0
    for name in ("dashboard", "township page", "register, first page", "unit detail", "progress JSON"):
        assert name in rows
    assert "weekly notice .docx" in rows and "raw full-scan aggregate (BI tool)" in rows

    def queries(name):
        return int(rows[name][2])

    # After a change in one township a report page reads that township again, not everything.
    for page in ("dashboard", "township page", "progress JSON"):
        warm = queries(page)
        changed = queries(f"{page}, right after a change in one township")
        cold = queries(f"{page}, nothing cached")
        assert warm <= changed <= cold, (page, warm, changed, cold)
        # At a day no request asked for before: the counts are kept, only that day is read.
        assert warm <= queries(f"{page}, any day") <= cold, page
    assert queries("dashboard") < queries("dashboard, right after a change in one township")
    # The first visit after a change in the township shown reads that township's figures again.
    own = queries("township page, right after a change in its own township")
    assert own > queries("township page, right after a change in one township"), own
    assert queries("villages of a township (its page's part), right after its own change") >= 1

    for name in FILTERS:
        assert queries(f"register, {name}") >= queries("register, first page"), name
    for name in SEARCHES:
        assert queries(f"register, search {name}") >= queries("register, first page"), name
    piece = benchmark.name_piece(600)
    assert len(piece) == 6 and f"register, search 6 characters of a name ({piece})" in rows
    code_row = next(name for name in rows if name.startswith("register, search the first 14 characters"))
    assert Enterprise.objects.filter(credit_code__startswith=code_row[-15:-1]).exists()

    # The whole register's export: in full, to its first piece, and in a process (here: this one).
    for fmt in ("xlsx", "csv"):
        full = rows[f"export .{fmt}, whole register (600 rows)"]
        first = rows[f"export .{fmt}, whole register, first piece"]
        assert 0 < float(first[0]) <= float(full[0]) and 0 < int(first[2]) < int(full[2])
        own = next(name for name in rows if name.startswith(f"export .{fmt}, whole register, in this process: peak "))
        assert int(own.split("peak ")[1].split(" MB")[0]) > 0 and float(rows[own][0]) > 0 and int(rows[own][2]) > 0
    assert "rows a second: .xlsx" in text
    # Every row but the import's (none here) has its query count.
    assert all(cells[2].isdigit() for cells in rows.values())

    # Written where --docs says: the table between its markers, its figures as JSON, and the ratio
    # of each row's median to the figures of a tenth of the units.
    assert "| what | median ms | p95 ms | queries | target ms | 600/60 |" in text
    dashboard = rows["dashboard"]
    assert float(dashboard[4].split()[0]) == pytest.approx(float(dashboard[0]) / 2.0, abs=0.03)
    written = (docs / "performance.md").read_text(encoding="utf-8")
    assert f"<!-- bench:{vendor}:600:start -->" in written and "| dashboard, any day |" in written
    saved = json.loads((docs / "bench" / f"{vendor}-600-30.json").read_text(encoding="utf-8"))
    assert saved["units"] == 600 and saved["townships"] == 30
    assert saved["summary"]["days_asked"] == 3 * 3  # three report pages, a day of its own for each request
    assert {"dashboard", "dashboard, any day", "register, search a 1-character term"} <= {
        r["key"] for r in saved["rows"]
    }

    # The synthetic units: seven in ten with a valid credit code, every source, several industries.
    codes = list(Enterprise.objects.exclude(credit_code="").values_list("credit_code", flat=True))
    assert 0.6 * 600 < len(codes) < 0.8 * 600 and all(credit_code_error(code) is None for code in codes)
    assert set(Enterprise.objects.values_list("source", flat=True)) == {"screening", "complaint", "inspection"}
    assert Enterprise.objects.filter(status="rectified", rectifications__method="demolished").exists()

    # One synthetic city per database: another shape or scale is refused, not mixed in.
    with pytest.raises(benchmark.OtherCity):
        benchmark.build(units=600, townships=40, out=lambda *_: None)

    # The 赛马 scorecard: twelve indicators over the 30 townships, as many records as units.
    campaign = benchmark.build(units=600, out=lambda *_: None)
    card = scorecard(campaign, benchmark.AS_OF)
    assert len(card.indicators) == 13 and all(len(c.townships) == 30 for c in card.indicators)
    assert IndicatorRecord.objects.filter(indicator__campaign=campaign).count() == 600
    assert Park.objects.exists() and ParkEntry.objects.filter(rectification__isnull=False).exists()
    assert LandParcel.objects.exists() and Demonstration.objects.filter(designated_on__isnull=False).exists()
    assert all(c.city.value > 0 for c in card.indicators) and len(card.ranking) == 30
    for name in ("scorecard JSON", "scorecard JSON, any day", "dashboard with the scorecard"):
        assert rows[name][3].split()[0] == "50", name  # the target at 100,000 units and below
    warm, cold = queries("scorecard JSON"), queries("scorecard JSON, nothing cached")
    assert warm <= queries("scorecard JSON, any day") <= cold and warm < cold
    assert queries("dashboard with the scorecard") == queries("dashboard")
    assert saved["summary"]["scorecard_days_asked"] == 3  # a day of its own for each request
    assert {"scorecard JSON", "scorecard JSON, nothing cached", "dashboard with the scorecard"} <= {
        r["key"] for r in saved["rows"]
    }


def test_a_benchmark_city_built_before_the_addition_gets_it_once():
    campaign = benchmark.build(units=300, out=lambda *_: None)
    # As a database built before the 加法 side was: none of it.
    IndicatorRecord.objects.all().delete()
    campaign.indicators.all().delete()
    ParkEntry.objects.all().delete()
    TaxReturn.objects.all().delete()  # the parcels' tax returns protect them
    LandParcel.objects.all().delete()
    Demonstration.objects.all().delete()
    Park.objects.all().delete()
    said = []

    again = benchmark.build(units=300, out=said.append)

    assert again == campaign and any(line.startswith("加法: 12 indicators") for line in said)
    before = [IndicatorRecord.objects.count(), Park.objects.count(), ParkEntry.objects.count()]
    assert before == [300, 30 * benchmark.PARKS_EACH, round(300 * benchmark.ENTRIES_PER_UNIT)]
    said.clear()
    benchmark.build(units=300, out=said.append)
    assert [IndicatorRecord.objects.count(), Park.objects.count(), ParkEntry.objects.count()] == before
    assert not any("加法" in line for line in said)


def test_the_random_days_never_repeat_and_never_ask_for_the_cached_day():
    start = datetime.date(benchmark.YEAR, 1, 1)
    days = benchmark.Days(start)
    drawn = [days.next() for _ in range((benchmark.AS_OF - start).days)]
    assert len(set(drawn)) == len(drawn) and min(drawn) == start and max(drawn) < benchmark.AS_OF
    assert drawn != sorted(drawn)
    with pytest.raises(RuntimeError):
        days.next()


def test_the_province_shape_names_its_townships_apart():
    names = [benchmark.township_name(i, 1300) for i in range(1300)]
    assert len(set(names)) == 1300 and names[0] == "基准0001街道" and names[-1] == "基准1300镇"
    assert benchmark.township_name(29) == "基准30镇" and benchmark.slug(1_000_000, 1300) == "bench-1000000-1300"
