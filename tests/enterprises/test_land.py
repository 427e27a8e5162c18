"""Freed land (腾退土地, SPEC 5; enterprises/land.py): the lifecycle in order, each stage dated and
signed; the stage on a day; idle parcels at exactly idle_days; parcels below the 亩均税收 standard;
bad input refused with nothing written; the pages' scope and the .xlsx export."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from enterprises import land, parks
from enterprises.models import LandParcel, TaxReturn
from tests.factories import make_campaign, make_township, make_unit, make_user

D = datetime.date


@pytest.fixture
def world(db, frozen_today):
    frozen_today(D(2018, 12, 31))
    town, other = make_township("城关镇"), make_township("东城街道")
    campaign = make_campaign()
    return {
        "campaign": campaign,
        "town": town,
        "other": other,
        "admin": make_user("admin"),
        "staff": make_user("staff", role="township_staff", township=town),
        "outsider": make_user("outsider", role="township_staff", township=other),
        "viewer": make_user("viewer", role="city_viewer"),
    }


FREED_ON = D(2018, 1, 10)


def freed(world, name="旧厂地块", freed_on=FREED_ON, area="12.5", user="staff", **kwargs):
    return land.parcel_create(
        township=world["town"], name=name, area_mu=area, freed_on=freed_on, user=world[user], **kwargs
    )


def test_a_parcel_goes_through_its_stages_in_order_each_dated_and_signed(world):
    parcel = freed(world)
    assert [s.key for s in land.next_stages(parcel)] == ["supplied", "exited"]
    with pytest.raises(ValidationError, match="只能按顺序推进"):
        land.parcel_advance(parcel=parcel, stage="producing", on=D(2018, 3, 1), user=world["staff"])
    with pytest.raises(ValidationError, match="不能早于上一阶段"):
        land.parcel_advance(parcel=parcel, stage="supplied", on=D(2018, 1, 9), user=world["staff"])
    with pytest.raises(ValidationError, match="不能晚于今天"):
        land.parcel_advance(parcel=parcel, stage="supplied", on=D(2019, 1, 1), user=world["staff"])
    parcel = land.parcel_advance(parcel=parcel, stage="supplied", on=D(2018, 3, 1), user=world["staff"])
    parcel = land.parcel_advance(parcel=parcel, stage="started", on=D(2018, 3, 1), user=world["admin"])
    parcel = land.parcel_advance(parcel=parcel, stage="producing", on=D(2018, 9, 1), user=world["staff"])
    parcel = land.parcel_advance(parcel=parcel, stage="exited", on=D(2018, 12, 1), user=world["admin"])
    assert land.next_stages(parcel) == []
    with pytest.raises(ValidationError, match="已退出"):
        land.parcel_advance(parcel=parcel, stage="exited", on=D(2018, 12, 2), user=world["admin"])
    rows = LandParcel.history.filter(id=parcel.pk).order_by("history_id")
    assert [(r.history_change_reason, r.history_user.username) for r in rows] == [
        ("登记腾退土地", "staff"),
        ("腾退土地：供地", "staff"),
        ("腾退土地：开工", "admin"),
        ("腾退土地：投产", "staff"),
        ("腾退土地：退出", "admin"),
    ]


def test_exit_may_follow_any_stage(world):
    parcel = freed(world)
    parcel = land.parcel_advance(parcel=parcel, stage="exited", on=D(2018, 2, 1), user=world["staff"])
    assert land.current_stage(parcel).key == "exited"


@pytest.mark.parametrize(
    ("day", "stage"),
    [
        (D(2018, 1, 9), None),
        (D(2018, 1, 10), "freed"),
        (D(2018, 2, 28), "freed"),
        (D(2018, 3, 1), "supplied"),
        (D(2018, 4, 30), "supplied"),
        (D(2018, 5, 1), "started"),
        (D(2018, 9, 1), "producing"),
        (D(2018, 11, 30), "producing"),
        (D(2018, 12, 1), "exited"),
    ],
)
def test_the_stage_on_a_day_is_the_last_one_dated_on_or_before_it(world, day, stage):
    parcel = LandParcel(
        freed_on=D(2018, 1, 10),
        supplied_on=D(2018, 3, 1),
        started_on=D(2018, 5, 1),
        producing_on=D(2018, 9, 1),
        exited_on=D(2018, 12, 1),
    )
    found = land.stage_on(parcel, day)
    assert (found.key if found else None) == stage


def test_a_parcel_is_idle_at_exactly_idle_days_since_it_was_freed(world):
    parcel = LandParcel(freed_on=D(2018, 1, 10))
    day = D(2018, 1, 10) + datetime.timedelta(days=180)
    assert not land.is_idle(parcel, day - datetime.timedelta(days=1), 180)
    assert land.is_idle(parcel, day, 180)
    parcel.supplied_on = day
    assert not land.is_idle(parcel, day, 180)  # supplied that day: no longer idle
    assert land.is_idle(parcel, day - datetime.timedelta(days=1), 179)


def test_the_list_flags_idle_parcels_with_the_campaigns_idle_days(world):
    campaign = world["campaign"]
    campaign.idle_days = 100
    campaign.save()
    freed(world, name="甲", freed_on=D(2018, 1, 1))
    freed(world, name="乙", freed_on=D(2018, 1, 2))
    late = freed(world, name="丙", freed_on=D(2018, 6, 1))
    rows = land.land_rows(LandParcel.objects.all(), D(2018, 4, 11), idle_days=campaign.idle_days, standard=None)
    assert {r.parcel.name: (r.idle, r.idle_days) for r in rows} == {"甲": (True, 100), "乙": (False, 99)}
    assert late.pk not in [r.parcel.pk for r in rows]  # not freed yet on that day


def test_parcels_in_production_below_the_standard_are_listed_for_the_exit_review(world):
    standard = Decimal("20")
    low, exact, idle = freed(world, name="低效"), freed(world, name="达标"), freed(world, name="未投产")
    for parcel in (low, exact):
        parcel = land.parcel_advance(parcel=parcel, stage="supplied", on=D(2018, 2, 1), user=world["staff"])
        parcel = land.parcel_advance(parcel=parcel, stage="started", on=D(2018, 3, 1), user=world["staff"])
        land.parcel_advance(parcel=parcel, stage="producing", on=D(2018, 4, 1), user=world["staff"])
    staff = world["staff"]
    parks.tax_return_record(parcel=low, user=staff, year=2018, tax_10k_yuan="249.99", land_mu="12.5")  # 19.9992
    parks.tax_return_record(parcel=exact, user=staff, year=2018, tax_10k_yuan="249.94", land_mu="12.5")  # 19.9952
    parks.tax_return_record(parcel=idle, user=staff, year=2018, tax_10k_yuan="1")  # land: the parcel's area
    assert TaxReturn.objects.get(parcel=idle).land_mu == Decimal("12.50")
    rows = land.land_rows(LandParcel.objects.all(), D(2018, 12, 31), idle_days=180, standard=standard)
    by_name = {r.parcel.name: r for r in rows}
    assert by_name["低效"].per_mu == Decimal("20.00")  # 19.9992 rounds up to the standard: not below
    assert by_name["达标"].per_mu == Decimal("20.00")
    assert [r.parcel.name for r in rows if r.below_standard] == []
    parks.tax_return_record(parcel=low, user=staff, year=2018, tax_10k_yuan="249.93", land_mu="12.5")  # 19.9944
    rows = land.land_rows(LandParcel.objects.all(), D(2018, 12, 31), idle_days=180, standard=standard)
    assert [(r.parcel.name, r.per_mu) for r in rows if r.below_standard] == [("低效", Decimal("19.99"))]
    assert not by_name["未投产"].below_standard  # not in production: not for the exit review
    # before it was in production it is not listed either
    rows = land.land_rows(LandParcel.objects.all(), D(2018, 3, 31), idle_days=180, standard=standard)
    assert not any(r.below_standard for r in rows)


def test_bad_input_is_refused_with_a_message_and_nothing_written(world):
    for area, message in [("-1", "不能为负数"), ("十亩", "请填写数字"), ("0", "须大于0"), ("1.005", "最多两位小数")]:
        with pytest.raises(ValidationError, match=message):
            freed(world, area=area)
    with pytest.raises(ValidationError, match="不能晚于今天"):
        freed(world, freed_on=D(2019, 1, 1))
    other_unit = make_unit(world["other"], name="外镇单位")
    with pytest.raises(ValidationError, match="原四无单位须属于城关镇"):
        freed(world, source=other_unit)
    with pytest.raises(PermissionDenied):
        freed(world, user="outsider")
    assert not LandParcel.objects.exists() and not LandParcel.history.exists()
    parcel = freed(world)
    with pytest.raises(ValidationError, match="同名地块"):
        freed(world)
    for year, message in [(2017, "年度须在2018至2018之间"), (2019, "年度须在2018至2018之间")]:
        with pytest.raises(ValidationError, match=message):
            parks.tax_return_record(parcel=parcel, user=world["staff"], year=year, tax_10k_yuan="1")
    assert not TaxReturn.objects.exists()


def test_a_parcel_records_the_unit_whose_rectification_freed_it_and_edits_keep_history(world):
    unit = make_unit(world["town"], name="原砖瓦厂")
    parcel = freed(world, source=unit)
    assert parcel.source == unit and unit.freed_parcels.get() == parcel
    parcel = land.parcel_advance(parcel=parcel, stage="supplied", on=D(2018, 3, 1), user=world["staff"])
    with pytest.raises(ValidationError, match="腾退日期不能晚于后续阶段的日期"):
        land.parcel_edit(parcel=parcel, user=world["staff"], name="旧厂地块", area_mu="12", freed_on=D(2018, 3, 2))
    land.parcel_edit(parcel=parcel, user=world["admin"], name="旧厂东地块", area_mu="12", source=None)
    parcel.refresh_from_db()
    assert (parcel.name, parcel.area_mu, parcel.source) == ("旧厂东地块", Decimal("12.00"), None)
    assert parcel.history.order_by("-history_id").first().history_change_reason == "修改腾退土地"


# --- pages ---------------------------------------------------------------------------------------


def test_the_land_list_shows_each_parcels_stage_on_the_picked_day_in_scope(
    client, world, django_assert_max_num_queries
):
    mine = freed(world, name="城关地块", freed_on=D(2018, 1, 10))
    land.parcel_advance(parcel=mine, stage="supplied", on=D(2018, 8, 1), user=world["staff"])
    land.parcel_create(
        township=world["other"], name="东城地块", area_mu="3", freed_on=D(2018, 2, 1), user=world["admin"]
    )
    client.force_login(world["staff"])
    page = client.get(reverse("land:list") + "?campaign=c2018&as_of=2018-07-31")
    assert [r.parcel.name for r in page.context["rows"]] == ["城关地块"]
    row = page.context["rows"][0]
    assert (row.stage.key, row.idle, row.idle_days) == ("freed", True, 202)
    assert "闲置202天" in page.content.decode()
    later = client.get(reverse("land:list") + "?campaign=c2018&as_of=2018-08-01").context["rows"][0]
    assert (later.stage.key, later.idle) == ("supplied", False)
    client.force_login(world["viewer"])
    for n in range(20):
        parcel = freed(world, name=f"地块{n}", freed_on=D(2018, 1, 1))
        parks.tax_return_record(parcel=parcel, user=world["staff"], year=2018, tax_10k_yuan="1")
    with django_assert_max_num_queries(11):  # no query per parcel (the figures by stage, the 亩均 bands, the charts)
        city = client.get(reverse("land:list") + "?campaign=c2018&as_of=2018-07-31")
    assert {r.parcel.name for r in city.context["rows"]} >= {"城关地块", "东城地块"} and len(city.context["rows"]) == 22


def test_another_townships_staff_get_404_on_a_parcel_read_or_write(client, world):
    parcel = freed(world)
    client.force_login(world["outsider"])
    url = reverse("land:detail", args=[parcel.pk])
    assert client.get(url).status_code == 404
    answer = client.post(url, {"action": "stage", "stage-stage": "supplied", "stage-on": "2018-03-01"})
    assert answer.status_code == 404
    assert client.post(reverse("land:edit", args=[parcel.pk]), {"name": "x", "area_mu": "1"}).status_code == 404
    parcel.refresh_from_db()
    assert parcel.supplied_on is None
    client.force_login(world["viewer"])
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "stage", "stage-stage": "supplied", "stage-on": "2018-03-01"}).status_code == 403


def test_the_parcel_page_advances_a_stage_and_refuses_bad_tax_input(client, world):
    parcel = freed(world)
    client.force_login(world["staff"])
    url = reverse("land:detail", args=[parcel.pk])
    done = client.post(url, {"action": "stage", "stage-stage": "supplied", "stage-on": "2018-03-01"})
    assert done.status_code == 302
    parcel.refresh_from_db()
    assert parcel.supplied_on == D(2018, 3, 1)
    page = client.post(url, {"action": "tax", "tax-year": "2018", "tax-tax_10k_yuan": "-5", "tax-land_mu": ""})
    assert page.status_code == 200 and "不能为负数" in page.content.decode()
    page = client.post(url, {"action": "tax", "tax-year": "2016", "tax-tax_10k_yuan": "5", "tax-land_mu": ""})
    assert "年度须在2018至2018之间" in page.content.decode()
    assert not TaxReturn.objects.exists()
    new = client.post(
        reverse("land:new"), {"township": world["town"].pk, "name": "新地块", "area_mu": "-2", "freed_on": "2018-02-01"}
    )
    assert new.status_code == 200 and "不能为负数" in new.content.decode()
    assert LandParcel.objects.count() == 1


def test_the_land_list_exports_as_xlsx(client, world):
    freed(world, name="城关地块")
    client.force_login(world["admin"])
    answer = client.get(reverse("land:export") + "?campaign=c2018&as_of=2018-12-31")
    assert answer.status_code == 200 and answer["Content-Disposition"].endswith("-20181231.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("乡镇(街道)", "地块名称", "面积(亩)")
    assert rows[1][:3] == ("城关镇", "城关地块", 12.5)
    assert rows[1][9] == "腾退" and rows[1][11] == "是"  # freed 355 days before: idle
