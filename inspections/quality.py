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
    relapsed: int = 0
    failed: int = 0
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
    relapses = Counter(
        Relapse.objects.filter(
            deleted_at__isnull=True,
            enterprise__deleted_at__isnull=True,
            enterprise__township_id__in=ids,
            found_on__range=(since, end),
        ).values_list("enterprise__township_id", flat=True)
    )
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


def _open_units(township_ids, day):
    """Alive units identified by ``day`` and not rectified as of ``day``, per township (SPEC open(d))."""
    units = Enterprise.objects.alive().filter(township_id__in=township_ids, identified_on__lte=day)
    rectified = Q(
        rectifications__deleted_at__isnull=True,
        rectifications__rectified_on__lte=day,
    ) & (Q(rectifications__reopened_on__isnull=True) | Q(rectifications__reopened_on__gt=day))
    rectified_ids = units.filter(rectified).values("id")
    counted = units.exclude(id__in=rectified_ids).values("township_id").annotate(n=Count("id"))
    return {row["township_id"]: row["n"] for row in counted}
