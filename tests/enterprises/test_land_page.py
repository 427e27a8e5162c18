"""The land page (/land/) for the city and each township on the picked day: the parcels by their
stage that day (the SQL stage held against ``land.stage_on``), freed land against its indicator's
milestones, the 亩均税收 of the parcels in production in bands against the standard, the parcels a
page at a time, the page as .xlsx, and its query count, the same at two sizes."""

import datetime
import io
import itertools
import json
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaign.models import BuiltIn, Indicator
from enterprises import land
from enterprises.models import LandParcel, TaxReturn
from reports import counts
from reports.addition import hand_down
from tests.factories import make_campaign, make_township, make_user

D = datetime.date
DAY = D(2018, 7, 31)


@pytest.fixture(autouse=True)
def charts_handed_down():
    """What ReportsConfig.ready does at start-up (reports.addition.hand_down)."""
    hand_down()


def parcel(town, name, freed_on, area="10", **stages):
    return LandParcel.objects.create(township=town, name=name, area_mu=Decimal(area), freed_on=freed_on, **stages)


def tax(found, year, amount, land_mu=None):
    return TaxReturn.objects.create(
        parcel=found, year=year, tax_10k_yuan=Decimal(amount), land_mu=Decimal(land_mu or found.area_mu)
    )


@pytest.fixture
def world(db, frozen_today):
    frozen_today(D(2018, 12, 31))
    campaign = make_campaign()
    campaign.tax_standard_per_mu = Decimal("10")
    campaign.save()
    town, other = make_township("城关镇"), make_township("东城街道")
    freed = parcel(town, "腾退地", D(2018, 1, 10), "12.5")  # idle on 07-31 (202 days)
    supplied = parcel(town, "供地地", D(2018, 2, 1), "5", supplied_on=D(2018, 7, 31))  # supplied on the day
    producing = [
        parcel(town, f"投产地{n}", D(2018, 1, 5), "10", supplied_on=D(2018, 2, 1), started_on=D(2018, 3, 1),
               producing_on=D(2018, 6, 1))
        for n in range(4)
    ]  # fmt: skip
    tax(producing[0], 2018, "100")  # 10.00: exactly the standard, not below it
    tax(producing[1], 2018, "99.9")  # 9.99: below
    tax(producing[1], 2017, "500")  # an older year: the latest counts
    tax(producing[2], 2018, "20")  # 2.00: below half the standard
    # producing[3] declared nothing.
    parcel(town, "退出地", D(2018, 1, 5), "3", exited_on=D(2018, 7, 1))
    parcel(town, "明日地", D(2018, 8, 1), "7")  # freed after the day
    parcel(other, "东城地", D(2018, 3, 1), "4", supplied_on=D(2018, 4, 1), started_on=D(2018, 5, 1))
    Indicator.objects.create(campaign=campaign, key=BuiltIn.LAND_FREED_MU, name="腾退土地面积", unit="亩", target=100)
    return {
        "campaign": campaign,
        "town": town,
        "other": other,
        "freed": freed,
        "supplied": supplied,
        "producing": producing,
        "admin": make_user("admin"),
        "staff": make_user("staff", role="township_staff", township=town),
        "viewer": make_user("viewer", role="city_viewer"),
    }


def page(client, day=DAY, **params):
    return client.get(reverse("land:list"), {"campaign": "c2018", "as_of": day.isoformat(), **params})


# --- the stage on a day, in SQL and in Python ---------------------------------------------------


def test_the_sql_stage_is_stage_on_for_every_order_of_dates_around_the_day(world):
    town, before, on, after = world["town"], D(2018, 3, 1), D(2018, 3, 2), D(2018, 3, 3)
    made = []
    for n, reached in enumerate(itertools.product((None, before, on, after), repeat=4)):
        supplied, started, producing, exited = reached
        chain = [supplied, started, producing]
        # Only what the table allows: a stage needs the one before it, never earlier than it.
        if any(
            later is not None and (earlier is None or later < earlier) for earlier, later in itertools.pairwise(chain)
        ):
            continue
        if exited is not None and exited < max([d for d in chain if d] or [before]):
            continue
        made.append(
            parcel(town, f"组合{n}", before, supplied_on=supplied, started_on=started, producing_on=producing,
                   exited_on=exited)
        )  # fmt: skip
    assert len(made) > 30
    for day in (before, on, after, D(2018, 12, 31)):
        sql = dict(
            LandParcel.objects.filter(pk__in=[p.pk for p in made])
            .annotate(s=land.stage_case(day))
            .values_list("pk", "s")
        )
        assert {p.pk: land.stage_on(p, day).key for p in made} == sql, day


# --- the figures -----------------------------------------------------------------------------------


def test_the_city_and_a_township_by_stage_on_the_picked_day(client, world):
    client.force_login(world["viewer"])
    summary = page(client).context["summary"]
    by_stage = {t.stage.key: (t.parcels, t.area_mu) for t in summary.stages}
    assert by_stage == {
        "freed": (1, Decimal("12.50")),
        "supplied": (1, Decimal("5.00")),
        "started": (1, Decimal("4.00")),  # 东城地
        "producing": (4, Decimal("40.00")),
        "exited": (1, Decimal("3.00")),
    }
    assert (summary.parcels, summary.area_mu, summary.idle, summary.supplied_mu) == (
        8, Decimal("64.50"), 1, Decimal("49.00"),
    )  # fmt: skip
    earlier = page(client, D(2018, 7, 30)).context["summary"]
    assert (earlier.of("freed").parcels, earlier.of("supplied").parcels) == (2, 0)  # supplied on 07-31

    town = page(client, township=world["town"].pk).context["summary"]
    assert (town.parcels, town.area_mu, town.of("started").parcels) == (7, Decimal("60.50"), 0)
    text = page(client, township=world["town"].pk).content.decode()
    assert '<dd id="land-stage-producing">4 块，40.00 亩</dd>' in text


def test_the_tax_distribution_bands_the_producing_parcels_against_the_standard(client, world):
    client.force_login(world["viewer"])
    answer = page(client)
    found = answer.context["distribution"]
    assert (found.producing, found.undeclared) == (4, 1)
    assert [(b.lower, b.upper, b.parcels, b.area_mu, b.below_standard) for b in found.bands] == [
        (None, Decimal("5.00"), 1, Decimal("10"), True),  # 2.00
        (Decimal("5.00"), Decimal("8.00"), 0, Decimal("0"), True),
        (Decimal("8.00"), Decimal("10.00"), 1, Decimal("10"), True),  # 9.99
        (Decimal("10.00"), Decimal("15.00"), 1, Decimal("10"), False),  # exactly 10.00 meets it
        (Decimal("15.00"), None, 0, Decimal("0"), False),
    ]
    assert [(p.name, year, per_mu) for p, year, per_mu in answer.context["below"]] == [
        ("投产地2", 2018, Decimal("2.00")),
        ("投产地1", 2018, Decimal("9.99")),
    ]
    text = answer.content.decode()
    assert 'id="tax-bands"' in text and "低于5.00" in text and "15.00及以上" in text

    # Without a standard: fixed bands, nothing listed below it.
    world["campaign"].tax_standard_per_mu = None
    world["campaign"].save()
    plain = page(client).context["distribution"]
    assert [b.upper for b in plain.bands] == [Decimal("5"), Decimal("10"), Decimal("20"), Decimal("50"), None]
    assert [b.parcels for b in plain.bands] == [1, 1, 1, 0, 0] and plain.below == []


def test_the_freed_land_chart_against_its_milestones(client, world):
    client.force_login(world["admin"])
    charts = page(client).context["charts"]
    assert [(i.key, row.value, row.target) for i, row, _f in charts] == [
        (BuiltIn.LAND_FREED_MU, Decimal("64.50"), 100)  # freed in the year by 07-31 (明日地 not yet)
    ]
    staircase, _expected, values = json.loads(str(charts[0][2]))["data"]
    assert staircase["y"] == [0, 30, 60, 80, 100] and values["y"][-1] == 64.5
    assert "vendor/plotly.min.js" in page(client).content.decode()


def test_the_parcels_come_a_page_at_a_time(client, world):
    for n in range(100):
        parcel(world["other"], f"批量{n:03d}", D(2018, 2, 1))
    client.force_login(world["viewer"])
    first = page(client)
    assert len(first.context["rows"]) == 100 and first.context["page"].paginator.count == 108
    second = page(client, page=2)
    assert len(second.context["rows"]) == 8
    assert 'id="parcels-pages"' in second.content.decode()


def test_township_staff_see_their_own_township(client, world):
    client.force_login(world["staff"])
    answer = page(client, township=world["other"].pk)
    assert answer.context["township"] == world["town"]
    assert {r.parcel.name for r in answer.context["rows"]} == {
        "腾退地", "供地地", "投产地0", "投产地1", "投产地2", "投产地3", "退出地",
    }  # fmt: skip


def test_the_export_is_the_picked_townships_parcels(client, world):
    client.force_login(world["viewer"])
    answer = client.get(
        reverse("land:export"), {"campaign": "c2018", "as_of": DAY.isoformat(), "township": world["other"].pk}
    )
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active.values)
    assert [(r[0], r[1], r[9]) for r in rows[1:]] == [("东城街道", "东城地", "开工")]


# --- the query count ------------------------------------------------------------------------------


def add_parcels(town, n):
    for i in range(n):
        found = parcel(town, f"加地{town.pk}-{i}", D(2018, 1, 2), "2", supplied_on=D(2018, 2, 1),
                       started_on=D(2018, 3, 1), producing_on=D(2018, 4, 1))  # fmt: skip
        tax(found, 2018, str(i))


def queries_of(client, **params):
    counts.clear()  # the indicators' values read afresh, as after a change
    with CaptureQueriesContext(connection) as cold:
        assert page(client, **params).status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert page(client, **params).status_code == 200
    return len(cold), len(warm)


PINNED = {"city": (19, 18), "township": (19, 18)}  # (after a change, asked again)


def test_the_query_count_is_pinned_and_independent_of_the_parcels(client, world):
    client.force_login(world["admin"])
    small = {"city": queries_of(client), "township": queries_of(client, township=world["town"].pk)}
    add_parcels(world["town"], 60)
    add_parcels(world["other"], 60)
    large = {"city": queries_of(client), "township": queries_of(client, township=world["town"].pk)}
    assert small == large == PINNED
