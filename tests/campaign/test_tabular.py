"""The spreadsheet reader: file types by content, encodings, header discovery, row numbers, dates."""

import datetime
import io
import zipfile

import openpyxl
import pytest
from django.test import override_settings

from core.tabular import (
    CSV,
    XLSX,
    Column,
    Issue,
    TableError,
    cell_text,
    normalize_header,
    parse_date,
    read_table,
    sniff,
)

COLUMNS = [
    Column("name", "单位名称", required=True),
    Column("township", "乡镇街道", required=True),
    Column("phone", "联系电话"),
    Column("day", "排查日期"),
]
HEADER = ["单位名称", "乡镇街道", "联系电话", "排查日期"]


def xlsx_bytes(*sheets):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for index, rows in enumerate(sheets):
        sheet = book.create_sheet(f"Sheet{index + 1}")
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=number, column=column, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, encoding="utf-8"):
    text = "\r\n".join(",".join("" if v is None else str(v) for v in row) for row in rows) + "\r\n"
    return text.encode(encoding)


def numbered(table):
    return [(row.number, row.cells["name"]) for row in table.rows]


# --- file type ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "文件是空的"),
        (b"  \r\n\r\n", "文件是空的"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "不是 Excel（.xlsx）或 CSV 表格"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "不是 Excel（.xlsx）或 CSV 表格"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "另存为 .xlsx"),
        (b"<html><body><table><tr><td>1</td></tr></table>", "网页或 XML 格式"),
        (b"PK\x03\x04garbage", "已损坏"),
        (bytes(range(256)) * 8, "不是 Excel（.xlsx）或 CSV 表格"),
        (b"\x81\xff\xfe\x80\x81\xff" * 50, "无法识别文件的文字编码"),
    ],
    ids=["empty", "blank", "pdf", "exe", "old-xls", "html", "broken-zip", "binary", "undecodable"],
)
def test_a_file_that_is_not_a_spreadsheet_is_refused_with_a_reason(data, words):
    with pytest.raises(TableError) as caught:
        read_table(data, COLUMNS)
    assert words in str(caught.value)


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(TableError, match="不是 Excel"):
        read_table(buffer.getvalue(), COLUMNS)


def test_a_workbook_whose_insides_are_broken_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "not xml at all")

    with pytest.raises(TableError, match="无法读取 Excel 文件"):
        read_table(buffer.getvalue(), COLUMNS)


def test_the_type_is_decided_by_content_not_by_the_file_name(tmp_path):
    fake_xlsx = tmp_path / "清单.xlsx"
    fake_xlsx.write_bytes(csv_bytes([HEADER, ["甲厂", "城关镇", "", ""]]))
    fake_csv = tmp_path / "清单.csv"
    fake_csv.write_bytes(xlsx_bytes([HEADER, ["乙厂", "城关镇", None, None]]))

    assert read_table(fake_xlsx, COLUMNS).kind == CSV
    assert read_table(fake_csv, COLUMNS).kind == XLSX
    assert sniff(fake_csv.read_bytes()) == XLSX


def test_a_missing_path_is_a_table_error(tmp_path):
    with pytest.raises(TableError, match="无法读取文件"):
        read_table(tmp_path / "nope.xlsx", COLUMNS)


def test_reads_paths_file_objects_and_bytes(tmp_path):
    data = xlsx_bytes([HEADER, ["甲厂", "城关镇", None, None]])
    path = tmp_path / "a.xlsx"
    path.write_bytes(data)
    upload = io.BytesIO(data)
    upload.read(10)  # a half-read upload is rewound

    for source in (path, str(path), upload, data):
        assert numbered(read_table(source, COLUMNS)) == [(2, "甲厂")]


# --- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_in_utf8_with_or_without_bom_and_in_gb18030(encoding):
    data = csv_bytes([HEADER, ["甲厂（一分厂）", "城关镇", "0571-88886666", "2019年3月5日"]], encoding)

    table = read_table(data, COLUMNS)

    assert table.kind == CSV
    assert table.rows[0].cells == {
        "name": "甲厂（一分厂）",
        "township": "城关镇",
        "phone": "0571-88886666",
        "day": "2019年3月5日",
    }


def test_csv_saved_by_excel_as_unicode_text_is_utf16_with_tabs():
    text = "\t".join(HEADER) + "\r\n" + "甲厂\t城关镇\t\t\r\n"
    data = text.encode("utf-16")

    assert numbered(read_table(data, COLUMNS)) == [(2, "甲厂")]


def test_quoted_csv_cells_keep_commas_and_line_breaks():
    data = '单位名称,乡镇街道\r\n"甲厂,二车间","城关\n镇"\r\n乙厂,城关镇\r\n'.encode()

    table = read_table(data, COLUMNS)

    assert [(row.number, row.cells["name"], row.cells["township"]) for row in table.rows] == [
        (2, "甲厂,二车间", "城关\n镇"),
        (3, "乙厂", "城关镇"),
    ]


# --- header and row numbers --------------------------------------------------------------------


@pytest.mark.parametrize("kind", [XLSX, CSV])
def test_title_rows_above_the_header_keep_the_spreadsheet_row_numbers(kind):
    rows = [
        ["2018年城关镇“四无”单位排查清单", None, None, None],
        ["填报单位：城关镇", None, None, "填报日期：2018-03-01"],
        HEADER,
        ["甲厂", "城关镇", None, None],
        [None, None, None, None],
        ["乙厂", "城关镇", None, None],
    ]
    data = xlsx_bytes(rows) if kind == XLSX else csv_bytes(rows)

    table = read_table(data, COLUMNS)

    assert table.header_row == 3
    assert numbered(table) == [(4, "甲厂"), (6, "乙厂")]


def test_blank_rows_at_the_top_of_a_sheet_count_in_the_row_numbers():
    rows = [[None, None], [None, None], [None, *HEADER], [None, "甲厂", "城关镇"]]

    table = read_table(xlsx_bytes(rows), COLUMNS)

    assert table.header_row == 3
    assert numbered(table) == [(4, "甲厂")]


def test_header_names_with_spaces_asterisks_brackets_or_in_english_are_recognised():
    header = [" 单位 名称 ", "*乡镇（街道）", "\u3000联系\u3000电话", "DAY"]
    table = read_table(xlsx_bytes([header, ["甲厂", "城关镇", 13812345678, None]]), COLUMNS)

    assert [column.key for column in table.columns] == ["name", "township", "phone", "day"]
    assert table.rows[0].cells["phone"] == 13812345678


def test_columns_are_found_in_any_order_and_unknown_columns_are_ignored():
    header = ["序号", "乡镇街道", "备注", "单位名称"]
    table = read_table(csv_bytes([header, ["1", "城关镇", "无", "甲厂"]]), COLUMNS)

    assert table.rows[0].cells == {"name": "甲厂", "township": "城关镇"}
    assert not table.has("phone")


def test_a_missing_required_column_is_named_with_the_header_row():
    data = csv_bytes([["标题"], ["单位名称", "联系电话"], ["甲厂", "1"]])

    with pytest.raises(TableError) as caught:
        read_table(data, COLUMNS)

    assert [str(issue) for issue in caught.value.issues] == ["缺少必填列“乡镇街道”（表头在第2行）"]
    assert caught.value.issues[0].column == "乡镇街道"


def test_no_header_in_the_first_rows():
    rows = [[f"第{i}行说明"] for i in range(12)] + [HEADER]

    with pytest.raises(TableError, match="未找到表头：文件前10行中没有包含“单位名称”、“乡镇街道”等列名的行"):
        read_table(csv_bytes(rows), COLUMNS)


def test_a_column_given_twice_is_an_error():
    with pytest.raises(TableError) as caught:
        read_table(csv_bytes([["单位名称", "乡镇街道", "name"], ["a", "b", "c"]]), COLUMNS)

    assert str(caught.value) == "第1行 单位名称：表头中出现了2次，无法确定使用哪一列"


def test_a_header_without_data_is_an_empty_table_and_a_sheet_without_anything_says_so():
    assert read_table(csv_bytes([HEADER]), COLUMNS).rows == []
    with pytest.raises(TableError, match="文件中没有数据"):
        read_table(xlsx_bytes([]), COLUMNS)


def test_the_first_sheet_with_the_header_is_read():
    instructions = [["填表说明"], ["1. 日期格式为 2018-03-01"]]
    data = xlsx_bytes(instructions, [HEADER, ["甲厂", "城关镇"]])

    table = read_table(data, COLUMNS)

    assert table.sheet == "Sheet2"
    assert numbered(table) == [(2, "甲厂")]


def test_text_keeps_leading_zeros_and_numbers_stay_numbers():
    rows = [HEADER, ["007厂", "城关镇", "05718888", datetime.date(2019, 3, 5)], ["8", "城关镇", 5718888, 43529]]

    xlsx = read_table(xlsx_bytes(rows), COLUMNS)
    csv = read_table(csv_bytes(rows), COLUMNS)

    assert xlsx.rows[0].cells["phone"] == "05718888"
    assert xlsx.rows[0].cells["day"] == datetime.date(2019, 3, 5)
    assert xlsx.rows[1].cells["phone"] == 5718888
    assert csv.rows[0].cells["name"] == "007厂"
    assert csv.rows[0].cells["phone"] == "05718888"


# --- row cap -----------------------------------------------------------------------------------


@override_settings(IMPORT_MAX_ROWS=3)
@pytest.mark.parametrize("kind", [XLSX, CSV])
def test_rows_are_capped_at_the_setting(kind):
    def data(count):
        rows = [["标题"], HEADER] + [[f"厂{i}", "城关镇"] for i in range(count)]
        return xlsx_bytes(rows) if kind == XLSX else csv_bytes(rows)

    assert len(read_table(data(3), COLUMNS).rows) == 3
    with pytest.raises(TableError, match="文件超过3行的上限"):
        read_table(data(4), COLUMNS)
    with pytest.raises(TableError, match="文件超过3行的上限"):
        read_table(data(40), COLUMNS)


def test_trailing_blank_rows_do_not_count_towards_the_cap():
    rows = [HEADER, ["甲厂", "城关镇"]] + [["", ""]] * 5

    assert len(read_table(csv_bytes(rows), COLUMNS, max_rows=2).rows) == 1


# --- cells -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2019, 3, 5, 0, 0),
        datetime.date(2019, 3, 5),
        43529,
        43529.0,
        43529.75,
        "43529",
        "2019-03-05",
        "2019-3-5",
        "2019/3/5",
        "2019/03/05 0:00",
        "2019.3.5",
        "2019年3月5日",
        "2019 年 3 月 5 日",
        "２０１９－０３－０５",
        "2019-03-05 00:00:00",
        "20190305",
        " 2019-03-05 ",
    ],
)
def test_dates_in_the_forms_people_and_excel_write_them(value):
    assert parse_date(value) == datetime.date(2019, 3, 5)


@pytest.mark.parametrize("value", ["2018-13-01", "2019-02-29", "3/5/2019", "去年", "", None, True, 12, "19-3-5", 1e12])
def test_what_is_not_a_date(value):
    with pytest.raises((ValueError, OverflowError)):
        parse_date(value)


def test_excel_serials_across_the_years():
    assert parse_date(18264) == datetime.date(1950, 1, 1)
    assert parse_date(43101) == datetime.date(2018, 1, 1)
    assert parse_date(43465) == datetime.date(2018, 12, 31)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (120.0, "120"),
        (12.5, "12.5"),
        (True, "TRUE"),
        (datetime.datetime(2019, 3, 5), "2019-03-05"),
        ("  甲厂\u200b ", "甲厂"),
        ("甲\x00厂\x1f", "甲厂"),
        ("一车间\n二车间", "一车间 二车间"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_headers_compare_without_spaces_brackets_and_case():
    assert normalize_header(" 乡镇（街道）") == normalize_header("乡镇街道") == "乡镇街道"
    assert normalize_header("Credit Code") == normalize_header("credit_code")


def test_issues_read_like_the_spec_example():
    assert str(Issue("无法识别的日期“2018-13-01”", row=19, column="排查日期")) == (
        "第19行 排查日期：无法识别的日期“2018-13-01”"
    )
    assert str(Issue("至少要有一项为“是”", row=4)) == "第4行：至少要有一项为“是”"
    assert str(Issue("文件是空的")) == "文件是空的"


# --- hostile workbooks (the full corpus is tests/imports/corpus.py) -----------------------------


def _workbook(edit):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["石门镇排查清单"])
    sheet.append(HEADER)
    sheet.append(["城东厂", "城关镇", "13812345678", "2019-03-05"])
    edit(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_title_merged_across_the_top_is_fine():
    table = read_table(_workbook(lambda sheet: sheet.merge_cells("A1:D1")), COLUMNS)
    assert table.header_row == 2 and numbered(table) == [(3, "城东厂")]


def test_merged_cells_in_the_header_are_refused():
    with pytest.raises(TableError) as error:
        read_table(_workbook(lambda sheet: sheet.merge_cells("A1:A2")), COLUMNS)
    assert str(error.value).splitlines() == [
        "缺少必填列“单位名称”（表头在第2行）",
        "第2行：表头中有合并单元格（A1:A2）：请取消合并，每列一个列名",
    ]


def test_a_formula_with_its_cached_value_is_read_as_the_value():
    data = _workbook(lambda sheet: None)
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    sheet = entries["xl/worksheets/sheet1.xml"].decode()
    entries["xl/worksheets/sheet1.xml"] = sheet.replace(
        '<c r="A3" t="inlineStr"><is><t>城东厂</t></is></c>',
        '<c r="A3" t="str"><f>CONCAT("城东","厂")</f><v>城东厂</v></c>',
    ).encode()
    assert "<f>" in entries["xl/worksheets/sheet1.xml"].decode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in entries.items():
            target.writestr(name, content)
    assert numbered(read_table(buffer.getvalue(), COLUMNS)) == [(3, "城东厂")]


@override_settings(IMPORT_MAX_FILE_BYTES=1000)
def test_a_file_over_the_size_cap_is_refused_before_it_is_read():
    with pytest.raises(TableError, match="MB 的上限"):
        read_table(b"a" * 1001, COLUMNS)
