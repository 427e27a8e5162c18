"""The weekly notice: its figures against the progress report, serials, the red-list rule, commitments,
late entries, changes to earlier weeks, masking, the archive and the command."""

import datetime
import hashlib
import io
from types import SimpleNamespace

import docx
import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from enterprises.models import Enterprise, Method, Rectification
from enterprises.services import RECTIFICATION, event_withdraw, rectification_record, relapse_record
from reports.models import Commitment, Interview, Notice, NoticeSettings
from reports.notices import content as notice
from reports.progress import progress_report
from tests.factories import make_campaign, make_township, make_unit, make_user, set_target

D = datetime.date
WEEK1, WEEK2 = D(2018, 3, 31), D(2018, 4, 7)
COLOURS = {"green": "绿", "yellow": "黄", "red": "红", None: "—"}


def rectify(unit, day, admin):
    return rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=day, user=admin)


@pytest.fixture
def world(db, frozen_today, settings, tmp_path):
    """东城 ahead (green), 西城 behind (yellow on 03-31, red on 04-07), 南湖 nothing done (red twice)."""
    frozen_today(D(2018, 12, 31))
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = make_campaign()
    admin = make_user("guanli", role="city_admin", first_name="李主任")
    towns = {name: make_township(name) for name in ("东城街道", "西城街道", "南湖镇")}
    for town in towns.values():
        set_target(campaign, town, 10)
    units = {name: [make_unit(town, name=f"{name}单位{i}") for i in range(8)] for name, town in towns.items()}
    for i in range(6):
        rectify(units["东城街道"][i], D(2018, 3, 1 + i), admin)
    for i in range(2):
        rectify(units["西城街道"][i], D(2018, 3, 5 + i), admin)
    owner = make_unit(towns["东城街道"], name="东城宏达五金厂", owner="张三丰", phone="13905710001")
    rectify(owner, D(2018, 3, 10), admin)
    relapse_record(enterprise=owner, found_on=D(2018, 4, 3), user=admin)
    return SimpleNamespace(campaign=campaign, admin=admin, towns=towns, units=units, owner=owner)


def docx_text(data):
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs]
    return "\n".join(parts)


def township_table(data):
    """The .docx township table as {name: row cells}."""
    table = docx.Document(io.BytesIO(data)).tables[0]
    return {row.cells[1].text: [c.text for c in row.cells] for row in table.rows[1:]}


def rate_text(rate):
    return "—" if rate is None else f"{rate:.2f}"


# ---- figures against the progress report ----


def test_docx_and_xlsx_figures_match_the_progress_report(world):
    content = notice.draft_content(world.campaign, WEEK2)
    report = progress_report(world.campaign, WEEK2)
    data = notice.render(content, "docx")
    text = docx_text(data)
    assert "第1期" in text and "草稿" in text
    assert f"累计整治{report.city.rectified}家" in text
    assert f"完成率{report.city.rate:.2f}%" in text
    assert f"全市年度整治任务{report.city.target}家" in text
    rows = township_table(data)
    assert len(rows) == len(report.townships)
    for row in report.townships:
        cells = rows[row.name]
        assert cells[0] == str(row.rank)
        assert cells[2] == str(row.target)
        assert cells[4] == str(row.rectified)
        assert cells[5] == rate_text(row.rate)
        assert cells[6] == rate_text(row.expected_rate)
        assert cells[7] == COLOURS[row.colour]
        shortfall = row.milestone_next["shortfall"]
        assert cells[9] == ("已完成" if shortfall == 0 else str(shortfall))

    book = openpyxl.load_workbook(io.BytesIO(notice.render(content, "xlsx")))
    sheet = book["乡镇排名"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:8] == (
        "排名",
        "乡镇(街道)",
        "年度任务",
        "本周整治",
        "累计整治",
        "完成率(%)",
        "序时进度(%)",
        "预警",
    )
    by_name = {v[1]: v for v in values[1:]}
    for row in report.townships:
        line = by_name[row.name]
        assert line[0] == row.rank and line[4] == row.rectified
        assert line[5] == pytest.approx(float(row.rate))
        assert line[7] == COLOURS[row.colour]
    summary = dict(list(book["通报"].iter_rows(values_only=True))[1:])
    assert summary["全市累计整治"] == report.city.rectified
    assert summary["期号"] == "第1期"


def test_this_week_is_the_seven_days_ending_on_as_of(world):
    content = notice.draft_content(world.campaign, WEEK1)
    assert content["week"] == ["2018-03-25", "2018-03-31"]
    east = next(r for r in content["townships"] if r["name"] == "东城街道")
    assert east["week_rectified"] == 0  # rectified 03-01…03-10
    assert content["city"]["rectified"] == 9


# ---- serials and issuing ----


def test_serials_count_up_per_campaign_and_a_week_is_issued_once(world):
    first = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    second = notice.notice_issue(campaign=world.campaign, as_of=WEEK2, user=world.admin)
    third = notice.notice_issue(campaign=world.campaign, as_of=D(2018, 4, 14), user=world.admin)
    assert [first.serial, second.serial, third.serial] == [1, 2, 3]
    assert "第3期" in docx_text(third.docx.open("rb").read())
    other = make_campaign(slug="c2019", year=2019)
    assert notice.notice_issue(campaign=other, as_of=D(2019, 1, 7), user=world.admin, today=D(2019, 1, 8)).serial == 1
    with pytest.raises(ValidationError, match="已经发布"):
        notice.notice_issue(campaign=world.campaign, as_of=WEEK2, user=world.admin)
    with pytest.raises(ValidationError, match="更早"):
        notice.notice_issue(campaign=world.campaign, as_of=D(2018, 3, 20), user=world.admin)
    assert notice.draft_content(world.campaign, D(2018, 4, 21))["serial"] == 4
    assert Notice.objects.filter(campaign=world.campaign).count() == 3


def test_issued_notice_is_not_a_draft_and_stores_checksums(world):
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    assert issued.figures["draft"] is False
    for fmt in ("docx", "xlsx", "html"):
        field, sha = issued.stored(fmt)
        assert field.name.startswith("notices/")
        assert hashlib.sha256(field.open("rb").read()).hexdigest() == sha
    assert "草稿" not in docx_text(issued.docx.open("rb").read())


# ---- red list ----


def _red(content):
    return {r["name"]: r["reason"] for r in content["red_list"]}


def test_red_this_week_lists_every_red_township(world):
    notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    content = notice.draft_content(world.campaign, WEEK2)
    red = _red(content)
    assert set(red) == {"西城街道", "南湖镇"}
    assert all("本期红色预警" in reason for reason in red.values())
    assert content["red_list"][0]["proposal"].startswith("建议约谈")


def test_red_two_notices_running_lists_only_townships_red_twice(world):
    NoticeSettings.objects.create(campaign=world.campaign, red_rule=NoticeSettings.RedRule.TWO_RUNNING)
    first = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    assert first.figures["red_list"] == []  # no earlier notice: nobody is red twice yet
    assert [r["name"] for r in first.figures["red_watch"]] == ["南湖镇"]
    content = notice.draft_content(world.campaign, WEEK2)
    red = _red(content)
    assert set(red) == {"南湖镇"}  # red on 03-31 and on 04-07
    assert "连续两期红色预警" in red["南湖镇"] and "第1期" in red["南湖镇"]
    assert [r["name"] for r in content["red_watch"]] == ["西城街道"]  # yellow before, red only now
    text = docx_text(notice.render(content, "docx"))
    assert "连续两期红色预警才列入" in text and "本期首次红色预警：西城街道" in text


def test_rank_change_since_the_previous_notice(world):
    notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    for unit in world.units["南湖镇"][:7]:
        rectify(unit, D(2018, 4, 5), world.admin)
    rows = {r["name"]: r for r in notice.draft_content(world.campaign, WEEK2)["townships"]}
    assert rows["南湖镇"]["previous_rank"] == 3 and rows["南湖镇"]["rank"] == 1
    assert rows["南湖镇"]["rank_change"] == 2
    assert rows["东城街道"]["rank_change"] == -1


# ---- interviews, late entries, changes, masking ----


def test_an_unmet_commitment_shows_on_the_next_notice(world):
    first = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    interview = Interview.objects.create(
        campaign=world.campaign,
        township=world.towns["南湖镇"],
        notice=first,
        held_on=D(2018, 4, 2),
        summoned="镇长 王某某",
    )
    unmet = Commitment.objects.create(interview=interview, text="一周内关停10家", due_on=D(2018, 4, 5))
    Commitment.objects.create(interview=interview, text="月底前完成排查", due_on=D(2018, 4, 30))
    met = Commitment.objects.create(interview=interview, text="成立专班", due_on=D(2018, 4, 4), met_on=D(2018, 4, 4))
    content = notice.draft_content(world.campaign, WEEK2)
    assert [c["text"] for c in content["commitments"]] == ["一周内关停10家"]
    assert content["commitments"][0]["days_late"] == 2
    assert "一周内关停10家" in docx_text(notice.render(content, "docx"))
    unmet.met_on = D(2018, 4, 6)
    unmet.save()
    assert notice.draft_content(world.campaign, WEEK2)["commitments"] == []
    assert met.pk


def test_late_entries_are_listed_as_buliu(world):
    unit = world.units["西城街道"][5]
    late = rectify(unit, D(2018, 3, 1), world.admin)
    entered = datetime.datetime(2018, 4, 5, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    Rectification.objects.filter(pk=late.pk).update(created_at=entered)
    on_time = rectify(world.units["西城街道"][6], D(2018, 4, 2), world.admin)
    Rectification.objects.filter(pk=on_time.pk).update(created_at=entered)
    content = notice.draft_content(world.campaign, WEEK2)
    assert [(e["unit"], e["rectified_on"], e["entered_on"], e["days_late"]) for e in content["late_entries"]] == [
        (unit.name, "2018-03-01", "2018-04-05", 35)
    ]
    text = docx_text(notice.render(content, "docx"))
    assert "六、补录情况" in text and unit.name in text
    NoticeSettings.objects.create(campaign=world.campaign, late_days=40)
    assert notice.draft_content(world.campaign, WEEK2)["late_entries"] == []


def test_changes_to_earlier_weeks_are_listed_with_the_reason(world):
    notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    # After the notice: a back-dated rectification in 西城, a withdrawal in 东城, a later one in 南湖.
    rectify(world.units["西城街道"][4], D(2018, 3, 20), world.admin)
    withdrawn = world.units["东城街道"][5]
    event_withdraw(
        enterprise=withdrawn,
        kind=RECTIFICATION,
        pk=withdrawn.rectifications.get().pk,
        user=world.admin,
        reason="录入错误",
    )
    rectify(world.units["南湖镇"][0], D(2018, 4, 2), world.admin)
    content = notice.draft_content(world.campaign, WEEK2)
    changes = content["changes"]
    assert changes["serial"] == 1 and changes["as_of"] == "2018-03-31"
    by_name = {c["name"]: c for c in changes["townships"]}
    assert set(by_name) == {"西城街道", "东城街道"}  # 南湖's rectification is dated after 03-31
    assert (by_name["西城街道"]["rectified_then"], by_name["西城街道"]["rectified_now"]) == (2, 3)
    assert by_name["西城街道"]["reasons"] == ["补录整治 1 条（完成日期在该期截止日前）"]
    assert by_name["东城街道"]["reasons"] == ["撤回整治 1 条"]
    assert (changes["city_then"], changes["city_now"]) == (9, 9)
    text = docx_text(notice.render(content, "docx"))
    assert "七、往期数据变化" in text and "补录整治 1 条" in text


def test_personal_data_is_masked_in_every_format(world):
    content = notice.draft_content(world.campaign, WEEK2)
    (relapse,) = content["inspections"]["relapses"]
    assert (relapse["unit"], relapse["owner"], relapse["phone"]) == ("东城宏达五金厂", "张**", "139****0001")
    docx_data = docx_text(notice.render(content, "docx"))
    book = openpyxl.load_workbook(io.BytesIO(notice.render(content, "xlsx")))
    xlsx_data = "\n".join(str(v) for s in book.worksheets for r in s.iter_rows(values_only=True) for v in r)
    html_data = notice.render(content, "html").decode()
    for text in (docx_data, xlsx_data, html_data):
        assert "张**" in text and "139****0001" in text
        assert "张三丰" not in text and "13905710001" not in text


# ---- the archive ----


def test_an_issued_notice_never_changes_when_the_data_does(world):
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    files = {fmt: issued.stored(fmt)[0].open("rb").read() for fmt in ("docx", "xlsx", "html")}
    figures = issued.figures
    # Corrections after issue: a back-dated rectification, a withdrawal, an edited unit.
    rectify(world.units["南湖镇"][0], D(2018, 3, 15), world.admin)
    unit = world.units["东城街道"][0]
    event_withdraw(
        enterprise=unit, kind=RECTIFICATION, pk=unit.rectifications.get().pk, user=world.admin, reason="重复"
    )
    Enterprise.objects.filter(pk=world.units["西城街道"][0].pk).update(name="改名后的单位")
    assert progress_report(world.campaign, WEEK1).city.rectified == 9  # +1 −1, but per township it moved
    again = Notice.objects.get(pk=issued.pk)
    assert again.figures == figures
    for fmt, data in files.items():
        field, sha = again.stored(fmt)
        assert field.open("rb").read() == data
        assert hashlib.sha256(data).hexdigest() == sha
    rows = township_table(files["docx"])
    assert rows["南湖镇"][4] == "0"
    assert notice.draft_content(world.campaign, WEEK1)["townships"] != figures["townships"]


# ---- the command ----


def test_command_writes_the_archived_bytes_of_an_issued_week(world, tmp_path):
    issued = notice.notice_issue(campaign=world.campaign, as_of=WEEK1, user=world.admin)
    rectify(world.units["南湖镇"][0], D(2018, 3, 15), world.admin)
    for fmt in ("docx", "xlsx"):
        out = tmp_path / f"notice.{fmt}"
        call_command("weekly_notice", campaign="c2018", as_of="2018-03-31", fmt=fmt, output=str(out))
        assert out.read_bytes() == issued.stored(fmt)[0].open("rb").read()


def test_command_writes_a_draft_for_a_week_not_issued(world, tmp_path):
    out = tmp_path / "draft.docx"
    call_command("weekly_notice", campaign="c2018", as_of="2018-04-07", fmt="docx", output=str(out))
    text = docx_text(out.read_bytes())
    assert "第1期" in text and "草稿" in text
    out = tmp_path / "draft.xlsx"
    call_command("weekly_notice", campaign="c2018", as_of="2018-04-07", fmt="xlsx", output=str(out))
    assert "乡镇排名" in openpyxl.load_workbook(out).sheetnames
    assert Notice.objects.count() == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--campaign", "nope", "--as-of", "2018-03-31", "--format", "docx"], "未找到整治行动"),
        (["--campaign", "c2018", "--as-of", "2018-02-30", "--format", "docx"], "YYYY-MM-DD"),
        (["--campaign", "c2018", "--as-of", "2019-03-31", "--format", "docx"], "不在整治行动年度内"),
        (["--campaign", "c2018", "--as-of", "2018-03-31", "--format", "pdf"], "须为 docx 或 xlsx"),
    ],
)
def test_command_refuses_bad_arguments_in_chinese_and_writes_nothing(world, tmp_path, args, message):
    out = tmp_path / "notice.out"
    with pytest.raises(CommandError, match=message):
        call_command("weekly_notice", *args, "--output", str(out))
    assert not out.exists()


def test_command_exits_with_status_1(world, tmp_path, capsys):
    from django.core.management import ManagementUtility

    argv = ["manage.py", "weekly_notice", "--campaign", "nope", "--as-of", "2018-03-31", "--format", "docx"]
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility([*argv, "--output", str(tmp_path / "x.docx")]).execute()
    assert exit_info.value.code == 1
    assert "未找到整治行动" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(argv).execute()  # --output missing: argparse's 2 becomes 1
    assert exit_info.value.code == 1
