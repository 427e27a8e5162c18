"""The dashboard and township pages: access, the campaign/date picker, and pinned query counts."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaign.models import Campaign, Township
from enterprises.models import Enterprise, Method, Rectification
from enterprises.services import rectification_record
from inspections.models import Finding, FindingKind, Inspection, Kind
from reports import counts
from tests.factories import make_campaign, make_township, make_unit, make_user, make_village, set_target

D = datetime.date

pytestmark = pytest.mark.django_db

# Fixed ceilings, with data big enough that one query per township, village or unit would break them:
# session, the user with their role (core/backends.py), campaign, its campaigns list, milestones, targets,
# three daily counts (read once for the ranking, the city's series and a township's series alike),
# the overdue findings' two day-by-day tallies, townships (+ the township, its grouped village
# counts, its first overdue findings and their units' names on a township page).
# (with nothing cached, then with the counts cached: reports/counts/cache.py)
# + the campaign's scorecard indicators (reports/scorecard.py; none here, so nothing more is read).
# + on the dashboard, the last weekly notice issued before the day (the ranking's ↑↓, dashboard.last_notice).
DASHBOARD_QUERIES = (15, 10)
TOWNSHIP_QUERIES = (17, 12)


@pytest.fixture
def user(db):
    return make_user("shi", password="pw-123456", first_name="王科长")


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def build_city(campaign, townships, units_each, villages_each=3):
    """``townships`` townships with targets, villages and units: some rectified, some relapsed."""
    day = itertools.cycle([D(2018, m, d) for m in range(1, 6) for d in (3, 11, 19, 27)])
    places = []
    for _ in range(townships):
        town = make_township()
        set_target(campaign, town, units_each * 2)
        villages = [make_village(town) for _ in range(villages_each)]
        units = Enterprise.objects.bulk_create(
            Enterprise(
                township=town,
                village=villages[i % villages_each] if i % 7 else None,
                name=f"{town.name}单位{i}",
                unlicensed=True,
                identified_on=next(day),
            )
            for i in range(units_each)
        )
        rectifications = []
        for i, unit in enumerate(units):
            if i % 3 == 0:
                continue
            rectified_on = unit.identified_on + datetime.timedelta(days=10)
            reopened_on = rectified_on + datetime.timedelta(days=15) if i % 5 == 0 else None
            rectifications.append(
                Rectification(
                    enterprise=unit,
                    method=Method.DEMOLISHED,
                    rectified_on=rectified_on,
                    reopened_on=reopened_on,
                    demolished_m2=Decimal("12.5"),
                )
            )
        Rectification.objects.bulk_create(rectifications)
        # Findings past their deadline on the pages' dates: the township page lists them.
        inspection = Inspection.objects.create(
            kind=Kind.RANDOM, inspected_on=D(2018, 3, 1), team="督查组", township=town
        )
        Finding.objects.bulk_create(
            Finding(
                inspection=inspection,
                enterprise=unit,
                township=town,
                kind=FindingKind.NOT_DONE,
                description="整治不到位",
                found_on=D(2018, 3, 1),
                deadline=D(2018, 3, 15),
            )
            for unit in units[::4]
        )
        places.append(town)
    return places


def query_count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# ---- access ----


@pytest.mark.parametrize("name", ["reports:dashboard", "reports:township"])
def test_report_pages_need_a_login(client, campaign, name):
    town = make_township()
    url = reverse(name, args=[town.pk] if name == "reports:township" else [])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_logs_in_and_goes_to_the_users_home(client, user, campaign):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert "登录" in page.content.decode()
    response = client.post(reverse("login"), {"username": "shi", "password": "pw-123456"})
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:home")  # each role's own first screen


def test_logout_is_a_post_from_every_page(client_in, campaign):
    page = client_in.get(reverse("reports:dashboard")).content.decode()
    assert f'action="{reverse("logout")}" method="post"' in page
    response = client_in.post(reverse("logout"))
    assert response.status_code == 302
    assert client_in.get(reverse("reports:dashboard")).status_code == 302


def test_progress_api_still_serves_the_spec_document(client_in, campaign):
    town = make_township("东城街道")
    set_target(campaign, town, 10)
    response = client_in.get(reverse("reports:progress_api"), {"campaign": "c2018", "as_of": "2018-03-31"})
    assert response.status_code == 200
    assert response.json()["townships"][0]["name"] == "东城街道"


# ---- the dashboard ----


def test_dashboard_shows_the_headline_and_the_ranking(client_in, campaign, frozen_today):
    frozen_today()
    town = make_township("东城街道")
    set_target(campaign, town, 4)
    unit = make_unit(town, identified_on=D(2018, 3, 1))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 20))
    page = client_in.get(reverse("reports:dashboard"), {"as_of": "2018-03-25"}).content.decode()
    assert "全市整治进度" in page
    assert "9000" in page  # the city's annual target
    assert "东城街道" in page
    assert "25.00%" in page  # 1 of 4
    assert 'id="progress-chart"' in page and 'id="weekly-chart"' in page
    assert "vendor/plotly.min.js" in page
    assert "王科长" in page


def test_ranking_links_keep_the_campaign_and_date(client_in, campaign):
    town = make_township("东城街道")
    set_target(campaign, town, 10)
    page = client_in.get(reverse("reports:dashboard"), {"as_of": "2018-05-02"}).content.decode()
    assert f'href="{reverse("reports:township", args=[town.pk])}?campaign=c2018&amp;as_of=2018-05-02"' in page


def test_ranking_rows_carry_every_cell_escaped_and_sortable(client_in, campaign):
    """The rows reports/templatetags/ranking.py writes: labels, sort values, dashes, escaping."""
    town = make_township("<b>东城</b>街道")
    set_target(campaign, town, 4)
    unit = make_unit(town, identified_on=D(2018, 3, 1))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 20))
    make_township("无任务镇")
    make_unit(Township.objects.get(name="无任务镇"), identified_on=D(2018, 3, 2))
    page = client_in.get(reverse("reports:dashboard"), {"as_of": "2018-03-25"}).content.decode()
    body = page.split('<table class="data sortable compact" id="ranking">')[1].split("</tbody>")[0]
    first, second = body.split("<tr class=")[1:3]
    assert "&lt;b&gt;东城&lt;/b&gt;街道" in first and "<b>东城" not in body
    assert '<td data-label="排名" data-sort-value="1">1</td>' in first
    assert '<td class="num" data-label="完成率" data-sort-value="25.00">25.00%</td>' in first
    assert '<td class="num" data-label="年度任务" data-sort-value="4">4</td>' in first
    assert '<td class="num" data-label="已整治" data-sort-value="1">1</td>' in first
    assert 'data-label="预警" data-sort-value="' in first and 'class="badge badge-' in first
    # a township without a target: no rank, no rate, no outlook
    assert "无任务镇" in second
    assert '<td data-label="排名" data-sort-value="">—</td>' in second
    assert '<td class="num" data-label="完成率" data-sort-value="">—</td>' in second
    assert '<td data-label="预测" data-sort-value="">—</td>' in second


def test_the_date_defaults_to_today_inside_the_campaign(client_in, campaign, frozen_today):
    frozen_today(D(2018, 7, 15))
    response = client_in.get(reverse("reports:dashboard"))
    assert response.context["as_of"] == D(2018, 7, 15)


def test_the_date_defaults_to_the_last_day_once_the_campaign_is_over(client_in, campaign, frozen_today):
    frozen_today(D(2019, 2, 1))
    response = client_in.get(reverse("reports:dashboard"))
    assert response.context["campaign"] == campaign
    assert response.context["as_of"] == D(2018, 12, 31)


@pytest.mark.parametrize("text", ["2018-02-30", "yesterday", "2018/03/01", "2018-13-01"])
def test_an_invalid_date_says_so_in_chinese_and_falls_back(client_in, campaign, frozen_today, text):
    frozen_today(D(2018, 7, 15))
    response = client_in.get(reverse("reports:dashboard"), {"as_of": text})
    assert response.status_code == 200
    assert response.context["as_of"] == D(2018, 7, 15)
    page = response.content.decode()
    assert "日期" in page and "无效" in page and "已显示 2018-07-15 的数据" in page
    assert 'class="message error"' in page


def test_a_date_outside_the_campaign_says_so_and_falls_back(client_in, campaign, frozen_today):
    frozen_today(D(2018, 7, 15))
    response = client_in.get(reverse("reports:dashboard"), {"as_of": "2017-12-31"})
    assert response.status_code == 200
    assert response.context["as_of"] == D(2018, 7, 15)
    assert "2017-12-31 不在" in response.content.decode()


def test_an_unknown_campaign_falls_back_to_the_current_one(client_in, campaign):
    response = client_in.get(reverse("reports:dashboard"), {"campaign": "nope", "as_of": "2018-03-31"})
    assert response.status_code == 200
    assert response.context["campaign"] == campaign
    assert response.context["as_of"] == D(2018, 3, 31)
    assert "找不到代号为“nope”的整治行动" in response.content.decode()


def test_the_picker_switches_campaigns(client_in, campaign, frozen_today):
    frozen_today(D(2019, 5, 1))
    other = make_campaign(slug="c2019", year=2019, target=100)
    assert client_in.get(reverse("reports:dashboard")).context["campaign"] == other
    response = client_in.get(reverse("reports:dashboard"), {"campaign": "c2018", "as_of": "2018-06-30"})
    assert response.context["campaign"] == campaign
    page = response.content.decode()
    assert '<select name="campaign"' in page
    assert '<option value="c2018" selected>' in page


def test_without_any_campaign_the_page_tells_an_admin_what_to_run(client_in):
    assert not Campaign.objects.exists()
    for url in (reverse("reports:dashboard"), reverse("reports:township", args=[make_township().pk])):
        response = client_in.get(url)
        assert response.status_code == 200
        assert "create_campaign" in response.content.decode()


def test_choosing_a_township_on_the_dashboard_draws_its_charts(client_in, campaign):
    town = make_township("西城镇")
    set_target(campaign, town, 40)
    response = client_in.get(reverse("reports:dashboard"), {"as_of": "2018-05-31", "township": str(town.pk)})
    assert response.context["focus"].row.name == "西城镇"
    assert "西城镇累计整治进度" in response.content.decode()
    # A township that is not a number is ignored rather than an error.
    assert client_in.get(reverse("reports:dashboard"), {"township": "x"}).context["focus"] is None


def test_english_is_served_after_switching_language(client_in, campaign):
    response = client_in.post(reverse("set_language"), {"language": "en", "next": reverse("reports:dashboard")})
    assert response.status_code == 302
    assert client_in.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client_in.get(reverse("reports:dashboard")).content.decode()
    assert '<html lang="en">' in page


# ---- the township page ----


def test_township_page_shows_villages_and_ledger(client_in, campaign, frozen_today):
    frozen_today()
    town = make_township("东城街道")
    set_target(campaign, town, 4)
    village = make_village(town, "一村")
    unit = make_unit(town, village=village, identified_on=D(2018, 3, 1))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 20))
    make_unit(town, village=make_village(town, "二村"), identified_on=D(2018, 3, 2))
    response = client_in.get(reverse("reports:township", args=[town.pk]), {"as_of": "2018-03-31"})
    page = response.content.decode()
    assert "东城街道" in page and "一村" in page and "二村" in page
    assert "零四无" in page  # 一村 has nothing left
    assert 'id="ledger"' in page and "年度累计" in page
    assert "排名第 1 位" in page
    assert "?campaign=c2018&amp;as_of=2018-03-31" in page  # back to the dashboard, same date


def test_unknown_township_is_404(client_in, campaign):
    assert client_in.get(reverse("reports:township", args=[999999])).status_code == 404


def test_a_township_with_nothing_this_year_gets_a_friendly_page(client_in, campaign):
    town = make_township("空白乡")
    response = client_in.get(reverse("reports:township", args=[town.pk]))
    assert response.status_code == 200
    assert "还没有年度任务" in response.content.decode()


# ---- query counts ----


def cold_and_warm(client, url):
    """Queries of a page with nothing cached, then of the same page again (the counts cached)."""
    counts.clear()
    return query_count(client, url), query_count(client, url)


def test_dashboard_query_count_does_not_grow_with_townships_or_units(client_in, campaign):
    url = reverse("reports:dashboard") + "?campaign=c2018&as_of=2018-06-15"
    build_city(campaign, townships=3, units_each=5)
    small = cold_and_warm(client_in, url)
    build_city(campaign, townships=17, units_each=30)
    counts.clear()
    response = client_in.get(url)
    assert len(response.context["ranking"]) == 20
    assert cold_and_warm(client_in, url) == small == DASHBOARD_QUERIES
    # Choosing a township for the charts costs nothing more.
    chosen = url + f"&township={response.context['ranking'][5].row.township_id}"
    assert cold_and_warm(client_in, chosen) == small


def test_dashboard_counts_cache_follows_every_change(client_in, campaign):
    """A cached page is never stale: any change to the counts or findings is on the next request."""
    url = reverse("reports:dashboard") + "?campaign=c2018&as_of=2018-06-15"
    township = build_city(campaign, townships=2, units_each=3)[0]
    before = client_in.get(url).context["city"].row.identified
    assert client_in.get(url).context["city"].row.identified == before  # served from the cache
    make_unit(township, identified_on=D(2018, 6, 1))
    assert client_in.get(url).context["city"].row.identified == before + 1


def test_township_query_count_does_not_grow_with_townships_villages_or_units(client_in, campaign):
    first = build_city(campaign, townships=2, units_each=4, villages_each=1)[0]
    url = reverse("reports:township", args=[first.pk]) + "?campaign=c2018&as_of=2018-06-15"
    small = cold_and_warm(client_in, url)
    big = build_city(campaign, townships=18, units_each=40, villages_each=8)[0]
    big_url = reverse("reports:township", args=[big.pk]) + "?campaign=c2018&as_of=2018-06-15"
    counts.clear()
    response = client_in.get(big_url)
    assert len(response.context["villages"]) == 9  # eight villages and the units with none
    assert cold_and_warm(client_in, big_url) == small == TOWNSHIP_QUERIES


def test_a_change_elsewhere_costs_a_township_page_only_that_townships_counts(client_in, campaign):
    """The page's own series, villages and overdue findings are kept under its township's version;
    the ranking's counts are renewed for the township that changed, and for it alone."""
    mine, other = build_city(campaign, townships=2, units_each=6, villages_each=2)
    url = reverse("reports:township", args=[mine.pk]) + "?campaign=c2018&as_of=2018-06-15"
    _cold, warm = cold_and_warm(client_in, url)
    make_unit(other, identified_on=D(2018, 6, 1))
    with CaptureQueriesContext(connection) as queries:
        after = client_in.get(url)
    renewed = [q["sql"] for q in queries if "_unitday" in q["sql"] or "_periodday" in q["sql"]]
    assert len(queries) == warm + 3 and len(renewed) == 3
    assert all(f"IN ({other.pk})" in sql for sql in renewed)
    # Its own figures are its units'; a unit of its own is on the next request.
    own = Enterprise.objects.alive().filter(township=mine, identified_on__lte=D(2018, 6, 15)).count()
    assert after.context["scope"].row.identified == own
    make_unit(mine, identified_on=D(2018, 6, 2))
    assert client_in.get(url).context["scope"].row.identified == after.context["scope"].row.identified + 1
