"""import_units and enterprises.importing: screening lists in, all rows or none.

Every error test checks the exact message (row and column as the spreadsheet shows them) and that
the database is untouched.
"""

import datetime
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Max
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from campaign.models import TargetRevision, Township, Village
from enterprises import importing
from enterprises.credit_code import make_credit_code
from enterprises.models import Enterprise, Method, Rectification, Source, Status
from enterprises.services import rectification_record, relapse_record
from tests.factories import make_campaign, make_township, make_unit, make_village

HEADER = [
    "单位名称",
    "统一社会信用代码",
    "乡镇街道",
    "村社区",
    "网格",
    "地址",
    "负责人",
    "联系电话",
    "行业",
    "场所类型",
    "无证无照",
    "无安全保障",
    "无合法场所",
    "无环保措施",
    "排查日期",
    "来源",
    "整治状态",
    "整治方式",
    "整治完成日期",
    "拆除面积",
]
ENGLISH = [
    "name",
    "credit_code",
    "township",
    "village",
    "grid",
    "address",
    "owner",
    "phone",
    "industry",
    "premises",
    "unlicensed",
    "unsafe",
    "no_legal_premises",
    "no_env_measures",
    "identified_on",
    "source",
    "status",
    "method",
    "rectified_on",
    "demolished_m2",
]
CODE_A = make_credit_code("9", "1", "330102", "MA2B3C4D")
CODE_B = make_credit_code("9", "1", "330102", "12345678")
MANAGE = Path(__file__).resolve().parents[2] / "manage.py"


def unit_row(**cells):
    """A valid screening row for 城关镇; keyword arguments override cells by Chinese header."""
    row = {
        "单位名称": "城关五金加工厂",
        "乡镇街道": "城关镇",
        "村社区": "东门村",
        "网格": "第3网格",
        "地址": "东门路12号",
        "负责人": "张三",
        "联系电话": "13812345678",
        "行业": "金属制品",
        "场所类型": "厂房",
        "无证无照": "是",
        "无安全保障": "否",
        "排查日期": "2018-03-05",
        "来源": "排查",
        "整治状态": "未整治",
    }
    row.update(cells)
    return row


def write_xlsx(path, rows, header=HEADER, above=()):
    book = openpyxl.Workbook()
    sheet = book.active
    for line in above:
        sheet.append(line)
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(name) for name in header] if isinstance(row, dict) else list(row))
    book.save(path)
    return path


def write_csv(path, rows, header=HEADER, encoding="utf-8", above=()):
    lines = [",".join(line) for line in above] + [",".join(header)]
    lines += [",".join(str(row.get(name, "") or "") for name in header) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def snapshot():
    """Everything an import may write: counts, and the latest change to a unit."""
    return (
        Enterprise.objects.count(),
        Rectification.objects.count(),
        Village.objects.count(),
        TargetRevision.objects.count(),
        Township.objects.count(),
        Enterprise.objects.aggregate(last=Max("updated_at"))["last"],
        list(Rectification.objects.values_list("id", "method", "rectified_on", "demolished_m2", "reopened_on")),
        list(Enterprise.objects.values_list("id", "status")),
    )


def run(path, *args, campaign="c2018"):
    out = io.StringIO()
    call_command("import_units", str(path), "--campaign", campaign, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def errors_of(path, *args, campaign="c2018"):
    """The stderr lines of a failed import, after checking that nothing was written."""
    before = snapshot()
    err = io.StringIO()
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import_units", str(path), "--campaign", campaign, *args, stdout=io.StringIO(), stderr=err)
    assert snapshot() == before
    return err.getvalue().splitlines()


@pytest.fixture
def town(campaign):
    make_township("东城街道")
    return make_township("城关镇")


@pytest.fixture
def xlsx(tmp_path, town):
    """write rows (dicts by Chinese header) to an .xlsx file in tmp_path."""

    def build(*rows, name="清单.xlsx", **kwargs):
        return write_xlsx(tmp_path / name, rows, **kwargs)

    return build


@pytest.fixture
def csv(tmp_path, town):
    def build(*rows, name="清单.csv", **kwargs):
        return write_csv(tmp_path / name, rows, **kwargs)

    return build


# --- a good list -------------------------------------------------------------------------------


def test_every_column_lands_in_the_register(xlsx, town):
    path = xlsx(
        unit_row(统一社会信用代码=CODE_A.lower(), 联系电话=13812345678, 排查日期=datetime.date(2018, 3, 5)),
        unit_row(
            单位名称="  城关 石材厂 ",
            村社区="西门社区",
            地址="西门路 8 号",
            无证无照="否",
            无合法场所="是",
            无环保措施="√",
            来源="举报",
            整治状态="已整治",
            整治方式="拆除",
            整治完成日期="2018/4/1",
            拆除面积="1,250.5",
        ),
    )

    out = run(path)

    assert "导入完成：新增单位2个，更新0个，不变0个；新增整治记录1条，更正0条；新增村（社区）2个" in out
    first = Enterprise.objects.get(credit_code=CODE_A)
    assert (first.name, first.township, first.village.name, first.village.kind) == (
        "城关五金加工厂",
        town,
        "东门村",
        Village.Kind.VILLAGE,
    )
    assert (first.grid, first.address, first.owner, first.phone, first.industry, first.premises) == (
        "第3网格",
        "东门路12号",
        "张三",
        "13812345678",
        "金属制品",
        "厂房",
    )
    assert first.defects == ["unlicensed"]
    assert (first.identified_on, first.source, first.status) == (
        datetime.date(2018, 3, 5),
        Source.SCREENING,
        Status.OPEN,
    )
    second = Enterprise.objects.get(name="城关 石材厂")
    assert second.address == "西门路 8 号"
    assert second.village.kind == Village.Kind.COMMUNITY
    assert second.defects == ["no_legal_premises", "no_env_measures"]
    assert (second.source, second.status) == (Source.COMPLAINT, Status.RECTIFIED)
    rectification = second.rectifications.get()
    assert (rectification.method, rectification.rectified_on, rectification.demolished_m2) == (
        Method.DEMOLISHED,
        datetime.date(2018, 4, 1),
        Decimal("1250.50"),
    )


def test_importing_the_same_file_twice_changes_nothing(xlsx):
    path = xlsx(
        unit_row(统一社会信用代码=CODE_A),
        unit_row(单位名称="乙厂", 整治状态="已整治", 整治方式="关停取缔", 整治完成日期="2018-05-01"),
        unit_row(单位名称="丙厂", 地址="", 村社区=""),
    )
    run(path)
    before = snapshot()

    out = run(path)

    assert snapshot() == before
    assert "新增单位0个，更新0个，不变3个；新增整治记录0条，更正0条；新增村（社区）0个" in out


def test_dry_run_checks_and_counts_but_writes_nothing(xlsx):
    path = xlsx(unit_row(), unit_row(单位名称="乙厂", 村社区="新村"))
    before = snapshot()

    out = run(path, "--dry-run")

    assert "试运行，未写入任何数据：新增单位2个" in out
    assert snapshot() == before


def test_dry_run_reports_errors_like_a_real_run(xlsx):
    path = xlsx(unit_row(排查日期="2018-02-30"))

    assert errors_of(path, "--dry-run") == ["第2行 排查日期：无法识别的日期“2018-02-30”"]


def test_english_headers_and_blank_optional_columns(tmp_path, town):
    rows = [
        ["Gamma Works", "", "城关镇", "", "", "", "", "", "", "", "yes", "no", "", "", "2018.6.7", "", "", "", "", ""],
    ]
    path = write_csv(tmp_path / "en.csv", [dict(zip(ENGLISH, row)) for row in rows], header=ENGLISH)

    run(path)

    unit = Enterprise.objects.get(name="Gamma Works")
    assert (unit.credit_code, unit.village, unit.source, unit.status) == ("", None, Source.SCREENING, Status.OPEN)
    assert unit.identified_on == datetime.date(2018, 6, 7)


def test_only_the_required_columns_and_one_defect_column_are_needed(tmp_path, town):
    path = write_csv(
        tmp_path / "min.csv",
        [{"单位名称": "甲厂", "乡镇街道": "城关镇", "无证无照": "Y", "排查日期": "2018-01-02"}],
        header=["单位名称", "乡镇街道", "无证无照", "排查日期"],
    )

    run(path)

    assert Enterprise.objects.get().unlicensed


def test_stray_spaces_in_headers_and_a_title_row_above_them(xlsx):
    header = [f" {name}\u3000" if i % 2 else f"{name[:1]} {name[1:]}" for i, name in enumerate(HEADER)]
    path = xlsx(
        unit_row(),
        header=HEADER,
        above=[["城关镇2018年“四无”单位排查清单"], []],
    )
    book = openpyxl.load_workbook(path)
    for column, name in enumerate(header, start=1):
        book.active.cell(row=3, column=column, value=name)
    book.save(path)

    run(path)

    assert Enterprise.objects.filter(name="城关五金加工厂").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_excel_writes(csv, encoding):
    path = csv(unit_row(单位名称="城关镇（东区）喷涂厂", 地址="东门路１２号"), encoding=encoding)

    run(path)

    unit = Enterprise.objects.get()
    assert (unit.name, unit.address, unit.township.name) == ("城关镇（东区）喷涂厂", "东门路１２号", "城关镇")


def test_dates_in_every_form(xlsx):
    forms = [
        datetime.date(2018, 3, 5),
        datetime.datetime(2018, 3, 5, 0, 0),
        43164,  # Excel's serial for 2018-03-05 in a cell formatted as a number
        "43164",
        "2018-03-05",
        "2018/3/5",
        "2018.3.5",
        "2018年3月5日",
        "20180305",
    ]
    path = xlsx(*(unit_row(单位名称=f"厂{i}", 排查日期=day) for i, day in enumerate(forms)))

    run(path)

    assert set(Enterprise.objects.values_list("identified_on", flat=True)) == {datetime.date(2018, 3, 5)}


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        (13812345678, "13812345678"),  # a number cell, shown by Excel as 1.38E+10
        (13812345678.0, "13812345678"),
        ("13812345678.0", "13812345678"),
        ("1.3812345678E+10", "13812345678"),
        ("0571-8888 6666", "0571-8888 6666"),
        ("０５７１８８８８６６６６", "057188886666"),
    ],
)
def test_phones_excel_turned_into_numbers_are_recovered_when_exact(xlsx, cell, stored):
    run(xlsx(unit_row(联系电话=cell)))

    assert Enterprise.objects.get().phone == stored


def test_yes_no_variants(xlsx):
    variants = [("是", True), ("Y", True), ("√", True), ("1", True), ("TRUE", True), (1, True), (True, True)]
    variants += [("否", False), ("N", False), ("0", False), ("false", False), (None, False), ("×", False)]
    rows = [unit_row(单位名称=f"厂{i}", 无证无照="是", 无安全保障=cell) for i, (cell, _) in enumerate(variants)]

    run(xlsx(*rows))

    for i, (_cell, expected) in enumerate(variants):
        assert Enterprise.objects.get(name=f"厂{i}").unsafe is expected


def test_control_characters_are_dropped_and_a_lone_dash_is_plain_text(csv):
    run(csv(unit_row(单位名称="\x07厂\u200b", 负责人="李四", 行业="-", 联系电话="+86 138 1234 5678")))

    unit = Enterprise.objects.get()
    assert (unit.name, unit.owner, unit.industry, unit.phone) == ("厂", "李四", "-", "+86 138 1234 5678")


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+李四", "-1+2", "@SUM(A1)"])
def test_text_a_spreadsheet_would_run_as_a_formula_is_refused(csv, text):
    path = csv(unit_row(负责人=text))
    assert errors_of(path) == [f"第2行 负责人：不能以“=”“+”“-”“@”开头（表格软件会当作公式执行）：收到“{text}”"]


# --- errors: the file --------------------------------------------------------------------------


def test_a_pdf_is_not_a_spreadsheet(tmp_path, town):
    path = tmp_path / "清单.xlsx"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nendobj\n")

    assert errors_of(path) == ["文件不是 Excel（.xlsx）或 CSV 表格"]


def test_an_old_xls_is_refused_with_how_to_fix_it(tmp_path, town):
    path = tmp_path / "清单.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))

    assert errors_of(path) == ["这是旧版 Excel 97-2003（.xls）文件，无法读取：请在 Excel 中打开，另存为 .xlsx 后再导入"]


def test_an_empty_file(tmp_path, town):
    path = tmp_path / "清单.csv"
    path.write_bytes(b"")

    assert errors_of(path) == ["文件是空的"]


def test_a_missing_required_column(tmp_path, town):
    header = [name for name in HEADER if name != "排查日期"]
    path = write_xlsx(tmp_path / "a.xlsx", [unit_row()], header=header, above=[["标题"]])

    assert errors_of(path) == ["缺少必填列“排查日期”（表头在第2行）"]


def test_no_defect_column_at_all(tmp_path, town):
    header = ["单位名称", "乡镇街道", "排查日期"]
    path = write_csv(tmp_path / "a.csv", [unit_row()], header=header)

    assert errors_of(path) == ["缺少四无情形列：“无证无照”“无安全保障”“无合法场所”“无环保措施”至少要有一列"]


def test_a_missing_file_and_an_unknown_campaign(tmp_path, town):
    assert errors_of(tmp_path / "nope.xlsx")[0].startswith("无法读取文件：")
    with pytest.raises(CommandError, match="未找到整治行动 'c1999'"):
        run(tmp_path / "nope.xlsx", campaign="c1999")


@override_settings(IMPORT_MAX_ROWS=2)
def test_more_rows_than_the_cap(xlsx):
    path = xlsx(*(unit_row(单位名称=f"厂{i}") for i in range(3)))

    assert errors_of(path) == ["文件超过2行的上限，请拆分成几个文件分批导入"]


# --- errors: cells -----------------------------------------------------------------------------


def test_a_bad_date_names_its_row_below_a_title(xlsx):
    rows = [unit_row(单位名称=f"厂{i}") for i in range(15)] + [unit_row(单位名称="坏厂", 排查日期="2018-13-01")]
    path = xlsx(*rows, above=[["城关镇“四无”单位排查清单"], ["填报：城关镇"]])

    assert errors_of(path) == ["第19行 排查日期：无法识别的日期“2018-13-01”"]


def test_an_invalid_credit_code(xlsx):
    wrong = CODE_A[:-1] + ("0" if CODE_A[-1] != "0" else "1")

    assert errors_of(xlsx(unit_row(), unit_row(单位名称="乙厂", 统一社会信用代码=wrong))) == [
        f"第3行 统一社会信用代码：“{wrong}”无效：校验码错误"
    ]


def test_a_credit_code_of_the_wrong_length(xlsx):
    assert errors_of(xlsx(unit_row(统一社会信用代码="91330102MA2B"))) == [
        "第2行 统一社会信用代码：“91330102MA2B”无效：应为18位，实际为12位"
    ]


def test_a_credit_code_that_lost_its_leading_zero_is_reported_not_fixed(xlsx):
    code = make_credit_code("0", "1", "330102", "MA2B3C4D")
    assert code.startswith("0")

    assert errors_of(xlsx(unit_row(统一社会信用代码=code[1:]))) == [
        f"第2行 统一社会信用代码：“{code[1:]}”只有17位，"
        f"疑似开头的“0”被 Excel 去掉了（补上后为{code}）：请核对原件后填写完整"
    ]


@pytest.mark.parametrize("cell", [913301021234567891, 9.13301021234568e17, "9.13301E+17"])
def test_a_credit_code_excel_stored_as_a_number(xlsx, cell):
    assert errors_of(xlsx(unit_row(统一社会信用代码=cell))) == [
        "第2行 统一社会信用代码：被 Excel 存成了数字，末几位可能已经丢失：请把该列设为“文本”格式后重新填写"
    ]


def test_rectified_without_a_date_or_a_method(xlsx):
    path = xlsx(unit_row(整治状态="已整治", 整治方式="关停取缔"), unit_row(单位名称="乙厂", 整治状态="已整治"))

    assert errors_of(path) == [
        "第2行 整治完成日期：整治状态为“已整治”时必须填写",
        "第3行 整治方式：整治状态为“已整治”时必须填写",
        "第3行 整治完成日期：整治状态为“已整治”时必须填写",
    ]


def test_a_rectification_date_without_the_rectified_status(xlsx):
    assert errors_of(xlsx(unit_row(整治状态="整治中", 整治完成日期="2018-04-01"))) == [
        "第2行 整治状态：填写了整治完成日期，整治状态应为“已整治”"
    ]


def test_rectified_before_identified_or_in_the_future(xlsx, frozen_today):
    frozen_today(datetime.date(2018, 6, 30))
    path = xlsx(
        unit_row(整治状态="已整治", 整治方式="关停取缔", 整治完成日期="2018-03-04"),
        unit_row(单位名称="乙厂", 整治状态="已整治", 整治方式="关停取缔", 整治完成日期="2018-07-01"),
        unit_row(单位名称="丙厂", 排查日期="2018-07-01"),
    )

    assert errors_of(path) == [
        "第2行 整治完成日期：整治完成日期不能早于排查日期（2018-03-05）",
        "第3行 整治完成日期：整治完成日期不能晚于今天（2018-06-30）",
        "第4行 排查日期：不能晚于今天（2018-06-30）",
    ]


def test_an_unknown_township(xlsx):
    assert errors_of(xlsx(unit_row(), unit_row(单位名称="乙厂", 乡镇街道="不存在镇"))) == [
        "第3行 乡镇街道：系统中没有乡镇（街道）“不存在镇”，请先添加该乡镇（街道）"
    ]


def test_required_cells_left_blank(xlsx):
    assert errors_of(xlsx(unit_row(单位名称="", 乡镇街道=" ", 排查日期=None))) == [
        "第2行 单位名称：不能为空",
        "第2行 乡镇街道：不能为空",
        "第2行 排查日期：不能为空",
    ]


def test_no_defect_marked_yes(xlsx):
    assert errors_of(xlsx(unit_row(无证无照="否"))) == [
        "第2行：无证无照、无安全保障、无合法场所、无环保措施至少要有一项为“是”"
    ]


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"无安全保障": "有"}, "第2行 无安全保障：应填“是”或“否”，收到“有”"),
        ({"来源": "上报"}, "第2行 来源：应为排查、举报、督查之一，收到“上报”"),
        ({"整治状态": "完成"}, "第2行 整治状态：应为未整治、整治中、已整治之一，收到“完成”"),
        (
            {"整治状态": "已整治", "整治方式": "取缔", "整治完成日期": "2018-04-01"},
            "第2行 整治方式：应为关停取缔、搬迁入园、整改提升、拆除之一，收到“取缔”",
        ),
        ({"拆除面积": "-3"}, "第2行 拆除面积：不能为负数"),
        ({"拆除面积": "很大"}, "第2行 拆除面积：应为数字（平方米），收到“很大”"),
        (
            {"联系电话": "1.38E+10"},
            "第2行 联系电话：“1.38E+10”是 Excel 的科学计数法，原号码已无法还原：请把该列设为“文本”格式后重新填写",
        ),
        ({"联系电话": 13812.5}, "第2行 联系电话：“13812.5”不是电话号码"),
        ({"单位名称": "厂" * 201}, "第2行 单位名称：不能超过200个字符（现有201个）"),
        ({"村社区": "村" * 65}, "第2行 村社区：不能超过64个字符（现有65个）"),
    ],
)
def test_a_cell_that_cannot_be_read(xlsx, cells, message):
    assert errors_of(xlsx(unit_row(**cells))) == [message]


def test_every_error_of_every_row_is_listed_and_good_rows_are_not_written(xlsx):
    path = xlsx(
        unit_row(单位名称="好厂"),
        unit_row(单位名称="坏厂一", 排查日期="去年", 无证无照="否"),
        unit_row(单位名称="好厂二"),
        unit_row(单位名称="坏厂二", 乡镇街道="西城镇", 统一社会信用代码="123"),
    )

    assert errors_of(path) == [
        "第3行 排查日期：无法识别的日期“去年”",
        "第3行：无证无照、无安全保障、无合法场所、无环保措施至少要有一项为“是”",
        "第5行 统一社会信用代码：“123”无效：应为18位，实际为3位",
        "第5行 乡镇街道：系统中没有乡镇（街道）“西城镇”，请先添加该乡镇（街道）",
    ]
    assert not Enterprise.objects.exists()


# --- identity ----------------------------------------------------------------------------------


def test_two_rows_with_the_same_credit_code(xlsx):
    path = xlsx(unit_row(统一社会信用代码=CODE_A), unit_row(单位名称="改名后的厂", 统一社会信用代码=CODE_A))

    assert errors_of(path) == ["第3行 统一社会信用代码：与第2行的统一社会信用代码相同，是同一单位"]


def test_two_rows_with_the_same_township_name_and_address(xlsx):
    path = xlsx(unit_row(), unit_row(单位名称="乙厂"), unit_row(单位名称=" 城关五金加工厂", 地址="东门路12号 "))

    assert errors_of(path) == ["第4行 单位名称：与第2行的乡镇街道、单位名称、地址都相同，是同一单位"]


def test_the_same_name_at_another_address_or_in_another_township_is_another_unit(xlsx):
    run(xlsx(unit_row(), unit_row(地址="西门路1号"), unit_row(乡镇街道="东城街道", 村社区="")))

    assert Enterprise.objects.filter(name="城关五金加工厂").count() == 3


def test_an_existing_unit_is_matched_by_credit_code_and_updated(xlsx, town):
    unit = make_unit(town, name="旧名称", credit_code=CODE_A, address="旧地址", phone="1")

    out = run(xlsx(unit_row(统一社会信用代码=CODE_A, 无安全保障="是", 联系电话="")))

    unit.refresh_from_db()
    assert "新增单位0个，更新1个，不变0个" in out
    assert (unit.name, unit.address, unit.phone, unit.unsafe) == ("城关五金加工厂", "东门路12号", "1", True)
    assert unit.village.name == "东门村"
    assert Enterprise.objects.count() == 1


def test_each_unit_gets_only_its_own_changes(xlsx):
    run(xlsx(unit_row(), unit_row(单位名称="乙厂"), rectified(单位名称="丙厂"), name="first.xlsx"))

    run(
        xlsx(
            unit_row(整治状态="整治中"),
            unit_row(单位名称="乙厂", 负责人="李四", 联系电话="0571-1"),
            rectified(单位名称="丙厂"),
        )
    )

    assert sorted(Enterprise.objects.values_list("name", "status", "owner", "phone")) == [
        ("丙厂", Status.RECTIFIED, "张三", "13812345678"),
        ("乙厂", Status.OPEN, "李四", "0571-1"),
        ("城关五金加工厂", Status.IN_PROGRESS, "张三", "13812345678"),
    ]


def test_many_units_changing_the_same_way_and_each_its_own_way(xlsx, frozen_today):
    frozen_today(datetime.date(2018, 12, 31))
    names = [f"厂{i}" for i in range(30)]
    run(xlsx(*(rectified(单位名称=name) for name in names), name="first.xlsx"))

    run(
        xlsx(
            *(
                rectified(单位名称=name, 联系电话=f"0571-{i}", 整治完成日期="2018-06-01", 无安全保障="是")
                for i, name in enumerate(names)
            )
        )
    )

    assert set(Enterprise.objects.values_list("unsafe", flat=True)) == {True}
    assert sorted(Enterprise.objects.values_list("phone", flat=True)) == sorted(f"0571-{i}" for i in range(30))
    assert set(Rectification.objects.values_list("rectified_on", "method")) == {
        (datetime.date(2018, 6, 1), Method.CLOSED)
    }


def test_updated_text_is_written_as_it_was_and_each_update_is_versioned(xlsx, town):
    """The bulk update (one UPDATE from arrays on PostgreSQL) carries any text, and "NULL" as text."""
    odd = ['C:\\台账\\"五金"', "NULL", "a,b{c}", "末尾\\"]
    units = [
        make_unit(town, name=f"厂{i}", credit_code=make_credit_code("9", "1", "330102", f"{i:08d}")) for i in range(4)
    ]
    versions = [unit.version for unit in units]
    rows = [
        unit_row(单位名称=f"厂{i}", 统一社会信用代码=unit.credit_code, 负责人=text, 网格=text, 村社区="")
        for i, (unit, text) in enumerate(zip(units, odd, strict=True))
    ]

    run(xlsx(*rows))

    for unit, text, version in zip(units, odd, versions, strict=True):
        unit.refresh_from_db()
        assert (unit.owner, unit.grid, unit.version) == (text, text, version + 1)
        assert unit.history.latest().owner == text


def test_an_existing_unit_is_matched_by_township_name_and_address_after_trimming(xlsx, town):
    unit = make_unit(town, name="城关 五金厂", address="东门路 12号")

    run(xlsx(unit_row(单位名称=" 城关\u3000 五金厂", 地址="东门路  12号", 统一社会信用代码=CODE_B)))

    unit.refresh_from_db()
    assert unit.credit_code == CODE_B
    assert Enterprise.objects.count() == 1


def test_a_soft_deleted_unit_is_not_matched(xlsx, town):
    from django.utils import timezone

    make_unit(town, name="城关五金加工厂", address="东门路12号", credit_code=CODE_A, deleted_at=timezone.now())

    run(xlsx(unit_row(统一社会信用代码=CODE_A)))

    assert Enterprise.objects.alive().count() == 1
    assert Enterprise.objects.count() == 2


def test_two_rows_reaching_the_same_unit_by_different_keys(xlsx, town):
    make_unit(town, name="城关五金加工厂", address="东门路12号", credit_code=CODE_A)

    path = xlsx(unit_row(单位名称="新名称", 统一社会信用代码=CODE_A), unit_row())

    assert errors_of(path) == ["第3行 单位名称：与第2行对应系统中的同一单位“城关五金加工厂”"]


def test_a_unit_moved_to_another_township_loses_its_old_village(xlsx, town):
    unit = make_unit(town, credit_code=CODE_A, village=make_village(town, "东门村"))

    run(xlsx(unit_row(统一社会信用代码=CODE_A, 乡镇街道="东城街道", 村社区="")))

    unit.refresh_from_db()
    assert (unit.township.name, unit.village) == ("东城街道", None)


def test_an_existing_village_is_reused_and_a_new_one_created_once(xlsx, town):
    village = make_village(town, "东门村")

    run(xlsx(unit_row(), unit_row(单位名称="乙厂", 村社区="北山村"), unit_row(单位名称="丙厂", 村社区="北山村")))

    assert Enterprise.objects.get(name="城关五金加工厂").village == village
    assert Village.objects.filter(name="北山村", township=town).count() == 1


# --- rectifications ----------------------------------------------------------------------------


def rectified(**cells):
    return unit_row(**{"整治状态": "已整治", "整治方式": "关停取缔", "整治完成日期": "2018-05-01", **cells})


def test_a_listed_rectification_of_an_existing_unit_is_recorded(xlsx, town):
    unit = make_unit(town, name="城关五金加工厂", address="东门路12号")

    run(xlsx(rectified(拆除面积=12)))

    unit.refresh_from_db()
    assert unit.status == Status.RECTIFIED
    period = unit.rectifications.get()
    assert (period.method, period.rectified_on, period.demolished_m2) == (
        Method.CLOSED,
        datetime.date(2018, 5, 1),
        Decimal("12.00"),
    )


def test_a_different_date_or_method_corrects_the_current_rectification(xlsx, town):
    unit = make_unit(town, name="城关五金加工厂", address="东门路12号", identified_on=datetime.date(2018, 3, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 5, 1), demolished_m2=7)

    out = run(xlsx(rectified(整治方式="拆除", 整治完成日期="2018-05-03")))

    period = unit.rectifications.get()
    assert (period.method, period.rectified_on, period.demolished_m2) == (
        Method.DEMOLISHED,
        datetime.date(2018, 5, 3),
        Decimal("7.00"),
    )
    assert "新增整治记录0条，更正1条" in out


def test_a_list_never_undoes_a_rectification_but_says_so(xlsx):
    run(xlsx(rectified(), name="整治.xlsx"))
    before = snapshot()

    out = run(xlsx(unit_row(整治状态="未整治")))

    assert snapshot() == before
    assert "提醒：第2行 整治状态：该单位已于2018-05-01整治完成，导入不会撤销整治（如发现死灰复燃，请登记复发）" in out
    assert Enterprise.objects.get().status == Status.RECTIFIED


def test_an_old_list_after_a_relapse_leaves_the_unit_open(xlsx, frozen_today):
    frozen_today(datetime.date(2018, 12, 31))
    path = xlsx(rectified())
    run(path)
    relapse_record(enterprise=Enterprise.objects.get(), found_on=datetime.date(2018, 7, 1))
    before = snapshot()

    out = run(path)

    assert snapshot() == before
    assert "该单位2018-05-01的整治已因死灰复燃（2018-07-01）失效，本行的整治信息未作更改" in out
    assert Enterprise.objects.get().status == Status.OPEN


def test_a_relapsed_unit_rectified_again(xlsx, town, frozen_today):
    frozen_today(datetime.date(2018, 12, 31))
    unit = make_unit(town, name="城关五金加工厂", address="东门路12号", identified_on=datetime.date(2018, 3, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 5, 1))
    relapse_record(enterprise=unit, found_on=datetime.date(2018, 7, 1))

    run(xlsx(rectified(整治完成日期="2018-08-01")))

    assert list(unit.rectifications.values_list("rectified_on", "reopened_on")) == [
        (datetime.date(2018, 5, 1), datetime.date(2018, 7, 1)),
        (datetime.date(2018, 8, 1), None),
    ]
    unit.refresh_from_db()
    assert unit.status == Status.RECTIFIED


def test_a_rectification_before_the_last_relapse(xlsx, town, frozen_today):
    frozen_today(datetime.date(2018, 12, 31))
    unit = make_unit(town, name="城关五金加工厂", address="东门路12号", identified_on=datetime.date(2018, 3, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 5, 1))
    relapse_record(enterprise=unit, found_on=datetime.date(2018, 7, 1))

    assert errors_of(xlsx(rectified(整治完成日期="2018-06-01"))) == [
        "第2行 整治完成日期：整治完成日期不能早于最近一次复发日期（2018-07-01）"
    ]


def test_a_screening_date_after_a_recorded_rectification(xlsx, town):
    unit = make_unit(town, name="城关五金加工厂", address="东门路12号", identified_on=datetime.date(2018, 3, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=datetime.date(2018, 5, 1))

    assert errors_of(xlsx(unit_row(排查日期="2018-06-01", 整治状态=""))) == [
        "第2行 排查日期：不能晚于该单位已登记的整治完成日期（2018-05-01）"
    ]


def test_dates_after_the_campaign_are_a_warning(xlsx, town):
    make_campaign(slug="c2017", year=2017)

    out = run(xlsx(unit_row()), campaign="c2017")

    assert (
        "提醒：第2行 排查日期：2018-03-05 晚于整治行动“2017年“四无”生产经营单位整治行动”"
        "的结束日期（2017-12-31），不计入该年度" in out
    )
    assert Enterprise.objects.count() == 1


# --- the API the upload page uses --------------------------------------------------------------


def test_the_plan_says_what_each_row_would_do(xlsx, town):
    existing = make_unit(town, name="城关五金加工厂", address="东门路12号", phone="13812345678", owner="张三")
    same = make_unit(
        town,
        name="乙厂",
        address="东门路12号",
        village=Village.objects.get_or_create(township=town, name="东门村")[0],
        grid="第3网格",
        owner="张三",
        phone="13812345678",
        industry="金属制品",
        premises="厂房",
        identified_on=datetime.date(2018, 3, 5),
    )
    path = xlsx(unit_row(), unit_row(单位名称="乙厂"), unit_row(单位名称="丙厂"))

    plan = importing.parse(path, file_name=path.name)

    assert plan.ok and plan.file_name == "清单.xlsx"
    assert [(row.number, row.action, row.matched_by) for row in plan.rows] == [
        (2, importing.Action.UPDATE, "identity"),
        (3, importing.Action.UNCHANGED, "identity"),
        (4, importing.Action.CREATE, ""),
    ]
    assert (plan.rows[0].unit_id, plan.rows[1].unit_id, plan.rows[2].unit_id) == (existing.pk, same.pk, None)
    assert plan.rows[0].changes == {
        "village": (None, "东门村"),
        "grid": ("", "第3网格"),
        "industry": ("", "金属制品"),
        "premises": ("", "厂房"),
        "identified_on": (datetime.date(2018, 1, 10), datetime.date(2018, 3, 5)),
    }
    assert plan.new_villages == []
    assert Enterprise.objects.count() == 2

    importing.apply(plan)

    assert Enterprise.objects.count() == 3


def test_apply_refuses_a_plan_with_errors(xlsx):
    plan = importing.parse(xlsx(unit_row(排查日期="x")))

    assert [str(issue) for issue in plan.errors] == ["第2行 排查日期：无法识别的日期“x”"]
    with pytest.raises(importing.PlanError, match="导入文件有1处错误"):
        importing.apply(plan)


def test_apply_refuses_a_plan_when_its_units_changed_after_the_preview(xlsx, town):
    unit = make_unit(town, name="城关五金加工厂", address="东门路12号")
    plan = importing.parse(xlsx(unit_row()))
    unit.owner = "王五"
    unit.save()

    with pytest.raises(importing.PlanError, match="请重新上传文件"):
        importing.apply(plan)
    unit.refresh_from_db()
    assert unit.grid == ""


def test_a_township_user_imports_only_their_own_township(xlsx, town):
    other = Township.objects.get(name="东城街道")
    make_unit(other, name="外镇厂", credit_code=CODE_B)
    path = xlsx(
        unit_row(), unit_row(单位名称="乙厂", 乡镇街道="东城街道"), unit_row(单位名称="丙厂", 统一社会信用代码=CODE_B)
    )

    plan = importing.parse(path, allowed_townships=[town])

    assert [str(issue) for issue in plan.errors] == [
        "第3行 乡镇街道：无权导入乡镇（街道）“东城街道”的单位",
        "第4行 统一社会信用代码：该代码的单位属于其他乡镇（街道），无权修改",
    ]


def test_created_units_and_rectifications_are_attributed(xlsx, django_user_model):
    user = django_user_model.objects.create(username="importer")
    plan = importing.parse(xlsx(rectified()))

    importing.apply(plan, user=user)

    assert Enterprise.objects.get().created_by == user
    assert Rectification.objects.get().created_by == user


def test_every_write_has_its_history_record(xlsx, django_user_model):
    user = django_user_model.objects.create(username="importer")
    plan = importing.parse(xlsx(rectified(村社区="北山村"), name="一月.xlsx"), file_name="一月.xlsx")
    importing.apply(plan, user=user)
    unit = Enterprise.objects.get()

    created = unit.history.get()
    assert (created.history_type, created.history_user, created.history_change_reason) == (
        "+",
        user,
        "导入排查清单一月.xlsx",
    )
    assert (created.name, created.status, created.village_id) == (unit.name, Status.RECTIFIED, unit.village_id)
    assert Rectification.history.get(enterprise_id=unit.pk).history_type == "+"
    assert Village.history.get(name="北山村").history_user == user

    run(xlsx(rectified(村社区="北山村", 负责人="李四", 整治完成日期="2018-05-02"), name="二月.xlsx"))

    unit.refresh_from_db()
    assert (unit.owner, unit.version) == ("李四", 2)
    changed = unit.history.latest()
    assert (changed.history_type, changed.owner, changed.version, changed.history_user) == ("~", "李四", 2, None)
    assert changed.history_change_reason == "导入排查清单二月.xlsx"
    assert Rectification.history.filter(enterprise_id=unit.pk).latest().rectified_on == datetime.date(2018, 5, 2)


def test_queries_do_not_grow_with_rows(tmp_path, town):
    def queries(count, name):
        rows = [rectified(单位名称=f"{name}{i}", 村社区=f"{name}村{i % 7}") for i in range(count)]
        path = write_xlsx(tmp_path / f"{name}.xlsx", rows)
        with CaptureQueriesContext(connection) as first:
            importing.apply(importing.parse(path))
        with CaptureQueriesContext(connection) as again:
            plan = importing.parse(path)
            importing.apply(plan)
        assert plan.count(importing.Action.UNCHANGED) == count
        return len(first), len(again)

    # Inserts go in batches of a few dozen rows (SQLite's 999 parameters), everything else in one go;
    # two of them lock the townships and check the plan is still current inside that lock.
    assert queries(30, "甲") == (14, 9)
    first, again = queries(300, "乙")
    assert first <= 25 and again == 9
    assert Enterprise.objects.count() == Rectification.objects.count() == 330


# --- reading a column at a time ------------------------------------------------------------------

# Cells that look almost plain: each must come out of the column reader exactly as the cell's own
# reader makes it (or with the same error).
TRICKY_TEXT = [
    "城关五金厂",
    " 前导空格",
    "末尾空格 ",
    "两个  空格",
    "全角\u3000空格",
    "tab\there",
    "=1+1",
    "-",
    "+",
    "@",
    "-1",
    "a" * 200,
    "a" * 201,
    "",
    "   ",
    "\u200b",
    "２０１８",
    12,
    12.0,
    12.5,
    True,
    None,
    datetime.date(2018, 3, 5),
]
TRICKY_PHONES = [
    "13812345678",
    "１３８１２３４５６７８",
    "138 1234 5678",
    "0571-88886666",
    "+86 138 1234 5678",
    "13812345678.0",
    "1.3812345678E+10",
    "1.38E+10",
    "1" * 32,
    "1" * 33,
    "٣٤٥",
    "",
    13812345678,
    13812345678.0,
    13812.5,
]


def _read_as_the_planner_does(key, cells):
    planner = importing._Planner(importing.UnitPlan(), campaign=None, allowed=None, today=datetime.date(2018, 12, 31))
    values, odd = planner.read_column(key, list(cells))
    one_by_one = [planner.read_cell(key, cell) for cell in cells]
    return values, odd, one_by_one


def _same(a, b):
    if isinstance(a, importing.CellError) or isinstance(b, importing.CellError):
        return type(a) is type(b) and str(a) == str(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(
    ("key", "cells"),
    [
        ("name", TRICKY_TEXT),
        ("address", TRICKY_TEXT),
        ("owner", TRICKY_TEXT),
        ("phone", TRICKY_PHONES),
        ("credit_code", [CODE_A, CODE_A.lower(), CODE_B[:17], CODE_B[:17] + "0", " " + CODE_B, "123456789012345E12"]),
        ("source", ["排查", "举报", 1, 1.0, True, "1", "", None]),
        ("unlicensed", ["是", "否", "", None, True, 1, 0, False, "Y", "x"]),
        ("identified_on", ["2018-03-05", 43164, 43164.0, True, "", datetime.date(2018, 3, 5), "去年"]),
    ],
)
def test_the_column_reader_reads_every_cell_as_the_cell_reader_does(town, key, cells):
    values, odd, one_by_one = _read_as_the_planner_does(key, cells)
    assert all(_same(a, b) for a, b in zip(values, one_by_one, strict=True)), list(zip(cells, values, one_by_one))
    assert odd == [
        i for i, value in enumerate(one_by_one) if value is importing._BLANK or type(value) is importing.CellError
    ]


def test_equal_cells_of_different_types_are_read_each_as_itself(xlsx):
    """1, 1.0 and True are equal as Python values; in a list they are different cells."""
    path = xlsx(unit_row(单位名称="甲", 来源=True), unit_row(单位名称="乙", 来源=1))
    assert errors_of(path) == [
        "第2行 来源：应为排查、举报、督查之一，收到“TRUE”",
        "第3行 来源：应为排查、举报、督查之一，收到“1”",
    ]


def test_the_fast_credit_code_check_agrees_with_credit_code_error():
    """importing._valid_code is credit_code_error(code) is None by another computation."""
    import random

    from enterprises.credit_code import ALPHABET, credit_code_error

    rng = random.Random(20180305)
    letters = ALPHABET + "IOSVZ"
    codes = []
    for _ in range(20000):
        code = make_credit_code(
            rng.choice("9Y15"),
            rng.choice("123"),
            "".join(rng.choice("0123456789") for _ in range(6)),
            "".join(rng.choice(ALPHABET) for _ in range(8)),
        )
        codes.append(code)
        position = rng.randrange(18)
        codes.append(code[:position] + rng.choice(letters) + code[position + 1 :])
        codes.append("".join(rng.choice(letters) for _ in range(18)))
    verdicts = [importing._valid_code(code) for code in codes]
    assert verdicts == [credit_code_error(code) is None for code in codes]
    assert sum(verdicts) > 20000  # the valid codes and some lucky mutations


def test_the_plan_kept_between_preview_and_confirmation_reads_back_the_same(xlsx, town):
    path = xlsx(unit_row(), rectified(单位名称="乙厂", 拆除面积="12.5", 整治方式="拆除"))
    plan = importing.parse(path)
    again = importing.load_plan(importing.dump_plan(plan))
    assert again.rows == plan.rows and again.summary() == plan.summary()
    assert again.rows[0].values["township"].name == "城关镇"


# --- a real process ----------------------------------------------------------------------------


def manage(*args, database):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, str(MANAGE), *args], capture_output=True, text=True, env=env, cwd=MANAGE.parent, timeout=120
    )


def test_the_command_in_a_real_process_exits_1_with_errors_on_stderr(tmp_path, migrated_sqlite):
    database = migrated_sqlite  # a copy of a database migrated once for the run (tests/conftest.py)
    assert manage("migrate", "--noinput", database=database).returncode == 0
    assert manage("create_campaign", "c2018", "--year", "2018", "--target", "100", database=database).returncode == 0
    targets = write_csv(tmp_path / "t.csv", [{"乡镇街道": "城关镇", "年度任务": "10"}], header=["乡镇街道", "年度任务"])
    assert manage("import_targets", str(targets), "--campaign", "c2018", database=database).returncode == 0
    bad = write_xlsx(tmp_path / "bad.xlsx", [unit_row(), unit_row(单位名称="乙厂", 排查日期="2018-13-01")])
    good = write_xlsx(tmp_path / "good.xlsx", [unit_row(), unit_row(单位名称="乙厂")])

    failed = manage("import_units", str(bad), "--campaign", "c2018", database=database)
    done = manage("import_units", str(good), "--campaign", "c2018", database=database)

    assert failed.returncode == 1
    assert "第3行 排查日期：无法识别的日期“2018-13-01”" in failed.stderr.splitlines()
    assert "导入失败：共1处错误，未写入任何数据" in failed.stderr
    assert "新增单位0个" not in failed.stdout
    assert done.returncode == 0, done.stderr
    assert "导入完成：新增单位2个，更新0个，不变0个" in done.stdout


def test_the_units_current_rectification_is_what_the_list_says(xlsx, town):
    """The columns the register's 整治方式 / 整治完成日期 filters read (Enterprise.current_method and
    current_rectified_on, kept by triggers): written with a new unit, followed by a correction."""
    run(xlsx(rectified(), unit_row(单位名称="乙厂", 地址="西门路1号")))
    kept = dict(Enterprise.objects.values_list("name", "current_method"))
    assert kept == {"城关五金加工厂": Method.CLOSED, "乙厂": None}
    assert Enterprise.objects.get(name="城关五金加工厂").current_rectified_on == datetime.date(2018, 5, 1)

    run(xlsx(rectified(整治方式="拆除", 整治完成日期="2018-05-03"), name="更正.xlsx"))
    unit = Enterprise.objects.get(name="城关五金加工厂")
    assert (unit.current_method, unit.current_rectified_on) == (Method.DEMOLISHED, datetime.date(2018, 5, 3))
