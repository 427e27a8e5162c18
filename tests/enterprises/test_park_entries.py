"""Entries into parks by hand and the rules every entry answers to (SPEC 5; enterprises/parks.py):
the negative list and the entry threshold refuse with the rule named, a full park warns and needs a
reason, a city admin may record an exception; leaving, flags, tax returns; a park's occupancy,
company-form share and 亩均税收 with half-up rounding."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from campaign.models import Park
from campaign.parks import COMPANY_FORM_FLOOR, occupancy, park_tax_by_year, share_percent, tax_per_mu
from enterprises import parks
from enterprises.models import ParkEntry, TaxReturn
from tests.factories import make_township, make_user

D = datetime.date


@pytest.fixture
def world(db, frozen_today):
    frozen_today(D(2018, 12, 31))
    town, other = make_township("城关镇"), make_township("东城街道")
    park = Park.objects.create(
        township=town,
        name="城关小微园",
        capacity=2,
        started_on=D(2018, 3, 1),
        started_mu=Decimal("3"),
        negative_list="电镀、印染, 制革；化工",
        min_tax_per_mu=Decimal("10"),
    )
    return {
        "town": town,
        "other": other,
        "park": park,
        "admin": make_user("admin"),
        "staff": make_user("staff", role="township_staff", township=town),
        "outsider": make_user("outsider", role="township_staff", township=other),
    }


def enter(world, user="staff", **kwargs):
    values = {"park": world["park"], "user": world[user], "name": "甲企业", "entered_on": D(2018, 5, 1)}
    values.update(kwargs)
    return parks.entry_create(**values)


def refusal(world, **kwargs):
    with pytest.raises(ValidationError) as caught:
        enter(world, **kwargs)
    return " ".join(caught.value.messages)


def test_the_negative_list_is_split_at_commas_and_enumeration_commas(world):
    assert world["park"].refused_industries() == ["电镀", "印染", "制革", "化工"]


def test_an_industry_on_the_negative_list_is_refused_naming_the_rule_and_nothing_is_written(world):
    message = refusal(world, industry="电镀加工")
    assert message.startswith("负面清单：") and "电镀" in message
    assert not ParkEntry.objects.exists() and not ParkEntry.history.exists()
    assert enter(world, industry="五金加工").pk  # an industry not on the list enters


def test_a_declared_tax_per_mu_below_the_threshold_is_refused_naming_the_rule(world):
    message = refusal(world, declared_tax_per_mu=Decimal("9.99"))
    assert message.startswith("准入门槛：") and "9.99" in message and "10" in message
    assert not ParkEntry.objects.exists()
    # exactly the threshold is admitted; no declaration is not held to it
    assert enter(world, declared_tax_per_mu=Decimal("10.00")).declared_tax_per_mu == Decimal("10.00")
    assert enter(world, name="乙企业", declared_tax_per_mu=None).pk


def test_both_rules_broken_names_both(world):
    message = refusal(world, industry="印染", declared_tax_per_mu=Decimal("1"))
    assert "负面清单" in message and "准入门槛" in message


def test_a_full_park_warns_and_takes_the_entry_only_with_a_reason(world):
    enter(world, name="甲", entered_on=D(2018, 4, 1))
    enter(world, name="乙", entered_on=D(2018, 4, 2))
    message = refusal(world, name="丙", entered_on=D(2018, 4, 3))
    assert message.startswith("园区已满：") and "已入驻2家" in message and "容量2家" in message
    assert ParkEntry.objects.count() == 2
    entry = enter(world, name="丙", entered_on=D(2018, 4, 3), reason="临时周转，年底前搬出一家")
    assert entry.exception_reason == "临时周转，年底前搬出一家"
    assert "园区已满" in entry.history.get().history_change_reason
    # before either entered, the park was not full: no reason asked
    assert enter(world, name="丁", entered_on=D(2018, 3, 31)).exception_reason == ""


def test_a_park_is_full_again_on_the_day_an_entry_left_only_after_it(world):
    first = enter(world, name="甲", entered_on=D(2018, 4, 1))
    enter(world, name="乙", entered_on=D(2018, 4, 2))
    parks.entry_leave(entry=first, left_on=D(2018, 6, 1), user=world["staff"])
    assert occupancy(world["park"], D(2018, 5, 31)).entries == 2
    assert occupancy(world["park"], D(2018, 6, 1)).entries == 1  # left that day: no longer in
    assert enter(world, name="丙", entered_on=D(2018, 6, 1)).exception_reason == ""


def test_only_a_city_admin_may_let_in_an_entry_the_rules_refuse(world):
    message = refusal(world, industry="化工", exception=True, reason="重点招商项目")
    assert "只有市级管理员可以准予例外入园" in message and "负面清单" in message
    assert not ParkEntry.objects.exists()
    assert "准予例外须填写理由" in refusal(world, user="admin", industry="化工", exception=True)
    entry = enter(world, user="admin", industry="化工", exception=True, reason="重点招商项目")
    assert entry.exception_reason == "重点招商项目"
    row = entry.history.get()
    assert row.history_user == world["admin"] and "负面清单" in row.history_change_reason
    assert "重点招商项目" in row.history_change_reason


def test_another_townships_staff_may_not_enter_an_enterprise(world):
    with pytest.raises(PermissionDenied):
        enter(world, user="outsider")
    assert not ParkEntry.objects.exists()


def test_an_entry_cannot_be_dated_in_the_future_nor_be_an_individual_to_company_without_company_form(world):
    assert "不能晚于今天" in refusal(world, entered_on=D(2019, 1, 1))
    assert "个转企的企业须为公司制" in refusal(world, individual_to_company=True, company_form=False)
    assert not ParkEntry.objects.exists()


def test_leaving_is_dated_not_before_entering_once_and_kept_in_history(world):
    entry = enter(world)
    with pytest.raises(ValidationError, match="退园日期不能早于入园日期"):
        parks.entry_leave(entry=entry, left_on=D(2018, 4, 30), user=world["staff"])
    with pytest.raises(PermissionDenied):
        parks.entry_leave(entry=entry, left_on=D(2018, 7, 1), user=world["outsider"])
    parks.entry_leave(entry=entry, left_on=D(2018, 7, 1), user=world["staff"])
    with pytest.raises(ValidationError, match="已于2018-07-01退园"):
        parks.entry_leave(entry=entry, left_on=D(2018, 8, 1), user=world["staff"])
    last = ParkEntry.objects.get().history.order_by("-history_id").first()
    assert (last.left_on, last.history_change_reason, last.history_user) == (D(2018, 7, 1), "退园", world["staff"])


def test_flags_are_corrected_with_history(world):
    entry = enter(world, company_form=False)
    parks.entry_flags(entry=entry, user=world["staff"], company_form=True, individual_to_company=True, tech_sme=True)
    entry.refresh_from_db()
    assert (entry.company_form, entry.individual_to_company, entry.tech_sme) == (True, True, True)
    assert entry.history.order_by("-history_id").first().history_change_reason == "修改入园企业标识"
    with pytest.raises(ValidationError):
        parks.entry_flags(
            entry=entry, user=world["staff"], company_form=False, individual_to_company=True, tech_sme=False
        )


@pytest.mark.parametrize(
    ("tax", "land", "expected"),
    [
        ("1", "3", Decimal("0.33")),
        ("2", "3", Decimal("0.67")),
        ("0.01", "2", Decimal("0.01")),  # 0.005 rounds half up
        ("0.01", "2.01", Decimal("0.00")),  # 0.004975… rounds down
        ("100", "8", Decimal("12.50")),
        ("0", "5", Decimal("0.00")),
    ],
)
def test_tax_per_mu_rounds_half_up_to_two_decimals(tax, land, expected):
    assert tax_per_mu(Decimal(tax), Decimal(land)) == expected


def test_company_form_share_rounds_half_up_and_is_held_against_the_floor():
    assert Decimal("80") == COMPANY_FORM_FLOOR  # the 2018 plan's floor
    assert share_percent(2, 3) == Decimal("66.67")
    assert share_percent(1, 8) == Decimal("12.50")
    assert share_percent(1, 200) == Decimal("0.50")
    assert share_percent(1, 0) is None


def test_occupancy_vacancy_and_share_of_a_park_on_a_day(world):
    park = world["park"]
    park.capacity = 5
    park.save()
    for n, company in enumerate([True, True, True, False], start=1):
        enter(world, name=f"企业{n}", entered_on=D(2018, 4, n), company_form=company)
    gone = enter(world, name="企业5", entered_on=D(2018, 4, 5), company_form=True)
    parks.entry_leave(entry=gone, left_on=D(2018, 9, 1), user=world["staff"])
    on = occupancy(park, D(2018, 8, 31))
    assert (on.entries, on.capacity, on.vacancy, on.company_form) == (5, 5, 0, 4)
    assert on.full and on.company_form_share == Decimal("80.00") and not on.below_floor
    after = occupancy(park, D(2018, 9, 1))
    assert (after.entries, after.vacancy, after.company_form_share) == (4, 1, Decimal("75.00"))
    assert after.below_floor and not after.full
    assert occupancy(park, D(2018, 4, 2)).entries == 2


def test_a_parks_tax_per_mu_by_year_is_its_entries_tax_over_its_land(world):
    first = enter(world, name="甲", entered_on=D(2017, 5, 1))
    second = enter(world, name="乙", entered_on=D(2018, 5, 1))
    staff = world["staff"]
    parks.tax_return_record(entry=first, user=staff, year=2017, tax_10k_yuan="1", land_mu="1")
    parks.tax_return_record(entry=first, user=staff, year=2018, tax_10k_yuan="1.00", land_mu="1")
    parks.tax_return_record(entry=second, user=staff, year=2018, tax_10k_yuan="0.01", land_mu="1")
    by_year = {row.year: row for row in park_tax_by_year(world["park"])}
    assert by_year[2018].tax == Decimal("1.01") and by_year[2018].land == Decimal("3")
    assert by_year[2018].per_mu == Decimal("0.34")  # 1.01 / 3 = 0.3366…
    assert by_year[2017].per_mu == Decimal("0.33")
    assert [row.year for row in park_tax_by_year(world["park"])] == [2018, 2017]


def test_a_tax_return_is_corrected_not_duplicated_and_bad_input_writes_nothing(world):
    entry = enter(world)
    staff = world["staff"]
    parks.tax_return_record(entry=entry, user=staff, year=2018, tax_10k_yuan="5", land_mu="2")
    parks.tax_return_record(entry=entry, user=staff, year="2018", tax_10k_yuan="6", land_mu="2")
    assert TaxReturn.objects.get().tax_10k_yuan == Decimal("6")
    assert TaxReturn.history.count() == 2
    bad = [
        ({"tax_10k_yuan": "-1"}, "不能为负数"),
        ({"tax_10k_yuan": "很多"}, "请填写数字"),
        ({"tax_10k_yuan": "1.234"}, "最多两位小数"),
        ({"land_mu": "0"}, "须大于0"),
        ({"land_mu": "abc"}, "请填写数字"),
        ({"year": 2017}, "年度须在2018至2018之间"),  # before the entry entered
        ({"year": 2019}, "年度须在2018至2018之间"),  # a year not over
        ({"year": "二〇一八"}, "请填写年度"),
    ]
    for change, message in bad:
        values = {"year": 2018, "tax_10k_yuan": "7", "land_mu": "2"} | change
        with pytest.raises(ValidationError, match=message):
            parks.tax_return_record(entry=entry, user=staff, **values)
    assert TaxReturn.objects.get().tax_10k_yuan == Decimal("6") and TaxReturn.history.count() == 2
    with pytest.raises(PermissionDenied):
        parks.tax_return_record(entry=entry, user=world["outsider"], year=2018, tax_10k_yuan="1", land_mu="1")
