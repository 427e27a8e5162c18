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
"""

import csv
import datetime
import io
import math
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
_CONTENT_TYPES = (
    _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>"
)
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
_WORKBOOK_RELS = (
    _XML + f'<Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
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
        items = []
        for text in self.texts:
            text = escape(_ESCAPE_LIKE.sub("_x005F_", _NOT_XML.sub("", text)))
            space = ' xml:space="preserve"' if text != text.strip() or "\n" in text or "\t" in text else ""
            items.append(f"<si><t{space}>{text}</t></si>")
        return f'{_XML}<sst xmlns="{_MAIN}" uniqueCount="{len(self.texts)}">{"".join(items)}</sst>'


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
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("docProps/app.xml", _APP)
        book.writestr(
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><bookViews><workbookView/></bookViews>'
            f'<sheets><sheet name={quoteattr(table.title[:31])} sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        book.writestr("xl/styles.xml", _STYLES)
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
    """``csv_text`` for a table's cells, each distinct value other than text converted once.

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
            found = cache[key] = csv_text(value)
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
