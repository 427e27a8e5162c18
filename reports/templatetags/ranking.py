"""The report pages' long tables, their rows written directly: the 赛马排名 and the overdue findings.

Django's template engine spends about 0.4 ms a row on the ranking's eleven cells (its filters and
lookups), which at 30 townships was most of the dashboard's time; the 50 overdue findings of a
township page cost it 8 ms. These tags write the same HTML (tests/reports/test_views.py and
tests/reports/test_overdue.py check it), escaping every value as the template did: each value once
with ``escape``, the labels once for all rows, the row put together with ``str.format`` (format_html
per row, which escapes every argument again, cost half the tag's time).
"""

import html
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.conf import settings
from django.template.defaultfilters import floatformat
from django.utils.formats import get_format, localize
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from core.links import pk_links
from inspections.models import FindingKind, Severity

register = template.Library()

_COLOUR_ORDER = {"green": "1", "yellow": "2", "red": "3"}
_ROW = (
    '<tr class="colour-{colour}{mine}"{current}>'
    '<td data-label="{l_rank}" data-sort-value="{rank_sort}">{rank}{move}</td>'
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


_HUNDREDTH = Decimal("0.01")


def _plain_decimals():
    """Whether the active language writes a Decimal as ``format(d, "f")`` does: a "." separator and
    no grouping (true of both the product's languages; Django's localize asks this per number)."""
    return not settings.USE_THOUSAND_SEPARATOR and get_format("DECIMAL_SEPARATOR") == "."


def _number(value, plain=None):
    """What ``{{ value }}`` shows of a number: an int as it is (no thousands separator is set),
    anything else localized. Numbers need no escaping. ``plain``: ``_plain_decimals()`` when the
    caller asked it once for many numbers."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is Decimal and value.is_finite() and (plain if plain is not None else _plain_decimals()):
        return format(value, "f")
    return escape(localize(value))


def _two_places(value, plain):
    """``{{ value|floatformat:"-2" }}``: a whole number without decimals, else rounded half-up to
    two (tests/reports/test_scorecard_cell.py holds it equal to the filter)."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is Decimal and plain and value.is_finite() and value.adjusted() < 100:
        if value == value.to_integral_value():
            return str(int(value))
        rounded = value.quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)
        text = format(rounded, "f")
        return text[1:] if text[0] == "-" and not rounded else text
    return escape(floatformat(value, "-2"))


def _text(value):
    """What ``{{ value }}`` shows: the value localized, None as the empty text."""
    return "" if value is None else _number(value)


def _or_dash(value):
    return "—" if value is None else _number(value)


def _move(moved, text):
    """A rank change (↑n / ↓n / 新 / —) after the rank, "" when nothing was compared or unranked now."""
    if not moved or moved[0] == "none":
        return ""
    return f' <span class="sc-move sc-move-{html.escape(moved[0])}">{html.escape(text)}</span>'


@register.simple_tag
def ranking_rows(ranking, query, mine=None):
    """The <tr> of every Standing in ``ranking``; ``query`` is the picker's query string; ``mine``
    the township id of the reader's own township (township staff), whose row is marked."""
    labels = {
        "l_rank": escape(_("排名")),
        "l_township": escape(_("乡镇(街道)")),
        "l_colour": escape(_("预警")),
        "l_rate": escape(_("完成率")),
        "l_target": escape(_("年度任务")),
        "l_rectified": escape(_("已整治")),
        "l_week": escape(_("本周整治")),
        "l_shortfall": escape(_("距下一节点缺口")),
        "l_pace": escape(_("近四周周均")),
        "l_needed": escape(_("需每周")),
        "l_outlook": escape(_("预测")),
    }
    on_track = format_html('<span class="badge badge-green">{}</span>', _("可完成"))
    off_track = format_html('<span class="badge badge-red">{}</span>', _("难完成"))
    township_url = pk_links("reports:township")
    query = escape(query)
    rows = []
    for s in ranking:
        row, outlook = s.row, s.projection
        name = escape(row.name)
        rows.append(
            _ROW.format(
                colour=escape(row.colour or "none"),
                mine=" is-mine" if mine is not None and row.township_id == mine else "",
                current=' aria-current="true" id="my-township-row"'
                if mine is not None and row.township_id == mine
                else "",
                rank_sort=_text(row.rank),
                rank=_or_dash(row.rank),
                move=_move(s.moved, s.moved_text),
                name=name,
                href=township_url(row.township.pk),
                query=query,
                colour_sort=_COLOUR_ORDER.get(row.colour, ""),
                colour_class=escape(s.colour_class),
                colour_label=escape(s.colour_label),
                rate_sort=_text(row.rate),
                rate="—" if row.rate is None else f"{_number(row.rate)}%",
                target=_number(row.target),
                rectified=_number(row.rectified),
                week=_number(s.week_rectified),
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
    return mark_safe("".join(rows))  # noqa: S308 - every value in the rows was escaped above  # nosec B308, B703


_OVERDUE_ROW = (
    '<tr class="overdue">'
    '<td data-label="{l_unit}"><a href="{href}">{unit}</a></td>'
    '<td data-label="{l_kind}">{kind}{severity}</td>'
    '<td data-label="{l_found}">{found}</td>'
    '<td data-label="{l_deadline}">{deadline}</td>'
    '<td data-label="{l_days}" class="num">{days}</td>'
    "</tr>\n"
)


@register.simple_tag
def overdue_rows(findings):
    """The <tr> of every reports.counts.OverdueFinding in ``findings``.

    Each value is escaped once with ``escape`` and the row put together with ``str.format``: the
    labels and badges are escaped once for all rows (format_html escaped all eleven per row). Dates
    are ISO days, as ``|date:"Y-m-d"`` wrote them; numbers as ``{{ n }}`` wrote them.
    """
    labels = {
        "l_unit": escape(_("单位")),
        "l_kind": escape(_("问题类型")),
        "l_found": escape(_("发现日期")),
        "l_deadline": escape(_("整改期限")),
        "l_days": escape(_("逾期天数")),
    }
    kinds = {value: escape(label) for value, label in FindingKind.choices}
    serious = format_html(' <span class="badge badge-red">{}</span>', Severity.SERIOUS.label)
    finding_url = pk_links("inspections:finding")
    rows = [
        _OVERDUE_ROW.format(
            href=finding_url(f.pk),
            unit=escape(f.unit_name),
            kind=kinds.get(f.kind) or escape(f.kind),
            severity=serious if f.severity == Severity.SERIOUS else "",
            found=f.found_on.isoformat(),
            deadline=f.deadline.isoformat(),
            days=int(f.days_overdue),
            **labels,
        )
        for f in findings
    ]
    return mark_safe("".join(rows))  # noqa: S308 - every value in the rows was escaped above  # nosec B308, B703


_CELL = '<td class="num sc-cell sc-{colour}"{label}{title}>{value}/{target}<br><span class="small">{rate}</span></td>'
_EMPTY_CELL = '<td class="num sc-cell sc-none muted"{label}>—</td>'


def _cell_words():
    """(the title's text with ``%(expected)s``, 无目标) in the active language, escaped: asked once a
    table, not once a cell."""
    return html.escape(_("序时进度 %(expected)s%%")), html.escape(_("无目标"))


@register.simple_tag
def scorecard_cell(row, label="", plain=None, words=None):
    """One township's standing on one indicator of the 赛马 scorecard: value / target and rate,
    coloured by its 三色预警 (the HTML a cell template wrote, tests/reports/test_scorecard_cell.py; written here, as
    a page of 30 townships and a dozen indicators has hundreds of them). ``plain`` and ``words``:
    ``_plain_decimals()`` and ``_cell_words()``, when the caller asked them once for many cells."""
    labelled = f' data-label="{html.escape(label)}"' if label else ""
    if row is None:
        return mark_safe(_EMPTY_CELL.format(label=labelled))  # nosec B308 B703  # the label is escaped
    plain = _plain_decimals() if plain is None else plain
    title_text, no_target = words or _cell_words()
    title = ""
    if row.rate is not None:
        title = ' title="{}"'.format(title_text % {"expected": html.escape(_number(row.expected_rate, plain))})
    return mark_safe(  # nosec B308 B703  # every value is escaped or a number
        _CELL.format(
            colour=html.escape(row.colour or "grey"),
            label=labelled,
            title=title,
            value=_two_places(row.value, plain),
            target=_number(row.target, plain),
            rate=no_target if row.rate is None else f"{_number(row.rate, plain)}%",
        )
    )


_SCORE_ROW = (
    '<tr{mine}><td class="sc-rank" data-label="{l_rank}">{rank}{move}</td>'
    '<th scope="row"><a href="{href}?{query}">{name}</a></th>'
    '<td class="num" data-label="{l_score}"><strong>{score}</strong></td>{cells}</tr>\n'
)


@register.simple_tag
def scorecard_table_rows(lines, indicators, query, mine=None):
    """The <tbody> rows of the 赛马 scorecard: a ScoreLine's rank with its change (↑↓ against the last
    frozen scorecard), its township, its score and a cell per indicator (``scorecard_cell``); the
    reader's own township (``mine``) marked. One tag for the table: at 30 townships and a dozen
    indicators the template's loops and lookups cost more than the scorecard's arithmetic."""
    plain, words = _plain_decimals(), _cell_words()
    names = [indicator.name for indicator in indicators]
    labels = {"l_rank": escape(_("排名")), "l_score": escape(_("得分"))}
    same = escape(_("名次不变"))
    township_url = pk_links("reports:township")
    query = escape(query)
    rows = []
    for line in lines:
        move = ""
        if line.movement and line.movement[0] != "none":
            kind = line.movement[0]
            title = f' title="{same}"' if kind == "same" else ""
            move = f' <span class="sc-move sc-move-{kind}"{title}>{escape(line.movement_text)}</span>'
        cells = "".join(scorecard_cell(row, name, plain, words) for name, row in zip(names, line.rows, strict=True))
        rows.append(
            _SCORE_ROW.format(
                mine=' class="is-mine"' if mine is not None and line.township.pk == mine else "",
                rank="—" if line.rank is None else line.rank,
                move=move,
                href=township_url(line.township.pk),
                query=query,
                name=escape(line.township.name),
                score="—" if line.score is None else _number(line.score, plain),
                cells=cells,
                **labels,
            )
        )
    return mark_safe("".join(rows))  # nosec B308 B703  # every value in the rows was escaped above


@register.simple_tag
def scorecard_city_cells(indicators):
    """The scorecard's 全市 cells, one per indicator."""
    plain, words = _plain_decimals(), _cell_words()
    return mark_safe(  # nosec B308 B703  # scorecard_cell escapes
        "".join(scorecard_cell(indicator.city, indicator.name, plain, words) for indicator in indicators)
    )
