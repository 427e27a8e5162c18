import datetime

import pytest

from enterprises.filtersets import UnitFilterSet
from enterprises.models import Enterprise, Method, Source, Status
from enterprises.services import rectification_record, relapse_record
from tests.factories import make_township, make_unit, make_village

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def units(frozen_today):
    """Six units in two townships, one of them rectified and then relapsed."""
    frozen_today(D(2018, 12, 31))
    east, west = make_township("东城街道"), make_township("西山镇")
    v1, v2 = make_village(east, "一村"), make_village(west, "二村")
    u = {
        "a": make_unit(east, D(2018, 1, 5), name="甲 五金厂", village=v1, industry="五金", premises="厂房",
                       address="东街 1 号", owner="王五"),
        "b": make_unit(east, D(2018, 2, 10), name="乙 餐馆", village=v1, unsafe=True, unlicensed=False,
                       industry="餐饮", premises="民房", source=Source.COMPLAINT),
        "c": make_unit(east, D(2018, 3, 15), name="丙 废品站", no_env_measures=True, industry="废品回收",
                       status=Status.IN_PROGRESS),
        "d": make_unit(west, D(2018, 4, 20), name="丁 木材加工", village=v2, no_legal_premises=True,
                       industry="五金", premises="厂房", owner="李四", source=Source.INSPECTION),
        "e": make_unit(west, D(2018, 5, 25), name="戊 小作坊", address="西山村 8 号"),
        "f": make_unit(west, D(2017, 11, 1), name="己 塑料厂"),
    }  # fmt: skip
    rectification_record(enterprise=u["a"], method=Method.CLOSED, rectified_on=D(2018, 3, 1))
    rectification_record(enterprise=u["d"], method=Method.DEMOLISHED, rectified_on=D(2018, 6, 1), demolished_m2=300)
    # f: rectified in January, relapsed in May: its only rectification no longer holds.
    rectification_record(enterprise=u["f"], method=Method.DEMOLISHED, rectified_on=D(2018, 1, 20), demolished_m2=50)
    relapse_record(enterprise=u["f"], found_on=D(2018, 5, 1))
    u["east"], u["west"], u["v1"], u["v2"] = east, west, v1, v2
    return u


def names(data):
    f = UnitFilterSet(data, Enterprise.objects.for_register())
    assert f.is_valid(), f.errors
    return sorted(unit.name.split()[0] for unit in f.qs)


def test_no_filter_lists_every_alive_unit(units):
    Enterprise.objects.filter(pk=units["e"].pk).update(deleted_at=datetime.datetime(2018, 6, 1, tzinfo=datetime.UTC))
    assert names({}) == ["丁", "丙", "乙", "己", "甲"]


def test_township_and_village(units):
    assert names({"township": [units["east"].pk]}) == ["丙", "乙", "甲"]
    assert names({"township": [units["east"].pk, units["west"].pk]}) == ["丁", "丙", "乙", "己", "戊", "甲"]
    assert names({"village": [units["v2"].pk]}) == ["丁"]


def test_status(units):
    assert names({"status": ["rectified"]}) == ["丁", "甲"]
    assert names({"status": ["open", "in_progress"]}) == ["丙", "乙", "己", "戊"]


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("unlicensed", "true", ["丁", "丙", "己", "戊", "甲"]),
        ("unlicensed", "false", ["乙"]),
        ("unsafe", "true", ["乙"]),
        ("no_legal_premises", "true", ["丁"]),
        ("no_env_measures", "true", ["丙"]),
        ("no_env_measures", "", ["丁", "丙", "乙", "己", "戊", "甲"]),
    ],
)
def test_each_defect(units, field, value, expected):
    assert names({field: value}) == expected


def test_industry_and_premises_offer_the_values_in_use(units):
    f = UnitFilterSet({}, Enterprise.objects.for_register())
    assert [c for c, _label in f.form.fields["industry"].choices] == ["五金", "废品回收", "餐饮"]
    assert [c for c, _label in f.form.fields["premises"].choices] == ["厂房", "民房"]
    assert names({"industry": ["五金"]}) == ["丁", "甲"]
    assert names({"premises": ["民房"]}) == ["乙"]


def test_source(units):
    assert names({"source": ["complaint", "inspection"]}) == ["丁", "乙"]


def test_method_is_the_current_rectifications(units):
    assert names({"method": ["closed"]}) == ["甲"]
    # f was demolished too, but relapsed: it is not a demolished unit any more.
    assert names({"method": ["demolished"]}) == ["丁"]


def test_identified_date_range_includes_both_ends(units):
    assert names({"identified_from": "2018-02-10", "identified_to": "2018-04-20"}) == ["丁", "丙", "乙"]
    assert names({"identified_to": "2017-12-31"}) == ["己"]


def test_rectified_date_range_includes_both_ends(units):
    assert names({"rectified_from": "2018-03-01", "rectified_to": "2018-06-01"}) == ["丁", "甲"]
    assert names({"rectified_from": "2018-03-02"}) == ["丁"]
    assert names({"rectified_to": "2018-01-31"}) == []


@pytest.mark.parametrize(
    "q,expected",
    [
        ("五金", ["甲"]),  # name
        ("西山村", ["戊"]),  # address
        ("李四", ["丁"]),  # owner
        ("东街 王五", ["甲"]),  # every word must match some field
        ("  ", ["丁", "丙", "乙", "己", "戊", "甲"]),
        ("不存在", []),
    ],
)
def test_search_over_name_address_credit_code_and_owner(units, q, expected):
    assert names({"q": q}) == expected


def test_search_finds_a_credit_code_typed_in_lower_case(units):
    Enterprise.objects.filter(pk=units["b"].pk).update(credit_code="91330102MA2B3C4D5E")
    assert names({"q": "ma2b3c"}) == ["乙"]


def test_filters_combine(units):
    assert names({"township": [units["west"].pk], "status": ["open"], "unlicensed": "true"}) == ["己", "戊"]


def test_an_invalid_date_is_reported_in_chinese(units):
    f = UnitFilterSet({"identified_from": "去年"}, Enterprise.objects.for_register())
    assert not f.is_valid()
    assert f.errors["identified_from"] == ["输入一个有效的日期。"]


def test_active_filters_name_what_the_folded_panel_hides(units):
    qs = Enterprise.objects.for_register()
    data = {"q": "五金", "status": ["open"], "unsafe": "", "identified_from": "2018-01-01"}
    assert UnitFilterSet(data, qs).active_filters() == ["status", "identified_from"]
    assert UnitFilterSet(None, qs).active_filters() == []


# --- scoped to the user ------------------------------------------------------------------------


def test_township_staff_filter_only_their_townships_places(units):
    from tests.factories import make_user

    staff = make_user("staff", role="township_staff", township=units["east"])
    f = UnitFilterSet({"township": [units["west"].pk]}, Enterprise.objects.for_register(), user=staff)
    assert not f.is_valid()
    assert list(f.form.fields["township"].queryset) == [units["east"]]
    assert list(f.form.fields["village"].queryset) == [units["v1"]]


@pytest.mark.parametrize(
    "role,expected",
    [("city_admin", ["甲"]), ("township_staff", ["甲"]), ("city_viewer", []), ("inspector", [])],
)
def test_only_those_who_may_see_owners_search_by_owner(units, role, expected):
    from tests.factories import make_user

    user = make_user("u", role=role, township=units["east"])
    f = UnitFilterSet({"q": "王五"}, Enterprise.objects.for_register(), user=user)
    assert sorted(u.name.split()[0] for u in f.qs) == expected
    # The name, address and credit code stay searchable for everyone.
    assert [u.name for u in UnitFilterSet({"q": "五金厂"}, Enterprise.objects.for_register(), user=user).qs] == [
        "甲 五金厂"
    ]


def _village_options(html):
    import re

    select = re.search(r'<select name="village".*?</select>(<p class="help">.*?</p>)?', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select), select


def test_a_province_lists_the_villages_of_the_chosen_townships_only(client, monkeypatch, django_assert_num_queries):
    """At tens of thousands of villages the register lists those of the chosen townships (and any
    village chosen); a city's are all listed, at no extra query."""
    from django.urls import reverse

    from enterprises.filtersets import VillageSelectMultiple
    from tests.factories import make_user

    east, west, north = make_township("东城街道"), make_township("西山镇"), make_township("北山镇")
    for town, names in ((east, "一二三"), (west, "四五"), (north, "六七八")):
        for name in names:
            make_village(town, f"{name}村")
    client.force_login(make_user("boss", role="city_admin"))
    url = reverse("enterprises:list")

    everything, select = _village_options(client.get(url).content.decode())
    assert len(everything) == 8 and 'class="help"' not in select
    monkeypatch.setattr(VillageSelectMultiple, "limit", 8)
    with django_assert_num_queries(len(_queries(client, url))):  # the limit itself costs nothing
        client.get(url)

    monkeypatch.setattr(VillageSelectMultiple, "limit", 7)
    none_yet, select = _village_options(client.get(url).content.decode())
    assert none_yet == [] and "请先选择乡镇(街道)" in select
    chosen, select = _village_options(client.get(url + f"?township={west.pk}").content.decode())
    assert sorted(chosen) == sorted(["西山镇四村", "西山镇五村"]) and "只列出所选乡镇(街道)的村(社区)" in select
    village = north.villages.get(name="七村")
    response = client.get(url + f"?township={west.pk}&village={village.pk}")
    kept, _select = _village_options(response.content.decode())
    assert sorted(kept) == sorted(
        ["西山镇四村", "西山镇五村", "北山镇七村"]
    )  # a village the link chose stays listed and chosen
    assert f'<option value="{village.pk}" selected>北山镇七村</option>' in response.content.decode()


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return captured.captured_queries
