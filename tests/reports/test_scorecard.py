"""SPEC 5: the indicators' values, rows and ranks, the 赛马 score, and the scorecard document.

Table-driven rules on small worlds built with the ORM (milestone days, targets raised mid-quarter,
city revisions, own milestones, decimals, weights, the cap, ties); every built-in source table;
a property test against a replay of the raw rows; the document served by the command and the API;
the cache renewed after each kind of write; the query count independent of the indicators.
"""

import datetime
import io
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign.models import (
    BuiltIn,
    Demonstration,
    Indicator,
    IndicatorMilestone,
    IndicatorRecord,
    IndicatorTarget,
    Park,
    Township,
)
from core.numbers import round_half_up
from enterprises.models import LandParcel, Method, ParkEntry
from enterprises.services import rectification_record
from reports import counts
from reports.progress import progress_report
from reports.scorecard import ReportError, scorecard
from tests.factories import make_township, make_unit, make_user, make_village, set_target

D = datetime.date
START, END = D(2018, 1, 1), D(2018, 12, 31)
pytestmark = pytest.mark.django_db

IROW_KEYS = {"name", "target", "value", "rate", "expected_rate", "colour", "rank", "milestone_due", "milestone_next"}


def indicator(campaign, key, target, *, name=None, unit="个", weight=1, milestones=None):
    made = Indicator.objects.create(
        campaign=campaign,
        key=key,
        name=name or key,
        unit=unit,
        target=target,
        weight=Decimal(weight),
        own_milestones=milestones is not None,
    )
    for day, percent in milestones or ():
        IndicatorMilestone.objects.create(indicator=made, date=day, percent=Decimal(percent))
    return made


def target(made, township, value, on=START):
    return IndicatorTarget.objects.create(indicator=made, township=township, target=value, effective_on=on)


def record(made, township, day, amount=1, name=None):
    name = name or f"{township.name}{day}{amount}{IndicatorRecord.objects.count()}"
    return IndicatorRecord.objects.create(
        indicator=made, township=township, name=name, date=day, amount=Decimal(amount)
    )


def card_of(card, key):
    return next(c for c in card.indicators if c.key == key)


def irow(card, key, name):
    found = card_of(card, key)
    return found.city if name is None else next(r for r in found.townships if r.name == name)


def line(card, name):
    return next(x for x in card.ranking if x.name == name)


@pytest.fixture
def towns():
    # Listed in this order among equals (Township.sort_order, then name).
    return [make_township(name, sort_order=i) for i, name in enumerate(("城关镇", "东城街道", "西城街道", "南门镇"))]


@pytest.fixture(autouse=True)
def fresh_cache():
    counts.clear()
    yield
    counts.clear()


# ---- an indicator's row: §2 with value in place of rectified ----


def test_a_record_on_the_milestone_day_counts_that_day_and_meets_it(campaign, towns):
    a = towns[0]
    made = indicator(campaign, "projects", 10)
    target(made, a, 10)
    record(made, a, D(2017, 12, 31), 5)  # before the year: never counted
    record(made, a, D(2018, 3, 31), 3)
    record(made, a, D(2018, 4, 1), 4)
    eve = irow(scorecard(campaign, D(2018, 3, 30)), "projects", "城关镇")
    assert (eve.value, eve.rate, eve.milestone_due) == (0, Decimal("0.00"), None)
    on = irow(scorecard(campaign, D(2018, 3, 31)), "projects", "城关镇")
    assert (on.value, on.rate, on.expected_rate, on.colour) == (3, Decimal("30.00"), Decimal("30.00"), "green")
    assert on.milestone_due == {"date": "2018-03-31", "percent": Decimal("30.00"), "required": 3, "met": True}
    assert on.milestone_next["required"] == 6 and on.milestone_next["shortfall"] == 3
    # A value reached after the milestone does not meet it retroactively.
    later = irow(scorecard(campaign, D(2018, 4, 1)), "projects", "城关镇")
    assert later.value == 7 and later.milestone_due["met"] is True
    target(made, a, 20, on=D(2018, 3, 1))  # raised before the milestone: 6 were due by 03-31
    assert irow(scorecard(campaign, D(2018, 4, 1)), "projects", "城关镇").milestone_due["met"] is False


def test_a_target_raised_mid_quarter_judges_the_milestone_with_the_target_of_its_day(campaign, towns):
    a = towns[0]
    made = indicator(campaign, "projects", 100)
    target(made, a, 10)
    target(made, a, 20, on=D(2018, 5, 15))
    record(made, a, D(2018, 3, 1), 7)
    before = irow(scorecard(campaign, D(2018, 5, 14)), "projects", "城关镇")
    assert (before.target, before.rate) == (10, Decimal("70.00"))
    row = irow(scorecard(campaign, D(2018, 6, 1)), "projects", "城关镇")
    assert (row.target, row.rate) == (20, Decimal("35.00"))
    assert row.milestone_due == {"date": "2018-03-31", "percent": Decimal("30.00"), "required": 3, "met": True}
    assert (row.milestone_next["required"], row.milestone_next["shortfall"], row.milestone_next["days_left"]) == (
        12,
        5,
        29,
    )


def test_the_city_sums_the_townships_with_its_own_target_raised_by_a_city_revision(campaign, towns):
    a, b = towns[:2]
    made = indicator(campaign, "projects", 40)
    target(made, a, 10)
    record(made, a, D(2018, 2, 1), 6)
    record(made, b, D(2018, 2, 1), 4)  # a township without a target still counts in the city
    IndicatorTarget.objects.create(indicator=made, township=None, target=50, effective_on=D(2018, 5, 1))
    city = irow(scorecard(campaign, D(2018, 4, 30)), "projects", None)
    assert (city.target, city.value, city.rate, city.rank) == (40, 10, Decimal("25.00"), None)
    city = irow(scorecard(campaign, D(2018, 5, 1)), "projects", None)
    assert (city.target, city.rate) == (50, Decimal("20.00"))
    assert city.milestone_due["required"] == 12  # ceil(40 × 30 %) with the target of 03-31


def test_values_with_decimals_give_exact_rates_and_shortfalls(campaign, towns):
    a = towns[0]
    made = indicator(campaign, "tax", 7, unit="万元")
    target(made, a, 7)
    record(made, a, D(2018, 2, 1), "2.50")
    record(made, a, D(2018, 2, 2), "0.01")
    row = irow(scorecard(campaign, D(2018, 4, 1)), "tax", "城关镇")
    assert row.value == Decimal("2.51")
    assert row.rate == Decimal("35.86")  # 251/7 = 35.857…
    assert row.milestone_next["required"] == 5  # ceil(7 × 60 %)
    assert row.milestone_next["shortfall"] == Decimal("2.49")
    document = row.as_json()
    assert (document["value"], document["rate"], document["milestone_next"]["shortfall"]) == (2.51, 35.86, 2.49)


def test_an_indicator_with_its_own_milestones_and_the_campaign_band(campaign, towns):
    a = towns[0]
    campaign.band = Decimal("5")
    campaign.save()
    made = indicator(campaign, "projects", 10, milestones=[(D(2018, 6, 30), 50), (D(2018, 12, 31), 100)])
    target(made, a, 10)
    record(made, a, D(2018, 1, 5), "1.50")
    row = irow(scorecard(campaign, D(2018, 3, 31)), "projects", "城关镇")
    assert row.expected_rate == Decimal("24.72")  # 50 × 89/180
    assert row.milestone_due is None
    assert row.milestone_next == {
        "date": "2018-06-30",
        "percent": Decimal("50.00"),
        "required": 5,
        "shortfall": Decimal("3.50"),
        "days_left": 91,
    }
    assert row.colour == "red"  # 15 < 24.72 − 5
    record(made, a, D(2018, 1, 6), "0.50")  # 20 ≥ 19.72: yellow within the campaign's band
    assert irow(scorecard(campaign, D(2018, 3, 31)), "projects", "城关镇").colour == "yellow"


def test_ranks_are_by_rate_then_value_and_ties_share(campaign, towns):
    a, b, c, d = towns
    made = indicator(campaign, "projects", 40)
    for township, goal, value in ((a, 10, 5), (b, 10, 5), (c, 20, 10)):
        target(made, township, goal)
        record(made, township, D(2018, 2, 1), value)
    record(made, d, D(2018, 2, 1), 9)  # no target: listed, no rate, colour or rank, after the ranked
    found = card_of(scorecard(campaign, D(2018, 3, 1)), "projects")
    assert [(r.name, r.rank) for r in found.townships] == [
        ("西城街道", 1),
        ("城关镇", 2),
        ("东城街道", 2),
        ("南门镇", None),
    ]
    last = found.townships[-1]
    assert (last.target, last.value, last.rate, last.colour) == (0, 9, None, None)


def test_townships_with_neither_a_target_nor_a_value_are_not_listed(campaign, towns):
    a, b = towns[:2]
    made = indicator(campaign, "projects", 10)
    target(made, a, 10)
    record(made, b, D(2018, 5, 1), 1)  # counted only from 05-01
    names = [r.name for r in card_of(scorecard(campaign, D(2018, 4, 30)), "projects").townships]
    assert names == ["城关镇"]
    names = [r.name for r in card_of(scorecard(campaign, D(2018, 5, 1)), "projects").townships]
    assert names == ["城关镇", "东城街道"]


# ---- the built-in indicators ----


def _park_world(campaign, a, b):
    user = make_user("admin")
    first = Park.objects.create(
        township=a, name="一园", started_on=D(2018, 2, 1), started_mu=Decimal("12.50"),
        completed_on=D(2018, 3, 10), completed_m2=Decimal("1000.50"),
    )  # fmt: skip
    Park.objects.create(
        township=a, name="二园", started_on=D(2017, 12, 1), started_mu=Decimal("30"),
        completed_on=D(2018, 2, 1), completed_m2=Decimal("200"),
    )  # fmt: skip
    Park.objects.create(township=a, name="三园", planned_mu=Decimal("9"))  # not started
    ParkEntry.objects.create(park=first, name="甲", entered_on=D(2018, 2, 1), left_on=D(2018, 3, 31))
    ParkEntry.objects.create(park=first, name="乙", entered_on=D(2018, 3, 1), individual_to_company=True)
    ParkEntry.objects.create(park=first, name="丙", entered_on=D(2017, 12, 1))
    ParkEntry.objects.create(
        park=first, name="丁", entered_on=D(2018, 3, 1), individual_to_company=True,
        deleted_at=timezone.now(), deleted_by=user,
    )  # fmt: skip
    LandParcel.objects.create(township=a, name="地1", area_mu=Decimal("5.25"), freed_on=D(2018, 2, 2))
    LandParcel.objects.create(township=a, name="地2", area_mu=Decimal("1.10"), freed_on=D(2018, 3, 31))
    LandParcel.objects.create(township=a, name="地0", area_mu=Decimal("7"), freed_on=D(2017, 6, 1))
    LandParcel.objects.create(
        township=a, name="地3", area_mu=Decimal("3"), freed_on=D(2018, 2, 2), deleted_at=timezone.now(), deleted_by=user
    )
    village = make_village(a, "东村")
    for place, town, designated in ((village, a, D(2018, 3, 1)), (None, a, D(2018, 4, 1)), (None, b, None)):
        Demonstration.objects.create(
            campaign=campaign, township=town, village=place, applied_on=D(2018, 1, 1),
            checked_on=D(2018, 2, 1) if designated else None, designated_on=designated,
        )  # fmt: skip


BUILT_IN_VALUES = {
    # key: (value on 03-30, on 03-31)
    BuiltIn.PARKS_STARTED: (1, 1),
    BuiltIn.PARK_STARTED_MU: (Decimal("12.50"), Decimal("12.50")),
    BuiltIn.PARK_COMPLETED_M2: (Decimal("1200.50"), Decimal("1200.50")),
    BuiltIn.PARK_ENTRIES: (2, 1),  # 甲 left on 03-31
    BuiltIn.INDIVIDUAL_TO_COMPANY: (1, 1),
    BuiltIn.LAND_FREED_MU: (Decimal("5.25"), Decimal("6.35")),
    BuiltIn.ZERO_SIWU_VILLAGES: (1, 1),
    BuiltIn.ZERO_SIWU_TOWNSHIPS: (0, 0),
}


def test_every_built_in_indicator_counts_its_own_records(campaign, towns):
    a, b = towns[:2]
    _park_world(campaign, a, b)
    for key in BUILT_IN_VALUES:
        target(indicator(campaign, key, 10), a, 10)
    for day, position in ((D(2018, 3, 30), 0), (D(2018, 3, 31), 1)):
        card = scorecard(campaign, day)
        for key, values in BUILT_IN_VALUES.items():
            assert irow(card, key, "城关镇").value == values[position], (key, day)
            assert irow(card, key, None).value == values[position], (key, day)
    card = scorecard(campaign, D(2018, 4, 1))
    assert irow(card, BuiltIn.ZERO_SIWU_TOWNSHIPS, "城关镇").value == 1
    assert irow(card, BuiltIn.PARK_ENTRIES, "城关镇").as_json()["value"] == 1
    assert irow(card, BuiltIn.PARK_STARTED_MU, "城关镇").as_json()["value"] == 12.5


def test_a_demonstration_of_another_campaign_is_not_counted(campaign, towns):
    from tests.factories import make_campaign

    other = make_campaign(slug="other2018", year=2018)
    a = towns[0]
    Demonstration.objects.create(
        campaign=other, township=a, applied_on=D(2018, 1, 1), checked_on=D(2018, 1, 2), designated_on=D(2018, 1, 3)
    )
    target(indicator(campaign, BuiltIn.ZERO_SIWU_TOWNSHIPS, 1), a, 1)
    assert irow(scorecard(campaign, D(2018, 6, 1)), BuiltIn.ZERO_SIWU_TOWNSHIPS, "城关镇").value == 0


# ---- the score and the ranking ----


def _score_world(campaign, towns):
    a, b, c, d = towns
    x = indicator(campaign, "x", 100, weight=2)
    y = indicator(campaign, "y", 100, weight=1)
    for township, goal, value in ((a, 10, 15), (b, 10, 9), (c, 10, 5), (d, 0, 3)):
        target(x, township, goal)
        record(x, township, D(2018, 2, 1), value)
    for township, goal, value in ((a, 10, 3), (c, 10, 10)):
        target(y, township, goal)
        record(y, township, D(2018, 2, 1), value)
    return x, y


def test_the_score_is_the_weighted_mean_of_capped_rates_and_equal_scores_share_a_rank(campaign, towns):
    _score_world(campaign, towns)
    card = scorecard(campaign, D(2018, 3, 1))
    # A: (2 × min(150, 120) + 30) / 3 = 90; B: y has no target, 90 alone; C: (2 × 50 + 100) / 3
    assert [(x.name, x.score, x.rank) for x in card.ranking] == [
        ("城关镇", Decimal("90.00"), 1),
        ("东城街道", Decimal("90.00"), 1),
        ("西城街道", Decimal("66.67"), 3),
        ("南门镇", None, None),  # a value but no target > 0: no score, last
    ]
    assert card.as_json()["ranking"][0] == {"name": "城关镇", "score": 90, "rank": 1}
    assert card.as_json()["ranking"][2] == {"name": "西城街道", "score": 66.67, "rank": 3}


def test_the_cap_is_the_campaigns(campaign, towns):
    _score_world(campaign, towns)
    campaign.score_cap = Decimal("100")
    campaign.save()
    card = scorecard(campaign, D(2018, 3, 1))
    assert (line(card, "城关镇").score, line(card, "城关镇").rank) == (Decimal("76.67"), 2)  # (200 + 30) / 3
    assert (line(card, "东城街道").score, line(card, "东城街道").rank) == (Decimal("90.00"), 1)


def test_the_rectified_indicator_weighs_with_the_campaigns_weight(campaign, towns):
    _score_world(campaign, towns)
    c = towns[2]
    set_target(campaign, c, 4)
    for _ in range(2):
        rectification_record(enterprise=make_unit(c), method=Method.CLOSED, rectified_on=D(2018, 2, 1))
    campaign.rectified_weight = Decimal("3")
    campaign.save()
    card = scorecard(campaign, D(2018, 3, 1))
    # C: (3 × 50 + 2 × 50 + 1 × 100) / 6
    assert line(card, "西城街道").score == Decimal("58.33")
    assert line(card, "城关镇").score == Decimal("90.00")  # no rectified target: left out
    assert card.as_json()["indicators"][0]["weight"] == 3


def test_the_rectified_indicator_is_the_progress_report(campaign, towns):
    a, b = towns[:2]
    set_target(campaign, a, 4)
    set_target(campaign, b, 0)
    rectification_record(enterprise=make_unit(a), method=Method.CLOSED, rectified_on=D(2018, 3, 31))
    make_unit(b)
    day = D(2018, 4, 2)
    progress = progress_report(campaign, day).as_json()
    first = scorecard(campaign, day).as_json()["indicators"][0]

    def as_irow(row):
        row = {k: v for k, v in row.items() if k not in ("identified", "open", "demolished_m2")}
        row["value"] = row.pop("rectified")
        return row

    assert first["key"] == "rectified"
    assert first["city"] == as_irow(progress["city"])
    assert first["townships"] == [as_irow(row) for row in progress["townships"]]


def test_a_day_outside_the_campaign_is_refused(campaign):
    with pytest.raises(ReportError):
        scorecard(campaign, D(2019, 1, 1))


# ---- the document: command and API ----


def run_scorecard(*args):
    out = io.StringIO()
    call_command("scorecard", *args, stdout=out)
    return out.getvalue()


def test_the_document_follows_spec_5(campaign, towns):
    x, y = _score_world(campaign, towns)
    set_target(campaign, towns[0], 10)
    document = json.loads(run_scorecard("--campaign", "c2018", "--as-of", "2018-03-31", "--json"))
    assert set(document) == {"campaign", "as_of", "indicators", "ranking"}
    assert (document["campaign"], document["as_of"]) == ("c2018", "2018-03-31")
    assert [i["key"] for i in document["indicators"]] == ["rectified", "x", "y"]
    for item in document["indicators"]:
        assert set(item) == {"key", "name", "unit", "weight", "city", "townships"}
        assert set(item["city"]) == IROW_KEYS and item["city"]["rank"] is None
        assert all(set(row) == IROW_KEYS for row in item["townships"])
    rectified, first = document["indicators"][0], document["indicators"][1]
    assert (rectified["name"], rectified["unit"], rectified["weight"]) == ("四无生产经营单位整治", "家", 1)
    assert (first["name"], first["unit"], first["weight"]) == ("x", "个", 2)
    assert [row["name"] for row in first["townships"]] == ["城关镇", "东城街道", "西城街道", "南门镇"]
    assert first["townships"][0] == {
        "name": "城关镇",
        "target": 10,
        "value": 15,
        "rate": 150,
        "expected_rate": 30,
        "colour": "green",
        "rank": 1,
        "milestone_due": {"date": "2018-03-31", "percent": 30, "required": 3, "met": True},
        "milestone_next": {"date": "2018-06-30", "percent": 60, "required": 6, "shortfall": 0, "days_left": 91},
    }
    assert first["city"]["target"] == 100 and first["city"]["value"] == 32
    # 城关镇 has a rectified target too now, with no unit rectified: (0 + 2 × 120 + 30) / 4
    assert document["ranking"] == [
        {"name": "东城街道", "score": 90, "rank": 1},
        {"name": "城关镇", "score": 67.5, "rank": 2},
        {"name": "西城街道", "score": 66.67, "rank": 3},
        {"name": "南门镇", "score": None, "rank": None},
    ]


def test_the_api_serves_the_commands_document(client, campaign, towns):
    _score_world(campaign, towns)
    url = "/api/scorecard?campaign=c2018&as_of=2018-03-31"
    assert client.get(url).status_code == 302  # login required
    client.force_login(make_user("viewer", role="city_viewer", password="a-long-passphrase-9"))
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert response.json() == json.loads(run_scorecard("--campaign", "c2018", "--as-of", "2018-03-31", "--json"))
    for bad in (
        "campaign=c2018&as_of=2018-02-30",
        "campaign=c2018&as_of=2019-01-01",
        "campaign=c2018",
        "campaign=a b&as_of=2018-03-31",
    ):
        answer = client.get(f"/api/scorecard?{bad}")
        assert answer.status_code == 400 and answer.json()["error"], bad
    assert client.get("/api/scorecard?campaign=nope&as_of=2018-03-31").status_code == 404
    assert client.get("/api/scorecard?as_of=2018-03-31").status_code == 404  # as progress_api


def test_township_staff_read_the_city_wide_scorecard(client, campaign, towns):
    _score_world(campaign, towns)
    client.force_login(make_user("staff", role="township_staff", township=towns[1]))
    response = client.get("/api/scorecard?campaign=c2018&as_of=2018-03-31")
    assert response.status_code == 200 and len(response.json()["ranking"]) == 4


@pytest.mark.parametrize(
    "args",
    [
        ["--campaign", "nope", "--as-of", "2018-03-31", "--json"],
        ["--campaign", "c2018", "--as-of", "2018-13-01", "--json"],
        ["--campaign", "c2018", "--as-of", "2019-01-01", "--json"],
    ],
)
def test_the_command_refuses_bad_arguments(campaign, args):
    with pytest.raises(CommandError):
        run_scorecard(*args)


def test_the_command_exits_1_with_a_message_on_stderr(campaign, capsys):
    from reports.management.commands.scorecard import Command

    for argv in (["--campaign", "c2018", "--json"], ["--campaign", "c2018", "--as-of", "2019-01-01", "--json"]):
        with pytest.raises(SystemExit) as exited:
            Command().run_from_argv(["manage.py", "scorecard", *argv])
        assert exited.value.code == 1
        captured = capsys.readouterr()
        assert captured.err.strip() and captured.out.strip() == ""


def test_the_table_for_people(campaign, towns):
    _score_world(campaign, towns)
    text = run_scorecard("--campaign", "c2018", "--as-of", "2018-03-31")
    assert "城关镇" in text and "90.00%" in text


# ---- the engine equals a replay of the raw rows ----

NAMES = ("甲镇", "乙镇", "丙镇")
dates = st.one_of(
    st.sampled_from([D(2017, 12, 31), START, D(2018, 3, 31), D(2018, 6, 30), END]), st.dates(D(2017, 12, 1), END)
)


@st.composite
def worlds(draw):
    records = [
        (draw(st.sampled_from(NAMES)), draw(dates), Decimal(draw(st.integers(0, 1000))) / 100)
        for _ in range(draw(st.integers(0, 10)))
    ]
    entries = []
    for _ in range(draw(st.integers(0, 8))):
        entered = draw(dates)
        left = draw(st.one_of(st.none(), st.dates(entered, END)))
        entries.append((draw(st.sampled_from(NAMES)), entered, left, draw(st.booleans())))
    targets = [
        (key, draw(st.sampled_from(NAMES)), draw(st.dates(START, END)), draw(st.integers(0, 12)))
        for key in ("amount", BuiltIn.PARK_ENTRIES, BuiltIn.INDIVIDUAL_TO_COMPANY)
        for _ in range(draw(st.integers(0, 3)))
    ]
    # One revision per indicator, township and day (a later one for the same day replaces it).
    targets = list({(key, name, on): (key, name, on, goal) for key, name, on, goal in targets}.values())
    weights = [draw(st.integers(1, 4)) for _ in range(3)]
    return records, entries, targets, weights


def _replay_target(revisions, day):
    in_force = sorted((on, goal) for on, goal in revisions if on <= day)
    return in_force[-1][1] if in_force else 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds(), probe=st.one_of(st.sampled_from([START, D(2018, 3, 31), END]), st.dates(START, END)))
def test_the_engine_equals_a_replay_of_the_rows(campaign, world, probe):
    records, entries, targets, weights = world
    counts.clear()
    IndicatorTarget.objects.all().delete()
    IndicatorRecord.objects.all().delete()
    Indicator.objects.all().delete()
    ParkEntry.objects.all().delete()
    Park.objects.all().delete()
    townships = {name: Township.objects.get_or_create(name=name)[0] for name in NAMES}
    made = {
        key: indicator(campaign, key, 10, weight=weight)
        for key, weight in zip(("amount", BuiltIn.PARK_ENTRIES, BuiltIn.INDIVIDUAL_TO_COMPANY), weights, strict=True)
    }
    for i, (name, day, amount) in enumerate(records):
        record(made["amount"], townships[name], day, amount, name=str(i))
    parks = {name: Park.objects.create(township=township, name="园") for name, township in townships.items()}
    for i, (name, entered, left, flagged) in enumerate(entries):
        ParkEntry.objects.create(
            park=parks[name], name=str(i), entered_on=entered, left_on=left, individual_to_company=flagged
        )
    for key, name, on, goal in targets:
        IndicatorTarget.objects.create(indicator=made[key], township=townships[name], effective_on=on, target=goal)

    def value(key, name, day):
        if key == "amount":
            return sum((a for n, d, a in records if n == name and START <= d <= day), Decimal(0))
        return sum(
            1
            for n, entered, left, flagged in entries
            if n == name
            and START <= entered <= day
            and (left is None or left > day)
            and (flagged or key == BuiltIn.PARK_ENTRIES)
        )

    card = scorecard(campaign, probe)
    expected_scores = {}
    for key, weight in zip(made, weights, strict=True):
        found = card_of(card, key)
        assert found.city.value == sum(value(key, name, probe) for name in NAMES)
        for name in NAMES:
            goal = _replay_target([(on, g) for k, n, on, g in targets if k == key and n == name], probe)
            row = next((r for r in found.townships if r.name == name), None)
            if row is None:  # listed only with a target revision or a value counted by the day
                assert not any(k == key and n == name for k, n, _on, _g in targets)
                continue
            assert (row.target, row.value) == (goal, value(key, name, probe)), (key, name)
            rate = None if goal == 0 else round_half_up(Fraction(value(key, name, probe)) * 100 / goal)
            assert row.rate == rate
            if rate is not None:
                expected_scores.setdefault(name, []).append((rate, weight))
    for name in NAMES:
        pairs = expected_scores.get(name)
        want = None
        if pairs:
            want = round_half_up(sum(Fraction(min(r, Decimal(120))) * w for r, w in pairs) / sum(w for _r, w in pairs))
        got = next((x for x in card.ranking if x.name == name), None)
        assert (got.score if got else None) == want, name
    ranked = [x for x in card.ranking if x.score is not None]
    for x in ranked:
        assert x.rank == 1 + sum(1 for other in ranked if other.score > x.score)
    assert [x.score for x in card.ranking] == sorted(
        (x.score for x in card.ranking), key=lambda s: (s is None, -(s or 0))
    )


# ---- the cache renews after every kind of write; the query count ----


def test_the_values_are_kept_and_renewed_after_each_kind_of_write(campaign, towns):
    a, b = towns[:2]
    made = {key: indicator(campaign, key, 10) for key in BUILT_IN_VALUES}
    made["projects"] = indicator(campaign, "projects", 10)
    day = D(2018, 6, 1)

    def values(township="城关镇"):
        card = scorecard(campaign, day)
        return {key: next((r.value for r in card_of(card, key).townships if r.name == township), 0) for key in made}

    assert set(values().values()) == {0}
    park = Park.objects.create(township=a, name="园", started_on=D(2018, 2, 1), started_mu=Decimal("3"))
    assert values()[BuiltIn.PARK_STARTED_MU] == Decimal("3.00")
    with CaptureQueriesContext(connection) as kept:
        values()
    assert not [q for q in kept.captured_queries if "campaign_park" in q["sql"]]
    park.completed_on, park.completed_m2 = D(2018, 5, 1), Decimal("80")
    park.save()
    assert values()[BuiltIn.PARK_COMPLETED_M2] == Decimal("80.00")
    entry = ParkEntry.objects.create(park=park, name="甲", entered_on=D(2018, 3, 1))
    assert values()[BuiltIn.PARK_ENTRIES] == 1
    entry.individual_to_company = True
    entry.save()
    assert values()[BuiltIn.INDIVIDUAL_TO_COMPANY] == 1
    entry.left_on = D(2018, 5, 1)
    entry.save()
    assert values()[BuiltIn.PARK_ENTRIES] == 0
    park.township = b  # the park and its entries move to another township
    park.save()
    assert values()[BuiltIn.PARKS_STARTED] == 0
    assert values("东城街道")[BuiltIn.PARKS_STARTED] == 1
    parcel = LandParcel.objects.create(township=a, name="地", area_mu=Decimal("2.5"), freed_on=D(2018, 2, 1))
    assert values()[BuiltIn.LAND_FREED_MU] == Decimal("2.50")
    parcel.deleted_at = timezone.now()
    parcel.save()
    assert values()[BuiltIn.LAND_FREED_MU] == 0
    demonstration = Demonstration.objects.create(
        campaign=campaign, township=a, applied_on=D(2018, 1, 1), checked_on=D(2018, 2, 1)
    )
    demonstration.designated_on = D(2018, 2, 2)
    demonstration.save()
    assert values()[BuiltIn.ZERO_SIWU_TOWNSHIPS] == 1
    one = record(made["projects"], a, D(2018, 2, 1), 4)
    assert values()["projects"] == 4
    one.amount = Decimal("5.5")
    one.save()
    assert values()["projects"] == Decimal("5.50")
    one.date = D(2018, 7, 1)
    one.save()
    assert values()["projects"] == 0
    one.delete()
    assert values()["projects"] == 0


def _all_sources(campaign, townships, n):
    keys = list(BUILT_IN_VALUES) + [f"custom{i}" for i in range(n)]
    for key in keys:
        if not Indicator.objects.filter(campaign=campaign, key=key).exists():
            made = indicator(campaign, key, 10, milestones=[(D(2018, 6, 30), 50)] if key.startswith("custom") else None)
            for township in townships:
                target(made, township, 5)
                if key.startswith("custom"):
                    record(made, township, D(2018, 2, 1), 2)


def test_the_query_count_does_not_grow_with_the_indicators(campaign, towns):
    _park_world(campaign, *towns[:2])
    for township in towns:
        set_target(campaign, township, 3)

    def asked():
        counts.clear()
        with CaptureQueriesContext(connection) as cold:
            scorecard(campaign, D(2018, 6, 1)).as_json()
        with CaptureQueriesContext(connection) as warm:
            scorecard(campaign, D(2018, 6, 1)).as_json()
        return len(cold), len(warm)

    _all_sources(campaign, towns[:2], 1)
    small = asked()
    _all_sources(campaign, towns, 12)
    # progress (7 cold, 4 warm), indicators, their milestones, their targets, then cold the five
    # source tables (records, parks, entries, parcels, designations)
    assert asked() == small == (15, 7)


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(
        st.tuples(st.dates(datetime.date(2017, 12, 1), datetime.date(2019, 1, 31)), st.integers(-5, 9)), max_size=30
    ),
    first=st.dates(datetime.date(2018, 1, 1), datetime.date(2018, 12, 31)),
    length=st.integers(0, 400),
)
def test_a_series_steps_are_its_value_on_each_day_it_changed(events, first, length):
    """``Series.steps`` (a chart's points): the first and last day and every day between on which
    the value changed, each with its value as ``at`` answers it: checked against a day-by-day walk."""
    from reports.scorecard import Series

    last = min(first + datetime.timedelta(days=length), datetime.date(2018, 12, 31))
    series = Series(events)
    walk = [(first, series.at(first))]
    day = first
    while day < last:
        day += datetime.timedelta(days=1)
        if series.at(day) != series.at(day - datetime.timedelta(days=1)) or day == last:
            walk.append((day, series.at(day)))
    changed = {d for d, delta in events}
    points = series.steps(first, last)
    assert [d for d, _v in points] == sorted({first, last} | {d for d in changed if first < d <= last})
    assert all(value == series.at(d) for d, value in points)
    assert set(walk) <= set(points)


# --- the city's series, renewed by the townships that changed --------------------------------------


def _steps(series, first=datetime.date(2018, 1, 1), last=datetime.date(2018, 12, 31)):
    return series.steps(first, last), list(series.events())


def test_the_city_sum_renewed_by_one_township_equals_a_sum_made_anew(monkeypatch):
    from reports.scorecard import Series, _CitySum

    d = datetime.date
    parts = {
        1: Series([(d(2018, 1, 5), Decimal("1.50")), (d(2018, 3, 1), Decimal("2.00"))], Decimal("0.00")),
        2: Series([(d(2018, 1, 5), Decimal("0.50")), (d(2018, 4, 1), Decimal("3.25"))], Decimal("0.00")),
        3: Series([(d(2018, 2, 1), Decimal("7.00"))], Decimal("0.00")),
    }
    city = _CitySum(Decimal("0.00"))
    assert _steps(city.of(parts)) == _steps(Series.combined(parts.values(), Decimal("0.00")))
    # Township 2 changed: its 4 April is gone, 5 January moved; township 3 has nothing any more.
    changed = dict(parts)
    changed[2] = Series([(d(2018, 1, 6), Decimal("0.50"))], Decimal("0.00"))
    del changed[3]
    changed[4] = Series([(d(2018, 5, 1), Decimal("1.00"))], Decimal("0.00"))
    read = []
    original = Series.events

    def counted(series):
        read.append(series)
        return original(series)

    monkeypatch.setattr(Series, "events", counted)
    renewed = city.of(changed)
    monkeypatch.setattr(Series, "events", original)
    anew = Series.combined(changed.values(), Decimal("0.00"))
    assert _steps(renewed) == _steps(anew)
    assert renewed.first_day() == anew.first_day() == d(2018, 1, 5)
    assert renewed.at(d(2018, 4, 30)) == Decimal("4.00")  # 1.50 + 2.00 + 0.50, nothing of township 3
    assert parts[1] not in read  # the unchanged township is not read again
    assert city.of(dict(changed)) is renewed  # the same series: nothing to renew
