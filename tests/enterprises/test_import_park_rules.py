"""The screening list's 入驻园区 column asks the park's entry rules as the rectification form does
(enterprises.parks): a negative list naming the entry's industry is a row error in 入驻园区 naming
the row and the rule, and nothing is written; the threshold and a full park let a list's entry in."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Park
from enterprises import importing
from enterprises.models import Enterprise, Method, ParkEntry
from enterprises.services import rectification_record
from tests.enterprises.test_import_park_column import errors_of, row, run, snapshot, write_xlsx
from tests.enterprises.test_import_park_column import town as town  # noqa: F401  # fixtures
from tests.factories import make_unit

RULE = "负面清单：城关小微园不接受“电镀加工”行业入园（清单所列：电镀）"


@pytest.fixture
def park(town):  # noqa: F811
    return Park.objects.create(township=town, name="城关小微园", negative_list="电镀、印染")


@pytest.fixture
def xlsx(tmp_path, park):
    def build(*rows):
        return write_xlsx(tmp_path / "清单.xlsx", rows)

    return build


def test_a_row_whose_industry_the_negative_list_names_is_an_error_and_nothing_is_written(xlsx):
    path = xlsx(row(单位名称="五金厂", 地址="一号", 行业="五金"), row(行业="电镀加工"))

    assert errors_of(path) == [f"第3行 入驻园区：{RULE}"]
    assert not Enterprise.objects.exists() and not ParkEntry.objects.exists()


def test_the_rule_is_asked_with_spaces_and_case_aside(xlsx, park):
    park.negative_list = "Plating ; 印 染"
    park.save()

    errors = errors_of(xlsx(row(行业="PLATING works"), row(单位名称="印染厂", 地址="二号", 行业="印染")))

    assert errors == [
        "第2行 入驻园区：负面清单：城关小微园不接受“PLATING works”行业入园（清单所列：Plating）",
        "第3行 入驻园区：负面清单：城关小微园不接受“印染”行业入园（清单所列：印 染）",
    ]


def test_without_an_industry_cell_the_units_own_industry_is_asked(xlsx, town):  # noqa: F811
    unit = make_unit(town, datetime.date(2018, 3, 5), name="城关五金加工厂", address="东门路12号", industry="电镀")
    rectification_record(enterprise=unit, method=Method.RELOCATED, rectified_on=datetime.date(2018, 5, 20))

    assert errors_of(xlsx(row(行业=None))) == [
        "第2行 入驻园区：负面清单：城关小微园不接受“电镀”行业入园（清单所列：电镀）"
    ]


def test_the_preview_lists_the_refusal_with_its_row_and_column(xlsx):
    plan = importing.parse(xlsx(row(行业="电镀加工")), today=datetime.date(2018, 12, 31))

    assert [(issue.row, issue.column, issue.message) for issue in plan.errors] == [(2, "入驻园区", RULE)]


def test_another_industry_enters_and_the_threshold_and_a_full_park_let_it_in(xlsx, park):
    # As on the rectification form: the list declares no 亩均税收, and a full park only warns on the
    # park's own entry form, so neither refuses a relocated unit's entry.
    park.min_tax_per_mu = Decimal("50")
    park.capacity = 1
    park.save()
    ParkEntry.objects.create(park=park, name="先入企业", entered_on=datetime.date(2018, 1, 5))

    run(xlsx(row(行业="金属制品")))

    assert ParkEntry.objects.filter(enterprise__isnull=False).get().industry == "金属制品"


def test_an_entry_recorded_before_the_rule_is_not_asked_again(xlsx, park):
    park.negative_list = ""
    park.save()
    path = xlsx(row(行业="电镀加工"))
    run(path)
    park.negative_list = "电镀"
    park.save()
    before = snapshot()

    out = run(path)  # the same list again: the entry is kept as it is, nothing new to judge

    assert "不变1个" in out and snapshot() == before


def test_a_correction_moving_the_entry_into_a_refusing_park_is_refused(xlsx, town):  # noqa: F811
    other = Park.objects.create(township=town, name="城关二园")
    run(xlsx(row(行业="电镀加工", 入驻园区="城关二园")))
    assert ParkEntry.objects.get().park == other

    assert errors_of(xlsx(row(行业="电镀加工"))) == [f"第2行 入驻园区：{RULE}"]
    assert ParkEntry.objects.get().park == other


def test_the_command_exits_1_naming_the_rule(xlsx):
    err = io.StringIO()
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import_units", str(xlsx(row(行业="电镀加工"))), "--campaign", "c2018", stderr=err)
    assert f"第2行 入驻园区：{RULE}" in err.getvalue()
