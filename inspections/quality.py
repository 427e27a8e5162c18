"""Quality figures beside the speed figures: findings, overdue items, look-back relapse rate, 零四无.

All per township for a period ``[start, end]`` (inclusive), each a handful of grouped queries
whatever the number of townships and units.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q

from campaign.models import Township
from enterprises.models import Enterprise, Relapse

from . import rules
from .models import Finding, Lookback, LookbackResult
from .services import settings_for


@dataclass
class QualityRow:
    township: Township
    opened: int = 0
    closed: int = 0
    overdue: int = 0
    unresolved: int = 0
    checked: int = 0
    relapsed: int = 0  # look-backs that found a relapse (the relapse rate's numerator)
    failed: int = 0
    relapses: int = 0  # 死灰复燃 found in the period, by any means (the same rule as eligibility)
    open_units: int = 0
    relapses_recent: int = 0
    lookbacks_pending_late: int = 0
    reasons: list = field(default_factory=list)

    @property
    def relapse_rate(self):
        return rules.relapse_rate(self.relapsed, self.checked)

    @property
    def eligible(self):
        """零四无 demonstration: no open unit, look-backs passed, no relapse in the clean period."""
        return not self.reasons


def _by_township(queryset, **aggregates):
    return {row.pop("township_id"): row for row in queryset.values("township_id").annotate(**aggregates)}


def overdue_findings(today, township=None):
    found = Finding.objects.overdue(today).select_related("enterprise", "township", "inspection")
    return found.filter(township=township) if township is not None else found


def quality_report(campaign, start: datetime.date, end: datetime.date, townships=None):
    """One QualityRow per active township (or ``townships``), for findings and look-backs in ``[start, end]``."""
    townships = list(townships if townships is not None else Township.objects.filter(is_active=True).order_by("name"))
    ids = [t.pk for t in townships]
    findings = Finding.objects.alive().filter(township_id__in=ids)
    opened = _by_township(findings.filter(found_on__range=(start, end)), n=Count("id"))
    closed = _by_township(findings.filter(closed_on__range=(start, end)), n=Count("id"))
    standing = _by_township(
        findings.filter(found_on__lte=end).exclude(closed_on__lte=end),
        unresolved=Count("id"),
        overdue=Count("id", filter=Q(deadline__lt=end) & (Q(rectified_on__isnull=True) | Q(rectified_on__gt=end))),
    )
    # Look-backs of units still in the register (a unit deleted as a mistaken entry takes its own with it).
    alive_lookbacks = Lookback.objects.filter(township_id__in=ids, enterprise__deleted_at__isnull=True)
    lookbacks = _by_township(
        alive_lookbacks.filter(checked_on__range=(start, end)),
        checked=Count("id"),
        relapsed=Count("id", filter=Q(result=LookbackResult.RELAPSED)),
        failed=Count("id", filter=Q(result=LookbackResult.FAILED)),
    )
    clean_days = settings_for(campaign).clean_days
    since = end - datetime.timedelta(days=clean_days - 1)
    window = _by_township(
        alive_lookbacks.filter(checked_on__range=(since, end)),
        bad=Count("id", filter=Q(result__in=[LookbackResult.RELAPSED, LookbackResult.FAILED])),
    )
    # Still unchecked after the due day, unless a relapse found meanwhile made the check moot.
    late = _by_township(
        alive_lookbacks.filter(result=LookbackResult.PENDING, due_on__lt=end).exclude(
            rectification__reopened_on__lte=end
        ),
        n=Count("id"),
    )
    relapses, relapses_in_period = _relapses_by_township(ids, (since, end), (start, end))
    open_units = _open_units(ids, end)
    rows = []
    for township in townships:
        tid = township.pk
        row = QualityRow(
            township=township,
            opened=opened.get(tid, {}).get("n", 0),
            closed=closed.get(tid, {}).get("n", 0),
            overdue=standing.get(tid, {}).get("overdue", 0),
            unresolved=standing.get(tid, {}).get("unresolved", 0),
            checked=lookbacks.get(tid, {}).get("checked", 0),
            relapsed=lookbacks.get(tid, {}).get("relapsed", 0),
            failed=lookbacks.get(tid, {}).get("failed", 0),
            open_units=open_units.get(tid, 0),
            relapses=relapses_in_period.get(tid, 0),
            relapses_recent=relapses.get(tid, 0),
            lookbacks_pending_late=late.get(tid, {}).get("n", 0),
        )
        if row.open_units:
            row.reasons.append("open_units")
        if window.get(tid, {}).get("bad", 0) or row.lookbacks_pending_late:
            row.reasons.append("lookbacks")
        if row.relapses_recent:
            row.reasons.append("relapses")
        if row.unresolved:
            row.reasons.append("findings")
        rows.append(row)
    return rows


def _relapses_by_township(township_ids, *periods):
    """死灰复燃 found in each of ``periods`` per township, in one query: Relapse.objects.found_between,
    the one rule for relapses in a period, over the span of the periods and counted per period."""
    first, last = min(p[0] for p in periods), max(p[1] for p in periods)
    counts = (
        Relapse.objects.found_between(first, last)
        .filter(enterprise__township_id__in=township_ids)
        .values("enterprise__township_id")
        .annotate(**{f"p{i}": Count("id", filter=Q(found_on__range=p)) for i, p in enumerate(periods)})
    )
    result = [Counter() for _ in periods]
    for row in counts:
        for i, counter in enumerate(result):
            counter[row["enterprise__township_id"]] = row[f"p{i}"]
    return result


@dataclass
class VillageRow:
    """零四无 at the village (村/社区) level: the township's rules applied to the village's own units."""

    village_id: int
    name: str
    township_id: int
    township_name: str
    units: int = 0
    open_units: int = 0
    relapses_recent: int = 0
    unresolved: int = 0
    lookbacks_bad: int = 0
    reasons: list = field(default_factory=list)

    @property
    def eligible(self):
        return not self.reasons


def village_report(campaign, end, township_ids, clean_days=None):
    """零四无 eligibility of every village of ``township_ids`` on ``end``, by the township's rules.

    A village qualifies with at least one unit ever registered (a village without any proves nothing),
    no open unit as of ``end``, no relapse and no failed or overdue look-back in the clean period, and
    no finding on its units left unresolved. Five grouped queries, whatever the number of villages.
    """
    from campaign.models import Village

    villages = list(
        Village.objects.filter(township_id__in=township_ids)
        .select_related("township")
        .order_by("township__sort_order", "township__name", "name")
    )
    ids = [v.pk for v in villages]
    if not ids:
        return []
    clean_days = clean_days or settings_for(campaign).clean_days
    since = end - datetime.timedelta(days=clean_days - 1)
    open_ids = Enterprise.objects.open_on(end).values("id")
    counted = (
        Enterprise.objects.alive()
        .filter(village_id__in=ids, identified_on__lte=end)
        .values("village_id")
        .annotate(n=Count("id"), open=Count("id", filter=Q(id__in=open_ids)))
    )
    registered = {row["village_id"]: row["n"] for row in counted}
    open_units = {row["village_id"]: row["open"] for row in counted}
    relapses = _per_village(Relapse.objects.found_between(since, end).filter(enterprise__village_id__in=ids))
    unresolved = _per_village(
        Finding.objects.alive().filter(enterprise__village_id__in=ids, found_on__lte=end).exclude(closed_on__lte=end)
    )
    lookbacks = Lookback.objects.filter(enterprise__village_id__in=ids, enterprise__deleted_at__isnull=True)
    bad = _per_village(
        lookbacks.filter(
            Q(checked_on__range=(since, end), result__in=[LookbackResult.RELAPSED, LookbackResult.FAILED])
            | (Q(result=LookbackResult.PENDING, due_on__lt=end) & ~Q(rectification__reopened_on__lte=end))
        )
    )
    rows = []
    for village in villages:
        vid = village.pk
        row = VillageRow(
            village_id=vid,
            name=village.name,
            township_id=village.township_id,
            township_name=village.township.name,
            units=registered.get(vid, 0),
            open_units=open_units.get(vid, 0),
            relapses_recent=relapses.get(vid, 0),
            unresolved=unresolved.get(vid, 0),
            lookbacks_bad=bad.get(vid, 0),
        )
        if not row.units:
            row.reasons.append("no_units")
        if row.open_units:
            row.reasons.append("open_units")
        if row.lookbacks_bad:
            row.reasons.append("lookbacks")
        if row.relapses_recent:
            row.reasons.append("relapses")
        if row.unresolved:
            row.reasons.append("findings")
        rows.append(row)
    return rows


def _per_village(queryset):
    """Rows of ``queryset`` (of a model with ``enterprise``) counted per the unit's village, in SQL."""
    grouped = queryset.values("enterprise__village_id").annotate(n=Count("id"))
    return {row["enterprise__village_id"]: row["n"] for row in grouped}


def _open_units(township_ids, day):
    """Units open on ``day`` (SPEC open(d), Enterprise.objects.open_on), per township."""
    counted = (
        Enterprise.objects.open_on(day)
        .filter(township_id__in=township_ids)
        .values("township_id")
        .annotate(n=Count("id"))
    )
    return {row["township_id"]: row["n"] for row in counted}
