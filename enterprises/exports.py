"""The filtered register as an .xlsx workbook (or CSV), streamed while it is read.

The columns are the screening-list columns of SPEC 3 with their Chinese headers, so an exported
register can be edited and imported again. Owner and 盯梢人 names and phones are masked (张*, 138****1234)
except in the rows whose full values the exporting user may see (``full_for``); the view records
an export that carried any. Dates are real dates. Text is always written as text:
a name such as "=HYPERLINK(...)" or "-1+2" stays the literal string it is (cell type string,
plus Excel's quote prefix so that editing the cell does not turn it into a formula either).

An export is made in two steps (``RegisterExport``). Made, it has counted the rows (and those
carrying full owner names or phones) in the query that reads the place names: the view records
and announces them before the first byte. Streamed (``stream``), it reads the rows in chunks, on
PostgreSQL through a server-side cursor, and core.sheets writes each block of rows as it comes:
memory stays the same whatever the number of rows, and the first bytes leave at once.
"""

import itertools
import queue
import threading
from contextlib import contextmanager

from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import Count, Q
from django.utils.translation import gettext

from campaign.models import Township, Village
from core.masking import mask_name, mask_phone
from core.sheets import CSV, FORMULA_PREFIXES, Table, stream_csv, stream_xlsx

from .filtersets import with_current_rectification
from .models import Method, Source, Status

__all__ = ["FORMULA_PREFIXES", "RegisterExport", "write_register", "write_register_csv"]

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
# Rows fetched from the database at a time: a server-side cursor's FETCH on PostgreSQL.
CHUNK_ROWS = 2000
READ_AHEAD = 2  # chunks read ahead of the writer (_read_ahead)

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
    "longitude",
    "latitude",
    "watcher_name",  # masked like the owner
    "watcher_phone",  # masked like the phone
)
_OWNER, _PHONE = _ROW_FIELDS.index("owner"), _ROW_FIELDS.index("phone")
_WATCHER, _WATCHER_PHONE = _ROW_FIELDS.index("watcher_name"), _ROW_FIELDS.index("watcher_phone")
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


def _census(queryset):
    """({township id: name}, {village id: name}, {township id: (units, units with an owner or phone)}).

    One query: the names of the two small tables, and the units of ``queryset`` counted by township.
    The rows query does not join the names: how to join is the planner's guess from its statistics,
    and with stale ones (autovacuum off) it scanned the villages once per exported unit.
    """
    townships, villages, counts = _Names(Township), _Names(Village), {}
    quote = connection_of(queryset).ops.quote_name
    sql = (
        f"SELECT 0, id, name, 0, 0 FROM {quote(Township._meta.db_table)} "  # nosec B608  # table names quoted from _meta
        f"UNION ALL SELECT 1, id, name, 0, 0 FROM {quote(Village._meta.db_table)}"
    )
    params = ()
    counted = queryset.order_by().values("township_id")
    personal = ~Q(owner="") | ~Q(phone="") | ~Q(watcher_name="") | ~Q(watcher_phone="")
    counted = counted.annotate(units=Count("pk"), contacts=Count("pk", filter=personal))
    try:
        count_sql, params = counted.query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:  # queryset.none(): nothing to count
        pass
    else:
        sql += f" UNION ALL SELECT 2, township_id, NULL, units, contacts FROM ({count_sql}) counted"  # nosec B608  # the ORM's own SQL, values as parameters
    with connection_of(queryset).cursor() as cursor:
        cursor.execute(sql, params)
        for kind, pk, name, units, contacts in cursor.fetchall():
            if kind == 2:
                counts[pk] = (units, contacts)
            else:
                (villages if kind else townships)[pk] = name
    return townships, villages, counts


def connection_of(queryset):
    return connections[queryset.db]


def _columns():
    """(header, width, converter or None) per column; each converter maps a stored value to the cell's.

    Text columns are written as stored (a blank one is an empty cell).
    """
    yes_no = {True: gettext("是"), False: gettext("否")}
    # Labels as plain text, once: str() of a lazy translation per cell would be 60,000 lookups a column.
    sources, statuses = _labels(Source), _labels(Status)
    methods = _labels(Method) | {None: "", "": ""}

    return [
        (gettext("单位名称"), 30, None),
        (gettext("统一社会信用代码"), 22, None),
        (gettext("乡镇街道"), 14, None),
        (gettext("村社区"), 14, None),
        (gettext("网格"), 10, None),
        (gettext("地址"), 36, None),
        (gettext("负责人"), 10, None),
        (gettext("联系电话"), 16, None),
        (gettext("行业"), 14, None),
        (gettext("场所类型"), 12, None),
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
        # The position in WGS-84 degrees, as the screening list takes it (docs/map.md), and the 盯梢人.
        (gettext("经度"), 12, None),  # Decimal: written as its text, a number cell
        (gettext("纬度"), 12, None),
        (gettext("盯梢人"), 10, None),
        (gettext("盯梢人电话"), 16, None),
    ]


def _labels(choices):
    return {value: str(label) for value, label in choices.choices}


def _label_of(labels):
    def label(value):
        found = labels.get(value)
        return str(value) if found is None else found

    return label


@contextmanager
def _reading(queryset):
    """Read the rows in a transaction on PostgreSQL (not on SQLite: there it would lock out writers).

    Django's server-side cursor outside a transaction is declared WITH HOLD, and PostgreSQL then runs
    the whole query and keeps its result before handing on the first row: seconds, for a large register.
    Nor is the query compiled (JIT): a plan that large is compiled first, a few tenths of a second
    before the first row, for a scan and join that gain nothing by it.
    """
    connection = connection_of(queryset)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic(using=queryset.db):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
            yield
    else:
        yield


def _read_here(rows):
    with _reading(rows):
        yield from rows.iterator(chunk_size=CHUNK_ROWS)


def _may_read_ahead(queryset):
    """Whether another connection sees what this one does: not inside a transaction (a test's)."""
    return not connection_of(queryset).in_atomic_block


def _read_ahead(rows):
    """The rows of ``rows``, read by a thread of their own on a database connection of its own, up
    to ``READ_AHEAD`` chunks ahead of the caller: the database finds the next rows while the caller
    writes the last ones (a server-side cursor only reads when asked, so each would wait for the
    other). Memory holds those few chunks at most; an error of the reading thread is raised here.
    """
    chunks = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.25)
                return True
            except queue.Full:
                pass
        return False

    def read():
        try:
            with _reading(rows):
                stored = rows.iterator(chunk_size=CHUNK_ROWS)
                while chunk := list(itertools.islice(stored, CHUNK_ROWS)):
                    if not put(chunk):
                        return
            put(None)
        except BaseException as error:  # noqa: BLE001 - handed on to the caller, raised there
            put(error)
        finally:
            connection_of(rows).close()  # this thread's own connection

    reader = threading.Thread(target=read, name="register-export-reader", daemon=True)
    reader.start()
    try:
        while (chunk := chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                raise chunk
            yield from chunk
        reader.join()
    finally:
        stop.set()  # the download stopped early: the reader stops at its next chunk


def _masked(row):
    row = list(row)
    row[_OWNER], row[_PHONE] = mask_name(row[_OWNER]), mask_phone(row[_PHONE])
    row[_WATCHER], row[_WATCHER_PHONE] = mask_name(row[_WATCHER]), mask_phone(row[_WATCHER_PHONE])
    return row


class RegisterExport:
    """The register of ``queryset`` as a file of ``fmt`` (xlsx or csv), counted when made.

    ``rows``: the units counted; ``full``: those of them whose owner's or 盯梢人's name or phone are
    written in full (the rows of townships ``full_for(township_id)`` allows, that hold any), for the record. Without
    ``full_for`` every row is masked. ``stream()`` yields the file's bytes, reading the rows as it goes.
    """

    def __init__(self, queryset, *, full_for=None, fmt="xlsx"):
        self.queryset, self.fmt = queryset, fmt
        self.columns = _columns()
        self.labels = [gettext("是"), gettext("否")]
        self.labels += [label for choices in (Source, Status, Method) for label in _labels(choices).values()]
        self.townships, self.villages, counts = _census(queryset)
        # Asked once per township; a township not counted here (a unit moved since) is masked.
        self.full_townships = {pk for pk in counts if full_for is not None and full_for(pk)}
        self.rows = sum(units for units, _contacts in counts.values())
        self.full = sum(contacts for pk, (_units, contacts) in counts.items() if pk in self.full_townships)

    @property
    def content_type(self):
        return CSV_TYPE if self.fmt == CSV else XLSX_TYPE

    def stream(self):
        """The file, in pieces of bytes."""
        converters = [convert for _title, _width, convert in self.columns]
        converters[_TOWNSHIP], converters[_VILLAGE] = self.townships.__getitem__, self.villages.__getitem__
        if not self.full_townships:
            # Every row masked: the two columns say so, each distinct name or phone masked once.
            converters[_OWNER], converters[_PHONE] = mask_name, mask_phone
            converters[_WATCHER], converters[_WATCHER_PHONE] = mask_name, mask_phone
        table = Table(gettext("四无单位台账"), [title for title, _w, _c in self.columns], self._rows())
        if self.fmt == CSV:
            return stream_csv(table, convert=converters)
        widths = [width for _t, width, _c in self.columns]
        # The names of places and the labels recur down their columns: each is written once.
        repeated = [*self.townships.values(), *self.villages.values(), *self.labels]
        return stream_xlsx(table, widths=widths, freeze="B2", convert=converters, rows=self.rows, repeated=repeated)

    def _rows(self):
        """The rows as stored (the columns' converters make them cells), masked where they must be."""
        rows = with_current_rectification(self.queryset).values_list(*_ROW_FIELDS)
        rows = rows.order_by("-identified_on", "-id")
        full = self.full_townships
        stored = _read_ahead(rows) if _may_read_ahead(self.queryset) else _read_here(rows)
        if not full:
            yield from stored
        else:
            for row in stored:
                yield row if row[_TOWNSHIP] in full else _masked(row)


def write_register(queryset, file, *, full_for=None, fmt="xlsx"):
    """Write the units of ``queryset`` to ``file``; returns (rows, rows with full owner or phone).

    ``full_for(township_id)`` says whether a row's personal data may be written in full; without
    it every row is masked.
    """
    export = RegisterExport(queryset, full_for=full_for, fmt=fmt)
    for piece in export.stream():
        file.write(piece)
    return export.rows, export.full


def write_register_csv(queryset, file, *, full_for=None):
    """The same register as CSV in UTF-8 with a BOM (what Excel on Chinese Windows opens right)."""
    return write_register(queryset, file, full_for=full_for, fmt=CSV)
