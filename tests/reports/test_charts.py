"""The dashboard's charts: plain dicts that plotly.graph_objs accepts and would serialise the same way."""

import datetime
import json

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from django.utils import translation

from enterprises.models import Method
from enterprises.services import rectification_record, relapse_record
from reports import charts
from reports.dashboard import dashboard_context, township_context
from tests.factories import make_township, make_unit, set_target

D = datetime.date
pytestmark = pytest.mark.django_db


def typed(value):
    """JSON as nested (type, value) so that 1 and 1.0 or True and 1 do not compare equal."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def as_plotly_would(figure):
    """What plotly.py sends for the same traces and layout: validated graph objects, expanded template."""
    layout = {key: value for key, value in figure["layout"].items() if key != "template"}
    fig = go.Figure(data=figure["data"], layout={**layout, "template": charts.TEMPLATE})
    return json.loads(pio.to_json(fig, validate=True))


@pytest.fixture
def city(campaign, frozen_today):
    frozen_today()
    east, west = make_township("东城街道"), make_township("西城镇")
    set_target(campaign, east, 6)
    set_target(campaign, west, 40)
    for i in range(5):
        unit = make_unit(east, identified_on=D(2018, 1, 3 + i))
        rectification_record(enterprise=unit, method=Method.DEMOLISHED, rectified_on=D(2018, 2, 1 + i))
        if i == 0:
            relapse_record(enterprise=unit, found_on=D(2018, 3, 1))
    for i in range(12):
        rectification_record(
            enterprise=make_unit(west, identified_on=D(2017, 11, 1 + i)),
            method=Method.CLOSED,
            rectified_on=D(2018, 4, 1 + i),
        )
    return east, west


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("as_of", [D(2018, 1, 1), D(2018, 3, 31), D(2018, 6, 15), D(2018, 12, 31)])
def test_figures_are_what_plotly_would_send(campaign, city, language, as_of):
    east, _west = city
    with translation.override(language):
        pages = [dashboard_context(campaign, as_of), dashboard_context(campaign, as_of, township_id=east.pk)]
        pages.append(township_context(campaign, as_of, east))
        for context in pages:
            for key in ("progress_chart", "weekly_chart"):
                ours = json.loads(context[key])
                assert typed(ours) == typed(as_plotly_would(ours)), key


def test_traces_axes_and_labels_follow_the_language(campaign, city):
    east, _west = city
    with translation.override("zh-hans"):
        context = dashboard_context(campaign, D(2018, 6, 15), township_id=east.pk)
        progress, weekly = json.loads(context["progress_chart"]), json.loads(context["weekly_chart"])
    assert [t["name"] for t in progress["data"]] == ["节点目标", "序时进度", "累计整治"]
    assert [t["name"] for t in weekly["data"]] == ["整治", "新排查"]
    assert weekly["data"][0]["hovertemplate"].startswith("%{customdata[0]} 至 %{customdata[1]}<br>整治（扣除复发）")
    assert progress["layout"]["annotations"][0]["text"] == "截至 2018-06-15"
    # East: 6 units target, 5 rectified in February, one of them relapsed on 03-01.
    actual = progress["data"][2]
    assert actual["x"][0] == "2018-01-01" and actual["x"][-1] == "2018-06-15"
    assert actual["y"][-1] == 4 and max(actual["y"]) == 5
    assert progress["layout"]["yaxis"]["dtick"] == 1  # a small count gets whole-unit ticks
    assert progress["data"][0]["y"] == [0, 2, 4, 5, 6]  # ceil(6 × 30/60/80/100 %)
    assert sum(weekly["data"][0]["y"]) == 4 and sum(weekly["data"][1]["y"]) == 5
    assert weekly["layout"]["template"]["layout"]["paper_bgcolor"] == "white"
    with translation.override("en"):
        context = dashboard_context(campaign, D(2018, 6, 15))
        progress = json.loads(context["progress_chart"])
    assert [t["name"] for t in progress["data"]] == ["Milestone", "Expected progress", "Rectified to date"]


def test_figure_json_can_sit_inside_a_script_element():
    text = charts.figure_json({"data": [{"name": "</script><b>&", "type": "bar"}], "layout": {"height": 1}})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["data"][0]["name"] == "</script><b>&"
    assert json.loads(text)["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
