import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from campaign.models import Township, Village
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
    "经度",
    "纬度",
    "盯梢人",
    "盯梢人电话",
]


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 12, 31))


def export(queryset, full_for=lambda township_id: True):
    buffer = io.BytesIO()
    count, _full = write_register(queryset, buffer, full_for=full_for)
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

    # session, the user with their role and township, industry and premises choices, township choices
    # (to validate), the township and village names, the rows. No owner or phone in these rows:
    # nothing to record.
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


# --- personal data -----------------------------------------------------------------------------


@pytest.fixture
def two_townships():
    east, west = make_township("东城街道"), make_township("西山镇")
    make_unit(east, D(2018, 3, 1), name="东厂", owner="张三丰", phone="13812341234")
    make_unit(west, D(2018, 3, 2), name="西厂", owner="李四", phone="0571-88886666")
    return east, west


def download(client, user, query=None):
    client.force_login(user)
    response = client.get(reverse("enterprises:export"), query or {})
    assert response.status_code == 200
    _sheet, rows = rows_of(io.BytesIO(b"".join(response.streaming_content)))
    return {row[0].value: (row[6].value, row[7].value) for row in rows[1:]}


def export_records():
    entries = LogEntry.objects.filter(change_message__startswith="导出完整联系方式")
    return list(entries.values_list("change_message", flat=True))


def test_write_register_masks_every_row_unless_told_otherwise(two_townships):
    buffer = io.BytesIO()
    assert write_register(Enterprise.objects.for_register(), buffer) == (2, 0)
    buffer.seek(0)
    _sheet, rows = rows_of(buffer)
    assert [(r[6].value, r[7].value) for r in rows[1:]] == [("李*", "0571-****6666"), ("张**", "138****1234")]


FULL = {"东厂": ("张三丰", "13812341234"), "西厂": ("李四", "0571-88886666")}
MASKED = {"东厂": ("张**", "138****1234"), "西厂": ("李*", "0571-****6666")}


@pytest.mark.parametrize(
    "role,township,expected,records",
    [
        ("city_admin", None, FULL, ["导出完整联系方式：2"]),
        ("city_viewer", None, MASKED, []),
        ("inspector", None, MASKED, []),
        # Township staff export their own township's units only, and see those in full.
        ("township_staff", "东城街道", {"东厂": FULL["东厂"]}, ["导出完整联系方式：1"]),
    ],
)
def test_the_export_masks_owner_and_phone_unless_the_role_and_township_allow(
    client, two_townships, role, township, expected, records
):
    place = next((t for t in two_townships if t.name == township), None)
    user = make_user("u", role=role, township=place)
    assert download(client, user) == expected
    assert export_records() == records
    if records:
        entry = LogEntry.objects.get()
        assert (entry.user, entry.object_id) == (user, None)


def test_an_export_with_full_values_costs_one_more_query(client, two_townships, django_assert_num_queries):
    client.force_login(make_user("admin"))
    ContentType.objects.get_for_model(Enterprise)  # cached for the process, as in a running server
    # session, the user with their role, industry and premises choices, the township and village names, the rows,
    # the log entry of the full values
    with django_assert_num_queries(7):
        response = client.get(reverse("enterprises:export"))
        b"".join(response.streaming_content)
    entry = LogEntry.objects.get()
    assert entry.change_message == "导出完整联系方式：2"
    assert entry.object_repr == "-"


def test_the_export_records_the_filter_it_was_made_with(client, two_townships):
    east, _west = two_townships
    download(client, make_user("admin"), {"township": [east.pk]})
    assert LogEntry.objects.get().object_repr == f"township={east.pk}"


def test_a_deleted_unit_is_not_exported(client, two_townships):
    from enterprises.services import unit_delete

    user = make_user("admin")
    unit_delete(enterprise=Enterprise.objects.get(name="东厂"), user=user, reason="重复登记")
    assert list(download(client, user)) == ["西厂"]


def download_csv(client, user):
    client.force_login(user)
    response = client.get(reverse("enterprises:export_csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "filename*=utf-8''" in response["Content-Disposition"]  # RFC 5987: the Chinese name survives
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel on Chinese Windows reads it right
    import csv

    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    "role,township,expected",
    [
        ("city_admin", None, FULL),
        ("city_viewer", None, MASKED),
        ("township_staff", "东城街道", {"东厂": FULL["东厂"]}),
    ],
)
def test_the_csv_register_masks_like_the_xlsx(client, two_townships, role, township, expected):
    place = next((t for t in two_townships if t.name == township), None)
    header, *rows = download_csv(client, make_user("u", role=role, township=place))
    assert header == HEADERS
    assert {row[0]: (row[6], row[7]) for row in rows} == expected
    assert all(row[14].count("-") == 2 for row in rows)  # dates as ISO dates


def test_csv_cells_never_start_like_a_formula(client):
    township = make_township("东城街道")
    make_unit(township, D(2018, 3, 1), name='=HYPERLINK("http://x")', address="+1 号", owner="@某")
    header, row = download_csv(client, make_user("u", role="city_admin"))
    assert row[0] == '\'=HYPERLINK("http://x")'
    assert row[5] == "'+1 号"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


# --- the workbook itself -----------------------------------------------------------------------


def test_the_workbook_keeps_its_layout_and_the_cells_their_types():
    township = make_township("城关镇")
    make_unit(township, D(2018, 2, 3), name="2018-03-05", address='a & b <c> "d"', owner="  张三  ")

    _count, buffer = export(Enterprise.objects.for_register())

    sheet, rows = rows_of(buffer)
    assert sheet.freeze_panes == "B2"
    assert [sheet.column_dimensions[letter].width for letter in "ABF"] == [30, 22, 36]
    assert all(cell.font.b for cell in rows[0])
    row = dict(zip(HEADERS, rows[1]))
    # A name that reads like a date stays the text it is; the identified date is a date.
    assert (row["单位名称"].value, row["单位名称"].data_type) == ("2018-03-05", "s")
    assert row["排查日期"].is_date and row["排查日期"].number_format == "yyyy-mm-dd"
    assert row["地址"].value == 'a & b <c> "d"'
    assert row["村社区"].value is None and row["整治方式"].value is None  # empty cells are left out


def test_text_the_xml_cannot_carry_is_dropped_and_escape_lookalikes_survive():
    township = make_township("城关镇")
    make_unit(township, name="甲\x01厂", address="_x0041_路")

    _count, buffer = export(Enterprise.objects.for_register())

    _sheet, rows = rows_of(buffer)
    assert (rows[1][0].value, rows[1][5].value) == ("甲厂", "_x0041_路")


def test_a_township_or_village_added_while_exporting_is_still_named(monkeypatch):
    from enterprises import exports

    township = make_township("城关镇")
    make_unit(township, name="甲厂", village=make_village(township, "东村"))
    # As if both were added after the names were read.
    census = exports._census
    monkeypatch.setattr(
        exports, "_census", lambda qs: (exports._Names(Township), exports._Names(Village), census(qs)[2])
    )

    _count, buffer = export(Enterprise.objects.for_register())

    _sheet, rows = rows_of(buffer)
    assert (rows[1][2].value, rows[1][3].value) == ("城关镇", "东村")


def test_reports_tables_are_written_by_the_same_writer():
    from core.sheets import Table, write_xlsx

    buffer = io.BytesIO()
    rows = [["=1+1", "2018-04-30", Decimal("2.50"), Decimal("3"), 0.125, True, None]]
    write_xlsx(Table("进度", ["名称", "日期", "面积", "个数", "比例", "是否", "空"], rows), buffer)

    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet.freeze_panes == "A2" and sheet.title == "进度"
    cells = list(sheet.iter_rows(min_row=2))[0]
    assert cells[0].value == "=1+1" and cells[0].data_type == "s" and cells[0].quotePrefix
    assert cells[1].is_date and cells[1].value == datetime.datetime(2018, 4, 30)
    assert [cell.value for cell in cells[2:7]] == [2.5, 3, 0.125, True, None]


def test_the_position_and_the_watcher_are_exported_and_masked_like_the_owner():
    township = make_township("城关镇")
    make_unit(
        township,
        D(2018, 2, 3),
        name="有位置的厂",
        longitude=Decimal("120.123456"),
        latitude=Decimal("28.654321"),
        watcher_name="王小明",
        watcher_phone="13900001111",
    )
    make_unit(township, D(2018, 2, 4), name="无位置的厂")

    count, buffer = export(Enterprise.objects.for_register())
    assert count == 2
    _sheet, rows = rows_of(buffer)
    placed, bare = (dict(zip(HEADERS, row)) for row in rows[1:][::-1])
    assert (placed["经度"].value, placed["纬度"].value) == (120.123456, 28.654321)
    assert placed["经度"].data_type == "n"
    assert (placed["盯梢人"].value, placed["盯梢人电话"].value) == ("王小明", "13900001111")
    assert all(bare[title].value is None for title in ("经度", "纬度", "盯梢人", "盯梢人电话"))

    buffer = io.BytesIO()
    # Nothing in full: the 盯梢人 is masked like the owner; counted with the rows carrying personal data.
    assert write_register(Enterprise.objects.for_register(), buffer) == (2, 0)
    assert write_register(Enterprise.objects.for_register(), io.BytesIO(), full_for=lambda pk: True) == (2, 1)
    buffer.seek(0)
    _sheet, rows = rows_of(buffer)
    placed = dict(zip(HEADERS, rows[2]))
    assert (placed["盯梢人"].value, placed["盯梢人电话"].value) == ("王**", "139****1111")
    assert placed["经度"].value == 120.123456  # a position is not personal data


def test_an_exported_register_imports_again_with_its_positions_and_watchers(campaign, frozen_today, tmp_path):
    frozen_today(D(2018, 6, 30))
    township = make_township("城关镇")
    unit = make_unit(
        township,
        D(2018, 2, 3),
        name="有位置的厂",
        credit_code="91110000802100433B",
        longitude=Decimal("120.123456"),
        latitude=Decimal("28.654321"),
        watcher_name="王小明",
        watcher_phone="13900001111",
    )
    _count, buffer = export(Enterprise.objects.for_register())
    path = tmp_path / "register.xlsx"
    path.write_bytes(buffer.getvalue())
    Enterprise.objects.filter(pk=unit.pk).update(longitude=None, latitude=None, watcher_name="", watcher_phone="")

    err = io.StringIO()
    call_command("import_units", str(path), "--campaign", campaign.slug, stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""

    unit.refresh_from_db()
    assert Enterprise.objects.count() == 1
    assert (unit.longitude, unit.latitude) == (Decimal("120.123456"), Decimal("28.654321"))
    assert (unit.watcher_name, unit.watcher_phone) == ("王小明", "13900001111")
