"""Query counts of the inspection list and report pages, pinned at two data sizes: a page that
ran one query per row (N+1) would need more at the larger size and fail here."""

import datetime
import re

import pytest
from django.urls import reverse

from enterprises.models import Method
from enterprises.services import rectification_record
from inspections import services
from inspections.models import CrossAssignment, CrossRound, FindingKind, Kind, Severity
from tests.factories import make_campaign, make_township, make_unit, make_user

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2018, 6, 30)


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(TODAY)


def build(n):
    """``n`` inspections over three townships, each with one unit and one finding (every third
    serious, so it plans a follow-up), ``n`` rectified units sampled for look-backs, and one
    reconciliation per township; township B inspects A in a round that is on."""
    campaign = make_campaign()
    towns = [make_township("东城街道"), make_township("西城街道"), make_township("南湖镇")]
    inspector = make_user("ducha", role="inspector")
    staff = make_user("xicheng", role="township_staff", township=towns[1])
    admin = make_user("guanli", role="city_admin")
    for i in range(n):
        town = towns[i % 3]
        unit = make_unit(town, owner="张三", phone="13905710001")
        inspection = services.inspection_record(
            kind=Kind.RANDOM, inspected_on=D(2018, 6, 1), team="督查组", township=town, units=[unit], user=inspector
        )
        services.finding_record(
            inspection=inspection,
            enterprise=unit,
            kind=FindingKind.NOT_DONE,
            severity=Severity.SERIOUS if i % 3 == 0 else Severity.NORMAL,
            description="问题",
            deadline=D(2018, 6, 15) if i % 2 else D(2018, 7, 15),
            user=inspector,
        )
        done = make_unit(town)
        rectification_record(enterprise=done, method=Method.CLOSED, rectified_on=D(2018, 3, 1), user=admin)
    for town in towns:
        services.lookback_draw(campaign=campaign, township=town, as_of=TODAY, seed=3, user=inspector)
        services.reconciliation_open(township=town, user=admin)
    services.lookbacks_schedule(campaign=campaign, as_of=TODAY, user=inspector)
    round_ = CrossRound.objects.create(
        campaign=campaign, name="第一轮", held_on=D(2018, 6, 1), ends_on=D(2018, 7, 31), seed=1
    )
    assignment = CrossAssignment.objects.create(round=round_, inspecting=towns[1], inspected=towns[0])
    return {"admin": admin, "staff": staff, "inspector": inspector, "assignment": assignment}


# Per page, for a city admin: session, the user with their role and township (one query,
# core/backends.py) and the page's own queries.
PAGES = {
    # filter form townships, planned follow-ups, paginator count, page rows
    "inspections:list": ({}, "admin", 6),
    # filter form townships, counts, paginator count, page rows
    "inspections:findings": ({}, "admin", 6),
    # paginator count, page rows, recent draws
    "inspections:lookbacks": ({}, "admin", 5),
    # paginator count, page rows
    "inspections:rounds": ({}, "admin", 4),
    "inspections:reconciliations": ({}, "admin", 4),
    # campaign; quality_report's 11 (townships, settings, 9 grouped counts: relapses in the period and in
    # the clean window are one); settings shown; the villages (none here: tests/inspections/
    # test_quality_villages.py pins the page with villages); campaigns
    "inspections:quality": ({}, "admin", 16),
}


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("name", sorted(PAGES))
def test_list_and_report_pages_do_not_grow_with_the_data(client, django_assert_num_queries, name, n):
    world = build(n)
    query, who, expected = PAGES[name]
    client.force_login(world[who])
    with django_assert_num_queries(expected):
        response = client.get(reverse(name), query)
    assert response.status_code == 200
    # Every cell says what it is, so the row reads as a card on a phone.
    assert re.findall(r"<td(?![^>]*data-label)(?![^>]*colspan)", response.content.decode()) == []


@pytest.mark.parametrize("n", [3, 30])
def test_township_staff_pages_do_not_grow_with_the_data(client, django_assert_num_queries, n):
    world = build(n)
    client.force_login(world["staff"])
    # session, user (with role and profile), filter townships, counts, paginator count, page rows
    with django_assert_num_queries(6):
        findings = client.get(reverse("inspections:findings"))
    assert findings.context["counts"]["total"] == len(range(1, n, 3))
    # session, user (with role and profile), assignment, the round check
    # (services.cross_assignment_of), access recorded, paginator count, rows
    with django_assert_num_queries(7):
        units = client.get(reverse("inspections:cross_units", args=[world["assignment"].pk]))
    assert units.status_code == 200
    assert "张*" in units.content.decode() and "张三" not in units.content.decode()
