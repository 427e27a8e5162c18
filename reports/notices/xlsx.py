"""A notice (or quarterly assessment) as .xlsx: a summary sheet, the township table, and one sheet
each for the red list, commitments, findings, relapses, late entries and changes to earlier weeks.

Written like core/sheets.py (write-only workbook, text cells never formulas). Numbers stay
numbers (rates as numbers with two decimals) so the table can be sorted and summed.
"""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.sheets import cell as _cell

from . import format as fmt

RATE_FORMAT = "0.00"


def _sheet(book, title, headers, rows, widths=None):
    sheet = book.create_sheet(title[:31])
    for index, header in enumerate(headers, start=1):
        width = widths[index - 1] if widths else max(10, len(header) * 2 + 2)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for text in headers:
        cell = _cell(sheet, text)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for values in rows:
        cells = []
        for value in values:
            cell = _cell(sheet, value)
            if isinstance(value, float):
                cell.number_format = RATE_FORMAT
            cells.append(cell)
        sheet.append(cells)
    return sheet


def _summary(book, content, lines):
    rows = [
        [_("标题"), fmt.title(content)],
        [_("期号"), fmt.serial_text(content)],
        *([[_("文号"), content["doc_number"]]] if content.get("doc_number") else []),
        [_("状态"), fmt.draft_mark(content) or _("已发布")],
        [_("发文机关"), content["office"]],
        [_("日期"), fmt.chinese_date(content["issued_on"])],
        *lines,
    ]
    _sheet(book, _("通报"), [_("项目"), _("内容")], rows, widths=[16, 100])


def _rate(value):
    return None if value is None else float(value)


def _notice(book, content):
    city = content["city"]
    _summary(
        book,
        content,
        [
            [_("截至日期"), content["as_of"]],
            [_("全市年度任务"), city["target"]],
            [_("全市累计整治"), city["rectified"]],
            [_("全市完成率(%)"), _rate(city["rate"])],
            [_("序时进度(%)"), _rate(city["expected_rate"])],
            [_("本周整治"), city["week_rectified"]],
            [_("本周新排查"), city["week_identified"]],
            [_("尚未整治"), city["open"]],
            [_("总体进展"), fmt.overview(content)],
            [_("红色名单"), fmt.red_intro(content)],
            [_("督查情况"), fmt.inspection_intro(content)],
            [_("往期数据变化"), fmt.changes_intro(content)],
        ],
    )
    headers = [*fmt.township_headers(), _("本周新排查"), _("尚未整治"), _("上期排名")]
    rows = [
        [
            r["rank"],
            r["name"],
            r["target"],
            r["week_rectified"],
            r["rectified"],
            _rate(r["rate"]),
            _rate(r["expected_rate"]),
            r["colour_label"],
            fmt.rank_change(r["rank_change"], r["previous_rank"]),
            r["shortfall"],
            r["week_identified"],
            r["open"],
            r["previous_rank"],
        ]
        for r in content["townships"]
    ]
    _sheet(book, _("乡镇排名"), headers, rows)
    red = [
        [r["name"], _rate(r["rate"]), _rate(r["expected_rate"]), r["reason"], r["proposal"]]
        for r in content["red_list"]
    ]
    red += [[r["name"], _rate(r["rate"]), _rate(r["expected_rate"]), r["reason"], ""] for r in content["red_watch"]]
    _sheet(
        book,
        _("红色名单"),
        [_("乡镇(街道)"), _("完成率(%)"), _("序时进度(%)"), _("列入原因"), _("建议")],
        red,
        [16, 12, 12, 60, 30],
    )
    commitments = [
        [c["township"], c["held_on"], c["text"], c["due_on"], c["days_late"], c["follow_up"]]
        for c in content["commitments"]
    ]
    headers = [_("乡镇(街道)"), _("约谈日期"), _("承诺事项"), _("承诺期限"), _("逾期天数"), _("跟踪情况")]
    _sheet(book, _("未落实承诺"), headers, commitments, [16, 12, 40, 12, 10, 40])
    ins = content["inspections"]
    findings = [[f["name"], f["week"], f["open"], f["overdue"]] for f in ins["findings"]]
    _sheet(book, _("督查问题"), [_("乡镇(街道)"), _("本周发现问题"), _("未销号问题"), _("逾期未整改")], findings)
    relapses = [[r["township"], r["unit"], r["owner"], r["phone"], r["found_on"]] for r in ins["relapses"]]
    headers = [_("乡镇(街道)"), _("单位名称"), _("负责人"), _("联系电话"), _("发现日期")]
    _sheet(book, _("死灰复燃"), headers, relapses, [16, 36, 10, 16, 12])
    late = [
        [
            e["township"],
            e["unit"],
            e["owner"],
            e["phone"],
            e["method"],
            e["rectified_on"],
            e["entered_on"],
            e["days_late"],
        ]
        for e in content["late_entries"]
    ]
    headers = [
        _("乡镇(街道)"),
        _("单位名称"),
        _("负责人"),
        _("联系电话"),
        _("整治方式"),
        _("完成日期"),
        _("录入日期"),
        _("相隔天数"),
    ]
    _sheet(book, _("补录"), headers, late, [16, 36, 10, 16, 12, 12, 12, 10])
    changes = content["changes"]["townships"] if content["changes"] else []
    rows = [
        [
            c["name"],
            c["rectified_then"],
            c["rectified_now"],
            _rate(c["rate_then"]),
            _rate(c["rate_now"]),
            "；".join(c["reasons"]),
        ]
        for c in changes
    ]
    headers = [_("乡镇(街道)"), _("原累计整治"), _("现累计整治"), _("原完成率(%)"), _("现完成率(%)"), _("变化原因")]
    _sheet(book, _("往期数据变化"), headers, rows, [16, 12, 12, 12, 12, 60])
    if "indicators_lagging" in content:  # SPEC 5: only a campaign with indicators beside the 四无 count
        rows = [
            [i["name"], i["unit"], len(i["townships"]), "、".join(i["townships"]) or _("无")]
            for i in content["indicators_lagging"]
        ]
        headers = [_("指标"), _("单位"), _("红色预警数"), _("红色预警乡镇(街道)")]
        _sheet(book, _("其他指标预警"), headers, rows, [24, 8, 12, 80])
    if content.get("addition"):  # SPEC 5: only a campaign with 加法 indicators that have a target
        rows = [
            [
                row["name"],
                row["unit"],
                _amount(row, row["week"]),
                _amount(row, row["value"]),
                row["target"],
                _rate(row["rate"]),
                _rate(row["expected_rate"]),
                row["colour_label"],
                row["next_required"],
                _amount(row, row["shortfall"]),
            ]
            for row in content["addition"]
        ]
        headers = [*fmt.addition_headers()[:8], _("下一节点应完成"), _("距下一节点")]
        _sheet(book, _("加法进展"), headers, rows, [20, 8, 12, 12, 12, 12, 12, 8, 14, 12])


def _amount(row, value):
    """A 加法 figure as a number: areas as floats with 2 decimals shown, counts as integers."""
    if value is None:
        return None
    return float(value) if row["decimals"] else value


def _assessment(book, content):
    _summary(
        book,
        content,
        [
            [_("节点日期"), content["milestone_date"]],
            [_("节点目标完成情况"), fmt.assessment_overview(content)],
            [_("考核意见"), content["verdict"]],
        ],
    )
    rows = [
        [
            r["rank"],
            r["name"],
            r["target"],
            r["required"],
            r["rectified"],
            r["quarter_rectified"],
            _rate(r["rate"]),
            fmt.assessment_cells(r)[7],
            fmt.rank_change(r["rank_change"], r["previous_rank"]),
        ]
        for r in content["townships"]
    ]
    _sheet(book, _("季度排名"), fmt.assessment_headers(), rows)
    if content.get("scorecard"):
        _scorecard(book, content["scorecard"])


def _scorecard(book, card):
    """The frozen 赛马 scorecard: per indicator its value, target, rate and colour, numbers as numbers."""
    headers = [_("排名"), _("乡镇(街道)"), _("得分"), _("较上季度"), _("上季度排名")]
    for i in card["indicators"]:
        headers += [
            _("%(name)s完成值（%(unit)s）") % {"name": i["name"], "unit": i["unit"]},
            _("%(name)s年度目标") % {"name": i["name"]},
            _("%(name)s完成率(%%)") % {"name": i["name"]},
            _("%(name)s预警") % {"name": i["name"]},
        ]
    rows = []
    for entry in card["townships"]:
        line = [
            entry["rank"],
            entry["name"],
            _rate(entry["score"]),
            fmt.scorecard_change(entry),
            entry["previous_rank"],
        ]
        for cell in entry["cells"]:
            if cell is None:
                line += [None, None, None, "—"]
            else:
                value = cell["value"] if isinstance(cell["value"], int) else _rate(cell["value"])
                line += [value, cell["target"], _rate(cell["rate"]), fmt.colour_label(cell["colour"])]
        rows.append(line)
    _sheet(book, _("赛马综合排名"), headers, rows, [8, 16, 10, 10, 10] + [14] * (len(headers) - 5))


def render(content):
    book = Workbook(write_only=True)
    book.properties.creator = content["office"]
    (_notice if content["kind"] == "notice" else _assessment)(book, content)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
