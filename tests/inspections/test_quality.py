"""Quality figures (inspections/quality.py): findings opened/closed/overdue, look-back relapse rate, 零四无."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enterprises.models import Method
from enterprises.services import rectification_record, relapse_record, unit_delete
from inspections import services
from inspections.models import CHECKLIST_FIELDS, FindingKind, Kind, Lookback
from inspections.quality import overdue_findings, quality_report
from tests.factories import make_campaign, make_township, make_unit, make_user
from tests.inspections import evidence

D = datetime.date
pytestmark = pytest.mark.django_db
ALL_TICKED = dict.fromkeys(CHECKLIST_FIELDS, True)


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 12, 31))


@pytest.fixture
def staff(db):
    return make_user("staff", role="township_staff")


@pytest.fixture
def checker(db):
    return make_user("checker", role="city_admin")


def rectify(unit, day, method=Method.CLOSED):
    return rectification_record(enterprise=unit, method=method, rectified_on=day)


def finding(township, found_on, deadline, unit=None, kind=FindingKind.NOT_DONE):
    inspection = services.inspection_record(kind=Kind.RANDOM, inspected_on=found_on, team="督查组", township=township)
    return services.finding_record(
        inspection=inspection, kind=kind, description="问题", deadline=deadline, enterprise=unit or make_unit(township)
    )


def rectified_and_closed(found, rectified_on, closed_on, staff, checker):
    services.finding_rectified(finding=found, rectified_on=rectified_on, note="", photos=evidence.photos(), user=staff)
    services.finding_verify(finding=found, passed=True, closed_on=closed_on, note="", user=checker)


def lookback(unit, due_on):
    period = unit.rectifications.filter(reopened_on__isnull=True).first() or rectify(unit, D(2018, 1, 15))
    return Lookback.objects.create(
        rectification=period, enterprise=unit, township=unit.township, offset_days=None, due_on=due_on
    )


def check(lb, day, operating=False, checklist=ALL_TICKED):
    return services.lookback_check(lookback=lb, checked_on=day, operating=operating, checklist=checklist)


def report_row(campaign, township, start, end):
    (row,) = quality_report(campaign, start, end, townships=[township])
    return row


APRIL = (D(2018, 4, 1), D(2018, 4, 30))


def test_findings_opened_closed_overdue_unresolved_per_township_and_period(campaign, staff, checker):
    town, other = make_township("城关镇"), make_township("东岗镇")
    finding(town, D(2018, 3, 20), D(2018, 4, 5))  # before the period, overdue at its end
    in_time = finding(town, D(2018, 4, 10), D(2018, 4, 25))
    rectified_and_closed(in_time, D(2018, 4, 20), D(2018, 4, 22), staff, checker)
    finding(town, D(2018, 4, 15), D(2018, 5, 15))  # open, not due yet
    late_fix = finding(town, D(2018, 4, 2), D(2018, 4, 10))
    services.finding_rectified(finding=late_fix, rectified_on=D(2018, 5, 3), note="", user=staff)  # after the period
    finding(town, D(2018, 5, 2), D(2018, 5, 20))  # after the period
    march = finding(town, D(2018, 3, 1), D(2018, 3, 10))
    rectified_and_closed(march, D(2018, 3, 9), D(2018, 4, 3), staff, checker)  # closed in the period
    finding(other, D(2018, 4, 10), D(2018, 4, 12))

    rows = {row.township: row for row in quality_report(campaign, *APRIL, townships=[town, other])}
    mine = rows[town]
    assert (mine.opened, mine.closed, mine.overdue, mine.unresolved) == (3, 2, 2, 3)
    theirs = rows[other]
    assert (theirs.opened, theirs.closed, theirs.overdue, theirs.unresolved) == (1, 0, 1, 1)
    # Seen from May: the late fix is no longer overdue, the March finding long closed.
    may = report_row(campaign, town, D(2018, 5, 1), D(2018, 5, 31))
    assert (may.opened, may.closed, may.overdue, may.unresolved) == (1, 0, 3, 4)


def test_overdue_count_on_29_february(frozen_today):
    frozen_today(D(2020, 3, 31))
    campaign = make_campaign("c2020", 2020)
    town = make_township("闰年镇")
    unit = make_unit(town, identified_on=D(2020, 1, 5))
    found = finding(town, D(2020, 1, 31), D(2020, 2, 29), unit=unit)
    assert report_row(campaign, town, D(2020, 2, 1), D(2020, 2, 29)).overdue == 0
    assert report_row(campaign, town, D(2020, 3, 1), D(2020, 3, 1)).overdue == 1
    assert list(overdue_findings(D(2020, 3, 1), township=town)) == [found]
    assert not overdue_findings(D(2020, 2, 29)).exists()


def test_relapse_rate_among_lookbacks(campaign):
    town = make_township("城关镇")
    units = [make_unit(town) for _ in range(5)]
    check(lookback(units[0], D(2018, 4, 1)), D(2018, 4, 3), operating=True)
    check(lookback(units[1], D(2018, 4, 1)), D(2018, 4, 4))
    check(lookback(units[2], D(2018, 4, 1)), D(2018, 4, 30))
    check(lookback(units[3], D(2018, 4, 1)), D(2018, 5, 2), operating=True)  # checked after the period
    lookback(units[4], D(2018, 4, 1))  # not checked
    row = report_row(campaign, town, *APRIL)
    assert (row.checked, row.relapsed, row.failed) == (3, 1, 0)
    assert row.relapse_rate == Decimal("33.33")
    assert report_row(campaign, town, D(2018, 6, 1), D(2018, 6, 30)).relapse_rate is None


def test_failed_lookbacks_count_as_checked_not_relapsed(campaign):
    town = make_township("城关镇")
    check(lookback(make_unit(town), D(2018, 4, 1)), D(2018, 4, 3), checklist={**ALL_TICKED, "water_cut": False})
    check(lookback(make_unit(town), D(2018, 4, 1)), D(2018, 4, 3))
    row = report_row(campaign, town, *APRIL)
    assert (row.checked, row.relapsed, row.failed, row.relapse_rate) == (2, 0, 1, Decimal("0.00"))


# --- 零四无 demonstration -------------------------------------------------------------------------

JUNE = (D(2018, 6, 1), D(2018, 6, 30))  # clean_days 90: the window is 04-02 .. 06-30


@pytest.fixture
def clean_town(staff, checker):
    """Every unit rectified, its look-back passed, its finding closed off."""
    town = make_township("示范镇")
    units = [make_unit(town) for _ in range(3)]
    for unit in units:
        rectify(unit, D(2018, 2, 1))
    check(lookback(units[0], D(2018, 5, 1)), D(2018, 5, 2))
    found = finding(town, D(2018, 3, 1), D(2018, 3, 15), unit=units[1])
    rectified_and_closed(found, D(2018, 3, 10), D(2018, 3, 12), staff, checker)
    return town


def test_clean_township_is_eligible(campaign, clean_town):
    row = report_row(campaign, clean_town, *JUNE)
    assert row.eligible and row.reasons == []
    assert (row.open_units, row.unresolved, row.relapses_recent, row.lookbacks_pending_late) == (0, 0, 0, 0)


def test_an_open_unit_bars_the_title(campaign, clean_town):
    make_unit(clean_town, identified_on=D(2018, 6, 30))
    row = report_row(campaign, clean_town, *JUNE)
    assert not row.eligible and row.reasons == ["open_units"] and row.open_units == 1
    # Identified after the period's end: not open yet on that day.
    assert report_row(campaign, clean_town, D(2018, 6, 1), D(2018, 6, 29)).eligible


def test_a_unit_from_last_year_still_open_bars_the_title(campaign, clean_town):
    make_unit(clean_town, identified_on=D(2017, 11, 1))
    assert report_row(campaign, clean_town, *JUNE).reasons == ["open_units"]


def test_a_relapse_within_the_clean_period_bars_the_title(campaign, clean_town):
    unit = clean_town.enterprises.first()
    relapse_record(enterprise=unit, found_on=D(2018, 4, 2))  # the window's first day
    rectify(unit, D(2018, 4, 3))
    row = report_row(campaign, clean_town, *JUNE)
    assert row.reasons == ["relapses"] and row.relapses_recent == 1


def test_a_relapse_before_the_clean_period_does_not(campaign, clean_town):
    unit = clean_town.enterprises.first()
    relapse_record(enterprise=unit, found_on=D(2018, 4, 1))  # the day before the window
    rectify(unit, D(2018, 4, 3))
    assert report_row(campaign, clean_town, *JUNE).eligible


def test_clean_period_is_the_citys(campaign, clean_town):
    unit = clean_town.enterprises.first()
    relapse_record(enterprise=unit, found_on=D(2018, 4, 1))
    rectify(unit, D(2018, 4, 3))
    settings = services.settings_for(campaign)
    settings.clean_days = 180
    settings.save()
    assert report_row(campaign, clean_town, *JUNE).reasons == ["relapses"]


def test_a_failed_lookback_bars_the_title(campaign, clean_town, staff, checker):
    unit = clean_town.enterprises.last()
    check(lookback(unit, D(2018, 6, 1)), D(2018, 6, 2), checklist={**ALL_TICKED, "products_cleared": False})
    assert report_row(campaign, clean_town, *JUNE).reasons == ["lookbacks", "findings"]
    # Even with its finding closed off, the failed look-back stands within the clean period.
    raised = unit.findings.get()
    rectified_and_closed(raised, D(2018, 6, 5), D(2018, 6, 6), staff, checker)
    assert report_row(campaign, clean_town, *JUNE).reasons == ["lookbacks"]


def test_a_relapsed_lookback_bars_the_title(campaign, clean_town):
    unit = clean_town.enterprises.last()
    check(lookback(unit, D(2018, 6, 1)), D(2018, 6, 2), operating=True)
    reasons = report_row(campaign, clean_town, *JUNE).reasons
    assert reasons == ["open_units", "lookbacks", "relapses", "findings"]


def test_a_lookback_overdue_and_unchecked_bars_the_title(campaign, clean_town):
    lb = lookback(clean_town.enterprises.last(), D(2018, 6, 10))
    assert report_row(campaign, clean_town, *JUNE).reasons == ["lookbacks"]
    assert report_row(campaign, clean_town, D(2018, 6, 1), D(2018, 6, 10)).eligible  # due on the last day
    check(lb, D(2018, 6, 20))
    assert report_row(campaign, clean_town, *JUNE).eligible


def test_an_unresolved_finding_bars_the_title(campaign, clean_town, staff):
    found = finding(clean_town, D(2018, 6, 1), D(2018, 6, 20), unit=clean_town.enterprises.first())
    assert report_row(campaign, clean_town, *JUNE).reasons == ["findings"]
    services.finding_rectified(finding=found, rectified_on=D(2018, 6, 5), note="", user=staff)
    assert report_row(campaign, clean_town, *JUNE).reasons == ["findings"]  # not closed off yet


def test_report_lists_active_townships_by_default(campaign):
    make_township("乙镇")
    make_township("甲镇")
    make_township("停用镇", is_active=False)
    names = [row.township.name for row in quality_report(campaign, *APRIL)]
    assert sorted(names) == sorted(["乙镇", "甲镇"])


# --- the cost does not grow with the townships ----------------------------------------------------


def _populate(count, staff, checker, prefix):
    townships = []
    for i in range(count):
        town = make_township(f"{prefix}{i:02d}镇")
        units = [make_unit(town) for _ in range(3)]
        rectify(units[0], D(2018, 2, 1))
        rectify(units[1], D(2018, 2, 1))
        check(lookback(units[0], D(2018, 4, 1)), D(2018, 4, 3), operating=i % 2 == 0)
        lookback(units[1], D(2018, 4, 1))
        found = finding(town, D(2018, 4, 5), D(2018, 4, 10), unit=units[2])
        if i % 3 == 0:
            rectified_and_closed(found, D(2018, 4, 8), D(2018, 4, 9), staff, checker)
        townships.append(town)
    return townships


def _queries(campaign, townships):
    with CaptureQueriesContext(connection) as captured:
        rows = quality_report(campaign, *APRIL, townships=townships)
        [(row.relapse_rate, row.eligible) for row in rows]
    return len(captured), rows


def test_query_count_does_not_grow_with_townships(campaign, staff, checker, django_assert_max_num_queries):
    services.settings_for(campaign)
    few = _populate(3, staff, checker, "甲")
    small, rows = _queries(campaign, few)
    assert [row.checked for row in rows] == [1, 1, 1]
    many = few + _populate(17, staff, checker, "乙")
    with django_assert_max_num_queries(small):
        rows = quality_report(campaign, *APRIL, townships=many)
        figures = [(row.relapse_rate, row.eligible, row.overdue, row.opened) for row in rows]
    assert len(figures) == 20
    assert sum(row.relapsed for row in rows) == 2 + 9
    assert {row.overdue for row in rows} == {0, 1, 2}  # its finding, and a relapse finding
    with django_assert_max_num_queries(small + 1):
        rows = quality_report(campaign, *APRIL)  # the active townships, read in one more query
    assert len(rows) == 20


def test_an_unchecked_lookback_made_moot_by_a_relapse_does_not_bar_the_title(campaign, clean_town):
    unit = clean_town.enterprises.last()
    lookback(unit, D(2018, 3, 20))  # never checked; the relapse was found otherwise, before the clean period
    relapse_record(enterprise=unit, found_on=D(2018, 4, 1))
    rectify(unit, D(2018, 4, 3))
    assert report_row(campaign, clean_town, *JUNE).eligible


def test_a_deleted_unit_takes_its_relapse_and_lookbacks_with_it(campaign, clean_town, checker):
    unit = make_unit(clean_town)
    check(lookback(unit, D(2018, 6, 1)), D(2018, 6, 2), operating=True)
    assert report_row(campaign, clean_town, *JUNE).reasons == ["open_units", "lookbacks", "relapses", "findings"]
    unit_delete(enterprise=unit, user=checker, reason="重复登记")
    unit.findings.update(deleted_at=unit.deleted_at)
    row = report_row(campaign, clean_town, *JUNE)
    assert row.eligible and (row.checked, row.relapsed, row.relapses_recent) == (0, 0, 0)
