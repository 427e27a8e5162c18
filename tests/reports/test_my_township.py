"""Township staff land on their own standing; every table with an export has its download button."""

import re

import pytest
from django.urls import reverse

from reports import counts
from tests.factories import make_user
from tests.reports.test_views import DASHBOARD_QUERIES, build_city, cold_and_warm

pytestmark = pytest.mark.django_db
URL = reverse("reports:dashboard") + "?campaign=c2018&as_of=2018-06-15"


@pytest.fixture
def city(campaign):
    return build_city(campaign, townships=8, units_each=10)


def _staff_client(client, township):
    client.force_login(make_user("zhen", role="township_staff", township=township))
    return client


def test_township_staff_see_their_own_standing_before_the_city(client, city):
    own = city[5]
    page = _staff_client(client, own).get(URL)
    html = page.content.decode()
    mine = page.context["mine"]
    assert mine.row.township_id == own.pk
    # First on the page: before the city's figures and the ranking.
    assert html.index('id="my-township"') < html.index('id="city-figures"') < html.index('id="ranking"')
    card = html[html.index('id="my-township"') : html.index('id="city-figures"')]
    assert own.name in card
    assert f"排名第 {mine.row.rank} 位" in card and str(mine.colour_label) in card
    assert f"{mine.row.rate}%" in card
    shortfall = mine.row.milestone_next["shortfall"]
    assert (f"差 {shortfall} 家" if shortfall else "已达到") in card
    assert f"本周 {mine.week_rectified} 家" in card
    # And their row is marked in the ranking, the others are not.
    marked = re.findall(r'<tr class="colour-\w+ is-mine" aria-current="true" id="my-township-row">.*?</tr>', html)
    assert len(marked) == 1 and own.name in marked[0]


@pytest.mark.parametrize("role", ["city_viewer", "inspector", "city_admin"])
def test_city_roles_have_no_own_township_card(client, city, role):
    client.force_login(make_user("someone", role=role))
    html = client.get(URL).content.decode()
    assert 'id="my-township"' not in html and "is-mine" not in html


def test_the_own_township_card_costs_no_query(client, city):
    _staff_client(client, city[0])
    counts.clear()
    assert cold_and_warm(client, URL) == DASHBOARD_QUERIES


def test_the_ranking_has_download_buttons_whose_files_carry_the_day(client, city):
    client.force_login(make_user("shi", role="city_viewer"))
    html = client.get(URL).content.decode()
    for fmt in ("xlsx", "csv"):
        href = re.search(rf'id="ranking-{fmt}" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert "as_of=2018-06-15" in href
        response = client.get(href)
        assert response.status_code == 200
        assert "20180615" in response["Content-Disposition"]


def test_the_township_ledger_has_download_buttons_whose_files_carry_the_day(client, city):
    client.force_login(make_user("shi", role="city_viewer"))
    url = reverse("reports:township", args=[city[0].pk]) + "?campaign=c2018&as_of=2018-06-15"
    html = client.get(url).content.decode()
    for fmt in ("xlsx", "csv"):
        href = re.search(rf'id="ledger-{fmt}" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        response = client.get(href)
        assert response.status_code == 200
        assert "20180615" in response["Content-Disposition"] and fmt in response["Content-Disposition"]
