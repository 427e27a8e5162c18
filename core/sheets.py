"""Tables written as .xlsx or as CSV (UTF-8 with a BOM): the one writer of every export.

A table is a header and rows of plain values: text, numbers, dates. Dates are written as real dates
(xlsx) or ISO dates (CSV). No cell is ever something a spreadsheet would run: text is written as
text (xlsx cell type string with Excel's quote prefix when it starts like a formula; in CSV a leading
apostrophe, as OWASP advises), so a township called "=1+1" stays that name.

The .xlsx is written here directly, row by row (``write_xlsx``): a workbook of one sheet is a
handful of fixed XML parts and the sheet's rows, and openpyxl, even in write-only mode, spends some
13 µs on each cell (18 s for a 70,000-unit register) where formatting a cell's XML here costs well
under one. Text goes to the shared-string table (each distinct text once, as Excel itself writes), a
date is a serial number with a date format, numbers are numbers, and no cell ever has a formula
(there is no way to write one here).

The report tables are small and written whole into a file (``write_xlsx``, ``write_csv``). A table
of any length, the unit register, is streamed instead (``stream_xlsx``, ``stream_csv``): handed on
a piece at a time while its rows are read, in memory that does not grow with the rows, its text as
inline strings (the shared-string table would have to hold every text until the end).
"""

import csv
import datetime
import io
import itertools
import math
import operator
import re
import tempfile
import zipfile
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import to_excel

XLSX, CSV = "xlsx", "csv"
FORMATS = (XLSX, CSV)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
DATE_FORMAT = "yyyy-mm-dd"


class Table:
    """A sheet name, the Chinese headers and the rows of values."""

    def __init__(self, title, headers, rows):
        self.title, self.headers, self.rows = title, headers, rows


def plain_value(value):
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def cell(sheet, value):
    """An openpyxl write-only cell of ``value``, text never a formula (the notice's workbook)."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl made any "=…" a formula: make it text again
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
    elif isinstance(value, datetime.date):
        cell.number_format = DATE_FORMAT
    return cell


# --- .xlsx ---------------------------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ROOT_RELS = (
    _XML + f'<Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELS}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_APP = (
    _XML + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel</Application></Properties>"
)
# Cell styles (cellXfs), by position: plain, bold (the header), date, quote prefix, bold + quote prefix.
_PLAIN, _BOLD, _DATE, _QUOTED, _BOLD_QUOTED = range(5)
_STYLES = (
    _XML + f'<styleSheet xmlns="{_MAIN}">'
    f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" quotePrefix="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
# Characters XML 1.0 cannot carry at all (C0 controls but tab and line breaks, lone surrogates,
# U+FFFE/U+FFFF): dropped, where openpyxl would have refused the whole file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel reads "_x0041_" in a cell's text as the character it names: a literal one is written with its
# "_" escaped the same way ("_x005F_").
_ESCAPE_LIKE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_ROWS_PER_WRITE = 2000


class _SheetWriter:
    """The cells of one sheet as XML, each distinct text and value formatted once.

    ``strings`` maps a text to the rest of its cell's XML after the reference (``" t="s"><v>7</v></c>``):
    its index in the shared-string table, and the quote-prefix style when it starts like a formula.
    ``others`` does the same for dates and numbers, by (type, value).
    """

    def __init__(self, prefixes):
        self.prefixes = prefixes
        self.texts: list[str] = []
        self.strings: dict[str, str] = {}
        self.others: dict[tuple, str] = {}

    def text(self, value: str, bold: bool = False) -> str:
        index = len(self.texts)
        self.texts.append(value)
        quoted = value.startswith(self.prefixes)
        style = (_BOLD_QUOTED if quoted else _BOLD) if bold else (_QUOTED if quoted else _PLAIN)
        return f'"{f" s={chr(34)}{style}{chr(34)}" if style else ""} t="s"><v>{index}</v></c>'

    def cell(self, value) -> str:
        """The XML after ``<c r="A1`` of a cell holding ``value`` (not None, not "")."""
        if isinstance(value, str):
            body = self.strings.get(value)
            if body is None:
                body = self.strings[value] = self.text(str(value))
            return body
        key = (value.__class__, value)
        body = self.others.get(key)
        if body is None:
            body = self.others[key] = self._other(value)
        return body

    def _other(self, value) -> str:
        if isinstance(value, bool):
            return f'" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, datetime.date):
            serial = to_excel(value)
            return f'" s="{_DATE}"><v>{int(serial) if serial == int(serial) else serial}</v></c>'
        if isinstance(value, int) or (isinstance(value, float | Decimal) and math.isfinite(value)):
            return f'"><v>{value}</v></c>'
        return self.cell(str(value))  # anything else (NaN, a time…) as the text it reads

    def row(self, number: int, values, letters) -> str:
        strings, cell, n = self.strings, self.cell, str(number)
        cells = "".join(
            [
                f'<c r="{letter}{n}{strings.get(value) or cell(value)}'
                for letter, value in zip(letters, values)
                if value is not None and value != ""
            ]
        )
        return f'<row r="{n}">{cells}</row>'

    def shared_strings(self) -> str:
        return _shared_strings(self.texts)


def _shared_strings(texts) -> str:
    """The shared-string table (xl/sharedStrings.xml) of ``texts``, in order."""
    items = []
    for text in texts:
        text = escape(_ESCAPE_LIKE.sub("_x005F_", _NOT_XML.sub("", text)))
        space = ' xml:space="preserve"' if text != text.strip() or "\n" in text or "\t" in text else ""
        items.append(f"<si><t{space}>{text}</t></si>")
    return f'{_XML}<sst xmlns="{_MAIN}" uniqueCount="{len(texts)}">{"".join(items)}</sst>'


def _pane(freeze: str) -> str:
    """A sheet view frozen above and left of the cell ``freeze`` ("A2": below the header row)."""
    letters = freeze.rstrip("0123456789")
    columns, rows = column_index_from_string(letters) - 1, int(freeze[len(letters) :]) - 1
    if not columns and not rows:
        return '<sheetView workbookViewId="0"/>'
    split = (f' xSplit="{columns}"' if columns else "") + (f' ySplit="{rows}"' if rows else "")
    pane = "bottomRight" if columns and rows else "topRight" if columns else "bottomLeft"
    return (
        f'<sheetView workbookViewId="0"><pane{split} topLeftCell="{freeze}" activePane="{pane}" state="frozen"/>'
        f'<selection pane="{pane}" activeCell="{freeze}" sqref="{freeze}"/></sheetView>'
    )


def write_xlsx(table, file, *, widths=None, freeze="A2", plain=True):
    """``table`` as a workbook of one sheet: a bold header row frozen at ``freeze``, then the rows.

    ``widths``: column widths (default: from the header's length). ``plain``: read values as the
    report tables hold them (``plain_value``: ISO-date text becomes a date, a Decimal a number); the
    unit register passes its values as they are (a unit may well be called "2018-03-05").
    """
    headers = list(table.headers)
    widths = widths or [max(10, len(header) * 2 + 2) for header in headers]
    letters = [get_column_letter(index) for index in range(1, len(headers) + 1)]
    cols = "".join(f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>' for i, width in enumerate(widths, 1))
    sheet = _SheetWriter(FORMULA_PREFIXES)
    header = "".join(
        f'<c r="{letter}1{sheet.text(str(title), bold=True)}' for letter, title in zip(letters, headers) if title != ""
    )
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in _package(1, [table.title]):
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w") as stream:
            head = (
                f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheetViews>{_pane(freeze)}</sheetViews>'
                f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData><row r="1">{header}</row>'
            )
            stream.write(head.encode())
            rows = (map(plain_value, row) for row in table.rows) if plain else table.rows
            block = []
            for number, values in enumerate(rows, start=2):
                block.append(sheet.row(number, values, letters))
                if len(block) == _ROWS_PER_WRITE:
                    stream.write("".join(block).encode())
                    block = []
            stream.write(("".join(block) + "</sheetData></worksheet>").encode())
        book.writestr("xl/sharedStrings.xml", sheet.shared_strings())


def csv_text(value):
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(table, file):
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow([csv_text(h) for h in table.headers])
    cell = _csv_cells()
    writer.writerows([cell(value) for value in row] for row in table.rows)
    text.flush()
    text.detach()


def _csv_cells():
    """``csv_text`` for a table's cells, each distinct value other than text converted once (the
    first ``_CACHE_LIMIT`` of them: memory stays bounded whatever the rows).

    Text (nearly every cell) is its own CSV text unless it starts like a formula; ten characters
    that may be an ISO date go through ``csv_text`` as they always have.
    """
    cache = {}

    def cell(value):
        if value.__class__ is str and len(value) != 10:
            return "'" + value if value.startswith(FORMULA_PREFIXES) else value
        key = (value.__class__, value)
        found = cache.get(key)
        if found is None:
            found = csv_text(value)
            if len(cache) < _CACHE_LIMIT:  # days and labels recur; areas may all differ
                cache[key] = found
        return found

    return cell


def table_file(table, fmt):
    """A temporary file holding ``table`` in ``fmt``, at its start (the FileResponse closes it)."""
    file = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        (write_xlsx if fmt == XLSX else write_csv)(table, file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


# --- streamed .xlsx and CSV ------------------------------------------------------------------------
#
# The register is streamed as it is read: ``stream_xlsx`` and ``stream_csv`` hand on the file a
# piece at a time and keep nothing of the rows already written, so their memory is the same for
# 1,000 rows or 1,000,000. The workbook is a zip written forwards only (each part's sizes follow it
# in a data descriptor, which every spreadsheet program reads), without ZIP64 (which Excel refuses
# where a part does not need it; a sheet part stays under zipfile's 2 GiB: about a million rows of
# 2 KB each). Its text cells are inline strings (``t="inlineStr"``): a shared-string table must list
# every distinct text of the sheet, which means keeping them all until the end; it holds only the
# few texts named below. The rows are formatted a block at a time, column by column:
# a column remembers the cell it wrote for each value while it has few distinct ones (townships,
# dates, yes/no), and writes the others (names, phones) as they come, escaping a block's values
# only when one of them needs it.

SHEET_ROWS = 1_048_575  # Excel's rows per sheet, less the header row; more go on to another sheet
_BLOCK_ROWS = 1000
_CACHE_LIMIT = 2048  # distinct values a column remembers
# The shared-string table, written after the sheets, holds the texts the caller names as recurring
# and those with an escape lookalike in them ("_x0041_", which a reader takes for the character it
# names): every reader decodes the escape written for it there ("_x005F_x0041_"), where some
# (openpyxl) leave it as it is in an inline string. Up to this many of the latter; any more are
# inline strings with the same escape, as Excel and calamine read them.
_SHARED_LIMIT = 10_000
_FLUSH_BYTES = 128 * 1024  # the least handed on at a time (but the first piece and the last)
_INLINE = b' t="inlineStr"><is><t>'
_INLINE_END = b"</t></is></c>"
# Whether a block of text values can be written as it is, checked on the values joined with NUL and
# framed by it (a few scans in C, where a check per value would cost more than writing it): nothing
# to escape or drop, no formula-like start (the quote prefix), no space at either end (xml:space).
_STARTS_LIKE_FORMULA = re.compile("\x00[=+\\-@\t\r\n]")
_STARTS_OR_ENDS_WITH_SPACE = re.compile("\x00 | \x00")
# All bytes but those of UTF-8 text that XML needs escaped or cannot carry, or that need xml:space.
_PLAIN_BYTES = bytes(sorted(set(range(256)) - set(range(1, 32)) - set(b"&<>")))


def _framed(values):
    """``values`` (text) joined and framed with NUL, or None when one is not text or holds a NUL."""
    try:
        framed = "\x00" + "\x00".join(values) + "\x00"
    except TypeError:
        return None
    return framed if framed.count("\x00") == len(values) + 1 else None


class _SharedStrings(dict):
    """{text: index} of a streamed workbook's shared-string table: the texts given as recurring (the
    names of townships, labels), then those with an escape lookalike in them, up to ``_SHARED_LIMIT``."""

    def __init__(self, texts=()):
        super().__init__()
        for text in texts:
            self.setdefault(_NOT_XML.sub("", str(text)), len(self))
        self.limit = len(self) + _SHARED_LIMIT


def _text_body(text, style=_PLAIN, shared=None):
    """The XML after ``<c r="A1`` of a cell holding ``text``: an inline string, or the index of its
    entry in ``shared`` (a ``_SharedStrings``)."""
    text = _NOT_XML.sub("", text)
    if text.startswith(FORMULA_PREFIXES):
        style = _BOLD_QUOTED if style == _BOLD else _QUOTED
    styled = f' s="{style}"' if style else ""
    if shared is not None:
        index = shared.get(text)
        if index is None and "_x" in text and _ESCAPE_LIKE.search(text) and len(shared) < shared.limit:
            index = shared[text] = len(shared)
        if index is not None:
            return f'"{styled} t="s"><v>{index}</v></c>'
    text = _ESCAPE_LIKE.sub("_x005F_", text)
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text or "\t" in text else ""
    return f'"{styled} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _xlsx_body(value, shared=None):
    """The XML after ``<c r="A1`` of a cell holding ``value`` (an empty cell for None or "")."""
    if value is None or value == "":
        return '"/>'
    if isinstance(value, str):
        return _text_body(value, shared=shared)
    if isinstance(value, bool):
        return f'" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime.date):
        serial = to_excel(value)
        return f'" s="{_DATE}"><v>{int(serial) if serial == int(serial) else serial}</v></c>'
    if isinstance(value, int) or (isinstance(value, float | Decimal) and math.isfinite(value)):
        return f'"><v>{value}</v></c>'
    return _text_body(str(value), shared=shared)  # anything else (NaN, a time…) as the text it reads


_NUMBER_TYPES = frozenset({bool, int, float, Decimal})
_NUMBER_OR_NONE = frozenset({float, Decimal, type(None)})
_DECIMAL_OR_NONE = frozenset({Decimal, type(None)})


class _Column:
    """One column of a streamed table, rendered a block of values at a time.

    ``render(value)`` is the column's output for a value (after ``convert``, when given). The column
    remembers the output of the first ``_CACHE_LIMIT`` distinct values it meets, so a column of
    townships, dates or yes/no renders each value once; past that it renders the values it does not
    know as they come, a block of text at once when ``plain(values)`` can (None when it cannot).
    True, 1 and 1.0 are one key to a dict: a column that holds numbers of more than one type
    renders each of its values as it comes.
    """

    __slots__ = ("cache", "convert", "full", "mixed", "numbers", "plain", "render")

    def __init__(self, render, convert=None, plain=None):
        self.render, self.convert, self.plain = render, convert, plain
        self.cache, self.full = {}, False
        self.numbers, self.mixed = frozenset(), False  # the types of number met

    def __call__(self, values):
        if self.full and self.plain is not None:
            out = self.plain(values if self.convert is None else list(map(self.convert, values)))
            if out is not None:
                return out
        cache = self.cache
        out = list(map(cache.get, values))
        if self.numbers or not all(out):  # the column holds numbers, or a value is new to it
            self.numbers = self.numbers.union(_NUMBER_TYPES.intersection(map(type, values)))
            self.mixed = self.mixed or len(self.numbers) > 1
        if self.mixed:
            if self.convert is not None:
                values = list(map(self.convert, values))
            return list(map(self.render, values))
        if not all(out):  # None where the value is new (or a CSV cell is empty)
            render, convert, full = self.render, self.convert, self.full
            for index in itertools.compress(range(len(out)), map(operator.not_, out)):
                value = values[index]
                piece = cache.get(value)  # a value new to the block may come again in it
                if piece is None:
                    piece = render(value if convert is None else convert(value))
                    if not full:
                        cache[value] = piece
                out[index] = piece
            self.full = len(cache) >= _CACHE_LIMIT
        return out


def _blocks(rows):
    rows = iter(rows)
    while block := list(itertools.islice(rows, _BLOCK_ROWS)):
        yield block


class _Output:
    """What the zip writer wrote, handed on in pieces of at least ``_FLUSH_BYTES``; a write-only file
    (no seek, no tell), so zipfile writes each part's sizes after it, in a data descriptor."""

    def __init__(self):
        self.parts, self.size = [], 0

    def write(self, data):
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self):
        pass

    def take(self, at_least=0):
        if self.size < at_least or not self.size:
            return None
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


def _package(sheets, titles):
    """The fixed parts of a workbook of ``sheets`` sheets: (name, XML)."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, sheets + 1)
    )
    content_types = (
        _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f"{overrides}"
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )
    # rId1…rIdN the sheets, then the styles and the shared strings.
    relations = "".join(
        f'<Relationship Id="rId{n}" Type="{_RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheets + 1)
    )
    relations += f'<Relationship Id="rId{sheets + 1}" Type="{_RELS}/styles" Target="styles.xml"/>'
    relations += f'<Relationship Id="rId{sheets + 2}" Type="{_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    sheet_list = "".join(
        f'<sheet name={quoteattr(title[:31])} sheetId="{n}" r:id="rId{n}"/>' for n, title in enumerate(titles, 1)
    )
    return [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", _ROOT_RELS),
        ("docProps/app.xml", _APP),
        (
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{sheet_list}</sheets></workbook>",
        ),
        ("xl/_rels/workbook.xml.rels", f'{_XML}<Relationships xmlns="{_PACKAGE_RELS}">{relations}</Relationships>'),
        ("xl/styles.xml", _STYLES),
    ]


def _sheet_titles(title, sheets):
    """The sheets' names: the table's title, then "title (2)", "title (3)"… (31 characters at most)."""
    return [title[:31]] + [f"{title[: 31 - len(f' ({n})')]} ({n})" for n in range(2, sheets + 1)]


def stream_xlsx(table, *, widths=None, freeze="A2", convert=None, rows=None, repeated=()):
    """``table`` as an .xlsx workbook, in pieces of bytes, written as ``table.rows`` are read.

    A bold header row frozen at ``freeze`` heads each sheet; ``widths`` as ``write_xlsx``. Values are
    written as they are (``convert``: one function or None per column, applied once per distinct
    value while the column remembers them). ``rows``: how many rows are coming (when known), so that
    a table longer than a sheet goes on over as many sheets (the workbook lists its sheets before
    them); rows beyond what was announced go on in the last sheet. ``repeated``: texts known to recur
    down the columns (names of places, labels), written once in the shared-string table, each cell
    holding its index: a fifth less to compress than inline strings, in memory that does not grow.
    """
    headers = list(table.headers)
    count = len(headers)
    widths = widths or [max(10, len(header) * 2 + 2) for header in headers]
    letters = [get_column_letter(index) for index in range(1, count + 1)]
    shared = _SharedStrings(repeated)
    sheets = max(1, math.ceil(rows / SHEET_ROWS)) if rows else 1
    cols = "".join(f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>' for i, width in enumerate(widths, 1))
    header = "".join(
        f'<c r="{letter}1{_text_body(str(title), _BOLD, shared)}'
        for letter, title in zip(letters, headers)
        if title != ""
    )
    head = (
        f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheetViews>{_pane(freeze)}</sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData><row r="1">{header}</row>'
    ).encode()
    tail = b"</sheetData></worksheet>"
    # A row is '<row r="2"><c' then per column the cell's body and the start of the next cell ('/><c'
    # for an empty one), the last column's ending the row. The cells carry no reference (r="B2"): a
    # cell is in the column its place in the row gives, as the standard has it when r is left out,
    # and a third less to checksum and compress.
    starts = [b"<c"] * (count - 1) + [b"</row>"]
    columns = [
        _Column(
            lambda value, start=start: _xlsx_body(value, shared).encode()[1:] + start,
            convert=(convert or [None] * count)[index],
            plain=lambda values, start=start: _xlsx_plain(values, start),
        )
        for index, start in enumerate(starts)
    ]

    output = _Output()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in _package(sheets, _sheet_titles(table.title, sheets)):
            book.writestr(name, text)
        yield output.take()
        blocks = _blocks(table.rows)
        block = next(blocks, [])
        for sheet in range(1, sheets + 1):
            with book.open(f"xl/worksheets/sheet{sheet}.xml", "w") as part:
                part.write(head)
                number, last = 2, sheet == sheets
                while block and (last or number <= SHEET_ROWS):
                    if not last and number + len(block) - 1 > SHEET_ROWS:  # the sheet is full midway
                        block, rest = block[: SHEET_ROWS + 1 - number], block[SHEET_ROWS + 1 - number :]
                    else:
                        rest = None
                    size = len(block)
                    pieces = [render(values) for render, values in zip(columns, zip(*block))]
                    rows = zip(range(number, number + size), zip(*pieces))
                    part.write(b"".join([b'<row r="%d"><c' % n + b"".join(row) for n, row in rows]))
                    number += size
                    block = rest or next(blocks, [])
                    data = output.take(_FLUSH_BYTES)
                    if data:
                        yield data
                part.write(tail)
        book.writestr("xl/sharedStrings.xml", _shared_strings(list(shared)))
    data = output.take()
    if data:
        yield data


_NUMBER_TEXT = re.compile(r"\x00(?!None\x00)[^\x00]*[^0-9.eE+\-\x00]")  # a text that is not a finite number


def _xlsx_numbers(values, start):
    """Pieces of a block of numbers (Decimal or float; None for an empty cell), each written as its
    shortest text, else None: a column of positions, whose values differ row by row."""
    if not _NUMBER_OR_NONE.issuperset(map(type, values)):
        return None
    framed = "\x00" + "\x00".join(map(str, values)) + "\x00"
    if _NUMBER_TEXT.search(framed):  # inf, nan, "Infinity", "sNaN"
        return None
    empty, end = b"/>" + start, b"</v></c>" + start
    return [empty if text == b"None" else b"><v>" + text + end for text in framed.encode()[1:-1].split(b"\x00")]


def _xlsx_plain(values, start):
    """Pieces of a block of text values none of which needs escaping or a style, or of numbers
    (``_xlsx_numbers``), else None."""
    framed = _framed(values)
    if framed is None:
        return _xlsx_numbers(values, start)
    if "\ufffe" in framed or "\uffff" in framed or "_x" in framed:
        return None
    if _STARTS_LIKE_FORMULA.search(framed) or _STARTS_OR_ENDS_WITH_SPACE.search(framed):
        return None
    try:
        data = framed.encode()
    except UnicodeEncodeError:  # a lone surrogate, dropped on the way
        return None
    if data.translate(None, _PLAIN_BYTES):
        return None
    empty, end = b"/>" + start, _INLINE_END + start
    return [_INLINE + text + end if text else empty for text in data[1:-1].split(b"\x00")]


def _csv_plain(values):
    """A block of text values none of which starts like a formula: as it is; a block of Decimals (or
    None): as ``csv_text`` writes them; else None."""
    framed = _framed(values)
    if framed is None:
        if not _DECIMAL_OR_NONE.issuperset(map(type, values)):
            return None
        return [
            "" if value is None else str(int(value)) if value == value.to_integral_value() else str(float(value))
            for value in values
        ]
    if _STARTS_LIKE_FORMULA.search(framed):
        return None
    return values


def stream_csv(table, *, convert=None):
    """``table`` as CSV in UTF-8 with a BOM, in pieces of bytes, written as ``table.rows`` are read."""
    count = len(table.headers)
    columns = [_Column(csv_text, convert=fn, plain=_csv_plain) for fn in (convert or [None] * count)]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([csv_text(h) for h in table.headers])
    yield b"\xef\xbb\xbf" + text.getvalue().encode()
    pending = []
    size = 0
    for block in _blocks(table.rows):
        text.seek(0)
        text.truncate()
        writer.writerows(zip(*[render(values) for render, values in zip(columns, zip(*block))]))
        data = text.getvalue().encode()
        pending.append(data)
        size += len(data)
        if size >= _FLUSH_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)
