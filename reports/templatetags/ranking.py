"""The 赛马排名 table's rows, written directly.

Django's template engine spends about 0.4 ms a row on this table's eleven cells (its filters and
lookups), which at 30 townships was most of the dashboard's time. This tag writes the same HTML
(tests/reports/test_views.py checks its cells) with format_html, which
escapes every value just as the template did.
"""

from django import template
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()

_COLOUR_ORDER = {"green": "1", "yellow": "2", "red": "3"}
_ROW = (
    '<tr class="colour-{colour}">'
    '<td data-label="{l_rank}" data-sort-value="{rank_sort}">{rank}</td>'
    '<th scope="row" data-label="{l_township}" data-sort-value="{name}"><a href="{href}?{query}">{name}</a></th>'
    '<td data-label="{l_colour}" data-sort-value="{colour_sort}">'
    '<span class="badge {colour_class}">{colour_label}</span></td>'
    '<td class="num" data-label="{l_rate}" data-sort-value="{rate_sort}">{rate}</td>'
    '<td class="num" data-label="{l_target}" data-sort-value="{target}">{target}</td>'
    '<td class="num" data-label="{l_rectified}" data-sort-value="{rectified}">{rectified}</td>'
    '<td class="num" data-label="{l_week}" data-sort-value="{week}">{week}</td>'
    '<td class="num" data-label="{l_shortfall}" data-sort-value="{shortfall_sort}">{shortfall}</td>'
    '<td class="num" data-label="{l_pace}" data-sort-value="{pace_sort}">{pace}</td>'
    '<td class="num" data-label="{l_needed}" data-sort-value="{needed_sort}">{needed}</td>'
    '<td data-label="{l_outlook}" data-sort-value="{outlook_sort}">{outlook}</td>'
    "</tr>\n"
)


def _text(value):
    """What ``{{ value }}`` shows: the value localized, None as the empty text."""
    return "" if value is None else localize(value)


def _or_dash(value):
    return "—" if value is None else localize(value)


@register.simple_tag
def ranking_rows(ranking, query):
    """The <tr> of every Standing in ``ranking``; ``query`` is the picker's query string."""
    labels = {
        "l_rank": _("排名"),
        "l_township": _("乡镇(街道)"),
        "l_colour": _("预警"),
        "l_rate": _("完成率"),
        "l_target": _("年度任务"),
        "l_rectified": _("已整治"),
        "l_week": _("本周整治"),
        "l_shortfall": _("距下一节点缺口"),
        "l_pace": _("近四周周均"),
        "l_needed": _("需每周"),
        "l_outlook": _("预测"),
    }
    on_track = format_html('<span class="badge badge-green">{}</span>', _("可完成"))
    off_track = format_html('<span class="badge badge-red">{}</span>', _("难完成"))
    rows = []
    for s in ranking:
        row, outlook = s.row, s.projection
        rows.append(
            format_html(
                _ROW,
                colour=row.colour or "none",
                rank_sort=_text(row.rank),
                rank=_or_dash(row.rank),
                name=row.name,
                href=reverse("reports:township", args=[row.township.pk]),
                query=query,
                colour_sort=_COLOUR_ORDER.get(row.colour, ""),
                colour_class=s.colour_class,
                colour_label=s.colour_label,
                rate_sort=_text(row.rate),
                rate="—" if row.rate is None else f"{localize(row.rate)}%",
                target=localize(row.target),
                rectified=localize(row.rectified),
                week=localize(s.week_rectified),
                shortfall_sort=_text(s.shortfall),
                shortfall=_or_dash(s.shortfall),
                pace_sort=_text(outlook and outlook.pace),
                pace=_or_dash(outlook and outlook.pace),
                needed_sort=_text(outlook and outlook.needed),
                needed=_or_dash(outlook and outlook.needed),
                outlook_sort="" if outlook is None else ("1" if outlook.on_track else "2"),
                outlook="—" if outlook is None else (on_track if outlook.on_track else off_track),
                **labels,
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - each row built by format_html, which escapes its values  # nosec B308, B703
