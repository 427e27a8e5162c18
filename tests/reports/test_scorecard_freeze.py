"""SPEC 5: a quarter's 赛马 scorecard frozen with its quarterly assessment (季度督考), with each
township's rank change against the previous frozen one; it never changes once issued. And the
weekly notice's section naming the townships in red on each indicator beside the 四无 count."""

import datetime
import io
from decimal import Decimal

import docx
import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaign.models import Indicator, IndicatorRecord, IndicatorTarget
from reports import counts
from reports.models import Assessment
from reports.notices import content as notice
from reports.scorecard import last_frozen, movement, movement_text
from tests.factories import make_township
from tests.reports import test_notice
from tests.reports.test_notice import WEEK2, docx_text, rectify

world = test_notice.world  # 东城 7, 西城 2, 南湖 0 of 10 rectified by 03-31; today frozen at 2018-12-31
D = datetime.date
Q1, Q2 = D(2018, 3, 31), D(2018, 6, 30)


@pytest.fixture(autouse=True)
def fresh_cache():
    counts.clear()
    yield
    counts.clear()


def record(indicator, township, day, amount, name=None):
    return IndicatorRecord.objects.create(
        indicator=indicator, township=township, name=name or f"{township.name}{day}", date=day, amount=Decimal(amount)
    )


@pytest.fixture
def raced(world):
    """A second indicator, 新增就业 (target 10 per township), and 北山镇, on it only from 04-01.

    On 03-31 (expected 30 %): 东城 四无 70 % + 就业 10 % → 40; 西城 20 + 50 → 35; 南湖 0 + 90 → 45;
    北山 has no target yet: no score. Ranks 南湖 1, 东城 2, 西城 3.
    On 06-30 (expected 60 %): 东城 60 % (a relapse on 04-03) + 10 → 35; 西城 20 + 100 → 60;
    南湖 0 + 90 → 45; 北山 就业 100 % → 100. Ranks 北山 1 (新), 西城 2 (↑1), 南湖 3 (↓2), 东城 4 (↓2).
    """
    towns = world.towns
    jobs = Indicator.objects.create(campaign=world.campaign, key="jobs", name="新增就业", unit="人", target=40)
    for town in towns.values():
        IndicatorTarget.objects.create(indicator=jobs, township=town, target=10, effective_on=D(2018, 1, 1))
    north = make_township("北山镇")
    IndicatorTarget.objects.create(indicator=jobs, township=north, target=10, effective_on=D(2018, 4, 1))
    record(jobs, towns["东城街道"], D(2018, 3, 1), 1)
    record(jobs, towns["西城街道"], D(2018, 3, 2), 5)
    record(jobs, towns["南湖镇"], D(2018, 3, 3), 9)
    record(jobs, towns["西城街道"], D(2018, 5, 2), 5, name="西城五月")
    record(jobs, north, D(2018, 5, 3), 10)
    world.jobs, world.north = jobs, north
    return world


def freeze(world, day, verdict="好"):
    return notice.assessment_freeze(campaign=world.campaign, milestone_date=day, verdict=verdict, user=world.admin)


def lines(frozen):
    return {t["name"]: t for t in frozen.figures["scorecard"]["townships"]}


def test_the_assessment_freezes_every_indicator_and_each_townships_cells_score_and_rank(raced):
    q1 = freeze(raced, Q1)
    card = q1.figures["scorecard"]
    assert card["as_of"] == "2018-03-31" and card["score_cap"] == 120 and card["previous_date"] is None
    assert card["indicators"] == [
        {"key": "rectified", "name": "四无生产经营单位整治", "unit": "家", "weight": 1},
        {"key": "jobs", "name": "新增就业", "unit": "人", "weight": 1},
    ]
    assert [(t["name"], t["score"], t["rank"]) for t in card["townships"]] == [
        ("南湖镇", 45, 1),
        ("东城街道", 40, 2),
        ("西城街道", 35, 3),
        ("北山镇", None, None),
    ]
    east = lines(q1)["东城街道"]
    assert east["cells"] == [
        {"value": 7, "target": 10, "rate": 70, "colour": "green"},
        {"value": 1, "target": 10, "rate": 10, "colour": "red"},
    ]
    assert lines(q1)["北山镇"]["cells"] == [None, {"value": 0, "target": 0, "rate": None, "colour": None}]
    # The first frozen scorecard has nothing to compare with.
    assert {t["change"] for t in card["townships"]} == {None}
    # The township table's 得分 is the scorecard's once other indicators are defined.
    assert {r["name"]: r["score"] for r in q1.figures["townships"]}["南湖镇"] == 45


def test_the_next_assessment_shows_each_rank_change_against_the_previous_frozen_one(raced):
    freeze(raced, Q1)
    q2 = freeze(raced, Q2)
    card = q2.figures["scorecard"]
    assert card["previous_date"] == "2018-03-31"
    assert [(t["name"], t["rank"], t["previous_rank"], t["change"], t["places"]) for t in card["townships"]] == [
        ("北山镇", 1, None, "new", 0),
        ("西城街道", 2, 3, "up", 1),
        ("南湖镇", 3, 1, "down", 2),
        ("东城街道", 4, 2, "down", 2),
    ]

    table = next(
        t for t in docx.Document(io.BytesIO(q2.docx.open("rb").read())).tables if t.rows[0].cells[3].text == "较上季度"
    )
    assert [c.text for c in table.rows[0].cells] == [
        "排名",
        "乡镇(街道)",
        "得分",
        "较上季度",
        "四无生产经营单位整治（家）",
        "新增就业（人）",
    ]
    printed = {row.cells[1].text: [c.text for c in row.cells] for row in table.rows[1:]}
    assert printed["北山镇"][:4] == ["1", "北山镇", "100.00", "新"]
    assert printed["西城街道"][:4] == ["2", "西城街道", "60.00", "↑1"]
    assert printed["东城街道"][3] == "↓2" and printed["东城街道"][5] == "1/10\n10.00%"
    red_fill = table.rows[4].cells[5]._tc.tcPr.find(docx.oxml.ns.qn("w:shd"))
    assert red_fill is not None and red_fill.get(docx.oxml.ns.qn("w:fill")) == "F8D0D0"
    text = docx_text(q2.docx.open("rb").read())
    assert "三、赛马综合排名" in text and "四、考核意见" in text and "与2018年3月31日节点季度督考" in text

    sheet = openpyxl.load_workbook(io.BytesIO(q2.xlsx.open("rb").read()))["赛马综合排名"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:5] == ("排名", "乡镇(街道)", "得分", "较上季度", "上季度排名")
    by_name = {v[1]: v for v in values[1:]}
    assert by_name["西城街道"][:5] == (2, "西城街道", 60, "↑1", 3)
    assert by_name["西城街道"][9:13] == (10, 10, 100, "绿")  # 就业: value, target, rate, colour

    page = q2.html.open("rb").read().decode()
    assert 'id="notice-scorecard"' in page and "↓2" in page and 'class="sc-cell sc-red"' in page


def test_a_frozen_scorecard_never_changes_after_corrections(raced):
    q1 = freeze(raced, Q1)
    figures = q1.figures
    files = {fmt: q1.stored(fmt)[0].open("rb").read() for fmt in ("docx", "xlsx", "html")}
    # Corrections dated on or before the milestone: a record grows, a unit is rectified late.
    IndicatorRecord.objects.filter(township=raced.towns["东城街道"]).update(amount=Decimal(9))
    counts.clear()  # .update() moves the versions through the triggers; cleared anyway to be sure
    rectify(raced.units["南湖镇"][0], D(2018, 3, 20), raced.admin)
    again = notice.assessment_content(raced.campaign, Q1, "好", draft=False)
    assert {t["name"]: t["score"] for t in again["scorecard"]["townships"]}["东城街道"] == 80  # 70 + 90
    stored = Assessment.objects.get(pk=q1.pk)
    assert stored.figures == figures
    for fmt, data in files.items():
        assert stored.stored(fmt)[0].open("rb").read() == data
    # The next quarter compares with what was published, not with the corrected figures.
    q2 = freeze(raced, Q2)
    assert lines(q2)["东城街道"]["previous_rank"] == 2


def test_without_other_indicators_the_assessment_is_as_before(world):
    content = notice.assessment_content(world.campaign, Q1, "好", draft=True)
    assert "scorecard" not in content
    text = docx_text(notice.render(content, "docx"))
    assert "三、考核意见" in text and "赛马综合排名" not in text
    assert "赛马综合排名" not in openpyxl.load_workbook(io.BytesIO(notice.render(content, "xlsx"))).sheetnames
    assert 'id="notice-scorecard"' not in notice.render(content, "html").decode()


def test_the_previous_frozen_scorecard_is_the_latest_one_before_the_day(raced):
    assert last_frozen(raced.campaign, Q2) is None
    freeze(raced, Q1)
    with CaptureQueriesContext(connection) as queries:
        found = last_frozen(raced.campaign, Q2)
    assert len(queries) == 1
    assert found[0] == Q1 and [t["rank"] for t in found[1]["townships"]] == [1, 2, 3, None]
    assert last_frozen(raced.campaign, Q1) is not None and last_frozen(raced.campaign, Q1, before=True) is None


@pytest.mark.parametrize(
    ("rank", "before", "expected"),
    [
        (1, {7: 3}, "↑2"),
        (3, {7: 1}, "↓2"),
        (2, {7: 2}, "—"),
        (2, {7: None}, "新"),
        (2, {}, "新"),
        (None, {7: 1}, "—"),
        (1, None, ""),
    ],
)
def test_a_rank_change_reads_as_an_arrow_new_or_a_dash(rank, before, expected):
    assert movement_text(movement(rank, before, 7)) == expected


# ---- the weekly notice: indicators beside the 四无 count, townships in red ----


def test_the_weekly_notice_names_the_townships_red_on_each_other_indicator(raced):
    content = notice.draft_content(raced.campaign, WEEK2)
    # 04-07, expected 30.55 %: 东城 10 % red, 西城 50 % and 南湖 90 % green; 北山 0 of 10: red.
    assert content["indicators_lagging"] == [
        {"key": "jobs", "name": "新增就业", "unit": "人", "townships": ["东城街道", "北山镇"]}
    ]
    text = docx_text(notice.render(content, "docx"))
    assert "八、其他考核指标预警" in text and "新增就业：东城街道、北山镇" in text
    sheet = openpyxl.load_workbook(io.BytesIO(notice.render(content, "xlsx")))["其他指标预警"]
    assert list(sheet.iter_rows(values_only=True))[1] == ("新增就业", "人", 2, "东城街道、北山镇")
    page = notice.render(content, "html").decode()
    assert 'id="notice-lagging"' in page and "<li>新增就业：东城街道、北山镇</li>" in page


def test_a_weekly_notice_without_other_indicators_has_no_such_section(world):
    content = notice.draft_content(world.campaign, WEEK2)
    assert "indicators_lagging" not in content
    assert "其他考核指标预警" not in docx_text(notice.render(content, "docx"))
    assert "其他指标预警" not in openpyxl.load_workbook(io.BytesIO(notice.render(content, "xlsx"))).sheetnames
