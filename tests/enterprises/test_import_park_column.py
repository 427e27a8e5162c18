"""The screening list's 入驻园区 column (SPEC 5): a unit rectified by 搬迁入园 names the park it moved
into, and its entry is recorded on its rectification date, once."""

import datetime
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Park
from enterprises import importing
from enterprises.credit_code import make_credit_code
from enterprises.models import Enterprise, Method, ParkEntry, Rectification
from enterprises.services import rectification_record
from tests.factories import make_township, make_unit

HEADER = [
    "单位名称",
    "统一社会信用代码",
    "乡镇街道",
    "地址",
    "行业",
    "无证无照",
    "排查日期",
    "整治状态",
    "整治方式",
    "整治完成日期",
    "入驻园区",
]
CODE = make_credit_code("9", "1", "330102", "MA2B3C4D")
INDIVIDUAL = make_credit_code("9", "2", "330102", "MA2B3C4E")


def row(**cells):
    base = {
        "单位名称": "城关五金加工厂",
        "乡镇街道": "城关镇",
        "地址": "东门路12号",
        "行业": "金属制品",
        "无证无照": "是",
        "排查日期": "2018-03-05",
        "整治状态": "已整治",
        "整治方式": "搬迁入园",
        "整治完成日期": "2018-05-20",
        "入驻园区": "城关小微园",
    }
    base.update(cells)
    return base


def write_xlsx(path, rows, header=HEADER):
    book = openpyxl.Workbook()
    book.active.append(header)
    for line in rows:
        book.active.append([line.get(name) for name in header])
    book.save(path)
    return path


def entries():
    return sorted(
        ParkEntry.objects.values_list(
            "park__name",
            "enterprise__name",
            "rectification__rectified_on",
            "name",
            "credit_code",
            "industry",
            "entered_on",
        )
    )


def snapshot():
    return entries(), Enterprise.objects.count(), Rectification.objects.count(), ParkEntry.history.count()


@pytest.fixture
def town(campaign):
    return make_township("城关镇")


@pytest.fixture
def park(town):
    return Park.objects.create(township=town, name="城关小微园")


@pytest.fixture
def xlsx(tmp_path, park):
    def build(*rows, header=HEADER):
        return write_xlsx(tmp_path / "清单.xlsx", rows, header=header)

    return build


def run(path):
    out = io.StringIO()
    call_command("import_units", str(path), "--campaign", "c2018", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def errors_of(path):
    before = snapshot()
    err = io.StringIO()
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import_units", str(path), "--campaign", "c2018", stdout=io.StringIO(), stderr=err)
    assert snapshot() == before
    return err.getvalue().splitlines()


def test_a_relocated_unit_enters_its_park_on_its_rectification_date(xlsx, park):
    run(xlsx(row(统一社会信用代码=CODE)))

    unit = Enterprise.objects.get()
    entry = ParkEntry.objects.get()
    assert (entry.park, entry.enterprise, entry.rectification) == (park, unit, unit.rectifications.get())
    assert (entry.name, entry.credit_code, entry.industry) == ("城关五金加工厂", CODE, "金属制品")
    assert entry.entered_on == datetime.date(2018, 5, 20)
    assert (entry.company_form, entry.individual_to_company, entry.left_on) == (True, False, None)
    assert entry.history.get().history_type == "+"


def test_importing_the_list_twice_records_the_entry_once(xlsx):
    path = xlsx(row(), row(单位名称="东门木器厂", 地址="东门路1号", 统一社会信用代码=INDIVIDUAL))
    run(path)
    before = snapshot()

    out = run(path)

    assert snapshot() == before
    assert "新增单位0个，更新0个，不变2个" in out
    assert [e[3] for e in entries()] == ["东门木器厂", "城关五金加工厂"]
    assert not ParkEntry.objects.get(name="东门木器厂").company_form  # 92…: an individual business


def test_a_park_in_another_township_is_found_by_name(xlsx, town):
    other = Park.objects.create(township=make_township("东城街道"), name="东城创业园")

    run(xlsx(row(入驻园区=" 东城创业园 ")))

    assert ParkEntry.objects.get().park == other


def test_a_unit_rectified_before_gets_its_entry_from_a_later_list(xlsx, town, park):
    unit = make_unit(town, datetime.date(2018, 3, 5), name="城关五金加工厂", address="东门路12号", industry="金属制品")
    rectification_record(enterprise=unit, method=Method.RELOCATED, rectified_on=datetime.date(2018, 5, 20))

    out = run(xlsx(row()))

    assert "更新1个" in out
    entry = ParkEntry.objects.get()
    assert entry.rectification == unit.rectifications.get()
    unit.refresh_from_db()
    assert unit.version == 2  # the unit itself is as it was: only the entry is new
    assert "新增单位0个，更新0个，不变1个" in run(xlsx(row()))


def test_a_corrected_park_moves_the_entry(xlsx, town, park):
    run(xlsx(row()))
    other = Park.objects.create(township=town, name="城关二园")

    run(xlsx(row(入驻园区="城关二园", 整治完成日期="2018-05-22")))

    entry = ParkEntry.objects.get()
    assert (entry.park, entry.entered_on) == (other, datetime.date(2018, 5, 22))
    assert entry.rectification.rectified_on == datetime.date(2018, 5, 22)
    assert entry.history.count() == 2


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            {"整治方式": "关停取缔"},
            "第2行 入驻园区：整治方式为“关停取缔”：只有整治方式为“搬迁入园”的单位才能填写入驻园区",
        ),
        (
            {"整治状态": "未整治", "整治方式": None, "整治完成日期": None},
            "第2行 入驻园区：只有整治状态为“已整治”、整治方式为“搬迁入园”的单位才能填写入驻园区",
        ),
        (
            {"整治状态": None, "整治方式": None, "整治完成日期": None},
            "第2行 入驻园区：只有整治状态为“已整治”、整治方式为“搬迁入园”的单位才能填写入驻园区",
        ),
        ({"入驻园区": "西山园"}, "第2行 入驻园区：系统中没有名为“西山园”的小微园，请先导入该园区"),
    ],
)
def test_a_park_where_it_does_not_belong_is_a_row_error(xlsx, cells, expected):
    assert errors_of(xlsx(row(**cells))) == [expected]


def test_a_park_name_two_townships_share_is_ambiguous(xlsx, town):
    Park.objects.create(township=make_township("东城街道"), name="城关小微园")

    assert errors_of(xlsx(row())) == ["第2行 入驻园区：东城街道、城关镇都有名为“城关小微园”的小微园，无法确定是哪一个"]


def test_a_list_without_the_column_records_no_entry(xlsx):
    run(xlsx(row(), header=HEADER[:-1]))

    assert Rectification.objects.get().method == Method.RELOCATED
    assert not ParkEntry.objects.exists()


def test_the_preview_names_the_new_entry(xlsx):
    plan = importing.parse(xlsx(row()))

    assert plan.ok
    assert plan.rows[0].changes == {"park": (None, "城关小微园")}
    assert importing.HEADERS["park"] == "入驻园区"


# --- the rectification form: a township's staff pick the park in the browser -----------------------


@pytest.fixture
def staff_client(client, town, frozen_today):
    from tests.factories import make_user

    frozen_today(datetime.date(2018, 12, 31))
    client.force_login(make_user("staff", role="township_staff", township=town))
    return client


def test_the_rectification_form_records_the_entry_with_the_rectification(staff_client, town, park):
    from django.urls import reverse

    unit = make_unit(town, datetime.date(2018, 3, 5), credit_code=INDIVIDUAL, industry="木器")
    url = reverse("enterprises:rectify", args=[unit.pk]) + "?campaign=c2018"

    saved = staff_client.post(url, {"method": Method.RELOCATED, "rectified_on": "2018-06-01", "park": park.pk})

    assert saved.status_code == 302
    entry = ParkEntry.objects.get()
    assert (entry.park, entry.enterprise, entry.rectification) == (park, unit, unit.rectifications.get())
    assert (entry.entered_on, entry.name, entry.credit_code, entry.industry) == (
        datetime.date(2018, 6, 1),
        unit.name,
        INDIVIDUAL,
        "木器",
    )
    assert entry.history.get().history_user.username == "staff"


def test_the_form_refuses_a_park_for_another_method(staff_client, town, park):
    from django.urls import reverse

    unit = make_unit(town, datetime.date(2018, 3, 5))
    url = reverse("enterprises:rectify", args=[unit.pk]) + "?campaign=c2018"

    refused = staff_client.post(url, {"method": Method.CLOSED, "rectified_on": "2018-06-01", "park": park.pk})

    assert refused.status_code == 200
    assert refused.context["form"].errors["park"] == ["只有整治方式为“搬迁入园”时才能选择入驻园区"]
    assert not Rectification.objects.exists() and not ParkEntry.objects.exists()


def test_the_service_refuses_a_park_for_another_method(town, park):
    from django.core.exceptions import ValidationError

    unit = make_unit(town, datetime.date(2018, 3, 5))
    with pytest.raises(ValidationError) as refused:
        rectification_record(enterprise=unit, method=Method.UPGRADED, rectified_on=datetime.date(2018, 4, 1), park=park)

    assert "park" in refused.value.message_dict
    assert not Rectification.objects.exists()


def test_the_service_refuses_a_park_whose_negative_list_names_the_units_industry(town, park):
    from django.core.exceptions import ValidationError

    park.negative_list = "电镀、印染"
    park.capacity = 1
    park.save()
    plating = make_unit(town, datetime.date(2018, 3, 5), industry="电镀加工")
    with pytest.raises(ValidationError) as refused:
        rectification_record(
            enterprise=plating, method=Method.RELOCATED, rectified_on=datetime.date(2018, 4, 1), park=park
        )
    assert refused.value.message_dict["park"] == ["负面清单：城关小微园不接受“电镀加工”行业入园（清单所列：电镀）"]
    assert not Rectification.objects.exists() and not ParkEntry.objects.exists()

    # Another industry enters; a full park only warns on the park's own form, and here lets it in too.
    for name in ("五金厂", "塑料厂"):
        unit = make_unit(town, datetime.date(2018, 3, 5), industry="五金", name=name)
        rectification_record(
            enterprise=unit, method=Method.RELOCATED, rectified_on=datetime.date(2018, 4, 1), park=park
        )
    assert ParkEntry.objects.count() == 2
