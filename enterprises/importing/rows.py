"""Every row of a list read, checked and planned (``_Planner``, which ``parse`` runs).

The cells are read a column at a time (``cells``), the rules between a row's cells checked, rows
describing the same unit refused, each row matched against the register (by credit code, else by
township, name and address) and what it would change worked out: no write.
"""

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import models
from django.utils.translation import gettext as _

from campaign.models import Park, Township, Village
from core.geo import out_of_china
from core.tabular import ColumnTable, Issue, cell_text, is_blank

from ..models import DEFECT_FIELDS, Defect, Enterprise, Method, ParkEntry, Rectification, Source, Status, squash_spaces
from ..parks import refusals
from ..services import check_rectification, wait_for_writers
from .cells import (
    _PLAIN,
    CellError,
    _choices,
    _max_length,
    _read_choice,
    _text,
    _township_key,
    read_area,
    read_credit_code,
    read_date,
    read_flag,
    read_latitude,
    read_longitude,
    read_phone,
    read_watcher_phone,
)
from .columns import HEADERS, MAP_FIELDS, POSITION_FIELDS, TEXT_FIELDS
from .plan import _CURRENT_COLUMNS, Action, Current, Entry, ParkChoice, Period, PlannedRow, UnitPlan
from .queries import CHUNK, _among, _chunks

_BLANK = object()  # a blank cell: says nothing
_DISTINCT = frozenset({"name", "credit_code", "address", "phone"})  # columns whose values rarely repeat
_NUMBERS = (bool, int, float, Decimal)  # the cell types that can be equal to one of another type


class _Planner:
    """The state of one parse: lookup tables loaded once, then row after row against them."""

    def __init__(self, plan: UnitPlan, *, campaign, allowed, today: datetime.date):
        self.plan = plan
        self.campaign = campaign
        self.today = today
        self.allowed = None if allowed is None else {township.pk for township in allowed}
        self.townships = {_township_key(t.name): t for t in Township.objects.all()}
        self.villages: dict[tuple[int, str], int] = {}
        self.parks: dict[str, list[ParkChoice]] | None = None  # by name, read when a list has 入驻园区
        self.park_rules: dict[int, Park] = {}  # the parks' negative lists and thresholds, by id
        self.entries: dict[int, Entry] = {}  # park entries of the matched units' periods, by period
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
            "park": self.read_park,
            "longitude": read_longitude,
            "latitude": read_latitude,
            "watcher_name": text(Enterprise, "watcher_name"),
            "watcher_phone": read_watcher_phone,
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
        if "park" in self.present:
            self.load_entries(rows, periods)
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

    def read_park(self, raw: Any) -> ParkChoice:
        """SPEC 5: the park of that name in any township; none, or one in each of two, is an error."""
        if self.parks is None:
            self.parks = defaultdict(list)
            columns = ("id", "name", "township__name", "negative_list", "min_tax_per_mu")
            for pk, name, township, negative_list, threshold in Park.objects.values_list(*columns).order_by("township"):
                self.parks[_township_key(name)].append(ParkChoice(pk, name, township))
                # What the entry rules read (enterprises.parks.refusals), kept beside the plan's values.
                self.park_rules[pk] = Park(pk=pk, name=name, negative_list=negative_list, min_tax_per_mu=threshold)
        name = cell_text(raw)
        found = self.parks.get(_township_key(name), [])
        if not found:
            raise CellError(_("系统中没有名为“%(name)s”的小微园，请先导入该园区") % {"name": name})
        if len(found) > 1:
            townships = "、".join(park.township for park in found)
            message = _("%(townships)s都有名为“%(name)s”的小微园，无法确定是哪一个")
            raise CellError(message % {"townships": townships, "name": name})
        return found[0]

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
        if "park" in values:
            self.check_park(row, failed)
        self.check_position(row, failed)
        if self.campaign is not None:
            for key in ("identified_on", "rectified_on"):
                day = values.get(key)
                if day and day > self.campaign.end:
                    self.warn(number, key, self._after_campaign(day))

    def check_position(self, row: PlannedRow, failed: set[str]) -> None:
        """经度 and 纬度 go together (docs/map.md); a point outside China is most likely swapped."""
        values, number = row.values, row.number
        given = [key for key in POSITION_FIELDS if key in values]
        if len(given) == 1 and not failed.intersection(POSITION_FIELDS):
            missing = next(key for key in POSITION_FIELDS if key not in given)
            message = _("填写了%(given)s，%(missing)s也必须填写") % {
                "given": HEADERS[given[0]],
                "missing": HEADERS[missing],
            }
            self.error(number, missing, message)
        elif len(given) == 2 and out_of_china(float(values["longitude"]), float(values["latitude"])):
            self.warn(number, "longitude", _("该位置不在中国境内，请核对经度、纬度是否填反"))

    def _after_campaign(self, day: datetime.date) -> str:
        return _("%(day)s 晚于整治行动“%(campaign)s”的结束日期（%(end)s），不计入该年度") % {
            "day": day.isoformat(),
            "campaign": self.campaign.name,
            "end": self.campaign.end.isoformat(),
        }

    def check_park(self, row: PlannedRow, failed: set[str]) -> None:
        """入驻园区 belongs to a unit rectified by 搬迁入园 in this row (SPEC 5)."""
        values = row.values
        if values.get("status") != Status.RECTIFIED:
            if "status" not in failed:
                self.error(row.number, "park", _("只有整治状态为“已整治”、整治方式为“搬迁入园”的单位才能填写入驻园区"))
        elif "method" in values and values["method"] != Method.RELOCATED:
            message = _("整治方式为“%(method)s”：只有整治方式为“搬迁入园”的单位才能填写入驻园区")
            self.error(row.number, "park", message % {"method": Method(values["method"]).label})

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

    def load_entries(self, rows: list[PlannedRow], periods: dict[int, list[Period]]) -> None:
        """The park entries (deleted ones too) of the periods of the matched units that name a park."""
        ids = {p.id for row in rows if row.valid and row.unit_id and "park" in row.values for p in periods[row.unit_id]}
        columns = ("id", "rectification_id", "park_id", "park__name", "entered_on", "deleted_at")
        for matching in _among(ParkEntry.objects.all(), "rectification_id", ids):
            for pk, period, park, name, day, deleted_at in matching.values_list(*columns):
                self.entries[period] = Entry(pk, period, park, name, day, deleted_at is not None)

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
            if "park" in row.values:
                row.changes["park"] = (None, row.values["park"].name)
                self.check_park_rules(row)
            return
        errors_before = len(self.plan.errors)
        self.diff_fields(row)
        self.diff_status(row, periods)
        self.check_identified_on(row, periods)
        if "park" in row.values and len(self.plan.errors) == errors_before:
            self.diff_park(row, periods)
            if "park" in row.changes:  # an entry kept as it is was let in before: not asked again
                self.check_park_rules(row)
        row.valid = len(self.plan.errors) == errors_before
        row.action = Action.UPDATE if row.changes else Action.UNCHANGED

    def diff_fields(self, row: PlannedRow) -> None:
        unit, values, changes = row.unit, row.values, row.changes
        for key in (
            *("name", "credit_code", "address", "phone", *TEXT_FIELDS, *MAP_FIELDS),
            *(*DEFECT_FIELDS, "identified_on", "source"),
        ):
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

    def diff_park(self, row: PlannedRow, periods: list[Period]) -> None:
        """The entry into the row's park recorded with the rectification the row states, once: on
        the rectification's date; a correction of the park or the date moves the entry with it."""
        park, day = row.values["park"], row.values["rectified_on"]
        if row.rectification == "create":
            period = None
        elif row.rectification == "update":
            period = row.period
        else:
            period = next((p for p in periods if p.rectified_on == day), None)
        entry = self.entries.get(period.id) if period is not None else None
        if entry is None:
            row.changes["park"] = (None, park.name)
        elif entry.deleted:
            message = _("该单位此次搬迁入园的入园记录已被删除，本行不再重新登记（如需恢复，请在操作记录中撤销删除）")
            self.warn(row.number, "park", message)
        elif entry.park_id != park.id or entry.entered_on != day:
            row.changes["park"] = (entry.park_name, park.name)

    def check_park_rules(self, row: PlannedRow) -> None:
        """The park's entry rules, asked as the rectification form asks them (services.
        rectification_record): its negative list refuses the entry's industry (the row's, else the
        unit's), each refusal a row error in 入驻园区 naming the rule; a list declares no 亩均税收,
        so the threshold holds it to nothing, and a full park lets it in (the park page shows it
        over capacity)."""
        unit = row.unit
        industry = row.values.get("industry", unit.industry if unit else "")
        park = self.park_rules[row.values["park"].id]
        for breach in refusals(park, industry=industry, declared_tax_per_mu=None):
            self.error(row.number, "park", breach.message)
            row.valid = False

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
