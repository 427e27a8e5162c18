"""Indicators (指标) beside the 四无 count: defining them, their settings, and their records (SPEC 5).

``rectified`` is every campaign's first indicator and no row: its weight is
``Campaign.rectified_weight``, its targets the campaign's ``TargetRevision`` rows. Other indicators
are ``Indicator`` rows; a built-in key counts the product's own records, any other key the
``IndicatorRecord`` rows imported (``parse_records`` / ``apply_records``, the ``import_records``
command and the browser upload) or entered one by one (``record_save``).

Every refusal is a ``ValidationError`` keyed by the argument it is about (``name``, ``weight``…),
so that the command names its option and a form puts the message beside its field.
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from core.tabular import Column, Issue, Row, TableError, cell_text, is_blank, parse_date, parse_decimal, read_table

from . import rules
from .models import (
    BUILT_IN_UNITS,
    INDICATOR_KEY,
    RECTIFIED,
    BuiltIn,
    Campaign,
    Indicator,
    IndicatorMilestone,
    IndicatorRecord,
    Township,
)

MAX_TARGET = 2_147_483_647  # PositiveIntegerField's ceiling on every database
MAX_WEIGHT = Decimal("9999.99")  # DecimalField(max_digits=6, decimal_places=2)
MAX_AMOUNT = Decimal("999999999999.99")  # DecimalField(max_digits=14, decimal_places=2)
_WHOLE = re.compile(r"^\+?(\d+)(?:\.0*)?$")
_SPACES = re.compile(r"[\s\u3000]+")


# --- reading arguments ---------------------------------------------------------------------------


def whole_number(value: Any, label: str) -> int:
    """A whole number ≥ 0 from an int, "120" or 120.0; ValueError naming ``label`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(_("%(label)s应为不小于0的整数，收到“%(value)s”") % {"label": label, "value": value})
    text = unicodedata.normalize("NFKC", cell_text(value)).replace(",", "")
    match = _WHOLE.match(text)
    if not match or int(match.group(1)) > MAX_TARGET:
        raise ValueError(_("%(label)s应为不小于0的整数，收到“%(value)s”") % {"label": label, "value": cell_text(value)})
    return int(match.group(1))


def positive_weight(value: Any) -> Decimal:
    """A weight above 0 with at most 2 decimals."""
    try:
        weight = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(_("权重应为大于0的数，收到“%(value)s”") % {"value": value}) from None
    if not weight.is_finite() or weight <= 0:
        raise ValueError(_("权重应为大于0的数，收到“%(value)s”") % {"value": value})
    if weight > MAX_WEIGHT:
        raise ValueError(_("权重不能超过%(max)s") % {"max": MAX_WEIGHT})
    if weight != weight.quantize(Decimal("0.01"), rounding="ROUND_DOWN"):
        raise ValueError(_("权重最多保留2位小数，收到“%(value)s”") % {"value": value})
    return weight.quantize(Decimal("0.01"))


def schedule_of(campaign: Campaign, milestones) -> list[rules.MilestoneSpec]:
    """An indicator's own milestones, checked like a campaign's: text "03-31:30,06-30:60", or
    (month, day, percent) triples, or (date, percent) pairs. ValueError with the reason."""
    if isinstance(milestones, str):
        milestones = rules.parse_milestones(milestones)
    specs = []
    for item in milestones:
        try:
            if len(item) == 3:
                month, day, percent = item
                day = datetime.date(campaign.year, int(month), int(day))
            else:
                day, percent = item
            specs.append(rules.MilestoneSpec(day, Decimal(str(percent))))
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(_("节点日期无效：%(reason)s") % {"reason": exc}) from None
    if not specs:
        raise ValueError(_("至少需要一个节点目标"))
    for spec in specs:
        if not (0 < spec.percent <= 100):
            raise ValueError(_("%(day)s：累计比例须大于0且不超过100") % {"day": spec.date.isoformat()})
    problems = rules.check_schedule(specs, campaign.start, campaign.end)
    if problems:
        raise ValueError("; ".join(problems))
    return sorted(specs)


def default_name(key: str) -> str:
    """The built-in's Chinese name (stored as the product's language, whoever creates it)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(BuiltIn(key).label)


def default_unit(key: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(BUILT_IN_UNITS[BuiltIn(key)])


def _text(value, label, limit, errors, key):
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if len(text) > limit:
        errors[key] = _("%(label)s不能超过%(limit)d个字符") % {"label": label, "limit": limit}
    return text


def _save(instance, user, reason=""):
    if user is not None:
        instance._history_user = user  # read by django-simple-history instead of the request's user
    if reason:
        instance._change_reason = reason[:100]
    instance.save()


# --- defining indicators -------------------------------------------------------------------------


@transaction.atomic
def indicator_create(campaign, key, target, name=None, unit=None, weight=1, milestones=None, user=None):
    """Add an indicator to ``campaign`` with its city ``target`` (SPEC 5 ``create_indicator``).

    A built-in key's name and unit default to the built-in's; any other key needs both. ``rectified``
    and a key the campaign has already are refused; ``milestones`` (own milestones, else the
    campaign's) are checked like the campaign's. ValidationError keyed by argument otherwise.
    """
    key = (key or "").strip()
    errors = {}
    if key == RECTIFIED:
        errors["key"] = _("指标 %(key)s 已存在：四无整治指标是每个整治行动的第一个指标，无需添加") % {"key": key}
    else:
        try:
            INDICATOR_KEY(key)
        except ValidationError:
            errors["key"] = _("指标代号“%(key)s”无效：只能由小写字母、数字和下划线组成，并以字母开头") % {"key": key}
        else:
            if Indicator.objects.filter(campaign=campaign, key=key).exists():
                errors["key"] = _("指标 %(key)s 已存在于%(campaign)s") % {"key": key, "campaign": campaign.name}
    built_in = key in BuiltIn.values
    name = _text(name, _("指标名称"), Indicator._meta.get_field("name").max_length, errors, "name")
    unit = _text(unit, _("计量单位"), Indicator._meta.get_field("unit").max_length, errors, "unit")
    if not name and "key" not in errors:
        if built_in:
            name = default_name(key)
        else:
            errors["name"] = _("自定义指标 %(key)s 须填写指标名称（name）") % {"key": key}
    if not unit and "key" not in errors:
        if built_in:
            unit = default_unit(key)
        else:
            errors["unit"] = _("自定义指标 %(key)s 须填写计量单位（unit）") % {"key": key}
    try:
        target = whole_number(target, _("全市年度目标（target）"))
    except ValueError as exc:
        errors["target"] = str(exc)
    try:
        weight = positive_weight(1 if weight is None else weight)
    except ValueError as exc:
        errors["weight"] = str(exc)
    specs = []
    if milestones:
        try:
            specs = schedule_of(campaign, milestones)
        except ValueError as exc:
            errors["milestones"] = _("节点目标（milestones）有误：%(reason)s") % {"reason": exc}
    if errors:
        raise ValidationError(errors)
    indicator = Indicator(
        campaign=campaign,
        key=key,
        name=name,
        unit=unit,
        target=target,
        weight=weight,
        own_milestones=bool(specs),
        created_by=user,
    )
    _save(indicator, user, _("新增考核指标"))
    for spec in specs:  # one save each, so that every milestone has its history row
        _save(IndicatorMilestone(indicator=indicator, date=spec.date, percent=spec.percent), user)
    return indicator


@transaction.atomic
def indicator_update(indicator, *, name=None, unit=None, weight=None, target=None, user=None, reason=""):
    """Change an indicator's name, unit, weight or city target (its key never changes).

    ``None`` leaves a field as it is; a blank name or unit is refused. History records who and why.
    """
    errors = {}
    if name is not None:
        name = _text(name, _("指标名称"), Indicator._meta.get_field("name").max_length, errors, "name")
        if not name and "name" not in errors:
            errors["name"] = _("指标名称（name）不能为空")
    if unit is not None:
        unit = _text(unit, _("计量单位"), Indicator._meta.get_field("unit").max_length, errors, "unit")
        if not unit and "unit" not in errors:
            errors["unit"] = _("计量单位（unit）不能为空")
    if weight is not None:
        try:
            weight = positive_weight(weight)
        except ValueError as exc:
            errors["weight"] = str(exc)
    if target is not None:
        try:
            target = whole_number(target, _("全市年度目标（target）"))
        except ValueError as exc:
            errors["target"] = str(exc)
    if errors:
        raise ValidationError(errors)
    indicator = Indicator.objects.select_for_update().get(pk=indicator.pk)
    changed = False
    for attribute, value in (("name", name), ("unit", unit), ("weight", weight), ("target", target)):
        if value is not None and getattr(indicator, attribute) != value:
            setattr(indicator, attribute, value)
            changed = True
    if changed:
        _save(indicator, user, reason or _("修改考核指标"))
    return indicator


@transaction.atomic
def campaign_scoring_update(campaign, *, rectified_weight=None, score_cap=None, user=None, reason=""):
    """The campaign's 赛马 settings: the weight of ``rectified`` and the score cap (%)."""
    errors = {}
    if rectified_weight is not None:
        try:
            rectified_weight = positive_weight(rectified_weight)
        except ValueError as exc:
            errors["rectified_weight"] = str(exc)
    if score_cap is not None:
        try:
            score_cap = positive_weight(score_cap)
        except ValueError:
            errors["score_cap"] = _("计分封顶应为大于0、最多2位小数的百分数，收到“%(value)s”") % {"value": score_cap}
        else:
            if score_cap < 1:
                errors["score_cap"] = _("计分封顶不能低于1%")
    if errors:
        raise ValidationError(errors)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    changed = False
    for attribute, value in (("rectified_weight", rectified_weight), ("score_cap", score_cap)):
        if value is not None and getattr(campaign, attribute) != value:
            setattr(campaign, attribute, value)
            changed = True
    if changed:
        _save(campaign, user, reason or _("修改赛马计分设置"))
    return campaign


def indicator_or_error(campaign, key):
    """The campaign's indicator ``key`` (``RECTIFIED`` for the 四无 one), else ValueError listing the known."""
    if key == RECTIFIED:
        return RECTIFIED
    found = Indicator.objects.filter(campaign=campaign, key=key).first()
    if found is None:
        known = ", ".join([RECTIFIED, *campaign.indicators.values_list("key", flat=True)])
        raise ValueError(
            _("整治行动 %(campaign)s 没有指标“%(key)s”（已有：%(known)s）")
            % {"campaign": campaign.slug, "key": key, "known": known}
        )
    return found


@dataclass
class IndicatorRow:
    """A row of a campaign's indicator list: ``rectified`` first, then the indicators as created."""

    key: str
    name: str
    unit: str
    target: int
    weight: Decimal
    milestones: list
    own_milestones: bool
    built_in: bool
    indicator: Indicator | None = None


def indicator_rows(campaign) -> list[IndicatorRow]:
    """What the indicators page lists (three queries for any number of indicators)."""
    campaign_milestones = [(m.date, m.percent) for m in campaign.milestones.order_by("date")]
    rows = [
        IndicatorRow(
            key=RECTIFIED,
            name=_("四无生产经营单位整治"),
            unit=_("家"),
            target=campaign.target,
            weight=campaign.rectified_weight,
            milestones=campaign_milestones,
            own_milestones=False,
            built_in=True,
        )
    ]
    for indicator in campaign.indicators.order_by("id").prefetch_related("milestones"):
        own = [(m.date, m.percent) for m in indicator.milestones.all()]
        rows.append(
            IndicatorRow(
                key=indicator.key,
                name=indicator.name,
                unit=indicator.unit,
                target=indicator.target,
                weight=indicator.weight,
                milestones=own if indicator.own_milestones else campaign_milestones,
                own_milestones=indicator.own_milestones,
                built_in=indicator.built_in,
                indicator=indicator,
            )
        )
    return rows


# --- records of an indicator that is not built in -------------------------------------------------

RECORD_COLUMNS = (
    Column("township", "乡镇街道", required=True),
    Column("name", "名称", required=True),
    Column("date", "日期", required=True),
    Column("amount", "数量"),
    Column("note", "说明"),
)
RECORD_HEADERS = {column.key: column.header for column in RECORD_COLUMNS}


class CellError(ValueError):
    pass


@dataclass
class RecordRow:
    number: int
    township_id: int
    township: str
    name: str
    date: datetime.date
    amount: Decimal
    note: str | None  # None: the file has no 说明 column, a record keeps its note
    action: str = "create"  # "create", "update" or "unchanged"


@dataclass
class RecordPlan:
    rows: list[RecordRow] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    def summary(self) -> str:
        return _("新增%(created)d条，更新%(updated)d条，不变%(unchanged)d条") % {
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
        }


def records_refusal(indicator) -> str | None:
    """Why records cannot be imported or entered for ``indicator`` (None when they can)."""
    if indicator == RECTIFIED or getattr(indicator, "built_in", False):
        key = indicator if indicator == RECTIFIED else indicator.key
        return _("指标 %(key)s 是内置指标，数值来自系统自身的记录，不能导入或录入指标记录") % {"key": key}
    return None


def read_amount(value: Any) -> Decimal:
    """数量: blank = 1; a number ≥ 0 with at most 2 decimals."""
    if is_blank(value):
        return Decimal("1")
    try:
        amount = parse_decimal(value)
    except ValueError:
        raise CellError(_("应为不小于0的数，收到“%(value)s”") % {"value": cell_text(value)}) from None
    if amount < 0:
        raise CellError(_("不能为负数，收到“%(value)s”") % {"value": cell_text(value)})
    if amount > MAX_AMOUNT:
        raise CellError(_("数值过大"))
    if amount != amount.quantize(Decimal("0.01"), rounding="ROUND_DOWN"):
        raise CellError(_("最多保留2位小数，收到“%(value)s”") % {"value": cell_text(value)})
    return amount.quantize(Decimal("0.01"))


def read_record_date(value: Any, campaign: Campaign) -> datetime.date:
    try:
        day = parse_date(value)
    except (ValueError, OverflowError):
        raise CellError(_("无法识别的日期“%(value)s”") % {"value": cell_text(value)}) from None
    if not campaign.contains(day):
        raise CellError(
            _("%(day)s 不在整治行动年度内（%(start)s 至 %(end)s）")
            % {"day": day.isoformat(), "start": campaign.start.isoformat(), "end": campaign.end.isoformat()}
        )
    return day


def parse_records(source, indicator, *, allowed_township_ids=None) -> RecordPlan:
    """Read and check a records file for ``indicator``; writes nothing.

    ``allowed_township_ids`` (None: any) limits the townships a row may name (township staff import
    their own township's records only).
    """
    plan = RecordPlan()
    refusal = records_refusal(indicator)
    if refusal:
        plan.errors.append(Issue(refusal))
        return plan
    try:
        table = read_table(source, RECORD_COLUMNS)
    except TableError as exc:
        plan.errors.extend(exc.issues)
        return plan
    townships = dict(Township.objects.values_list("name", "id"))
    has_note = table.has("note")
    seen: dict[tuple[int, str], int] = {}
    for row in table.rows:
        record = _read_record(row, indicator.campaign, townships, allowed_township_ids, has_note, plan)
        if record is None:
            continue
        key = (record.township_id, record.name)
        if key in seen:
            message = _("与第%(first)d行重复（同一乡镇（街道）、同一名称是同一条记录）") % {"first": seen[key]}
            plan.errors.append(Issue(message, row=row.number, column=RECORD_HEADERS["name"]))
            continue
        seen[key] = row.number
        plan.rows.append(record)
    if not plan.errors:
        plan_record_changes(plan, indicator)
    return plan


def _read_record(row: Row, campaign, townships, allowed, has_note, plan) -> RecordRow | None:
    values, failed = {}, False

    def fail(key, message):
        nonlocal failed
        plan.errors.append(Issue(message, row=row.number, column=RECORD_HEADERS[key]))
        failed = True

    for key in ("township", "name", "date"):
        if is_blank(row.get(key)):
            fail(key, _("不能为空"))
    if failed:
        return None
    township = _SPACES.sub("", cell_text(row.get("township")))
    township_id = townships.get(township)
    if township_id is None:
        fail("township", _("乡镇（街道）“%(name)s”不存在，请先在系统中添加") % {"name": township})
    elif allowed is not None and township_id not in allowed:
        fail("township", _("只能导入本乡镇（街道）的记录，收到“%(name)s”") % {"name": township})
    name = cell_text(row.get("name"))
    limit = IndicatorRecord._meta.get_field("name").max_length
    if len(name) > limit:
        fail("name", _("不能超过%(limit)d个字符（现有%(n)d个）") % {"limit": limit, "n": len(name)})
    for key, reader in (("date", lambda v: read_record_date(v, campaign)), ("amount", read_amount)):
        try:
            values[key] = reader(row.get(key))
        except CellError as exc:
            fail(key, str(exc))
    note = None
    if has_note:
        note = cell_text(row.get("note"))
        limit = IndicatorRecord._meta.get_field("note").max_length
        if len(note) > limit:
            fail("note", _("不能超过%(limit)d个字符（现有%(n)d个）") % {"limit": limit, "n": len(note)})
    if failed:
        return None
    return RecordRow(row.number, township_id, township, name, values["date"], values["amount"], note)


def plan_record_changes(plan: RecordPlan, indicator) -> None:
    current = {
        (record.township_id, record.name): record
        for record in IndicatorRecord.objects.filter(indicator=indicator).only(
            "township_id", "name", "date", "amount", "note"
        )
    }
    for row in plan.rows:
        old = current.get((row.township_id, row.name))
        if old is None:
            row.action = "create"
        elif old.date == row.date and old.amount == row.amount and (row.note is None or old.note == row.note):
            row.action = "unchanged"
        else:
            row.action = "update"


@transaction.atomic
def apply_records(plan: RecordPlan, indicator, user=None) -> RecordPlan:
    """Write a plan without errors, all rows or none: new records created, changed ones updated.

    The changes are planned again inside the transaction against the records as they are now, so
    a plan confirmed twice (or after another import) creates nothing twice. Each record is saved on
    its own and gets its history row (who, and the reason 导入指标记录).
    """
    if plan.errors:
        raise ValueError("a plan with errors cannot be applied")
    reason = _("导入指标记录")
    # Lock the indicator: two imports of one indicator apply one after the other.
    Indicator.objects.select_for_update().filter(pk=indicator.pk).first()
    plan_record_changes(plan, indicator)
    current = {
        (record.township_id, record.name): record
        for record in IndicatorRecord.objects.filter(indicator=indicator, name__in={row.name for row in plan.rows})
    }
    for row in plan.rows:
        if row.action == "unchanged":
            continue
        record = current.get((row.township_id, row.name)) or IndicatorRecord(
            indicator=indicator, township_id=row.township_id, name=row.name, created_by=user
        )
        record.date = row.date
        record.amount = row.amount
        if row.note is not None:
            record.note = row.note
        _save(record, user, reason)
    return plan


def record_save(record, *, user=None, reason=""):
    """Save one record entered or corrected in the browser (checked by its form)."""
    if record.pk is None:
        record.created_by = user
    _save(record, user, reason)
    return record
