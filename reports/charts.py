"""Plotly figures of the dashboard, built on the server in the page's language.

The vendored plotly.min.js only knows English, so every visible word (trace names, axis titles,
hover text) is written here through gettext, and dates in hover text are ISO (the same in both
languages); static/js/charts.js registers Chinese month names for the axis ticks.

The figures are plain dicts in plotly.js's own JSON schema, the document plotly.graph_objs would
produce for the same arguments (tests/reports/test_charts.py compares them), without building and
validating graph objects on every request. The "plotly_white" template is read once from the plotly
package, whose plotly.js version is the one vendored (scripts/vendor_plotly.sh), and sent expanded,
as plotly.py sends it.
"""

import functools
import json
from importlib import resources

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from . import projection

FONT = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
GREEN = "#1a7f37"
BLUE = "#1f5fa8"
RED = "#c62828"
GREY = "#6b7280"
AMBER = "#b58100"
TEMPLATE = "plotly_white"

# What django.utils.html.json_script escapes, so the JSON can sit inside a <script> element.
_SCRIPT_ESCAPES = ((">", "\\u003E"), ("<", "\\u003C"), ("&", "\\u0026"))


@functools.cache
def _template_json():
    """The named plotly.py template as JSON text, read once per process."""
    text = resources.files("plotly").joinpath(f"package_data/templates/{TEMPLATE}.json").read_text(encoding="utf-8")
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def _layout(**kwargs):
    layout = {
        "font": {"family": FONT, "size": 13},
        "separators": ".,",
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "legend": {"orientation": "h", "x": 0, "y": -0.15, "yanchor": "top"},
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT}},
        "height": 380,
    }
    layout.update(kwargs)
    return layout


def _count_axis(largest):
    """A y axis of whole units: plotly would put 0.5 steps on a small count."""
    axis = {"title": {"text": _("单位数（家）")}, "rangemode": "tozero", "tickformat": ",d"}
    if largest <= 8:
        axis.update(tick0=0, dtick=1)
    return axis


def _hover(text):
    return text + "<extra></extra>"


def _steps(totals):
    return [later - earlier for earlier, later in zip(totals, totals[1:])]


def _dates(days):
    return [day.isoformat() for day in days]


def progress_figure(row, campaign, as_of, milestones, series=None):
    """Cumulative rectifications against the milestone staircase and the pro-rata expected line.

    ``series``: the row's counts day by day (``counting.series_counts``) when ``row.counts`` were
    read at a few days only.
    """
    unit = _("家")
    series = series or row.counts
    actual = projection.cumulative_series(series.rectified, series.reopened, campaign.start, as_of)
    steps = projection.milestone_steps(row.target, milestones)
    expected = projection.expected_line(campaign.start, row.target, milestones)
    start, as_of_text = campaign.start.isoformat(), as_of.isoformat()
    data = [
        {
            "customdata": [0] + [float(pct) for _day, pct, _req in steps],
            "hovertemplate": _hover(
                _("%(day)s<br>节点目标 %(pct)s：%(value)s")
                % {"day": "%{x|%Y-%m-%d}", "pct": "%{customdata}%", "value": "%{y:,} " + unit}
            ),
            "line": {"color": RED, "dash": "dash", "shape": "hv", "width": 2},
            "marker": {"size": 8},
            "mode": "lines+markers",
            "name": _("节点目标"),
            "x": [start] + [day.isoformat() for day, _pct, _req in steps],
            "y": [0] + [required for _day, _pct, required in steps],
            "type": "scatter",
        },
        {
            "hovertemplate": _hover(
                _("%(day)s<br>序时进度：%(value)s") % {"day": "%{x|%Y-%m-%d}", "value": "%{y:,.0f} " + unit}
            ),
            "line": {"color": GREY, "dash": "dot", "width": 2},
            "mode": "lines",
            "name": _("序时进度"),
            "x": _dates(day for day, _value in expected),
            "y": [float(value) for _day, value in expected],
            "type": "scatter",
        },
        {
            "hovertemplate": _hover(
                _("%(day)s<br>累计整治：%(value)s") % {"day": "%{x|%Y-%m-%d}", "value": "%{y:,} " + unit}
            ),
            "line": {"color": GREEN, "shape": "hv", "width": 3},
            "mode": "lines",
            "name": _("累计整治"),
            "x": _dates(day for day, _value in actual),
            "y": [value for _day, value in actual],
            "type": "scatter",
        },
    ]
    layout = _layout(
        xaxis={"type": "date", "range": [start, campaign.end.isoformat()], "showgrid": True},
        yaxis=_count_axis(max([row.target, *(value for _day, value in actual)])),
        shapes=[
            {
                "line": {"color": BLUE, "dash": "dot", "width": 1},
                "type": "line",
                "x0": as_of_text,
                "x1": as_of_text,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
            }
        ],
        annotations=[
            {
                "font": {"color": BLUE, "size": 12},
                "showarrow": False,
                "text": _("截至 %(day)s") % {"day": as_of_text},
                "x": as_of_text,
                "xanchor": "right" if as_of > campaign.start + (campaign.end - campaign.start) / 2 else "left",
                "xref": "x",
                "y": 1,
                "yanchor": "top",
                "yref": "paper",
            }
        ],
    )
    return {"data": data, "layout": layout}


def weekly_figure(counts, start, as_of):
    """Units rectified (net of relapses) and newly identified in each 7-day week ending on ``as_of``."""
    unit = _("家")
    windows = projection.week_windows(start, as_of)
    spans = [[first.isoformat(), last.isoformat()] for first, last in windows]
    ends = [span[1] for span in spans]
    # The windows follow each other, so each week's figure is the difference of two consecutive
    # prefix sums: the figure on the eve of the first week, then on the last day of each.
    days = [windows[0][0] - projection.ONE_DAY, *(last for _first, last in windows)] if windows else []
    rectified = _steps([counts.rectified_by(day) for day in days])
    identified = _steps([counts.identified_by(day) for day in days])
    hover = {"first": "%{customdata[0]}", "last": "%{customdata[1]}", "value": "%{y:,} " + unit}
    data = [
        {
            "customdata": spans,
            "hovertemplate": _hover(_("%(first)s 至 %(last)s<br>整治（扣除复发）：%(value)s") % hover),
            "marker": {"color": GREEN},
            "name": _("整治"),
            "x": ends,
            "y": rectified,
            "type": "bar",
        },
        {
            "customdata": spans,
            "hovertemplate": _hover(_("%(first)s 至 %(last)s<br>新排查：%(value)s") % hover),
            "marker": {"color": AMBER},
            "name": _("新排查"),
            "x": ends,
            "y": identified,
            "type": "bar",
        },
    ]
    layout = _layout(
        barmode="group",
        bargap=0.2,
        height=320,
        xaxis={"title": {"text": _("周（截止日）")}, "type": "date"},
        yaxis=_count_axis(max([*rectified, *identified])),
    )
    return {"data": data, "layout": layout}


def figure_json(fig):
    """The figure as JSON that is safe to place inside ``<script type="application/json">``.

    The template goes in as JSON text prepared once rather than being encoded again every time.
    """
    data = json.dumps(fig["data"], separators=(",", ":"), ensure_ascii=False)
    layout = json.dumps(fig["layout"], separators=(",", ":"), ensure_ascii=False)
    text = f'{{"data":{data},"layout":{{"template":{_template_json()},{layout[1:]}}}'
    for char, escape in _SCRIPT_ESCAPES:
        text = text.replace(char, escape)
    return mark_safe(text)  # noqa: S308 - JSON with <, > and & escaped  # nosec B308, B703


def indicator_figure(card, township_id, campaign, as_of):
    """One indicator of the 赛马 scorecard (reports.scorecard.IndicatorCard) for a township (None:
    the city): its value day by day against its milestone staircase and the pro-rata expected line,
    as ``progress_figure`` draws the 四无 count. None when the indicator does not list the township.

    Read from the card alone (its rows, milestones and per-township series): no query.
    """
    row = card.city if township_id is None else card.row_for(township_id)
    series = card.series.get(township_id)
    if row is None or series is None:
        return None
    unit = card.unit
    start, as_of_text = campaign.start, as_of.isoformat()
    points = series.steps(start, as_of)  # the start, every day its value changed, the day itself
    days = [day for day, _value in points]
    values = [float(value) for _day, value in points]
    steps = projection.milestone_steps(row.target, card.milestones)
    expected = projection.expected_line(start, row.target, card.milestones)
    value_format = "%{y:,}" if all(value == int(value) for value in values) else "%{y:,.2f}"
    data = [
        {
            "customdata": [0] + [float(pct) for _day, pct, _req in steps],
            "hovertemplate": _hover(
                _("%(day)s<br>节点目标 %(pct)s：%(value)s")
                % {"day": "%{x|%Y-%m-%d}", "pct": "%{customdata}%", "value": "%{y:,} " + unit}
            ),
            "line": {"color": RED, "dash": "dash", "shape": "hv", "width": 2},
            "marker": {"size": 7},
            "mode": "lines+markers",
            "name": _("节点目标"),
            "x": [start.isoformat()] + [day.isoformat() for day, _pct, _req in steps],
            "y": [0] + [required for _day, _pct, required in steps],
            "type": "scatter",
        },
        {
            "hovertemplate": _hover(
                _("%(day)s<br>序时进度：%(value)s") % {"day": "%{x|%Y-%m-%d}", "value": "%{y:,.2f} " + unit}
            ),
            "line": {"color": GREY, "dash": "dot", "width": 2},
            "mode": "lines",
            "name": _("序时进度"),
            "x": _dates(day for day, _value in expected),
            "y": [float(value) for _day, value in expected],
            "type": "scatter",
        },
        {
            "hovertemplate": _hover(
                _("%(day)s<br>完成值：%(value)s") % {"day": "%{x|%Y-%m-%d}", "value": value_format + " " + unit}
            ),
            "line": {"color": GREEN, "shape": "hv", "width": 3},
            "mode": "lines",
            "name": _("完成值"),
            "x": _dates(days),
            "y": values,
            "type": "scatter",
        },
    ]
    largest = max([row.target, *values])
    axis = {"rangemode": "tozero"}  # the unit is in the chart's caption and its hover text
    if largest <= 8 and all(value == int(value) for value in values):
        axis.update(tick0=0, dtick=1)
    layout = _layout(
        height=300,
        xaxis={"type": "date", "range": [start.isoformat(), campaign.end.isoformat()], "showgrid": True},
        yaxis=axis,
        shapes=[
            {
                "line": {"color": BLUE, "dash": "dot", "width": 1},
                "type": "line",
                "x0": as_of_text,
                "x1": as_of_text,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
            }
        ],
    )
    return {"data": data, "layout": layout}


def indicator_charts(cards, township_id, campaign, as_of):
    """(indicator card, its row, figure JSON) for every card of ``cards`` (reports.scorecard.
    IndicatorCard) that lists ``township_id`` (None: the city), in their order: the scorecard's
    indicators beside ``rectified`` (which has its own chart), or the 加法 pages' few."""
    charts = []
    for indicator in cards:
        figure = indicator_figure(indicator, township_id, campaign, as_of)
        if figure is not None:
            row = indicator.city if township_id is None else indicator.row_for(township_id)
            charts.append((indicator, row, figure_json(figure)))
    return charts
