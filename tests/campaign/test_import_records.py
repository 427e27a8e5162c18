"""import_records: the records of an indicator that is not built in (SPEC 5), all rows or none."""

import datetime
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.indicators import apply_records, indicator_create, parse_records
from campaign.models import IndicatorRecord, Township
from tests.campaign.test_import_targets import write_csv, write_xlsx
from tests.factories import make_township, make_user

D = datetime.date
ROOT = Path(__file__).resolve().parents[2]
HEADER = ["乡镇街道", "名称", "日期", "数量", "说明"]


@pytest.fixture
def jobs(campaign):
    make_township("城关镇")
    make_township("白水乡")
    return indicator_create(campaign, "jobs", 100, name="新增就业", unit="人")


def records():
    return sorted(
        IndicatorRecord.objects.values_list("indicator__key", "township__name", "name", "date", "amount", "note")
    )


def snapshot():
    return records(), list(Township.objects.values_list("name", flat=True))


def run(path, indicator="jobs"):
    out = io.StringIO()
    call_command(
        "import_records", str(path), "--campaign", "c2018", "--indicator", indicator, stdout=out, stderr=io.StringIO()
    )
    return out.getvalue()


def refused(path, indicator="jobs"):
    """The command's stderr lines and message, after checking it wrote nothing."""
    before = snapshot()
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(
            "import_records",
            str(path),
            "--campaign",
            "c2018",
            "--indicator",
            indicator,
            stdout=io.StringIO(),
            stderr=err,
        )
    assert snapshot() == before
    return err.getvalue().splitlines(), str(exc.value)


def test_records_are_imported_from_xlsx(tmp_path, jobs):
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [
            ["城关镇", "宏达五金厂", "2018-03-05", 12, "招工"],
            ["白水乡", "白水农业合作社", D(2018, 4, 1), "3.5", None],
            ["城关镇", "永利小微园", "2018年6月1日", None, ""],
        ],
        header=HEADER,
    )

    out = run(path)

    assert records() == [
        ("jobs", "城关镇", "宏达五金厂", D(2018, 3, 5), Decimal("12.00"), "招工"),
        ("jobs", "城关镇", "永利小微园", D(2018, 6, 1), Decimal("1.00"), ""),
        ("jobs", "白水乡", "白水农业合作社", D(2018, 4, 1), Decimal("3.50"), ""),
    ]
    assert "新增3条，更新0条，不变0条" in out
    record = IndicatorRecord.objects.get(name="宏达五金厂")
    assert record.history.get().history_change_reason == "导入指标记录"


def test_english_headers_and_csv_without_the_optional_columns(tmp_path, jobs):
    path = write_csv(tmp_path / "r.csv", [["城关镇", "宏达五金厂", "2018/3/5"]], header=["township", "name", "date"])

    run(path)

    assert records() == [("jobs", "城关镇", "宏达五金厂", D(2018, 3, 5), Decimal("1.00"), "")]


def test_importing_twice_changes_nothing_and_a_changed_row_updates_its_record(tmp_path, jobs):
    rows = [["城关镇", "宏达五金厂", "2018-03-05", 12, "招工"], ["白水乡", "合作社", "2018-04-01", 3, ""]]
    path = write_csv(tmp_path / "r.csv", rows, header=HEADER)
    run(path)
    ids = list(IndicatorRecord.objects.order_by("id").values_list("id", "updated_at"))
    history = IndicatorRecord.history.count()

    again = run(path)

    assert "新增0条，更新0条，不变2条" in again
    assert list(IndicatorRecord.objects.order_by("id").values_list("id", "updated_at")) == ids
    assert IndicatorRecord.history.count() == history

    changed = write_csv(
        tmp_path / "r2.csv", [["城关镇", "宏达五金厂", "2018-03-06", "12.25", "招工（补录）"]], header=HEADER
    )
    out = run(changed)
    assert "新增0条，更新1条，不变0条" in out
    assert records()[0] == ("jobs", "城关镇", "宏达五金厂", D(2018, 3, 6), Decimal("12.25"), "招工（补录）")
    assert IndicatorRecord.objects.count() == 2


def test_the_same_name_in_another_township_or_indicator_is_another_record(tmp_path, campaign, jobs):
    indicator_create(campaign, "investment", 10, name="招商引资", unit="亿元")
    path = write_csv(
        tmp_path / "r.csv",
        [["城关镇", "甲", "2018-03-05", 1, ""], ["白水乡", "甲", "2018-03-05", 2, ""]],
        header=HEADER,
    )

    run(path)
    run(path, indicator="investment")

    assert IndicatorRecord.objects.count() == 4


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["城关镇", "甲", "2018-03-05", -1, ""], "第2行 数量：不能为负数"),
        (["城关镇", "甲", "2018-03-05", "1.234", ""], "第2行 数量：最多保留2位小数"),
        (["城关镇", "甲", "2018-03-05", "很多", ""], "第2行 数量：应为不小于0的数"),
        (["城关镇", "甲", "2019-01-01", 1, ""], "第2行 日期：2019-01-01 不在整治行动年度内"),
        (["城关镇", "甲", "2017-12-31", 1, ""], "第2行 日期：2017-12-31 不在整治行动年度内"),
        (["城关镇", "甲", "昨天", 1, ""], "第2行 日期：无法识别的日期"),
        (["城南镇", "甲", "2018-03-05", 1, ""], "第2行 乡镇街道：乡镇（街道）“城南镇”不存在"),
        (["", "甲", "2018-03-05", 1, ""], "第2行 乡镇街道：不能为空"),
        (["城关镇", "", "2018-03-05", 1, ""], "第2行 名称：不能为空"),
        (["城关镇", "甲", "", 1, ""], "第2行 日期：不能为空"),
        (["城关镇", "甲" * 201, "2018-03-05", 1, ""], "第2行 名称：不能超过200个字符"),
    ],
)
def test_a_bad_row_is_refused_naming_row_and_column_and_nothing_is_written(tmp_path, jobs, row, message):
    good = ["白水乡", "合作社", "2018-04-01", 3, ""]
    path = write_csv(tmp_path / "r.csv", [row, good], header=HEADER)

    lines, summary = refused(path)

    assert any(line.startswith(message) for line in lines), lines
    assert "未写入任何数据" in summary


def test_the_same_record_twice_in_one_file_is_refused(tmp_path, jobs):
    path = write_csv(
        tmp_path / "r.csv",
        [["城关镇", "甲", "2018-03-05", 1, ""], ["城关镇", "甲", "2018-04-05", 2, ""]],
        header=HEADER,
    )

    lines, _summary = refused(path)

    assert lines == ["第3行 名称：与第2行重复（同一乡镇（街道）、同一名称是同一条记录）"]


def test_a_missing_column_is_refused(tmp_path, jobs):
    lines, summary = refused(write_csv(tmp_path / "r.csv", [["城关镇", "2018-03-05"]], header=["乡镇街道", "日期"]))
    assert "缺少必填列“名称”" in summary + "\n".join(lines)


@pytest.mark.parametrize(
    ("indicator", "words"),
    [("rectified", "内置指标"), ("parks_started", "内置指标"), ("no_such", "没有指标“no_such”")],
)
def test_a_built_in_or_unknown_indicator_is_refused(tmp_path, campaign, jobs, indicator, words):
    indicator_create(campaign, "parks_started", 10)
    path = write_csv(tmp_path / "r.csv", [["城关镇", "甲", "2018-03-05", 1, ""]], header=HEADER)

    _lines, summary = refused(path, indicator=indicator)

    assert summary.startswith("--indicator：") and words in summary


def test_the_commands_exit_1_with_the_message_on_stderr_and_write_nothing(migrated_sqlite, tmp_path):
    """Through a real process, as other tools call them (SPEC 5: exit 1, stderr, nothing written)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{migrated_sqlite}"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    assert manage("create_campaign", "c2018", "--year", "2018", "--target", "9000").returncode == 0
    targets = write_csv(tmp_path / "t.csv", [["城关镇", 3, ""]], header=["乡镇街道", "年度任务", "生效日期"])
    bad = write_csv(tmp_path / "r.csv", [["城关镇", "甲", "2018-03-05", -2, ""]], header=HEADER)
    for args, words in [
        (("create_indicator", "jobs", "--campaign", "c2018", "--target", "5", "--unit", "人"), "--name："),
        (("create_indicator", "parks_started", "--campaign", "c2018", "--target", "5", "--weight", "0"), "--weight："),
        (("create_indicator", "rectified", "--campaign", "c2018", "--target", "5"), "已存在"),
        (("import_targets", str(targets), "--campaign", "c2018", "--indicator", "nope"), "--indicator："),
        (("import_records", str(bad), "--campaign", "c2018", "--indicator", "jobs"), "没有指标"),
    ]:
        result = manage(*args)
        assert result.returncode == 1, (args, result.returncode, result.stderr)
        assert words in result.stderr, (args, result.stderr)
        assert result.stdout.strip() == "", args
    ok = manage("create_indicator", "jobs", "--campaign", "c2018", "--target", "5", "--name", "就业", "--unit", "人")
    assert ok.returncode == 0, ok.stderr
    result = manage("import_records", str(bad), "--campaign", "c2018", "--indicator", "jobs")
    assert result.returncode == 1 and "第2行 数量：不能为负数" in result.stderr
    assert manage("import_targets", str(targets), "--campaign", "c2018", "--indicator", "jobs").returncode == 0
    good = write_csv(tmp_path / "g.csv", [["城关镇", "甲", "2018-03-05", 2, ""]], header=HEADER)
    assert manage("import_records", str(good), "--campaign", "c2018", "--indicator", "jobs").returncode == 0
    again = manage("import_records", str(good), "--campaign", "c2018", "--indicator", "jobs")
    assert "新增0条，更新0条，不变1条" in again.stdout


def test_a_township_limit_refuses_other_townships_rows(tmp_path, jobs):
    own = Township.objects.get(name="城关镇")
    path = write_csv(
        tmp_path / "r.csv",
        [["城关镇", "甲", "2018-03-05", 1, ""], ["白水乡", "乙", "2018-03-05", 1, ""]],
        header=HEADER,
    )

    plan = parse_records(path, jobs, allowed_township_ids={own.pk})

    assert [str(issue) for issue in plan.errors] == ["第3行 乡镇街道：只能导入本乡镇（街道）的记录，收到“白水乡”"]


def test_a_plan_applied_twice_creates_its_records_once(tmp_path, jobs):
    user = make_user("guanli")
    path = write_csv(tmp_path / "r.csv", [["城关镇", "甲", "2018-03-05", 1, ""]], header=HEADER)
    first, second = parse_records(path, jobs), parse_records(path, jobs)

    apply_records(first, jobs, user=user)
    apply_records(second, jobs, user=user)

    record = IndicatorRecord.objects.get()
    assert record.created_by == user and record.history.get().history_user == user
    assert second.summary() == "新增0条，更新0条，不变1条"
