"""The 加法 pages' charts: the parks page and the land page (campaign/park_views.py,
enterprises/park_views.py) show SPEC 5's built-in indicators (started and completed park area, freed
land) for the city or a township against their milestone staircase, drawn as the scorecard draws
each indicator (``charts.indicator_figure``). Those pages sit on lower floors, so this builder is
handed down to them when the reports app starts (``hand_down``, from ``ReportsConfig.ready``).

Only the indicators a page draws are read, not the whole scorecard: their definitions, milestones
and targets, the campaign's milestones, and their values (``scorecard.indicator_events``, kept per
process under the counts' versions); each card is the scorecard's own (``scorecard._indicator_card``),
so a chart here and on the scorecard page show the same figures.
"""

from collections import defaultdict

from campaign.models import IndicatorTarget, Township
from campaign.parks import provide_indicator_charts

from . import charts, rules
from .scorecard import _counted_by, _indicator_card, indicator_events


def addition_cards(campaign, as_of, keys):
    """The scorecard's cards (reports.scorecard.IndicatorCard) of the campaign's indicators among
    ``keys``, in that order, on ``as_of``. Five queries and the values' read when not kept; none
    but one when the campaign has none of them."""
    indicators = list(campaign.indicators.filter(key__in=keys).prefetch_related("milestones"))
    if not indicators:
        return []
    targets = defaultdict(lambda: defaultdict(list))
    for indicator_id, township_id, effective_on, target in IndicatorTarget.objects.filter(
        indicator__in=indicators
    ).values_list("indicator_id", "township_id", "effective_on", "target"):
        targets[indicator_id][township_id].append((effective_on, target))
    events = indicator_events(campaign, indicators)
    listed = {}
    for indicator in indicators:
        ids = {t for t in targets[indicator.pk] if t is not None}
        ids |= {t for t, by_key in events.items() if _counted_by(by_key.get(indicator.key), as_of)}
        listed[indicator.pk] = ids
    wanted = set().union(*listed.values())
    order = sorted(Township.objects.filter(pk__in=wanted), key=lambda t: (t.sort_order, t.name)) if wanted else []
    milestones = [rules.MilestoneSpec(m.date, m.percent) for m in campaign.milestones.all()]
    cards = {
        indicator.key: _indicator_card(
            campaign, milestones, indicator, as_of, order, listed[indicator.pk], targets, events
        )
        for indicator in indicators
    }
    return [cards[key] for key in keys if key in cards]


def addition_charts(campaign, as_of, township_id, keys):
    """(indicator card, its row, figure JSON) of each indicator of ``campaign`` among ``keys``, in
    that order, for ``township_id`` (None: the city) on ``as_of``; nothing outside the campaign's
    year, for an indicator the campaign does not have, or one that does not list the township."""
    if not campaign.contains(as_of):
        return []
    found = []
    for card in addition_cards(campaign, as_of, keys):
        figure = charts.indicator_figure(card, township_id, campaign, as_of)
        if figure is not None:
            row = card.city if township_id is None else card.row_for(township_id)
            found.append((card, row, charts.figure_json(figure)))
    return found


def hand_down():
    """Give the campaign app's 加法 pages their charts (idempotent)."""
    provide_indicator_charts(addition_charts)
