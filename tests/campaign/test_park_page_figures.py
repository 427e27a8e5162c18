"""The parks page (/parks/) for the city and each township on the picked day: how many parks started
and completed by then with their areas, occupancy and vacancy; the started and completed area
against their indicators' milestones (charts drawn as the scorecard's); each park with its
occupancy; the page as .xlsx; its query count, the same at two sizes."""

import datetime
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaign.models import BuiltIn, Indicator, IndicatorTarget, Park
from campaign.parks import indicator_charts
from enterprises.models import ParkEntry
from reports import counts
from reports.addition import hand_down
from tests.factories import make_campaign, make_township, make_user

D = datetime.date
DAY = D(2018, 7, 31)


@pytest.fixture(autouse=True)
def charts_handed_down():
    """What ReportsConfig.ready does at start-up (reports.addition.hand_down)."""
    hand_down()


@pytest.fixture
def world(db, frozen_today):
    frozen_today(D(2018, 12, 31))
    campaign = make_campaign()
    town, other = make_township("城关镇"), make_township("东城街道")
    started = Indicator.objects.create(
        campaign=campaign, key=BuiltIn.PARK_STARTED_MU, name="小微园开工面积", unit="亩", target=100
    )
    Indicator.objects.create(
        campaign=campaign, key=BuiltIn.PARK_COMPLETED_M2, name="小微园竣工面积", unit="平方米", target=10000
    )
    IndicatorTarget.objects.create(indicator=started, township=town, target=60, effective_on=campaign.start)
    first = Park.objects.create(
        township=town, name="城关一园", capacity=3, started_on=D(2018, 3, 1), started_mu=Decimal("30"),
        completed_on=D(2018, 6, 1), completed_m2=Decimal("5000"),
    )  # fmt: skip
    Park.objects.create(township=town, name="城关二园", started_on=DAY, started_mu=Decimal("20"))  # on the day
    Park.objects.create(township=town, name="城关三园", planned_mu=Decimal("15"))  # not started
    east = Park.objects.create(
        township=other, name="东城园", capacity=2, started_on=D(2017, 12, 1), started_mu=Decimal("40")
    )  # started before the campaign: a park started by then, not in the year's indicator
    ParkEntry.objects.create(park=first, name="甲", entered_on=D(2018, 3, 5))
    ParkEntry.objects.create(park=first, name="乙", entered_on=D(2018, 4, 1), left_on=D(2018, 7, 1))  # left before
    ParkEntry.objects.create(park=first, name="丙", entered_on=DAY, company_form=False)  # entered on the day
    ParkEntry.objects.create(park=east, name="丁", entered_on=D(2018, 1, 10))
    return {
        "campaign": campaign,
        "town": town,
        "other": other,
        "first": first,
        "admin": make_user("admin"),
        "staff": make_user("staff", role="township_staff", township=town),
        "viewer": make_user("viewer", role="city_viewer"),
    }


def page(client, day=DAY, **params):
    return client.get(reverse("parks:list"), {"campaign": "c2018", "as_of": day.isoformat(), **params})


def test_the_city_figures_are_those_of_the_picked_day(client, world):
    client.force_login(world["viewer"])
    summary = page(client).context["summary"]
    assert (summary.parks, summary.started, summary.started_mu) == (4, 3, Decimal("90"))
    assert (summary.completed, summary.completed_m2) == (1, Decimal("5000"))
    # 甲 and 丙 in 城关一园 (乙 left on 07-01), 丁 in 东城园; places 3 + 2, vacancy 1 + 1.
    assert (summary.entries, summary.capacity, summary.vacancy) == (3, 5, 2)
    assert summary.company_form_share == Decimal("66.67")  # 甲 and 丁 of 3

    before = page(client, D(2018, 7, 30)).context["summary"]
    assert (before.started, before.started_mu, before.entries) == (2, Decimal("70"), 2)  # 二园 and 丙 come on 07-31


def test_a_township_page_has_its_own_figures_and_parks(client, world):
    client.force_login(world["viewer"])
    answer = page(client, township=world["town"].pk)
    summary = answer.context["summary"]
    assert (summary.parks, summary.started, summary.started_mu, summary.entries) == (3, 2, Decimal("50"), 2)
    assert summary.company_form_share == Decimal("50.00")
    lines = {line.park.name: line for line in answer.context["lines"]}
    assert set(lines) == {"城关一园", "城关二园", "城关三园"}
    one = lines["城关一园"].occupancy
    assert (one.entries, one.capacity, one.vacancy) == (2, 3, 1)
    text = answer.content.decode()
    assert 'id="parks-started"' in text and "2 个，50.00 亩" in text


def test_township_staff_see_their_own_township_whatever_they_pick(client, world):
    client.force_login(world["staff"])
    for params in ({}, {"township": world["other"].pk}, {"township": ""}):
        answer = page(client, **params)
        assert answer.context["township"] == world["town"]
        assert {line.park.name for line in answer.context["lines"]} == {"城关一园", "城关二园", "城关三园"}


def figure(chart):
    return json.loads(str(chart[2]))


def test_the_charts_show_the_years_area_against_the_milestone_staircase(client, world):
    client.force_login(world["admin"])
    charts = page(client).context["charts"]
    assert [(indicator.key, row.value, row.target) for indicator, row, _figure in charts] == [
        (BuiltIn.PARK_STARTED_MU, Decimal("50.00"), 100),  # 一园 and 二园; 东城园 started in 2017
        (BuiltIn.PARK_COMPLETED_M2, Decimal("5000.00"), 10000),
    ]
    staircase, _expected, values = figure(charts[0])["data"]
    assert staircase["y"] == [0, 30, 60, 80, 100]  # 30/60/80/100 % of 100 亩
    assert values["x"][-1] == "2018-07-31" and values["y"][-1] == 50.0
    text = page(client).content.decode()
    assert 'id="indicator-park_started_mu"' in text and "vendor/plotly.min.js" in text

    town = page(client, township=world["town"].pk).context["charts"]
    assert [(i.key, row.value, row.target) for i, row, _f in town] == [
        (BuiltIn.PARK_STARTED_MU, Decimal("50.00"), 60),
        (BuiltIn.PARK_COMPLETED_M2, Decimal("5000.00"), 0),
    ]
    assert figure(town[0])["data"][0]["y"] == [0, 18, 36, 48, 60]
    # 东城街道 has no target and nothing counted in the year: no chart to draw.
    assert page(client, township=world["other"].pk).context["charts"] == []


def test_no_charts_without_the_indicators_or_the_hand_down(client, world, monkeypatch):
    world["campaign"].indicators.all().delete()
    client.force_login(world["admin"])
    answer = page(client)
    assert answer.context["charts"] == [] and "plotly" not in answer.content.decode()
    monkeypatch.setattr("campaign.parks._indicator_charts", None)
    assert indicator_charts(world["campaign"], DAY, None, [BuiltIn.PARK_STARTED_MU]) == []


def test_the_export_is_the_page_as_xlsx(client, world):
    client.force_login(world["viewer"])
    answer = client.get(
        reverse("parks:export"), {"campaign": "c2018", "as_of": DAY.isoformat(), "township": world["town"].pk}
    )
    assert answer.status_code == 200
    assert "城关镇" in answer["Content-Disposition"] or "filename*" in answer["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active.values)
    header = rows[0]
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"城关一园", "城关二园", "城关三园"}
    one = by_name["城关一园"]
    assert (one["在园企业(家)"], one["空余(家)"], one["公司制占比(%)"], one["截至当日"]) == (2, 1, 50, "已竣工")
    assert by_name["城关二园"]["截至当日"] == "已开工" and by_name["城关三园"]["截至当日"] == "未开工"


def add_parks(town, n):
    for i in range(n):
        park = Park.objects.create(
            township=town, name=f"加园{i}", capacity=5, started_on=D(2018, 2, 1 + i % 20), started_mu=Decimal("3")
        )
        for j in range(3):
            ParkEntry.objects.create(park=park, name=f"加企{i}-{j}", entered_on=D(2018, 3, 1 + j), left_on=None)


def queries_of(client, **params):
    counts.clear()  # the indicators' values read afresh, as after a change
    with CaptureQueriesContext(connection) as cold:
        assert page(client, **params).status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert page(client, **params).status_code == 200
    return len(cold), len(warm)


# (after a change, asked again); the parks, then their entries in the park that day counted per park.
PINNED = {"city": (14, 13), "township": (14, 13)}


def test_the_query_count_is_pinned_and_independent_of_the_parks(client, world):
    client.force_login(world["admin"])
    small = {"city": queries_of(client), "township": queries_of(client, township=world["town"].pk)}
    add_parks(world["town"], 25)
    add_parks(world["other"], 25)
    large = {"city": queries_of(client), "township": queries_of(client, township=world["town"].pk)}
    assert small == large == PINNED
