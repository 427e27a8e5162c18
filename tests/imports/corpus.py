# ruff: noqa: E501 - a table of cases reads best one case a line
"""Malformed and hostile screening lists, each with the message the user must be shown.

Every entry is ``(id, build, expected)``: ``build(tmp)`` returns the file's bytes; ``expected`` is
a piece of the message (Chinese, with row and column where there is a cell to point at).
"""

import io
import zipfile
import zlib

import openpyxl

from enterprises.credit_code import make_credit_code

HEADER = [
    "单位名称",
    "统一社会信用代码",
    "乡镇街道",
    "联系电话",
    "无证无照",
    "排查日期",
    "整治状态",
    "整治方式",
    "整治完成日期",
]
GOOD = ["城东五金加工点", "", "石门镇", "13812345678", "是", "2018-03-05", "未整治", "", ""]
CODE_ZERO = make_credit_code("0", "1", "330102", "MA2B3C4D")


def row(**cells):
    values = dict(zip(HEADER, GOOD))
    values.update(cells)
    return [values[h] for h in HEADER]


def csv_file(*rows, header=HEADER, encoding="utf-8"):
    lines = [",".join(header)] + [",".join(str(v) for v in r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_file(*rows, header=HEADER, top=(), edit=None):
    book = openpyxl.Workbook()
    sheet = book.active
    for line in [*top, header, *rows]:
        sheet.append(list(line))
    if edit:
        edit(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def good_xlsx():
    return xlsx_file(row())


def zip_file(entries, *, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as book:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            book.writestr(info, data)
    return buffer.getvalue()


def rezip(data, *, replace=None, compression=None, extra=None):
    """A copy of workbook ``data`` with entries replaced, recompressed or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    entries = {info.filename: source.read(info) for info in source.infolist()}
    entries.update(replace or {})
    entries.update(extra or {})
    return zip_file(entries, compression=compression or zipfile.ZIP_DEFLATED)


def zip_bomb():
    """A workbook whose sheet unpacks to 64 MB of nothing: a 1000× ratio."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b" " * (1 << 20)
    raw = b"".join(compressor.compress(chunk) for _ in range(64)) + compressor.flush()
    size = 64 << 20
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
    # Add the bomb entry by hand: writestr would compress 64 MB again for nothing.
    info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size, info.compress_size, info.CRC = size, len(raw), zlib.crc32(b" " * size)
    with zipfile.ZipFile(buffer, "a") as book:
        book.fp.seek(book.start_dir)
        info.header_offset = book.fp.tell()
        book.fp.write(info.FileHeader())
        book.fp.write(raw)
        book.start_dir = book.fp.tell()
        book.filelist.append(info)
        book.NameToInfo[info.filename] = info
        book._didModify = True
    return buffer.getvalue()


def encrypted_flag(data):
    """Set the "encrypted" bit of every entry, in the local headers and the central directory."""
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            data[start + offset] |= 0x1
            start = data.find(signature, start + 4)
    return bytes(data)


def lying_sizes():
    """A workbook whose directory declares its sheet unpacks to 10 bytes: it unpacks to more."""
    data = bytearray(good_xlsx())
    name = b"xl/worksheets/sheet1.xml"
    start = data.find(b"PK\x01\x02")
    while start != -1:
        name_length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_length] == name:
            data[start + 24 : start + 28] = (10).to_bytes(4, "little")
        start = data.find(b"PK\x01\x02", start + 4)
    return bytes(data)


def many_entries():
    return rezip(good_xlsx(), extra={f"xl/media/pad{i}.bin": b"x" for i in range(1200)})


def ole2(*streams):
    data = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048))
    for offset, name in enumerate(streams):
        encoded = name.encode("utf-16-le")
        data[512 + offset * 128 : 512 + offset * 128 + len(encoded)] = encoded
    return bytes(data)


def merged_header(sheet):
    sheet.merge_cells("A1:B1")


def merged_data(sheet):
    sheet.append(row(单位名称="二号点"))
    sheet.merge_cells("C2:C3")


def formula_without_value(sheet):
    sheet["A2"] = '=CONCAT("城东","加工点")'


def literal_formula_text(sheet):
    sheet["A2"] = '=HYPERLINK("http://evil.example","点我")'
    sheet["A2"].data_type = "s"


def numeric_credit_code(sheet):
    sheet["B2"] = 91330102123456789


def broken_sheet_xml():
    return rezip(good_xlsx(), replace={"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row><c"})


def big_csv():
    return csv_file(*[row(单位名称=f"单位{i:06d}" + "很长的名字" * 10) for i in range(12000)])


CORPUS = [
    ("empty", lambda: b"", "文件是空的"),
    ("whitespace-only", lambda: b"  \r\n\t \r\n", "文件是空的"),
    ("renamed-exe", lambda: b"MZ\x90\x00\x03" + bytes(500), "不是 Excel（.xlsx）或 CSV"),
    ("elf-binary", lambda: b"\x7fELF\x02\x01\x01" + bytes(500), "不是 Excel（.xlsx）或 CSV"),
    ("pdf", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "不是 Excel（.xlsx）或 CSV"),
    ("png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(100), "不是 Excel（.xlsx）或 CSV"),
    ("gzip", lambda: b"\x1f\x8b\x08\x00" + bytes(100), "不是 Excel（.xlsx）或 CSV"),
    ("nul-bytes", lambda: b"\xe5\x8d\x95\x00\x00\x00abc" * 50, "不是 Excel（.xlsx）或 CSV"),
    ("old-xls", lambda: ole2("Workbook"), "旧版 Excel 97-2003（.xls）"),
    ("password-xlsx", lambda: ole2("EncryptionInfo", "EncryptedPackage"), "文件已加密"),
    ("encrypted-zip-entries", lambda: encrypted_flag(good_xlsx()), "文件已加密"),
    ("truncated-half", lambda: good_xlsx()[: len(good_xlsx()) // 2], "已损坏或不完整"),
    ("truncated-tail", lambda: good_xlsx()[:-30], "已损坏或不完整"),
    ("zip-bomb", zip_bomb, "疑似压缩炸弹"),
    ("too-many-entries", many_entries, "内部文件"),
    ("lying-declared-size", lying_sizes, "已损坏或不完整"),
    ("bzip2-entries", lambda: rezip(good_xlsx(), compression=zipfile.ZIP_BZIP2), "不支持的压缩方式"),
    ("broken-sheet-xml", broken_sheet_xml, "文件已损坏"),
    ("plain-zip", lambda: zip_file({"readme.txt": b"hello"}), "压缩包或其他 Office 文档"),
    ("docx", lambda: zip_file({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}), "其他 Office 文档"),
    ("html-as-xls", lambda: b"<html><body><table><tr><td>1</td></tr></table></body></html>", "网页或 XML"),
    ("xml-spreadsheet", lambda: b'<?xml version="1.0"?><Workbook></Workbook>', "网页或 XML"),
    ("no-header", lambda: csv_file(row(), header=["甲", "乙", "丙"]), "未找到表头"),
    (
        "missing-required-column",
        lambda: csv_file(["x", "石门镇"], header=["单位名称", "乡镇街道"]),
        "缺少必填列“排查日期”",
    ),
    ("duplicate-header", lambda: csv_file([*row(), "石门镇"], header=[*HEADER, "乡镇街道"]), "表头中出现了2次"),
    ("merged-header", lambda: xlsx_file(row(), edit=merged_header), "第1行：表头中有合并单元格（A1:B1）"),
    ("merged-data", lambda: xlsx_file(row(), edit=merged_data), "第2行 乡镇街道：有合并单元格（C2:C3）"),
    (
        "title-rows-then-bad-phone",
        lambda: xlsx_file(row(), row(单位名称="二号点", 联系电话="1.38123E+10"), top=[["石门镇排查清单"], []]),
        "第5行 联系电话：“1.38123E+10”是 Excel 的科学计数法",
    ),
    (
        "formula-without-value",
        lambda: xlsx_file(row(), edit=formula_without_value),
        "第2行 单位名称：单元格A2是公式但没有计算结果",
    ),
    ("formula-text-xlsx", lambda: xlsx_file(row(), edit=literal_formula_text), "第2行 单位名称：不能以“=”"),
    ("csv-dde", lambda: csv_file(row(单位名称="=cmd|' /C calc'!A0")), "第2行 单位名称：不能以“=”"),
    ("csv-plus", lambda: csv_file(row(单位名称="+1+2")), "第2行 单位名称：不能以“=”“+”"),
    ("csv-at", lambda: csv_file(row(联系电话="@SUM(A1)")), "第2行 联系电话：不能以"),
    ("csv-minus", lambda: csv_file(row(单位名称="-2+3")), "第2行 单位名称：不能以"),
    ("control-characters", lambda: csv_file(row(单位名称="\x01\x02\x07")), "第2行 单位名称：不能为空"),
    ("phone-scientific", lambda: csv_file(row(联系电话="1.38E+10")), "第2行 联系电话：“1.38E+10”是 Excel 的科学计数法"),
    ("credit-code-lost-zero", lambda: csv_file(row(统一社会信用代码=CODE_ZERO[1:])), "疑似开头的“0”被 Excel 去掉了"),
    (
        "credit-code-as-number",
        lambda: xlsx_file(row(), edit=numeric_credit_code),
        "第2行 统一社会信用代码：被 Excel 存成了数字",
    ),
    ("credit-code-invalid", lambda: csv_file(row(统一社会信用代码="91330102ABCDEFGHIJ")), "第2行 统一社会信用代码：“"),
    (
        "unknown-township",
        lambda: csv_file(row(乡镇街道="不存在镇")),
        "第2行 乡镇街道：系统中没有乡镇（街道）“不存在镇”",
    ),
    ("bad-date", lambda: csv_file(row(排查日期="三月五日")), "第2行 排查日期：无法识别的日期“三月五日”"),
    ("future-date", lambda: csv_file(row(排查日期="2999-01-01")), "第2行 排查日期：不能晚于今天"),
    (
        "no-defect",
        lambda: csv_file(row(无证无照="否")),
        "第2行：无证无照、无安全保障、无合法场所、无环保措施至少要有一项为“是”",
    ),
    ("bad-flag", lambda: csv_file(row(无证无照="也许")), "第2行 无证无照：应填“是”或“否”，收到“也许”"),
    ("bad-status", lambda: csv_file(row(整治状态="差不多")), "第2行 整治状态：应为未整治、整治中、已整治之一"),
    (
        "rectified-without-method",
        lambda: csv_file(row(整治状态="已整治", 整治完成日期="2018-04-01")),
        "第2行 整治方式：整治状态为“已整治”时必须填写",
    ),
    ("duplicate-rows", lambda: csv_file(row(), row()), "第3行 单位名称：与第2行的乡镇街道、单位名称、地址都相同"),
    ("name-too-long", lambda: csv_file(row(单位名称="长" * 201)), "第2行 单位名称：不能超过200个字符"),
    (
        "gb18030-bad-row",
        lambda: csv_file(row(排查日期="2018-13-45"), encoding="gb18030"),
        "第2行 排查日期：无法识别的日期",
    ),
    ("other-township", lambda: csv_file(row(乡镇街道="白鹤镇")), "第2行 乡镇街道：无权导入乡镇（街道）“白鹤镇”的单位"),
    ("over-row-cap", lambda: csv_file(*[row(单位名称=f"点{i}") for i in range(30)]), "文件超过20行的上限"),
    ("over-size-cap", big_csv, "MB 的上限"),
]
