"""Writes that touch a unit and its rectified periods together, each in one transaction.

The invariant they keep (and the counting in reports/counting.py relies on): a unit's periods
alternate — rectified, re-opened by a relapse, rectified again — never overlap, and at most one is
open-ended. On one day a relapse comes before a re-rectification, never after a rectification.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Enterprise, Method, Rectification, Relapse, Status


def _today():
    return timezone.localdate()


def _locked(enterprise):
    return Enterprise.objects.select_for_update().get(pk=enterprise.pk)


def check_rectification(*, enterprise, method, rectified_on, demolished_m2, today=None):
    """Field errors ({field: message}) for a new rectification of ``enterprise``."""
    errors = {}
    today = today or _today()
    if method not in Method.values:
        errors["method"] = _("整治方式无效")
    if rectified_on > today:
        errors["rectified_on"] = _("整治完成日期不能晚于今天（%(today)s）") % {"today": today.isoformat()}
    elif rectified_on < enterprise.identified_on:
        errors["rectified_on"] = _("整治完成日期不能早于排查日期（%(day)s）") % {
            "day": enterprise.identified_on.isoformat()
        }
    if demolished_m2 is not None and demolished_m2 < 0:
        errors["demolished_m2"] = _("拆除面积不能为负数")
    if enterprise.pk:
        if enterprise.rectifications.filter(reopened_on__isnull=True, deleted_at__isnull=True).exists():
            errors["__all__"] = _("该单位已整治，如发现死灰复燃请先登记复发")
        else:
            last_relapse = (
                enterprise.relapses.filter(deleted_at__isnull=True)
                .order_by("-found_on")
                .values_list("found_on", flat=True)
                .first()
            )
            if last_relapse and rectified_on < last_relapse and "rectified_on" not in errors:
                errors["rectified_on"] = _("整治完成日期不能早于最近一次复发日期（%(day)s）") % {
                    "day": last_relapse.isoformat()
                }
    return errors


@transaction.atomic
def rectification_record(*, enterprise, method, rectified_on, demolished_m2=None, note="", user=None):
    """Record that ``enterprise`` was rectified; it counts from ``rectified_on``."""
    unit = _locked(enterprise)
    area = Decimal(demolished_m2 or 0)
    errors = check_rectification(enterprise=unit, method=method, rectified_on=rectified_on, demolished_m2=area)
    if errors:
        raise ValidationError(errors)
    rectification = Rectification.objects.create(
        enterprise=unit,
        method=method,
        rectified_on=rectified_on,
        demolished_m2=area,
        note=note,
        created_by=user,
    )
    unit.status = Status.RECTIFIED
    unit.save(update_fields=["status", "updated_at"])
    enterprise.status = unit.status
    return rectification


@transaction.atomic
def relapse_record(*, enterprise, found_on, note="", user=None, today=None):
    """死灰复燃: re-open the unit's current rectified period from ``found_on``."""
    unit = _locked(enterprise)
    today = today or _today()
    period = unit.rectifications.filter(reopened_on__isnull=True, deleted_at__isnull=True).first()
    if period is None:
        raise ValidationError({"__all__": _("该单位当前不是已整治状态，无法登记死灰复燃")})
    if found_on > today:
        raise ValidationError({"found_on": _("发现日期不能晚于今天（%(today)s）") % {"today": today.isoformat()}})
    if found_on <= period.rectified_on:
        raise ValidationError(
            {"found_on": _("发现日期须晚于整治完成日期（%(day)s）") % {"day": period.rectified_on.isoformat()}}
        )
    relapse = Relapse.objects.create(
        enterprise=unit, rectification=period, found_on=found_on, note=note, created_by=user
    )
    period.reopened_on = found_on
    period.save(update_fields=["reopened_on"])
    unit.status = Status.OPEN
    unit.save(update_fields=["status", "updated_at"])
    enterprise.status = unit.status
    return relapse
