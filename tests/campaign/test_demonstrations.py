"""零四无 demonstrations: apply → check (only when clean by the counting rules) → designate."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from campaign.demonstrations import (
    CLEAN_DAYS,
    demonstration_apply,
    demonstration_check,
    demonstration_designate,
    eligibility,
)
from campaign.models import Demonstration
from enterprises.models import Method
from enterprises.services import rectification_record, relapse_record
from tests.factories import make_township, make_unit, make_user, make_village

D = datetime.date
TODAY = D(2018, 12, 31)
CHECK_DAY = D(2018, 10, 31)
IDENTIFIED = D(2018, 2, 1)
APPLIED = D(2018, 9, 1)


@pytest.fixture
def place(campaign):
    town = make_township("城关镇")
    return town, make_village(town, "东门村"), make_village(town, "西门村")


@pytest.fixture
def people(place):
    town = place[0]
    return {
        "staff": make_user("staff", role="township_staff", township=town),
        "other_staff": make_user("other", role="township_staff", township=make_township("东城街道")),
        "inspector": make_user("inspector", role="inspector"),
        "viewer": make_user("viewer", role="city_viewer"),
        "admin": make_user("admin", role="city_admin"),
    }


def rectified(town, village, on, identified_on=IDENTIFIED):
    unit = make_unit(town, identified_on, village=village)
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=on)
    return unit


def relapsed(town, village, found_on):
    """A unit rectified, found operating again on ``found_on`` and shut the same day: not open after."""
    unit = rectified(town, village, D(2018, 3, 1))
    relapse_record(enterprise=unit, found_on=found_on, today=TODAY)
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=found_on)
    return unit


def apply(campaign, people, town, village=None, on=APPLIED):
    return demonstration_apply(
        campaign=campaign, township=town, village=village, applied_on=on, user=people["staff"], today=TODAY
    )


def check(demo, people, on=CHECK_DAY, who="admin"):
    return demonstration_check(
        demonstration=demo, checked_on=on, note="现场核查无四无单位", user=people[who], today=TODAY
    )


# --- eligibility: the counting rules on the check day -------------------------------------------


def test_a_unit_open_on_the_check_day_makes_the_place_ineligible(place):
    town, east, _west = place
    make_unit(town, D(2018, 5, 1), village=east)

    found = eligibility(township=town, village=east, day=CHECK_DAY)

    assert (found.ok, found.open_units, found.relapses) == (False, 1, 0)
    assert found.reasons() == ["2018-10-31 仍有1家未整治的四无单位"]


@pytest.mark.parametrize(
    ("rectified_on", "ok"),
    [(CHECK_DAY, True), (CHECK_DAY + datetime.timedelta(days=1), False)],
)
def test_a_unit_rectified_on_the_check_day_counts_as_rectified(place, rectified_on, ok):
    town, east, _west = place
    rectified(town, east, rectified_on)

    assert eligibility(township=town, village=east, day=CHECK_DAY).ok is ok


def test_a_unit_identified_after_the_check_day_is_not_open_on_it(place):
    town, east, _west = place
    make_unit(town, CHECK_DAY + datetime.timedelta(days=1), village=east)

    assert eligibility(township=town, village=east, day=CHECK_DAY).ok


@pytest.mark.parametrize(
    ("days_before", "ok"),
    [
        (0, False),  # found on the check day itself
        (CLEAN_DAYS - 1, False),  # the first day of the clean period
        (CLEAN_DAYS, True),  # the day before it
    ],
)
def test_a_relapse_inside_the_clean_period_makes_the_place_ineligible(place, days_before, ok):
    town, east, _west = place
    relapsed(town, east, CHECK_DAY - datetime.timedelta(days=days_before))

    found = eligibility(township=town, village=east, day=CHECK_DAY)

    assert (found.open_units, found.ok) == (0, ok)
    if not ok:
        assert found.reasons() == ["2018-08-03 至 2018-10-31（验收前90天内）发现死灰复燃1起"]


def test_a_village_is_judged_on_its_own_units_a_township_on_all_of_them(place):
    town, east, west = place
    make_unit(town, D(2018, 5, 1), village=west)

    assert eligibility(township=town, village=east, day=CHECK_DAY).ok
    assert not eligibility(township=town, village=west, day=CHECK_DAY).ok
    assert not eligibility(township=town, day=CHECK_DAY).ok


def test_a_deleted_unit_does_not_count(place):
    town, east, _west = place
    unit = make_unit(town, D(2018, 5, 1), village=east)
    unit.deleted_at = datetime.datetime(2018, 6, 1, tzinfo=datetime.UTC)
    unit.save()

    assert eligibility(township=town, village=east, day=CHECK_DAY).ok


# --- the steps in order, each dated and signed ----------------------------------------------------


def test_apply_check_designate_each_dated_signed_and_kept_in_history(campaign, place, people):
    town, east, _west = place
    rectified(town, east, D(2018, 4, 1))

    demo = apply(campaign, people, town, east)
    check(demo, people, who="inspector")
    demonstration_designate(demonstration=demo, designated_on=D(2018, 11, 15), user=people["admin"], today=TODAY)

    demo = Demonstration.objects.get()
    assert (demo.applied_on, demo.applied_by, demo.checked_on, demo.checked_by) == (
        D(2018, 9, 1),
        people["staff"],
        CHECK_DAY,
        people["inspector"],
    )
    assert (demo.designated_on, demo.designated_by, demo.check_note) == (
        D(2018, 11, 15),
        people["admin"],
        "现场核查无四无单位",
    )
    steps = [(h.history_user.username, h.history_change_reason) for h in demo.history.order_by("history_id")]
    assert steps == [("staff", "申报零四无示范"), ("inspector", "零四无示范验收"), ("admin", "零四无示范命名")]


def test_an_ineligible_check_is_refused_with_the_reason_and_nothing_recorded(campaign, place, people):
    town, east, _west = place
    make_unit(town, D(2018, 5, 1), village=east)
    demo = apply(campaign, people, town, east)

    with pytest.raises(ValidationError, match="不符合零四无验收条件：2018-10-31 仍有1家未整治的四无单位"):
        check(demo, people)

    demo.refresh_from_db()
    assert demo.checked_on is None and demo.history.count() == 1


def test_steps_out_of_order_are_refused(campaign, place, people):
    town, east, _west = place
    demo = apply(campaign, people, town, east)
    designate = {"demonstration": demo, "user": people["admin"], "today": TODAY}

    with pytest.raises(ValidationError, match="尚未通过验收"):
        demonstration_designate(designated_on=CHECK_DAY, **designate)
    with pytest.raises(ValidationError, match="验收日期不能早于申报日期"):
        check(demo, people, on=D(2018, 8, 31))
    check(demo, people)
    with pytest.raises(ValidationError, match="不能重复验收"):
        check(demo, people)
    with pytest.raises(ValidationError, match="命名日期不能早于验收日期"):
        demonstration_designate(designated_on=D(2018, 10, 30), **designate)
    demonstration_designate(designated_on=CHECK_DAY, **designate)  # the check's own day is fine
    with pytest.raises(ValidationError, match="已于2018-10-31命名"):
        demonstration_designate(designated_on=CHECK_DAY, **designate)
    with pytest.raises(ValidationError, match="已申报过"):
        apply(campaign, people, town, east)


def test_dates_in_the_future_or_outside_the_year_are_refused(campaign, place, people):
    town = place[0]
    with pytest.raises(ValidationError, match="不能晚于今天"):
        apply(campaign, people, town, on=D(2019, 1, 1))
    with pytest.raises(ValidationError, match="不在整治行动年度内"):
        apply(campaign, people, town, on=D(2017, 12, 31))
    assert not Demonstration.objects.exists()


def test_a_village_of_another_township_is_refused(campaign, place, people):
    town = place[0]
    elsewhere = make_village(make_township("北山乡"), "北山村")

    with pytest.raises(ValidationError, match="不属于城关镇"):
        apply(campaign, people, town, elsewhere)


# --- who may do what -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_staff", "inspector", "viewer"])
def test_only_the_townships_staff_or_a_city_admin_apply(campaign, place, people, who):
    with pytest.raises(PermissionDenied):
        demonstration_apply(
            campaign=campaign, township=place[0], applied_on=D(2018, 9, 1), user=people[who], today=TODAY
        )
    assert demonstration_apply(
        campaign=campaign, township=place[0], applied_on=D(2018, 9, 1), user=people["admin"], today=TODAY
    ).pk


@pytest.mark.parametrize("who", ["staff", "viewer"])
def test_staff_and_viewers_may_not_check(campaign, place, people, who):
    demo = apply(campaign, people, place[0])
    with pytest.raises(PermissionDenied):
        check(demo, people, who=who)


@pytest.mark.parametrize("who", ["staff", "inspector", "viewer"])
def test_only_a_city_admin_designates(campaign, place, people, who):
    demo = check(apply(campaign, people, place[0]), people)
    with pytest.raises(PermissionDenied):
        demonstration_designate(demonstration=demo, designated_on=CHECK_DAY, user=people[who], today=TODAY)
    assert Demonstration.objects.get().designated_on is None


# --- the pages -------------------------------------------------------------------------------------


def test_the_pages_take_a_place_from_application_to_designation(client, campaign, place, people, frozen_today):
    from django.urls import reverse

    frozen_today(TODAY)
    town, east, _west = place
    rectified(town, east, D(2018, 4, 1))
    url = reverse("parks:zero_village", args=[campaign.slug, town.pk, east.pk])

    client.force_login(people["staff"])
    assert "符合验收条件" in client.get(url).content.decode()
    assert client.post(url, {"step": "apply", "day": "2018-09-01"}).status_code == 302
    client.force_login(people["inspector"])
    assert client.post(url, {"step": "check", "day": "2018-10-31", "note": "无"}).status_code == 302
    client.force_login(people["admin"])
    assert client.post(url, {"step": "designate", "day": "2018-11-01"}).status_code == 302

    listed = client.get(reverse("parks:zero") + "?campaign=c2018").content.decode()
    assert "已命名示范乡镇（街道）0个、示范村（社区）1个" in listed
    assert "东门村" in listed
    page = client.get(url).content.decode()
    assert "已命名" in page and "零四无示范命名" in page


def test_a_refused_check_shows_the_reason_on_the_page(client, campaign, place, people, frozen_today):
    from django.urls import reverse

    frozen_today(TODAY)
    town = place[0]
    make_unit(town, D(2018, 5, 1))
    apply(campaign, people, town)
    client.force_login(people["inspector"])

    refused = client.post(
        reverse("parks:zero_township", args=[campaign.slug, town.pk]), {"step": "check", "day": "2018-10-31"}
    )

    assert refused.status_code == 200
    assert "不符合零四无验收条件：2018-10-31 仍有1家未整治的四无单位" in refused.content.decode()
    assert Demonstration.objects.get().checked_on is None


def test_another_townships_staff_cannot_apply_through_the_page(client, campaign, place, people, frozen_today):
    from django.urls import reverse

    frozen_today(TODAY)
    client.force_login(people["other_staff"])
    url = reverse("parks:zero_township", args=[campaign.slug, place[0].pk])

    assert client.get(url).status_code == 200  # city-wide reading, like the rankings
    assert client.post(url, {"step": "apply", "day": "2018-09-01"}).status_code == 404
    assert not Demonstration.objects.exists()
