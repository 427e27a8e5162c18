# ruff: noqa: E501  (REFERENCE is the template text as it was)
"""The scorecard's cells written by a tag (reports/templatetags/ranking.py scorecard_cell) are the
HTML the cell template wrote, in both languages, for every kind of row."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import engines
from django.utils import translation

from reports.templatetags.ranking import scorecard_cell

REFERENCE = """{% load i18n %}{% if row is None %}<td class="num sc-cell sc-none muted"{% if label %} data-label="{{ label }}"{% endif %}>—</td>{% else %}<td class="num sc-cell sc-{{ row.colour|default:'grey' }}"{% if label %} data-label="{{ label }}"{% endif %}{% if row.rate is not None %} title="{% blocktranslate with expected=row.expected_rate %}序时进度 {{ expected }}%{% endblocktranslate %}"{% endif %}>{{ row.value|floatformat:"-2" }}/{{ row.target }}<br><span class="small">{% if row.rate is None %}{% translate "无目标" %}{% else %}{{ row.rate }}%{% endif %}</span></td>{% endif %}"""

ROWS = [
    None,
    SimpleNamespace(value=12, target=20, rate=Decimal("60.00"), expected_rate=Decimal("58.33"), colour="green"),
    SimpleNamespace(
        value=Decimal("1234.50"), target=3000, rate=Decimal("41.15"), expected_rate=Decimal("58.33"), colour="red"
    ),
    SimpleNamespace(value=Decimal("2.00"), target=0, rate=None, expected_rate=Decimal("58.33"), colour=None),
    SimpleNamespace(value=0, target=5, rate=Decimal("0.00"), expected_rate=Decimal("0.00"), colour="yellow"),
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("label", ["小微园开工面积", "", "<b>&</b>"])
@pytest.mark.parametrize("row", ROWS)
def test_the_tag_writes_what_the_template_wrote(row, label, language):
    template = engines["django"].from_string(REFERENCE)
    with translation.override(language):
        expected = template.render({"row": row, "label": label})
        assert str(scorecard_cell(row, label)) == expected


NUMBERS = [
    0,
    7,
    -3,
    10**12,
    *(
        Decimal(text)
        for text in (
            "0",
            "-0",
            "0.00",
            "2.00",
            "2.5",
            "2.005",
            "2.004",
            "-0.001",
            "-2.555",
            "1234.50",
            "0.1",
            "99.995",
            "1E+3",
            "1.23E+5",
            "12345678901234.5678",
            "3.14159",
            "-7.10",
        )
    ),
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("value", NUMBERS, ids=str)
def test_numbers_are_written_as_the_filters_write_them(value, language):
    from django.template.defaultfilters import floatformat
    from django.utils.formats import localize

    from reports.templatetags.ranking import _number, _plain_decimals, _two_places

    with translation.override(language):
        assert _two_places(value, _plain_decimals()) == floatformat(value, "-2")
        assert _number(value) == localize(value)


# The row loop of templates/reports/_scorecard.html before the rows were written by a tag.
ROWS_REFERENCE = """{% load i18n ranking %}{% translate "排名" as l_rank %}{% translate "得分" as l_score %}
      {% for line, cells in scorecard_rows %}
        <tr{% if line.township_id == mine_id %} class="is-mine"{% endif %}>
          <td class="sc-rank" data-label="{{ l_rank }}">{{ line.rank|default:"—" }}{% if line.movement and line.movement.0 != "none" %} <span class="sc-move sc-move-{{ line.movement.0 }}"{% if line.movement.0 == "same" %} title="{% translate '名次不变' %}"{% endif %}>{{ line.movement_text }}</span>{% endif %}</td>
          <th scope="row"><a href="{% url 'reports:township' line.township_id %}?{{ query }}">{{ line.name }}</a></th>
          <td class="num" data-label="{{ l_score }}"><strong>{% if line.score is None %}—{% else %}{{ line.score }}{% endif %}</strong></td>
          {% for indicator, row in cells %}
            {% scorecard_cell row indicator.name %}
          {% endfor %}
        </tr>
      {% endfor %}"""


def _line(pk, name, score, rank, movement, rows):
    from reports.scorecard import movement_text

    township = SimpleNamespace(pk=pk, name=name)
    return SimpleNamespace(
        township=township,
        township_id=pk,
        name=name,
        score=score,
        rank=rank,
        movement=movement,
        movement_text=movement_text(movement),
        rows=rows,
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("mine", [None, 7])
def test_the_rows_tag_writes_what_the_row_loop_wrote(language, mine):
    import re

    from reports.templatetags.ranking import scorecard_table_rows

    indicators = [SimpleNamespace(name="四无整治"), SimpleNamespace(name="<i>开工</i> & 面积")]
    lines = [
        _line(7, "塘下镇", Decimal("101.25"), 1, ("up", 2), [ROWS[1], ROWS[2]]),
        _line(8, "<b>莘塍</b>街道", Decimal("88.00"), 2, ("same", 0), [ROWS[4], None]),
        _line(9, "飞云街道", Decimal("60.5"), 2, ("new", 0), [ROWS[3], ROWS[1]]),
        _line(10, "仙降街道", None, None, ("none", 0), [None, ROWS[3]]),
        _line(11, "马屿镇", Decimal("10"), 4, None, [ROWS[2], ROWS[4]]),
        _line(12, "高楼镇", Decimal("9.99"), 5, ("down", 3), [ROWS[1], ROWS[1]]),
    ]
    query = "campaign=rui-an-2018&as_of=2018-09-30&x=<&>"
    template = engines["django"].from_string(ROWS_REFERENCE)
    with translation.override(language):
        expected = template.render(
            {
                "scorecard_rows": [(line, list(zip(indicators, line.rows, strict=True))) for line in lines],
                "mine_id": mine,
                "query": query,
            }
        )
        written = str(scorecard_table_rows(lines, indicators, query, mine))

    def squeezed(html):
        return re.sub(r">\s+<", "><", html).strip()

    assert squeezed(written) == squeezed(expected)
    assert written.count("<tr") == len(lines)
