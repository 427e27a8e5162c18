import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from enterprises.exports import write_register
from enterprises.models import Enterprise, Method
from enterprises.services import rectification_record
from tests.factories import make_township, make_unit, make_user, make_village

pytestmark = pytest.mark.django_db

D = datetime.date
HEADERS = [
    "单位名称",
    "统一社会信用代码",
    "乡镇街道",
    "村社区",
    "网格",
    "地址",
    "负责人",
    "联系电话",
    "行业",
    "场所类型",
    "无证无照",
    "无安全保障",
    "无合法场所",
    "无环保措施",
    "排查日期",
    "来源",
    "整治状态",
    "整治方式",
    "整治完成日期",
    "拆除面积",
]


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 12, 31))


def export(queryset):
    buffer = io.BytesIO()
    count = write_register(queryset, buffer)
    buffer.seek(0)
    return count, buffer


def rows_of(buffer):
    sheet = load_workbook(buffer).active
    return sheet, [list(row) for row in sheet.iter_rows()]


def test_headers_are_the_screening_list_columns_in_chinese():
    _count, buffer = export(Enterprise.objects.none())
    sheet, rows = rows_of(buffer)
    assert sheet.title == "四无单位台账"
    assert [c.value for c in rows[0]] == HEADERS


def test_a_unit_becomes_one_row_with_real_dates_and_numbers():
    township = make_township("城关镇")
    unit = make_unit(
        township,
        D(2018, 2, 3),
        name="红星五金厂",
        village=make_village(township, "东村"),
        phone="0571-88886666",
        no_env_measures=True,
    )
    rectification_record(enterprise=unit, method=Method.DEMOLISHED, rectified_on=D(2018, 4, 5), demolished_m2="88.5")

    count, buffer = export(Enterprise.objects.for_register())

    assert count == 1
    _sheet, rows = rows_of(buffer)
    row = dict(zip(HEADERS, rows[1]))
    assert row["单位名称"].value == "红星五金厂"
    assert (row["乡镇街道"].value, row["村社区"].value) == ("城关镇", "东村")
    assert (row["无证无照"].value, row["无安全保障"].value, row["无环保措施"].value) == ("是", "否", "是")
    assert row["排查日期"].is_date and row["排查日期"].value.date() == D(2018, 2, 3)
    assert row["整治完成日期"].is_date and row["整治完成日期"].value.date() == D(2018, 4, 5)
    assert (row["来源"].value, row["整治状态"].value, row["整治方式"].value) == ("排查", "已整治", "拆除")
    assert Decimal(str(row["拆除面积"].value)) == Decimal("88.5")
    assert row["联系电话"].value == "0571-88886666"


@pytest.mark.parametrize(
    "text",
    ["=1+2", '=HYPERLINK("http://evil.example","点我")', "+86 571 1234", "-2+3", "@SUM(A1:A2)", "=cmd|' /C calc'!A0"],
)
def test_text_that_looks_like_a_formula_stays_text(text):
    township = make_township()
    make_unit(township, name=text, address=text, owner=text)

    _count, buffer = export(Enterprise.objects.for_register())

    _sheet, rows = rows_of(buffer)
    for cell in (rows[1][0], rows[1][5], rows[1][6]):
        assert cell.value == text.strip()
        assert cell.data_type == "s"
    with zipfile.ZipFile(buffer) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_the_download_is_the_filtered_register(client, django_user_model, django_assert_num_queries):
    east, west = make_township("东城街道"), make_township("西山镇")
    for i in range(30):
        make_unit(east if i % 3 else west, D(2018, 1, 1) + datetime.timedelta(days=i), name=f"单位{i:02d}")
    client.force_login(make_user("staff"))

    # session, user, industry and premises choices, township choices (to validate), the rows
    with django_assert_num_queries(7):
        response = client.get(reverse("enterprises:export"), {"township": [west.pk]})
        body = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"]
    assert "20181231.xlsx" in response["Content-Disposition"]
    _sheet, rows = rows_of(io.BytesIO(body))
    names = [row[0].value for row in rows[1:]]
    # Same order as the register: the latest identified first.
    assert names == [f"单位{i:02d}" for i in range(27, -1, -3)]


def test_an_invalid_filter_goes_back_to_the_register_with_a_message(client, django_user_model):
    client.force_login(make_user("staff"))
    response = client.get(reverse("enterprises:export"), {"identified_from": "昨天"}, follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("enterprises:list"))
    assert "筛选条件有误，请修正后再导出" in response.content.decode()


def test_export_needs_a_login(client):
    response = client.get(reverse("enterprises:export"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
