"""The filtered register as an .xlsx workbook (or CSV), written row by row.

The columns are the screening-list columns of SPEC 3 with their Chinese headers, so an exported
register can be edited and imported again. Owner names and phones are masked (张*, 138****1234)
except in the rows whose full values the exporting user may see (``full_for``); the view records
an export that carried any. Dates are real dates. Text is always written as text:
a name such as "=HYPERLINK(...)" or "-1+2" stays the literal string it is (cell type string,
plus Excel's quote prefix so that editing the cell does not turn it into a formula either).

The workbook is written by core.sheets.write_xlsx, which formats each distinct value once:
a 60,000-unit register takes a second or two, where openpyxl took 18 s.
"""

import tempfile

from django.db import connection
from django.utils.translation import gettext

from campaign.models import Township, Village
from core.masking import mask_name, mask_phone
from core.sheets import FORMULA_PREFIXES, Table, write_csv, write_xlsx

from .filtersets import with_current_rectification
from .models import Method, Source, Status

__all__ = ["FORMULA_PREFIXES", "register_workbook", "write_register", "write_register_csv"]

# One value per column of ``_columns()``, in the same order.
_ROW_FIELDS = (
    "name",
    "credit_code",
    "township_id",  # written as its name; also decides whether owner and phone are shown in full
    "village_id",  # the village's name, once looked up
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
)
_OWNER, _PHONE = _ROW_FIELDS.index("owner"), _ROW_FIELDS.index("phone")
_TOWNSHIP, _VILLAGE = _ROW_FIELDS.index("township_id"), _ROW_FIELDS.index("village_id")


class _Names(dict):
    """{id: name} of townships or villages; one added since it was read is looked up then."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def __missing__(self, pk):
        if pk is None:
            return ""
        name = self[pk] = self.model.objects.filter(pk=pk).values_list("name", flat=True).first() or ""
        return name


def _place_names():
    """({township id: name}, {village id: name}), in one query of the two small tables.

    The rows query does not join them: how to join is the planner's guess from its statistics, and
    with stale ones (autovacuum off) it scanned the villages once per exported unit.
    """
    townships, villages = _Names(Township), _Names(Village)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 0, id, name FROM {quote(Township._meta.db_table)} "  # nosec B608  # table names quoted from _meta
            f"UNION ALL SELECT 1, id, name FROM {quote(Village._meta.db_table)}"
        )
        for kind, pk, name in cursor.fetchall():
            (villages if kind else townships)[pk] = name
    return townships, villages


def _columns():
    """(header, width, converter or None) per column; each converter maps a stored value to the cell's."""
    yes_no = {True: gettext("是"), False: gettext("否")}
    # Labels as plain text, once: str() of a lazy translation per cell would be 60,000 lookups a column.
    sources, statuses = _labels(Source), _labels(Status)
    methods = _labels(Method) | {None: "", "": ""}

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
        (gettext("来源"), 8, _label_of(sources)),
        (gettext("整治状态"), 10, _label_of(statuses)),
        (gettext("整治方式"), 10, _label_of(methods)),
        (gettext("整治完成日期"), 14, None),
        (gettext("拆除面积"), 12, lambda v: v if v else None),
    ]


def _labels(choices):
    return {value: str(label) for value, label in choices.choices}


def _label_of(labels):
    def label(value):
        found = labels.get(value)
        return str(value) if found is None else found

    return label


def _register_rows(queryset, columns, full_for, tally):
    """The register's rows as exported values, masked unless ``full_for(township_id)`` allows.

    ``full_for`` is asked once per township (its answer depends on nothing else).
    """
    rows = with_current_rectification(queryset).values_list(*_ROW_FIELDS)
    rows = rows.order_by("-identified_on", "-id")
    converters = [(index, convert) for index, (_h, _w, convert) in enumerate(columns) if convert is not None]
    townships, villages = _place_names()
    converters[:0] = [(_TOWNSHIP, townships.__getitem__), (_VILLAGE, villages.__getitem__)]
    allowed = {}
    for row in rows.iterator(chunk_size=2000):
        township_id = row[_TOWNSHIP]
        full = allowed.get(township_id)
        if full is None:
            full = allowed[township_id] = full_for is not None and bool(full_for(township_id))
        values = list(row)
        if full:
            tally["full"] += bool(values[_OWNER] or values[_PHONE])
        else:
            values[_OWNER], values[_PHONE] = mask_name(values[_OWNER]), mask_phone(values[_PHONE])
        for index, convert in converters:
            values[index] = convert(values[index])
        tally["rows"] += 1
        yield values


def write_register(queryset, file, *, full_for=None):
    """Write the units of ``queryset`` to ``file``; returns (rows, rows with full owner and phone).

    ``full_for(township_id)`` says whether a row's personal data may be written in full; without
    it every row is masked.
    """
    columns = _columns()
    tally = {"rows": 0, "full": 0}
    table = Table(
        gettext("四无单位台账"),
        [title for title, _w, _c in columns],
        _register_rows(queryset, columns, full_for, tally),
    )
    write_xlsx(table, file, widths=[width for _t, width, _c in columns], freeze="B2", plain=False)
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
