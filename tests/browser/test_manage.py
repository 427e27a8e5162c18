"""Management pages, the lockout page and the 403 page in real headless Chromium on a 360 px phone."""

import pytest

from campaign.models import TargetRevision
from tests.browser.conftest import login
from tests.factories import make_campaign, make_township, make_user, make_village, set_target

PASSWORD = "guan-li-yuan-2018"


@pytest.fixture
def city(transactional_db):
    campaign = make_campaign()
    towns = [make_township(name) for name in ("城关镇", "桥头镇", "东城街道", "石门乡")]
    for town in towns:
        set_target(campaign, town, 40)
        make_village(town, f"{town.name[:2]}一村")
    make_user("guanli", role="city_admin", password=PASSWORD, first_name="市整治办管理员")
    make_user("lingdao", role="city_viewer", password=PASSWORD, first_name="市领导")
    for n, town in enumerate(towns):
        make_user(f"staff{n}", role="township_staff", township=town, password=PASSWORD, first_name=f"{town.name}整治办")
    return campaign, towns


def fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width}px"


def test_management_pages_on_a_phone(phone_page, city, screenshot):
    page = phone_page
    campaign, towns = city
    login(page, "guanli", PASSWORD)
    page.click(".site-nav a:text('管理')")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "管理"
    fits(page)
    screenshot(page, "manage-index-phone")

    page.goto("/manage/users/")
    assert page.locator("#users tbody tr").count() == 6
    fits(page)
    screenshot(page, "manage-users-phone")

    page.goto("/manage/users/new/")
    page.fill("input[name=username]", "qiaotou02")
    page.fill("input[name=full_name]", "桥头镇小李")
    page.select_option("select[name=role]", "township_staff")
    page.select_option("select[name=township]", label="桥头镇")
    page.fill("input[name=password1]", "shi-men-lu-9527")
    page.fill("input[name=password2]", "shi-men-lu-9527")
    fits(page)
    screenshot(page, "manage-user-form-phone")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "已创建账号" in page.locator(".message.success").inner_text()

    page.click("#users a:text('staff0')")
    page.wait_for_load_state("networkidle")
    with page.expect_navigation():
        page.click("button:text('停用账号')")
    assert "已停用账号" in page.locator(".message.success").inner_text()
    fits(page)
    screenshot(page, "manage-user-edit-phone")

    page.goto(f"/manage/townships/{towns[0].pk}/")
    fits(page)
    screenshot(page, "manage-township-phone")

    page.goto("/manage/campaigns/new/")
    fits(page)
    screenshot(page, "manage-campaign-form-phone")

    page.goto(f"/manage/campaigns/{campaign.slug}/targets/new/")
    page.select_option("select[name=township]", label="城关镇")
    page.fill("input[name=target]", "55")
    page.fill("input[name=effective_on]", "2018-07-01")
    page.fill("input[name=reason]", "回头看新增底数")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert TargetRevision.objects.filter(township=towns[0], target=55).exists()
    assert page.locator("#targets").is_visible()
    fits(page)
    screenshot(page, "manage-targets-phone")
    assert page.watch.console_errors == []


def test_the_lockout_page_on_a_phone(phone_page, city, screenshot):
    page = phone_page
    for _ in range(5):
        login(page, "staff0", "wrong-password")
    assert "登录已暂时锁定" in page.locator("h1").inner_text()
    assert "分钟后再试" in page.locator("main").inner_text()
    fits(page)
    screenshot(page, "lockout-phone")


def test_the_403_page_on_a_phone(phone_page, city, screenshot):
    page = phone_page
    login(page, "lingdao", PASSWORD)
    assert page.locator(".site-nav a:text('管理')").count() == 0
    response = page.goto("/manage/users/")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "无权访问"
    fits(page)
    screenshot(page, "forbidden-phone")
