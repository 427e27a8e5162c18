"""The 加法 pages' charts: the parks page and the land page (campaign/park_views.py,
enterprises/park_views.py) show SPEC 5's built-in indicators (started and completed park area, freed
land) for the city or a township against their milestone staircase, drawn as the scorecard draws
each indicator (``charts.indicator_figure``). Those pages sit on lower floors, so this builder is
handed down to them when the reports app starts (``hand_down``, from ``ReportsConfig.ready``).

Only the indicators a page draws are read, not the whole scorecard: their definitions, milestones
and targets, the campaign's milestones, and their values (``scorecard.indicator_events``, kept per
process under the counts' versions); each card is made as the scorecard makes it,
so a chart here and on the scorecard page show the same figures (``scorecard.cards_of``).
"""

from campaign.parks import provide_indicator_charts

from . import charts, rules
from .scorecard import cards_of


def addition_cards(campaign, as_of, keys):
    """The scorecard's cards (reports.scorecard.IndicatorCard) of the campaign's indicators among
    ``keys``, in that order, on ``as_of``. Five queries and the values' read when not kept; none
    but one when the campaign has none of them."""
    indicators = list(campaign.indicators.filter(key__in=keys).prefetch_related("milestones"))
    if not indicators:
        return []
    milestones = [rules.MilestoneSpec(m.date, m.percent) for m in campaign.milestones.all()]
    cards = {card.key: card for card in cards_of(campaign, as_of, indicators, milestones)[0]}
    return [cards[key] for key in keys if key in cards]


def addition_charts(campaign, as_of, township_id, keys):
    """(indicator card, its row, figure JSON) of each indicator of ``campaign`` among ``keys``, in
    that order, for ``township_id`` (None: the city) on ``as_of``; nothing outside the campaign's
    year, for an indicator the campaign does not have, or one that does not list the township."""
    if not campaign.contains(as_of):
        return []
    return charts.indicator_charts(addition_cards(campaign, as_of, keys), township_id, campaign, as_of)


def hand_down():
    """Give the campaign app's 加法 pages their charts (idempotent)."""
    provide_indicator_charts(addition_charts)
