"""The progress report: every township's standing on a day, as the notice and dashboard show it.

``progress_report(campaign, as_of)`` is the one entry point. It reads the daily counts
(reports.counts), the targets and the milestone schedule, and applies reports.rules; the JSON
document of SPEC section 3 is ``report.as_json()``.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from campaign.models import Township

from . import rules
from .counts import CombinedCounts, TownshipCounts, daily_counts

CITY_NAME = "全市"


class ReportError(ValueError):
    """A report was asked for something it cannot answer (a day outside the campaign)."""


def _number(value):
    """Decimals as JSON numbers: 30 stays 30, 47.41 stays 47.41."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass
class Row:
    name: str
    township: Township | None
    target: int
    rectified: int
    rate: Decimal | None
    identified: int
    open: int
    demolished_m2: Decimal
    expected_rate: Decimal
    colour: str | None
    milestone_due: dict | None
    milestone_next: dict | None
    counts: TownshipCounts
    rank: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def township_id(self):
        return self.township.pk if self.township else None

    def rectified_between(self, first, last):
        """Net change of rectified(d) over [first, last] (relapses subtract)."""
        return self.counts.rectified_by(last) - self.counts.rectified_by(first - datetime.timedelta(days=1))

    def identified_between(self, first, last):
        return self.counts.identified_by(last) - self.counts.identified_by(first - datetime.timedelta(days=1))

    def as_json(self):
        def milestone(m):
            return None if m is None else {k: _number(v) for k, v in m.items()}

        return {
            "name": self.name,
            "target": self.target,
            "rectified": self.rectified,
            "rate": _number(self.rate),
            "identified": self.identified,
            "open": self.open,
            "demolished_m2": _number(self.demolished_m2),
            "expected_rate": _number(self.expected_rate),
            "colour": self.colour,
            "rank": self.rank,
            "milestone_due": milestone(self.milestone_due),
            "milestone_next": milestone(self.milestone_next),
        }


@dataclass
class ProgressReport:
    campaign: object
    as_of: datetime.date
    city: Row
    townships: list[Row]
    milestones: list[rules.MilestoneSpec]

    def as_json(self):
        return {
            "campaign": self.campaign.slug,
            "as_of": self.as_of.isoformat(),
            "city": self.city.as_json(),
            "townships": [row.as_json() for row in self.townships],
        }

    def row_for(self, township_id):
        return next((row for row in self.townships if row.township_id == township_id), None)


@dataclass(frozen=True)
class _Day:
    """What every row of one report shares: the day, its expected rate and its milestones."""

    as_of: datetime.date
    band: Decimal
    expected: Decimal
    due: rules.MilestoneSpec | None
    next: rules.MilestoneSpec | None


def _row(name, township, counts, revisions, default_target, day):
    target = rules.target_on(revisions, day.as_of, default_target)
    rectified = counts.rectified_by(day.as_of)
    rate = rules.completion_rate(rectified, target)
    due_status = None
    if day.due is not None:
        due_status = rules.due_status(
            day.due, rules.target_on(revisions, day.due.date, default_target), counts.rectified_by(day.due.date)
        )
    return Row(
        name=name,
        township=township,
        target=target,
        rectified=rectified,
        rate=rate,
        identified=counts.identified_by(day.as_of),
        open=counts.open_on(day.as_of),
        demolished_m2=Decimal(counts.demolished_by(day.as_of)).quantize(rules.HUNDREDTH),
        expected_rate=day.expected,
        colour=rules.colour(rate, day.expected, day.band),
        milestone_due=due_status,
        milestone_next=rules.next_status(day.next, day.as_of, target, rectified),
        counts=counts,
    )


def progress_report(campaign, as_of, *, version=None):
    """The report for ``campaign`` as of ``as_of`` (inclusive), which must lie in the campaign.

    Its counts are read day by day for the whole campaign once per counts version and kept (see
    ``reports.counts.daily_counts``), so a report on any day costs what one on a day already asked
    for costs, and each row's figures can be asked for any day up to ``as_of`` (the notice's charts
    and comparisons, a page's week and quarter). ``version``: see there.
    """
    if not campaign.contains(as_of):
        raise ReportError(
            _("日期 %(day)s 不在整治行动年度内（%(start)s 至 %(end)s）")
            % {"day": as_of.isoformat(), "start": campaign.start.isoformat(), "end": campaign.end.isoformat()}
        )
    milestones = [rules.MilestoneSpec(m.date, m.percent) for m in campaign.milestones.all()]
    day = _Day(
        as_of=as_of,
        band=campaign.band,
        expected=rules.expected_rate(as_of, campaign.start, milestones),
        due=rules.milestone_due(as_of, milestones),
        next=rules.milestone_next(as_of, milestones),
    )

    revisions = {}
    city_revisions = []
    for township_id, effective_on, target in campaign.target_revisions.values_list(
        "township_id", "effective_on", "target"
    ):
        if township_id is None:
            city_revisions.append((effective_on, target))
        else:
            revisions.setdefault(township_id, []).append((effective_on, target))

    # The townships counted by as_of, each seen as of that day (the counts run to the campaign's end).
    counts = {
        pk: township_counts.upto(as_of)
        for pk, township_counts in daily_counts(campaign, as_of, version=version).items()
        if township_counts.counted_by(as_of)
    }
    township_ids = set(revisions) | set(counts)
    townships = Township.objects.filter(pk__in=township_ids).order_by("sort_order", "name")

    rows = []
    for township in townships:
        township_counts = counts.get(township.pk) or TownshipCounts(start=campaign.start)
        rows.append(_row(township.name, township, township_counts, revisions.get(township.pk, []), 0, day))
    city_counts = CombinedCounts(campaign.start, [row.counts for row in rows], cap=as_of)
    for row, rank in zip(rows, rules.ranks([(r.rate, r.rectified) for r in rows])):
        row.rank = rank
    # Ranked townships first; the unranked (no target) after them, most rectified first.
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, -r.rectified))

    # Campaign.target is the city's figure from the start unless a revision replaces it that day.
    city_revisions.sort()
    if not city_revisions or city_revisions[0][0] > campaign.start:
        city_revisions.insert(0, (campaign.start, campaign.target))
    city = _row(CITY_NAME, None, city_counts, city_revisions, campaign.target, day)
    return ProgressReport(campaign=campaign, as_of=as_of, city=city, townships=rows, milestones=milestones)
