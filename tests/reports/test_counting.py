"""The progress engine against the database: boundary cases, and SQL = the obvious Python count."""

import datetime
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reports.counts
from campaign.models import Township
from enterprises.models import Enterprise, Method, Rectification, Relapse, Status
from enterprises.services import rectification_record, relapse_record
from reports.counts import COUNTERS, LARGE, CombinedCounts, TownshipCounts, clear, overdue_counts, series_counts
from reports.progress import ReportError, progress_report
from tests.factories import make_campaign, make_township, make_unit, set_target
from tests.reports.reference import UnitHistory, count

D = datetime.date
pytestmark = pytest.mark.django_db


def rectify(unit, day, method=Method.CLOSED, area=None):
    return rectification_record(enterprise=unit, method=method, rectified_on=day, demolished_m2=area)


def relapse(unit, day):
    return relapse_record(enterprise=unit, found_on=day)


def row(report, name):
    return next(r for r in report.townships if r.name == name)


@pytest.fixture
def town(campaign):
    township = make_township("城关镇")
    set_target(campaign, township, 100)
    return township


def test_rectification_on_milestone_date_counts_that_day(campaign, town):
    units = [make_unit(town) for _ in range(30)]
    for unit in units[:29]:
        rectify(unit, D(2018, 3, 1))
    rectify(units[29], D(2018, 3, 31))
    on_the_day = row(progress_report(campaign, D(2018, 3, 31)), "城关镇")
    assert on_the_day.rectified == 30
    assert on_the_day.milestone_due == {
        "date": "2018-03-31",
        "percent": Decimal("30.00"),
        "required": 30,
        "met": True,
    }
    the_day_before = row(progress_report(campaign, D(2018, 3, 30)), "城关镇")
    assert the_day_before.rectified == 29
    assert the_day_before.milestone_due is None
    assert the_day_before.milestone_next["shortfall"] == 1
    assert the_day_before.milestone_next["days_left"] == 1


def test_target_raised_mid_quarter_judges_the_milestone_with_the_target_of_that_day(campaign, town):
    set_target(campaign, town, 200, effective_on=D(2018, 3, 15), reason="追加任务")
    units = [make_unit(town) for _ in range(50)]
    for unit in units[:40]:
        rectify(unit, D(2018, 2, 1))
    report = row(progress_report(campaign, D(2018, 4, 10)), "城关镇")
    assert report.target == 200
    # 30 % of 200 (the target in force on 03-31), not of 100: 40 < 60, missed.
    assert report.milestone_due["required"] == 60
    assert report.milestone_due["met"] is False
    assert report.milestone_next["required"] == 120
    assert report.rate == Decimal("20.00")
    before = row(progress_report(campaign, D(2018, 3, 14)), "城关镇")
    assert before.target == 100
    assert before.rate == Decimal("40.00")


def test_milestone_met_is_judged_with_the_count_of_the_milestone_date_not_today(campaign, town):
    units = [make_unit(town) for _ in range(40)]
    for unit in units[:10]:
        rectify(unit, D(2018, 3, 1))
    for unit in units[10:40]:
        rectify(unit, D(2018, 4, 5))
    report = row(progress_report(campaign, D(2018, 4, 30)), "城关镇")
    assert report.rectified == 40
    assert report.milestone_due["required"] == 30
    assert report.milestone_due["met"] is False  # only 10 by 03-31


def test_unit_identified_last_year_counts_when_rectified_this_year(campaign, town):
    unit = make_unit(town, identified_on=D(2017, 11, 20))
    rectify(unit, D(2018, 2, 1))
    before = row(progress_report(campaign, D(2018, 1, 31)), "城关镇")
    assert (before.identified, before.open, before.rectified) == (0, 1, 0)
    after = row(progress_report(campaign, D(2018, 2, 1)), "城关镇")
    assert (after.identified, after.open, after.rectified) == (0, 0, 1)


def test_unit_rectified_last_year_is_neither_rectified_nor_open_this_year(campaign, town):
    unit = make_unit(town, identified_on=D(2017, 5, 1))
    rectify(unit, D(2017, 9, 1))
    report = row(progress_report(campaign, D(2018, 6, 30)), "城关镇")
    assert (report.identified, report.open, report.rectified) == (0, 0, 0)
    # …until it relapses this year: open from the day found, counted when rectified again.
    relapse(unit, D(2018, 7, 1))
    assert row(progress_report(campaign, D(2018, 6, 30)), "城关镇").open == 0
    reopened = row(progress_report(campaign, D(2018, 7, 1)), "城关镇")
    assert (reopened.open, reopened.rectified) == (1, 0)
    rectify(unit, D(2018, 8, 1))
    again = row(progress_report(campaign, D(2018, 8, 1)), "城关镇")
    assert (again.open, again.rectified) == (0, 1)


def test_relapse_stops_counting_from_its_date_and_rerectification_counts_once(campaign, town):
    unit = make_unit(town)
    rectify(unit, D(2018, 2, 1))
    relapse(unit, D(2018, 5, 10))
    rectify(unit, D(2018, 6, 1))
    expected = {
        D(2018, 1, 31): (0, 1),
        D(2018, 2, 1): (1, 0),
        D(2018, 5, 9): (1, 0),
        D(2018, 5, 10): (0, 1),  # found on r: stops counting from r
        D(2018, 5, 31): (0, 1),
        D(2018, 6, 1): (1, 0),  # counts again from q2, once
        D(2018, 12, 31): (1, 0),
    }
    for day, (rectified, open_) in expected.items():
        r = row(progress_report(campaign, day), "城关镇")
        assert (r.rectified, r.open) == (rectified, open_), day
    assert Enterprise.objects.get(pk=unit.pk).status == Status.RECTIFIED


def test_relapse_and_rectification_on_the_same_day_leave_the_unit_rectified(campaign, town):
    unit = make_unit(town)
    rectify(unit, D(2018, 2, 1))
    relapse(unit, D(2018, 3, 1))
    rectify(unit, D(2018, 3, 1))  # found and shut again the same day
    r = row(progress_report(campaign, D(2018, 3, 1)), "城关镇")
    assert (r.rectified, r.open) == (1, 0)


def test_township_with_target_zero_has_no_rate_colour_or_rank(campaign, town):
    idle = make_township("石门乡")
    set_target(campaign, idle, 0)
    rectify(make_unit(idle), D(2018, 2, 1))
    report = progress_report(campaign, D(2018, 3, 31))
    zero = row(report, "石门乡")
    assert (zero.target, zero.rectified, zero.rate, zero.colour, zero.rank) == (0, 1, None, None, None)
    assert report.townships[-1].name == "石门乡"  # unranked townships come last
    assert zero.as_json()["rate"] is None


def test_ties_share_a_rank(campaign):
    names = ["甲镇", "乙镇", "丙镇", "丁镇"]
    plan = {"甲镇": 8, "乙镇": 5, "丙镇": 5, "丁镇": 2}
    for name in names:
        township = make_township(name)
        set_target(campaign, township, 10)
        for _ in range(plan[name]):
            rectify(make_unit(township), D(2018, 2, 1))
    report = progress_report(campaign, D(2018, 3, 31))
    assert {r.name: r.rank for r in report.townships} == {"甲镇": 1, "乙镇": 2, "丙镇": 2, "丁镇": 4}
    assert [r.rank for r in report.townships] == [1, 2, 2, 4]
    assert {r.name: r.colour for r in report.townships} == {
        "甲镇": "green",
        "乙镇": "green",
        "丙镇": "green",
        "丁镇": "yellow",  # 20.00 is exactly expected − band
    }


def test_equal_rate_ranks_the_larger_count_first(campaign):
    small, large = make_township("小镇"), make_township("大镇")
    set_target(campaign, small, 10)
    set_target(campaign, large, 20)
    rectify(make_unit(small), D(2018, 2, 1))
    for _ in range(2):
        rectify(make_unit(large), D(2018, 2, 1))
    report = progress_report(campaign, D(2018, 2, 1))
    assert [(r.name, r.rate, r.rank) for r in report.townships] == [
        ("大镇", Decimal("10.00"), 1),
        ("小镇", Decimal("10.00"), 2),
    ]


def test_last_day_of_the_year(campaign, town):
    rectify(make_unit(town), D(2018, 12, 31))
    r = progress_report(campaign, D(2018, 12, 31))
    assert r.city.rectified == 1
    assert r.city.expected_rate == Decimal("100.00")
    assert r.city.milestone_next is None
    assert r.city.milestone_due["date"] == "2018-12-31"


def test_custom_milestone_schedule():
    campaign = make_campaign("c2019", 2019, 100, milestones=[(2, 28, Decimal("50")), (10, 31, Decimal("90"))])
    town = make_township("桥头镇")
    set_target(campaign, town, 10)
    for _ in range(5):
        rectify(make_unit(town, identified_on=D(2019, 1, 2)), D(2019, 2, 28))
    r = row(progress_report(campaign, D(2019, 3, 1)), "桥头镇")
    assert r.milestone_due == {"date": "2019-02-28", "percent": Decimal("50.00"), "required": 5, "met": True}
    assert r.milestone_next["date"] == "2019-10-31"
    assert r.milestone_next["required"] == 9
    assert r.expected_rate == Decimal("50.16")  # 50 + 40 × 1/245


def test_city_row_uses_the_city_target_and_sums_townships(campaign, town):
    other = make_township("东城街道")
    set_target(campaign, other, 50)
    rectify(make_unit(town), D(2018, 2, 1))
    rectify(make_unit(other), D(2018, 2, 2), method=Method.DEMOLISHED, area=Decimal("120.5"))
    make_unit(other)
    r = progress_report(campaign, D(2018, 3, 31))
    assert r.city.target == 9000  # the city's own figure, not 100 + 50
    assert (r.city.rectified, r.city.open, r.city.identified) == (2, 1, 3)
    assert r.city.demolished_m2 == Decimal("120.50")
    assert r.city.rank is None
    assert r.city.rate == Decimal("0.02")


def test_city_target_revision_applies_from_its_date(campaign):
    from campaign.models import TargetRevision

    TargetRevision.objects.create(campaign=campaign, township=None, target=10000, effective_on=D(2018, 7, 1))
    assert progress_report(campaign, D(2018, 6, 30)).city.target == 9000
    assert progress_report(campaign, D(2018, 7, 1)).city.target == 10000


def test_soft_deleted_units_are_not_counted(campaign, town):
    unit = make_unit(town)
    rectify(unit, D(2018, 2, 1))
    Enterprise.objects.filter(pk=unit.pk).update(deleted_at=timezone.now())
    r = row(progress_report(campaign, D(2018, 3, 31)), "城关镇")
    assert (r.rectified, r.identified, r.open) == (0, 0, 0)


def test_report_outside_the_campaign_year_is_refused(campaign):
    with pytest.raises(ReportError):
        progress_report(campaign, D(2019, 1, 1))
    with pytest.raises(ReportError):
        progress_report(campaign, D(2017, 12, 31))


def test_report_for_a_past_day_ignores_later_events(campaign, town):
    """'As of' a date: what happened afterwards never leaks into it."""
    unit = make_unit(town)
    before = progress_report(campaign, D(2018, 5, 20)).as_json()
    rectify(unit, D(2018, 6, 1))
    relapse(unit, D(2018, 7, 1))
    make_unit(town, identified_on=D(2018, 6, 15))
    assert progress_report(campaign, D(2018, 5, 20)).as_json() == before


def test_ledger_balances_with_relapses_across_the_year_boundary(campaign, town):
    carried = make_unit(town, identified_on=D(2017, 10, 1))
    rectify(carried, D(2017, 12, 1))
    relapse(carried, D(2018, 3, 1))
    stock = make_unit(town, identified_on=D(2017, 12, 20))
    rectify(stock, D(2018, 1, 20))
    fresh = make_unit(town, identified_on=D(2018, 2, 2))
    rectify(fresh, D(2018, 2, 10))
    relapse(fresh, D(2018, 4, 1))
    rectify(fresh, D(2018, 5, 1))
    counts = row(progress_report(campaign, D(2018, 12, 31)), "城关镇").counts
    ledger = counts.ledger(D(2018, 1, 1), D(2018, 12, 31))
    assert ledger == {"open_start": 1, "identified": 1, "rectified": 3, "relapsed": 2, "open_end": 1}
    assert ledger["open_start"] + ledger["identified"] - ledger["rectified"] + ledger["relapsed"] == ledger["open_end"]


def test_query_count_does_not_grow_with_townships_or_units(campaign):
    def build(n_townships, n_units):
        for _ in range(n_townships):
            township = make_township()
            set_target(campaign, township, 20)
            for i in range(n_units):
                unit = make_unit(township, identified_on=D(2018, 1, 1 + i % 28))
                if i % 2:
                    rectify(unit, D(2018, 3, 1))

    build(2, 3)
    with CaptureQueriesContext(connection) as small:
        progress_report(campaign, D(2018, 6, 30)).as_json()
    build(10, 12)
    with CaptureQueriesContext(connection) as large:
        progress_report(campaign, D(2018, 6, 30)).as_json()
    # milestones, targets, the counts' versions, townships, and the three grouped counts
    assert len(small) == len(large) == 7
    # Asked again with nothing changed: the grouped counts come from the cache (reports/counts/cache.py).
    with CaptureQueriesContext(connection) as again:
        progress_report(campaign, D(2018, 6, 30)).as_json()
    assert len(again) == 4


# --- the SQL engine equals the obvious per-unit count, on random histories -------------------

START, END = D(2018, 1, 1), D(2018, 12, 31)
COUNT_TABLES = re.compile(r"enterprises_(unitday|periodday)")
days = st.one_of(st.just(0), st.integers(0, 60))


@st.composite
def histories(draw):
    units = []
    for _ in range(draw(st.integers(0, 12))):
        township = draw(st.sampled_from(["A", "B", "C"]))
        identified = draw(
            st.one_of(
                st.sampled_from([D(2017, 12, 31), D(2018, 1, 1), D(2018, 3, 31)]),  # the boundaries
                st.dates(D(2017, 10, 1), END),
            )
        )
        unit = UnitHistory(township=township, identified_on=identified)
        day, rectified_next = identified, True
        for _ in range(draw(st.integers(0, 5))):
            # a rectification may fall on the day of the relapse it follows; a relapse never
            # on the day of the rectification it re-opens
            gap = draw(days) + (0 if rectified_next else 1)
            day = day + datetime.timedelta(days=gap)
            if day > END:
                break
            if rectified_next:
                unit.rectified.append(day)
                unit.demolished[day] = draw(st.sampled_from([0, 0, 10, 55]))
            else:
                unit.relapsed.append(day)
            rectified_next = not rectified_next
        units.append(unit)
    return units


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    units=histories(),
    probes=st.lists(st.one_of(st.sampled_from([0, 89, 364]), st.integers(0, 364)), min_size=1, max_size=4),
)
def test_sql_counts_equal_the_reference_count(campaign, units, probes):
    Relapse.objects.all().delete()
    Rectification.objects.all().delete()
    Enterprise.objects.all().delete()
    townships = {name: Township.objects.get_or_create(name=f"{name}镇")[0] for name in "ABC"}
    for history in units:
        unit = make_unit(townships[history.township], identified_on=history.identified_on)
        events = sorted([(d, 0) for d in history.relapsed] + [(d, 1) for d in history.rectified])
        for day, kind in events:
            if kind:
                method = Method.DEMOLISHED if history.demolished[day] else Method.CLOSED
                rectify(unit, day, method=method, area=history.demolished[day])
            else:
                relapse(unit, day)

    for offset in probes:
        day = START + datetime.timedelta(days=offset)
        report = progress_report(campaign, day)
        for name, township in townships.items():
            expected = count(units, START, day, township=name)
            got = report.row_for(township.pk)
            if got is None:
                assert expected == {"identified": 0, "rectified": 0, "open": 0, "demolished_m2": 0}
                continue
            assert (got.identified, got.rectified, got.open, got.demolished_m2) == (
                expected["identified"],
                expected["rectified"],
                expected["open"],
                expected["demolished_m2"],
            ), (name, day)
            # the stock ledger balances, and its terms are the independently counted ones
            ledger = got.counts.ledger(START, day)
            mine = [u for u in units if u.township == name]
            eve = START - datetime.timedelta(days=1)
            assert ledger["open_start"] == sum(1 for u in mine if u.identified_on <= eve and not _rectified_on(u, eve))
            assert ledger["rectified"] == sum(1 for u in mine for d in u.rectified if START <= d <= day)
            assert ledger["relapsed"] == sum(1 for u in mine for d in u.relapsed if START <= d <= day)
            assert ledger["open_end"] == expected["open"]
            assert (
                ledger["open_start"] + ledger["identified"] - ledger["rectified"] + ledger["relapsed"]
                == ledger["open_end"]
            )
        # Any other day from the counts this report read (kept for the campaign's whole year): no
        # count query, and a later day's report seen at this day gives this day's figures.
        later = END if day < END else day
        with CaptureQueriesContext(connection) as asked:
            late = progress_report(campaign, later)
        assert not [q for q in asked.captured_queries if COUNT_TABLES.search(q["sql"])]
        for full in [report.city, *report.townships]:
            other = late.city if full.township_id is None else late.row_for(full.township_id)
            for probe in sorted({START + datetime.timedelta(days=o) for o in probes} | {day}):
                if probe <= day:
                    seen = other.counts.upto(day)
                    assert seen.ledger(START, probe) == full.counts.ledger(START, probe), (full.name, probe)
                    assert seen.demolished_by(probe) == full.counts.demolished_by(probe)
        series = series_counts(campaign, day)
        assert series.ledger(START, day) == report.city.counts.ledger(START, day)
        assert series.rectified_by(END) == report.city.rectified
        city = count(units, START, day)
        assert (report.city.identified, report.city.rectified, report.city.open) == (
            city["identified"],
            city["rectified"],
            city["open"],
        )


def test_a_reports_counts_stop_at_its_day_and_later_townships_are_not_in_it(campaign, town):
    unit = make_unit(town, identified_on=D(2018, 2, 1))
    rectify(unit, D(2018, 3, 5))
    relapse(unit, D(2018, 8, 1))
    later = make_township("后来镇")
    make_unit(later, identified_on=D(2018, 9, 1))

    june = progress_report(campaign, D(2018, 6, 30))
    counts = june.row_for(town.pk).counts
    # The counts run to the campaign's end (one read for every day), the figures stop at June 30.
    assert counts.rectified_by(D(2018, 6, 30)) == counts.rectified_by(D(2018, 12, 31)) == 1
    assert counts.open_on(D(2018, 12, 31)) == 0 and june.city.counts.relapses(START, END) == 0
    assert june.row_for(later.pk) is None and june.city.identified == 1
    december = progress_report(campaign, D(2018, 12, 31))
    assert december.row_for(town.pk).counts.rectified_by(D(2018, 12, 31)) == 0
    assert december.row_for(later.pk).identified == 1 and december.city.identified == 2


def test_counts_cached_inside_a_rolled_back_change_are_never_served(campaign, town):
    """A page read inside a transaction that is then rolled back leaves nothing a later page can hit."""
    from django.db import transaction

    make_unit(town, identified_on=D(2018, 2, 1))
    day = D(2018, 6, 30)
    assert progress_report(campaign, day).city.identified == 1

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        make_unit(town, identified_on=D(2018, 2, 2))
        assert progress_report(campaign, day).city.identified == 2
        raise Undo
    assert progress_report(campaign, day).city.identified == 1
    make_unit(town, identified_on=D(2018, 2, 3))  # a different change than the one rolled back
    assert progress_report(campaign, day).city.identified == 2
    clear()
    assert progress_report(campaign, day).city.identified == 2


def _rectified_on(unit, day):
    from tests.reports.reference import _state

    return _state(unit, day)[0]


# ---- prefix sums: binary search over running totals = the sum over the days, for any probe ----

_DAYS = st.dates(min_value=D(2017, 12, 1), max_value=D(2018, 12, 31))
_COUNTER = st.dictionaries(_DAYS, st.integers(min_value=-3, max_value=9), max_size=25)
_AREAS = st.dictionaries(_DAYS, st.decimals(min_value=0, max_value=999, places=2), max_size=10)


@st.composite
def township_counts(draw):
    counts = TownshipCounts(start=D(2018, 1, 1), opening_identified=draw(st.integers(0, 9)))
    counts.opening_rectified = draw(st.integers(0, counts.opening_identified))
    for name in ("identified", "rectified", "reopened", "reopened_carried"):
        setattr(counts, name, Counter(draw(_COUNTER)))
    counts.demolished, counts.demolished_reopened = Counter(draw(_AREAS)), Counter(draw(_AREAS))
    return counts


def _naive(counter, first, last):
    return sum(v for k, v in counter.items() if first <= k <= last)


def _figures(counts, probes):
    return [
        (
            counts.identified_by(day),
            counts.rectified_by(day),
            counts.rectified_state(day),
            counts.open_on(day),
            counts.demolished_by(day),
            counts.ledger(min(day, other), max(day, other)),
        )
        for day, other in probes
    ]


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(township_counts(), min_size=1, max_size=4), probes=st.lists(st.tuples(_DAYS, _DAYS), max_size=8))
def test_prefix_sums_and_the_combined_city_equal_plain_sums_over_the_days(parts, probes):
    first = parts[0]
    for day, other in probes:
        low, high = min(day, other), max(day, other)
        assert first.identified_by(day) == _naive(first.identified, D.min, day)
        assert first.demolished_by(day) == _naive(first.demolished, D.min, day) - _naive(
            first.demolished_reopened, D.min, day
        )
        assert first.rectified_events(low, high) == _naive(first.rectified, low, high)
        assert first.relapses(low, high) == _naive(first.reopened, low, high) + _naive(
            first.reopened_carried, low, high
        )
        if low < high:
            assert first.rectified_events(high, low) == 0 and first.relapses(high, low) == 0

    merged = TownshipCounts(start=first.start)
    for part in parts:
        merged.add(part)
    city = CombinedCounts(first.start, parts)
    assert _figures(city, probes) == _figures(merged, probes)
    # A counter read by name (a chart's daily series) is merged; figures read from it stay the same.
    assert city.rectified == merged.rectified and city.reopened == merged.reopened
    assert _figures(city, probes) == _figures(merged, probes)


def test_adding_counts_after_a_figure_was_read_updates_the_figures():
    counts = TownshipCounts(start=D(2018, 1, 1), rectified=Counter({D(2018, 2, 1): 2}))
    assert counts.rectified_by(D(2018, 3, 1)) == 2
    counts.add(TownshipCounts(start=D(2018, 1, 1), rectified=Counter({D(2018, 1, 5): 1, D(2018, 4, 1): 1})))
    assert counts.rectified_by(D(2018, 3, 1)) == 3
    assert counts.rectified_by(D(2018, 4, 1)) == 4


# --- the cache renews township by township (reports.counts.per_township) ---------------------


def _three_towns(campaign):
    towns = [make_township(f"增量镇{i}") for i in range(3)]
    for t in towns:
        set_target(campaign, t, 10)
        rectify(make_unit(t, identified_on=D(2018, 2, 1)), D(2018, 3, 1))
    return towns


def test_after_a_change_only_its_township_is_read_again(campaign):
    towns = _three_towns(campaign)
    day = D(2018, 6, 30)
    progress_report(campaign, day)  # every township read, and kept
    changed = towns[1]
    rectify(make_unit(changed, identified_on=D(2018, 4, 2)), D(2018, 5, 3))
    with CaptureQueriesContext(connection) as queries:
        report = progress_report(campaign, day).as_json()
    counted = [q["sql"] for q in queries if "_unitday" in q["sql"] or "_periodday" in q["sql"]]
    assert len(counted) == 3
    assert all(f"IN ({changed.pk})" in sql for sql in counted), counted
    assert row(progress_report(campaign, day), changed.name).rectified == 2
    clear()
    assert progress_report(campaign, day).as_json() == report


def _series_figures(counts, start, last):
    """Every figure of a day-by-day series on every day, and its counters without empty days."""
    days = [start + datetime.timedelta(days=i) for i in range((last - start).days + 1)]
    figures = [
        (counts.identified_by(d), counts.rectified_by(d), counts.open_on(d), counts.demolished_by(d), d) for d in days
    ]
    counters = {name: dict(getattr(counts, name)) for name in COUNTERS}  # dict: Counter == ignores zeros
    return figures, counters, counts.opening_identified, counts.opening_rectified


def test_the_city_series_after_a_change_reads_only_that_township_and_equals_a_full_read(campaign):
    towns = _three_towns(campaign)
    day = D(2018, 6, 30)
    before = _series_figures(series_counts(campaign, day), campaign.start, day)
    changed = towns[2]
    rectify(make_unit(changed, identified_on=D(2018, 4, 2)), D(2018, 5, 3))
    with CaptureQueriesContext(connection) as queries:
        renewed = series_counts(campaign, day)
    counted = [q["sql"] for q in queries if "_unitday" in q["sql"] or "_periodday" in q["sql"]]
    assert len(counted) == 3
    assert all(f"IN ({changed.pk})" in sql for sql in counted), counted
    after = _series_figures(renewed, campaign.start, day)
    assert after != before
    assert renewed.rectified_by(day) == 4 and renewed.identified_by(day) == 4
    clear()
    assert _series_figures(series_counts(campaign, day), campaign.start, day) == after


def test_only_a_few_large_answers_are_kept(campaign):
    _three_towns(campaign)
    # The city's series of three campaigns (each year's counts are one large answer, whatever the day).
    campaigns = [campaign, make_campaign("c2019", year=2019), make_campaign("c2020", year=2020)]
    for each in campaigns:
        series_counts(each, each.start + datetime.timedelta(days=90))
    # Each campaign's: its townships' day-by-day counts and the city's sum of them.
    assert len(reports.counts.cache._large) == LARGE == 4
    with CaptureQueriesContext(connection) as queries:
        series_counts(campaigns[-1], campaigns[-1].start + datetime.timedelta(days=200))  # kept: any day
    assert not [q for q in queries if "_unitday" in q["sql"]]
    assert not [key for key in reports.counts.cache._large if campaign.start in key]  # the oldest went first
    with CaptureQueriesContext(connection) as queries:
        series_counts(campaign, D(2018, 6, 30))  # dropped: read again
    assert len([q for q in queries if "_unitday" in q["sql"]]) == 1
    assert len(reports.counts.cache._large) == LARGE


def test_renewed_township_by_township_the_figures_equal_a_full_read_after_every_kind_of_write(campaign):
    """Create, rectify, relapse, delete, restore, move to another township: after each, the report
    built from kept and renewed townships equals the one read from scratch."""
    import random

    from enterprises.services import unit_delete, unit_undelete

    towns = _three_towns(campaign)
    day = D(2018, 6, 30)
    rng = random.Random(1)
    units = list(Enterprise.objects.filter(township__in=towns))
    done = Counter()
    for step in range(30):
        progress_report(campaign, day)  # read (and kept) before the write
        overdue_counts(day)
        series_counts(campaign, day)
        unit = rng.choice(units)
        action = rng.choice(["create", "rectify", "relapse", "delete", "move"])
        if action == "create":
            units.append(make_unit(rng.choice(towns), identified_on=D(2018, 1, 1) + datetime.timedelta(days=step)))
        elif action == "rectify" and unit.status != Status.RECTIFIED and unit.deleted_at is None:
            rectify(unit, D(2018, 3, 2) + datetime.timedelta(days=3 * step))
        elif action == "relapse" and unit.status == Status.RECTIFIED and unit.deleted_at is None:
            relapse(unit, D(2018, 3, 3) + datetime.timedelta(days=3 * step))
        elif action == "delete":
            if unit.deleted_at is None:
                unit_delete(enterprise=unit, user=None, reason="重复登记")
            else:
                action = "restore"
                unit_undelete(enterprise=unit, user=None)
        elif action == "move":
            Enterprise.objects.filter(pk=unit.pk).update(township=rng.choice(towns), village=None)
        else:
            continue
        done[action] += 1
        units = [Enterprise.objects.get(pk=u.pk) for u in units]
        kept = progress_report(campaign, day).as_json()
        kept_overdue = dict(overdue_counts(day))
        kept_series = _series_figures(series_counts(campaign, day), campaign.start, day)
        clear()
        assert progress_report(campaign, day).as_json() == kept, (step, action)
        assert overdue_counts(day) == kept_overdue
        assert _series_figures(series_counts(campaign, day), campaign.start, day) == kept_series, (step, action)
    assert set(done) == {"create", "rectify", "relapse", "delete", "restore", "move"}, done
