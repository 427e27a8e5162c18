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
