"""The empty screening list users download: the exact headers, drop-downs, and a sheet explaining
each column."""

from django.utils import translation
from django.utils.translation import gettext as _

from ..models import Method, Source, Status
from .columns import COLUMNS

TEMPLATE_ROWS = 5000  # rows the drop-down lists cover


def _explanations() -> dict[str, tuple[str, str]]:
    """Per column: (填写要求, 可选值) for the second sheet of the template."""
    with translation.override(None):
        statuses = "、".join(str(label) for _value, label in Status.choices)
        methods = "、".join(str(label) for _value, label in Method.choices)
        sources = "、".join(str(label) for _value, label in Source.choices)
    defect = (_("四项中至少一项为“是”；空白视为否"), "是、否")
    return {
        "name": (_("必填；与乡镇街道、地址一起识别同一单位"), ""),
        "credit_code": (_("选填；18位，填写时校验；请设为“文本”格式，以免开头的0被去掉"), ""),
        "township": (_("必填；须为系统中已有的乡镇（街道）；乡镇用户只能导入本乡镇"), ""),
        "village": (_("选填；系统中没有的村（社区）将自动新增"), ""),
        "grid": (_("选填"), ""),
        "address": (_("选填；与单位名称一起识别同一单位"), ""),
        "owner": (_("选填"), ""),
        "phone": (_("选填；请设为“文本”格式，以免被 Excel 变成科学计数法"), ""),
        "industry": (_("选填"), ""),
        "premises": (_("选填"), ""),
        "unlicensed": defect,
        "unsafe": defect,
        "no_legal_premises": defect,
        "no_env_measures": defect,
        "identified_on": (_("必填；日期，如 2018-03-05，不能晚于今天"), ""),
        "source": (_("选填；空白视为排查"), sources),
        "status": (_("选填；空白视为未整治"), statuses),
        "method": (_("整治状态为“已整治”时必填"), methods),
        "rectified_on": (_("整治状态为“已整治”时必填；日期"), ""),
        "demolished_m2": (_("整治方式为“拆除”时填写，单位平方米"), ""),
        "park": (_("整治方式为“搬迁入园”时选填；系统中已有的小微园名称，登记该单位于整治完成日期入园"), ""),
        "longitude": (_("选填；WGS-84（GPS、天地图）十进制经度，如 120.123456；与纬度同时填写"), ""),
        "latitude": (_("选填；WGS-84（GPS、天地图）十进制纬度，如 30.123456；与经度同时填写"), ""),
        "watcher_name": (_("选填；专人盯梢的责任人"), ""),
        "watcher_phone": (_("选填；请设为“文本”格式"), ""),
    }


def write_template(file) -> None:
    """An empty screening list: the exact headers, a sheet explaining each column, drop-downs."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    explanations = _explanations()
    book = Workbook()
    sheet = book.active
    sheet.title = "排查清单"
    sheet.append([column.header for column in COLUMNS])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[letter].width = max(10, len(column.header) * 2 + 4)
        if column.key in ("credit_code", "phone", "watcher_phone"):
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = "@"
        if column.key in ("identified_on", "rectified_on"):
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = "yyyy-mm-dd"
        allowed = explanations[column.key][1]
        if allowed:
            values = allowed
            validation = DataValidation(
                type="list",
                formula1='"' + values.replace("、", ",") + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=_("无效的值"),
                error=_("请从下拉列表中选择：%(values)s") % {"values": values},
            )
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            sheet.add_data_validation(validation)
    notes = book.create_sheet("填写说明")
    notes.append([_("列名"), _("英文列名"), _("填写要求"), _("可选值")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        requirement, allowed = explanations[column.key]
        notes.append([column.header, column.key, requirement, allowed])
    for letter, width in zip("ABCD", (16, 20, 60, 40)):
        notes.column_dimensions[letter].width = width
    book.save(file)
