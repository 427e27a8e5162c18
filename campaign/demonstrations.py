"""零四无 demonstrations (SPEC 5): a township, or one of its villages, applies (申报); a city admin or
an inspector records the check (验收), which passes only when the place is clean by the counting
rules; a city admin designates it (命名). Each step is dated, signed and kept in the row's history.

**Eligible on a day d** (docs/parks.md): no unit of the place is open on d (SPEC 2 open(d):
``Enterprise.objects.open_on``), and no relapse (死灰复燃) of one of its units was found in the
clean period, the ``CLEAN_DAYS`` days that end on d (``Relapse.objects.found_between``).

The campaign app sits below the register (docs/architecture.md): it reaches the register's rules
through the reverse relations of Township and Village, whose managers are the register's own
(``township.enterprises.open_on(d)``), and imports nothing from above.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import Role, role_of, township_id_of

from .models import Campaign, Demonstration, Township, Village

CLEAN_DAYS = 90  # a place must have had no relapse found in the 90 days that end on its check day

APPLY, CHECK, DESIGNATE = "apply", "check", "designate"


@dataclass(frozen=True)
class Eligibility:
    day: datetime.date
    open_units: int
    relapses: int
    first_clean_day: datetime.date  # the clean period is [first_clean_day, day]

    @property
    def ok(self) -> bool:
        return not self.open_units and not self.relapses

    def reasons(self) -> list[str]:
        found = []
        if self.open_units:
            found.append(_("%(day)s 仍有%(n)d家未整治的四无单位") % {"day": self.day.isoformat(), "n": self.open_units})
        if self.relapses:
            found.append(
                _("%(first)s 至 %(day)s（验收前%(days)d天内）发现死灰复燃%(n)d起")
                % {
                    "first": self.first_clean_day.isoformat(),
                    "day": self.day.isoformat(),
                    "days": CLEAN_DAYS,
                    "n": self.relapses,
                }
            )
        return found


def _units(township: Township, village: Village | None):
    """The place's units, through the register's own manager (open_on, alive, …)."""
    return village.enterprises if village is not None else township.enterprises


def eligibility(*, township: Township, village: Village | None = None, day: datetime.date) -> Eligibility:
    """Whether the place is clean on ``day`` by the counting rules (two counts)."""
    units = _units(township, village)
    relapse_model = units.model._meta.get_field("relapses").related_model
    first = day - datetime.timedelta(days=CLEAN_DAYS - 1)
    place = {"enterprise__village": village} if village is not None else {"enterprise__township": township}
    return Eligibility(
        day=day,
        open_units=units.open_on(day).count(),
        relapses=relapse_model.objects.found_between(first, day).filter(**place).count(),
        first_clean_day=first,
    )


# --- who may do what --------------------------------------------------------------------------


def may(user, step: str, township: Township) -> bool:
    """申报: the township's own staff or a city admin; 验收: a city admin or an inspector; 命名: a city admin."""
    role = role_of(user)
    if step == APPLY:
        return role == Role.CITY_ADMIN or (role == Role.TOWNSHIP_STAFF and township_id_of(user) == township.pk)
    if step == CHECK:
        return role in (Role.CITY_ADMIN, Role.INSPECTOR)
    if step == DESIGNATE:
        return role == Role.CITY_ADMIN
    return False


def next_step(demonstration: Demonstration | None) -> str | None:
    if demonstration is None:
        return APPLY
    if demonstration.checked_on is None:
        return CHECK
    if demonstration.designated_on is None:
        return DESIGNATE
    return None


def state_of(demonstration: Demonstration | None) -> str:
    """未申报 / 已申报 / 已验收 / 已命名, as shown in lists."""
    if demonstration is None:
        return _("未申报")
    if demonstration.designated_on:
        return _("已命名")
    if demonstration.checked_on:
        return _("已验收")
    return _("已申报")


# --- the steps --------------------------------------------------------------------------------


def _check_day(campaign: Campaign, day: datetime.date, field: str, today: datetime.date | None) -> None:
    today = today or timezone.localdate()
    if day > today:
        raise ValidationError({field: _("不能晚于今天（%(today)s）") % {"today": today.isoformat()}})
    if not campaign.contains(day):
        raise ValidationError(
            {
                field: _("%(day)s 不在整治行动年度内（%(start)s 至 %(end)s）")
                % {"day": day.isoformat(), "start": campaign.start.isoformat(), "end": campaign.end.isoformat()}
            }
        )


def _signed(demonstration: Demonstration, user, reason: str) -> Demonstration:
    demonstration._history_user = user
    demonstration._change_reason = reason
    return demonstration


@transaction.atomic
def demonstration_apply(
    *, campaign: Campaign, township: Township, village: Village | None = None, applied_on, user, today=None
) -> Demonstration:
    """申报: a township (``village`` None) or one of its villages applies to be a 零四无 demonstration."""
    if not may(user, APPLY, township):
        raise PermissionDenied
    if village is not None and village.township_id != township.pk:
        raise ValidationError(_("该村（社区）不属于%(township)s") % {"township": township.name})
    _check_day(campaign, applied_on, "applied_on", today)
    demonstration = Demonstration(
        campaign=campaign, township=township, village=village, applied_on=applied_on, applied_by=user
    )
    try:
        with transaction.atomic():
            _signed(demonstration, user, "申报零四无示范").save(force_insert=True)
    except IntegrityError:
        raise ValidationError(_("%(place)s已申报过本年度的零四无示范") % {"place": village or township}) from None
    return demonstration


def _locked(demonstration: Demonstration) -> Demonstration:
    locked = Demonstration.objects.select_for_update(of=("self",))
    return locked.select_related("campaign", "township", "village").get(pk=demonstration.pk)


@transaction.atomic
def demonstration_check(*, demonstration: Demonstration, checked_on, note="", user, today=None) -> Demonstration:
    """验收: recorded only when the place is eligible on ``checked_on`` (see the module's note)."""
    if not may(user, CHECK, demonstration.township):
        raise PermissionDenied
    current = _locked(demonstration)
    if current.checked_on is not None:
        raise ValidationError(_("已于%(day)s验收，不能重复验收") % {"day": current.checked_on.isoformat()})
    _check_day(current.campaign, checked_on, "checked_on", today)
    if checked_on < current.applied_on:
        message = _("验收日期不能早于申报日期（%(day)s）") % {"day": current.applied_on.isoformat()}
        raise ValidationError({"checked_on": message})
    found = eligibility(township=current.township, village=current.village, day=checked_on)
    if not found.ok:
        reasons = "；".join(found.reasons())
        raise ValidationError(_("不符合零四无验收条件：%(reasons)s") % {"reasons": reasons}, code="not_eligible")
    current.checked_on, current.checked_by, current.check_note = checked_on, user, note
    _signed(current, user, "零四无示范验收").save(update_fields=["checked_on", "checked_by", "check_note"])
    return current


@transaction.atomic
def demonstration_designate(*, demonstration: Demonstration, designated_on, user, today=None) -> Demonstration:
    """命名: a city admin designates a place that passed its check."""
    if not may(user, DESIGNATE, demonstration.township):
        raise PermissionDenied
    current = _locked(demonstration)
    if current.checked_on is None:
        raise ValidationError(_("尚未通过验收，不能命名"))
    if current.designated_on is not None:
        raise ValidationError(_("已于%(day)s命名") % {"day": current.designated_on.isoformat()})
    _check_day(current.campaign, designated_on, "designated_on", today)
    if designated_on < current.checked_on:
        message = _("命名日期不能早于验收日期（%(day)s）") % {"day": current.checked_on.isoformat()}
        raise ValidationError({"designated_on": message})
    current.designated_on, current.designated_by = designated_on, user
    _signed(current, user, "零四无示范命名").save(update_fields=["designated_on", "designated_by"])
    return current
