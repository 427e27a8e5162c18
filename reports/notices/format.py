"""Words and numbers of a notice as its documents print them, shared by the .docx, .xlsx and HTML.

Everything here reads the content dict of reports.notices.content (the archived figures) and nothing else.
"""

import datetime

from django.utils.translation import gettext as _

from ..scorecard import movement_text


def chinese_date(text):
    """'2018-03-31' → '2018年3月31日' (公文 dates have no leading zeros)."""
    if not text:
        return ""
    day = datetime.date.fromisoformat(text)
    return f"{day.year}年{day.month}月{day.day}日"


def short_date(text):
    day = datetime.date.fromisoformat(text)
    return f"{day.month}月{day.day}日"


def pct(value):
    return "—" if value is None else f"{value:.2f}"


def number(value):
    return "—" if value is None else str(value)


def rank_change(change, previous_rank=None):
    """Places gained since the previous notice or quarter, in words; "—" when there is nothing to compare."""
    if change is None:
        return "—"
    if change > 0:
        return _("上升%(n)s") % {"n": change}
    if change < 0:
        return _("下降%(n)s") % {"n": -change}
    return _("持平")


def title(content):
    if content["kind"] == "assessment":
        return _("“四无”整治季度督考通报")
    return _("“四无”整治一周一通报")


def serial_text(content):
    if content["kind"] == "assessment":
        return _("%(year)s年%(day)s节点") % {
            "year": content["campaign"]["year"],
            "day": short_date(content["milestone_date"]),
        }
    if content["serial"] is None:  # a draft for a day that cannot be issued
        return _("（不编期号）")
    return _("第%(serial)s期") % {"serial": content["serial"]}


def heading(content):
    if content["kind"] == "assessment":
        return _("关于%(day)s节点目标完成情况的考核通报") % {"day": chinese_date(content["milestone_date"])}
    return _("全市“四无”整治工作进展情况通报")


def draft_mark(content):
    return _("草稿（未发布，仅供审核）") if content["draft"] else ""


def _milestone_text(city):
    due, nxt = city["milestone_due"], city["milestone_next"]
    parts = []
    if due:
        state = _("已完成") if due["met"] else _("未完成")
        parts.append(
            _("%(day)s节点目标%(percent)s%%（%(required)s家）%(state)s")
            % {"day": short_date(due["date"]), "percent": due["percent"], "required": due["required"], "state": state}
        )
    if nxt:
        values = {
            "day": short_date(nxt["date"]),
            "percent": nxt["percent"],
            "required": nxt["required"],
            "shortfall": nxt["shortfall"],
            "days": nxt["days_left"],
        }
        if nxt["shortfall"]:
            text = _("下一节点%(day)s须累计完成%(percent)s%%（%(required)s家），尚差%(shortfall)s家，剩余%(days)s天")
        else:  # already past it: "尚差0家" would read as if something were missing
            text = _("下一节点%(day)s须累计完成%(percent)s%%（%(required)s家），已提前完成，剩余%(days)s天")
        parts.append(text % values)
    return "；".join(parts)


def overview(content):
    """The first body paragraph: the city's totals and milestones."""
    city = content["city"]
    text = _(
        "截至%(day)s，全市年度整治任务%(target)s家，累计整治%(rectified)s家，完成率%(rate)s%%"
        "（序时进度%(expected)s%%）。本周（%(first)s至%(last)s）整治%(week)s家，新排查%(new)s家；"
        "累计排查%(identified)s家，尚未整治%(open)s家。"
    ) % {
        "day": chinese_date(content["as_of"]),
        "target": city["target"],
        "rectified": city["rectified"],
        "rate": pct(city["rate"]),
        "expected": pct(city["expected_rate"]),
        "first": short_date(content["week"][0]),
        "last": short_date(content["week"][1]),
        "week": city["week_rectified"],
        "new": city["week_identified"],
        "identified": city["identified"],
        "open": city["open"],
    }
    milestones = _milestone_text(city)
    return text + (milestones + "。" if milestones else "")


def red_intro(content):
    rule = content["red_rule_label"]
    if not content["red_list"]:
        return _("按“%(rule)s”的规则，本期无乡镇(街道)列入红色名单。") % {"rule": rule}
    names = "、".join(r["name"] for r in content["red_list"])
    return _("按“%(rule)s”的规则，本期列入红色名单的有：%(names)s，建议约谈其主要负责人。") % {
        "rule": rule,
        "names": names,
    }


def inspection_intro(content):
    ins = content["inspections"]
    kinds = "、".join(f"{k['kind']}{k['count']}次" for k in ins["kinds"])
    text = _("本周开展督查%(count)s次") % {"count": ins["count"]}
    if kinds:
        text += f"（{kinds}）"
    return text + _(
        "，发现问题%(week)s个；截至本期，未销号问题%(open)s个，其中逾期未整改%(overdue)s个；本周发现死灰复燃%(relapses)s家。"
    ) % {
        "week": ins["findings_week"],
        "open": ins["findings_open"],
        "overdue": ins["findings_overdue"],
        "relapses": len(ins["relapses"]),
    }


def changes_intro(content):
    changes = content["changes"]
    if changes is None:
        return _("本期为首期通报，无往期数据。")
    if not changes["townships"]:
        return _("第%(serial)s期（截至%(day)s）发布后，该期数据未发生变化。") % {
            "serial": changes["serial"],
            "day": chinese_date(changes["as_of"]),
        }
    return _(
        "第%(serial)s期（截至%(day)s）发布后，以下乡镇(街道)补录或撤回了该日期以前的记录，"
        "该期全市累计整治由%(then)s家变为%(now)s家（已发布的通报不作修改）："
    ) % {
        "serial": changes["serial"],
        "day": chinese_date(changes["as_of"]),
        "then": changes["city_then"],
        "now": changes["city_now"],
    }


def assessment_overview(content):
    city = content["city"]
    state = _("已完成") if city["met"] else _("未完成")
    text = _(
        "截至%(day)s节点，全市累计整治%(rectified)s家，节点目标%(percent)s%%（%(required)s家）%(state)s，"
        "完成率%(rate)s%%，本季度整治%(quarter)s家。"
    ) % {
        "day": chinese_date(content["milestone_date"]),
        "rectified": city["rectified"],
        "percent": content["percent"],
        "required": number(city["required"]),
        "state": state,
        "rate": pct(city["rate"]),
        "quarter": city["quarter_rectified"],
    }
    met = "、".join(content["met"]) or _("无")
    not_met = "、".join(content["not_met"]) or _("无")
    text += _("完成节点目标的乡镇(街道)：%(met)s；未完成的：%(not_met)s。") % {"met": met, "not_met": not_met}
    if "score_cap" in content:  # assessments frozen before scores existed have none
        text += _("得分为各项指标完成率（单项最高计%(cap)s分）的加权平均。") % {"cap": content["score_cap"]}
    return text


# Column headers and cell values of the township table, in the order every format prints them.
def township_headers():
    return [
        _("排名"),
        _("乡镇(街道)"),
        _("年度任务"),
        _("本周整治"),
        _("累计整治"),
        _("完成率(%)"),
        _("序时进度(%)"),
        _("预警"),
        _("较上期"),
        _("距下一节点"),
    ]


def township_cells(row):
    return [
        number(row["rank"]),
        row["name"],
        str(row["target"]),
        str(row["week_rectified"]),
        str(row["rectified"]),
        pct(row["rate"]),
        pct(row["expected_rate"]),
        row["colour_label"],
        rank_change(row["rank_change"], row["previous_rank"]),
        _("已完成") if row["shortfall"] == 0 else number(row["shortfall"]),
    ]


def assessment_headers():
    return [
        _("排名"),
        _("乡镇(街道)"),
        _("年度任务"),
        _("节点应完成"),
        _("累计整治"),
        _("本季度整治"),
        _("完成率(%)"),
        _("节点目标"),
        _("较上季度"),
        _("得分"),
    ]


def assessment_cells(row):
    met = "—" if row["met"] is None or not row["target"] else (_("完成") if row["met"] else _("未完成"))
    return [
        number(row["rank"]),
        row["name"],
        str(row["target"]),
        number(row["required"]),
        str(row["rectified"]),
        str(row["quarter_rectified"]),
        pct(row["rate"]),
        met,
        rank_change(row["rank_change"], row["previous_rank"]),
        pct(row.get("score")),  # assessments frozen before scores existed have none
    ]


# --- the 赛马 scorecard frozen with a quarterly assessment (content["scorecard"], SPEC 5) ---------


def _amount(value):
    """A value as printed: 3, 2.5 → 2.50 (areas and amounts keep their 2 decimals)."""
    if value is None:
        return "—"
    return str(value) if isinstance(value, int) else f"{value:.2f}"


def scorecard_change(entry):
    """↑n / ↓n / 新 / — against the previous frozen scorecard ("—" also when there was none)."""
    if entry["change"] is None:
        return "—"
    return movement_text((entry["change"], entry["places"]))


def scorecard_cell(cell):
    """One township's standing on one indicator: "value/target" and its rate (or 无目标)."""
    if cell is None:
        return "—"
    rate = _("无目标") if cell["rate"] is None else f"{pct(cell['rate'])}%"
    return f"{_amount(cell['value'])}/{cell['target']}\n{rate}"


def scorecard_headers(card):
    return [
        _("排名"),
        _("乡镇(街道)"),
        _("得分"),
        _("较上季度"),
        *(f"{i['name']}（{i['unit']}）" for i in card["indicators"]),
    ]


def scorecard_cells(entry):
    return [
        number(entry["rank"]),
        entry["name"],
        pct(entry["score"]),
        scorecard_change(entry),
        *(scorecard_cell(cell) for cell in entry["cells"]),
    ]


def scorecard_intro(content):
    card = content["scorecard"]
    weights = "、".join(f"{i['name']}{i['weight']}" for i in card["indicators"])
    text = _(
        "截至%(day)s，按各项指标完成率（单项最高计%(cap)s分）的加权平均计算综合得分并排名，"
        "没有年度目标的指标不计入；权重：%(weights)s。"
    ) % {"day": chinese_date(card["as_of"]), "cap": card["score_cap"], "weights": weights}
    if card["previous_date"]:
        text += _("“较上季度”为与%(day)s节点季度督考的赛马排名相比。") % {"day": chinese_date(card["previous_date"])}
    else:
        text += _("此前没有发布过赛马排名，不比较名次变化。")
    return text


# --- the weekly notice's indicators in red (content["indicators_lagging"], SPEC 5) ---------------


def lagging_lines(content):
    """One line per indicator beside the 四无 count: the townships coloured red on the notice's day."""
    lines = []
    for indicator in content["indicators_lagging"]:
        names = "、".join(indicator["townships"]) or _("无")
        lines.append(_("%(name)s：%(names)s") % {"name": indicator["name"], "names": names})
    return lines


def lagging_intro(content):
    if not any(indicator["townships"] for indicator in content["indicators_lagging"]):
        return _("截至%(day)s，其他考核指标均无乡镇(街道)处于红色预警。") % {"day": chinese_date(content["as_of"])}
    return _("截至%(day)s，以下考核指标有乡镇(街道)落后序时进度较多（红色预警），请抓紧推进：") % {
        "day": chinese_date(content["as_of"])
    }


# --- the weekly notice's 加法 progress (content["addition"], SPEC 5) -------------------------------


def addition_amount(row, value):
    """An indicator's figure as printed: areas with 2 decimals (12.50), counts as they are."""
    if value is None:
        return "—"
    return f"{value:.2f}" if row["decimals"] else str(value)


def addition_intro(content):
    return _(
        "截至%(day)s，全市小微园建设、企业入园和腾退土地等“加法”指标完成情况如下"
        "（“本周新增”为%(first)s至%(last)s的变化，年度目标为全市目标）："
    ) % {
        "day": chinese_date(content["as_of"]),
        "first": short_date(content["week"][0]),
        "last": short_date(content["week"][1]),
    }


def addition_headers():
    return [
        _("指标"),
        _("单位"),
        _("本周新增"),
        _("累计完成"),
        _("年度目标"),
        _("完成率(%)"),
        _("序时进度(%)"),
        _("预警"),
        _("距下一节点"),
    ]


def addition_cells(row):
    if row["shortfall"] is None:
        shortfall = "—"
    elif row["shortfall"] == 0:
        shortfall = _("已完成")
    else:
        shortfall = addition_amount(row, row["shortfall"])
    return [
        row["name"],
        row["unit"],
        addition_amount(row, row["week"]),
        addition_amount(row, row["value"]),
        str(row["target"]),
        pct(row["rate"]),
        pct(row["expected_rate"]),
        row["colour_label"],
        shortfall,
    ]


COLOURS = {"green": "绿", "yellow": "黄", "red": "红"}


def colour_label(colour):
    """绿 / 黄 / 红 of a colour, "—" without one (no target)."""
    return _(COLOURS[colour]) if colour in COLOURS else "—"
