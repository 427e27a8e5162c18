"""Each role's home on a 360 px phone, in real headless Chromium: where signing in lands, the badges
the navigation fetches, and a to-do item that opens the place where it is done."""

import datetime

import pytest

from enterprises.models import Enterprise, Method, Rectification
from inspections import services
from inspections.models import Finding, FindingState, Kind, Lookback, Reconciliation
from reports.models import Commitment, Interview
from tests.browser.conftest import login
from tests.factories import make_campaign, make_township, make_unit, make_user, set_target

PASSWORD = "pw-123456"
NAMES = ["东城街道", "西城街道", "南湖镇", "北山镇", "青石乡"]


TODAY = datetime.date(2018, 6, 15)


@pytest.fixture
def city(transactional_db, frozen_today):
    """Five townships at different paces on a pinned day; work waiting for each role."""
    today = frozen_today(TODAY)
    start = datetime.date(2018, 1, 2)
    campaign = make_campaign()
    towns = []
    for n, name in enumerate(NAMES):
        town = make_township(name)
        set_target(campaign, town, 20)
        units = Enterprise.objects.bulk_create(
            Enterprise(township=town, name=f"{name}单位{i}", unlicensed=True, identified_on=start) for i in range(12)
        )
        Rectification.objects.bulk_create(
            Rectification(enterprise=u, method=Method.CLOSED, rectified_on=start) for u in units[: 12 - 2 * n]
        )
        towns.append(town)
    east = towns[0]
    admin = make_user("boss", role="city_admin", password=PASSWORD, first_name="市整治办")
    make_user("lingdao", role="city_viewer", password=PASSWORD, first_name="市领导")
    make_user("dongcheng", role="township_staff", township=east, password=PASSWORD, first_name="东城街道整治办")
    inspector = make_user("ducha", role="inspector", password=PASSWORD, first_name="市督查组")
    inspection = services.inspection_record(
        kind=Kind.RANDOM,
        inspected_on=today - datetime.timedelta(days=10),
        team="督查一组",
        township=east,
        user=inspector,
    )
    for name, days in (("宏达五金厂", -3), ("老沈饭店", 2), ("佳美印刷厂", 9)):
        services.finding_record(
            inspection=inspection,
            kind="not_done",
            description="未断电",
            enterprise=make_unit(east, name=name, identified_on=start),
            deadline=today + datetime.timedelta(days=days),
        )
    Finding.objects.filter(enterprise__name="佳美印刷厂").update(state=FindingState.RECTIFIED, rectified_on=today)
    period = Rectification.objects.filter(enterprise__township=east).first()
    Lookback.objects.create(
        rectification=period, enterprise=period.enterprise, township=east, due_on=today + datetime.timedelta(days=1)
    )
    Reconciliation.objects.create(township=east, period_start=start)
    interview = Interview.objects.create(
        campaign=campaign, township=east, held_on=start, summoned="街道主任 王某某", created_by=admin
    )
    Commitment.objects.create(interview=interview, text="月底前关停剩余三家", due_on=today + datetime.timedelta(days=1))
    return campaign, towns


def _badge(page, key):
    badge = page.locator(f'nav.site-nav [data-badge="{key}"]')
    badge.wait_for(state="visible")
    return badge.inner_text()


def test_township_staff_land_on_their_township_and_their_work(phone_page, city, screenshot):
    page = phone_page
    login(page, "dongcheng", PASSWORD)
    assert page.url.endswith("/home/")
    assert page.locator("h1").inner_text() == "我的工作台"
    assert page.locator("#mine-title").inner_text() == "本乡镇：东城街道"
    assert "排名第 1 位 / 共 5 个" in page.locator("#my-township").inner_text()
    # Two open findings (one overdue), a look-back, a reconciliation and a commitment: five.
    assert _badge(page, "home") == "5"
    assert _badge(page, "inspections") == "3"
    findings = page.locator("#todo-findings-list")
    assert "逾期 1" in findings.inner_text()
    items = findings.locator("a.todo-item")
    assert items.count() == 2 and "宏达五金厂" in items.first.inner_text()
    assert "已逾期" in items.first.inner_text()
    assert page.locator("#todo-findings-list li.late").count() == 1
    screenshot(page, "home-township-phone")
    items.first.click()
    page.wait_for_url("**/inspections/findings/*/")
    assert "宏达五金厂" in page.locator("main").inner_text()


def test_an_inspector_lands_on_what_waits_for_inspectors(phone_page, city, screenshot):
    page = phone_page
    login(page, "ducha", PASSWORD)
    assert page.url.endswith("/home/")
    verify = page.locator("#todo-verify-list")
    assert "佳美印刷厂" in verify.inner_text()
    assert _badge(page, "inspections") == "2"  # one to verify, one look-back due
    screenshot(page, "home-inspector-phone")


def test_the_city_lands_on_the_red_list_and_the_days_changes(phone_page, city, screenshot):
    page = phone_page
    login(page, "boss", PASSWORD)
    assert page.url.endswith("/home/")
    red = page.locator("#red-list").inner_text()
    assert "青石乡" in red and "东城街道" not in red
    assert "东城街道" in page.locator("#overdue-by-township").inner_text()
    page.locator("#changes").wait_for()
    screenshot(page, "home-city-phone")
    page.locator("#red-list a.todo-item").first.click()
    page.wait_for_url("**/townships/*/**")


def test_a_city_leader_sees_the_same_city_home_without_the_admins_work(phone_page, city, screenshot):
    page = phone_page
    login(page, "lingdao", PASSWORD)
    assert page.url.endswith("/home/")
    assert "青石乡" in page.locator("#red-list").inner_text()
    assert page.locator("#todo-reconciliations-list").count() == 0 and page.locator("#undelivered").count() == 0
    screenshot(page, "home-leader-phone")
