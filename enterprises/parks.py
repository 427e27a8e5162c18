"""Entries into small-micro parks (入园) by hand, and the rules every entry answers to (SPEC 5;
docs/parks.md): a park's negative list (负面清单) and its entry threshold (准入门槛, the least 亩均税收
it admits) refuse an entry, each with a message naming the rule; a full park (its entries on the
entry day at or above its capacity) warns and takes the entry only with a reason. A city admin may
let an entry in despite the negative list or the threshold by recording an exception with its
reason; the reason is stored on the entry and its history row says who recorded it.

Also here: leaving a park, correcting an entry's flags (公司制, 个转企, 科技型中小企业), and the yearly
tax returns (亩均税收) of an entry or of a freed parcel. The figures of a park (occupancy, the
company-form share, its 亩均税收 by year) are campaign/parks.py's, read through the park's relations.

Who writes: city admins any park's entries, township staff the entries of their own township's
parks (``may_write``); the views answer another township's staff with 404 before asking.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.models import Park, ParkStagePhoto, Township
from campaign.parks import occupancy, stage_reached, tax_per_mu
from core.access import Role, role_of, township_id_of

from .models import LandParcel, ParkEntry, TaxReturn
from .photos import store_photos

NEGATIVE_LIST, THRESHOLD, FULL = "negative_list", "threshold", "full"
FIRST_TAX_YEAR = 2000


def may_write(user, township: Township | int) -> bool:
    """City admins write every township's parks, entries and land; township staff their own's."""
    township_id = getattr(township, "pk", township)
    role = role_of(user)
    return role == Role.CITY_ADMIN or (role == Role.TOWNSHIP_STAFF and township_id_of(user) == township_id)


def _folded(text: str) -> str:
    return "".join(str(text or "").split()).casefold()


@dataclass(frozen=True)
class Breach:
    """An entry rule a proposed entry breaks: ``rule`` is NEGATIVE_LIST, THRESHOLD or FULL."""

    rule: str
    message: str

    @property
    def refuses(self) -> bool:
        """The negative list and the threshold refuse (a city admin's exception aside); a full park warns."""
        return self.rule != FULL


def refusals(park: Park, *, industry: str, declared_tax_per_mu: Decimal | None) -> list[Breach]:
    """The rules that refuse an entry into ``park`` (a city admin's exception aside), read from the
    park's own fields only (no query), so a list of many rows can ask them row by row:

    - 负面清单: the industry names one of the park's refused industries (a listed name found in the
      industry, spaces and case aside: 电镀 refuses 电镀加工);
    - 准入门槛: a declared 亩均税收 below the park's threshold (an entry that declares none is not
      held to it).
    """
    found = []
    folded = _folded(industry)
    hit = next((name for name in park.refused_industries() if folded and _folded(name) in folded), None)
    if hit:
        found.append(
            Breach(
                NEGATIVE_LIST,
                _("负面清单：%(park)s不接受“%(industry)s”行业入园（清单所列：%(name)s）")
                % {"park": park.name, "industry": industry, "name": hit},
            )
        )
    threshold = park.min_tax_per_mu
    if threshold is not None and declared_tax_per_mu is not None and declared_tax_per_mu < threshold:
        found.append(
            Breach(
                THRESHOLD,
                _("准入门槛：申报亩均税收%(declared)s万元/亩，低于%(park)s的准入门槛%(threshold)s万元/亩")
                % {"declared": declared_tax_per_mu, "park": park.name, "threshold": threshold},
            )
        )
    return found


def breaches(
    park: Park,
    *,
    industry: str,
    declared_tax_per_mu: Decimal | None,
    entered_on: datetime.date,
    moving: ParkEntry | None = None,
) -> list[Breach]:
    """The rules an entry into ``park`` on ``entered_on`` breaks: ``refusals`` (负面清单, 准入门槛),
    and 园区已满: the park's entries on that day are at or above its capacity (``moving``, an entry
    already in the park being corrected, is not counted against itself).
    """
    found = refusals(park, industry=industry, declared_tax_per_mu=declared_tax_per_mu)
    taken = occupancy(park, entered_on)
    entries = taken.entries - (1 if moving is not None and _in_on(moving, entered_on) else 0)
    if taken.capacity is not None and entries >= taken.capacity:
        found.append(
            Breach(
                FULL,
                _("园区已满：%(day)s %(park)s已入驻%(n)d家，入驻容量%(capacity)d家；仍要登记须填写理由")
                % {"day": entered_on.isoformat(), "park": park.name, "n": entries, "capacity": taken.capacity},
            )
        )
    return found


def _in_on(entry: ParkEntry, day: datetime.date) -> bool:
    return entry.deleted_at is None and entry.entered_on <= day and (entry.left_on is None or entry.left_on > day)


def judge(found: list[Breach], *, user, reason: str, exception: bool) -> str:
    """Whether an entry that breaks ``found`` may be written, and the reason to store with it.

    Raises ValidationError naming every rule that stops it: a refusing rule without a city admin's
    exception, an exception asked by anyone else, or a breach (a full park, an exception) without a
    reason. Returns the reason to keep on the entry ('' when nothing was broken).
    """
    reason = (reason or "").strip()
    refusals = [b for b in found if b.refuses]
    errors = []
    if exception and role_of(user) != Role.CITY_ADMIN:
        errors.append(_("只有市级管理员可以准予例外入园"))
    if refusals and not (exception and not errors):
        errors += [b.message for b in refusals]
    elif refusals and not reason:
        errors.append(_("准予例外须填写理由"))
    if not reason:
        errors += [b.message for b in found if not b.refuses]
    if errors:
        raise ValidationError(errors, code="entry_rules")
    return reason if found else ""


def _signed(obj, user, reason):
    obj._history_user = user
    obj._change_reason = reason
    return obj


def _locked_park(park: Park) -> Park:
    """Lock the park's row: two entries judged against the same capacity wait for each other."""
    return Park.objects.select_for_update().select_related("township").get(pk=park.pk)


def _check_flags(individual_to_company: bool, company_form: bool) -> None:
    if individual_to_company and not company_form:
        raise ValidationError({"company_form": _("个转企的企业须为公司制")})


def _not_future(day: datetime.date, field: str, today: datetime.date | None) -> None:
    today = today or timezone.localdate()
    if day > today:
        raise ValidationError({field: _("不能晚于今天（%(today)s）") % {"today": today.isoformat()}})


@transaction.atomic
def entry_create(
    *,
    park: Park,
    user,
    name: str,
    entered_on: datetime.date,
    industry: str = "",
    credit_code: str = "",
    enterprise=None,
    declared_tax_per_mu: Decimal | None = None,
    company_form: bool = True,
    individual_to_company: bool = False,
    tech_sme: bool = False,
    note: str = "",
    reason: str = "",
    exception: bool = False,
    today: datetime.date | None = None,
) -> ParkEntry:
    """Record an enterprise's entry into ``park`` by hand, through the entry rules (``breaches``,
    ``judge``). ``enterprise``: the 四无 unit it is (a relocated unit), if any."""
    if not may_write(user, park.township_id):
        raise PermissionDenied
    park = _locked_park(park)
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": _("请填写企业名称")})
    if enterprise is not None and enterprise.township_id != park.township_id:
        raise ValidationError({"enterprise": _("该单位不属于%(township)s") % {"township": park.township.name}})
    in_a_park = {"deleted_at__isnull": True, "left_on__isnull": True}
    if enterprise is not None and enterprise.park_entries.filter(**in_a_park).exists():
        raise ValidationError({"enterprise": _("该单位已在园，不能重复登记入园")})
    _not_future(entered_on, "entered_on", today)
    _check_flags(individual_to_company, company_form)
    found = breaches(park, industry=industry, declared_tax_per_mu=declared_tax_per_mu, entered_on=entered_on)
    kept = judge(found, user=user, reason=reason, exception=exception)
    entry = ParkEntry(
        park=park,
        enterprise=enterprise,
        name=name,
        credit_code=credit_code,
        industry=industry,
        entered_on=entered_on,
        declared_tax_per_mu=declared_tax_per_mu,
        company_form=company_form,
        individual_to_company=individual_to_company,
        tech_sme=tech_sme,
        exception_reason=kept,
        note=note,
        created_by=user,
    )
    entry.full_clean(exclude=["park", "enterprise", "rectification"])
    history_reason = _("登记入园")
    if kept:
        rules = "、".join(b.message.split("：", 1)[0] for b in found)
        history_reason = _("例外入园（%(rules)s）：%(reason)s") % {"rules": rules, "reason": kept}
    _signed(entry, user, history_reason[:100]).save(force_insert=True)
    return entry


def _locked_entry(entry: ParkEntry) -> ParkEntry:
    return ParkEntry.objects.select_for_update(of=("self",)).select_related("park").get(pk=entry.pk)


@transaction.atomic
def entry_leave(*, entry: ParkEntry, left_on: datetime.date, user, today: datetime.date | None = None) -> ParkEntry:
    """退园: the enterprise left the park on ``left_on`` (not before it entered, not in the future)."""
    if not may_write(user, entry.park.township_id):
        raise PermissionDenied
    current = _locked_entry(entry)
    if current.left_on is not None:
        raise ValidationError({"left_on": _("已于%(day)s退园") % {"day": current.left_on.isoformat()}})
    _not_future(left_on, "left_on", today)
    if left_on < current.entered_on:
        raise ValidationError(
            {"left_on": _("退园日期不能早于入园日期（%(day)s）") % {"day": current.entered_on.isoformat()}}
        )
    current.left_on = left_on
    _signed(current, user, _("退园")).save(update_fields=["left_on"])
    return current


@transaction.atomic
def entry_flags(
    *, entry: ParkEntry, user, company_form: bool, individual_to_company: bool, tech_sme: bool
) -> ParkEntry:
    """Correct an entry's 公司制 / 个转企 / 科技型中小企业 flags, with a history row."""
    if not may_write(user, entry.park.township_id):
        raise PermissionDenied
    _check_flags(individual_to_company, company_form)
    current = _locked_entry(entry)
    current.company_form, current.individual_to_company, current.tech_sme = (
        company_form,
        individual_to_company,
        tech_sme,
    )
    flags = ["company_form", "individual_to_company", "tech_sme"]
    _signed(current, user, _("修改入园企业标识")).save(update_fields=flags)
    return current


# --- yearly tax returns (亩均税收) --------------------------------------------------------------


def read_amount(value, field: str, *, positive: bool = False) -> Decimal:
    """A form's or a file's number: ≥ 0 (> 0 when ``positive``), at most 2 decimals."""
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("请填写数字")}) from None
    if not amount.is_finite():
        raise ValidationError({field: _("请填写数字")})
    if amount < 0:
        raise ValidationError({field: _("不能为负数")})
    if positive and amount == 0:
        raise ValidationError({field: _("须大于0")})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: _("最多两位小数")})
    return amount


def tax_years(owner: ParkEntry | LandParcel, today: datetime.date | None = None) -> range:
    """The years a return may be recorded for: from the year the entry entered its park (the parcel
    was freed) to the year it left (exited), or to this year."""
    today = today or timezone.localdate()
    if isinstance(owner, ParkEntry):
        first, last = owner.entered_on.year, (owner.left_on or today).year
    else:
        first, last = owner.freed_on.year, (owner.exited_on or today).year
    return range(max(first, FIRST_TAX_YEAR), min(last, today.year) + 1)


@transaction.atomic
def tax_return_record(
    *,
    user,
    year: int,
    tax_10k_yuan,
    land_mu=None,
    entry: ParkEntry | None = None,
    parcel: LandParcel | None = None,
    today: datetime.date | None = None,
) -> TaxReturn:
    """Record (or correct) the tax of one year of an entry or of a parcel; ``land_mu`` defaults to a
    parcel's area. Refused, with nothing written, for a year outside ``tax_years``."""
    if (entry is None) == (parcel is None):
        raise ValueError("a tax return is of an entry or of a parcel")
    owner = entry if entry is not None else parcel
    township_id = entry.park.township_id if entry is not None else parcel.township_id
    if not may_write(user, township_id):
        raise PermissionDenied
    tax = read_amount(tax_10k_yuan, "tax_10k_yuan")
    if land_mu in (None, "") and parcel is not None:
        land_mu = parcel.area_mu
    if land_mu in (None, ""):
        raise ValidationError({"land_mu": _("请填写用地面积")})
    land = read_amount(land_mu, "land_mu", positive=True)
    try:
        year = int(str(year).strip())
    except ValueError:
        raise ValidationError({"year": _("请填写年度，如%(year)d") % {"year": timezone.localdate().year}}) from None
    years = tax_years(owner, today)
    if year not in years:
        if not years:
            raise ValidationError({"year": _("尚无可填报的年度")})
        raise ValidationError({"year": _("年度须在%(first)d至%(last)d之间") % {"first": years[0], "last": years[-1]}})
    match = {"entry": entry} if entry is not None else {"parcel": parcel}
    current = TaxReturn.objects.select_for_update().filter(year=year, **match).first()
    reason = _("填报亩均税收")
    if current is None:
        current = TaxReturn(year=year, tax_10k_yuan=tax, land_mu=land, created_by=user, **match)
        try:
            with transaction.atomic():
                _signed(current, user, reason).save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"year": _("该年度已填报，请刷新页面后修改")}) from None
    elif (current.tax_10k_yuan, current.land_mu) != (tax, land):
        current.tax_10k_yuan, current.land_mu = tax, land
        _signed(current, user, _("修改亩均税收")).save(update_fields=["tax_10k_yuan", "land_mu"])
    return current


def return_per_mu(tax_return: TaxReturn) -> Decimal | None:
    return tax_per_mu(tax_return.tax_10k_yuan, tax_return.land_mu)


# --- a park's stage photos (开工, 竣工) ------------------------------------------------------------


@transaction.atomic
def stage_photos_attach(*, park: Park, stage: str, photos, user) -> list[ParkStagePhoto]:
    """Store cleaned photos (``photos.clean_photos``: re-encoded, without EXIF) as evidence of the
    park's ``stage``, each with its history row naming ``user``. A photo the stage has already (the
    same pixels) is skipped. Refused: a writer of another township, a stage the park has not reached.
    Run inside ``core.storage.removed_unless_kept`` so that a failure leaves no file behind."""
    if not may_write(user, park.township_id):
        raise PermissionDenied
    park = Park.objects.select_for_update().get(pk=park.pk)
    if stage not in ParkStagePhoto.Stage.values:
        raise ValidationError({"stage": _("请选择开工或竣工")})
    if not stage_reached(park, stage):
        label = ParkStagePhoto.Stage(stage).label
        raise ValidationError(
            {"stage": _("%(park)s尚未登记%(stage)s日期，不能上传%(stage)s照片") % {"park": park.name, "stage": label}}
        )
    kept = set(park.stage_photos.filter(stage=stage).values_list("sha256", flat=True))
    fresh = []
    for photo in photos:
        if photo.sha256 not in kept:
            kept.add(photo.sha256)
            fresh.append(photo)

    def make_row(**fields):
        row = ParkStagePhoto(park=park, stage=stage, uploaded_by=user, **fields)
        row._history_user = user
        row._change_reason = _("上传小微园阶段照片")
        row.save(force_insert=True)
        return row

    return store_photos(fresh, make_row)
