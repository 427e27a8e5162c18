"""Page-level report entry points: the figures, projection, village breakdown and ledger they add."""

import datetime
import json

import pytest
from django.utils import timezone

from enterprises.models import Enterprise, Method
from enterprises.services import rectification_record, relapse_record
from reports.dashboard import dashboard_context, township_context, village_breakdown
from tests.factories import make_township, make_unit, make_village, set_target

D = datetime.date

pytestmark = pytest.mark.django_db


def rectify(unit, day, method=Method.CLOSED):
    return rectification_record(enterprise=unit, method=method, rectified_on=day)


@pytest.fixture
def town(campaign, frozen_today):
    frozen_today(D(2018, 12, 31))
    township = make_township("东城街道")
    set_target(campaign, township, 10)
    return township


def test_week_and_quarter_figures_count_the_right_days(campaign, town):
    make_unit(town, identified_on=D(2018, 3, 30))  # before the quarter
    in_quarter = make_unit(town, identified_on=D(2018, 4, 1))  # in the quarter, before the week
    in_week = make_unit(town, identified_on=D(2018, 4, 5))
    rectify(in_quarter, D(2018, 4, 2))
    rectify(in_week, D(2018, 4, 10))  # as_of itself is in the week

    context = dashboard_context(campaign, D(2018, 4, 10))
    s = context["ranking"][0]
    assert s.week == (D(2018, 4, 4), D(2018, 4, 10))
    assert s.quarter == (D(2018, 4, 1), D(2018, 4, 10))
    assert (s.week_identified, s.quarter_identified) == (1, 2)
    assert (s.week_rectified, s.quarter_rectified) == (1, 2)
    assert (context["city"].week_identified, context["city"].quarter_identified) == (1, 2)


def test_a_relapse_this_week_is_subtracted_from_the_weeks_rectified(campaign, town):
    unit = make_unit(town, identified_on=D(2018, 2, 1))
    rectify(unit, D(2018, 3, 1))
    relapse_record(enterprise=unit, found_on=D(2018, 4, 8))
    s = dashboard_context(campaign, D(2018, 4, 10))["ranking"][0]
    assert s.week_rectified == -1
    assert s.row.rectified == 0


def test_projection_uses_the_last_four_weeks(campaign, town):
    # Target 10: the 06-30 milestone (60 %) needs 6. Four rectified in the 28 days to 05-31,
    # one before: 1 a week over 30 days left → 5 + 4 = 9 ≥ 6.
    units = [make_unit(town, identified_on=D(2018, 1, 10)) for _ in range(5)]
    rectify(units[0], D(2018, 2, 1))
    for unit, day in zip(units[1:], [D(2018, 5, 4), D(2018, 5, 10), D(2018, 5, 20), D(2018, 5, 31)]):
        rectify(unit, day)
    s = dashboard_context(campaign, D(2018, 5, 31))["ranking"][0]
    assert s.pace_window == (D(2018, 5, 4), D(2018, 5, 31))
    assert s.shortfall == 1
    assert str(s.projection.pace) == "1.0"
    assert s.projection.needed == 1  # 1 short in 30 days
    assert s.projection.projected == 9
    assert s.projection.on_track


def test_a_township_without_a_target_has_no_projection_and_no_colour(campaign, town):
    other = make_township("无任务镇")
    make_unit(other)
    ranking = dashboard_context(campaign, D(2018, 5, 31))["ranking"]
    loose = next(s for s in ranking if s.row.township_id == other.pk)
    assert loose.projection is None
    assert loose.row.rank is None
    assert loose.colour_class == "badge-grey"


def test_the_charts_follow_the_chosen_township(campaign, town):
    other = make_township("西城镇")
    set_target(campaign, other, 40)
    city = dashboard_context(campaign, D(2018, 5, 31))
    chosen = dashboard_context(campaign, D(2018, 5, 31), township_id=other.pk)
    unknown = dashboard_context(campaign, D(2018, 5, 31), township_id=999999)
    assert city["focus"] is None and unknown["focus"] is None
    assert chosen["focus"].row.name == "西城镇"
    steps = json.loads(chosen["progress_chart"])["data"][0]
    assert steps["y"] == [0, 12, 24, 32, 40]  # 30/60/80/100 % of 40
    city_steps = json.loads(city["progress_chart"])["data"][0]
    assert city_steps["y"] == [0, 2700, 5400, 7200, 9000]


def test_the_charts_speak_the_page_language_and_are_safe_in_a_script_element(campaign, town):
    unit = make_unit(town, identified_on=D(2018, 1, 10))
    rectify(unit, D(2018, 1, 20))
    context = dashboard_context(campaign, D(2018, 3, 31))
    progress = json.loads(context["progress_chart"])
    assert [trace["name"] for trace in progress["data"]] == ["节点目标", "序时进度", "累计整治"]
    assert progress["data"][2]["y"] == [0, 1, 1]
    assert "<" not in context["progress_chart"]  # "<br>" in hover text is escaped as \u003C
    weekly = json.loads(context["weekly_chart"])
    assert [trace["name"] for trace in weekly["data"]] == ["整治", "新排查"]
    assert sum(weekly["data"][0]["y"]) == 1
    assert sum(weekly["data"][1]["y"]) == 1
    assert weekly["data"][0]["x"][-1] == "2018-03-31"


def test_village_breakdown_follows_the_counting_rules(campaign, town):
    v1, v2 = make_village(town, "一村"), make_village(town, "二社区")
    # 一村: one rectified, one relapsed and rectified again (counts once), one relapsed and open.
    a = make_unit(town, village=v1, identified_on=D(2018, 1, 5))
    rectify(a, D(2018, 2, 1))
    b = make_unit(town, village=v1, identified_on=D(2018, 1, 5))
    rectify(b, D(2018, 2, 1))
    relapse_record(enterprise=b, found_on=D(2018, 3, 1))
    rectify(b, D(2018, 3, 20))
    c = make_unit(town, village=v1, identified_on=D(2018, 1, 5))
    rectify(c, D(2018, 2, 1))
    relapse_record(enterprise=c, found_on=D(2018, 3, 1))
    # 二社区: a unit rectified before the campaign (neither rectified this year nor open),
    # one identified after as_of (not counted), one soft-deleted (never counted).
    d = make_unit(town, village=v2, identified_on=D(2017, 6, 1))
    rectification_record(enterprise=d, method=Method.CLOSED, rectified_on=D(2017, 7, 1))
    make_unit(town, village=v2, identified_on=D(2018, 5, 1))
    make_unit(town, village=v2, identified_on=D(2018, 1, 5), deleted_at=timezone.now())
    # No village.
    make_unit(town, identified_on=D(2018, 2, 2))

    as_of = D(2018, 3, 31)
    lines = village_breakdown(town, campaign, as_of)
    table = {line.name: (line.total, line.identified, line.rectified, line.open) for line in lines}
    assert table == {"一村": (3, 3, 2, 1), "二社区": (1, 0, 0, 0), None: (1, 1, 0, 1)}
    assert [line.name for line in lines] == ["一村", "二社区", None]
    assert [line.zero for line in lines] == [False, True, False]

    row = township_context(campaign, as_of, town)["scope"].row
    assert sum(line.open for line in lines) == row.open

    # Kept per process until the township's data changes: a unit moved to another village (no
    # count changes) and a village renamed show on the next read.
    Enterprise.objects.filter(pk=c.pk).update(village=v2)
    v1.name = "一村（合并）"
    v1.save()
    table = {line.name: (line.total, line.open) for line in village_breakdown(town, campaign, as_of)}
    assert table == {"一村（合并）": (2, 0), "二社区": (2, 1), None: (1, 1)}
    assert sum(line.rectified for line in lines) == row.rectified


def test_village_breakdown_is_one_grouped_query(campaign, town, django_assert_num_queries):
    for i in range(5):
        village = make_village(town, f"{i}村")
        for _ in range(3):
            rectify(make_unit(town, village=village), D(2018, 2, 1))
    # the versions, the grouped counts, the villages' names; then the counts come from the cache
    with django_assert_num_queries(3):
        lines = village_breakdown(town, campaign, D(2018, 3, 31))
    assert len(lines) == 5
    with django_assert_num_queries(2):
        assert village_breakdown(town, campaign, D(2018, 3, 31)) == lines


def test_ledger_balances_for_week_quarter_and_year(campaign, town):
    old = make_unit(town, identified_on=D(2017, 11, 1))  # carried into the year open
    units = [make_unit(town, identified_on=D(2018, m, 3)) for m in (1, 2, 4, 4)]
    rectify(old, D(2018, 4, 5))
    rectify(units[0], D(2018, 2, 1))
    relapse_record(enterprise=units[0], found_on=D(2018, 4, 6))
    rectify(units[2], D(2018, 4, 7))

    context = township_context(campaign, D(2018, 4, 8), town)
    ledgers = {entry["label"]: entry for entry in context["ledgers"]}
    assert [entry["first"] for entry in context["ledgers"]] == [D(2018, 4, 2), D(2018, 4, 1), D(2018, 1, 1)]
    for entry in ledgers.values():
        assert entry["open_start"] + entry["identified"] - entry["rectified"] + entry["relapsed"] == entry["open_end"]
    year = ledgers["年度累计"]
    assert (year["open_start"], year["identified"], year["rectified"], year["relapsed"], year["open_end"]) == (
        1,
        4,
        3,
        1,
        3,
    )
    # On the eve of the week (04-01) the carried unit and the 02-03 unit were open.
    week = ledgers["本周"]
    assert (week["open_start"], week["identified"], week["rectified"], week["relapsed"], week["open_end"]) == (
        2,
        2,
        2,
        1,
        3,
    )


def test_township_without_target_or_units_has_an_empty_page(campaign, frozen_today):
    frozen_today()
    empty = make_township("空白乡")
    context = township_context(campaign, D(2018, 6, 1), empty)
    assert context["scope"] is None
    assert context["villages"] == []
    assert Enterprise.objects.count() == 0


def test_the_ranking_shows_each_townships_rank_change_since_the_last_issued_notice(campaign, town, client):
    """Like the notice itself: ↑n / ↓n against the last notice issued for a day before the page's,
    新 for a township not ranked then; before any notice, no arrow."""
    from django.urls import reverse

    from reports.models import Notice
    from tests.factories import make_user

    west, north = make_township("西城街道"), make_township("北山镇")
    set_target(campaign, west, 10)
    set_target(campaign, north, 10)
    units = {t: [make_unit(t, identified_on=D(2018, 1, 5)) for _ in range(4)] for t in (town, west, north)}
    for unit in units[town][:3] + units[west][:2] + units[north][:1]:
        rectify(unit, D(2018, 3, 1))  # today: 东城 3, 西城 2, 北山 1 of 10
    figures = {"townships": [{"township_id": west.pk, "rank": 1}, {"township_id": town.pk, "rank": 2}]}
    leader = make_user("leader", role="city_admin")
    Notice.objects.create(
        campaign=campaign, serial=7, as_of=D(2018, 3, 5), figures=figures, issued_at=timezone.now(), issued_by=leader
    )

    context = dashboard_context(campaign, D(2018, 3, 12))
    assert context["ranking_notice"][:2] == (7, D(2018, 3, 5))
    assert [(s.row.name, s.row.rank, s.moved_text) for s in context["ranking"]] == [
        ("东城街道", 1, "↑1"),
        ("西城街道", 2, "↓1"),
        ("北山镇", 3, "新"),
    ]
    # The notice's own day, or earlier, compares with nothing issued before it.
    assert {s.moved for s in dashboard_context(campaign, D(2018, 3, 5))["ranking"]} == {None}

    client.force_login(leader)
    html = client.get(reverse("reports:dashboard") + "?campaign=c2018&as_of=2018-03-12").content.decode()
    assert '<span class="sc-move sc-move-up">↑1</span>' in html
    assert '<span class="sc-move sc-move-down">↓1</span>' in html
    assert 'id="ranking-compared"' in html and "2018-03-05" in html
