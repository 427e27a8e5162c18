"""The scorecard on the pages: the dashboard's 赛马综合得分 table and a township's indicator rows,
and what they cost in queries however many indicators the campaign has."""

import datetime
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from campaign.models import BuiltIn, Indicator, IndicatorRecord, IndicatorTarget, Park
from reports import charts as charts_module
from reports import counts
from tests.factories import make_township, make_user, set_target
from tests.reports.test_charts import as_plotly_would, typed
from tests.reports.test_views import DASHBOARD_QUERIES, cold_and_warm

D = datetime.date
pytestmark = pytest.mark.django_db
URL = reverse("reports:dashboard") + "?campaign=c2018&as_of=2018-06-15"


@pytest.fixture
def client_in(client):
    client.force_login(make_user("viewer", role="city_viewer"))
    return client


@pytest.fixture(autouse=True)
def fresh_cache():
    counts.clear()
    yield
    counts.clear()


def add_indicators(campaign, townships, n, first=0):
    for i in range(first, first + n):
        made = Indicator.objects.create(campaign=campaign, key=f"k{i}", name=f"指标{i}", unit="个", target=10)
        for j, township in enumerate(townships):
            IndicatorTarget.objects.create(indicator=made, township=township, target=4, effective_on=D(2018, 1, 1))
            IndicatorRecord.objects.create(
                indicator=made, township=township, name=f"r{i}", date=D(2018, 3, 1), amount=Decimal(j + 1)
            )


@pytest.fixture
def city(campaign):
    townships = [make_township(name, sort_order=i) for i, name in enumerate(("城关镇", "东城街道", "西城街道"))]
    for township in townships:
        set_target(campaign, township, 10)
    return townships


def test_the_dashboard_shows_the_scorecard_only_with_indicators(client_in, campaign, city):
    assert 'id="scorecard"' not in client_in.get(URL).content.decode()
    add_indicators(campaign, city, 1)
    page = client_in.get(URL)
    html = page.content.decode()
    assert 'id="scorecard"' in html and "指标0" in html
    ranking = page.context["scorecard"].ranking
    # 东城街道 2 of 4 = 50 %, 城关镇 1 of 4 = 25 %; no unit rectified: rate 0 on rectified
    assert [(line.name, line.score, line.rank) for line in ranking][:2] == [
        ("西城街道", Decimal("37.50"), 1),
        ("东城街道", Decimal("25.00"), 2),
    ]
    assert 'class="num sc-cell sc-green"' in html  # 西城街道 75 % ≥ the expected rate of 06-15
    assert "3/4" in html  # value/target


def test_the_township_page_shows_every_indicator_with_its_shortfall(client_in, campaign, city):
    add_indicators(campaign, city, 2)
    Park.objects.create(township=city[0], name="园", started_on=D(2018, 2, 1), started_mu=Decimal("1.5"))
    park = Indicator.objects.create(
        campaign=campaign, key=BuiltIn.PARK_STARTED_MU, name="开工面积", unit="亩", target=3
    )
    IndicatorTarget.objects.create(indicator=park, township=city[0], target=3, effective_on=D(2018, 1, 1))
    page = client_in.get(reverse("reports:township", args=[city[0].pk]) + "?campaign=c2018&as_of=2018-06-15")
    html = page.content.decode()
    assert 'id="indicators"' in html
    rows = {indicator.key: row for indicator, row in page.context["indicator_rows"]}
    assert list(rows) == ["rectified", "k0", "k1", BuiltIn.PARK_STARTED_MU]
    assert rows["k0"].milestone_next["shortfall"] == 2  # ceil(4 × 60 %) − 1
    assert rows[BuiltIn.PARK_STARTED_MU].value == Decimal("1.50")
    assert rows[BuiltIn.PARK_STARTED_MU].milestone_next["shortfall"] == Decimal("0.50")  # ceil(3 × 60 %) − 1.5
    assert "0.50</strong>" in html and "开工面积" in html


def test_the_pages_cost_a_fixed_number_of_queries_however_many_indicators(client_in, campaign, city):
    add_indicators(campaign, city, 1)
    township_url = reverse("reports:township", args=[city[0].pk]) + "?campaign=c2018&as_of=2018-06-15"
    few = cold_and_warm(client_in, URL), cold_and_warm(client_in, township_url)
    add_indicators(campaign, city, 10, first=1)
    many = cold_and_warm(client_in, URL), cold_and_warm(client_in, township_url)
    assert len(client_in.get(URL).context["scorecard"].indicators) == 12
    # Beyond the dashboard without indicators (test_views.DASHBOARD_QUERIES): the indicators' milestones
    # and targets, the last scorecard frozen with an assessment (the rank changes), and cold the
    # records' one grouped query. The indicators' charts are drawn from the card: nothing more. The
    # township page here has no villages, so its count is not TOWNSHIP_QUERIES'.
    assert few == many == ((DASHBOARD_QUERIES[0] + 4, DASHBOARD_QUERIES[1] + 3), (19, 13))


# ---- the rank change against the last frozen scorecard, and a chart per indicator ----


@pytest.fixture
def frozen_q1(campaign, city, frozen_today, settings, tmp_path):
    """The 03-31 assessment frozen with the scorecard: 西城 1, 东城 2, 城关 3 (k0: 3, 2, 1 of 4; no
    unit rectified); then 城关 completes k0 on 04-10 and leads (50 against 37.5 and 25)."""
    from reports.notices.content import assessment_freeze

    frozen_today(D(2018, 12, 31))
    settings.MEDIA_ROOT = tmp_path / "media"
    add_indicators(campaign, city, 1)
    admin = make_user("guanli", role="city_admin")
    frozen = assessment_freeze(campaign=campaign, milestone_date=D(2018, 3, 31), verdict="好", user=admin)
    assert [t["rank"] for t in frozen.figures["scorecard"]["townships"]] == [1, 2, 3]
    k0 = Indicator.objects.get(key="k0")
    IndicatorRecord.objects.create(indicator=k0, township=city[0], name="补", date=D(2018, 4, 10), amount=3)
    return frozen


def test_the_dashboard_shows_each_townships_rank_change_since_the_last_frozen_scorecard(client_in, frozen_q1):
    page = client_in.get(URL)
    card = page.context["scorecard"]
    assert card.compared_with == D(2018, 3, 31)
    assert [(line.name, line.rank, line.movement_text) for line in card.ranking] == [
        ("城关镇", 1, "↑2"),
        ("西城街道", 2, "↓1"),
        ("东城街道", 3, "↓1"),
    ]
    html = page.content.decode()
    assert '<span class="sc-move sc-move-up">↑2</span>' in html
    assert html.count('class="sc-move sc-move-down"') == 2
    assert 'id="scorecard-compared"' in html and "2018-03-31" in html


def test_before_any_frozen_scorecard_the_dashboard_shows_no_arrow(client_in, frozen_q1):
    page = client_in.get(reverse("reports:dashboard") + "?campaign=c2018&as_of=2018-03-30")
    card = page.context["scorecard"]
    assert card.compared_with is None and {line.movement for line in card.ranking} == {None}
    html = page.content.decode()
    assert "sc-move" not in html and 'id="scorecard-compared"' not in html


def test_the_township_page_shows_its_rank_change_since_the_last_frozen_scorecard(client_in, frozen_q1, city):
    def page(township, day="2018-06-15"):
        url = reverse("reports:township", args=[township.pk]) + f"?campaign=c2018&as_of={day}"
        return client_in.get(url)

    first = page(city[0])
    assert first.context["score_line"].movement_text == "↑2"
    html = first.content.decode()
    assert '<span class="sc-move sc-move-up" id="score-move">↑2</span>' in html
    assert 'id="score-compared"' in html and "2018-03-31" in html
    assert page(city[1]).context["score_line"].movement_text == "↓1"
    # Before the first frozen scorecard: nothing to compare with, no arrow.
    before = page(city[0], "2018-03-30")
    assert before.context["score_line"].movement is None and 'id="score-move"' not in before.content.decode()


def test_the_rank_changes_cost_one_query_and_the_charts_none(client_in, frozen_q1):
    # The same as without a frozen assessment (test_the_pages_cost_a_fixed_number_of_queries…).
    assert cold_and_warm(client_in, URL) == (DASHBOARD_QUERIES[0] + 4, DASHBOARD_QUERIES[1] + 3)


def test_the_dashboard_draws_each_indicator_against_its_milestone_staircase(client_in, campaign, city):
    add_indicators(campaign, city, 2)
    page = client_in.get(URL)
    charts = page.context["indicator_charts"]
    assert [indicator.key for indicator, _row, _figure in charts] == ["k0", "k1"]
    indicator, row, figure = charts[0]
    data = json.loads(str(figure))["data"]
    steps, expected, actual = data
    # The city's k0: target 10, the campaign's milestones 30/60/80/100 %: 3, 6, 8, 10 required.
    assert steps["y"] == [0, 3, 6, 8, 10] and steps["x"][1] == "2018-03-31"
    assert actual["x"] == ["2018-01-01", "2018-03-01", "2018-06-15"] and actual["y"] == [0, 6, 6]
    assert expected["y"][-1] == 10
    html = page.content.decode()
    assert 'id="indicator-chart-k0"' in html and 'id="indicator-chart-k1-data"' in html
    assert "6/10" in html  # the chart's caption: the city's value / target
    # Plain dicts that plotly.py would validate and send the same way (tests/reports/test_charts.py).
    card = page.context["scorecard"]
    for key, township_id in (("k0", None), ("k1", city[1].pk)):
        figure = charts_module.indicator_figure(
            next(i for i in card.indicators if i.key == key), township_id, campaign, D(2018, 6, 15)
        )
        ours = json.loads(charts_module.figure_json(figure))
        assert typed(ours) == typed(as_plotly_would(ours))
    # A township chosen for the charts: its own series.
    focused = client_in.get(URL + f"&township={city[2].pk}").context["indicator_charts"]
    assert json.loads(str(focused[0][2]))["data"][2]["y"] == [0, 3, 3]


def test_without_other_indicators_the_dashboard_has_no_indicator_chart(client_in, campaign, city):
    page = client_in.get(URL)
    assert page.context["indicator_charts"] == []
    assert "indicator-chart" not in page.content.decode()


def test_the_township_page_draws_its_own_indicators(client_in, campaign, city):
    add_indicators(campaign, city, 1)
    page = client_in.get(reverse("reports:township", args=[city[0].pk]) + "?campaign=c2018&as_of=2018-06-15")
    ((indicator, row, figure),) = page.context["indicator_charts"]
    data = json.loads(str(figure))["data"]
    assert indicator.key == "k0" and row.value == 1 and row.target == 4
    assert data[0]["y"] == [0, 2, 3, 4, 4]  # ceil(4 × 30 %, 60 %, 80 %, 100 %)
    assert 'id="indicator-chart-k0"' in page.content.decode()
