"""import_parks: small-micro parks from a spreadsheet (SPEC 5), all rows or none."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Park
from tests.factories import make_township

HEADER = ["园区名称", "乡镇街道", "规划用地", "开工日期", "开工面积", "竣工日期", "竣工面积", "入驻容量"]


def write_xlsx(path, rows, header=HEADER):
    book = openpyxl.Workbook()
    for line in [header, *rows]:
        book.active.append(list(line))
    book.save(path)
    return path


def write_csv(path, rows, header=HEADER, encoding="utf-8"):
    lines = [header, *rows]
    text = "\r\n".join(",".join("" if c is None else str(c) for c in line) for line in lines) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def parks():
    return sorted(
        Park.objects.values_list(
            "township__name",
            "name",
            "planned_mu",
            "started_on",
            "started_mu",
            "completed_on",
            "completed_m2",
            "capacity",
        )
    )


def snapshot():
    return parks(), Park.history.count()


def run(path, campaign="c2018"):
    out = io.StringIO()
    call_command("import_parks", str(path), "--campaign", campaign, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def errors_of(path, campaign="c2018"):
    before = snapshot()
    err = io.StringIO()
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import_parks", str(path), "--campaign", campaign, stdout=io.StringIO(), stderr=err)
    assert snapshot() == before
    return err.getvalue().splitlines()


@pytest.fixture
def towns(campaign):
    return make_township("城关镇"), make_township("东城街道")


@pytest.fixture
def xlsx(tmp_path, towns):
    def build(*rows, **kwargs):
        return write_xlsx(tmp_path / "小微园.xlsx", rows, **kwargs)

    return build


GOOD = ["城关镇小微园", "城关镇", 120, "2018-03-01", 45.5, "2018-11-30", 32000, 60]


def test_creates_parks_with_every_column(xlsx):
    out = run(xlsx(GOOD, ["东城创业园", "东城街道", "80亩", None, None, None, None, None]))

    assert parks() == [
        ("东城街道", "东城创业园", Decimal("80.00"), None, None, None, None, None),
        (
            "城关镇",
            "城关镇小微园",
            Decimal("120.00"),
            datetime.date(2018, 3, 1),
            Decimal("45.50"),
            datetime.date(2018, 11, 30),
            Decimal("32000.00"),
            60,
        ),
    ]
    assert "新增2个" in out
    assert Park.history.filter(history_type="+", history_change_reason="导入小微园").count() == 2


def test_importing_twice_changes_nothing(xlsx):
    path = xlsx(GOOD, ["东城创业园", " 东城街道 ", 80, None, None, None, None, None])
    run(path)
    before = snapshot()

    out = run(path)

    assert snapshot() == before
    assert "新增0个，更新0个，不变2个" in out


def test_a_park_of_the_same_township_and_name_is_updated(xlsx, towns):
    cheng, dong = towns
    Park.objects.create(township=cheng, name="城关镇小微园", planned_mu=Decimal("100"), capacity=10)
    Park.objects.create(township=dong, name="城关镇小微园", planned_mu=Decimal("5"))  # another township's

    out = run(xlsx(["城关镇小微园", "城关镇", None, "2018-04-02", "30", None, None, 40]))

    assert "新增0个，更新1个" in out
    park = Park.objects.get(township=cheng)
    # A blank cell leaves the stored value (规划用地 100); the filled ones replace theirs.
    assert (park.planned_mu, park.started_on, park.started_mu, park.capacity) == (
        Decimal("100.00"),
        datetime.date(2018, 4, 2),
        Decimal("30.00"),
        40,
    )
    assert Park.objects.get(township=dong).started_on is None
    assert Park.objects.count() == 2


def test_a_completion_is_judged_against_the_stored_start(xlsx, towns):
    Park.objects.create(
        township=towns[0], name="城关镇小微园", started_on=datetime.date(2018, 5, 1), started_mu=Decimal("20")
    )
    lines = errors_of(xlsx(["城关镇小微园", "城关镇", None, None, None, "2018-04-30", 100, None]))
    assert lines == ["第2行 竣工日期：竣工日期不能早于开工日期（2018-05-01）"]

    run(xlsx(["城关镇小微园", "城关镇", None, None, None, "2018-05-01", 100, None]))
    assert Park.objects.get().completed_on == datetime.date(2018, 5, 1)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ([None, "城关镇", 10, None, None, None, None, None], "第2行 园区名称：不能为空"),
        (["某园", None, 10, None, None, None, None, None], "第2行 乡镇街道：不能为空"),
        (
            ["某园", "西城镇", 10, None, None, None, None, None],
            "第2行 乡镇街道：系统中没有乡镇（街道）“西城镇”，请先添加该乡镇（街道）",
        ),
        (
            ["某园", "城关镇", 10, "2018-03-01", None, None, None, None],
            "第2行 开工面积：填写了开工日期时必须填写开工面积",
        ),
        (["某园", "城关镇", 10, None, 12, None, None, None], "第2行 开工日期：填写了开工面积时必须填写开工日期"),
        (
            ["某园", "城关镇", 10, "2018-03-01", 12, "2018-02-28", 500, None],
            "第2行 竣工日期：竣工日期不能早于开工日期（2018-03-01）",
        ),
        (
            ["某园", "城关镇", 10, "2018-03-01", 12, "2018-06-30", None, None],
            "第2行 竣工面积：填写了竣工日期时必须填写竣工面积",
        ),
        (
            ["某园", "城关镇", 10, None, None, "2018-06-30", 500, None],
            "第2行 竣工日期：填写了竣工日期时必须填写开工日期",
        ),
        (["某园", "城关镇", 10, "2018-03-01", 12, None, 500, None], "第2行 竣工日期：填写了竣工面积时必须填写竣工日期"),
        (["某园", "城关镇", -1, None, None, None, None, None], "第2行 规划用地：不能为负数"),
        (["某园", "城关镇", 10, "2018-03-01", "-2", None, None, None], "第2行 开工面积：不能为负数"),
        (["某园", "城关镇", 10, "2018-03-01", 2, "2018-04-01", -300, None], "第2行 竣工面积：不能为负数"),
        (["某园", "城关镇", 10, None, None, None, None, -5], "第2行 入驻容量：不能为负数"),
        (["某园", "城关镇", 10, None, None, None, None, 2.5], "第2行 入驻容量：应为不小于0的整数，收到“2.5”"),
        (["某园", "城关镇", "十亩", None, None, None, None, None], "第2行 规划用地：应为数字，收到“十亩”"),
        (["某园", "城关镇", 1.234, None, None, None, None, None], "第2行 规划用地：最多保留两位小数，收到“1.234”"),
        (["某园", "城关镇", 10, "三月", 2, None, None, None], "第2行 开工日期：无法识别的日期“三月”"),
    ],
)
def test_bad_input_names_the_row_and_column_and_writes_nothing(xlsx, row, expected):
    good = ["好园", "东城街道", 5, None, None, None, None, None]  # a good row is not written either
    assert errors_of(xlsx(good, row)) == [expected.replace("第2行", "第3行")]
    assert not Park.objects.exists()


def test_the_same_park_twice_in_a_file_is_an_error(xlsx):
    lines = errors_of(xlsx(GOOD, [" 城关镇小微园", "城关镇", 1, None, None, None, None, None]))
    assert lines == ["第3行 园区名称：与第2行是同一小微园（乡镇街道、园区名称都相同）"]


def test_missing_required_column_is_an_error(xlsx):
    lines = errors_of(xlsx(["某园", 10], header=["园区名称", "规划用地"]))
    assert any("缺少必填列“乡镇街道”" in line for line in lines)


def test_english_headers_and_csv_in_gb18030(tmp_path, towns):
    header = ["name", "township", "planned_mu", "started_on", "started_mu", "completed_on", "completed_m2", "capacity"]
    path = write_csv(tmp_path / "parks.csv", [GOOD], header=header, encoding="gb18030")

    run(path)

    assert parks()[0][:5] == ("城关镇", "城关镇小微园", Decimal("120.00"), datetime.date(2018, 3, 1), Decimal("45.50"))


def test_a_start_before_the_campaign_is_kept_with_a_warning(xlsx):
    out = run(xlsx(["老园", "城关镇", None, "2017-06-01", 10, "2018-02-01", 900, None]))

    assert Park.objects.get().started_on == datetime.date(2017, 6, 1)
    assert "第2行 开工日期：2017-06-01 不在整治行动" in out


def test_unknown_campaign_is_an_error(xlsx):
    with pytest.raises(CommandError, match="未找到整治行动"):
        call_command("import_parks", str(xlsx(GOOD)), "--campaign", "nope", stdout=io.StringIO())


def test_the_command_exits_1_with_the_message_on_stderr(xlsx, capsys, monkeypatch):
    from django.core.management import ManagementUtility

    # run_from_argv closes the connections when it ends: keep the test's (its transaction) open.
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)

    path = xlsx(["某园", "无此镇", None, None, None, None, None, None])
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "import_parks", str(path), "--campaign", "c2018"]).execute()

    assert exited.value.code == 1
    assert "第2行 乡镇街道：系统中没有乡镇（街道）“无此镇”" in capsys.readouterr().err
    assert not Park.objects.exists()


# --- the pages -------------------------------------------------------------------------------------


def test_the_upload_page_checks_then_writes_all_or_nothing(client, xlsx, campaign):
    from django.urls import reverse

    from tests.factories import make_user

    client.force_login(make_user("admin"))
    url = reverse("parks:upload")
    bad = xlsx(GOOD, ["某园", "无此镇", None, None, None, None, None, None])

    with bad.open("rb") as file:
        refused = client.post(url, {"campaign": campaign.pk, "file": file})
    assert refused.status_code == 200
    assert "第3行 乡镇街道：系统中没有乡镇（街道）“无此镇”" in refused.content.decode()
    assert not Park.objects.exists()

    good = xlsx(GOOD)
    with good.open("rb") as file:
        checked = client.post(url, {"campaign": campaign.pk, "file": file, "check_only": "on"})
    assert "小微园新增1个" in checked.content.decode() and not Park.objects.exists()
    with good.open("rb") as file:
        done = client.post(url, {"campaign": campaign.pk, "file": file})
    assert done.status_code == 302
    assert Park.objects.get().history.get().history_user.username == "admin"


def test_the_parks_list_and_a_parks_page_follow_the_township_scope(client, towns):
    from django.urls import reverse

    from enterprises.models import ParkEntry
    from tests.factories import make_user

    cheng, dong = towns
    mine = Park.objects.create(township=cheng, name="城关小微园", started_on=datetime.date(2018, 3, 1), started_mu=5)
    theirs = Park.objects.create(township=dong, name="东城创业园")
    ParkEntry.objects.create(park=mine, name="甲企业", entered_on=datetime.date(2018, 4, 1))
    ParkEntry.objects.create(
        park=mine, name="乙企业", entered_on=datetime.date(2018, 4, 2), left_on=datetime.date(2018, 5, 1)
    )
    client.force_login(make_user("staff", role="township_staff", township=cheng))

    listed = client.get(reverse("parks:list"))
    assert [line.park.name for line in listed.context["lines"]] == ["城关小微园"]
    assert listed.context["lines"][0].entries == 1  # the one that left is no longer in the park
    page = client.get(reverse("parks:detail", args=[mine.pk])).content.decode()
    assert "甲企业" in page and "乙企业" in page
    assert client.get(reverse("parks:detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("parks:upload")).status_code == 403
