"""Screening lists (排查清单): read a file into a plan, show it, then apply it all or nothing.

``parse`` reads and checks every row and matches it against the register without writing a thing:
the ``UnitPlan`` says, per row, whether the unit would be created, updated (and which fields
change) or left as it is, and lists every error and warning with its spreadsheet row and column.
``apply`` writes a plan that has no errors inside one transaction. The command line
(``import_units``) and the browser upload with its preview both go through these two calls.

Rules beyond SPEC section 3 that a person filling in a list would expect:

- a blank cell says nothing: on an existing unit it leaves that field as it is (it never erases);
  on a new unit the defaults apply (来源 排查, 整治状态 未整治). The four defect columns are the
  exception: blank is 否, on any unit, whenever the column is in the file;
- a column missing from the file leaves that field alone on existing units;
- a list never undoes a rectification: a rectified unit listed as 未整治 stays rectified, with a
  warning; a different 整治完成日期 or 整治方式 for the current rectification is a correction;
- the register is read in a handful of bulk queries (as plain values, not model instances) and
  written with multi-row inserts and bulk updates, each with its history record: a city list runs
  to tens of thousands of rows, and 50,000 must go through in a few seconds;
- between the browser's preview and its confirmation the checked plan is kept (``dump_plan``,
  signed); confirming applies it as it is when nothing it was checked against has changed since
  (``still_current``), and reads the file again otherwise;
- two imports of one list at once register its units once: ``apply`` takes the register lock of
  the plan's townships (``services.lock_townships``, which the unit form takes too) and only then
  asks whether the plan is still current; a plan that is not is read again from the file inside
  the lock (``reread``), where its units written meanwhile are matched, or refused. The database
  backs this with unique constraints on the identity (credit code; else township, name, address).
"""

import contextlib
import datetime
import gc
import itertools
import pickle  # nosec B403 - only plans this server signed are loaded (load_plan)
import re
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.history import fill_audit_fields
from campaign.models import Township, Village
from campaign.tabular import (
    FORMULA_START,
    Column,
    ColumnTable,
    Issue,
    TableError,
    cell_text,
    formula_like,
    is_blank,
    parse_date,
    parse_decimal,
    read_columns,
)

from .credit_code import _SHAPE as _CODE_SHAPE
from .credit_code import ALPHABET as CREDIT_ALPHABET
from .credit_code import credit_code_error, normalize_credit_code
from .models import (
    DEFECT_FIELDS,
    Defect,
    Enterprise,
    Method,
    Rectification,
    Relapse,
    Source,
    Status,
    squash_spaces,
)
from .services import check_rectification, lock_townships, wait_for_writers

COLUMNS = (
    Column("name", "单位名称", required=True),
    Column("credit_code", "统一社会信用代码"),
    Column("township", "乡镇街道", required=True),
    Column("village", "村社区"),
    Column("grid", "网格"),
    Column("address", "地址"),
    Column("owner", "负责人"),
    Column("phone", "联系电话"),
    Column("industry", "行业"),
    Column("premises", "场所类型"),
    Column("unlicensed", "无证无照"),
    Column("unsafe", "无安全保障"),
    Column("no_legal_premises", "无合法场所"),
    Column("no_env_measures", "无环保措施"),
    Column("identified_on", "排查日期", required=True),
    Column("source", "来源"),
    Column("status", "整治状态"),
    Column("method", "整治方式"),
    Column("rectified_on", "整治完成日期"),
    Column("demolished_m2", "拆除面积", aliases=("拆除面积m2", "拆除面积平方米")),
)
HEADERS = {column.key: column.header for column in COLUMNS}
TEXT_FIELDS = ("grid", "owner", "industry", "premises")  # plain text copied as it is
CHUNK = 900  # ids or names per IN (...) query: below SQLite's historical 999-parameter limit
BATCH = 1000
ANALYZE_AFTER = 10_000  # rows COPYed at once after which PostgreSQL's statistics are refreshed

_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "✔", "☑"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗", "✘", "☐"})
_FLAGS = {"是": True, "否": False, "": False}
_SCIENTIFIC = re.compile(r"^(\d+)(?:\.(\d+))?e\+?(\d+)$", re.IGNORECASE)
_TRAILING_ZERO = re.compile(r"^(\d+)\.0+$")
_AREA_UNITS = re.compile(r"(m2|平方米|平米)$", re.IGNORECASE)
_NO_SPACES = re.compile(r"[\s\u3000]+")
_INTERNATIONAL = re.compile(r"^\+\d[\d\s-]*$")  # +86 138 1234 5678
_CENT = Decimal("0.01")
_MAX_AREA = Decimal("1E10")


class Action(models.TextChoices):
    CREATE = "create", gettext_lazy("新增")
    UPDATE = "update", gettext_lazy("更新")
    UNCHANGED = "unchanged", gettext_lazy("不变")


class PlanError(Exception):
    """``apply`` refused a plan (it has errors, or the register changed since it was parsed).

    ``issues`` are the errors of the file as it was read again inside ``apply``, if it was.
    """

    def __init__(self, message: str, issues: Sequence[Issue] = ()):
        super().__init__(message)
        self.issues = list(issues)


class CellError(ValueError):
    """A cell that cannot be read; its message (Chinese) says why. (Never subclassed: the column
    reader tells a cell's error from its value by ``__class__ is CellError``.)"""


class Current(NamedTuple):
    """A unit already in the register, as the import compares it (read in bulk as plain values)."""

    id: int
    name: str
    credit_code: str
    township_id: int
    township_name: str
    village_id: int | None
    village_name: str | None
    address: str
    phone: str
    grid: str
    owner: str
    industry: str
    premises: str
    unlicensed: bool
    unsafe: bool
    no_legal_premises: bool
    no_env_measures: bool
    identified_on: datetime.date
    source: str
    status: str
    version: int


# The query columns of Current, in its field order.
_CURRENT_COLUMNS = (
    "id",
    "name",
    "credit_code",
    "township_id",
    "township__name",
    "village_id",
    "village__name",
    "address",
    "phone",
    *("grid", "owner", "industry", "premises"),
    *DEFECT_FIELDS,
    "identified_on",
    "source",
    "status",
    "version",
)


class Period(NamedTuple):
    """A rectification of a matched unit (``reopened_on`` set once a relapse re-opened it)."""

    id: int
    enterprise_id: int
    method: str
    rectified_on: datetime.date
    demolished_m2: Decimal
    reopened_on: datetime.date | None


@dataclass(slots=True)
class PlannedRow:
    """What one row of the list would do to the register.

    ``values`` holds the checked value of every cell that was filled in (blank optional cells are
    absent): ``township`` a Township, ``village`` the village name, dates as ``date``, defects as
    bool, ``source``/``status``/``method`` as choice values, ``demolished_m2`` a Decimal.
    ``changes`` maps a field to ``(old, new)`` for display (townships and villages by name);
    the key ``"rectification"`` holds ``(method, rectified_on, demolished_m2)`` triples, old None
    when a rectification is added. ``unit`` is the matched unit as it was when parsed;
    ``unit_id`` its id, or the new unit's once the plan is applied.
    """

    number: int
    values: dict[str, Any]
    action: Action = Action.CREATE
    unit: Current | None = None
    unit_id: int | None = None
    matched_by: str = ""  # "credit_code" or "identity" (township + name + address)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    rectification: str = ""  # "", "create" or "update" (a correction of the current one)
    period: Period | None = None  # the rectification corrected, when "update"
    valid: bool = True


@dataclass
class UnitPlan:
    file_name: str = ""
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    new_villages: list[tuple[Township, str]] = field(default_factory=list)
    parsed_at: datetime.datetime = field(default_factory=timezone.now)
    # The register was read with no write to its townships in flight (services.wait_for_writers):
    # only then can ``still_current`` vouch for it. False for a plan kept by an older version.
    settled: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.valid and row.action == action)

    def rectifications(self, kind: str) -> int:
        return sum(1 for row in self.rows if row.valid and row.rectification == kind)

    def summary(self) -> str:
        return _(
            "新增单位%(created)d个，更新%(updated)d个，不变%(unchanged)d个；"
            "新增整治记录%(rect_created)d条，更正%(rect_updated)d条；新增村（社区）%(villages)d个"
        ) % {
            "created": self.count(Action.CREATE),
            "updated": self.count(Action.UPDATE),
            "unchanged": self.count(Action.UNCHANGED),
            "rect_created": self.rectifications("create"),
            "rect_updated": self.rectifications("update"),
            "villages": len(self.new_villages),
        }


# --- cells -------------------------------------------------------------------------------------


def _choices(enum: type[models.TextChoices]) -> dict[str, str]:
    # The file speaks the Chinese labels (the msgids) whatever language the user reads.
    with translation.override(None):
        labels = {str(label): value for value, label in enum.choices}
    return labels | {value: value for value in enum.values}


def _text(value: Any, limit: int, *, phone: bool = False) -> str:
    text = cell_text(value)
    if "  " in text or not text.isprintable():
        text = squash_spaces(text)
    if len(text) > limit:
        raise CellError(_("不能超过%(limit)d个字符（现有%(n)d个）") % {"limit": limit, "n": len(text)})
    if len(text) > 1 and formula_like(text) and not (phone and _INTERNATIONAL.match(text)):
        # Stored, it would come back as a formula in any spreadsheet a later export is opened in.
        raise CellError(_("不能以“=”“+”“-”“@”开头（表格软件会当作公式执行）：收到“%(value)s”") % {"value": text[:40]})
    return text


def _max_length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length


def _excel_number_error() -> CellError:
    return CellError(_("被 Excel 存成了数字，末几位可能已经丢失：请把该列设为“文本”格式后重新填写"))


def read_credit_code(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _excel_number_error()
    text = unicodedata.normalize("NFKC", cell_text(value))
    if _SCIENTIFIC.match(text):
        raise _excel_number_error()
    code = normalize_credit_code(text)
    reason = credit_code_error(code)
    if reason is None:
        return code
    if len(code) == 17 and credit_code_error("0" + code) is None:
        # Never fixed silently: a missing first character is as likely a typo as Excel's doing.
        message = _("“%(code)s”只有17位，疑似开头的“0”被 Excel 去掉了（补上后为%(fixed)s）：请核对原件后填写完整")
        raise CellError(message % {"code": code, "fixed": "0" + code})
    raise CellError(_("“%(code)s”无效：%(reason)s") % {"code": code, "reason": reason})


def read_phone(value: Any) -> str:
    """The number as typed, recovering what Excel turned into 13812345678.0 or 1.3812345678E+10."""
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(_("“%(value)s”不是电话号码") % {"value": value})
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = squash_spaces(unicodedata.normalize("NFKC", cell_text(value)))
    match = _TRAILING_ZERO.match(text)
    if match:
        return match.group(1)
    match = _SCIENTIFIC.match(text)
    if match:
        return _unscientific(text, match)
    return _text(text, _max_length(Enterprise, "phone"), phone=True)


def _unscientific(text: str, match: re.Match) -> str:
    whole, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    written = (whole + fraction).lstrip("0")
    if len(fraction) <= exponent:
        number = str(int(whole + fraction + "0" * (exponent - len(fraction))))
        # Exact only when every digit of the number was written out before the E.
        if len(written) >= len(number):
            return number
    raise CellError(
        _("“%(value)s”是 Excel 的科学计数法，原号码已无法还原：请把该列设为“文本”格式后重新填写") % {"value": text}
    )


def read_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in _FLAGS:  # nearly every cell: skip the normalising below
        return _FLAGS[value]
    text = unicodedata.normalize("NFKC", cell_text(value)).lower()
    if text in _YES:
        return True
    if not text or text in _NO:
        return False
    raise CellError(_("应填“是”或“否”，收到“%(value)s”") % {"value": cell_text(value)})


def read_date(value: Any) -> datetime.date:
    try:
        return parse_date(value)
    except (ValueError, OverflowError):
        raise CellError(_("无法识别的日期“%(value)s”") % {"value": cell_text(value)}) from None


def read_area(value: Any) -> Decimal:
    if isinstance(value, str):
        value = _AREA_UNITS.sub("", unicodedata.normalize("NFKC", cell_text(value)))
    try:
        area = parse_decimal(value)
    except ValueError:
        raise CellError(_("应为数字（平方米），收到“%(value)s”") % {"value": cell_text(value)}) from None
    if area < 0:
        raise CellError(_("不能为负数"))
    if area >= _MAX_AREA:
        raise CellError(_("数值过大"))
    return area.quantize(_CENT, rounding=ROUND_HALF_UP)


def _read_choice(value: Any, lookup: dict[str, str]) -> str:
    text = _NO_SPACES.sub("", cell_text(value))
    choice = lookup.get(text) or lookup.get(text.lower())
    if choice:
        return choice
    allowed = "、".join(key for key, choice in lookup.items() if key != choice)
    raise CellError(_("应为%(allowed)s之一，收到“%(value)s”") % {"allowed": allowed, "value": cell_text(value)})


def _township_key(name: str) -> str:
    return _NO_SPACES.sub("", name)


def _chunks(items: Iterable, size: int | None = None) -> Iterator[list]:
    """``items`` in lists small enough for one IN (...) of the database (PostgreSQL takes them whole)."""
    items = list(items)
    size = size or (len(items) or 1 if connection.features.max_query_params is None else CHUNK)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _among(queryset: models.QuerySet, name: str, values: Iterable) -> Iterator[models.QuerySet]:
    """``queryset`` narrowed to rows whose field ``name`` is one of ``values``, in as few queries as
    the database takes: on PostgreSQL one, the values sent as a single array (= ANY), which the
    driver quotes in one go where an IN (...) of 50,000 parameters costs Django a fifth of a second
    to build; elsewhere IN (...) by chunks.
    """
    values = list(values)
    if not values:
        return
    if connection.vendor != "postgresql":
        for chunk in _chunks(values):
            yield queryset.filter(**{f"{name}__in": chunk})
        return
    quote, meta = connection.ops.quote_name, queryset.model._meta
    column = f"{quote(meta.db_table)}.{quote(meta.get_field(name).column)}"
    literal, kind = _pg_array(values)
    yield queryset.filter(RawSQL(f"{column} = ANY(%s::{kind})", [literal], output_field=models.BooleanField()))  # nosec B611  # identifiers quoted from _meta; values are parameters


def _pg_array(values: list, *, text: bool = False) -> tuple[str, str]:
    """``values`` as one PostgreSQL array literal, and its type: bigint[] for ints, else text[]
    (``text``: always quoted, None as NULL, every other value as ``str`` writes it, for a cast to
    the column's own type).

    One literal is parsed by the server in one go; a Python list is sent as ARRAY[v1, v2, …],
    which the server parses and plans element by element (60 ms for 50,000 ids).
    """
    if not text and all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}", "bigint[]"
    quoted = (
        "NULL" if value is None else '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        for value in values
    )
    return "{" + ",".join(quoted) + "}", "text[]"


# --- parse -------------------------------------------------------------------------------------


def parse(
    source,
    *,
    file_name: str = "",
    campaign=None,
    allowed_townships: Collection[Township] | None = None,
    today: datetime.date | None = None,
) -> UnitPlan:
    """Read and check a screening list and match it to the register; writes nothing.

    ``source`` is a path, a binary file object or bytes. ``campaign`` (optional) adds warnings for
    dates after its end; ``allowed_townships`` (optional) limits the list to a township user's own.
    """
    plan = UnitPlan(file_name=file_name)
    with without_cycle_collection():
        try:
            table = read_columns(source, COLUMNS)
        except TableError as exc:
            plan.errors.extend(exc.issues)
            return plan
        if not any(table.has(key) for key in DEFECT_FIELDS):
            plan.errors.append(Issue(_("缺少四无情形列：“无证无照”“无安全保障”“无合法场所”“无环保措施”至少要有一列")))
            return plan
        _Planner(plan, campaign=campaign, allowed=allowed_townships, today=today or timezone.localdate()).run(table)
    return plan


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a list is read, written, or recorded.

    A 50,000-row list allocates a few hundred thousand small containers, none of them in a cycle
    (reference counting frees them all); the collector would walk them over and over, which is a
    fifth of the parse time (and four fifths of building the 50,000 entries of a batch's record
    while a plan is held). It is switched back on afterwards, as it was.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_BLANK = object()  # a blank cell: says nothing
_DISTINCT = frozenset({"name", "credit_code", "address", "phone"})  # columns whose values rarely repeat
_NUMBERS = (bool, int, float, Decimal)  # the cell types that can be equal to one of another type


def _plain_texts(raws: list[Any], limit: int) -> list[bool]:
    """Per cell: is it text that ``_text`` returns as it is? (Printable, trimmed, no double space,
    within ``limit``, not starting like a formula.) The others go through ``_text`` itself."""
    return [
        raw.__class__ is str
        and 0 < len(raw) <= limit
        and raw.isprintable()
        and raw[0] != " "
        and raw[-1] != " "
        and "  " not in raw
        and not raw.startswith(FORMULA_START)
        for raw in raws
    ]


def _plain_codes(raws: list[Any], _limits) -> list[bool]:
    """Per cell: is it a valid credit code exactly as written (what ``read_credit_code`` returns)?"""
    return [
        raw.__class__ is str
        and len(raw) == 18
        and raw.isascii()
        and raw.isalnum()
        and raw.upper() == raw
        and _SCIENTIFIC.match(raw) is None
        and _valid_code(raw)
        for raw in raws
    ]


# credit_code_error(code) is None, computed with two int() parses instead of two weighted sums per
# character (a list has 50,000 codes). Only the sums' remainders matter: the check character's
# weights are 3**i mod 31, and 34 ≡ 3 (mod 31), so the sum is int(code read as base 34, last
# character first) mod 31; the organisation code's weights 3 7 9 10 5 8 4 2 are 2·35**(7-i) mod 11,
# so its sum is 2·int(code[8:16], 35) mod 11 (35 > every letter the shape allows there, Y = 34).
# tests/enterprises/test_import_units.py holds it to credit_code_error on every kind of code.
_BASE34 = str.maketrans({c: "0123456789abcdefghijklmnopqrstu"[i] for i, c in enumerate(CREDIT_ALPHABET)})


def _valid_code(code: str) -> bool:
    if not _CODE_SHAPE.match(code):
        return False
    if CREDIT_ALPHABET[-int(code[16::-1].translate(_BASE34), 34) % 31] != code[17]:
        return False
    value = 11 - 2 * int(code[8:16], 35) % 11
    return code[16] == ("X" if value == 10 else "0" if value == 11 else str(value))


def _plain_phones(raws: list[Any], limits: dict[str, int]) -> list[bool]:
    """Per cell: is it digits only, as ``read_phone`` returns them?"""
    limit = limits["phone"]
    return [raw.__class__ is str and 0 < len(raw) <= limit and raw.isascii() and raw.isdigit() for raw in raws]


_PLAIN = {
    "name": lambda raws, limits: _plain_texts(raws, limits["name"]),
    "address": lambda raws, limits: _plain_texts(raws, limits["address"]),
    "credit_code": _plain_codes,
    "phone": _plain_phones,
}


class _Planner:
    """The state of one parse: lookup tables loaded once, then row after row against them."""

    def __init__(self, plan: UnitPlan, *, campaign, allowed, today: datetime.date):
        self.plan = plan
        self.campaign = campaign
        self.today = today
        self.allowed = None if allowed is None else {township.pk for township in allowed}
        self.townships = {_township_key(t.name): t for t in Township.objects.all()}
        self.villages: dict[tuple[int, str], int] = {}
        self.new_villages: dict[tuple[int, str], Township] = {}
        self.readers = self._readers()
        self.limits = {key: _max_length(Enterprise, key) for key in ("name", "address", "phone")}
        # A list repeats most cells' values (a township, a village, 是/否, a date, a status): each
        # distinct value of those columns is read once. Names, codes, phones and addresses differ.
        self.memo: dict[str, dict[Any, Any]] = {key: {} for key in self.readers if key not in _DISTINCT}

    def _readers(self) -> dict[str, Callable[[Any], Any]]:
        def text(model: type[models.Model], name: str) -> Callable[[Any], str]:
            limit = model._meta.get_field(name).max_length
            return lambda value: _text(value, limit)

        sources, statuses, methods = _choices(Source), _choices(Status), _choices(Method)
        return {
            "name": text(Enterprise, "name"),
            "credit_code": read_credit_code,
            "township": self.read_township,
            "village": text(Village, "name"),
            "address": text(Enterprise, "address"),
            "phone": read_phone,
            **{key: text(Enterprise, key) for key in TEXT_FIELDS},
            **dict.fromkeys(DEFECT_FIELDS, read_flag),
            "identified_on": read_date,
            "source": lambda value: _read_choice(value, sources),
            "status": lambda value: _read_choice(value, statuses),
            "method": lambda value: _read_choice(value, methods),
            "rectified_on": read_date,
            "demolished_m2": read_area,
        }

    def error(self, row: int, column: str | None, message: str) -> None:
        self.plan.errors.append(Issue(message, row=row, column=HEADERS.get(column, column)))

    def warn(self, row: int, column: str | None, message: str) -> None:
        self.plan.warnings.append(Issue(message, row=row, column=HEADERS.get(column, column)))

    def run(self, table: ColumnTable) -> None:
        self.present = [column.key for column in table.columns]
        self.plan.rows = self.read(table)
        rows = [row for row in self.plan.rows if row.valid]
        self.drop_duplicates(rows)
        rows = [row for row in rows if row.valid]
        self.plan.settled = wait_for_writers({row.values["township"].id for row in rows})
        units = self.load_units(rows)
        self.load_villages(rows)
        self.match(rows, units)
        periods = self.load_periods(row.unit_id for row in rows if row.valid and row.unit_id)
        for row in rows:
            if row.valid:
                self.plan_row(row, periods.get(row.unit_id, []))
        self.plan.new_villages = [(township, name) for (_tid, name), township in self.new_villages.items()]

    # --- one row on its own ---

    def read(self, table: ColumnTable) -> list[PlannedRow]:
        """Every row's checked values; its unreadable cells and broken rules are errors, in row order.

        The cells are read a column at a time (``read_column``), then put together row by row: a
        row is the dict of its cells' values, less its blank cells and those that could not be read.
        """
        present = self.present
        columns = []
        odd: dict[int, list[int]] = defaultdict(list)  # row index: the columns (by position) of its odd cells
        for position, key in enumerate(present):
            values, odd_rows = self.read_column(key, table.cells[key])
            columns.append(values)
            for index in odd_rows:
                odd[index].append(position)
        rows = []
        for index, (number, cells) in enumerate(zip(table.numbers, zip(*columns), strict=True)):
            values = dict(zip(present, cells))
            failed = set()
            errors_before = len(self.plan.errors)
            for position in odd.get(index, ()):
                key, value = present[position], cells[position]
                del values[key]
                if value is not _BLANK:
                    self.error(number, key, str(value))
                    failed.add(key)
            planned = PlannedRow(number=number, values=values)
            self.check_row(planned, failed)
            planned.valid = len(self.plan.errors) == errors_before
            rows.append(planned)
        return rows

    def read_column(self, key: str, raws: list[Any]) -> tuple[list[Any], list[int]]:
        """The checked value (or _BLANK, or the CellError) of each cell of one column, and the
        positions of the cells that are not a value (blank or unreadable).

        A column that repeats its values (a township, a village, 是/否, a date, a status) is read
        once per distinct value; a column whose values differ (names, codes, phones, addresses)
        cell by cell, the cells that are plainly fine already (most of them) without a call.
        """
        if key not in _DISTINCT:
            distinct = dict.fromkeys(raws)
            if any(type(cell) in _NUMBERS for cell in distinct) and len({type(cell) for cell in raws}) > 1:
                # 1, 1.0 and True are equal keys, but not the same cell: key such a column by (type, cell).
                keys = list(zip(map(type, raws), raws))
                distinct = dict.fromkeys(keys)
                lookup = {seen: self.read_memo(key, seen) for seen in distinct}
            else:
                keys = raws
                lookup = {cell: self.read_memo(key, (type(cell), cell)) for cell in distinct}
            values = list(map(lookup.__getitem__, keys))
            if not any(value is _BLANK or value.__class__ is CellError for value in lookup.values()):
                return values, []
            blank = _BLANK
            return values, [i for i, value in enumerate(values) if value is blank or value.__class__ is CellError]
        values, odd = list(raws), []
        for i, plain in enumerate(_PLAIN[key](raws, self.limits)):
            if not plain:
                value = values[i] = self.read_cell(key, raws[i])
                if value is _BLANK or value.__class__ is CellError:
                    odd.append(i)
        return values, odd

    def read_memo(self, key: str, seen: tuple[type, Any]) -> Any:
        """``read_cell`` of a (type, cell) of a repeating column, each read once per parse."""
        memo = self.memo[key]
        if seen not in memo:
            memo[seen] = self.read_cell(key, seen[1])
        return memo[seen]

    def read_cell(self, key: str, raw: Any) -> Any:
        """The checked value of one cell: a value, _BLANK, or the CellError saying why not."""
        if key not in DEFECT_FIELDS and is_blank(raw):
            return _BLANK
        try:
            return self.readers[key](raw)
        except CellError as exc:
            return exc

    def read_township(self, raw: Any) -> Township:
        name = cell_text(raw)
        township = self.townships.get(_township_key(name))
        if township is None:
            raise CellError(_("系统中没有乡镇（街道）“%(name)s”，请先添加该乡镇（街道）") % {"name": name})
        if self.allowed is not None and township.pk not in self.allowed:
            raise CellError(_("无权导入乡镇（街道）“%(name)s”的单位") % {"name": township.name})
        return township

    def check_row(self, row: PlannedRow, failed: set[str]) -> None:
        """The rules between cells of one row; ``failed`` are the cells that could not be read."""
        values, number = row.values, row.number
        if failed or "name" not in values or "township" not in values or "identified_on" not in values:
            for key in ("name", "township", "identified_on"):
                if key not in values and key not in failed:
                    self.error(number, key, _("不能为空"))
        if not any(map(values.get, DEFECT_FIELDS)) and not failed.intersection(DEFECT_FIELDS):
            names = "、".join(str(defect.label) for defect in Defect)
            self.error(number, None, _("%(defects)s至少要有一项为“是”") % {"defects": names})
        identified_on = values.get("identified_on")
        if identified_on and identified_on > self.today:
            self.error(number, "identified_on", _("不能晚于今天（%(today)s）") % {"today": self.today.isoformat()})
        if values.get("status") == Status.RECTIFIED:
            self.check_rectified(row, failed)
        elif "rectified_on" in values:
            self.error(number, "status", _("填写了整治完成日期，整治状态应为“已整治”"))
        if self.campaign is not None:
            for key in ("identified_on", "rectified_on"):
                day = values.get(key)
                if day and day > self.campaign.end:
                    self.warn(number, key, self._after_campaign(day))

    def _after_campaign(self, day: datetime.date) -> str:
        return _("%(day)s 晚于整治行动“%(campaign)s”的结束日期（%(end)s），不计入该年度") % {
            "day": day.isoformat(),
            "campaign": self.campaign.name,
            "end": self.campaign.end.isoformat(),
        }

    def check_rectified(self, row: PlannedRow, failed: set[str]) -> None:
        values, number = row.values, row.number
        for key in ("method", "rectified_on"):
            if key not in values and key not in failed:
                self.error(number, key, _("整治状态为“已整治”时必须填写"))
        if "rectified_on" not in values or "identified_on" not in values or "method" not in values:
            return
        problems = check_rectification(
            enterprise=_Unsaved(values["identified_on"]),
            method=values["method"],
            rectified_on=values["rectified_on"],
            demolished_m2=values.get("demolished_m2"),
            today=self.today,
        )
        for key, message in problems.items():
            self.error(number, key if key in HEADERS else None, message)

    # --- rows against each other and the register ---

    def drop_duplicates(self, rows: list[PlannedRow]) -> None:
        """Two rows of one list describing the same unit: the later one is an error."""
        by_code: dict[str, int] = {}
        by_identity: dict[tuple, int] = {}
        for row in rows:
            code, identity = row.values.get("credit_code"), _identity(row.values)
            if code and code in by_code:
                self.duplicate(row, "credit_code", by_code[code])
            elif identity in by_identity:
                self.duplicate(row, "name", by_identity[identity])
            else:
                if code:
                    by_code[code] = row.number
                by_identity[identity] = row.number

    def duplicate(self, row: PlannedRow, column: str, first: int) -> None:
        if column == "credit_code":
            message = _("与第%(first)d行的统一社会信用代码相同，是同一单位") % {"first": first}
        else:
            message = _("与第%(first)d行的乡镇街道、单位名称、地址都相同，是同一单位") % {"first": first}
        self.error(row.number, column, message)
        row.valid = False

    def load_units(self, rows: list[PlannedRow]) -> tuple[dict[str, Current], dict[tuple, list[Current]]]:
        """Alive units sharing a credit code or a township and name with some row."""
        units = Enterprise.objects.alive().values_list(*_CURRENT_COLUMNS)
        codes = {row.values["credit_code"] for row in rows if row.values.get("credit_code")}
        by_code = {}
        # "credit_code <> ''" repeats the unique index's condition, so that PostgreSQL can use that
        # (partial) index: it cannot infer the condition from an IN list of more than 100 values.
        with_code = units.exclude(credit_code="")
        for matching in _among(with_code, "credit_code", codes):
            found = map(Current._make, matching)
            by_code.update((unit.credit_code, unit) for unit in found)
        by_identity = defaultdict(list)
        for unit in _same_names(units, rows):
            by_identity[(unit.township_id, squash_spaces(unit.name), squash_spaces(unit.address))].append(unit)
        return by_code, by_identity

    def load_villages(self, rows: list[PlannedRow]) -> None:
        township_ids = {row.values["township"].id for row in rows}
        for chunk in _chunks(township_ids):
            found = Village.objects.filter(township_id__in=chunk).values_list("id", "township_id", "name")
            self.villages.update(((township_id, name), pk) for pk, township_id, name in found)

    def load_periods(self, unit_ids: Iterable[int]) -> dict[int, list[Period]]:
        periods = defaultdict(list)
        alive = Rectification.objects.filter(deleted_at__isnull=True)
        for matching in _among(alive, "enterprise_id", set(unit_ids)):
            found = matching.order_by("rectified_on", "id")
            for period in map(Period._make, found.values_list(*Period._fields)):
                periods[period.enterprise_id].append(period)
        return periods

    def match(self, rows: list[PlannedRow], units: tuple[dict, dict]) -> None:
        by_code, by_identity = units
        seen: dict[int, int] = {}
        for row in rows:
            code = row.values.get("credit_code")
            unit = by_code.get(code) if code else None
            if unit is not None:
                row.matched_by = "credit_code"
            else:
                candidates = by_identity.get(_identity(row.values), [])
                if len(candidates) > 1:
                    self.ambiguous(row, len(candidates))
                    continue
                if not candidates:
                    continue
                unit, row.matched_by = candidates[0], "identity"
            if unit.id in seen:
                message = _("与第%(first)d行对应系统中的同一单位“%(name)s”")
                self.error(row.number, "name", message % {"first": seen[unit.id], "name": unit.name})
                row.valid = False
            elif self.allowed is not None and unit.township_id not in self.allowed:
                self.error(row.number, "credit_code", _("该代码的单位属于其他乡镇（街道），无权修改"))
                row.valid = False
            else:
                seen[unit.id] = row.number
                row.unit, row.unit_id = unit, unit.id

    def ambiguous(self, row: PlannedRow, count: int) -> None:
        message = _("系统中有%(n)d个乡镇街道、单位名称、地址都相同的单位，无法确定是哪一个：请填写统一社会信用代码")
        self.error(row.number, "name", message % {"n": count})
        row.valid = False

    # --- what a row does ---

    def village_of(self, row: PlannedRow) -> int | None:
        """The village id, or None for a village this import will create (recorded in new_villages)."""
        key = (row.values["township"].id, row.values["village"])
        if key not in self.villages:
            self.new_villages.setdefault(key, row.values["township"])
        return self.villages.get(key)

    def plan_row(self, row: PlannedRow, periods: list[Period]) -> None:
        if row.unit is None:
            if "village" in row.values:
                self.village_of(row)
            row.action = Action.CREATE
            row.rectification = "create" if row.values.get("status") == Status.RECTIFIED else ""
            return
        errors_before = len(self.plan.errors)
        self.diff_fields(row)
        self.diff_status(row, periods)
        self.check_identified_on(row, periods)
        row.valid = len(self.plan.errors) == errors_before
        row.action = Action.UPDATE if row.changes else Action.UNCHANGED

    def diff_fields(self, row: PlannedRow) -> None:
        unit, values, changes = row.unit, row.values, row.changes
        for key in ("name", "credit_code", "address", "phone", *TEXT_FIELDS, *DEFECT_FIELDS, "identified_on", "source"):
            if key in values and getattr(unit, key) != values[key]:
                changes[key] = (getattr(unit, key), values[key])
        if "credit_code" in changes and unit.credit_code:
            message = _("系统中该单位的代码为%(old)s，将更正为表中的代码")
            self.warn(row.number, "credit_code", message % {"old": unit.credit_code})
        township = values["township"]
        if unit.township_id != township.pk:
            changes["township"] = (unit.township_name, township.name)
            if "village" not in values and unit.village_id:
                changes["village"] = (unit.village_name, None)
        if "village" in values:
            village_id = self.village_of(row)
            if village_id is None or village_id != unit.village_id:
                changes["village"] = (unit.village_name, values["village"])

    def diff_status(self, row: PlannedRow, periods: list[Period]) -> None:
        unit, status = row.unit, row.values.get("status")
        current = next((period for period in periods if period.reopened_on is None), None)
        if status == Status.RECTIFIED:
            self.diff_rectification(row, periods, current)
        elif status and current is not None:
            self.warn(
                row.number,
                "status",
                _("该单位已于%(day)s整治完成，导入不会撤销整治（如发现死灰复燃，请登记复发）")
                % {"day": current.rectified_on.isoformat()},
            )
        elif status and status != unit.status:
            row.changes["status"] = (unit.status, status)

    def diff_rectification(self, row: PlannedRow, periods: list[Period], current: Period | None) -> None:
        values, unit = row.values, row.unit
        new = (values["method"], values["rectified_on"], values.get("demolished_m2"))
        same_day = next((p for p in periods if p.rectified_on == values["rectified_on"]), None)
        if same_day is not None and same_day is not current:
            self.warn(
                row.number,
                "rectified_on",
                _("该单位%(day)s的整治已因死灰复燃（%(reopened)s）失效，本行的整治信息未作更改")
                % {"day": same_day.rectified_on.isoformat(), "reopened": same_day.reopened_on.isoformat()},
            )
            return
        # A relapse closes the period it re-opens on the same date, so the last one is the latest end.
        last_relapse = max((p.reopened_on for p in periods if p.reopened_on), default=None)
        if last_relapse and values["rectified_on"] < last_relapse:
            self.error(
                row.number,
                "rectified_on",
                _("整治完成日期不能早于最近一次复发日期（%(day)s）") % {"day": last_relapse.isoformat()},
            )
            return
        if current is None:
            row.rectification = "create"
            row.changes["rectification"] = (None, (new[0], new[1], new[2] or Decimal("0.00")))
        else:
            old = (current.method, current.rectified_on, current.demolished_m2)
            merged = (new[0], new[1], old[2] if new[2] is None else new[2])
            if merged != old:
                row.rectification, row.period = "update", current
                row.changes["rectification"] = (old, merged)
        if unit.status != Status.RECTIFIED:
            row.changes["status"] = (unit.status, Status.RECTIFIED)

    def check_identified_on(self, row: PlannedRow, periods: list[Period]) -> None:
        first = min((p.rectified_on for p in periods if p is not row.period), default=None)
        if first and row.values["identified_on"] > first:
            self.error(
                row.number,
                "identified_on",
                _("不能晚于该单位已登记的整治完成日期（%(day)s）") % {"day": first.isoformat()},
            )


class _Unsaved(NamedTuple):
    """A unit not in the register yet, as much of it as services.check_rectification reads."""

    identified_on: datetime.date
    pk: None = None


def _same_names(units: models.QuerySet, rows: list[PlannedRow]) -> Iterator[Current]:
    """Units of the rows' townships that share a name with a row.

    A list with thousands of a township's units is most of its register: reading the township
    through once is several times faster than thousands of name lookups. A short list looks up.
    """
    names = defaultdict(set)
    for row in rows:
        names[row.values["township"].id].add(row.values["name"])
    for township_id, wanted in names.items():
        if len(wanted) > CHUNK:
            found = map(Current._make, units.filter(township_id=township_id))
            yield from (unit for unit in found if unit.name in wanted)
        else:
            yield from map(Current._make, units.filter(township_id=township_id, name__in=wanted))


def _identity(values: dict[str, Any]) -> tuple[int, str, str]:
    return values["township"].id, values["name"], values.get("address", "")


# --- apply -------------------------------------------------------------------------------------


def apply(plan: UnitPlan, user=None, *, reread: Callable[[], UnitPlan] | None = None) -> UnitPlan:
    """Write a plan without errors, all of it in one transaction; PlanError when it cannot.

    Every row written gets its history record (django-simple-history) with ``user`` and the file
    name as the reason, as a save() would have. The plan's townships are locked first (a second
    import or a unit form for them waits until this one commits); then, inside the lock, a plan
    that is no longer current (``still_current``) is replaced by ``reread()`` (the file parsed
    again, now seeing every unit written before the lock was had: they are matched, not created a
    second time), or refused when there is no ``reread``. Returns the plan written.
    """
    if plan.errors:
        raise PlanError(_("导入文件有%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)})
    try:
        with without_cycle_collection(), transaction.atomic():
            lock_townships(_townships(plan))
            if not still_current(plan):
                if reread is None:
                    raise PlanError(_("预览之后系统中的单位已被修改，未写入任何数据：请重新上传文件"))
                plan = reread()
                if plan.errors:
                    message = _("导入文件有%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)}
                    raise PlanError(message, plan.errors)
                lock_townships(_townships(plan))  # the same file names the same townships
            # Dated once the lock is held: a plan parsed before this moment sees these rows as news.
            stamp = _Stamp(
                user_id=user.pk if user is not None else None,
                when=timezone.now(),
                reason=(_("导入排查清单%(file)s") % {"file": plan.file_name})[:100],
            )
            _check_unchanged_since(plan)
            villages = _create_villages(plan, stamp)
            _create_units(plan, villages, stamp)
            _update_units(plan, villages, stamp)
            _write_rectifications(plan, stamp)
    except IntegrityError as exc:
        raise PlanError(
            _("写入时与系统中的数据冲突，未写入任何数据，请重新导入（%(reason)s）") % {"reason": exc}
        ) from exc
    return plan


def _townships(plan: UnitPlan) -> set[int]:
    return {row.values["township"].id for row in plan.rows if row.valid}


class _Stamp(NamedTuple):
    """Who and when, for the created_by/updated_at columns and the history records."""

    user_id: int | None
    when: datetime.datetime
    reason: str


def _rows(plan: UnitPlan, action: Action) -> list[PlannedRow]:
    return [row for row in plan.rows if row.valid and row.action == action]


def _check_unchanged_since(plan: UnitPlan) -> None:
    versions = {row.unit_id: row.unit.version for row in _rows(plan, Action.UPDATE)}
    for units in _among(Enterprise.objects.all(), "id", versions):
        now = units.values_list("id", "version", "updated_at", "deleted_at")
        if any(
            version != versions[pk] or updated_at > plan.parsed_at or deleted_at is not None
            for pk, version, updated_at, deleted_at in now
        ):
            raise PlanError(_("预览之后系统中的单位已被修改，未写入任何数据：请重新上传文件"))


def _create_villages(plan: UnitPlan, stamp: _Stamp) -> dict[tuple[int, str], int]:
    created = Village.objects.bulk_create(
        Village(township=township, name=name, kind=Village.kind_from_name(name)) for township, name in plan.new_villages
    )
    _record_history(Village, [village.pk for village in created], "+", stamp)
    township_ids = {row.values["township"].id for row in plan.rows if row.valid and "village" in row.values}
    villages = {}
    for chunk in _chunks(township_ids):
        found = Village.objects.filter(township_id__in=chunk).values_list("id", "township_id", "name")
        villages.update(((township_id, name), pk) for pk, township_id, name in found)
    return villages


def _village_id(row: PlannedRow, villages: dict[tuple[int, str], int]) -> int | None:
    if "village" not in row.values:
        return None
    return villages[(row.values["township"].id, row.values["village"])]


_NEW_UNIT_FIELDS = (
    "name",
    "credit_code",
    "township_id",
    "village_id",
    "address",
    "phone",
    *TEXT_FIELDS,
    *DEFECT_FIELDS,
    "identified_on",
    "source",
    "status",
    "created_by_id",
    "created_at",
    "updated_at",
)


def _create_units(plan: UnitPlan, villages: dict, stamp: _Stamp) -> None:
    rows = _rows(plan, Action.CREATE)
    values = [row.values for row in rows]

    def column(key: str, default: Any = "") -> list:
        return [cells.get(key, default) for cells in values]

    township_ids = [cells["township"].id for cells in values]
    village_ids = [
        None if name is None else villages[(township_id, name)]
        for township_id, name in zip(township_ids, column("village", None), strict=True)
    ]
    count = len(rows)
    ids = _insert_columns(
        Enterprise,
        _NEW_UNIT_FIELDS,
        [
            [cells["name"] for cells in values],
            column("credit_code"),
            township_ids,
            village_ids,
            column("address"),
            column("phone"),
            *(column(key) for key in TEXT_FIELDS),
            *(column(key, False) for key in DEFECT_FIELDS),
            [cells["identified_on"] for cells in values],
            column("source", Source.SCREENING),
            column("status", Status.OPEN),
            [stamp.user_id] * count,
            [stamp.when] * count,
            [stamp.when] * count,
        ],
    )
    for row, unit_id in zip(rows, ids, strict=True):
        row.unit_id = unit_id
    _record_history(Enterprise, ids, "+", stamp)


def _update_units(plan: UnitPlan, villages: dict, stamp: _Stamp) -> None:
    changes = []
    for row in _rows(plan, Action.UPDATE):
        values = dict(_new_value(row, name, villages) for name in row.changes.keys() - {"rectification"})
        changes.append((row.unit_id, values | {"updated_at": stamp.when}))
    # A unit's version moves with every change (Enterprise.version, optimistic concurrency), so an
    # edit that read the unit before the import can tell that it changed since.
    _update(Enterprise, changes, increment="version")
    _record_history(Enterprise, [unit_id for unit_id, _values in changes], "~", stamp)


def _new_value(row: PlannedRow, name: str, villages: dict) -> tuple[str, Any]:
    if name == "township":
        return "township_id", row.values["township"].id
    if name == "village":
        return "village_id", _village_id(row, villages)
    return name, row.changes[name][1]


def _write_rectifications(plan: UnitPlan, stamp: _Stamp) -> None:
    rows = [row for row in plan.rows if row.valid]
    fields = ("enterprise_id", "method", "rectified_on", "demolished_m2", "note", "created_by_id", "created_at")
    created = [
        (row.unit_id, row.values["method"], row.values["rectified_on"], _area(row), "", stamp.user_id, stamp.when)
        for row in rows
        if row.rectification == "create"
    ]
    _record_history(Rectification, _insert(Rectification, fields, created), "+", stamp)
    corrected = [
        (row.period.id, dict(zip(("method", "rectified_on", "demolished_m2"), row.changes["rectification"][1])))
        for row in rows
        if row.rectification == "update"
    ]
    _update(Rectification, corrected)
    _record_history(Rectification, [period_id for period_id, _values in corrected], "~", stamp)


def _area(row: PlannedRow) -> Decimal:
    return row.values.get("demolished_m2") or Decimal("0.00")


# --- fast bulk writes --------------------------------------------------------------------------

# Django's bulk_create spends about 100 µs per unit preparing its values (over 5 s for a
# 50,000-row list) and bulk_update builds a CASE expression per object and field (about 45 s for
# 50,000 units). The values here are checked and typed already, so they go to the driver as they
# are: only dates, times and decimals pass through the field's own conversion.
_AS_IS = frozenset({"CharField", "TextField", "BooleanField", "ForeignKey", "IntegerField", "PositiveIntegerField"})


def _converter(model_field: models.Field) -> Callable[[Any], Any] | None:
    if model_field.get_internal_type() in _AS_IS:
        return None
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value not in cache:
            cache[value] = model_field.get_db_prep_save(value, connection)
        return cache[value]

    return convert


def _insert(model: type[models.Model], names: tuple[str, ...], rows: list[tuple]) -> list[int]:
    """INSERT ``rows`` (values of the fields ``names``, by attname) and return the new ids in order.

    Fields left out get their (static) defaults, so a field added to the model later does not break this.
    """
    return _insert_columns(model, names, list(zip(*rows, strict=True)) if rows else [])


def _insert_columns(model: type[models.Model], names: tuple[str, ...], columns: list[Sequence]) -> list[int]:
    """``_insert`` of rows given as ``columns``: one sequence of values per field of ``names``, all
    of one length. The import builds its rows a column at a time, and COPY formats them so."""
    count = len(columns[0]) if columns else 0
    if not count:
        return []
    given = set(names)
    rest = [f for f in model._meta.concrete_fields if f.attname not in given and not f.primary_key]
    fields = [model._meta.get_field(name) for name in names] + rest
    now = timezone.now()
    defaults = [
        now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default() for f in rest
    ]
    columns = [*columns, *([default] * count for default in defaults)]
    if connection.vendor == "postgresql" and connection.features.can_return_rows_from_bulk_insert and _copy_supported():
        return _copy(model, fields, columns)
    rows = list(zip(*columns, strict=True))
    if not connection.features.can_return_rows_from_bulk_insert:
        objects = [model(**dict(zip((f.attname for f in fields), row))) for row in rows]
        return [obj.pk for obj in model.objects.bulk_create(objects, batch_size=BATCH)]
    converters = [_converter(f) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(BATCH, (connection.features.max_query_params or 65535) // len(fields)))
    ids = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params = [
                value if convert is None else convert(value) for row in batch for value, convert in zip(row, converters)
            ]
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([placeholder] * len(batch))} "  # nosec B608  # identifiers quoted from _meta; values are parameters
                f"RETURNING {quote(model._meta.pk.column)}",
                params,
            )
            ids.extend(pk for (pk,) in cursor.fetchall())
    return ids


def _copy_supported() -> bool:
    try:
        import psycopg2  # noqa: F401
    except ImportError:  # psycopg 3: the multi-row INSERT path
        return False
    return True


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_formatter(model_field: models.Field) -> Callable[[Any], str]:
    """How one column's values are written in PostgreSQL's COPY text format (NULL is \\N)."""
    kind = model_field.get_internal_type()
    if kind == "BooleanField":
        return {True: "t", False: "f", None: "\\N"}.__getitem__
    if kind in ("CharField", "TextField"):

        def text(value: Any) -> str:
            if value is None:
                return "\\N"
            return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value

        return text

    def other(value: Any) -> str:  # numbers, dates, times (ISO 8601 with its offset), decimals
        if value is None:
            return "\\N"
        return value.isoformat() if isinstance(value, datetime.date) else str(value)

    return other


def _copy_column(model_field: models.Field, values: tuple) -> list[str] | tuple:
    """One column's values in COPY text format, the column at a time.

    Most columns repeat a few values (a township, a date, 是/否, the import's time): each distinct
    value is formatted once. Text that needs no escaping (nearly all) is used as it is, and ids as
    ``str`` makes them; the rest goes value by value through ``_copy_formatter``.
    """
    write = _copy_formatter(model_field)
    distinct = dict.fromkeys(values)
    text = model_field.get_internal_type() in ("CharField", "TextField")
    if text and None not in distinct and not _COPY_SPECIAL.search("".join(distinct)):
        return values
    if not text and all(type(value) is int for value in distinct):  # ids: no NULL, no bool
        return list(map(str, values))
    formatted = {value: write(value) for value in distinct}
    return list(map(formatted.__getitem__, values))


class _CopySource:
    """A file-like object that PostgreSQL's COPY reads lines from, a block of rows at a time.

    The rows are formatted as the driver asks for them, so the server stores one block while the
    next is being joined, and no copy of the whole table is ever held as one string.
    """

    def __init__(self, lines: Iterator[str], rows_per_block: int = 2000):
        self.lines, self.rows_per_block = lines, rows_per_block

    def read(self, _size: int = -1) -> str:
        block = list(itertools.islice(self.lines, self.rows_per_block))
        return "\n".join(block) + "\n" if block else ""


def _copy(model: type[models.Model], fields: list[models.Field], columns: list[Sequence]) -> list[int]:
    """PostgreSQL: draw the ids from the table's sequence, then COPY the rows in with them.

    COPY moves 50,000 units in a fraction of the time of multi-row INSERTs, whose parameters
    psycopg2 quotes one by one on the client. The ids come from the same sequence an INSERT would
    use, so they are as unique and as ordered as INSERT … RETURNING's.
    """
    quote = connection.ops.quote_name
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        # The sequence is looked up once (a materialized CTE): pg_get_serial_sequence() called per
        # row is a catalogue scan each time, ten times the cost of the 50,000 nextval() themselves.
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS sequence) "
            "SELECT nextval(s.sequence) FROM s, generate_series(1, %s)",
            [table, pk, len(columns[0])],
        )
        ids = [pk_value for (pk_value,) in cursor.fetchall()]
        names = ", ".join([quote(pk)] + [quote(f.column) for f in fields])
        formatted = [list(map(str, ids))]
        formatted += [_copy_column(f, values) for f, values in zip(fields, columns, strict=True)]
        source = _CopySource(map("\t".join, zip(*formatted)))
        # The driver's own cursor: its errors (a unique constraint refusing a row) are wrapped as
        # Django's, so that apply() tells the user instead of failing the request.
        with connection.wrap_database_errors:
            cursor.cursor.copy_expert(f"COPY {quote(table)} ({names}) FROM STDIN", source, size=1 << 16)
        if len(ids) >= ANALYZE_AFTER:
            # A city's first list can be most of the table: refresh the planner's statistics (they
            # count this transaction's own rows) so that the register's pages are planned for the
            # table as it now is, also where autovacuum is off.
            cursor.execute(f"ANALYZE {quote(table)}")
    return ids


def _update(model: type[models.Model], changes: list[tuple[int, dict[str, Any]]], increment: str = "") -> None:
    """Write each row's changed columns, each row once: ``[(pk, {attname: value, …}), …]``.

    PostgreSQL: one UPDATE … FROM unnest(arrays) per set of columns changed, every row's own
    values in the arrays. Its count tables are kept by statement-level triggers, which run once
    per statement: 16,000 phones changed one UPDATE each took 10 s, as one statement a fraction.
    Elsewhere rows changed alike (a status, 是/否, a date) share one UPDATE … WHERE id IN (…); the
    others, a statement each, go through one executemany per set of columns. ``increment`` names
    a counter column to add one to in the same statements.
    """
    if connection.vendor == "postgresql":
        by_columns: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for row_id, values in changes:
            by_columns[tuple(sorted(values))].append((row_id, values))
        for attnames, rows in by_columns.items():
            _update_from_arrays(model, attnames, rows, increment)
        return
    alike: dict[frozenset, list[int]] = defaultdict(list)
    for row_id, values in changes:
        alike[frozenset(values.items())].append(row_id)
    singles: dict[tuple[str, ...], list[list]] = defaultdict(list)
    for key, ids in alike.items():
        values = {model._meta.get_field(attname): value for attname, value in key}
        if len(ids) == 1:
            fields = tuple(sorted(values, key=lambda f: f.column))
            singles[tuple(f.attname for f in fields)].append(
                [f.get_db_prep_save(values[f], connection) for f in fields] + ids
            )
            continue
        bump = {increment: F(increment) + 1} if increment else {}
        for rows in _among(model.objects.all(), model._meta.pk.name, ids):
            rows.update(**{f.name: value for f, value in values.items()}, **bump)
    quote = connection.ops.quote_name
    for attnames, params in singles.items():
        columns = ", ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in attnames)
        if increment:
            column = quote(model._meta.get_field(increment).column)
            columns += f", {column} = {column} + 1"
        sql = f"UPDATE {quote(model._meta.db_table)} SET {columns} WHERE {quote(model._meta.pk.column)} = %s"  # nosec B608  # identifiers quoted from _meta; values are parameters
        with connection.cursor() as cursor:
            _executemany(cursor, sql, params)


def _update_from_arrays(
    model: type[models.Model], attnames: tuple[str, ...], rows: list[tuple[int, dict[str, Any]]], increment: str
) -> None:
    """PostgreSQL: UPDATE the columns ``attnames`` of ``rows`` ([(pk, {attname: value})]) in one statement."""
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in attnames]
    ids, kind = _pg_array([row_id for row_id, _changed in rows])
    arrays, params = [f"%s::{kind}"], [ids]
    for f in fields:
        values = [f.get_db_prep_save(changed[f.attname], connection) for _row_id, changed in rows]
        arrays.append(f"%s::{_pg_type(f)}[]")
        params.append(_pg_array(values, text=True)[0])
    names = [f"c{i}" for i in range(len(fields))]
    sets = [f"{quote(f.column)} = v.{name}" for f, name in zip(fields, names, strict=True)]
    if increment:
        counter = quote(model._meta.get_field(increment).column)
        sets.append(f"{counter} = t.{counter} + 1")
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET {', '.join(sets)} "  # nosec B608  # identifiers quoted from _meta; values are parameters
        f"FROM unnest({', '.join(arrays)}) AS v(id, {', '.join(names)}) WHERE t.{quote(model._meta.pk.column)} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _pg_type(model_field: models.Field) -> str:
    """The column's type without its length or precision: varchar(64) → varchar, numeric(12, 2) → numeric.

    An array cast to varchar(64)[] would cut longer text silently; to varchar, the column refuses it.
    """
    return re.sub(r"\s*\(.*\)$", "", model_field.db_type(connection))


def _executemany(cursor, sql: str, params: list[list]) -> None:
    if connection.vendor == "postgresql":
        try:
            from psycopg2.extras import execute_batch
        except ImportError:  # psycopg 3 pipelines executemany by itself
            pass
        else:
            # psycopg2's executemany is a round trip per row; execute_batch sends pages of them.
            execute_batch(cursor.cursor, sql, params, page_size=500)
            return
    cursor.executemany(sql, params)


def _record_history(model: type[models.Model], ids: list[int], history_type: str, stamp: _Stamp) -> None:
    """Copy rows ``ids`` of ``model`` into its history table (django-simple-history), as save() would.

    One INSERT … SELECT per chunk: the historical row is the row as written, plus who, when, why,
    and the request's address and id when there is a request (the web upload).
    """
    if not ids:
        return
    history = model.history.model
    audit = SimpleNamespace(ip_address=None, request_id="")
    fill_audit_fields(sender=history, history_instance=audit)
    extra = {
        "history_date": stamp.when,
        "history_type": history_type,
        "history_user": stamp.user_id,
        "history_change_reason": stamp.reason,
        "ip_address": audit.ip_address,
        "request_id": audit.request_id,
    }
    own = {f.name for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    columns, selected, params = [], [], []
    for f in history._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(quote(f.column))
        if f.name in own:
            selected.append("s." + quote(model._meta.get_field(f.name).column))
        else:
            selected.append("%s")
            params.append(f.get_db_prep_save(extra[f.name] if f.name in extra else f.get_default(), connection))
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(columns)}) "  # nosec B608  # identifiers quoted from _meta; values are parameters
        f"SELECT {', '.join(selected)} FROM {quote(model._meta.db_table)} s WHERE s.{quote(model._meta.pk.column)} IN "
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, the ids as one array, joined (an index probe per id) rather than tested
            # with = ANY, which a table whose statistics still say "empty" would scan once per id.
            head, _where = sql.split(" WHERE ", 1)
            cursor.execute(
                head + f" JOIN unnest(%s::bigint[]) AS wanted(id) ON s.{quote(model._meta.pk.column)} = wanted.id",
                [*params, _pg_array(ids)[0]],
            )
            return
        for chunk in _chunks(ids):
            cursor.execute(sql + "(" + ", ".join(["%s"] * len(chunk)) + ")", params + chunk)


# --- keeping a plan between the preview and its confirmation ----------------------------------

_PLAN_SALT = "enterprises.importing.plan"
_SIGNATURE_BYTES = 32  # SHA-256


def dump_plan(plan: UnitPlan) -> bytes:
    """The plan as bytes to keep with its upload: pickled, compressed, signed with SECRET_KEY.

    Reading a 50,000-row list takes seconds; keeping what was read lets the confirmation skip it
    when nothing changed in between (``still_current``).
    """
    with without_cycle_collection():
        data = zlib.compress(pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL), 1)
    return salted_hmac(_PLAN_SALT, data, algorithm="sha256").digest() + data


def load_plan(blob: bytes | memoryview | None) -> UnitPlan | None:
    """The plan ``dump_plan`` kept, or None when there is none or it cannot be trusted or read.

    Only bytes carrying this server's signature are unpickled. A plan written by an older version
    of the code, or under another SECRET_KEY, is None too: the caller reads the file again.
    """
    if not blob:
        return None
    blob = bytes(blob)
    signature, data = blob[:_SIGNATURE_BYTES], blob[_SIGNATURE_BYTES:]
    if not constant_time_compare(signature, salted_hmac(_PLAN_SALT, data, algorithm="sha256").digest()):
        return None
    try:
        with without_cycle_collection():
            plan = pickle.loads(zlib.decompress(data))  # nosec B301 - signed by this server, checked above
    except Exception:  # noqa: BLE001 - any unreadable plan means: read the file again
        return None
    return plan if isinstance(plan, UnitPlan) else None


# Every write a plan depends on leaves a history row (django-simple-history) with its time: the
# units and their rectifications and relapses, the villages and townships names are matched to.
_PLAN_INPUTS = (Township, Village, Enterprise, Rectification, Relapse)


def still_current(plan: UnitPlan) -> bool:
    """True when no unit, rectification, relapse, village or township changed since ``plan`` was parsed.

    Then the plan is exactly what parsing the file now would give. One query, an indexed probe per
    table (history_date); ``apply`` asks again inside its lock, and checks the matched units'
    versions there too. A plan read while a write to its townships was in flight (``settled``
    False) is never current: that write's rows are dated before the parse.
    """
    if not getattr(plan, "settled", False):
        return False
    quote = connection.ops.quote_name
    probes = []
    for model in _PLAN_INPUTS:
        history = model.history.model
        column = quote(history._meta.get_field("history_date").column)
        probes.append(f"EXISTS (SELECT 1 FROM {quote(history._meta.db_table)} WHERE {column} >= %s)")  # nosec B608  # identifiers quoted from _meta; values are parameters
    when = models.DateTimeField().get_db_prep_value(plan.parsed_at, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {' OR '.join(probes)}", [when] * len(probes))
        (changed,) = cursor.fetchone()
    return not changed


# --- the template ------------------------------------------------------------------------------

TEMPLATE_ROWS = 5000  # rows the drop-down lists cover


def _explanations() -> dict[str, tuple[str, str]]:
    """Per column: (填写要求, 可选值) for the second sheet of the template."""
    with translation.override(None):
        statuses = "、".join(str(label) for _value, label in Status.choices)
        methods = "、".join(str(label) for _value, label in Method.choices)
        sources = "、".join(str(label) for _value, label in Source.choices)
    defect = (_("四项中至少一项为“是”；空白视为否"), "是、否")
    return {
        "name": (_("必填；与乡镇街道、地址一起识别同一单位"), ""),
        "credit_code": (_("选填；18位，填写时校验；请设为“文本”格式，以免开头的0被去掉"), ""),
        "township": (_("必填；须为系统中已有的乡镇（街道）；乡镇用户只能导入本乡镇"), ""),
        "village": (_("选填；系统中没有的村（社区）将自动新增"), ""),
        "grid": (_("选填"), ""),
        "address": (_("选填；与单位名称一起识别同一单位"), ""),
        "owner": (_("选填"), ""),
        "phone": (_("选填；请设为“文本”格式，以免被 Excel 变成科学计数法"), ""),
        "industry": (_("选填"), ""),
        "premises": (_("选填"), ""),
        "unlicensed": defect,
        "unsafe": defect,
        "no_legal_premises": defect,
        "no_env_measures": defect,
        "identified_on": (_("必填；日期，如 2018-03-05，不能晚于今天"), ""),
        "source": (_("选填；空白视为排查"), sources),
        "status": (_("选填；空白视为未整治"), statuses),
        "method": (_("整治状态为“已整治”时必填"), methods),
        "rectified_on": (_("整治状态为“已整治”时必填；日期"), ""),
        "demolished_m2": (_("整治方式为“拆除”时填写，单位平方米"), ""),
    }


def write_template(file) -> None:
    """An empty screening list: the exact headers, a sheet explaining each column, drop-downs."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    explanations = _explanations()
    book = Workbook()
    sheet = book.active
    sheet.title = "排查清单"
    sheet.append([column.header for column in COLUMNS])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[letter].width = max(10, len(column.header) * 2 + 4)
        if column.key in ("credit_code", "phone"):
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = "@"
        if column.key in ("identified_on", "rectified_on"):
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = "yyyy-mm-dd"
        allowed = explanations[column.key][1]
        if allowed:
            values = allowed
            validation = DataValidation(
                type="list",
                formula1='"' + values.replace("、", ",") + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=_("无效的值"),
                error=_("请从下拉列表中选择：%(values)s") % {"values": values},
            )
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            sheet.add_data_validation(validation)
    notes = book.create_sheet("填写说明")
    notes.append([_("列名"), _("英文列名"), _("填写要求"), _("可选值")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        requirement, allowed = explanations[column.key]
        notes.append([column.header, column.key, requirement, allowed])
    for letter, width in zip("ABCD", (16, 20, 60, 40)):
        notes.column_dimensions[letter].width = width
    book.save(file)
