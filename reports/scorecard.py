"""The 赛马 scorecard of SPEC 5: every indicator's standing per township on a day, and the score.

``scorecard(campaign, as_of)`` is the one entry point; the JSON document of SPEC 5 is
``card.as_json()``, served by ``manage.py scorecard --json`` and ``GET /api/scorecard``.

- The indicator ``rectified`` is the progress report (reports/progress.py): its rows, targets,
  colours and ranks are exactly the report's, with ``value`` in place of ``rectified``.
- Every other indicator's value of a township on a day is a prefix sum of dated events (a park
  started, an entry and its leaving, a parcel freed, a designation, an imported record), read for
  the whole campaign year in one grouped query per source table and kept per process under the
  townships' counts versions (reports/counts/versions.py: the triggers on those tables move them).
  So a scorecard on any day costs the same fixed handful of queries, however many indicators,
  townships and records there are.
- The arithmetic is reports.rules' (rate, required counts, expected rate, colour, ranks, score).

The choices SPEC leaves open are written down in docs/scorecard.md.
"""

import bisect
import datetime
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from campaign.models import (
    RECTIFIED,
    BuiltIn,
    Demonstration,
    IndicatorRecord,
    IndicatorTarget,
    Park,
    Township,
)
from enterprises.models import LandParcel, ParkEntry

from . import counts, rules

__all__ = [
    "ReportError",
    "Scorecard",
    "compare_with",
    "frozen_card",
    "lagging",
    "last_frozen",
    "movement",
    "movement_text",
    "scorecard",
    "scorecard_json",
]
from .models import Assessment
from .progress import CITY_NAME, ReportError, _number, progress_report

# The indicator ``rectified`` is no row: its name and unit in the document (data, like "全市").
RECTIFIED_NAME = "四无生产经营单位整治"  # as the indicators page (campaign/indicators.py) names it
RECTIFIED_UNIT = "家"

# Built-in keys by the table their values come from; a key of none of them sums imported records.
PARK_KEYS = frozenset({BuiltIn.PARKS_STARTED, BuiltIn.PARK_STARTED_MU, BuiltIn.PARK_COMPLETED_M2})
ENTRY_KEYS = frozenset({BuiltIn.PARK_ENTRIES, BuiltIn.INDIVIDUAL_TO_COMPANY})
LAND_KEYS = frozenset({BuiltIn.LAND_FREED_MU})
DEMONSTRATION_KEYS = frozenset({BuiltIn.ZERO_SIWU_VILLAGES, BuiltIn.ZERO_SIWU_TOWNSHIPS})
# Keys whose values are areas or amounts (2 decimals); the others count items (integers).
DECIMAL_KEYS = frozenset({BuiltIn.PARK_STARTED_MU, BuiltIn.PARK_COMPLETED_M2, BuiltIn.LAND_FREED_MU})

# What the cached read below reads (reports/counts/cache.py); version triggers follow every column.
INDICATOR_VALUES = counts.reads(
    "indicator-values",
    (IndicatorRecord, "pk", "indicator", "township", "date", "amount"),
    (Park, "pk", "township", "started_on", "started_mu", "completed_on", "completed_m2"),
    (ParkEntry, "pk", "park", "entered_on", "left_on", "individual_to_company", "deleted_at"),
    (LandParcel, "pk", "township", "freed_on", "area_mu", "deleted_at"),
    (Demonstration, "pk", "campaign", "township", "village", "designated_on"),
)


def is_decimal(key):
    """Whether an indicator's values are amounts with 2 decimals (records, areas) or counts."""
    return key in DECIMAL_KEYS or key not in BuiltIn.values


# --- values: dated events, summed up to a day ----------------------------------------------------


class Series:
    """An indicator's value of one township (or the city) on any day: the sum of its events' deltas
    dated on or before that day. Built from (day, delta) pairs; shared and read-only once made."""

    __slots__ = ("_days", "_totals", "_zero")

    def __init__(self, events=(), zero=0):
        merged = defaultdict(lambda: zero)
        for day, delta in events:
            merged[day] += delta
        self._days = sorted(merged)
        self._totals, total = [], zero
        for day in self._days:
            total += merged[day]
            self._totals.append(total)
        self._zero = zero

    @classmethod
    def combined(cls, many, zero=0):
        return cls(((day, delta) for series in many for day, delta in series.events()), zero)

    def events(self):
        previous = self._zero
        for day, total in zip(self._days, self._totals, strict=True):
            yield day, total - previous
            previous = total

    def at(self, day):
        found = bisect.bisect_right(self._days, day)
        return self._totals[found - 1] if found else self._zero

    def first_day(self):
        return self._days[0] if self._days else None

    def steps(self, first, last):
        """[(day, value)] on ``first``, ``last`` and every day between them on which the value
        changed, in order: the points of its chart."""
        lo, hi = bisect.bisect_right(self._days, first), bisect.bisect_right(self._days, last)
        points = [(first, self.at(first))]
        points += [
            (day, total) for day, total in zip(self._days[lo:hi], self._totals[lo:hi], strict=True) if day != last
        ]
        if last != first:
            points.append((last, self.at(last)))
        return points


def _fetch_events(campaign, indicators, township_ids):
    """{township_id: {key: Series}} for the campaign's year, of ``township_ids`` (None: every
    township), from its dated events: one grouped query per source table the indicators need."""
    first, last = campaign.start, campaign.end
    keys = {indicator.key for indicator in indicators}
    found = defaultdict(lambda: defaultdict(list))

    def only(queryset, column="township_id"):
        return queryset if township_ids is None else queryset.filter(**{f"{column}__in": township_ids})

    records = {indicator.pk: indicator.key for indicator in indicators if indicator.key not in BuiltIn.values}
    if records:
        rows = only(
            IndicatorRecord.objects.filter(indicator_id__in=records, date__range=(first, last))
            .values("indicator_id", "township_id", "date")
            .annotate(total=Sum("amount"))
            .order_by()
            .values_list("indicator_id", "township_id", "date", "total")
        )
        for indicator_id, township_id, day, total in rows:
            found[township_id][records[indicator_id]].append((day, total))
    if keys & PARK_KEYS:
        parks = only(
            Park.objects.filter(Q(started_on__range=(first, last)) | Q(completed_on__range=(first, last))).values_list(
                "township_id", "started_on", "started_mu", "completed_on", "completed_m2"
            )
        )
        for township_id, started_on, started_mu, completed_on, completed_m2 in parks:
            if started_on is not None and first <= started_on <= last:
                found[township_id][BuiltIn.PARKS_STARTED].append((started_on, 1))
                found[township_id][BuiltIn.PARK_STARTED_MU].append((started_on, started_mu))
            if completed_on is not None and first <= completed_on <= last:
                found[township_id][BuiltIn.PARK_COMPLETED_M2].append((completed_on, completed_m2))
    if keys & ENTRY_KEYS:
        entries = only(
            ParkEntry.objects.filter(deleted_at__isnull=True, entered_on__range=(first, last))
            .values("park__township_id", "entered_on", "left_on", "individual_to_company")
            .annotate(n=Count("park"))  # covered by park_entry_in_park_idx, as the id is not
            .order_by()
            .values_list("park__township_id", "entered_on", "left_on", "individual_to_company", "n"),
            "park__township_id",
        )
        for township_id, entered_on, left_on, to_company, n in entries:
            into = found[township_id]
            for key in (BuiltIn.PARK_ENTRIES, BuiltIn.INDIVIDUAL_TO_COMPANY) if to_company else (BuiltIn.PARK_ENTRIES,):
                into[key].append((entered_on, n))
                if left_on is not None:  # counted until it leaves: from that day on, no more
                    into[key].append((left_on, -n))
    if keys & LAND_KEYS:
        parcels = only(
            LandParcel.objects.filter(deleted_at__isnull=True, freed_on__range=(first, last))
            .values("township_id", "freed_on")
            .annotate(area=Sum("area_mu"))
            .order_by()
        )
        for row in parcels:
            found[row["township_id"]][BuiltIn.LAND_FREED_MU].append((row["freed_on"], row["area"]))
    if keys & DEMONSTRATION_KEYS:
        designations = only(
            Demonstration.objects.filter(campaign=campaign, designated_on__range=(first, last))
            .values("township_id", "designated_on")
            .annotate(
                villages=Count("id", filter=Q(village__isnull=False)),
                townships=Count("id", filter=Q(village__isnull=True)),
            )
            .order_by()
        )
        for row in designations:
            into = found[row["township_id"]]
            for key, n in (
                (BuiltIn.ZERO_SIWU_VILLAGES, row["villages"]),
                (BuiltIn.ZERO_SIWU_TOWNSHIPS, row["townships"]),
            ):
                if n:  # a village's designation is no event of the townships' count
                    into[key].append((row["designated_on"], n))
    # Each township's series made once here, kept with the events they are made of: a page reads
    # them as they are, whatever the day.
    return {
        township_id: {key: Series(events, _zero(key)) for key, events in by_key.items()}
        for township_id, by_key in found.items()
    }


def _zero(key):
    return Decimal("0.00") if is_decimal(key) else 0


def indicator_events(campaign, indicators, version=None):
    """{township_id: {key: Series}} of ``indicators`` over the campaign's year, kept per process
    under the counts' versions and renewed township by township (``counts.per_township``)."""
    indicators = [indicator for indicator in indicators if indicator.key != RECTIFIED]
    if not indicators:
        return {}
    version = version or counts.token()
    key = (campaign.pk, campaign.start, campaign.end, tuple(sorted((i.pk, i.key) for i in indicators)))
    return counts.per_township(
        INDICATOR_VALUES, key, version, lambda township_ids: _fetch_events(campaign, indicators, township_ids)
    )


# --- rows ------------------------------------------------------------------------------------------


@dataclass
class IndicatorRow:
    """One township's (or the city's) standing on one indicator: SPEC 5's IROW."""

    name: str
    township: Township | None
    target: int
    value: Decimal | int
    rate: Decimal | None
    expected_rate: Decimal
    colour: str | None
    milestone_due: dict | None
    milestone_next: dict | None
    rank: int | None = None

    @property
    def township_id(self):
        return self.township.pk if self.township else None

    @property
    def shortfall(self):
        return None if self.milestone_next is None else self.milestone_next["shortfall"]

    def as_json(self):
        def milestone(m):
            return None if m is None else {k: _number(v) for k, v in m.items()}

        return {
            "name": self.name,
            "target": self.target,
            "value": _number(self.value),
            "rate": _number(self.rate),
            "expected_rate": _number(self.expected_rate),
            "colour": self.colour,
            "rank": self.rank,
            "milestone_due": milestone(self.milestone_due),
            "milestone_next": milestone(self.milestone_next),
        }


@dataclass
class IndicatorCard:
    """One indicator's city row and township rows (in its rank order) on the day."""

    key: str
    name: str
    unit: str
    weight: Decimal
    city: IndicatorRow
    townships: list[IndicatorRow]
    milestones: list[rules.MilestoneSpec]
    series: dict = field(default_factory=dict, repr=False)  # township_id (None: city) -> Series

    def __post_init__(self):
        # A page asks a row per township and indicator: by key, not by walking the list each time.
        self._by_township = {row.township_id: row for row in self.townships}

    def row_for(self, township_id):
        return self._by_township.get(township_id)

    def as_json(self):
        return {
            "key": self.key,
            "name": self.name,
            "unit": self.unit,
            "weight": _number(self.weight),
            "city": self.city.as_json(),
            "townships": [row.as_json() for row in self.townships],
        }


@dataclass
class ScoreLine:
    """A township's score and rank, and its row on each indicator (None where it has none)."""

    township: Township
    score: Decimal | None
    rank: int | None
    rows: list  # [IndicatorRow | None], in the indicators' order
    # Against the last frozen scorecard (``compare_with``): (kind, places), or None when none was frozen.
    movement: tuple | None = None

    @property
    def movement_text(self):
        return movement_text(self.movement)

    @property
    def name(self):
        return self.township.name

    @property
    def township_id(self):
        return self.township.pk

    def as_json(self):
        return {"name": self.name, "score": _number(self.score), "rank": self.rank}


@dataclass
class Scorecard:
    campaign: object
    as_of: datetime.date
    indicators: list[IndicatorCard]
    ranking: list[ScoreLine]
    report: object  # the progress report the indicator ``rectified`` is
    # The day of the frozen scorecard the lines' ``movement`` compares with (``compare_with``), if any.
    compared_with: datetime.date | None = None

    def as_json(self):
        return {
            "campaign": self.campaign.slug,
            "as_of": self.as_of.isoformat(),
            "indicators": [card.as_json() for card in self.indicators],
            "ranking": [line.as_json() for line in self.ranking],
        }

    def line_for(self, township_id):
        return next((line for line in self.ranking if line.township_id == township_id), None)

    @property
    def ranked_count(self):
        return sum(1 for line in self.ranking if line.rank is not None)


@dataclass(frozen=True)
class _Day:
    as_of: datetime.date
    band: Decimal
    expected: Decimal
    due: rules.MilestoneSpec | None
    next: rules.MilestoneSpec | None

    @classmethod
    def of(cls, campaign, as_of, milestones):
        return cls(
            as_of=as_of,
            band=campaign.band,
            expected=rules.expected_rate(as_of, campaign.start, milestones),
            due=rules.milestone_due(as_of, milestones),
            next=rules.milestone_next(as_of, milestones),
        )


def _row(name, township, series, revisions, default_target, day):
    """SPEC 2's row with ``value`` in place of ``rectified`` (reports/progress.py ``_row``)."""
    target = rules.target_on(revisions, day.as_of, default_target)
    value = series.at(day.as_of)
    rate = rules.completion_rate(Fraction(value), target)
    due = None
    if day.due is not None:
        due = rules.due_status(
            day.due, rules.target_on(revisions, day.due.date, default_target), series.at(day.due.date)
        )
    return IndicatorRow(
        name=name,
        township=township,
        target=target,
        value=value,
        rate=rate,
        expected_rate=day.expected,
        colour=rules.colour(rate, day.expected, day.band),
        milestone_due=due,
        milestone_next=rules.next_status(day.next, day.as_of, target, value),
    )


def _ranked(rows):
    for row, rank in zip(rows, rules.ranks([(r.rate, r.value) for r in rows]), strict=True):
        row.rank = rank
    # Ranked townships first; the unranked (no target) after them, largest value first (as progress).
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, -r.value))
    return rows


def _from_progress(row):
    return IndicatorRow(
        name=row.name,
        township=row.township,
        target=row.target,
        value=row.rectified,
        rate=row.rate,
        expected_rate=row.expected_rate,
        colour=row.colour,
        milestone_due=row.milestone_due,
        milestone_next=row.milestone_next,
        rank=row.rank,
    )


def _rectified_card(campaign, report):
    return IndicatorCard(
        key=RECTIFIED,
        name=RECTIFIED_NAME,
        unit=RECTIFIED_UNIT,
        weight=campaign.rectified_weight,
        city=_from_progress(report.city),
        townships=[_from_progress(row) for row in report.townships],
        milestones=report.milestones,
    )


def scorecard(campaign, as_of, *, version=None, report=None):
    """The scorecard of ``campaign`` as of ``as_of`` (inclusive, inside the campaign's year).

    Queries: those of the progress report, then the indicators, their milestones and their targets
    (one each; the milestones and targets only when there are indicators), the townships named
    beyond the report's, and the indicators' values (``indicator_events``: nothing when
    kept, else one grouped query per source table), however many indicators there are.
    """
    version = version or counts.token()
    # The progress report refuses a day outside the campaign (ReportError), before anything else is
    # read. ``report``: the page's own progress report of the same day and versions, when it has one.
    if report is None:
        report = progress_report(campaign, as_of, version=version)
    indicators = list(campaign.indicators.order_by("id").prefetch_related("milestones"))
    # The townships on the card: the report's, and those with a target or a value of an indicator.
    known = {row.township.pk: row.township for row in report.townships}
    indicator_cards, order = cards_of(campaign, as_of, indicators, report.milestones, known, version)
    cards = [_rectified_card(campaign, report), *indicator_cards]
    return Scorecard(
        campaign=campaign, as_of=as_of, indicators=cards, ranking=_ranking(campaign, cards, order), report=report
    )


def cards_of(campaign, as_of, indicators, campaign_milestones, known=None, version=None):
    """(the IndicatorCard of each of ``indicators`` on ``as_of``, in their order; the townships of
    the cards in their order): ``known`` ({id: Township}, those the caller has read) and the others
    with a target or a value of one of them. Queries: the indicators' targets, the townships beyond
    ``known``, and their values (``indicator_events``: nothing when kept); none without indicators."""
    if not indicators:
        return [], sorted((known or {}).values(), key=lambda t: (t.sort_order, t.name))
    targets = defaultdict(lambda: defaultdict(list))  # indicator id -> township id (None: city) -> revisions
    for indicator_id, township_id, effective_on, target in IndicatorTarget.objects.filter(
        indicator__in=indicators
    ).values_list("indicator_id", "township_id", "effective_on", "target"):
        targets[indicator_id][township_id].append((effective_on, target))
    events = indicator_events(campaign, indicators, version)
    listed = {}
    for indicator in indicators:
        ids = {t for t in targets[indicator.pk] if t is not None}
        ids |= {t for t, by_key in events.items() if _counted_by(by_key.get(indicator.key), as_of)}
        listed[indicator.pk] = ids
    townships = dict(known or {})
    wanted = set().union(*listed.values()) - set(townships)
    if wanted:
        townships.update({t.pk: t for t in Township.objects.filter(pk__in=wanted)})
    order = sorted(townships.values(), key=lambda t: (t.sort_order, t.name))
    cards = [
        _indicator_card(campaign, campaign_milestones, indicator, as_of, order, listed[indicator.pk], targets, events)
        for indicator in indicators
    ]
    return cards, order


class _CitySum:
    """The city's series of one indicator: the sum of its townships' series, kept with the series it
    was summed from. Renewed by the townships whose series is another object than the one summed
    (the kept events share every unchanged township's, reports/counts/cache.py): their old events
    are taken out and the new ones put in, so that after one township's change the city costs that
    township's days, not every township's. Each day keeps its sum and how many events make it, so
    that a day no event is left on goes, as in a series summed anew."""

    def __init__(self, zero):
        self.zero = zero
        self.parts = {}  # township id -> the Series summed in
        self.days = {}  # day -> [sum of deltas, number of events]
        self.series = Series((), zero)
        self.lock = threading.Lock()

    def of(self, parts):
        with self.lock:
            if parts.keys() == self.parts.keys() and all(parts[t] is self.parts[t] for t in parts):
                return self.series
            for township_id in self.parts.keys() | parts.keys():
                old, new = self.parts.get(township_id), parts.get(township_id)
                if old is new:
                    continue
                if old is not None:
                    for day, delta in old.events():
                        kept = self.days[day]
                        kept[0] -= delta
                        kept[1] -= 1
                        if not kept[1]:
                            del self.days[day]
                if new is not None:
                    for day, delta in new.events():
                        kept = self.days.setdefault(day, [self.zero, 0])
                        kept[0] += delta
                        kept[1] += 1
            self.parts = dict(parts)
            self.series = Series(((day, kept[0]) for day, kept in self.days.items()), self.zero)
            return self.series


_CITY = OrderedDict()  # (campaign id, indicator key) -> _CitySum
_CITY_KEPT = 64
_CITY_LOCK = threading.Lock()


def _city_series(campaign, events, key, zero):
    """The city's series of ``key``: its townships' summed (``_CitySum``, kept per campaign)."""
    with _CITY_LOCK:
        city = _CITY.get((campaign.pk, key))
        if city is None:
            city = _CITY[(campaign.pk, key)] = _CitySum(zero)
        _CITY.move_to_end((campaign.pk, key))
        while len(_CITY) > _CITY_KEPT:
            _CITY.popitem(last=False)
    return city.of({township_id: by_key[key] for township_id, by_key in events.items() if key in by_key})


def _counted_by(series, day):
    first = series.first_day() if series is not None else None
    return first is not None and first <= day


def _indicator_card(campaign, campaign_milestones, indicator, as_of, order, listed, targets, events):
    zero = _zero(indicator.key)
    own = [rules.MilestoneSpec(m.date, m.percent) for m in indicator.milestones.all()]
    # An indicator created with its own milestones uses them; one without any uses the campaign's.
    milestones = own if indicator.own_milestones and own else campaign_milestones
    day = _Day.of(campaign, as_of, milestones)
    none = Series((), zero)
    series = {t.pk: events.get(t.pk, {}).get(indicator.key, none) for t in order if t.pk in listed}
    rows = [_row(t.name, t, series[t.pk], targets[indicator.pk].get(t.pk, []), 0, day) for t in order if t.pk in listed]
    # The city's value sums every township's, listed or not.
    city_series = _city_series(campaign, events, indicator.key, zero)
    series[None] = city_series
    city_revisions = sorted(targets[indicator.pk].get(None, []))
    if not city_revisions or city_revisions[0][0] > campaign.start:
        city_revisions.insert(0, (campaign.start, indicator.target))
    city = _row(CITY_NAME, None, city_series, city_revisions, indicator.target, day)
    return IndicatorCard(
        key=indicator.key,
        name=indicator.name,
        unit=indicator.unit,
        weight=indicator.weight,
        city=city,
        townships=_ranked(rows),
        milestones=milestones,
        series=series,
    )


def _ranking(campaign, cards, order):
    lines = []
    for township in order:
        rows = [card.row_for(township.pk) for card in cards]
        if all(row is None for row in rows):
            continue
        pairs = [(row.rate, card.weight) for card, row in zip(cards, rows, strict=True) if row is not None]
        lines.append(ScoreLine(township=township, score=rules.score(pairs, campaign.score_cap), rank=None, rows=rows))
    for line, rank in zip(lines, rules.score_ranks([line.score for line in lines]), strict=True):
        line.rank = rank
    lines.sort(key=lambda line: (line.rank is None, line.rank or 0))
    return lines


def scorecard_json(campaign, as_of):
    """The SPEC 5 document, as ``manage.py scorecard --json`` prints it: the bench's row
    (``timed(lambda: scorecard_json(campaign, day))``, with ``reports.counts.clear`` as ``before``
    for the first request after a change, without it for a page asked again)."""
    return scorecard(campaign, as_of).as_json()


# --- the quarter's scorecard, frozen with its assessment, and the rank change against it ----------
#
# SPEC 5: "A quarter's scorecard is frozen when it is issued, like a notice, and shows each
# township's rank change against the previous frozen one." The frozen scorecard is part of the
# assessment's archived figures (reports.notices.content.assessment_content), so it never changes
# once issued; pages compare today's ranks with the last one frozen (``last_frozen``).


def has_indicators(card):
    """Whether the campaign ranks on more than ``rectified`` (the scorecard adds something)."""
    return len(card.indicators) > 1


def last_frozen(campaign, day, *, before=False):
    """(milestone date, frozen scorecard dict) of the latest assessment of ``campaign`` frozen with
    a scorecard on or before ``day`` (strictly before it with ``before``), or None. One query."""
    days = {"milestone_date__lt" if before else "milestone_date__lte": day}
    found = (
        Assessment.objects.filter(campaign=campaign, figures__has_key="scorecard", **days)
        .order_by("-milestone_date")
        .values_list("milestone_date", "figures__scorecard")
        .first()
    )
    return None if found is None else (found[0], found[1])


def movement(rank, previous_ranks, township_id):
    """A township's rank change against a frozen scorecard: (kind, places).

    ``previous_ranks``: {township_id: rank or None} of the frozen scorecard, None when there is
    none (no comparison: None). kind: "up"/"down" by ``places``, "same", "new" (ranked now, not
    ranked then), or "none" (not ranked now).
    """
    if previous_ranks is None:
        return None
    if rank is None:
        return ("none", 0)
    was = previous_ranks.get(township_id)
    if was is None:
        return ("new", 0)
    if was > rank:
        return ("up", was - rank)
    if was < rank:
        return ("down", rank - was)
    return ("same", 0)


def movement_text(moved):
    """↑n / ↓n / 新 / — as pages and documents print a rank change; "" when nothing was compared."""
    if moved is None:
        return ""
    kind, places = moved
    if kind == "up":
        return f"↑{places}"
    if kind == "down":
        return f"↓{places}"
    if kind == "new":
        return _("新")
    return "—"


def _previous_ranks(frozen):
    return None if frozen is None else {t["township_id"]: t["rank"] for t in frozen[1]["townships"]}


def compare_with(card, frozen):
    """Set each line's ``movement`` against ``frozen`` (``last_frozen``'s answer, or None)."""
    ranks = _previous_ranks(frozen)
    card.compared_with = None if frozen is None else frozen[0]
    for line in card.ranking:
        line.movement = movement(line.rank, ranks, line.township_id)
    return card


def _cell(row):
    if row is None:
        return None
    return {"value": _number(row.value), "target": row.target, "rate": _number(row.rate), "colour": row.colour}


def frozen_card(card, previous=None):
    """The scorecard as a quarterly assessment archives it (plain JSON values): every indicator,
    each township's cells (value, target, rate, colour; None where it has no row), score, rank and
    rank change against ``previous`` (``last_frozen``'s answer, or None)."""
    ranks = _previous_ranks(previous)
    townships = []
    for line in card.ranking:
        moved = movement(line.rank, ranks, line.township_id)
        townships.append(
            {
                "township_id": line.township_id,
                "name": line.name,
                "score": _number(line.score),
                "rank": line.rank,
                "previous_rank": None if ranks is None else ranks.get(line.township_id),
                "change": None if moved is None else moved[0],
                "places": None if moved is None else moved[1],
                "cells": [_cell(row) for row in line.rows],
            }
        )
    return {
        "as_of": card.as_of.isoformat(),
        "score_cap": _number(Decimal(card.campaign.score_cap)),
        "previous_date": None if previous is None else previous[0].isoformat(),
        "indicators": [
            {"key": i.key, "name": i.name, "unit": i.unit, "weight": _number(Decimal(i.weight))}
            for i in card.indicators
        ],
        "city": [_cell(i.city) for i in card.indicators],
        "townships": townships,
    }


def lagging(card):
    """Per indicator beside ``rectified``: its key, name, unit and the townships coloured red on the
    card's day, in the indicator's rank order (the weekly notice's 赛马指标预警)."""
    return [
        {
            "key": i.key,
            "name": i.name,
            "unit": i.unit,
            "townships": [row.name for row in i.townships if row.colour == "red"],
        }
        for i in card.indicators
        if i.key != RECTIFIED
    ]
