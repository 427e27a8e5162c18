"""Plotly figures of the dashboard, built on the server in the page's language.

The vendored plotly.min.js only knows English, so every visible word (trace names, axis titles,
hover text) is written here through gettext, and dates in hover text are ISO (the same in both
languages); static/js/charts.js registers Chinese month names for the axis ticks.
"""

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from . import projection

FONT = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
GREEN = "#1a7f37"
BLUE = "#1f5fa8"
RED = "#c62828"
GREY = "#6b7280"
AMBER = "#b58100"

# What django.utils.html.json_script escapes, so the JSON can sit inside a <script> element.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _layout(**kwargs):
    layout = {
        "template": "plotly_white",
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


def progress_figure(row, campaign, as_of, milestones):
    """Cumulative rectifications against the milestone staircase and the pro-rata expected line."""
    unit = _("家")
    actual = projection.cumulative_series(row.counts.rectified, row.counts.reopened, campaign.start, as_of)
    steps = projection.milestone_steps(row.target, milestones)
    expected = projection.expected_line(campaign.start, row.target, milestones)

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            name=_("节点目标"),
            x=[campaign.start] + [day for day, _pct, _req in steps],
            y=[0] + [required for _day, _pct, required in steps],
            customdata=[0] + [float(pct) for _day, pct, _req in steps],
            mode="lines+markers",
            line={"shape": "hv", "color": RED, "dash": "dash", "width": 2},
            marker={"size": 8},
            hovertemplate=_("%(day)s<br>节点目标 %(pct)s：%(value)s")
            % {"day": "%{x|%Y-%m-%d}", "pct": "%{customdata}%", "value": "%{y:,} " + unit}
            + "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            name=_("序时进度"),
            x=[day for day, _value in expected],
            y=[float(value) for _day, value in expected],
            mode="lines",
            line={"color": GREY, "dash": "dot", "width": 2},
            hovertemplate=_("%(day)s<br>序时进度：%(value)s") % {"day": "%{x|%Y-%m-%d}", "value": "%{y:,.0f} " + unit}
            + "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            name=_("累计整治"),
            x=[day for day, _value in actual],
            y=[value for _day, value in actual],
            mode="lines",
            line={"shape": "hv", "color": GREEN, "width": 3},
            hovertemplate=_("%(day)s<br>累计整治：%(value)s") % {"day": "%{x|%Y-%m-%d}", "value": "%{y:,} " + unit}
            + "<extra></extra>",
        )
    )
    fig.update_layout(
        **_layout(
            xaxis={"type": "date", "range": [campaign.start, campaign.end], "showgrid": True},
            yaxis=_count_axis(max([row.target, *(value for _day, value in actual)])),
            shapes=[
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": as_of,
                    "x1": as_of,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": BLUE, "width": 1, "dash": "dot"},
                }
            ],
            annotations=[
                {
                    "x": as_of,
                    "xref": "x",
                    "y": 1,
                    "yref": "paper",
                    "text": _("截至 %(day)s") % {"day": as_of.isoformat()},
                    "showarrow": False,
                    "xanchor": "right" if as_of > campaign.start + (campaign.end - campaign.start) / 2 else "left",
                    "yanchor": "top",
                    "font": {"color": BLUE, "size": 12},
                }
            ],
        )
    )
    return fig


def weekly_figure(row, start, as_of):
    """Units rectified (net of relapses) and newly identified in each 7-day week ending on ``as_of``."""
    unit = _("家")
    windows = projection.week_windows(start, as_of)
    spans = [[first.isoformat(), last.isoformat()] for first, last in windows]
    ends = [last for _first, last in windows]
    rectified = [row.rectified_between(first, last) for first, last in windows]
    identified = [row.identified_between(first, last) for first, last in windows]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            name=_("整治"),
            x=ends,
            y=rectified,
            customdata=spans,
            marker={"color": GREEN},
            hovertemplate=_("%(first)s 至 %(last)s<br>整治（扣除复发）：%(value)s")
            % {"first": "%{customdata[0]}", "last": "%{customdata[1]}", "value": "%{y:,} " + unit}
            + "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            name=_("新排查"),
            x=ends,
            y=identified,
            customdata=spans,
            marker={"color": AMBER},
            hovertemplate=_("%(first)s 至 %(last)s<br>新排查：%(value)s")
            % {"first": "%{customdata[0]}", "last": "%{customdata[1]}", "value": "%{y:,} " + unit}
            + "<extra></extra>",
        )
    )
    fig.update_layout(
        **_layout(
            barmode="group",
            bargap=0.2,
            height=320,
            xaxis={"type": "date", "title": {"text": _("周（截止日）")}},
            yaxis=_count_axis(max([*rectified, *identified])),
        )
    )
    return fig


def figure_json(fig):
    """The figure as JSON that is safe to place inside ``<script type="application/json">``."""
    return mark_safe(pio.to_json(fig, validate=False).translate(_SCRIPT_ESCAPES))
