"""The filtered register as an .xlsx workbook, written row by row (openpyxl write-only mode).

The columns are the screening-list columns of SPEC 3 with their Chinese headers, so an exported
register can be edited and imported again. Owner names and phones are masked (张*, 138****1234)
except in the rows whose full values the exporting user may see (``full_for``); the view records
an export that carried any. Dates are real dates. Text is always written as text:
a name such as "=HYPERLINK(...)" or "-1+2" stays the literal string it is (cell type string,
plus Excel's quote prefix so that editing the cell does not turn it into a formula either).
"""

import tempfile

from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from reports.exports import Table, write_csv

from .filtersets import with_current_rectification
from .masking import mask_name, mask_phone
from .models import Method, Source, Status

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"

# One value per column of ``_columns()``, in the same order.
_ROW_FIELDS = (
    "name",
    "credit_code",
    "township__name",
    "village__name",
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
    "current_method",
    "current_rectified_on",
    "current_demolished_m2",
    "township_id",  # not a column: decides whether the row's owner and phone are shown in full
)
_OWNER, _PHONE = _ROW_FIELDS.index("owner"), _ROW_FIELDS.index("phone")


def _columns():
    yes_no = {True: gettext("是"), False: gettext("否")}
    sources, statuses, methods = dict(Source.choices), dict(Status.choices), dict(Method.choices)

    def text(v):
        return v or ""

    return [
        (gettext("单位名称"), 30, text),
        (gettext("统一社会信用代码"), 22, text),
        (gettext("乡镇街道"), 14, text),
        (gettext("村社区"), 14, text),
        (gettext("网格"), 10, text),
        (gettext("地址"), 36, text),
        (gettext("负责人"), 10, text),
        (gettext("联系电话"), 16, text),
        (gettext("行业"), 14, text),
        (gettext("场所类型"), 12, text),
        (gettext("无证无照"), 10, yes_no.get),
        (gettext("无安全保障"), 10, yes_no.get),
        (gettext("无合法场所"), 10, yes_no.get),
        (gettext("无环保措施"), 10, yes_no.get),
        (gettext("排查日期"), 12, None),
        (gettext("来源"), 8, lambda v: str(sources.get(v, v))),
        (gettext("整治状态"), 10, lambda v: str(statuses.get(v, v))),
        (gettext("整治方式"), 10, lambda v: str(methods.get(v, v)) if v else ""),
        (gettext("整治完成日期"), 14, None),
        (gettext("拆除面积"), 12, lambda v: v if v else None),
    ]


def _cell(sheet, value):
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # Assigning a str starting with "=" made it a formula; make it plain text again.
        cell.data_type = "s"
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
    elif hasattr(value, "isoformat"):
        cell.number_format = DATE_FORMAT
    return cell


def _masked(row):
    row = list(row)
    row[_OWNER], row[_PHONE] = mask_name(row[_OWNER]), mask_phone(row[_PHONE])
    return row


def _register_rows(queryset, columns, full_for, tally):
    """The register's rows as exported values, masked unless ``full_for(township_id)`` allows."""
    rows = with_current_rectification(queryset).values_list(*_ROW_FIELDS).order_by("-identified_on", "-id")
    for row in rows.iterator(chunk_size=2000):
        if full_for is not None and full_for(row[-1]):
            tally["full"] += bool(row[_OWNER] or row[_PHONE])
        else:
            row = _masked(row)
        tally["rows"] += 1
        yield [convert(value) if convert else value for value, (_h, _w, convert) in zip(row, columns)]


def write_register(queryset, file, *, full_for=None):
    """Write the units of ``queryset`` to ``file``; returns (rows, rows with full owner and phone).

    ``full_for(township_id)`` says whether a row's personal data may be written in full; without
    it every row is masked.
    """
    columns = _columns()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("四无单位台账"))
    sheet.freeze_panes = "B2"
    for index, (_header, width, _convert) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for title, _width, _convert in columns:
        cell = _cell(sheet, title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    tally = {"rows": 0, "full": 0}
    for values in _register_rows(queryset, columns, full_for, tally):
        sheet.append([_cell(sheet, value) for value in values])
    workbook.save(file)
    return tally["rows"], tally["full"]


def write_register_csv(queryset, file, *, full_for=None):
    """The same register as CSV in UTF-8 with a BOM (what Excel on Chinese Windows opens right)."""
    columns = _columns()
    tally = {"rows": 0, "full": 0}
    rows = _register_rows(queryset, columns, full_for, tally)
    write_csv(Table(gettext("四无单位台账"), [title for title, _w, _c in columns], rows), file)
    return tally["rows"], tally["full"]


def register_workbook(queryset, *, full_for=None, fmt="xlsx"):
    """(temporary file holding the register at its start, for a FileResponse; rows in full)."""
    write = write_register_csv if fmt == "csv" else write_register
    file = tempfile.TemporaryFile()  # noqa: SIM115 - the FileResponse that streams it closes it
    try:
        _count, full = write(queryset, file, full_for=full_for)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file, full
