"""Writes of the inspection loop, each in one transaction and each leaving its history rows.

Every function takes the acting ``user`` and raises ``ValidationError`` (messages in Chinese, keyed
by form field where there is one) when a rule refuses; nothing is written then.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from campaign.models import Campaign
from enterprises.models import DEFECT_FIELDS, Enterprise, Method, Rectification, Source
from enterprises.photos import store_photos
from enterprises.services import attribute, rectification_record, relapse_record
from notify import messages as notify_messages

from . import rules
from .models import (
    CHECKLIST_FIELDS,
    CrossAccess,
    CrossAssignment,
    CrossRound,
    DefectClearance,
    Finding,
    FindingKind,
    FindingPhoto,
    FindingState,
    Inspection,
    Kind,
    Lookback,
    LookbackDraw,
    LookbackPhoto,
    LookbackResult,
    QualitySettings,
    Reconciliation,
    ReconciliationItem,
    Severity,
)


def _today():
    return timezone.localdate()


def _save(instance, user, **kwargs):
    attribute(instance, user).save(**kwargs)
    return instance


def settings_for(campaign):
    """The campaign's quality settings, created with the defaults on first use."""
    found, _created = QualitySettings.objects.get_or_create(campaign=campaign)
    return found


# --- inspections -------------------------------------------------------------------------------


@transaction.atomic
def inspection_record(
    *, kind, inspected_on, team, township, units=(), present="", notes="", assignment=None, user=None
):
    if kind not in Kind.values:
        raise ValidationError({"kind": _("督查方式无效")})
    if inspected_on > _today():
        raise ValidationError({"inspected_on": _("督查日期不能晚于今天")})
    foreign = [unit for unit in units if unit.township_id != township.pk]
    if foreign:
        raise ValidationError(
            {"units": _("检查的单位须属于被督查乡镇（街道）：%(names)s") % {"names": "、".join(map(str, foreign))}}
        )
    if assignment is not None and assignment.inspected_id != township.pk:
        raise ValidationError({"township": _("交叉督查安排的被督查方是%(name)s") % {"name": assignment.inspected}})
    inspection = _save(
        Inspection(
            kind=kind,
            inspected_on=inspected_on,
            team=team,
            township=township,
            present=present,
            notes=notes,
            assignment=assignment,
            created_by=user,
        ),
        user,
        force_insert=True,
    )
    if units:
        inspection.units.set(units)
    return inspection


@transaction.atomic
def follow_up_done(*, inspection, inspected_on, notes="", present="", user=None):
    """Carry out a follow-up inspection a serious finding scheduled."""
    if inspection.done:
        raise ValidationError({"__all__": _("该督查已实施")})
    if inspected_on > _today():
        raise ValidationError({"inspected_on": _("督查日期不能晚于今天")})
    found_on = inspection.follow_up_of.found_on if inspection.follow_up_of_id else None
    if found_on is not None and inspected_on < found_on:
        raise ValidationError(
            {"inspected_on": _("跟踪督查日期不能早于问题发现日期（%(day)s）") % {"day": found_on.isoformat()}}
        )
    inspection.done, inspection.inspected_on, inspection.notes, inspection.present = True, inspected_on, notes, present
    return _save(inspection, user, update_fields=["done", "inspected_on", "notes", "present"])


# --- findings ----------------------------------------------------------------------------------


@transaction.atomic
def finding_record(
    *,
    inspection,
    kind,
    description,
    deadline,
    severity=Severity.NORMAL,
    enterprise=None,
    new_unit=None,
    user=None,
):
    """Record a finding of ``inspection``.

    漏排 (missed): ``new_unit`` (a dict of Enterprise fields: name, address, defects …) is created in
    the register with source 督查, identified on the inspection date, in the inspected township.
    死灰复燃 (relapse): the unit's rectified period is re-opened from the inspection date
    (enterprises.services.relapse_record), so the progress report stops counting it from then.
    A serious finding schedules one more inspection of the township on the deadline.
    """
    if inspection.deleted_at is not None:
        raise ValidationError({"__all__": _("该督查已删除，不能登记问题")})
    if not inspection.done:
        raise ValidationError({"__all__": _("该督查尚未实施，不能登记问题")})
    if kind not in FindingKind.values:
        raise ValidationError({"kind": _("问题类型无效")})
    if severity not in Severity.values:
        raise ValidationError({"severity": _("严重程度无效")})
    found_on = inspection.inspected_on
    if deadline < found_on:
        raise ValidationError({"deadline": _("整改期限不能早于发现日期（%(day)s）") % {"day": found_on.isoformat()}})
    if kind == FindingKind.MISSED:
        if not new_unit:
            raise ValidationError({"__all__": _("漏排问题须登记漏排单位的名称和四无情形")})
        enterprise = Enterprise(
            township=inspection.township,
            identified_on=found_on,
            source=Source.INSPECTION,
            created_by=user,
            **new_unit,
        )
        if not any(getattr(enterprise, name) for name in DEFECT_FIELDS):
            raise ValidationError({"__all__": _("至少选择一种四无情形")})
        enterprise.full_clean()
        _save(enterprise, user, force_insert=True)
    elif enterprise is None:
        raise ValidationError({"enterprise": _("请选择问题所在的单位")})
    elif enterprise.township_id != inspection.township_id or enterprise.deleted_at is not None:
        raise ValidationError({"enterprise": _("单位须是被督查乡镇（街道）登记在册的单位")})
    finding = Finding(
        inspection=inspection,
        enterprise=enterprise,
        township=inspection.township,
        kind=kind,
        severity=severity,
        description=description,
        found_on=found_on,
        deadline=deadline,
        created_by=user,
    )
    if kind == FindingKind.RELAPSE:
        finding.relapse = relapse_record(enterprise=enterprise, found_on=found_on, note=description, user=user)
    _save(finding, user, force_insert=True)
    if severity == Severity.SERIOUS:
        _save(
            Inspection(
                kind=inspection.kind,
                inspected_on=deadline,
                done=False,
                team=inspection.team,
                township=inspection.township,
                follow_up_of=finding,
                notes=_("严重问题跟踪督查：%(what)s") % {"what": description[:200]},
                created_by=user,
            ),
            user,
            force_insert=True,
        )
    # The township's staff are told in this transaction (the outbox: docs/notify.md); sending is the
    # worker's, so a channel that is down never holds up or fails this save.
    notify_messages.finding_new(finding)
    return finding


def _unit_rectified(finding):
    return finding.enterprise.rectifications.filter(reopened_on__isnull=True, deleted_at__isnull=True).exists()


@transaction.atomic
def finding_rectified(*, finding, rectified_on, note, user, photos=()):
    """The responsible township reports the finding rectified (整改完成), with ``photos`` (cleaned by
    enterprises/photos.py) as its evidence; it then waits for verification.

    A completion dated after the deadline is late (逾期完成, ``Finding.completed_late``): it is
    recorded all the same, and marked and counted from its dates. The page asks for at least one
    photo (FindingRectifiedForm); without one, verification cannot close the finding off.
    """
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.state != FindingState.OPEN:
        raise ValidationError({"__all__": _("只有待整改的问题可以报告整改完成")})
    if rectified_on < finding.found_on or rectified_on > _today():
        raise ValidationError({"rectified_on": _("整改完成日期须在发现日期和今天之间")})
    if finding.kind in (FindingKind.MISSED, FindingKind.RELAPSE) and not _unit_rectified(finding):
        raise ValidationError({"__all__": _("该单位还没有登记整治，请先在单位页面登记整治")})
    finding.state, finding.rectified_on, finding.rectified_by = FindingState.RECTIFIED, rectified_on, user
    finding.rectification_note = note
    _save(finding, user, update_fields=["state", "rectified_on", "rectified_by", "rectification_note"])
    attach_finding_photos(finding=finding, photos=photos, user=user)
    return finding


def attach_finding_photos(*, finding, photos, user=None):
    """Store cleaned photos as the evidence of the finding's standing completion report; call inside
    the recording transaction. Files already written are removed again if a row fails, so a failed
    submission leaves nothing behind (as enterprises.photos.attach_photos)."""
    return store_photos(
        photos,
        lambda **fields: _save(FindingPhoto(finding=finding, uploaded_by=user, **fields), user, force_insert=True),
    )


def has_completion_photos(finding):
    """True when the finding's standing completion report came with photos (what close-off needs)."""
    return FindingPhoto.objects.current().filter(finding=finding).exists()


def _rectifiers(finding):
    """Who rectified what the finding found: who reported it, and who recorded the unit's rectification since."""
    people = {finding.rectified_by_id} - {None}
    if finding.kind in (FindingKind.MISSED, FindingKind.RELAPSE):
        current = finding.enterprise.rectifications.filter(
            reopened_on__isnull=True, deleted_at__isnull=True, created_at__gte=finding.created_at
        )
        people |= set(current.values_list("created_by_id", flat=True)) - {None}
    return people


@transaction.atomic
def finding_verify(*, finding, passed, closed_on, note, user):
    """Verification (验收): passed closes the finding off (销号); not passed sends it back to 待整改.

    谁整改、谁不能自验: the person who reported the rectification cannot verify it, nor, for a missed
    or relapsed unit, the person who recorded the unit's rectification since the finding. A
    completion reported without photos cannot pass: it can only be sent back.
    """
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.state != FindingState.RECTIFIED:
        raise ValidationError({"__all__": _("只有已整改待验收的问题可以验收")})
    if getattr(user, "pk", None) in _rectifiers(finding):
        raise ValidationError({"__all__": _("谁整改、谁不能自验：请由其他人员验收")})
    if closed_on < (finding.rectified_on or finding.found_on) or closed_on > _today():
        raise ValidationError({"closed_on": _("验收日期须在整改完成日期和今天之间")})
    if passed and not has_completion_photos(finding):
        raise ValidationError(
            {
                "passed": _(
                    "该问题报告整改完成时没有上传整改照片，不能销号。"
                    "请选择“不通过，退回整改”，由责任乡镇（街道）补充现场照片后重新报告整改完成。"
                )
            }
        )
    finding.verification_note = note
    if passed:
        finding.state, finding.closed_on, finding.closed_by = FindingState.CLOSED, closed_on, user
    else:
        finding.state, finding.rectified_on, finding.rectified_by = FindingState.OPEN, None, None
        # The report sent back keeps its photos, marked returned: the next report brings its own.
        now = timezone.now()
        for photo in FindingPhoto.objects.current().filter(finding=finding):
            photo.returned_at = now
            _save(photo, user, update_fields=["returned_at"])
    return _save(
        finding,
        user,
        update_fields=["state", "closed_on", "closed_by", "rectified_on", "rectified_by", "verification_note"],
    )


# --- cross-inspection rounds ---------------------------------------------------------------------


@transaction.atomic
def cross_round_create(*, campaign, name, held_on, ends_on, townships, seed=None, user=None):
    """A round of cross-inspections among ``townships``: who inspects whom is drawn with ``seed`` (recorded)."""
    townships = list({t.pk: t for t in townships}.values())
    if len(townships) < 3:
        raise ValidationError({"townships": _("交叉督查至少需要三个乡镇（街道），才能避免互查")})
    if ends_on < held_on:
        raise ValidationError({"ends_on": _("结束日期不能早于开始日期")})
    seed = rules.new_seed() if seed is None else seed
    round_ = _save(
        CrossRound(campaign=campaign, name=name, held_on=held_on, ends_on=ends_on, seed=seed, created_by=user), user
    )
    for inspecting, inspected in rules.cross_assignment([t.pk for t in townships], seed):
        _save(CrossAssignment(round=round_, inspecting_id=inspecting, inspected_id=inspected), user)
    return round_


def cross_assignment_of(user, inspected, today=None):
    """The assignment under which township staff ``user`` may read ``inspected``'s data today, or None."""
    from core.access import Role, role_of, township_id_of

    if role_of(user) != Role.TOWNSHIP_STAFF:
        return None
    return (
        CrossAssignment.objects.in_force(today or _today(), township_id_of(user))
        .filter(inspected=inspected)
        .select_related("round", "inspected")
        .first()
    )


def record_cross_access(*, assignment, user, path, enterprise=None):
    return CrossAccess.objects.create(assignment=assignment, user=user, path=path[:255], enterprise=enterprise)


# --- look-backs --------------------------------------------------------------------------------


def rectified_periods(township, as_of):
    """The township's alive units rectified as of ``as_of``: their current periods."""
    return Rectification.objects.filter(
        enterprise__township=township,
        enterprise__deleted_at__isnull=True,
        deleted_at__isnull=True,
        rectified_on__lte=as_of,
    ).exclude(reopened_on__lte=as_of)


@transaction.atomic
def lookback_draw(*, campaign, township, as_of, seed=None, user=None):
    """Draw the township's look-back sample; the seed is recorded so the draw can be redone and checked."""
    settings = settings_for(campaign)
    periods = dict(rectified_periods(township, as_of).values_list("enterprise_id", "id"))
    seed = rules.new_seed() if seed is None else seed
    size = rules.sample_size(len(periods), settings.sample_percent, settings.sample_minimum)
    draw = _save(
        LookbackDraw(
            campaign=campaign,
            township=township,
            as_of=as_of,
            seed=seed,
            percent=settings.sample_percent,
            minimum=settings.sample_minimum,
            population=len(periods),
            population_ids=sorted(periods),
            drawn_by=user,
        ),
        user,
    )
    for unit_id in rules.draw_sample(list(periods), size, seed):
        _save(
            Lookback(
                rectification_id=periods[unit_id], enterprise_id=unit_id, township=township, draw=draw, due_on=as_of
            ),
            user,
        )
    return draw


def redraw(draw, current=False):
    """The unit ids the draw's seed selects: equal to the draw's own sample unless its rows were altered.

    From the population recorded with the draw; with ``current`` (or for a draw that recorded none),
    from the township's units rectified on the draw's day as the data stands now, which differs
    only if that period's data was corrected since.
    """
    population = draw.population_ids
    if current or len(population) != draw.population:
        population = list(rectified_periods(draw.township, draw.as_of).values_list("enterprise_id", flat=True))
    return rules.draw_sample(population, rules.sample_size(len(population), draw.percent, draw.minimum), draw.seed)


@transaction.atomic
def lookbacks_schedule(*, campaign, as_of, user=None):
    """Create the look-backs due by ``as_of`` at the city's offsets after each rectification; returns how many.

    Idempotent: a (rectification, offset) pair is scheduled once. Periods re-opened on or before
    the due day need no look-back (the relapse was found already).
    """
    offsets = settings_for(campaign).offsets
    if not offsets:
        return 0
    # Look-backs falling due in the campaign: also those of periods rectified shortly before its start.
    periods = Rectification.objects.filter(
        enterprise__deleted_at__isnull=True,
        deleted_at__isnull=True,
        rectified_on__gte=rules.add_days(campaign.start, -max(offsets)),
        rectified_on__lte=as_of,
    ).values_list("id", "enterprise_id", "enterprise__township_id", "rectified_on", "reopened_on")
    existing = set(
        Lookback.objects.filter(offset_days__isnull=False, rectification_id__in=periods.values("id")).values_list(
            "rectification_id", "offset_days"
        )
    )
    due_now = []
    for period_id, unit_id, township_id, rectified_on, reopened_on in periods.iterator():
        for offset, due in rules.lookback_dates(rectified_on, offsets):
            if due < campaign.start or due > as_of or (period_id, offset) in existing:
                continue
            if reopened_on and reopened_on <= due:
                continue
            due_now.append(
                Lookback(
                    rectification_id=period_id,
                    enterprise_id=unit_id,
                    township_id=township_id,
                    offset_days=offset,
                    due_on=due,
                )
            )
    # A city's first run schedules a look-back per rectification and offset: in bulk, with history.
    bulk_create_with_history(due_now, Lookback, batch_size=1000, default_user=user)
    return len(due_now)


@transaction.atomic
def lookback_check(*, lookback, checked_on, operating, checklist=None, note="", team="", user=None, photos=()):
    """Record a look-back's result, with the site ``photos`` (cleaned by enterprises/photos.py) as its
    evidence, stored in the same transaction (run it in ``core.storage.removed_unless_kept``).

    Found operating again → 死灰复燃: a relapse finding re-opens the unit from ``checked_on``.
    A shut-down unit (关停取缔) passes only with all of 两断三清 ticked; otherwise, as for any unit
    found not up to standard, a 整治不到位 finding is raised. The findings belong to a 回头看
    inspection of the township on that day (created when there is none).
    """
    lookback = Lookback.objects.select_for_update().select_related("rectification", "enterprise").get(pk=lookback.pk)
    if lookback.result != LookbackResult.PENDING:
        raise ValidationError({"__all__": _("该回头看已检查")})
    if checked_on > _today() or checked_on < lookback.rectification.rectified_on:
        raise ValidationError({"checked_on": _("检查日期须在整治完成日期和今天之间")})
    reopened_on = lookback.rectification.reopened_on
    if reopened_on is not None and reopened_on <= checked_on:
        raise ValidationError(
            {"checked_on": _("该次整治已于%(day)s发现死灰复燃，无需再回头看") % {"day": reopened_on.isoformat()}}
        )
    checklist = checklist or {}
    closed = lookback.rectification.method == Method.CLOSED
    if closed and not operating and set(checklist) != set(CHECKLIST_FIELDS):
        raise ValidationError({"__all__": _("关停取缔的单位须逐项填写“两断三清”")})
    for name in CHECKLIST_FIELDS:
        setattr(lookback, name, checklist.get(name) if closed else None)
    if operating:
        result = LookbackResult.RELAPSED
    elif closed and not rules.checklist_passed({name: checklist.get(name) for name in CHECKLIST_FIELDS}):
        result = LookbackResult.FAILED
    else:
        result = LookbackResult.PASSED
    lookback.result, lookback.checked_on, lookback.checked_by, lookback.note = result, checked_on, user, note
    if result != LookbackResult.PASSED:
        inspection = Inspection.objects.filter(
            kind=Kind.LOOKBACK,
            township_id=lookback.township_id,
            inspected_on=checked_on,
            done=True,
            deleted_at__isnull=True,
        ).first() or inspection_record(
            kind=Kind.LOOKBACK,
            inspected_on=checked_on,
            team=team or _("回头看"),
            township=lookback.township,
            user=user,
        )
        inspection.units.add(lookback.enterprise)
        lookback.inspection = inspection
        finding_record(
            inspection=inspection,
            kind=FindingKind.RELAPSE if operating else FindingKind.NOT_DONE,
            description=note or str(result.label),
            deadline=deadline_for(checked_on),
            enterprise=lookback.enterprise,
            user=user,
        )
    checked = _save(lookback, user)
    store_photos(
        photos,
        lambda **fields: _save(LookbackPhoto(lookback=checked, uploaded_by=user, **fields), user, force_insert=True),
    )
    return checked


# --- per-defect rectification (整改提升) ----------------------------------------------------------


@transaction.atomic
def clearance_record(*, enterprise, defect, cleared_on, department, signed_by, note="", user=None):
    """Clear one flagged defect; when the last one clears, the unit is rectified (整改提升) on that date.

    Returns the clearance; its ``rectification`` is set when it completed the unit.
    """
    unit = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
    if unit.deleted_at is not None:
        raise ValidationError({"__all__": _("该单位已删除")})
    if defect not in DEFECT_FIELDS or not getattr(unit, defect):
        raise ValidationError({"defect": _("该单位没有这项四无情形")})
    if unit.rectifications.filter(reopened_on__isnull=True, deleted_at__isnull=True).exists():
        raise ValidationError({"__all__": _("该单位已整治，不需要逐项销号")})
    if cleared_on > _today() or cleared_on < unit.identified_on:
        raise ValidationError({"cleared_on": _("消除日期须在排查日期和今天之间")})
    last_relapse = unit.relapses.filter(deleted_at__isnull=True).aggregate(last=Max("found_on"))["last"]
    if last_relapse is not None and cleared_on < last_relapse:
        raise ValidationError(
            {"cleared_on": _("消除日期不能早于最近一次复发日期（%(day)s）") % {"day": last_relapse.isoformat()}}
        )
    pending = DefectClearance.objects.filter(enterprise=unit, rectification__isnull=True, deleted_at__isnull=True)
    if pending.filter(defect=defect).exists():
        raise ValidationError({"defect": _("这项四无情形已经销号")})
    clearance = _save(
        DefectClearance(
            enterprise=unit,
            defect=defect,
            cleared_on=cleared_on,
            department=department,
            signed_by=signed_by,
            note=note,
            created_by=user,
        ),
        user,
        force_insert=True,
    )
    flagged = {name for name in DEFECT_FIELDS if getattr(unit, name)}
    cleared = set(pending.values_list("defect", flat=True))
    if cleared >= flagged:
        last = pending.aggregate(last=Max("cleared_on"))["last"]
        rectification = rectification_record(
            enterprise=unit,
            method=Method.UPGRADED,
            rectified_on=last,
            note=_("逐项销号：%(items)s") % {"items": "、".join(str(c) for c in pending.order_by("cleared_on"))},
            user=user,
        )
        for item in pending:
            item.rectification = rectification
            _save(item, user, update_fields=["rectification"])
        clearance.refresh_from_db()
    return clearance


# --- reconciliation (对账销号) ---------------------------------------------------------------------


def _snapshot(township):
    """The lists as they stand: units ``[id, name, status, village, address]`` and findings ``[id, unit
    name, kind, deadline, state, unit id, village, address]`` (snapshots made before the village and
    address were kept hold the first three and five items; the page reads the rest then)."""
    units = Enterprise.objects.alive().filter(township=township).exclude(status="rectified").select_related("village")
    findings = Finding.objects.unresolved().filter(township=township).select_related("enterprise__village")
    return {
        "units": [
            [unit.pk, unit.name, unit.get_status_display(), _village_name(unit), unit.address]
            for unit in units.order_by("pk")
        ],
        "findings": [
            [
                f.pk,
                f.enterprise.name,
                f.get_kind_display(),
                f.deadline.isoformat(),
                f.get_state_display(),
                f.enterprise_id,
                _village_name(f.enterprise),
                f.enterprise.address,
            ]
            for f in findings.order_by("pk")
        ],
    }


def _village_name(unit):
    return unit.village.name if unit.village_id else ""


@transaction.atomic
def reconciliation_open(*, township, day=None, user=None):
    """The half-month's reconciliation of ``township``, with the system's list as of now (once per period)."""
    period = rules.half_month_start(day or _today())
    found = Reconciliation.objects.filter(township=township, period_start=period).first()
    if found is not None:
        return found
    return _save(Reconciliation(township=township, period_start=period, snapshot=_snapshot(township)), user)


@transaction.atomic
def reconciliation_dispute(*, reconciliation, description, enterprise=None, finding=None, user=None):
    if reconciliation.confirmed:
        raise ValidationError({"__all__": _("对账已确认，不能再提出差异")})
    if enterprise is not None and enterprise.township_id != reconciliation.township_id:
        raise ValidationError({"enterprise": _("单位须属于对账的乡镇（街道）")})
    if finding is not None and finding.township_id != reconciliation.township_id:
        raise ValidationError({"finding": _("问题须属于对账的乡镇（街道）")})
    return _save(
        ReconciliationItem(
            reconciliation=reconciliation,
            description=description,
            enterprise=enterprise,
            finding=finding,
            raised_by=user,
        ),
        user,
    )


@transaction.atomic
def reconciliation_resolve(*, item, resolution, user=None):
    item = ReconciliationItem.objects.select_for_update().get(pk=item.pk)  # two admins at once: one resolves
    if item.resolved_at is not None:
        raise ValidationError({"__all__": _("该差异已处理")})
    item.resolved_at, item.resolved_by, item.resolution = timezone.now(), user, resolution
    return _save(item, user)


@transaction.atomic
def reconciliation_confirm(*, reconciliation, side, user=None):
    """``side`` "township" or "city" confirms the list; the city confirms last, with every difference resolved."""
    if side not in ("township", "city"):
        raise ValueError(f"unknown side {side!r}")
    rec = Reconciliation.objects.select_for_update().get(pk=reconciliation.pk)
    now = timezone.now()
    if side == "township":
        if rec.township_confirmed_at:
            raise ValidationError({"__all__": _("乡镇已确认")})
        rec.township_confirmed_at, rec.township_confirmed_by = now, user
    else:
        if not rec.township_confirmed_at:
            raise ValidationError({"__all__": _("须先由乡镇（街道）确认")})
        if rec.items.filter(resolved_at__isnull=True).exists():
            raise ValidationError({"__all__": _("还有未处理的差异，处理后才能确认")})
        if rec.city_confirmed_at:
            raise ValidationError({"__all__": _("市级已确认")})
        rec.city_confirmed_at, rec.city_confirmed_by = now, user
    return _save(rec, user)


def deadline_for(found_on: datetime.date) -> datetime.date:
    """The default deadline of a finding made on ``found_on``: the campaign's setting (15 days outside one)."""
    campaign = Campaign.objects.filter(start__lte=found_on, end__gte=found_on).order_by("-start").first()
    days = (
        settings_for(campaign).deadline_days if campaign else QualitySettings._meta.get_field("deadline_days").default
    )
    return rules.add_days(found_on, days)
