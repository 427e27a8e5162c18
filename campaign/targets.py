"""Township annual targets (年度任务) from a spreadsheet: read and check a file (``parse_targets``),
then write it (``apply_targets``); the ``import_targets`` command runs the two.

Columns 乡镇街道, 年度任务 and optionally 生效日期 (a revision's date; blank = the campaign's start)
and 调整原因. Townships the file names are created; a row named 全市 is the city's own target.
Totals rows (合计, 总计, 小计) are skipped. All rows or none are written, and importing the same
file again changes nothing.

The same file gives the township targets of any other indicator (SPEC 5, ``--indicator KEY``):
pass the ``Indicator`` and its rows go to ``IndicatorTarget`` instead of ``TargetRevision``; without
one (or with ``RECTIFIED``) the targets are the 四无 count's.
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from core.tabular import Column, Issue, Row, TableError, cell_text, is_blank, parse_date, read_table

from .models import Campaign, Indicator, IndicatorTarget, TargetRevision, Township

COLUMNS = (
    Column("township", "乡镇街道", required=True),
    Column("target", "年度任务", required=True),
    Column("effective_on", "生效日期"),
    Column("reason", "调整原因"),
)
HEADERS = {column.key: column.header for column in COLUMNS}
CITY = "全市"
TOTALS = frozenset({"合计", "总计", "小计"})
MAX_TARGET = 2_147_483_647  # PositiveIntegerField's ceiling on every database
_WHOLE = re.compile(r"^(\d+)(?:\.0*)?$")
_SPACES = re.compile(r"[\s\u3000]+")


@dataclass
class TargetRow:
    number: int
    township: str  # "" for the city's own target
    target: int
    effective_on: datetime.date
    reason: str = ""
    action: str = "create"  # "create", "update" or "unchanged"


@dataclass
class TargetPlan:
    rows: list[TargetRow] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    new_townships: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    def summary(self) -> str:
        message = _(
            "新增乡镇（街道）%(townships)d个；年度任务新增%(created)d条，更新%(updated)d条，不变%(unchanged)d条"
        )
        return message % {
            "townships": len(self.new_townships),
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
        }


class CellError(ValueError):
    pass


def read_target(value: Any) -> int:
    """A whole number of units: 120, "120" and 120.0 are fine; 12.5 and -3 are not."""
    text = unicodedata.normalize("NFKC", cell_text(value)).replace(",", "")
    match = _WHOLE.match(text)
    if not match:
        raise CellError(_("应为不小于0的整数，收到“%(value)s”") % {"value": cell_text(value)})
    target = int(match.group(1))
    if target > MAX_TARGET:
        raise CellError(_("数值过大"))
    return target


def read_effective_on(value: Any, campaign: Campaign) -> datetime.date:
    if is_blank(value):
        return campaign.start
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


def read_township(value: Any) -> str:
    name = _SPACES.sub("", cell_text(value))
    limit = Township._meta.get_field("name").max_length
    if len(name) > limit:
        raise CellError(_("不能超过%(limit)d个字符（现有%(n)d个）") % {"limit": limit, "n": len(name)})
    return name


def _revisions(campaign: Campaign, indicator: Indicator | str | None):
    """The revisions a targets file writes: the campaign's (``rectified``) or the indicator's."""
    if isinstance(indicator, Indicator):
        return indicator.targets.all()
    return campaign.target_revisions.all()


def parse_targets(source, campaign: Campaign, indicator: Indicator | str | None = None) -> TargetPlan:
    """Read and check a targets file against ``campaign`` (and ``indicator``); writes nothing."""
    plan = TargetPlan()
    try:
        table = read_table(source, COLUMNS)
    except TableError as exc:
        plan.errors.extend(exc.issues)
        return plan
    seen: dict[tuple[str, datetime.date], int] = {}
    for row in table.rows:
        target_row = _read_row(row, campaign, plan)
        if target_row is None:
            continue
        key = (target_row.township, target_row.effective_on)
        if key in seen:
            message = _("与第%(first)d行重复（同一乡镇（街道）、同一生效日期）") % {"first": seen[key]}
            plan.errors.append(Issue(message, row=row.number, column=HEADERS["township"]))
            continue
        seen[key] = row.number
        plan.rows.append(target_row)
    if not plan.errors:
        _plan_changes(plan, campaign, indicator)
    return plan


def _read_row(row: Row, campaign: Campaign, plan: TargetPlan) -> TargetRow | None:
    if _SPACES.sub("", cell_text(row.get("township"))) in TOTALS:
        plan.warnings.append(Issue(_("合计行已跳过"), row=row.number, column=HEADERS["township"]))
        return None
    values, failed = {}, False
    readers = {
        "township": read_township,
        "target": read_target,
        "effective_on": lambda value: read_effective_on(value, campaign),
        "reason": lambda value: cell_text(value)[: TargetRevision._meta.get_field("reason").max_length],
    }
    for key, reader in readers.items():
        raw = row.get(key)
        if key in ("township", "target") and is_blank(raw):
            plan.errors.append(Issue(_("不能为空"), row=row.number, column=HEADERS[key]))
            failed = True
            continue
        try:
            values[key] = reader(raw)
        except CellError as exc:
            plan.errors.append(Issue(str(exc), row=row.number, column=HEADERS[key]))
            failed = True
    if failed:
        return None
    township = "" if values["township"] == CITY else values["township"]
    return TargetRow(row.number, township, values["target"], values["effective_on"], values["reason"])


def _plan_changes(plan: TargetPlan, campaign: Campaign, indicator=None) -> None:
    names = {row.township for row in plan.rows if row.township}
    known = set(Township.objects.filter(name__in=names).values_list("name", flat=True))
    plan.new_townships = [name for name in dict.fromkeys(row.township for row in plan.rows) if name in names - known]
    current = {
        (name or "", day): target
        for name, day, target in _revisions(campaign, indicator).values_list("township__name", "effective_on", "target")
    }
    for row in plan.rows:
        old = current.get((row.township, row.effective_on))
        row.action = "create" if old is None else "unchanged" if old == row.target else "update"


@transaction.atomic
def apply_targets(plan: TargetPlan, campaign: Campaign, user=None, indicator: Indicator | str | None = None) -> None:
    """Write a plan without errors: the new townships, then the created or changed revisions.

    A file names a few dozen townships, so each row is saved on its own and gets its history
    record (who, and the reason 导入年度任务) the ordinary way.
    """
    if plan.errors:
        raise ValueError("a plan with errors cannot be applied")
    reason = _("导入年度任务")
    order = (Township.objects.aggregate(top=Max("sort_order"))["top"] or 0) + 1
    for index, name in enumerate(plan.new_townships):
        _save(Township(name=name, kind=Township.kind_from_name(name), sort_order=order + index), user, reason)
    townships = dict(Township.objects.filter(name__in={row.township for row in plan.rows}).values_list("name", "id"))
    current = {(rev.township_id, rev.effective_on): rev for rev in _revisions(campaign, indicator)}
    for row in plan.rows:
        if row.action == "unchanged":
            continue
        township_id = townships.get(row.township)
        revision = current.get((township_id, row.effective_on)) or _new_revision(
            campaign, indicator, township_id=township_id, effective_on=row.effective_on, created_by=user
        )
        revision.target = row.target
        revision.reason = row.reason or revision.reason
        _save(revision, user, reason)


def _new_revision(campaign, indicator, **fields):
    if isinstance(indicator, Indicator):
        return IndicatorTarget(indicator=indicator, **fields)
    return TargetRevision(campaign=campaign, **fields)


def _save(instance, user, reason: str) -> None:
    instance._history_user = user  # read by django-simple-history instead of the request's user
    instance._change_reason = reason
    instance.save()
