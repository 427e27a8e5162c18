"""Small-micro parks (小微园) from a spreadsheet: read and check a file (``parse_parks``), then write it
(``apply_parks``); the ``import_parks`` command and the upload page run the two (SPEC 5).

Columns 园区名称 and 乡镇街道 (required), 规划用地, 开工日期, 开工面积, 竣工日期, 竣工面积 and 入驻容量,
by their Chinese header or English name. A park is the same park when its township and name match
(names compared with spaces trimmed): it is updated, so importing a file twice changes nothing.

The rules a person filling in the list would expect, as the screening list has them
(docs/parks.md):

- the township must exist already (as in ``import_units``: a list never creates townships);
- a blank cell, or a column missing from the file, leaves that field of an existing park as it is;
- a start needs its area (开工面积), a completion its floor area (竣工面积) and a start on or before it,
  judged on the park as it will be once the row is written (the row's cells over the stored values);
- dates are not refused for falling outside the campaign's year (a park may have started before
  it): they are warned about, since they do not count in that year's figures;
- all rows or none are written.
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from core.access import Role, role_of, township_id_of
from core.numbers import round_half_up
from core.params import BadParameter, id_or_none
from core.tabular import Column, Issue, Row, TableError, cell_text, is_blank, parse_date, parse_decimal, read_table

from .models import Campaign, Park, ParkStagePhoto, Township

COLUMNS = (
    Column("name", "园区名称", required=True),
    Column("township", "乡镇街道", required=True),
    Column("planned_mu", "规划用地", aliases=("规划用地亩", "规划用地面积", "规划用地面积亩")),
    Column("started_on", "开工日期"),
    Column("started_mu", "开工面积", aliases=("开工面积亩",)),
    Column("completed_on", "竣工日期"),
    Column("completed_m2", "竣工面积", aliases=("竣工面积m2", "竣工面积㎡", "竣工面积平方米", "竣工建筑面积")),
    Column("capacity", "入驻容量", aliases=("入驻容量家",)),
)
HEADERS = {column.key: column.header for column in COLUMNS}
FIELDS = ("planned_mu", "started_on", "started_mu", "completed_on", "completed_m2", "capacity")
_SPACES = re.compile(r"[\s\u3000]+")
_WHOLE = re.compile(r"^(\d+)(?:\.0*)?$")
_MU = re.compile(r"亩$")
_M2 = re.compile(r"(m2|㎡|平方米|平米)$", re.IGNORECASE)
_CENT = Decimal("0.01")
MAX_CAPACITY = 2_147_483_647  # PositiveIntegerField's ceiling on every database


class CellError(ValueError):
    pass


@dataclass
class ParkRow:
    number: int
    township: Township
    name: str
    values: dict[str, Any]  # the filled-in cells of FIELDS, read
    park: Park | None = None  # the stored park it updates
    action: str = "create"  # "create", "update" or "unchanged"
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class ParkPlan:
    rows: list[ParkRow] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    def summary(self) -> str:
        return _("小微园新增%(created)d个，更新%(updated)d个，不变%(unchanged)d个") % {
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
        }


# --- cells -------------------------------------------------------------------------------------


def squash(value: Any) -> str:
    return _SPACES.sub(" ", cell_text(value)).strip()


def township_key(name: str) -> str:
    """Township names compared without any spaces (as the screening list compares them)."""
    return _SPACES.sub("", name)


def read_name(value: Any) -> str:
    name = squash(value)
    limit = Park._meta.get_field("name").max_length
    if len(name) > limit:
        raise CellError(_("不能超过%(limit)d个字符（现有%(n)d个）") % {"limit": limit, "n": len(name)})
    return name


def read_date(value: Any) -> datetime.date:
    try:
        return parse_date(value)
    except (ValueError, OverflowError):
        raise CellError(_("无法识别的日期“%(value)s”") % {"value": cell_text(value)}) from None


def area_reader(model_field: str, unit: re.Pattern) -> Any:
    """A reader of an area column: a number ≥ 0 with at most 2 decimals, a trailing unit allowed."""
    digits = Park._meta.get_field(model_field).max_digits
    ceiling = Decimal(10) ** (digits - 2)

    def read(value: Any) -> Decimal:
        text = (
            value if isinstance(value, int | float) else unit.sub("", unicodedata.normalize("NFKC", cell_text(value)))
        )
        try:
            number = parse_decimal(text)
        except ValueError:
            raise CellError(_("应为数字，收到“%(value)s”") % {"value": cell_text(value)}) from None
        if number < 0:
            raise CellError(_("不能为负数"))
        if number != number.quantize(_CENT):
            raise CellError(_("最多保留两位小数，收到“%(value)s”") % {"value": cell_text(value)})
        if number >= ceiling:
            raise CellError(_("数值过大"))
        return number.quantize(_CENT)

    return read


def read_capacity(value: Any) -> int:
    text = unicodedata.normalize("NFKC", cell_text(value)).replace(",", "").removesuffix("家")
    match = _WHOLE.match(text)
    if not match:
        if text.startswith("-"):
            raise CellError(_("不能为负数"))
        raise CellError(_("应为不小于0的整数，收到“%(value)s”") % {"value": cell_text(value)})
    number = int(match.group(1))
    if number > MAX_CAPACITY:
        raise CellError(_("数值过大"))
    return number


READERS = {
    "planned_mu": area_reader("planned_mu", _MU),
    "started_on": read_date,
    "started_mu": area_reader("started_mu", _MU),
    "completed_on": read_date,
    "completed_m2": area_reader("completed_m2", _M2),
    "capacity": read_capacity,
}


# --- the file ----------------------------------------------------------------------------------


def parse_parks(source, campaign: Campaign) -> ParkPlan:
    """Read and check a parks file and match it to the stored parks; writes nothing."""
    plan = ParkPlan()
    try:
        table = read_table(source, COLUMNS)
    except TableError as exc:
        plan.errors.extend(exc.issues)
        return plan
    townships = {township_key(t.name): t for t in Township.objects.all()}
    stored = {(park.township_id, squash(park.name)): park for park in Park.objects.all()}
    seen: dict[tuple[int, str], int] = {}
    for row in table.rows:
        park_row = _read_row(row, townships, plan)
        if park_row is None:
            continue
        key = (park_row.township.pk, park_row.name)
        if key in seen:
            message = _("与第%(first)d行是同一小微园（乡镇街道、园区名称都相同）") % {"first": seen[key]}
            plan.errors.append(Issue(message, row=row.number, column=HEADERS["name"]))
            continue
        seen[key] = row.number
        park_row.park = stored.get(key)
        if _check_row(park_row, plan):
            _plan_row(park_row)
            _warn_outside(park_row, campaign, plan)
            plan.rows.append(park_row)
    return plan


def _read_row(row: Row, townships: dict[str, Township], plan: ParkPlan) -> ParkRow | None:
    failed = False

    def error(key: str, message: str) -> None:
        nonlocal failed
        plan.errors.append(Issue(message, row=row.number, column=HEADERS[key]))
        failed = True

    name = township = None
    if is_blank(row.get("name")):
        error("name", _("不能为空"))
    else:
        try:
            name = read_name(row.get("name"))
        except CellError as exc:
            error("name", str(exc))
    if is_blank(row.get("township")):
        error("township", _("不能为空"))
    else:
        shown = cell_text(row.get("township"))
        township = townships.get(township_key(shown))
        if township is None:
            error("township", _("系统中没有乡镇（街道）“%(name)s”，请先添加该乡镇（街道）") % {"name": shown})
    values = {}
    for key, reader in READERS.items():
        raw = row.get(key)
        if is_blank(raw):
            continue
        try:
            values[key] = reader(raw)
        except CellError as exc:
            error(key, str(exc))
    if failed:
        return None
    return ParkRow(number=row.number, township=township, name=name, values=values)


def merged(row: ParkRow) -> dict[str, Any]:
    """The park's fields once the row is written: the row's cells over the stored values."""
    stored = {key: getattr(row.park, key) for key in FIELDS} if row.park else dict.fromkeys(FIELDS)
    return stored | row.values


def _check_row(row: ParkRow, plan: ParkPlan) -> bool:
    """The rules between a park's fields (SPEC 5), judged on the park as it will be."""
    park, before = merged(row), len(plan.errors)

    def error(key: str, message: str) -> None:
        plan.errors.append(Issue(message, row=row.number, column=HEADERS[key]))

    if park["started_on"] is not None and park["started_mu"] is None:
        error("started_mu", _("填写了开工日期时必须填写开工面积"))
    if park["started_mu"] is not None and park["started_on"] is None:
        error("started_on", _("填写了开工面积时必须填写开工日期"))
    if park["completed_on"] is not None:
        if park["completed_m2"] is None:
            error("completed_m2", _("填写了竣工日期时必须填写竣工面积"))
        if park["started_on"] is None:
            error("completed_on", _("填写了竣工日期时必须填写开工日期"))
        elif park["completed_on"] < park["started_on"]:
            error(
                "completed_on",
                _("竣工日期不能早于开工日期（%(day)s）") % {"day": park["started_on"].isoformat()},
            )
    elif park["completed_m2"] is not None:
        error("completed_on", _("填写了竣工面积时必须填写竣工日期"))
    return len(plan.errors) == before


def _plan_row(row: ParkRow) -> None:
    if row.park is None:
        row.action = "create"
        return
    for key, value in row.values.items():
        old = getattr(row.park, key)
        if old != value:
            row.changes[key] = (old, value)
    row.action = "update" if row.changes else "unchanged"


def _warn_outside(row: ParkRow, campaign: Campaign, plan: ParkPlan) -> None:
    """Dates outside the campaign's year are kept (a park may have started before it), with a word."""
    for key in ("started_on", "completed_on"):
        day = row.values.get(key)
        if day is not None and not campaign.contains(day):
            message = _("%(day)s 不在整治行动“%(campaign)s”的年度内（%(start)s 至 %(end)s），不计入该年度") % {
                "day": day.isoformat(),
                "campaign": campaign.name,
                "start": campaign.start.isoformat(),
                "end": campaign.end.isoformat(),
            }
            plan.warnings.append(Issue(message, row=row.number, column=HEADERS[key]))


class ParkImportError(Exception):
    """``apply_parks`` refused the plan; nothing was written."""


def apply_parks(plan: ParkPlan, user=None) -> ParkPlan:
    """Write a plan without errors in one transaction: the new parks and the changed ones, each
    saved the ordinary way with its history row (who, and the reason 导入小微园)."""
    if plan.errors:
        raise ParkImportError(_("导入文件有%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)})
    reason = _("导入小微园")
    try:
        with transaction.atomic():
            for row in plan.rows:
                if row.action == "unchanged":
                    continue
                park = row.park or Park(township=row.township, name=row.name)
                for key, value in row.values.items():
                    setattr(park, key, value)
                park._history_user = user  # read by django-simple-history instead of the request's user
                park._change_reason = reason
                park.save()
                row.park = park
    except IntegrityError as exc:
        raise ParkImportError(
            _("写入时与系统中的数据冲突，未写入任何数据，请重新导入（%(reason)s）") % {"reason": exc}
        ) from exc
    return plan


# --- the register of a park: occupancy, company-form share, 亩均税收 (docs/parks.md) -------------
#
# The entries and their tax returns are the register's (enterprises.ParkEntry, TaxReturn); the
# campaign app reads them through the park's reverse relations, as the demonstrations read units,
# and imports nothing from above. The entry rules that write are enterprises/parks.py's.

COMPANY_FORM_FLOOR = Decimal("80")  # % of a park's entries in company form (公司制), the 2018 plan's floor


def tax_per_mu(tax, land) -> Decimal | None:
    """亩均税收: tax (万元) ÷ land (亩), rounded half-up to 2 decimals (SPEC 5); None without land."""
    if tax is None or not land:
        return None
    return round_half_up(Fraction(Decimal(tax)) / Fraction(Decimal(land)))


def share_percent(part: int, whole: int) -> Decimal | None:
    """part ÷ whole as a percentage, rounded half-up to 2 decimals; None when whole is 0."""
    return round_half_up(Fraction(part * 100, whole)) if whole else None


def in_park_on(day: datetime.date) -> Q:
    """Entries (alive) in their park on ``day``: entered on or before it, not left on or before it."""
    return Q(deleted_at__isnull=True, entered_on__lte=day) & (Q(left_on__isnull=True) | Q(left_on__gt=day))


@dataclass(frozen=True)
class Occupancy:
    day: datetime.date
    entries: int
    capacity: int | None
    company_form: int

    @property
    def vacancy(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.entries, 0)

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.entries >= self.capacity

    @property
    def company_form_share(self) -> Decimal | None:
        return share_percent(self.company_form, self.entries)

    @property
    def below_floor(self) -> bool:
        share = self.company_form_share
        return share is not None and share < COMPANY_FORM_FLOOR


def occupancy(park: Park, day: datetime.date) -> Occupancy:
    """The park on ``day``: entries in it, its capacity and vacancy, and its company-form entries."""
    counts = park.entries.filter(in_park_on(day)).aggregate(
        n=Count("pk"), company=Count("pk", filter=Q(company_form=True))
    )
    return Occupancy(day=day, entries=counts["n"], capacity=park.capacity, company_form=counts["company"])


def park_land_mu(park: Park) -> Decimal | None:
    """A park's land for its 亩均税收: its started area (开工面积), else its planned land."""
    return park.started_mu if park.started_mu is not None else park.planned_mu


@dataclass(frozen=True)
class YearTax:
    year: int
    tax: Decimal
    land: Decimal | None
    returns: int

    @property
    def per_mu(self) -> Decimal | None:
        return tax_per_mu(self.tax, self.land)


def park_tax_by_year(park: Park) -> list[YearTax]:
    """The park's 亩均税收 by year: its (alive) entries' tax of that year ÷ the park's land."""
    land = park_land_mu(park)
    rows = (
        park.entries.filter(deleted_at__isnull=True)
        .values("tax_returns__year")
        .exclude(tax_returns__year__isnull=True)
        .annotate(tax=Sum("tax_returns__tax_10k_yuan"), n=Count("tax_returns"))
        .order_by("-tax_returns__year")
    )
    return [YearTax(row["tax_returns__year"], row["tax"], land, row["n"]) for row in rows]


@transaction.atomic
def park_edit(*, park: Park, data: dict, user, reason: str = "") -> Park:
    """Save a park's edited fields with its history row (who, and the reason)."""
    locked = Park.objects.select_for_update().get(pk=park.pk)
    for key, value in data.items():
        setattr(locked, key, value)
    locked._history_user = user
    locked._change_reason = reason or _("修改小微园")
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        raise ValidationError({"name": _("该乡镇（街道）已有同名园区")}) from None
    return locked


# --- the parks page (/parks/): every park of a township (or the city) on a picked day ---------------


@dataclass(frozen=True)
class ParkLine:
    """A park as the parks page and its export show it on ``day``: started and completed by then,
    and its occupancy (entries in the park that day, company-form ones among them)."""

    park: Park
    day: datetime.date
    entries: int
    company_form: int

    @property
    def started(self) -> bool:
        return self.park.started_on is not None and self.park.started_on <= self.day

    @property
    def completed(self) -> bool:
        return self.park.completed_on is not None and self.park.completed_on <= self.day

    @property
    def occupancy(self) -> Occupancy:
        return Occupancy(
            day=self.day, entries=self.entries, capacity=self.park.capacity, company_form=self.company_form
        )


def park_lines(parks, day: datetime.date) -> list[ParkLine]:
    """Each park of ``parks`` (a queryset, scoped by the caller) on ``day``, in township order.

    Two queries: the parks, then their entries in the park that day counted per park, read from the
    entries' covering index (``park_entry_in_park_idx``). Joined in one query, every entry of the
    city was matched to its park and grouped with the park's and township's columns: 116 ms at
    200,000 entries, against 29 ms."""
    lines = list(parks.select_related("township").order_by("township__sort_order", "township__name", "name"))
    entries = Park._meta.get_field("entries").related_model  # enterprises.ParkEntry: above this layer
    counted = (
        entries.objects.filter(in_park_on(day), park_id__in=[park.pk for park in lines])
        .values("park_id")
        .annotate(n=Count("park_id"), company=Count("park_id", filter=Q(company_form=True)))
        .order_by()
        .values_list("park_id", "n", "company")
    )
    counts = {park_id: (n, company) for park_id, n, company in counted} if lines else {}
    return [ParkLine(park, day, *counts.get(park.pk, (0, 0))) for park in lines]


@dataclass(frozen=True)
class ParksSummary:
    """The parks of a township (or the city) on a day: how many, started and completed by then with
    their areas (whatever year: a park started before the campaign counts here, not in its
    indicators), capacity, entries in them and vacancy, and the company-form share of the entries."""

    day: datetime.date
    parks: int
    started: int
    started_mu: Decimal
    completed: int
    completed_m2: Decimal
    capacity: int
    entries: int
    vacancy: int
    company_form: int

    @property
    def company_form_share(self) -> Decimal | None:
        return share_percent(self.company_form, self.entries)

    @property
    def below_floor(self) -> bool:
        share = self.company_form_share
        return share is not None and share < COMPANY_FORM_FLOOR


def parks_summary(lines: list[ParkLine], day: datetime.date) -> ParksSummary:
    """The totals of ``park_lines``' answer (no query). Vacancy: the sum of the parks' own vacancies
    (a full park's overflow does not fill another's places)."""
    zero = Decimal("0.00")
    return ParksSummary(
        day=day,
        parks=len(lines),
        started=sum(1 for line in lines if line.started),
        started_mu=sum((line.park.started_mu or zero for line in lines if line.started), start=zero),
        completed=sum(1 for line in lines if line.completed),
        completed_m2=sum((line.park.completed_m2 or zero for line in lines if line.completed), start=zero),
        capacity=sum(line.park.capacity or 0 for line in lines),
        entries=sum(line.entries for line in lines),
        vacancy=sum(line.occupancy.vacancy or 0 for line in lines),
        company_form=sum(line.company_form for line in lines),
    )


def picked_township(user, raw, townships):
    """The township a 加法 page shows (None: the city): the ``township`` parameter among
    ``townships`` (those ``user`` may pick). Township staff always see their own: their scope is
    their township, so a city total of it would only repeat it under another name."""
    if role_of(user) == Role.TOWNSHIP_STAFF:
        return next((t for t in townships if t.pk == township_id_of(user)), None)
    try:
        wanted = id_or_none(raw)
    except BadParameter:
        return None
    return next((t for t in townships if t.pk == wanted), None)


# --- the indicators' charts, handed down from the reports floor --------------------------------
#
# The parks and land pages show the built-in indicators of SPEC 5 (started and completed park area,
# freed land) against their milestone staircase, as the scorecard draws them. The values, targets
# and the staircase are reports' (reports/scorecard.py, reports/charts.py), two floors up: reports
# hands its builder down when it starts (``provide_indicator_charts``), as inspections hands the
# unit page its records. Without one (a process where reports did not start) the pages have no charts.

_indicator_charts = None


def provide_indicator_charts(provider) -> None:
    """``provider(campaign, as_of, township_id, keys)`` → [(indicator card, its row, figure JSON)]."""
    global _indicator_charts  # noqa: PLW0603 - set once at start-up
    _indicator_charts = provider


def indicator_charts(campaign, as_of: datetime.date, township_id: int | None, keys) -> list:
    """The charts of the campaign's indicators among ``keys`` for a township (None: the city) on ``as_of``."""
    if _indicator_charts is None or campaign is None or as_of is None:
        return []
    return _indicator_charts(campaign, as_of, township_id, tuple(keys))


def stage_reached(park: Park, stage: str) -> bool:
    """Whether ``park`` has reached ``stage`` (a ParkStagePhoto.Stage): a photo proves a recorded
    stage, 开工 once the park has its start date, 竣工 once it has its completion date."""
    day = park.started_on if stage == ParkStagePhoto.Stage.STARTED else park.completed_on
    return day is not None
