"""Reading the spreadsheets people upload (.xlsx or .csv) into rows of raw cell values.

Shared by every importer (screening lists, annual targets) and by the web upload. It knows nothing
about units or targets: the caller names its columns, ``read_table`` finds them and hands back
each data row with the number the spreadsheet shows for it, so every message can point at a cell.

What arrives in practice: workbooks from Excel and WPS, with a title row or two above the header;
CSV files from Excel on Chinese Windows (GB18030), from other systems (UTF-8, with or without a
BOM), and now and then an old .xls, a web page saved as ".xls", or a PDF. The type is decided by
the content, never by the file name.
"""

import csv
import datetime
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree import ElementTree

from django.conf import settings
from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

XLSX = "xlsx"
CSV = "csv"
HEADER_SCAN_ROWS = 10

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGIC = (
    b"%PDF",
    b"MZ",
    b"\x7fELF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x1f\x8b",
    b"BM",
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# An encrypted .xlsx is an OLE2 compound file holding these streams (MS-OFFCRYPTO), names in UTF-16.
_ENCRYPTED_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
# Limits checked on the zip's own directory before anything is unpacked (a zip bomb declares what
# it would unpack to; a declaration that lies is caught while the entries are checked, below).
MAX_ZIP_ENTRIES = 1000
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200  # a real sheet compresses 10–30×; 1000× is a bomb
MAX_FILE_BYTES = 50 * 1024 * 1024
_CHUNK = 1 << 20
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
FORMULA_START = ("=", "+", "-", "@")  # what a spreadsheet runs as a formula when typed
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE_TAG = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Z]+\d+(?::[A-Z]+\d+)?)\"")
# Characters that never belong in a cell: C0/C1 controls and the invisible ones pasted from web pages.
_INVISIBLE = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200d\u2060\ufeff]")
_LINE_BREAKS = re.compile(r"[\t\r\n]+")
_HEADER_NOISE = re.compile(r"[\s*()\[\]【】（）_\-:：]+")
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
# Excel's day 0 is 1899-12-30 once past its phantom 1900-02-29; serials before 1950 are not dates here.
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_SERIAL_YEARS = (1950, 2100)


@dataclass(frozen=True)
class Column:
    """A column the caller expects. ``header`` is the Chinese header of the file format (SPEC 3).

    Headers are part of the file format, not of the UI, so they are plain strings and are never
    translated; the English ``key`` is accepted as a header too.
    """

    key: str
    header: str
    required: bool = False
    aliases: tuple[str, ...] = ()

    def names(self) -> set[str]:
        return {normalize_header(name) for name in (self.header, self.key, *self.aliases)}


@dataclass(frozen=True)
class Issue:
    """One problem found in a file: where (spreadsheet row, column header) and what, in Chinese."""

    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.column:
            return _("第%(row)d行 %(column)s：%(message)s") % {
                "row": self.row,
                "column": self.column,
                "message": self.message,
            }
        return _("第%(row)d行：%(message)s") % {"row": self.row, "message": self.message}


class TableError(Exception):
    """The file as a whole cannot be read: wrong type, no header, missing columns, too many rows."""

    def __init__(self, issues: Issue | Iterable[Issue]):
        self.issues = [issues] if isinstance(issues, Issue) else list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


@dataclass
class Row:
    """A data row: its spreadsheet row number and the raw cells of the caller's columns."""

    number: int
    cells: dict[str, Any]

    def get(self, key: str) -> Any:
        return self.cells.get(key, "")


@dataclass
class Table:
    kind: str  # XLSX or CSV
    header_row: int  # spreadsheet row number of the header
    columns: list[Column]  # the caller's columns found in the header, in the caller's order
    rows: list[Row] = field(default_factory=list)
    sheet: str | None = None

    def has(self, key: str) -> bool:
        return any(column.key == key for column in self.columns)


@dataclass
class ColumnTable:
    """The same table read column by column, for an importer that checks a column at a time.

    ``numbers[i]`` is the spreadsheet row number of ``cells[key][i]``; ``cells`` holds one list per
    column found (in the file's order), blank rows already left out as ``read_table`` leaves them.
    """

    kind: str
    header_row: int
    columns: list[Column]
    numbers: list[int] = field(default_factory=list)
    cells: dict[str, list[Any]] = field(default_factory=dict)
    sheet: str | None = None

    def has(self, key: str) -> bool:
        return key in self.cells


# --- cells -------------------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Drop control and invisible characters, turn tabs and line breaks into spaces, trim."""
    if value.isprintable():  # the common case, and a cheap test: a list has a million cells
        return value.strip()
    return _LINE_BREAKS.sub(" ", _INVISIBLE.sub("", value)).strip()


def is_blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not clean_text(value))


def cell_text(value: Any) -> str:
    """A cell as the text a person sees in it: 120.0 reads "120", a midnight datetime its date."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return clean_text(str(value))


def _serial_to_date(serial: float) -> datetime.date:
    day = _EXCEL_EPOCH + datetime.timedelta(days=int(serial))
    if not _SERIAL_YEARS[0] <= day.year <= _SERIAL_YEARS[1]:
        raise ValueError(serial)
    return day


def parse_date(value: Any) -> datetime.date:
    """A date from a cell: a date/datetime, an Excel serial, 20190305, 2019-03-05, 2019/3/5,
    2019.3.5 or 2019年3月5日 (a trailing 00:00:00 is ignored). Raises ValueError otherwise."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return _serial_to_date(value)
    text = unicodedata.normalize("NFKC", cell_text(value))
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if match:
        return datetime.date(*(int(part) for part in match.groups()[:3]))
    if _NUMBER.match(text):
        return _serial_to_date(float(text))
    raise ValueError(value)


def parse_decimal(value: Any) -> Decimal:
    """A number from a cell, tolerating thousands separators. Raises ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = unicodedata.normalize("NFKC", cell_text(value)).replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return number


# --- file type ---------------------------------------------------------------------------------


def sniff(data: bytes) -> str:
    """XLSX or CSV, judged by content; TableError for anything that is not a spreadsheet."""
    if not data.strip():
        raise TableError(Issue(_("文件是空的")))
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    if data.startswith(_OLE2):
        if any(stream in data for stream in _ENCRYPTED_STREAMS):
            message = _("文件已加密（设置了打开密码），无法读取：请在 Excel 中取消密码后另存为 .xlsx 再导入")
            raise TableError(Issue(message))
        raise TableError(
            Issue(_("这是旧版 Excel 97-2003（.xls）文件，无法读取：请在 Excel 中打开，另存为 .xlsx 后再导入"))
        )
    if data.startswith(_BINARY_MAGIC):
        raise TableError(Issue(_("文件不是 Excel（.xlsx）或 CSV 表格")))
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<"):
        raise TableError(
            Issue(_("文件是网页或 XML 格式（常见于系统导出的“.xls”），请用 Excel 打开后另存为 .xlsx 再导入"))
        )
    return CSV


def _sniff_zip(data: bytes) -> str:
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise TableError(Issue(_("Excel 文件已损坏或不完整（可能没有上传完），无法打开"))) from None
    names = {info.filename for info in infos}
    if "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names):
        return XLSX
    raise TableError(Issue(_("文件是压缩包或其他 Office 文档（如 Word），不是 Excel（.xlsx）表格")))


def check_zip(data: bytes) -> dict[str, list[str]]:
    """Refuse a workbook that would unpack to too much, before any of it is unpacked; then unpack
    every entry in bounded chunks to prove it is whole (CRC) and no larger than it declares.

    Returns, per sheet XML path, the merged ranges and the cells whose formula has no cached value.
    """
    book = zipfile.ZipFile(io.BytesIO(data))
    infos = book.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        message = _("Excel 文件包含%(n)d个内部文件，超过上限%(max)d，疑似恶意文件")
        raise TableError(Issue(message % {"n": len(infos), "max": MAX_ZIP_ENTRIES}))
    if any(info.flag_bits & 0x1 for info in infos):
        raise TableError(Issue(_("文件已加密（设置了密码），无法读取：请取消密码后另存为 .xlsx 再导入")))
    if any(info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for info in infos):
        raise TableError(Issue(_("Excel 文件使用了不支持的压缩方式，请用 Excel 另存为 .xlsx 后再导入")))
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_UNPACKED_BYTES or any(
        info.file_size > _CHUNK and info.file_size > MAX_RATIO * max(info.compress_size, 1) for info in infos
    ):
        raise TableError(
            Issue(
                _("Excel 文件解压后过大（%(size)d MB，上限%(max)d MB）或压缩比异常，疑似压缩炸弹，拒绝读取")
                % {"size": unpacked // (1024 * 1024), "max": MAX_UNPACKED_BYTES // (1024 * 1024)}
            )
        )
    sheets = {}
    try:
        for info in infos:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                sheets[info.filename] = _scan_sheet(book, info)
            else:
                with book.open(info) as stream:
                    while stream.read(_CHUNK):
                        pass
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError, ElementTree.ParseError):
        raise TableError(Issue(_("Excel 文件已损坏或不完整（可能没有上传完），无法打开"))) from None
    return sheets


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _scan_sheet(book: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[str]:
    """One worksheet's merged ranges and formula cells without a cached value.

    A byte scan of the unpacked chunks finds both cheaply (a sheet has a million cells); only a
    sheet that holds formulas is parsed as XML, streamed, to tell which have no cached value.
    """
    problems, has_formula, tail = [], False, b""
    with book.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            # bytes.find is a memchr-speed scan; the regular expressions run only where it hits.
            maybe = b"<f" in window or b":f" in window
            has_formula = has_formula or (maybe and _FORMULA_TAG.search(window) is not None)
            if b"mergeCell " in window:
                fresh = window[len(tail) - len(tail) // 2 :]
                problems += ["merge:" + ref.decode() for ref in _MERGE_TAG.findall(fresh)]
            tail = window[-256:]
    problems = list(dict.fromkeys(problems))
    if has_formula:
        with book.open(info) as stream:
            problems += _formulas_without_value(stream)
    return problems


def _formulas_without_value(stream) -> list[str]:
    found = []
    # B314: expat >= 2.4.1 (Python 3.11 bundles 2.5) refuses entity amplification (billion laughs)
    # and ElementTree never fetches external entities or DTDs.
    for _event, element in ElementTree.iterparse(stream, events=("end",)):  # nosec B314  # expat limits, no XXE
        tag = _local(element.tag)
        if tag == "c":
            children = {_local(child.tag): child for child in element}
            cached = (children.get("v") is not None and (children["v"].text or "")) or "is" in children
            if "f" in children and not cached:
                found.append("formula:" + element.get("r", ""))
            element.clear()
        elif tag == "row":
            element.clear()
    return found


def _sheet_paths(data: bytes) -> list[str]:
    """The worksheet XML paths in the workbook's sheet order (as pandas lists the sheet names)."""
    book = zipfile.ZipFile(io.BytesIO(data))
    try:
        parts = [book.getinfo(name) for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")]
        if any(part.file_size > _CHUNK * 8 for part in parts):  # a sheet list is a few kB
            return []
        # B314: a few kB (checked above); expat refuses entity amplification, ElementTree has no XXE.
        workbook, rels = (ElementTree.fromstring(book.read(part)) for part in parts)  # nosec B314  # see above
    except (KeyError, ElementTree.ParseError):
        return []
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    paths = []
    for element in workbook.iter():
        if _local(element.tag) == "sheet":
            rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
            target = targets.get(rid, "").lstrip("/")
            paths.append(target if target.startswith("xl/") else "xl/" + target)
    return paths


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _range(ref: str) -> tuple[int, int, int, int] | None:
    """ "B3:D4" → (first row, last row, first column, last column), rows 1-based, columns 0-based."""
    parts = ref.split(":")
    matches = [_CELL_REF.match(part) for part in parts]
    if not all(matches):
        return None
    rows = [int(m.group(2)) for m in matches]
    columns = [_column_index(m.group(1)) for m in matches]
    return min(rows), max(rows), min(columns), max(columns)


def _read_bytes(source: str | Path | BinaryIO | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | Path):
        try:
            with Path(source).open("rb") as file:
                return file.read(max_file_bytes() + 1)
        except OSError as exc:
            raise TableError(Issue(_("无法读取文件：%(reason)s") % {"reason": exc.strerror or exc})) from None
    if hasattr(source, "seek"):
        source.seek(0)
    return source.read(max_file_bytes() + 1)


def max_file_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_FILE_BYTES", MAX_FILE_BYTES)


def formula_like(text: str) -> bool:
    """Text a spreadsheet would run as a formula if it were typed into a cell."""
    return text.startswith(FORMULA_START)


# --- raw rows ----------------------------------------------------------------------------------


def _xlsx_sheets(data: bytes, limit: int) -> Iterable[tuple[str, list[list[Any]]]]:
    """Each worksheet's first ``limit`` rows, index i being spreadsheet row i + 1."""
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = book.sheet_names
    except Exception:  # calamine raises its own types for every kind of broken workbook
        raise TableError(Issue(_("无法读取 Excel 文件：文件已损坏，或不是有效的 .xlsx 工作簿"))) from None
    for sheet in names:
        try:
            # Empty rows and columns at the top and left are kept: row numbers are the sheet's.
            rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=limit)
        except Exception:
            message = _("无法读取工作表“%(sheet)s”：文件已损坏，或不是有效的 .xlsx 工作簿") % {"sheet": sheet}
            raise TableError(Issue(message)) from None
        yield sheet, rows


def _decode(data: bytes) -> str:
    if data.startswith(_UTF16_BOMS):
        encodings = ["utf-16"]
    elif b"\x00" in data[:4096]:
        raise TableError(Issue(_("文件不是 Excel（.xlsx）或 CSV 表格")))
    else:
        # utf-8-sig reads plain UTF-8 too; GB18030 is what Excel writes on Chinese Windows.
        encodings = ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise TableError(Issue(_("无法识别文件的文字编码（应为 UTF-8 或 GB18030/GBK），或文件不是 CSV 表格")))


def _csv_rows(data: bytes, limit: int) -> list[list[str]]:
    text = _decode(data)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [row for _i, row in zip(range(limit), reader)]
    except csv.Error as exc:
        message = _("CSV 文件格式错误（第%(row)d行）：%(reason)s") % {"row": reader.line_num, "reason": exc}
        raise TableError(Issue(message)) from None


# --- header ------------------------------------------------------------------------------------


def normalize_header(text: Any) -> str:
    """Header text as compared: NFKC, no spaces (any width), brackets, asterisks or underscores."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", cell_text(text))).lower()


def _header_positions(row: list[Any], lookup: dict[str, Column]) -> dict[Column, list[int]]:
    positions: dict[Column, list[int]] = {}
    for index, cell in enumerate(row):
        column = lookup.get(normalize_header(cell))
        if column is not None:
            positions.setdefault(column, []).append(index)
    return positions


def _find_header(raw: list[list[Any]], columns: Sequence[Column]) -> tuple[int, dict[Column, list[int]]] | None:
    """The first of the top rows that holds every required column, else the closest one (or None)."""
    lookup = {name: column for column in columns for name in column.names()}
    required = [column for column in columns if column.required]
    best = None
    for index, row in enumerate(raw[:HEADER_SCAN_ROWS]):
        positions = _header_positions(row, lookup)
        if all(column in positions for column in required) and positions:
            return index, positions
        if positions and (best is None or len(positions) > len(best[1])):
            best = (index, positions)
    return best


def _header_issues(found, columns: Sequence[Column]) -> list[Issue]:
    if found is None:
        wanted = "、".join(f"“{column.header}”" for column in columns if column.required)
        message = _("未找到表头：文件前%(n)d行中没有包含%(columns)s等列名的行")
        return [Issue(message % {"n": HEADER_SCAN_ROWS, "columns": wanted})]
    index, positions = found
    issues = [
        Issue(
            _("缺少必填列“%(column)s”（表头在第%(row)d行）") % {"column": column.header, "row": index + 1},
            column=column.header,
        )
        for column in columns
        if column.required and column not in positions
    ]
    issues += [
        Issue(_("表头中出现了%(n)d次，无法确定使用哪一列") % {"n": len(places)}, row=index + 1, column=column.header)
        for column, places in positions.items()
        if len(places) > 1
    ]
    return issues


# --- the table ---------------------------------------------------------------------------------


def read_table(
    source: str | Path | BinaryIO | bytes,
    columns: Sequence[Column],
    *,
    max_rows: int | None = None,
) -> Table:
    """Read the first sheet (of a workbook, the first one with the header) into a ``Table``.

    ``source`` is a path, a binary file object (an upload) or the file's bytes. Blank rows are
    skipped; at most ``max_rows`` (default ``settings.IMPORT_MAX_ROWS``) rows may follow the header.
    Raises TableError with every file-level problem found.
    """
    read = read_columns(source, columns, max_rows=max_rows)
    table = Table(kind=read.kind, sheet=read.sheet, header_row=read.header_row, columns=read.columns)
    keys = list(read.cells)
    table.rows = [Row(number, dict(zip(keys, cells))) for number, cells in zip(read.numbers, zip(*read.cells.values()))]
    return table


def read_columns(
    source: str | Path | BinaryIO | bytes,
    columns: Sequence[Column],
    *,
    max_rows: int | None = None,
) -> ColumnTable:
    """``read_table``, column by column: the same checks, the same rows, as a ``ColumnTable``.

    A 50,000-row list is a million cells: an importer that checks each column as a whole (most
    columns repeat a handful of values) does not build a dict per row first.
    """
    max_rows = settings.IMPORT_MAX_ROWS if max_rows is None else max_rows
    limit = HEADER_SCAN_ROWS + max_rows + 1
    data = _read_bytes(source)
    if len(data) > max_file_bytes():
        message = _("文件超过%(max)d MB 的上限，请拆分成几个文件分批导入") % {"max": max_file_bytes() // (1024 * 1024)}
        raise TableError(Issue(message))
    kind = sniff(data)
    problems: dict[str, list[str]] = {}
    paths: list[str] = []
    if kind == XLSX:
        problems = check_zip(data)
        paths = _sheet_paths(data)
    sheets = _xlsx_sheets(data, limit) if kind == XLSX else [(None, _csv_rows(data, limit))]
    del data
    fallback = None
    for position, (sheet, raw) in enumerate(sheets):
        found = _find_header(raw, columns)
        if found and not _header_issues(found, columns):
            path = paths[position] if position < len(paths) else None
            issues = _sheet_issues(problems.get(path, []), found, columns)
            if issues:
                raise TableError(issues)
            return _column_table(kind, sheet, raw, found, columns, max_rows, truncated=len(raw) >= limit)
        if fallback is None or (found and not fallback[1]):
            fallback = (raw, found, problems.get(paths[position] if position < len(paths) else None, []))
    if fallback is None or not any(not is_blank(cell) for row in fallback[0] for cell in row):
        raise TableError(Issue(_("文件中没有数据")))
    merged = _sheet_issues(fallback[2], fallback[1], columns) if fallback[1] else []
    raise TableError(_header_issues(fallback[1], columns) + [i for i in merged if i.column is None])


def _sheet_issues(problems: list[str], found, columns: Sequence[Column]) -> list[Issue]:
    """Merged cells in or below the header, and formulas without a cached value, in used columns."""
    index, positions = found
    header_row = index + 1
    used = {places[0]: column.header for column, places in positions.items()}
    issues = []
    for problem in problems:
        kind, _sep, ref = problem.partition(":")
        area = _range(ref)
        if area is None:
            continue
        first_row, last_row, first_col, last_col = area
        if last_row < header_row:
            continue  # a title merged across the top is what titles are
        header = next((used[c] for c in range(first_col, last_col + 1) if c in used), None)
        if kind == "merge" and first_row <= header_row:
            message = _("表头中有合并单元格（%(ref)s）：请取消合并，每列一个列名") % {"ref": ref}
            issues.append(Issue(message, row=header_row))
        elif kind == "merge" and header:
            message = _("有合并单元格（%(ref)s）：请取消合并，并在每一行填上内容") % {"ref": ref}
            issues.append(Issue(message, row=first_row, column=header))
        elif kind == "formula" and header:
            message = _("单元格%(ref)s是公式但没有计算结果：请在 Excel 中打开并保存，或把公式替换为数值") % {"ref": ref}
            issues.append(Issue(message, row=first_row, column=header))
        if len(issues) >= 100:
            break
    return issues


def _column_table(kind, sheet, raw, found, columns, max_rows, *, truncated) -> ColumnTable:
    index, positions = found
    while raw and all(is_blank(cell) for cell in raw[-1]):
        raw.pop()
    if truncated or len(raw) - index - 1 > max_rows:
        raise TableError(
            Issue(_("文件超过%(max)d行的上限，请拆分成几个文件分批导入") % {"max": max_rows}),
        )
    places = {column: places[0] for column, places in positions.items()}  # in the file's order
    body = raw[index + 1 :]
    del raw[index + 1 :]
    width = max(places.values()) + 1
    if any(len(row) < width for row in body):  # a CSV line, or a sheet row, shorter than the header
        body = [row if len(row) >= width else [*row, *[""] * (width - len(row))] for row in body]
    # Transposed at C speed: one list per column, one cell per data row.
    if not body:
        cells = [[] for _place in places]
    elif len(places) == 1:
        cells = [list(map(itemgetter(*places.values()), body))]
    else:
        cells = [list(column) for column in zip(*map(itemgetter(*places.values()), body))]
    del body
    numbers = list(range(index + 2, index + 2 + len(cells[0])))
    # A blank row is blank in every column: only the rows blank in the first need a closer look.
    blank = [i for i, empty in enumerate(map(is_blank, cells[0])) if empty]
    for column in cells[1:]:
        if not blank:
            break
        blank = [i for i in blank if is_blank(column[i])]
    if blank:
        dropped = set(blank)
        kept = [i for i in range(len(numbers)) if i not in dropped]
        numbers = [numbers[i] for i in kept]
        cells = [[column[i] for i in kept] for column in cells]
    return ColumnTable(
        kind=kind,
        sheet=sheet,
        header_row=index + 1,
        columns=[c for c in columns if c in places],
        numbers=numbers,
        cells={column.key: values for column, values in zip(places, cells, strict=True)},
    )
