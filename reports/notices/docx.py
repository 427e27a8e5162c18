"""A notice (or quarterly assessment) as a .docx laid out like a Chinese official document (公文).

A4 portrait with the GB/T 9704 margins (text block 156 × 225 mm); a red masthead (title in
方正小标宋简体, the serial number, the issuing office and date over a red rule); headings in 黑体,
body in 仿宋_GB2312 三号, tables in 小五 so ten columns fit the width. Every run declares its East
Asian font (w:rFonts w:eastAsia) so Word on Chinese Windows shows the intended typeface, and the
font table gives each an alternative (w:altName) that ships with every Chinese Windows: Word uses
it where the first is not installed; LibreOffice maps both to the installed CJK font.
"""

import io

from django.utils.translation import gettext as _
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

from . import chart
from . import format as fmt

TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
TABLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
# Where a font is missing, Word takes its w:altName: these four come with every Chinese Windows.
ALTERNATIVES = {TITLE_FONT: "宋体", HEADING_FONT: "SimHei", BODY_FONT: "仿宋", TABLE_FONT: "SimSun"}
RED = RGBColor(0xC0, 0x00, 0x00)
TEXT_WIDTH_MM = 156
BODY_PT, TABLE_PT = 16, 9


def _fonts(run, east_asia, size, *, bold=False, colour=None):
    run.font.name = LATIN_FONT
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:hint"), "eastAsia")
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour
    return run


def _paragraph(doc, text="", *, font=BODY_FONT, size=BODY_PT, bold=False, colour=None, align=None, indent=True):
    paragraph = doc.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    form = paragraph.paragraph_format
    form.space_before = form.space_after = Pt(0)
    form.line_spacing = Pt(28) if size >= BODY_PT else None
    if indent and align is None:
        form.first_line_indent = Pt(size * 2)
    if text:
        _fonts(paragraph.add_run(text), font, size, bold=bold, colour=colour)
    return paragraph


def _border_bottom(paragraph, colour="C00000", size=12):
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "4"), ("color", colour)):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _defaults(doc):
    """Normal style and document defaults: our fonts, not the template's theme (Japanese) fonts."""
    styles = doc.styles.element
    for fonts in styles.iter(qn("w:rFonts")):
        for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
            fonts.attrib.pop(qn(f"w:{attr}"), None)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)


def _font_table(doc):
    """Declare each Chinese font with its alternative and the GB2312 character set."""
    part = next((rel.target_part for rel in doc.part.rels.values() if rel.reltype == RT.FONT_TABLE), None)
    if part is None:  # a city's template without a font table: Word falls back on its own
        return
    root = etree.fromstring(part.blob)
    declared = {font.get(qn("w:name")) for font in root.findall(qn("w:font"))}
    for name, alternative in ALTERNATIVES.items():
        if name in declared:
            continue
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        for tag, value in (("altName", alternative), ("charset", "86"), ("family", "auto"), ("pitch", "variable")):
            etree.SubElement(font, qn(f"w:{tag}")).set(qn("w:val"), value)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _page(doc, content):
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(20)
    if content["draft"]:
        _draft_header(section, content)
    _page_number(section)


def _draft_header(section, content):
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _fonts(header.add_run(fmt.draft_mark(content)), HEADING_FONT, 10.5, colour=RED)


def _page_number(section):
    """— N — centred in the footer, as 公文 number their pages."""
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(footer.add_run("— "), BODY_FONT, 14)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    number = _fonts(footer.add_run("1"), BODY_FONT, 14)
    footer._p.remove(number._r)
    field.append(number._r)
    footer._p.append(field)
    _fonts(footer.add_run(" —"), BODY_FONT, 14)


def _masthead(doc, content):
    if content["draft"]:
        _paragraph(doc, fmt.draft_mark(content), font=HEADING_FONT, size=14, bold=True, colour=RED, indent=False)
    _paragraph(doc, fmt.title(content), font=TITLE_FONT, size=30, colour=RED, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, fmt.serial_text(content), align=WD_ALIGN_PARAGRAPH.CENTER)
    if content.get("doc_number"):  # 发文字号, centred above the red rule (GB/T 9704)
        _paragraph(doc, content["doc_number"], align=WD_ALIGN_PARAGRAPH.CENTER)
    line = _paragraph(doc, indent=False)
    line.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM), WD_TAB_ALIGNMENT.RIGHT)
    _fonts(line.add_run(content["office"] + "\t" + fmt.chinese_date(content["issued_on"])), BODY_FONT, 14)
    _border_bottom(line)
    _paragraph(doc, indent=False)
    _paragraph(doc, fmt.heading(content), font=TITLE_FONT, size=22, align=WD_ALIGN_PARAGRAPH.CENTER)
    if content["kind"] == "notice":
        sub = _("（截至%(day)s）") % {"day": fmt.chinese_date(content["as_of"])}
        _paragraph(doc, sub, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, indent=False)


def _heading(doc, text):
    _paragraph(doc, text, font=HEADING_FONT).paragraph_format.keep_with_next = True


def _cell_text(cell, text, *, bold=False, align=WD_ALIGN_PARAGRAPH.CENTER):
    paragraph = cell.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = paragraph.paragraph_format.space_after = Pt(0)
    _fonts(paragraph.add_run(str(text)), HEADING_FONT if bold else TABLE_FONT, TABLE_PT, bold=False)


def _table(doc, headers, rows, widths):
    """A grid table of fixed column widths (mm, summing to at most the text width), header repeated."""
    assert sum(widths) <= TEXT_WIDTH_MM, widths
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    head = table.rows[0]
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    head._tr.get_or_add_trPr().append(repeat)
    for cell, text in zip(head.cells, headers):
        _cell_text(cell, text, bold=True)
    for values in rows:
        for index, (cell, text) in enumerate(zip(table.add_row().cells, values)):
            _cell_text(
                cell,
                text,
                align=WD_ALIGN_PARAGRAPH.LEFT
                if index == len(values) - 1 and len(str(text)) > 8
                else WD_ALIGN_PARAGRAPH.CENTER,
            )
    for column, width in zip(table.columns, widths):
        column.width = Mm(width)
        for cell in column.cells:
            cell.width = Mm(width)
    _paragraph(doc, indent=False)
    return table


def _chart(doc, content):
    png = chart.render_png(content["chart"])
    paragraph = _paragraph(doc, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph.paragraph_format.line_spacing = 1.0  # an exact line height would clip the picture
    paragraph.add_run().add_picture(io.BytesIO(png), width=Mm(150))
    _paragraph(
        doc,
        _("图：全市累计整治与节点目标（实线为累计整治，虚线台阶为节点目标，点线为序时进度）"),
        font=TABLE_FONT,
        size=10.5,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )


def _notice_body(doc, content):
    _heading(doc, _("一、总体进展"))
    _paragraph(doc, fmt.overview(content))
    _chart(doc, content)

    _heading(doc, _("二、各乡镇(街道)进展排名"))
    _paragraph(
        doc,
        _(
            "按完成率排名（完成率相同的按累计整治数）；“较上期”为与上一期通报相比的名次变化，“距下一节点”为完成下一节点目标尚差的家数。"
        ),
    )
    _table(
        doc,
        fmt.township_headers(),
        [fmt.township_cells(r) for r in content["townships"]],
        [10, 26, 14, 14, 14, 16, 16, 10, 16, 18],
    )

    _heading(doc, _("三、红色名单及约谈建议"))
    _paragraph(doc, fmt.red_intro(content))
    if content["red_list"]:
        rows = [
            [r["name"], fmt.pct(r["rate"]), fmt.pct(r["expected_rate"]), r["reason"], r["proposal"]]
            for r in content["red_list"]
        ]
        _table(
            doc,
            [_("乡镇(街道)"), _("完成率(%)"), _("序时进度(%)"), _("列入原因"), _("建议")],
            rows,
            [26, 18, 18, 54, 40],
        )
    if content["red_watch"]:
        names = "、".join(r["name"] for r in content["red_watch"])
        _paragraph(doc, _("本期首次红色预警：%(names)s，下期仍为红色将列入约谈名单。") % {"names": names})

    _heading(doc, _("四、约谈承诺落实情况"))
    if content["commitments"]:
        _paragraph(doc, _("以下约谈承诺已过承诺完成日期仍未落实："))
        rows = [
            [c["township"], c["held_on"], c["text"], c["due_on"], str(c["days_late"]), c["follow_up"] or "—"]
            for c in content["commitments"]
        ]
        _table(
            doc,
            [_("乡镇(街道)"), _("约谈日期"), _("承诺事项"), _("承诺期限"), _("逾期天数"), _("跟踪情况")],
            rows,
            [24, 22, 44, 22, 14, 30],
        )
    else:
        _paragraph(doc, _("无逾期未落实的约谈承诺。"))

    _heading(doc, _("五、督查情况"))
    ins = content["inspections"]
    _paragraph(doc, fmt.inspection_intro(content))
    if ins["findings"]:
        rows = [[f["name"], str(f["week"]), str(f["open"]), str(f["overdue"])] for f in ins["findings"]]
        _table(doc, [_("乡镇(街道)"), _("本周发现问题"), _("未销号问题"), _("逾期未整改")], rows, [50, 34, 34, 34])
    if ins["relapses"]:
        _paragraph(doc, _("本周发现的死灰复燃单位："))
        rows = [
            [r["township"], r["unit"], r["owner"] or "—", r["phone"] or "—", r["found_on"]] for r in ins["relapses"]
        ]
        _table(
            doc, [_("乡镇(街道)"), _("单位名称"), _("负责人"), _("联系电话"), _("发现日期")], rows, [26, 56, 18, 30, 24]
        )

    _heading(doc, _("六、补录情况"))
    late = content["late_entries"]
    if late:
        _paragraph(
            doc,
            _("本周录入、录入日期晚于整治完成日期超过%(days)s天的整治记录（补录）共%(n)s条：")
            % {"days": content["late_days"], "n": len(late)},
        )
        rows = [
            [e["township"], e["unit"], e["method"], e["rectified_on"], e["entered_on"], str(e["days_late"])]
            for e in late
        ]
        _table(
            doc,
            [_("乡镇(街道)"), _("单位名称"), _("整治方式"), _("完成日期"), _("录入日期"), _("相隔天数")],
            rows,
            [24, 46, 20, 22, 22, 20],
        )
    else:
        _paragraph(doc, _("本周无补录的整治记录。"))

    _heading(doc, _("七、往期数据变化"))
    _paragraph(doc, fmt.changes_intro(content))
    changes = content["changes"]
    if changes and changes["townships"]:
        rows = [
            [
                c["name"],
                str(c["rectified_then"]),
                str(c["rectified_now"]),
                fmt.pct(c["rate_then"]),
                fmt.pct(c["rate_now"]),
                "；".join(c["reasons"]),
            ]
            for c in changes["townships"]
        ]
        headers = [_("乡镇(街道)"), _("原累计整治"), _("现累计整治"), _("原完成率(%)"), _("现完成率(%)"), _("变化原因")]
        _table(doc, headers, rows, [24, 18, 18, 18, 18, 60])

    if "indicators_lagging" in content:  # SPEC 5: only a campaign with indicators beside the 四无 count
        _heading(doc, _("八、其他考核指标预警"))
        _paragraph(doc, fmt.lagging_intro(content))
        for line in fmt.lagging_lines(content):
            _paragraph(doc, line)

    if content.get("addition"):  # SPEC 5: only a campaign with 加法 indicators that have a target
        _heading(doc, _("九、“加法”工作进展"))
        _paragraph(doc, fmt.addition_intro(content))
        _table(
            doc,
            fmt.addition_headers(),
            [fmt.addition_cells(row) for row in content["addition"]],
            [30, 12, 16, 18, 16, 16, 16, 10, 18],
        )


# Light fills of the 三色预警 for the scorecard's cells (the text stays black, readable in print).
FILLS = {"green": "D8EFDD", "yellow": "FFF1C2", "red": "F8D0D0"}


def _fill(cell, colour):
    shading = OxmlElement("w:shd")
    for key, value in (("val", "clear"), ("color", "auto"), ("fill", colour)):
        shading.set(qn(f"w:{key}"), value)
    cell._tc.get_or_add_tcPr().append(shading)


def _scorecard(doc, content):
    card = content["scorecard"]
    _heading(doc, _("三、赛马综合排名"))
    _paragraph(doc, fmt.scorecard_intro(content))
    fixed = [10, 22, 14, 14]
    each = (TEXT_WIDTH_MM - sum(fixed)) // max(1, len(card["indicators"]))
    table = _table(
        doc,
        fmt.scorecard_headers(card),
        [fmt.scorecard_cells(entry) for entry in card["townships"]],
        fixed + [each] * len(card["indicators"]),
    )
    for row, entry in zip(table.rows[1:], card["townships"]):
        for cell, value in zip(row.cells[len(fixed) :], entry["cells"]):
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER  # _table left-aligns a long last cell
            if value is not None and value["colour"] in FILLS:
                _fill(cell, FILLS[value["colour"]])
    _paragraph(
        doc,
        _("表中每项指标为“完成值/年度目标”及完成率；底色绿、黄、红为三色预警。"),
        font=TABLE_FONT,
        size=10.5,
        indent=False,
    )


def _assessment_body(doc, content):
    _heading(doc, _("一、节点目标完成情况"))
    _paragraph(doc, fmt.assessment_overview(content))
    _chart(doc, content)
    _heading(doc, _("二、季度赛马排名"))
    _table(
        doc,
        fmt.assessment_headers(),
        [fmt.assessment_cells(r) for r in content["townships"]],
        [10, 24, 14, 16, 14, 16, 16, 14, 16, 16],
    )
    if content.get("scorecard"):  # SPEC 5: the quarter's 赛马 scorecard, frozen with the assessment
        _scorecard(doc, content)
        _heading(doc, _("四、考核意见"))
    else:
        _heading(doc, _("三、考核意见"))
    for line in content["verdict"].splitlines() or [""]:
        if line.strip():
            _paragraph(doc, line.strip())


def _keep_with_next(element):
    """Keep a body block on the same page as the one after it (a table: its last row, unsplit)."""
    if element.tag == qn("w:p"):
        element.get_or_add_pPr().keepNext_val = True
        return
    if element.tag == qn("w:tbl"):
        rows = element.findall(qn("w:tr"))
        if not rows:
            return
        row = rows[-1]
        properties = row.find(qn("w:trPr"))
        if properties is None:
            properties = OxmlElement("w:trPr")
            row.insert(0, properties)
        if properties.find(qn("w:cantSplit")) is None:
            properties.append(OxmlElement("w:cantSplit"))
        for paragraph in row.iter(qn("w:p")):
            paragraph.get_or_add_pPr().keepNext_val = True


def _signature(doc, content):
    """Office and date, right-aligned, never alone on a last page: kept with the paragraph before."""
    blocks = [child for child in doc.element.body if child.tag in (qn("w:p"), qn("w:tbl"))]
    if blocks:
        _keep_with_next(blocks[-1])
    lines = [
        _paragraph(doc, indent=False),
        _paragraph(doc, content["office"], align=WD_ALIGN_PARAGRAPH.RIGHT),
        _paragraph(doc, fmt.chinese_date(content["issued_on"]), align=WD_ALIGN_PARAGRAPH.RIGHT),
    ]
    for paragraph in lines[:-1]:
        paragraph.paragraph_format.keep_with_next = True


def _letterhead_document(data):
    """The city's template with its body emptied: page setup, headers, footers and styles stay."""
    doc = Document(io.BytesIO(data))
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    return doc


def _has_text(part):
    return any(p.text.strip() for p in part.paragraphs)


def render(content, letterhead=None):
    """The .docx bytes of ``content``; ``letterhead``: the bytes of the city's .docx template, if any."""
    if letterhead:
        doc = _letterhead_document(letterhead)
        _font_table(doc)
        if content["draft"]:
            _draft_header(doc.sections[0], content)
        if not _has_text(doc.sections[0].footer):
            _page_number(doc.sections[0])
    else:
        doc = Document()
        _defaults(doc)
        _font_table(doc)
        _page(doc, content)
    doc.core_properties.title = f"{fmt.title(content)} {fmt.serial_text(content)}"
    doc.core_properties.author = content["office"]
    _masthead(doc, content)
    (_notice_body if content["kind"] == "notice" else _assessment_body)(doc, content)
    _signature(doc, content)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
