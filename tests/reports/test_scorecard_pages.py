"""The scorecard on the pages: the dashboard's 赛马综合得分 table and a township's indicator rows,
and what they cost in queries however many indicators the campaign has."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from campaign.models import BuiltIn, Indicator, IndicatorRecord, IndicatorTarget, Park
from reports import counts
from tests.factories import make_township, make_user, set_target
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
    # and targets, and cold the records' one grouped query. The township page here has no villages,
    # so its count is not TOWNSHIP_QUERIES'.
    assert few == many == ((DASHBOARD_QUERIES[0] + 3, DASHBOARD_QUERIES[1] + 2), (18, 12))
