"""import_targets: township annual targets from a spreadsheet, all rows or none."""

import datetime
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import TargetRevision, Township, Village
from enterprises.models import Enterprise, Rectification
from tests.factories import make_campaign, make_township, set_target

HEADER = ["乡镇街道", "年度任务", "生效日期"]


def write_xlsx(path, rows, header=HEADER, above=()):
    book = openpyxl.Workbook()
    for line in [*above, header, *rows]:
        book.active.append(list(line))
    book.save(path)
    return path


def write_csv(path, rows, header=HEADER, encoding="utf-8"):
    lines = [header, *rows]
    path.write_bytes(("\r\n".join(",".join(str(c) for c in line) for line in lines) + "\r\n").encode(encoding))
    return path


def revisions():
    return sorted(
        (township or "", day, target)
        for township, day, target in TargetRevision.objects.values_list("township__name", "effective_on", "target")
    )


def snapshot():
    return (
        revisions(),
        list(Township.objects.order_by("name").values_list("name", "kind")),
        Enterprise.objects.count(),
        Rectification.objects.count(),
        Village.objects.count(),
    )


def run(path, campaign="c2018"):
    out = io.StringIO()
    call_command("import_targets", str(path), "--campaign", campaign, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def errors_of(path, campaign="c2018"):
    before = snapshot()
    err = io.StringIO()
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import_targets", str(path), "--campaign", campaign, stdout=io.StringIO(), stderr=err)
    assert snapshot() == before
    return err.getvalue().splitlines()


@pytest.fixture
def xlsx(tmp_path, campaign):
    def build(*rows, **kwargs):
        return write_xlsx(tmp_path / "任务.xlsx", rows, **kwargs)

    return build


def test_creates_the_townships_it_names_and_their_targets_from_the_campaign_start(xlsx):
    out = run(xlsx(["城关镇", 120, None], ["东城街道", "80", ""], ["白水乡", 60.0, None]))

    assert sorted(Township.objects.values_list("name", "kind")) == [
        ("东城街道", Township.Kind.JIEDAO),
        ("城关镇", Township.Kind.ZHEN),
        ("白水乡", Township.Kind.XIANG),
    ]
    start = datetime.date(2018, 1, 1)
    assert revisions() == [("东城街道", start, 80), ("城关镇", start, 120), ("白水乡", start, 60)]
    assert list(Township.objects.order_by("sort_order").values_list("name", flat=True)) == [
        "城关镇",
        "东城街道",
        "白水乡",
    ]
    assert "新增乡镇（街道）3个；年度任务新增3条，更新0条，不变0条" in out


def test_existing_townships_are_reused(xlsx):
    town = make_township("城关镇")

    run(xlsx(["城关镇", 120, None]))

    assert TargetRevision.objects.get().township == town
    assert Township.objects.count() == 1


def test_importing_the_same_file_twice_changes_nothing(xlsx):
    path = xlsx(["城关镇", 120, None], ["城关镇", 150, "2018-07-01"])
    run(path)
    before = snapshot()
    ids = list(TargetRevision.objects.values_list("id", "created_at"))

    out = run(path)

    assert snapshot() == before
    assert list(TargetRevision.objects.values_list("id", "created_at")) == ids
    assert "新增乡镇（街道）0个；年度任务新增0条，更新0条，不变2条" in out


def test_a_changed_target_updates_its_revision_and_a_new_date_adds_one(xlsx, campaign):
    town = make_township("城关镇")
    set_target(campaign, town, 100)

    out = run(xlsx(["城关镇", 110, "2018-01-01"], ["城关镇", 130, "2018年7月1日"]))

    assert revisions() == [
        ("城关镇", datetime.date(2018, 1, 1), 110),
        ("城关镇", datetime.date(2018, 7, 1), 130),
    ]
    assert "年度任务新增1条，更新1条，不变0条" in out


def test_the_city_row_is_the_citys_own_target_and_totals_rows_are_skipped(xlsx):
    out = run(xlsx(["城关镇", 120, None], ["合计", 120, None], ["全市", 9500, "2018-07-01"]))

    assert revisions() == [("", datetime.date(2018, 7, 1), 9500), ("城关镇", datetime.date(2018, 1, 1), 120)]
    assert "提醒：第3行 乡镇街道：合计行已跳过" in out
    assert not Township.objects.filter(name__in=["合计", "全市"]).exists()


def test_title_row_and_english_headers(tmp_path, campaign):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["城关镇", 5, None]],
        header=["Township", "Target", "effective_on"],
        above=[["2018年任务"]],
    )

    run(path)

    assert revisions() == [("城关镇", datetime.date(2018, 1, 1), 5)]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_files(tmp_path, campaign, encoding):
    rows = [["城关镇", "120", ""], ["东城街道", '"1,200"', "2018/3/1"]]

    run(write_csv(tmp_path / "t.csv", rows, encoding=encoding))

    assert revisions() == [("东城街道", datetime.date(2018, 3, 1), 1200), ("城关镇", datetime.date(2018, 1, 1), 120)]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (12.5, "第3行 年度任务：应为不小于0的整数，收到“12.5”"),
        ("12.5", "第3行 年度任务：应为不小于0的整数，收到“12.5”"),
        (-3, "第3行 年度任务：应为不小于0的整数，收到“-3”"),
        ("一百", "第3行 年度任务：应为不小于0的整数，收到“一百”"),
        (None, "第3行 年度任务：不能为空"),
        (10**10, "第3行 年度任务：数值过大"),
    ],
)
def test_a_target_that_is_not_a_whole_number(xlsx, cell, message):
    assert errors_of(xlsx(["城关镇", 120, None], ["东城街道", cell, None])) == [message]


def test_zero_is_a_valid_target(xlsx):
    run(xlsx(["城关镇", 0, None], ["东城街道", "0", None]))

    assert [target for _name, _day, target in revisions()] == [0, 0]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("2019-01-01", "第2行 生效日期：2019-01-01 不在整治行动年度内（2018-01-01 至 2018-12-31）"),
        (datetime.date(2017, 12, 31), "第2行 生效日期：2017-12-31 不在整治行动年度内（2018-01-01 至 2018-12-31）"),
        ("2018-02-30", "第2行 生效日期：无法识别的日期“2018-02-30”"),
    ],
)
def test_a_date_outside_the_campaign_year_or_not_a_date(xlsx, cell, message):
    assert errors_of(xlsx(["城关镇", 120, cell])) == [message]


def test_a_township_named_twice_with_the_same_date(xlsx):
    path = xlsx(["城关镇", 120, None], ["东城街道", 80, None], ["城关镇", 130, "2018-01-01"])

    assert errors_of(path) == ["第4行 乡镇街道：与第2行重复（同一乡镇（街道）、同一生效日期）"]


def test_a_blank_township_and_several_errors_at_once(xlsx):
    path = xlsx(["城关镇", 120, None], [None, 80, None], ["东城街道", "x", "2020-01-01"])

    assert errors_of(path) == [
        "第3行 乡镇街道：不能为空",
        "第4行 年度任务：应为不小于0的整数，收到“x”",
        "第4行 生效日期：2020-01-01 不在整治行动年度内（2018-01-01 至 2018-12-31）",
    ]
    assert not Township.objects.exists()


def test_a_missing_column_and_a_file_that_is_not_a_spreadsheet(tmp_path, campaign):
    missing = write_csv(tmp_path / "m.csv", [["城关镇"]], header=["乡镇街道"])
    pdf = tmp_path / "t.xlsx"
    pdf.write_bytes(b"%PDF-1.4 not a sheet")

    assert errors_of(missing) == ["缺少必填列“年度任务”（表头在第1行）"]
    assert errors_of(pdf) == ["文件不是 Excel（.xlsx）或 CSV 表格"]


def test_an_unknown_campaign(tmp_path, campaign):
    with pytest.raises(CommandError, match="未找到整治行动 'c1999'（已有：c2018）"):
        run(write_csv(tmp_path / "t.csv", [["城关镇", "1", ""]]), campaign="c1999")


def test_targets_belong_to_the_campaign_named(xlsx, campaign):
    other = make_campaign(slug="c2019", year=2019)

    run(xlsx(["城关镇", 120, None]), campaign="c2019")

    assert TargetRevision.objects.get().campaign == other


def test_townships_and_targets_have_their_history(xlsx, campaign):
    run(xlsx(["城关镇", 120, None]))
    run(xlsx(["城关镇", 150, None]))

    assert Township.history.get().history_change_reason == "导入年度任务"
    assert [(h.history_type, h.target) for h in TargetRevision.history.order_by("history_id")] == [
        ("+", 120),
        ("~", 150),
    ]
