"""The rows of the parks page and the land page, written directly.

The parks page lists every park of the city (200 in the benchmark city) and the land page 100
parcels: written through the template engine (a translated label per cell, a blocktranslate per
area, a url tag per row) that took longer than the pages' queries. These tags write the same rows,
each value escaped once; the labels and links are made once for all rows (as
enterprises/templatetags/register.py writes the register's rows).
"""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from core.links import pk_links

register = template.Library()

_PARK_ROW = (
    "<tr{full_class}>"
    '<th scope="row" data-label="{l_name}"><a href="{href}">{name}</a></th>'
    '<td data-label="{l_township}">{township}</td>'
    '<td data-label="{l_planned}" class="num">{planned}</td>'
    '<td data-label="{l_started}">{started}</td>'
    '<td data-label="{l_completed}">{completed}</td>'
    '<td data-label="{l_capacity}" class="num">{capacity}</td>'
    '<td data-label="{l_entries}" class="num">{entries}</td>'
    '<td data-label="{l_vacancy}" class="num">{vacancy}</td>'
    '<td data-label="{l_share}" class="num">{share}</td>'
    "</tr>\n"
)

_LAND_ROW = (
    "<tr{idle_class}>"
    '<th scope="row" data-label="{l_name}"><a href="{href}">{name}</a></th>'
    '<td data-label="{l_township}">{township}</td>'
    '<td data-label="{l_area}" class="num">{area}</td>'
    '<td data-label="{l_freed}">{freed}</td>'
    '<td data-label="{l_stage}">{stage}</td>'
    '<td data-label="{l_tax}" class="num">{tax}</td>'
    "</tr>\n"
)


def _text(value, empty="—"):
    return empty if value is None or value == "" else escape(value)


def _badge(colour, text):
    return f' <span class="badge badge-{colour}">{escape(text)}</span>'


@register.simple_tag
def park_rows(lines, query, floor):
    """The <tr> of each park line (campaign.parks.ParkLine) on its day; ``query``: the picker's
    query string the park's link keeps; ``floor``: the company-form floor (%)."""
    labels = {
        key: escape(text)
        for key, text in (
            ("l_name", _("园区名称")),
            ("l_township", _("乡镇(街道)")),
            ("l_planned", _("规划用地(亩)")),
            ("l_started", _("开工")),
            ("l_completed", _("竣工")),
            ("l_capacity", _("入驻容量(家)")),
            ("l_entries", _("在园企业")),
            ("l_vacancy", _("空余(家)")),
            ("l_share", _("公司制占比(%)")),
        )
    }
    not_started = _badge("grey", _("未开工")).strip()
    not_completed = _badge("grey", _("未竣工")).strip()
    full = _badge("red", _("已满"))
    below = _badge("yellow", _("低于%(floor)s%%") % {"floor": floor})
    link = pk_links("parks:detail")
    suffix = f"?{escape(query)}" if query else ""
    rows = []
    for line in lines:
        park, taken = line.park, line.occupancy
        if line.started:
            started = f"{park.started_on.isoformat()} · " + escape(_("%(mu)s亩") % {"mu": park.started_mu})
        else:
            started = not_started
        if line.completed:
            completed = f"{park.completed_on.isoformat()} · " + escape(_("%(m2)s㎡") % {"m2": park.completed_m2})
        else:
            completed = not_completed
        share = taken.company_form_share
        rows.append(
            _PARK_ROW.format(
                full_class=' class="full"' if taken.full else "",
                href=link(park.pk) + suffix,
                name=escape(park.name),
                township=escape(park.township.name),
                planned=_text(park.planned_mu),
                started=started,
                completed=completed,
                capacity=_text(park.capacity),
                entries=f"{taken.entries}{full if taken.full else ''}",
                vacancy=_text(taken.vacancy),
                share=_text(share) + (below if share is not None and share < floor else ""),
                **labels,
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value in the rows was escaped above  # nosec B308, B703


@register.simple_tag
def parcel_rows(rows):
    """The <tr> of each parcel row (enterprises.land.LandRow) on its day."""
    labels = {
        key: escape(text)
        for key, text in (
            ("l_name", _("地块名称")),
            ("l_township", _("乡镇(街道)")),
            ("l_area", _("面积(亩)")),
            ("l_freed", _("腾退日期")),
            ("l_stage", _("当日阶段")),
            ("l_tax", _("亩均税收(万元/亩)")),
        )
    }
    below = _badge("yellow", _("低于标准"))
    link = pk_links("land:detail")
    found = []
    for row in rows:
        parcel = row.parcel
        stage = escape(row.stage.label) if row.stage else ""
        if row.idle:
            stage += _badge("red", _("闲置%(days)s天") % {"days": row.idle_days})
        if row.below_standard:
            stage += below
        tax = "—" if row.per_mu is None else f'{escape(row.per_mu)} <span class="muted">({row.tax_year})</span>'
        found.append(
            _LAND_ROW.format(
                idle_class=' class="idle"' if row.idle else "",
                href=link(parcel.pk),
                name=escape(parcel.name),
                township=escape(parcel.township.name),
                area=escape(parcel.area_mu),
                freed=parcel.freed_on.isoformat(),
                stage=stage,
                tax=tax,
                **labels,
            )
        )
    return mark_safe("".join(found))  # noqa: S308 - every value in the rows was escaped above  # nosec B308, B703
