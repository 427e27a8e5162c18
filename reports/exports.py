"""The progress table and a township's stock ledger, as tables for core.sheets to write (.xlsx or CSV).

Neither table holds personal data.
"""

import calendar
import datetime

from django.utils.translation import gettext as _

from core.sheets import CSV, FORMATS, FORMULA_PREFIXES, XLSX, Table, table_file  # noqa: F401  (the export formats)

from .progress import CITY_NAME


def _colour(colour):
    return {"green": _("绿"), "yellow": _("黄"), "red": _("红")}.get(colour, "")


def progress_table(report):
    """The progress table: the city, then every township in rank order."""
    headers = [
        _("排名"),
        _("乡镇街道"),
        _("年度任务"),
        _("已整治"),
        _("完成率(%)"),
        _("序时进度(%)"),
        _("预警"),
        _("排查发现"),
        _("未整治"),
        _("拆除面积(平方米)"),
        _("当前节点日期"),
        _("当前节点应完成"),
        _("节点是否完成"),
        _("下一节点日期"),
        _("下一节点差额"),
    ]
    rows = []
    for row in [report.city, *report.townships]:
        due, upcoming = row.milestone_due, row.milestone_next
        rows.append(
            [
                row.rank,
                CITY_NAME if row.township is None else row.name,
                row.target,
                row.rectified,
                row.rate,
                row.expected_rate,
                _colour(row.colour),
                row.identified,
                row.open,
                row.demolished_m2,
                due["date"] if due else None,
                due["required"] if due else None,
                (_("是") if due["met"] else _("否")) if due else "",
                upcoming["date"] if upcoming else None,
                upcoming["shortfall"] if upcoming else None,
            ]
        )
    title = _("整治进度表")
    return Table(title, headers, rows)


def _months(first, last):
    day = first
    while day <= last:
        end = min(day.replace(day=calendar.monthrange(day.year, day.month)[1]), last)
        yield day, end
        day = end + datetime.timedelta(days=1)


def ledger_table(report, township):
    """A township's stock ledger: month by month from the campaign's start, then the year to date."""
    headers = [
        _("期间"),
        _("起始日期"),
        _("截止日期"),
        _("期初未整治"),
        _("新排查"),
        _("整治"),
        _("复发"),
        _("期末未整治"),
    ]
    row = report.row_for(township.pk)
    rows = []
    if row is not None:
        periods = [(f"{first:%Y-%m}", first, last) for first, last in _months(report.campaign.start, report.as_of)]
        periods.append((_("年度累计"), report.campaign.start, report.as_of))
        for label, first, last in periods:
            ledger = row.counts.ledger(first, last)
            rows.append(
                [
                    label,
                    first,
                    last,
                    ledger["open_start"],
                    ledger["identified"],
                    ledger["rectified"],
                    ledger["relapsed"],
                    ledger["open_end"],
                ]
            )
    return Table(_("台账"), headers, rows)
