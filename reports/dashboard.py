"""Page-level report entry points: everything the dashboard and a township page show, in one call each.

``dashboard_context(campaign, as_of, township_id=None)`` and ``township_context(campaign, as_of,
township)`` read the progress report once (reports.progress: a fixed handful of grouped queries
however many townships and units there are) and derive the weekly, quarterly and pace figures from
its per-day counts, so a view only picks the campaign and date and renders.
"""

from dataclasses import dataclass, replace

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.models import Village

from . import charts, counts, projection
from .models import Notice
from .progress import Row, progress_report
from .projection import Projection
from .scorecard import compare_with, has_indicators, last_frozen, movement, movement_text, scorecard

OVERDUE_SHOWN = 50  # overdue findings listed on a township page (oldest deadline first)

COLOUR_LABELS = {
    "green": gettext_lazy("绿"),
    "yellow": gettext_lazy("黄"),
    "red": gettext_lazy("红"),
}


@dataclass
class Standing:
    """One row of the progress report with the figures a page adds to it."""

    row: Row
    week: tuple
    quarter: tuple
    week_rectified: int
    week_identified: int
    quarter_rectified: int
    quarter_identified: int
    pace_window: tuple
    projection: Projection | None  # None without a next milestone or a target
    # Its rank change against the last issued weekly notice (``notice_movements``): (kind, places) as
    # reports.scorecard.movement gives it, or None when no notice was issued before the day.
    moved: tuple | None = None

    @property
    def moved_text(self):
        return movement_text(self.moved)

    @property
    def colour_label(self):
        return COLOUR_LABELS.get(self.row.colour, "—")

    @property
    def colour_class(self):
        return f"badge-{self.row.colour or 'grey'}"

    @property
    def pace_days(self):
        return (self.pace_window[1] - self.pace_window[0]).days + 1

    @property
    def shortfall(self):
        nxt = self.row.milestone_next
        return None if nxt is None else nxt["shortfall"]


@dataclass(frozen=True)
class Windows:
    """This week, this quarter and the pace window of a day: the same for every row of a page."""

    week: tuple
    quarter: tuple
    pace: tuple

    @classmethod
    def of(cls, start, as_of):
        return cls(
            week=projection.this_week(as_of, start),
            quarter=projection.this_quarter(as_of, start),
            pace=projection.window_ending(as_of, start, projection.WEEK * projection.PACE_WEEKS),
        )


def standing(row, start, as_of, windows=None):
    windows = windows or Windows.of(start, as_of)
    week, quarter, pace_window = windows.week, windows.quarter, windows.pace
    nxt = row.milestone_next
    outlook = None
    if nxt is not None and row.rate is not None:
        outlook = projection.project(
            rectified=row.rectified,
            recent=row.rectified_between(*pace_window),
            recent_days=(pace_window[1] - pace_window[0]).days + 1,
            required=nxt["required"],
            days_left=nxt["days_left"],
        )
    return Standing(
        row=row,
        week=week,
        quarter=quarter,
        week_rectified=row.rectified_between(*week),
        week_identified=row.identified_between(*week),
        quarter_rectified=row.rectified_between(*quarter),
        quarter_identified=row.identified_between(*quarter),
        pace_window=pace_window,
        projection=outlook,
    )


def last_notice(campaign, as_of):
    """(serial, day, {township_id: rank}) of the latest weekly notice issued for a day before
    ``as_of`` (the one a notice of ``as_of`` would compare with), or None. One query."""
    found = (
        Notice.objects.filter(campaign=campaign, as_of__lt=as_of)
        .order_by("-as_of")
        .values_list("serial", "as_of", "figures__townships")
        .first()
    )
    if found is None:
        return None
    serial, day, townships = found
    rows = townships if isinstance(townships, list) else []  # as the notice stored them (content.py)
    return serial, day, {t["township_id"]: t.get("rank") for t in rows if isinstance(t, dict) and "township_id" in t}


def notice_movements(ranking, notice):
    """The ranking with each township's rank change against ``notice`` (``last_notice``), as the
    notice itself prints it against the one before: ↑n / ↓n / 新 / —."""
    if notice is None:
        return ranking
    ranks = notice[2]
    return [replace(s, moved=movement(s.row.rank, ranks, s.row.township_id)) for s in ranking]


def _charts(row, campaign, as_of, milestones, version):
    """The two charts of ``row``, drawn from its day-by-day counts (the page's are read at a few days)."""
    series = counts.series_counts(campaign, as_of, row.township_id, version)
    return {
        "progress_chart": charts.figure_json(charts.progress_figure(row, campaign, as_of, milestones, series)),
        "weekly_chart": charts.figure_json(charts.weekly_figure(series, campaign.start, as_of)),
    }


def dashboard_context(campaign, as_of, township_id=None):
    """The city dashboard; the charts follow ``township_id`` when it names a township in the report."""
    windows = Windows.of(campaign.start, as_of)
    version = counts.token()  # one read of the counts' versions for the whole page
    report = progress_report(campaign, as_of, version=version)
    city = standing(report.city, campaign.start, as_of, windows)
    notice = last_notice(campaign, as_of)
    ranking = notice_movements([standing(row, campaign.start, as_of, windows) for row in report.townships], notice)
    focus = next((s for s in ranking if township_id is not None and s.row.township_id == township_id), None)
    scope = focus or city
    overdue = counts.overdue_counts(as_of, version)
    card = scorecard(campaign, as_of, version=version, report=report)
    indicator_charts = []
    if has_indicators(card):
        # Each township's rank change against the last scorecard frozen with a quarterly assessment
        # on or before the day (one query); and a chart per indicator for the page's scope.
        compare_with(card, last_frozen(campaign, as_of))
        indicator_charts = charts.indicator_charts(card.indicators[1:], scope.row.township_id, campaign, as_of)
    return {
        # The 赛马 scorecard (SPEC 5): shown when the campaign has indicators besides ``rectified``.
        "scorecard": card,
        "indicator_charts": indicator_charts,
        "overdue": [(s.row, overdue[s.row.township_id]) for s in ranking if overdue.get(s.row.township_id)],
        "overdue_total": sum(overdue.values()),
        "report": report,
        "campaign": campaign,
        "as_of": as_of,
        "city": city,
        "ranking": ranking,
        "ranked_count": sum(1 for s in ranking if s.row.rank is not None),
        # The notice the ranking's ↑↓ compare with: (serial, day, ranks), or None.
        "ranking_notice": notice,
        "focus": focus,
        "scope": scope,
        "milestones": report.milestones,
        **_charts(scope.row, campaign, as_of, report.milestones, version),
    }


@dataclass
class VillageLine:
    name: str | None
    total: int
    identified: int
    rectified: int
    open: int

    @property
    def zero(self):
        """零四无: units were found here and none is left unrectified."""
        return self.total > 0 and self.open == 0


def village_breakdown(township, campaign, as_of, version=None):
    """Per village (and one line for units with no village): the per-village counts the database
    maintains, one grouped query kept per process under the township's counts' version
    (``reports.counts.village_counts``), and the villages' names.

    ``rectified`` follows rectified(d) (a period started in the campaign year holding on ``as_of``);
    ``open`` follows open(d) (identified by ``as_of`` and no period holding on it, whenever begun).
    """
    rows = counts.village_counts(township.pk, campaign.start, as_of, version)
    names = dict(Village.objects.filter(pk__in=[r.village_id for r in rows]).values_list("pk", "name"))
    lines = [
        VillageLine(
            name=names.get(r.village_id),
            total=r.total,
            identified=r.identified,
            rectified=r.rectified,
            open=r.open,
        )
        for r in rows
    ]
    # Where the remaining units are first; units with no village last.
    lines.sort(key=lambda v: (v.name is None, -v.open, v.name or ""))
    return lines


def ledgers(counts, campaign, as_of, week, quarter):
    """The stock ledger for this week, this quarter and the campaign year to date."""
    periods = [
        (_("本周"), week),
        (_("本季度"), quarter),
        (_("年度累计"), (campaign.start, as_of)),
    ]
    return [
        {"label": label, "first": first, "last": last, **counts.ledger(first, last)} for label, (first, last) in periods
    ]


def township_context(campaign, as_of, township, detail=True):
    """One township's page: its standing, charts, villages and stock ledger.

    ``detail``: whether the reader may read the township's units and findings (core.access.
    can_read_township_records). Without it the page keeps what the city-wide ranking shows (the
    standing, charts, ledger and the number of overdue findings) and reads neither the villages nor
    the overdue findings themselves, so no template can show them.
    """
    windows = Windows.of(campaign.start, as_of)
    version = counts.token()
    report = progress_report(campaign, as_of, version=version)
    row = report.row_for(township.pk)
    if detail:
        overdue = counts.overdue_list(as_of, township, OVERDUE_SHOWN, version)
        overdue_total = None
        villages = village_breakdown(township, campaign, as_of, version)
    else:
        overdue, villages = [], []
        overdue_total = counts.overdue_counts(as_of, version).get(township.pk, 0)
    card = scorecard(campaign, as_of, version=version, report=report)
    if has_indicators(card):
        # Its rank change against the last scorecard frozen with a quarterly assessment (one query).
        compare_with(card, last_frozen(campaign, as_of))
    context = {
        # A chart per indicator beside ``rectified`` that lists the township (no query: the card's).
        "indicator_charts": charts.indicator_charts(card.indicators[1:], township.pk, campaign, as_of),
        "report": report,
        "campaign": campaign,
        "as_of": as_of,
        "township": township,
        # The township's row on every indicator (None where it has none) and its score.
        "scorecard": card,
        "score_line": card.line_for(township.pk),
        "indicator_rows": [(indicator, indicator.row_for(township.pk)) for indicator in card.indicators],
        "city": report.city,
        "ranked_count": sum(1 for r in report.townships if r.rank is not None),
        "milestones": report.milestones,
        "detail": detail,
        "villages": villages,
        "scope": None,
        "overdue": overdue,
        "overdue_total": overdue_total,
    }
    if row is None:
        return context
    scope = standing(row, campaign.start, as_of, windows)
    context.update(
        scope=scope,
        ledgers=ledgers(row.counts, campaign, as_of, scope.week, scope.quarter),
        **_charts(row, campaign, as_of, report.milestones, version),
    )
    return context
