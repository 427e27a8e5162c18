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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from django.conf import settings
from django.utils.translation import gettext as _

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
        raise TableError(
            Issue(_("这是旧版 Excel 97-2003（.xls）或加密的工作簿，无法读取：请在 Excel 中打开，另存为 .xlsx 后再导入"))
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
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, OSError):
        raise TableError(Issue(_("Excel 文件已损坏，无法打开"))) from None
    if "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names):
        return XLSX
    raise TableError(Issue(_("文件是压缩包或其他 Office 文档（如 Word），不是 Excel（.xlsx）表格")))


def _read_bytes(source: str | Path | BinaryIO | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | Path):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise TableError(Issue(_("无法读取文件：%(reason)s") % {"reason": exc.strerror or exc})) from None
    if hasattr(source, "seek"):
        source.seek(0)
    return source.read()


# --- raw rows ----------------------------------------------------------------------------------


def _xlsx_sheets(data: bytes, limit: int) -> Iterable[tuple[str, list[list[Any]]]]:
    """Each worksheet's first ``limit`` rows, index i being spreadsheet row i + 1."""
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="calamine")
        for sheet in book.sheet_names:
            frame = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object, keep_default_na=False, nrows=limit)
            yield sheet, frame.to_numpy().tolist()
    except Exception as exc:  # calamine raises its own types for every kind of broken workbook
        raise TableError(Issue(_("无法读取 Excel 文件：%(reason)s") % {"reason": exc})) from None


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
    max_rows = settings.IMPORT_MAX_ROWS if max_rows is None else max_rows
    limit = HEADER_SCAN_ROWS + max_rows + 1
    data = _read_bytes(source)
    kind = sniff(data)
    sheets = _xlsx_sheets(data, limit) if kind == XLSX else [(None, _csv_rows(data, limit))]
    fallback = None
    for sheet, raw in sheets:
        found = _find_header(raw, columns)
        if found and not _header_issues(found, columns):
            return _table(kind, sheet, raw, found, columns, max_rows, truncated=len(raw) >= limit)
        if fallback is None or (found and not fallback[1]):
            fallback = (raw, found)
    if fallback is None or not any(not is_blank(cell) for row in fallback[0] for cell in row):
        raise TableError(Issue(_("文件中没有数据")))
    raise TableError(_header_issues(fallback[1], columns))


def _table(kind, sheet, raw, found, columns, max_rows, *, truncated) -> Table:
    index, positions = found
    while raw and all(is_blank(cell) for cell in raw[-1]):
        raw.pop()
    if truncated or len(raw) - index - 1 > max_rows:
        raise TableError(
            Issue(_("文件超过%(max)d行的上限，请拆分成几个文件分批导入") % {"max": max_rows}),
        )
    places = {column: places[0] for column, places in positions.items()}
    table = Table(kind=kind, sheet=sheet, header_row=index + 1, columns=[c for c in columns if c in places])
    for offset, row in enumerate(raw[index + 1 :], start=index + 2):
        cells = {column.key: row[place] if place < len(row) else "" for column, place in places.items()}
        if not all(is_blank(cell) for cell in cells.values()):
            table.rows.append(Row(number=offset, cells=cells))
    return table
