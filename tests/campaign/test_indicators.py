"""Defining indicators (SPEC 5): the services, ``create_indicator`` and ``import_targets --indicator``."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.indicators import campaign_scoring_update, indicator_create, indicator_rows, indicator_update
from campaign.models import Campaign, Indicator, IndicatorMilestone, IndicatorTarget, TargetRevision, Township
from tests.campaign.test_import_targets import write_csv, write_xlsx
from tests.factories import make_township, make_user

D = datetime.date


def state():
    return (
        list(Indicator.objects.values_list("key", "name", "unit", "target", "weight", "own_milestones")),
        list(IndicatorMilestone.objects.values_list("indicator__key", "date", "percent")),
        list(IndicatorTarget.objects.values_list("indicator__key", "township__name", "effective_on", "target")),
        list(TargetRevision.objects.values_list("township__name", "effective_on", "target")),
        list(Township.objects.values_list("name", flat=True)),
        list(Campaign.objects.values_list("rectified_weight", "score_cap")),
    )


def create(*args):
    out = io.StringIO()
    call_command("create_indicator", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- indicator_create ----------------------------------------------------------------------------


def test_a_built_in_key_takes_the_built_in_name_and_unit(campaign):
    indicator = indicator_create(campaign, "parks_started", 12)

    assert (indicator.name, indicator.unit, indicator.target, indicator.weight) == (
        "小微园开工个数",
        "个",
        12,
        Decimal("1.00"),
    )
    assert indicator.built_in and not indicator.own_milestones


def test_a_built_in_key_keeps_a_name_and_unit_given(campaign):
    indicator = indicator_create(campaign, "land_freed_mu", "300", name="腾退土地", unit="公顷", weight="2.5")

    assert (indicator.name, indicator.unit, indicator.weight) == ("腾退土地", "公顷", Decimal("2.50"))


def test_own_milestones_are_stored_and_the_campaigns_shown_otherwise(campaign):
    user = make_user("guanli")
    own = indicator_create(campaign, "jobs", 50, name="新增就业", unit="人", milestones="06-30:40,12-31:100", user=user)
    plain = indicator_create(campaign, "parks_started", 10)

    assert own.own_milestones and own.created_by == user
    assert list(own.milestones.values_list("date", "percent")) == [(D(2018, 6, 30), 40), (D(2018, 12, 31), 100)]
    rows = indicator_rows(campaign)
    assert [row.key for row in rows] == ["rectified", "jobs", "parks_started"]
    assert rows[0].target == 9000 and rows[0].weight == campaign.rectified_weight
    assert [d for d, _p in rows[1].milestones] == [D(2018, 6, 30), D(2018, 12, 31)]
    assert [d for d, _p in rows[2].milestones] == [D(2018, 3, 31), D(2018, 6, 30), D(2018, 9, 30), D(2018, 12, 31)]
    assert plain.milestones.count() == 0


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (("rectified", 10), "key", "已存在"),
        (("Bad-Key", 10), "key", "指标代号"),
        (("jobs", 10, None, "人"), "name", "指标名称"),
        (("jobs", 10, "新增就业", None), "unit", "计量单位"),
        (("jobs", 10, "新增就业", "  "), "unit", "计量单位"),
        (("parks_started", -1), "target", "target"),
        (("parks_started", "12.5"), "target", "整数"),
        (("parks_started", 10, None, None, 0), "weight", "权重"),
        (("parks_started", 10, None, None, "-1"), "weight", "权重"),
        (("parks_started", 10, None, None, "abc"), "weight", "权重"),
        (("parks_started", 10, None, None, "1.234"), "weight", "2位小数"),
        (("parks_started", 10, None, None, 1, "06-30:60,03-31:70"), "milestones", "milestones"),
        (("parks_started", 10, None, None, 1, "2019-01-01:100"), "milestones", "milestones"),
        (("parks_started", 10, None, None, 1, "02-30:50"), "milestones", "节点"),
        (("parks_started", 10, None, None, 1, "12-31:120"), "milestones", "100"),
    ],
)
def test_a_bad_argument_is_refused_naming_it(campaign, args, field, words):
    before = state()
    with pytest.raises(ValidationError) as refused:
        indicator_create(campaign, *args)
    assert field in refused.value.message_dict
    assert words in " ".join(refused.value.message_dict[field])
    assert state() == before


def test_a_key_twice_is_refused(campaign):
    indicator_create(campaign, "parks_started", 10)
    with pytest.raises(ValidationError, match="已存在"):
        indicator_create(campaign, "parks_started", 20)
    assert Indicator.objects.get().target == 10


def test_creating_and_editing_write_history_with_the_user(campaign):
    user = make_user("guanli")
    indicator = indicator_create(campaign, "jobs", 50, name="新增就业", unit="人", user=user)

    indicator_update(indicator, name="新增就业岗位", weight="1.5", target=60, user=user, reason="市里调整")
    indicator_update(indicator, name="新增就业岗位", user=user)  # nothing changes: no history row

    indicator.refresh_from_db()
    assert (indicator.key, indicator.name, indicator.weight, indicator.target) == (
        "jobs",
        "新增就业岗位",
        Decimal("1.50"),
        60,
    )
    history = list(indicator.history.order_by("history_id"))
    assert [(h.history_type, h.history_user, h.name, h.target) for h in history] == [
        ("+", user, "新增就业", 50),
        ("~", user, "新增就业岗位", 60),
    ]
    assert history[1].history_change_reason == "市里调整"


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"name": ""}, "name"), ({"unit": " "}, "unit"), ({"weight": 0}, "weight"), ({"target": -3}, "target")],
)
def test_an_edit_with_a_bad_value_changes_nothing(campaign, changes, field):
    indicator = indicator_create(campaign, "jobs", 50, name="新增就业", unit="人")
    before = state()
    with pytest.raises(ValidationError) as refused:
        indicator_update(indicator, **changes)
    assert field in refused.value.message_dict
    assert state() == before


def test_the_campaigns_scoring_settings_are_edited_with_history(campaign):
    user = make_user("guanli")
    campaign_scoring_update(campaign, rectified_weight="2", score_cap="110", user=user)

    campaign.refresh_from_db()
    assert (campaign.rectified_weight, campaign.score_cap) == (Decimal("2.00"), Decimal("110.00"))
    latest = campaign.history.latest()
    assert (latest.history_user, latest.rectified_weight) == (user, Decimal("2.00"))
    for bad in ({"rectified_weight": 0}, {"score_cap": "0.5"}, {"score_cap": "x"}):
        with pytest.raises(ValidationError):
            campaign_scoring_update(campaign, **bad)
    campaign.refresh_from_db()
    assert (campaign.rectified_weight, campaign.score_cap) == (Decimal("2.00"), Decimal("110.00"))


# --- create_indicator ----------------------------------------------------------------------------


def test_create_indicator_adds_a_custom_indicator(campaign):
    out = create(
        "new_enterprises",
        "--campaign",
        "c2018",
        "--target",
        "200",
        "--name",
        "新增规上企业",
        "--unit",
        "家",
        "--weight",
        "0.5",
        "--milestones",
        "06-30:50,12-31:100",
    )

    indicator = Indicator.objects.get(key="new_enterprises")
    assert (indicator.name, indicator.unit, indicator.target, indicator.weight, indicator.own_milestones) == (
        "新增规上企业",
        "家",
        200,
        Decimal("0.50"),
        True,
    )
    assert "created indicator new_enterprises" in out


def test_create_indicator_defaults_a_built_in(campaign):
    create("park_entries", "--campaign", "c2018", "--target", "80")
    assert Indicator.objects.values_list("name", "unit", "weight").get() == ("入园企业数", "家", Decimal("1.00"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["rectified", "--target", "5"], "KEY：指标 rectified 已存在"),
        (["jobs", "--target", "5", "--unit", "人"], "--name："),
        (["jobs", "--target", "5", "--name", "就业"], "--unit："),
        (["parks_started", "--target", "-5"], "--target："),
        (["parks_started", "--target", "ten"], "--target："),
        (["parks_started", "--target", "5", "--weight", "0"], "--weight："),
        (["parks_started", "--target", "5", "--weight", "-2"], "--weight："),
        (["parks_started", "--target", "5", "--milestones", "13-01:50"], "--milestones："),
        (["parks_started", "--target", "5", "--campaign", "nope"], "未找到整治行动"),
    ],
)
def test_create_indicator_refuses_bad_arguments_naming_them(campaign, args, words):
    before = state()
    full = [*args, "--campaign", "c2018"] if "--campaign" not in args else args
    with pytest.raises(CommandError) as refused:
        create(*full)
    assert words in str(refused.value)
    assert state() == before


# --- import_targets --indicator ------------------------------------------------------------------


def import_targets(path, *extra):
    out = io.StringIO()
    call_command("import_targets", str(path), "--campaign", "c2018", *extra, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_indicator_targets_go_to_the_indicator_and_leave_the_rectified_ones(tmp_path, campaign):
    indicator = indicator_create(campaign, "parks_started", 10)
    make_township("城关镇")
    path = write_xlsx(
        tmp_path / "t.xlsx", [["城关镇", 3, None], ["白水乡", 2, "2018-07-01"], ["全市", 12, "2018-07-01"]]
    )

    out = import_targets(path, "--indicator", "parks_started")

    assert sorted(
        (name or "", day, target)
        for name, day, target in indicator.targets.values_list("township__name", "effective_on", "target")
    ) == [("", D(2018, 7, 1), 12), ("城关镇", D(2018, 1, 1), 3), ("白水乡", D(2018, 7, 1), 2)]
    assert not TargetRevision.objects.exists()
    assert Township.objects.filter(name="白水乡").exists()  # created, as the rectified import does
    assert "新增乡镇（街道）1个；年度任务新增3条" in out
    target = indicator.targets.get(township__name="城关镇")
    assert target.history.get().history_change_reason == "导入年度任务"

    again = import_targets(path, "--indicator", "parks_started")
    assert "年度任务新增0条，更新0条，不变3条" in again
    assert indicator.targets.count() == 3


def test_without_indicator_the_targets_stay_the_rectified_ones(tmp_path, campaign):
    indicator_create(campaign, "parks_started", 10)
    path = write_csv(tmp_path / "t.csv", [["城关镇", 30, ""]])

    import_targets(path)
    import_targets(path, "--indicator", "rectified")

    assert list(TargetRevision.objects.values_list("township__name", "target")) == [("城关镇", 30)]
    assert not IndicatorTarget.objects.exists()


def test_an_indicator_targets_revision_updates_only_that_indicators(tmp_path, campaign):
    parks = indicator_create(campaign, "parks_started", 10)
    jobs = indicator_create(campaign, "jobs", 10, name="就业", unit="人")
    import_targets(write_csv(tmp_path / "a.csv", [["城关镇", 3, ""]]), "--indicator", "parks_started")
    import_targets(write_csv(tmp_path / "b.csv", [["城关镇", 7, ""]]), "--indicator", "jobs")

    out = import_targets(write_csv(tmp_path / "c.csv", [["城关镇", 4, ""]]), "--indicator", "parks_started")

    assert "更新1条" in out
    assert list(parks.targets.values_list("target", flat=True)) == [4]
    assert list(jobs.targets.values_list("target", flat=True)) == [7]


@pytest.mark.parametrize(
    ("rows", "extra", "words"),
    [
        ([["城关镇", 3, ""]], ["--indicator", "no_such"], "--indicator：整治行动 c2018 没有指标“no_such”"),
        ([["城关镇", -3, ""]], ["--indicator", "parks_started"], "未写入任何数据"),
        ([["城关镇", 3, "2019-01-01"]], ["--indicator", "parks_started"], "未写入任何数据"),
    ],
)
def test_import_targets_for_an_indicator_refuses_bad_input(tmp_path, campaign, rows, extra, words):
    indicator_create(campaign, "parks_started", 10)
    path = write_csv(tmp_path / "t.csv", rows)
    before = state()
    err = io.StringIO()
    with pytest.raises(CommandError, match=words):
        call_command("import_targets", str(path), "--campaign", "c2018", *extra, stdout=io.StringIO(), stderr=err)
    assert state() == before
    if "未写入" in words:
        assert err.getvalue().startswith("第2行")
