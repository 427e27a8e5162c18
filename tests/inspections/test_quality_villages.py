"""死灰复燃 on the quality page and 零四无 eligibility come from one counting rule, for townships and
for villages (村/社区)."""

import datetime

import pytest
from django.urls import reverse

from enterprises.models import Method
from enterprises.services import rectification_record, relapse_record
from inspections.quality import quality_report, village_report
from inspections.services import settings_for
from tests.factories import make_campaign, make_township, make_unit, make_user, make_village
from tests.inspections.test_quality import finding

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 12, 31))


def rectify(unit, day):
    return rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=day)


def relapsed(unit, rectified_on, found_on, again_on=None):
    """A unit rectified, found operating again (a relapse recorded on the unit page, no look-back)."""
    rectify(unit, rectified_on)
    relapse_record(enterprise=unit, found_on=found_on)
    if again_on:
        rectify(unit, again_on)


def test_relapses_found_without_a_lookback_are_counted_where_they_rule_a_township_out():
    # The demo's case: relapses recorded on the unit page, no look-back at all. The page said 0
    # relapses while the eligibility said "relapse in the clean period".
    campaign = make_campaign()
    town = make_township("青石乡")
    relapsed(make_unit(town, D(2018, 1, 5)), D(2018, 2, 1), D(2018, 11, 20), again_on=D(2018, 12, 1))
    [row] = quality_report(campaign, campaign.start, D(2018, 12, 31), townships=[town])
    assert row.relapses == 1 and row.relapsed == 0  # 死灰复燃 1; none found by a look-back
    assert "relapses" in row.reasons


def test_a_relapse_before_the_clean_period_counts_in_the_period_but_no_longer_rules_out():
    campaign = make_campaign()
    town = make_township("青石乡")
    relapsed(make_unit(town, D(2018, 1, 5)), D(2018, 2, 1), D(2018, 3, 1), again_on=D(2018, 3, 10))
    [row] = quality_report(campaign, campaign.start, D(2018, 12, 31), townships=[town])
    assert row.relapses == 1 and row.eligible


def test_a_withdrawn_relapse_counts_nowhere():
    from enterprises.services import RELAPSE, event_withdraw

    campaign = make_campaign()
    town = make_township("青石乡")
    unit = make_unit(town, D(2018, 1, 5))
    rectify(unit, D(2018, 2, 1))
    event = relapse_record(enterprise=unit, found_on=D(2018, 11, 20))
    event_withdraw(enterprise=unit, kind=RELAPSE, pk=event.pk, reason="误报", user=make_user("admin"))
    [row] = quality_report(campaign, campaign.start, D(2018, 12, 31), townships=[town])
    assert row.relapses == 0 and "relapses" not in row.reasons


def test_villages_are_judged_by_the_townships_rules():
    campaign = make_campaign()
    town = make_township("青石乡")
    clean, open_, relapse, finding_left, empty = (
        make_village(town, n) for n in ("甲村", "乙村", "丙村", "丁村", "戊村")
    )
    rectify(make_unit(town, D(2018, 1, 5), village=clean), D(2018, 2, 1))
    make_unit(town, D(2018, 1, 5), village=open_)
    relapsed(make_unit(town, D(2018, 1, 5), village=relapse), D(2018, 2, 1), D(2018, 12, 1), again_on=D(2018, 12, 5))
    left = make_unit(town, D(2018, 1, 5), village=finding_left)
    rectify(left, D(2018, 2, 1))
    finding(town, D(2018, 12, 10), D(2018, 12, 25), unit=left)
    rows = {row.name: row for row in village_report(campaign, D(2018, 12, 31), [town.pk])}
    assert rows["甲村"].eligible
    assert rows["乙村"].reasons == ["open_units"]
    assert rows["丙村"].reasons == ["relapses"] and rows["丙村"].relapses_recent == 1
    assert rows["丁村"].reasons == ["findings"]
    assert rows["戊村"].reasons == ["no_units"]


def _village_city(n):
    campaign = make_campaign()
    settings_for(campaign)  # made on a page's first visit; the pin is for every visit after
    for t in range(2):
        town = make_township(f"第{t}镇")
        for v in range(n):
            village = make_village(town, f"第{t}镇{v}村")
            unit = make_unit(town, D(2018, 1, 5), village=village)
            if v % 2:
                relapsed(unit, D(2018, 2, 1), D(2018, 11, 1))
    return campaign


@pytest.mark.parametrize("n", [2, 12])
def test_the_quality_page_with_villages_does_not_grow_with_them(client, django_assert_num_queries, n):
    _village_city(n)
    client.force_login(make_user("admin"))
    # The 16 of the page without villages (tests/inspections/test_views_queries.py), and for the
    # villages: their units (registered and open in one), relapses, unresolved findings, look-backs.
    with django_assert_num_queries(20):
        response = client.get(reverse("inspections:quality"))
    html = response.content.decode()
    assert html.count('data-village="') == 2 * n


def test_township_staff_see_their_own_villages_only_and_no_link_into_other_townships(client):
    campaign = make_campaign()
    mine, other = make_township("青石乡"), make_township("白沙镇")
    make_village(mine, "甲村")
    make_village(other, "乙村")
    for town in (mine, other):
        finding(town, D(2018, 3, 1), D(2018, 3, 10))
    assert campaign
    client.force_login(make_user("zhen", role="township_staff", township=mine))
    html = client.get(reverse("inspections:quality")).content.decode()
    assert "甲村" in html and "乙村" not in html
    assert f"?township={mine.pk}&amp;overdue=on" in html and f"?township={other.pk}&amp;overdue=on" not in html
