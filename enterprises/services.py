"""Writes that touch a unit and its rectified periods together, each in one transaction.

The invariant they keep (and the counting in reports/counts/reader.py relies on): a unit's periods
alternate — rectified, re-opened by a relapse, rectified again — never overlap, and at most one is
open-ended. On one day a relapse comes before a re-rectification, never after a rectification.

Every write here is audited: the acting ``user`` becomes the history row's user even outside a
request (a command, a test), a reason becomes its change reason, and every write to a unit bumps
``Enterprise.version`` so that an edit form read before it is refused rather than overwriting it.
Writes that depend on the unit's current state first lock its row (``_locked``).

A unit is the same unit (SPEC section 3) when its credit code matches, else when township, name
and address match after trimming spaces. The database holds that for units without a credit code
(the partial unique constraint ``enterprises_enterprise_unique_identity``); every write that can
put a unit into a township (a screening list, the unit form, restoring a deleted unit) also takes
that township's register lock (``lock_townships``) and checks for the same unit inside it, so that
of two such writes at once the second sees what the first wrote.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.models import Township

from .models import Enterprise, Method, ParkEntry, Rectification, Relapse, Status, squash_spaces
from .parks import breaches

# django-simple-history keeps 100 characters of a change reason; the full reason stays on the row.
CHANGE_REASON_MAX = 100
# Stored reasons of system actions are data, not UI text: the same whatever the user's language.
REASON_UNDELETE = "撤销删除"
REASON_REINSTATE = "撤销撤回"


class StaleEdit(Exception):
    """The unit was changed (by someone else) after the edit form was read at ``version``."""

    def __init__(self, unit_pk, version):
        super().__init__(f"unit {unit_pk} is no longer at version {version}")
        self.unit_pk = unit_pk
        self.version = version


class DuplicateUnit(ValidationError):
    """The unit written is one the register holds already (``unit``: that one, when it was found)."""

    def __init__(self, unit):
        super().__init__(_("系统中已登记同一单位"), code="duplicate")
        self.unit = unit


def _today():
    return timezone.localdate()


# --- The register lock of a township and the identity of a unit --------------------------------


def lock_townships(township_ids, *, shared=False):
    """Take the register lock of these townships until the current transaction ends.

    Whoever adds a unit to a township, or moves one into it, holds the lock while it checks for the
    same unit and writes; a second writer waits for the first to commit and then sees its units.
    PostgreSQL: the townships' rows ``FOR NO KEY UPDATE`` in id order (two writers never wait for
    each other crosswise; inserts that only reference a township are not held up). ``shared`` (a
    reader waiting for writers, ``wait_for_writers``) takes them ``FOR SHARE``. SQLite has one write
    lock for the whole database: the settings begin every transaction IMMEDIATE, which takes it; the
    no-op write here takes it too where a transaction was begun deferred.
    """
    ids = sorted({pk for pk in township_ids if pk is not None})
    if not ids:
        return
    quote = connection.ops.quote_name
    table, pk = quote(Township._meta.db_table), quote(Township._meta.pk.column)
    placeholders = ", ".join(["%s"] * len(ids))
    if connection.vendor == "postgresql":
        mode = "SHARE" if shared else "NO KEY UPDATE"
        sql = f"SELECT {pk} FROM {table} WHERE {pk} IN ({placeholders}) ORDER BY {pk} FOR {mode}"  # nosec B608  # identifiers quoted from _meta; values are parameters
    else:
        column = quote(Township._meta.get_field("sort_order").column)
        sql = f"UPDATE {table} SET {column} = {column} WHERE {pk} IN ({placeholders})"  # nosec B608  # identifiers quoted from _meta; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)


def wait_for_writers(township_ids):
    """Wait until no transaction holds the register lock of these townships; True once it is free.

    A reader that compares the register with a file (importing.parse) calls it before reading the
    units: a write it does not see then either committed before the read, or took the lock (and
    dated its history) after this call, which ``importing.still_current`` notices. Inside a
    transaction the caller answers for what it reads (``importing.apply`` holds the lock already).
    False when SQLite's lock could not be had within its busy timeout: the reader must not trust
    what it read to be the latest.
    """
    township_ids = list(township_ids)
    if not township_ids or transaction.get_connection().in_atomic_block:
        return True
    try:
        with transaction.atomic():
            lock_townships(township_ids, shared=True)
    except OperationalError:
        if connection.vendor != "sqlite":
            raise
        return False
    return True


def unit_with_code(credit_code, *, exclude_pk=None):
    """The alive unit registered under ``credit_code`` (other than ``exclude_pk``), or None."""
    if not credit_code:
        return None
    return Enterprise.objects.alive().filter(credit_code=credit_code).exclude(pk=exclude_pk).order_by("pk").first()


def unit_with_identity(*, township_id, name, address, credit_code="", exclude_pk=None):
    """The alive unit that township, name and address (after trimming spaces) make the same unit.

    As a screening list matches (importing): a unit without a credit code is the same unit as any
    alive unit of the same township, name and address; one with a code is the same as such a unit
    that has no code (the list would fill the code in); two units with different codes are two
    units. Names and addresses are stored trimmed (Enterprise.save), so an exact match suffices.
    """
    same = Enterprise.objects.alive().filter(
        township_id=township_id, name=squash_spaces(name), address=squash_spaces(address)
    )
    if credit_code:
        same = same.filter(credit_code="")
    return same.exclude(pk=exclude_pk).order_by("pk").first()


def same_unit(enterprise):
    """The alive unit (other than ``enterprise`` itself) that SPEC section 3 takes for the same unit."""
    code = (enterprise.credit_code or "").strip().upper()
    return unit_with_code(code, exclude_pk=enterprise.pk) or unit_with_identity(
        township_id=enterprise.township_id,
        name=enterprise.name,
        address=enterprise.address,
        credit_code=code,
        exclude_pk=enterprise.pk,
    )


def _identity_of(enterprise):
    return (
        enterprise.township_id,
        squash_spaces(enterprise.name),
        squash_spaces(enterprise.address),
        (enterprise.credit_code or "").strip().upper(),
    )


def _save_unless_duplicate(enterprise, **save_kwargs):
    """Save; a unique constraint that refuses the row (someone outside the lock wrote the same unit,
    or the same credit code in another township) becomes DuplicateUnit, never a server error."""
    try:
        with transaction.atomic():
            enterprise.save(**save_kwargs)
    except IntegrityError:
        clash = same_unit(enterprise)
        if clash is None:
            raise
        raise DuplicateUnit(clash) from None


@transaction.atomic
def unit_create(*, enterprise, user=None):
    """Register the new unit ``enterprise`` unless the register holds the same unit: DuplicateUnit."""
    lock_townships([enterprise.township_id])
    clash = same_unit(enterprise)
    if clash is not None:
        raise DuplicateUnit(clash)
    if user is not None and enterprise.created_by_id is None:
        enterprise.created_by = user
    _save_unless_duplicate(attribute(enterprise, user), force_insert=True)
    return enterprise


def _locked(enterprise):
    return Enterprise.objects.select_for_update().get(pk=enterprise.pk)


def attribute(instance, user=None, reason=""):
    """Name the acting user and the reason on the history row the next save() of ``instance`` writes."""
    if user is not None:
        instance._history_user = user
    if reason:
        reason = " ".join(str(reason).split())
        if len(reason) > CHANGE_REASON_MAX:
            reason = reason[: CHANGE_REASON_MAX - 1] + "…"
        instance._change_reason = reason
    return instance


def _bump(unit):
    unit.version += 1
    return ["status", "version", "updated_at"]


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
def rectification_record(*, enterprise, method, rectified_on, demolished_m2=None, note="", user=None, park=None):
    """Record that ``enterprise`` was rectified; it counts from ``rectified_on``.

    ``park``: for 搬迁入园, the small-micro park the unit moved into; its entry (SPEC 5) is recorded
    with the rectification, on its date, in the same transaction.
    """
    unit = _locked(enterprise)
    area = Decimal(demolished_m2 or 0)
    errors = check_rectification(enterprise=unit, method=method, rectified_on=rectified_on, demolished_m2=area)
    if park is not None and method != Method.RELOCATED:
        errors["park"] = _("只有整治方式为“搬迁入园”时才能选择入驻园区")
    elif park is not None:
        # The park's negative list refuses the unit's industry here as on the park's own entry form
        # (a city admin records an exception there, with a reason); a full park only warns there.
        refused = [
            b.message
            for b in breaches(park, industry=unit.industry, declared_tax_per_mu=None, entered_on=rectified_on)
            if b.refuses
        ]
        if refused:
            errors["park"] = "；".join(refused)
    if errors:
        raise ValidationError(errors)
    rectification = Rectification(
        enterprise=unit,
        method=method,
        rectified_on=rectified_on,
        demolished_m2=area,
        note=note,
        created_by=user,
    )
    attribute(rectification, user).save(force_insert=True)
    if park is not None:
        entry = ParkEntry(
            park=park,
            enterprise=unit,
            rectification=rectification,
            name=unit.name,
            credit_code=unit.credit_code,
            industry=unit.industry,
            entered_on=rectified_on,
            company_form=company_form_of(unit.credit_code),
            created_by=user,
        )
        attribute(entry, user).save(force_insert=True)
    unit.status = Status.RECTIFIED
    _save_unit(unit, user, enterprise)
    return rectification


def company_form_of(credit_code):
    """公司制 as far as the register can tell (an entry recorded with a 搬迁入园 rectification): a code
    registered as an enterprise (登记管理部门 9 工商, 机构类别 1 企业). A unit without a code, or an
    individual business (92…), is not counted as one; the park's staff correct it on the entry."""
    return (credit_code or "").startswith("91")


def _save_unit(unit, user, enterprise=None, reason="", extra_fields=()):
    """Save the locked ``unit`` with a new version, and refresh the caller's copy of it."""
    fields = _bump(unit) + list(extra_fields)
    attribute(unit, user, reason).save(update_fields=fields)
    if enterprise is not None and enterprise is not unit:
        for name in ("status", "version", "updated_at", *extra_fields):
            setattr(enterprise, name, getattr(unit, name))
    return unit


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
    relapse = Relapse(enterprise=unit, rectification=period, found_on=found_on, note=note, created_by=user)
    attribute(relapse, user).save(force_insert=True)
    period.reopened_on = found_on
    attribute(period, user).save(update_fields=["reopened_on"])
    unit.status = Status.OPEN
    _save_unit(unit, user, enterprise)
    return relapse


# --- Editing a unit ----------------------------------------------------------------------------


@transaction.atomic
def unit_update(*, enterprise, version, user=None):
    """Save the edited ``enterprise`` (its new values already set) if its row is still at ``version``.

    The compare-and-set is one ``UPDATE … WHERE id = ? AND version = ?`` that also takes the row
    lock; the save() after it writes the values and the history row in the same transaction.
    Raises StaleEdit, writing nothing, when someone else saved the unit in between, and
    DuplicateUnit when the edit makes it the same unit as another (a new name, address, township
    or credit code): that is checked under the township's register lock, taken before the row's.
    """
    stored = Enterprise.objects.filter(pk=enterprise.pk).values_list("township_id", "name", "address", "credit_code")
    stored = stored.first()
    if stored is not None and (stored[0], squash_spaces(stored[1]), squash_spaces(stored[2]), stored[3]) != (
        _identity_of(enterprise)
    ):
        lock_townships([enterprise.township_id])
        clash = same_unit(enterprise)
        if clash is not None:
            raise DuplicateUnit(clash)
    bumped = Enterprise.objects.filter(pk=enterprise.pk, version=version, deleted_at__isnull=True).update(
        version=F("version") + 1
    )
    if not bumped:
        raise StaleEdit(enterprise.pk, version)
    enterprise.version = version + 1
    _save_unless_duplicate(attribute(enterprise, user))
    return enterprise


# --- Deleting a unit (soft) and undoing it -----------------------------------------------------


def _require_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写原因")})
    return reason


@transaction.atomic
def unit_delete(*, enterprise, user, reason):
    """Hide the unit from the register and every count; who, when and why are kept, and it can be undone."""
    reason = _require_reason(reason)
    unit = _locked(enterprise)
    if unit.is_deleted:
        raise ValidationError(_("该单位已被删除"))
    unit.deleted_at, unit.deleted_by, unit.deletion_reason = timezone.now(), user, reason
    return _save_unit(unit, user, enterprise, reason, ["deleted_at", "deleted_by", "deletion_reason"])


@transaction.atomic
def unit_undelete(*, enterprise, user):
    """Bring a deleted unit back into the register and the counts, unless the same unit (its credit
    code, or its township, name and address) was registered meanwhile."""
    lock_townships([enterprise.township_id])  # a deleted unit is not edited: its township stays
    unit = _locked(enterprise)
    if not unit.is_deleted:
        raise ValidationError(_("该单位未被删除"))
    if unit.credit_code:
        clash = unit_with_code(unit.credit_code, exclude_pk=unit.pk)
        if clash is not None:
            raise ValidationError(
                _("统一社会信用代码 %(code)s 已登记为“%(name)s”，无法恢复")
                % {"code": unit.credit_code, "name": clash.name}
            )
    clash = unit_with_identity(
        township_id=unit.township_id,
        name=unit.name,
        address=unit.address,
        credit_code=unit.credit_code,
        exclude_pk=unit.pk,
    )
    if clash is not None:
        raise ValidationError(
            _("该乡镇（街道）已登记单位名称、地址都相同的单位“%(name)s”（编号%(pk)d），无法恢复")
            % {"name": clash.name, "pk": clash.pk}
        )
    unit.deleted_at, unit.deleted_by, unit.deletion_reason = None, None, ""
    return _save_unit(unit, user, enterprise, REASON_UNDELETE, ["deleted_at", "deleted_by", "deletion_reason"])


# --- Withdrawing a mistaken rectification or relapse, and undoing that ---------------------------

RECTIFICATION, RELAPSE = "rectification", "relapse"


def latest_event(rectifications, relapses):
    """(kind, event) of a unit's latest standing rectification or relapse, or None.

    An open period is always the latest event (nothing can follow it but a relapse, which closes
    it); without one, the latest relapse is. Works on lists already fetched, without a query.
    """
    alive = [r for r in rectifications if r.deleted_at is None]
    current = next((r for r in alive if r.reopened_on is None), None)
    if current is not None:
        return RECTIFICATION, current
    standing = [r for r in relapses if r.deleted_at is None]
    if standing:
        return RELAPSE, max(standing, key=lambda r: (r.found_on, r.pk))
    return None


def _events(unit):
    rectifications = list(unit.rectifications.filter(deleted_at__isnull=True, reopened_on__isnull=True))
    relapses = list(unit.relapses.filter(deleted_at__isnull=True).order_by("-found_on", "-id")[:1])
    return latest_event(rectifications, relapses)


@transaction.atomic
def event_withdraw(*, enterprise, kind, pk, user, reason):
    """Withdraw (soft-delete, with a reason) the unit's latest rectification or relapse.

    Withdrawing a relapse re-opens nothing: its period holds again and the unit is 已整治.
    Withdrawing a rectification leaves the unit 未整治. Any older event is refused, since removing
    it would leave the periods around it inconsistent.
    """
    reason = _require_reason(reason)
    unit = _locked(enterprise)
    latest = _events(unit)
    if latest is None or latest[0] != kind or latest[1].pk != pk:
        raise ValidationError(_("只能撤回该单位最近的一条整治或复发记录，请刷新页面后重试"))
    event = latest[1]
    event.deleted_at, event.deleted_by, event.deletion_reason = timezone.now(), user, reason
    attribute(event, user, reason).save(update_fields=["deleted_at", "deleted_by", "deletion_reason"])
    if kind == RELAPSE:
        period = Rectification.objects.get(pk=event.rectification_id)
        period.reopened_on = None
        attribute(period, user, reason).save(update_fields=["reopened_on"])
        unit.status = Status.RECTIFIED
    else:
        unit.status = Status.OPEN
    _save_unit(unit, user, enterprise, reason)
    return event


@transaction.atomic
def event_reinstate(*, enterprise, kind, pk, user, today=None):
    """Undo a withdrawal, if the event still fits the unit's periods as they are now."""
    unit = _locked(enterprise)
    if kind == RECTIFICATION:
        event = Rectification.objects.filter(enterprise=unit, pk=pk, deleted_at__isnull=False).first()
        if event is None:
            raise ValidationError(_("没有找到这条已撤回的记录"))
        errors = check_rectification(
            enterprise=unit,
            method=event.method,
            rectified_on=event.rectified_on,
            demolished_m2=event.demolished_m2,
            today=today,
        )
        if errors or event.reopened_on is not None:
            raise ValidationError(_("该单位此后已有新的整治或复发记录，无法恢复这条整治记录"))
        unit.status = Status.RECTIFIED
    else:
        event = Relapse.objects.filter(enterprise=unit, pk=pk, deleted_at__isnull=False).first()
        if event is None:
            raise ValidationError(_("没有找到这条已撤回的记录"))
        period = Rectification.objects.get(pk=event.rectification_id)
        if period.deleted_at is not None or period.reopened_on is not None:
            raise ValidationError(_("该复发所推翻的整治记录已不是当前的整治，无法恢复这条复发记录"))
        period.reopened_on = event.found_on
        attribute(period, user, REASON_REINSTATE).save(update_fields=["reopened_on"])
        unit.status = Status.OPEN
    event.deleted_at, event.deleted_by, event.deletion_reason = None, None, ""
    attribute(event, user, REASON_REINSTATE).save(update_fields=["deleted_at", "deleted_by", "deletion_reason"])
    _save_unit(unit, user, enterprise, REASON_REINSTATE)
    return event
