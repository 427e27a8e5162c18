"""The progress table and a township's stock ledger as .xlsx or as CSV (UTF-8 with a BOM).

Both are tables of a header and rows of plain values: text, numbers, dates. Dates are written as
real dates (xlsx) or ISO dates (CSV). No cell is ever something a spreadsheet would run: text is
written as text (xlsx cell type string with Excel's quote prefix when it starts like a formula;
in CSV a leading apostrophe, as OWASP advises), so a township called "=1+1" stays that name.
Neither table holds personal data.
"""

import calendar
import csv
import datetime
import io
import tempfile
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .progress import CITY_NAME

XLSX, CSV = "xlsx", "csv"
FORMATS = (XLSX, CSV)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
DATE_FORMAT = "yyyy-mm-dd"


class Table:
    """A sheet name, the Chinese headers and the rows of values."""

    def __init__(self, title, headers, rows):
        self.title, self.headers, self.rows = title, headers, rows


def _colour(colour):
    return {"green": _("绿"), "yellow": _("黄"), "red": _("红")}.get(colour, "")


def progress_table(report):
    """The progress table: the city, then every township in rank order."""
    headers = [
        _("排名"),
        _("乡镇街道"),
        _("年度任务"),
        _("已整治"),
        _("完成率(%)"),
        _("序时进度(%)"),
        _("预警"),
        _("排查发现"),
        _("未整治"),
        _("拆除面积(平方米)"),
        _("当前节点日期"),
        _("当前节点应完成"),
        _("节点是否完成"),
        _("下一节点日期"),
        _("下一节点差额"),
    ]
    rows = []
    for row in [report.city, *report.townships]:
        due, upcoming = row.milestone_due, row.milestone_next
        rows.append(
            [
                row.rank,
                CITY_NAME if row.township is None else row.name,
                row.target,
                row.rectified,
                row.rate,
                row.expected_rate,
                _colour(row.colour),
                row.identified,
                row.open,
                row.demolished_m2,
                due["date"] if due else None,
                due["required"] if due else None,
                (_("是") if due["met"] else _("否")) if due else "",
                upcoming["date"] if upcoming else None,
                upcoming["shortfall"] if upcoming else None,
            ]
        )
    title = _("整治进度表")
    return Table(title, headers, rows)


def _months(first, last):
    day = first
    while day <= last:
        end = min(day.replace(day=calendar.monthrange(day.year, day.month)[1]), last)
        yield day, end
        day = end + datetime.timedelta(days=1)


def ledger_table(report, township):
    """A township's stock ledger: month by month from the campaign's start, then the year to date."""
    headers = [
        _("期间"),
        _("起始日期"),
        _("截止日期"),
        _("期初未整治"),
        _("新排查"),
        _("整治"),
        _("复发"),
        _("期末未整治"),
    ]
    row = report.row_for(township.pk)
    rows = []
    if row is not None:
        periods = [(f"{first:%Y-%m}", first, last) for first, last in _months(report.campaign.start, report.as_of)]
        periods.append((_("年度累计"), report.campaign.start, report.as_of))
        for label, first, last in periods:
            ledger = row.counts.ledger(first, last)
            rows.append(
                [
                    label,
                    first,
                    last,
                    ledger["open_start"],
                    ledger["identified"],
                    ledger["rectified"],
                    ledger["relapsed"],
                    ledger["open_end"],
                ]
            )
    return Table(_("台账"), headers, rows)


def _plain(value):
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _cell(sheet, value):
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl made any "=…" a formula: make it text again
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
    elif isinstance(value, datetime.date):
        cell.number_format = DATE_FORMAT
    return cell


def write_xlsx(table, file):
    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.title[:31])
    sheet.freeze_panes = "A2"
    for index, header in enumerate(table.headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(header) * 2 + 2)
    bold = Font(bold=True)
    header = []
    for title in table.headers:
        cell = _cell(sheet, title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_cell(sheet, _plain(value)) for value in row])
    book.save(file)


def csv_text(value):
    value = _plain(value)
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
    for row in table.rows:
        writer.writerow([csv_text(value) for value in row])
    text.flush()
    text.detach()


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
