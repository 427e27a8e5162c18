"""Freed land (腾退土地, SPEC 5; docs/parks.md): parcels through their stages 腾退 freed → 供地 supplied
→ 开工 started → 投产 in production, and 退出 exit; which stage a parcel is at on a day, the idle ones
(freed and not supplied for the campaign's ``idle_days``), and those in production below the
campaign's 亩均税收 standard (listed for the 退出 review).

A stage is reached on its date and kept until the next: a parcel's stage on d is the last one
whose date is on or before d (none before it was freed). Stages are advanced one at a time, in
order, each dated not before the one before it and not in the future; 退出 may follow any stage.
Each write is signed (its history row: who, when, and the stage), so each stage is attributable.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, Count, Q, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.parks import tax_per_mu
from core.numbers import round_half_up

from .models import LandParcel, TaxReturn
from .parks import may_write, read_amount

DEFAULT_IDLE_DAYS = 180  # Campaign.idle_days' default, for a list read without a campaign


@dataclass(frozen=True)
class Stage:
    key: str
    field: str
    label: str


STAGES = (
    Stage("freed", "freed_on", gettext_lazy("腾退")),
    Stage("supplied", "supplied_on", gettext_lazy("供地")),
    Stage("started", "started_on", gettext_lazy("开工")),
    Stage("producing", "producing_on", gettext_lazy("投产")),
    Stage("exited", "exited_on", gettext_lazy("退出")),
)
BY_KEY = {stage.key: stage for stage in STAGES}
EXITED = BY_KEY["exited"]
IN_ORDER = STAGES[:-1]  # 退出 may follow any of these


def stage_on(parcel: LandParcel, day: datetime.date) -> Stage | None:
    """The parcel's stage on ``day``: the last stage dated on or before it (None before it was freed)."""
    exited = parcel.exited_on
    if exited is not None and exited <= day:
        return EXITED
    reached = None
    for stage in IN_ORDER:
        on = getattr(parcel, stage.field)
        if on is None or on > day:
            break
        reached = stage
    return reached


def current_stage(parcel: LandParcel) -> Stage:
    """The last stage the parcel has reached, whatever its date."""
    if parcel.exited_on is not None:
        return EXITED
    return [stage for stage in IN_ORDER if getattr(parcel, stage.field) is not None][-1]


def next_stages(parcel: LandParcel) -> list[Stage]:
    """What may be recorded next: the stage after the current one, and 退出 (not after 退出)."""
    stage = current_stage(parcel)
    if stage is EXITED:
        return []
    following = IN_ORDER[IN_ORDER.index(stage) + 1 : IN_ORDER.index(stage) + 2]
    return [*following, EXITED]


def last_date(parcel: LandParcel) -> datetime.date:
    return max(getattr(parcel, stage.field) for stage in STAGES if getattr(parcel, stage.field) is not None)


def idle_since(parcel: LandParcel, day: datetime.date) -> int | None:
    """Days on ``day`` since the parcel was freed, while it is freed and not yet supplied (or exited)."""
    stage = stage_on(parcel, day)
    return (day - parcel.freed_on).days if stage is not None and stage.key == "freed" else None


def is_idle(parcel: LandParcel, day: datetime.date, idle_days: int) -> bool:
    """Idle (闲置) on ``day``: freed, not supplied by then, for ``idle_days`` days or more."""
    days = idle_since(parcel, day)
    return days is not None and days >= idle_days


@dataclass
class LandRow:
    parcel: LandParcel
    stage: Stage | None
    idle_days: int | None  # days since freed while not supplied
    idle: bool
    tax_year: int | None
    per_mu: Decimal | None
    below_standard: bool


def land_rows(parcels, day: datetime.date, *, idle_days: int, standard: Decimal | None) -> list[LandRow]:
    """Each parcel freed on or before ``day`` with its stage on that day, whether it is idle, and its
    latest 亩均税收 (of a year up to ``day``'s) held against ``standard``: a parcel in production
    below it is listed for the 退出 review. ``parcels``: a queryset, scoped by the caller."""
    parcels = parcels.filter(deleted_at__isnull=True, freed_on__lte=day).select_related("township", "source")
    latest = {}
    returns = TaxReturn.objects.filter(parcel__in=parcels, year__lte=day.year).order_by("parcel_id", "-year")
    for tax_return in returns:
        latest.setdefault(tax_return.parcel_id, tax_return)
    return [
        _row(parcel, day, latest.get(parcel.pk), idle_days, standard)
        for parcel in parcels.order_by("township__sort_order", "township__name", "-freed_on", "-id")
    ]


def _row(parcel: LandParcel, day: datetime.date, found, idle_days: int, standard) -> LandRow:
    stage = stage_on(parcel, day)
    since = idle_since(parcel, day)
    per_mu = tax_per_mu(found.tax_10k_yuan, found.land_mu) if found else None
    producing = stage is not None and stage.key == "producing"
    return LandRow(
        parcel=parcel,
        stage=stage,
        idle_days=since,
        idle=since is not None and since >= idle_days,
        tax_year=found.year if found else None,
        per_mu=per_mu,
        below_standard=producing and standard is not None and per_mu is not None and per_mu < standard,
    )


def land_rows_of(parcels: list[LandParcel], day: datetime.date, *, idle_days: int, standard) -> list[LandRow]:
    """``land_rows`` of a page of parcels already read (with their townships and sources): one query,
    their tax returns."""
    latest = {}
    returns = TaxReturn.objects.filter(parcel__in=[p.pk for p in parcels], year__lte=day.year).order_by(
        "parcel_id", "-year"
    )
    for tax_return in returns:
        latest.setdefault(tax_return.parcel_id, tax_return)
    return [_row(parcel, day, latest.get(parcel.pk), idle_days, standard) for parcel in parcels]


def alive_by(parcels, day: datetime.date):
    """The parcels of ``parcels`` freed on or before ``day`` (alive), in the land list's order."""
    return parcels.filter(deleted_at__isnull=True, freed_on__lte=day).order_by(
        "township__sort_order", "township__name", "-freed_on", "-id"
    )


def stage_case(day: datetime.date) -> Case:
    """``stage_on`` in SQL, for a parcel freed on or before ``day``: the stages' dates never go down
    and each needs the one before it (the table's checks), so the latest reached is the first of
    退出, 投产, 开工, 供地 dated on or before the day, else 腾退. tests/enterprises/test_land_page.py
    holds it against ``stage_on`` for every order of the dates around the day."""
    return Case(
        *(When(**{f"{stage.field}__lte": day}, then=Value(stage.key)) for stage in reversed(STAGES[1:])),
        default=Value(STAGES[0].key),
        output_field=CharField(),
    )


@dataclass(frozen=True)
class StageTotal:
    stage: Stage
    parcels: int
    area_mu: Decimal


@dataclass(frozen=True)
class LandSummary:
    """The parcels of a township (or the city) freed on or before a day: by their stage that day,
    in all, and how many are idle."""

    day: datetime.date
    stages: list[StageTotal]
    parcels: int
    area_mu: Decimal
    idle: int

    def of(self, key: str) -> StageTotal:
        return next(total for total in self.stages if total.stage.key == key)

    @property
    def supplied_mu(self) -> Decimal:
        """The area supplied (供地) by the day, whatever came after: 供地, 开工, 投产, and 退出 after a supply."""
        return sum((t.area_mu for t in self.stages if t.stage.key in {"supplied", "started", "producing"}), start=ZERO)


ZERO = Decimal("0.00")


def _mu(value) -> Decimal:
    """An area as 2 decimals, whatever the database's sum gave (SQLite drops trailing zeros)."""
    return ZERO if value is None else Decimal(value).quantize(ZERO)


def land_summary(parcels, day: datetime.date, *, idle_days: int) -> LandSummary:
    """``parcels`` (scoped by the caller) on ``day`` by stage: one grouped query, however many there are."""
    cutoff = day - datetime.timedelta(days=idle_days)
    grouped = (
        parcels.filter(deleted_at__isnull=True, freed_on__lte=day)
        .annotate(stage_key=stage_case(day))
        .values("stage_key")
        .annotate(n=Count("pk"), mu=Sum("area_mu"), idle=Count("pk", filter=Q(freed_on__lte=cutoff)))
        .order_by()
    )
    found = {row["stage_key"]: row for row in grouped}
    stages = [
        StageTotal(stage, found.get(stage.key, {}).get("n", 0), _mu(found.get(stage.key, {}).get("mu")))
        for stage in STAGES
    ]
    return LandSummary(
        day=day,
        stages=stages,
        parcels=sum(t.parcels for t in stages),
        area_mu=sum((t.area_mu for t in stages), start=ZERO),
        idle=found.get("freed", {}).get("idle", 0),
    )


# The 亩均税收 bands of the distribution: shares of the standard when the campaign has one, else
# fixed figures (万元/亩). A band holds [lower, upper): a parcel exactly at the standard meets it.
STANDARD_BANDS = (Decimal("0.5"), Decimal("0.8"), Decimal("1"), Decimal("1.5"))
PLAIN_BANDS = (Decimal("5"), Decimal("10"), Decimal("20"), Decimal("50"))


@dataclass(frozen=True)
class TaxBand:
    lower: Decimal | None
    upper: Decimal | None
    parcels: int
    area_mu: Decimal
    below_standard: bool

    @property
    def label(self) -> str:
        if self.lower is None:
            return _("低于%(upper)s") % {"upper": self.upper}
        if self.upper is None:
            return _("%(lower)s及以上") % {"lower": self.lower}
        return _("%(lower)s至%(upper)s") % {"lower": self.lower, "upper": self.upper}


@dataclass(frozen=True)
class TaxDistribution:
    """The 亩均税收 of the parcels in production on a day (each its latest return of a year up to
    the day's, as the land list reads it), in bands against the standard."""

    standard: Decimal | None
    bands: list[TaxBand]
    producing: int  # parcels in production on the day
    undeclared: int  # of them, without a return of a year up to the day's
    below: list[tuple[int, int, Decimal]]  # (parcel id, year, 亩均税收) below the standard, lowest first

    @property
    def largest(self) -> int:
        return max((band.parcels for band in self.bands), default=0)


def _edges(standard: Decimal | None) -> list[Decimal]:
    if standard is None or standard <= 0:
        return list(PLAIN_BANDS)
    return [round_half_up(standard * share) for share in STANDARD_BANDS]


def tax_distribution(parcels, day: datetime.date, *, standard: Decimal | None) -> TaxDistribution:
    """``parcels`` (scoped by the caller) in production on ``day``, by their latest 亩均税收: two
    queries (the parcels' ids and areas, the returns' figures), however many there are."""
    producing = dict(
        parcels.filter(deleted_at__isnull=True, producing_on__lte=day)
        .filter(Q(exited_on__isnull=True) | Q(exited_on__gt=day))
        .values_list("pk", "area_mu")
        .order_by()
    )
    latest = {}
    returns = (
        TaxReturn.objects.filter(parcel_id__in=producing, year__lte=day.year)
        .values_list("parcel_id", "year", "tax_10k_yuan", "land_mu")
        .order_by("parcel_id", "-year")
    )
    for parcel_id, year, tax, land in returns:
        if parcel_id not in latest:
            latest[parcel_id] = (year, tax_per_mu(tax, land))
    edges = _edges(standard)
    bounds = list(zip([None, *edges], [*edges, None], strict=True))
    counts = [[0, ZERO] for _bound in bounds]
    below = []
    for parcel_id, (year, per_mu) in latest.items():
        index = sum(1 for edge in edges if per_mu >= edge)
        counts[index][0] += 1
        counts[index][1] += producing[parcel_id]
        if standard is not None and per_mu < standard:
            below.append((parcel_id, year, per_mu))
    bands = [
        TaxBand(lower, upper, n, _mu(area), standard is not None and upper is not None and upper <= standard)
        for (lower, upper), (n, area) in zip(bounds, counts, strict=True)
    ]
    below.sort(key=lambda item: (item[2], item[0]))
    return TaxDistribution(standard, bands, len(producing), len(producing) - len(latest), below)


# --- writes -------------------------------------------------------------------------------------


def _signed(obj, user, reason):
    obj._history_user = user
    obj._change_reason = reason
    return obj


def _today(today):
    return today or timezone.localdate()


def _check_source(source, township):
    if source is not None and source.township_id != township.pk:
        raise ValidationError({"source": _("原四无单位须属于%(township)s") % {"township": township.name}})


@transaction.atomic
def parcel_create(*, township, name, area_mu, freed_on, user, source=None, note="", today=None) -> LandParcel:
    """A parcel freed on ``freed_on`` (not in the future), ``area_mu`` 亩 (> 0, 2 decimals at most)."""
    if not may_write(user, township):
        raise PermissionDenied
    area = read_amount(area_mu, "area_mu", positive=True)
    if freed_on > _today(today):
        raise ValidationError({"freed_on": _("不能晚于今天（%(today)s）") % {"today": _today(today).isoformat()}})
    _check_source(source, township)
    parcel = LandParcel(
        township=township,
        name=" ".join(str(name).split()),
        area_mu=area,
        source=source,
        freed_on=freed_on,
        note=note,
        created_by=user,
    )
    parcel.full_clean(exclude=["township", "source"], validate_constraints=False)
    try:
        with transaction.atomic():
            _signed(parcel, user, _("登记腾退土地")).save(force_insert=True)
    except IntegrityError:
        raise ValidationError({"name": _("该乡镇（街道）已有同名地块")}) from None
    return parcel


def _locked(parcel: LandParcel) -> LandParcel:
    return LandParcel.objects.select_for_update(of=("self",)).select_related("township").get(pk=parcel.pk)


@transaction.atomic
def parcel_edit(*, parcel: LandParcel, user, name, area_mu, source=None, note="", freed_on=None, today=None):
    """Correct a parcel's name, area, source unit, note or freed date (kept before its next stage)."""
    if not may_write(user, parcel.township_id):
        raise PermissionDenied
    current = _locked(parcel)
    area = read_amount(area_mu, "area_mu", positive=True)
    _check_source(source, current.township)
    freed_on = freed_on or current.freed_on
    if freed_on > _today(today):
        raise ValidationError({"freed_on": _("不能晚于今天（%(today)s）") % {"today": _today(today).isoformat()}})
    later = [getattr(current, s.field) for s in STAGES[1:] if getattr(current, s.field) is not None]
    if later and freed_on > min(later):
        raise ValidationError(
            {"freed_on": _("腾退日期不能晚于后续阶段的日期（%(day)s）") % {"day": min(later).isoformat()}}
        )
    current.name, current.area_mu, current.source, current.note, current.freed_on = (
        " ".join(str(name).split()),
        area,
        source,
        note,
        freed_on,
    )
    current.full_clean(exclude=["township", "source"], validate_constraints=False)
    try:
        with transaction.atomic():
            _signed(current, user, _("修改腾退土地")).save()
    except IntegrityError:
        raise ValidationError({"name": _("该乡镇（街道）已有同名地块")}) from None
    return current


@transaction.atomic
def parcel_advance(*, parcel: LandParcel, stage: str, on: datetime.date, user, today=None) -> LandParcel:
    """Record that the parcel reached ``stage`` (a key of STAGES) on ``on``: the next stage in order,
    or 退出, dated not before its last stage and not in the future."""
    if not may_write(user, parcel.township_id):
        raise PermissionDenied
    current = _locked(parcel)
    allowed = next_stages(current)
    target = BY_KEY.get(stage)
    if target is None or target not in allowed:
        if not allowed:
            raise ValidationError({"stage": _("该地块已退出，不能再推进")})
        names = "、".join(str(s.label) for s in allowed)
        raise ValidationError({"stage": _("只能按顺序推进，下一步可登记：%(names)s") % {"names": names}})
    if on > _today(today):
        raise ValidationError({"on": _("不能晚于今天（%(today)s）") % {"today": _today(today).isoformat()}})
    before = last_date(current)
    if on < before:
        message = _("%(stage)s日期不能早于上一阶段（%(previous)s %(day)s）") % {
            "stage": target.label,
            "previous": current_stage(current).label,
            "day": before.isoformat(),
        }
        raise ValidationError({"on": message})
    setattr(current, target.field, on)
    _signed(current, user, _("腾退土地：%(stage)s") % {"stage": target.label}).save(update_fields=[target.field])
    return current
