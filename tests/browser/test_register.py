"""The unit register in real headless Chromium: find a unit, and record its rectification on a phone."""

import datetime
import io
import json

import pytest
from django.contrib.admin.models import LogEntry
from PIL import Image

from enterprises.models import Enterprise, RectificationPhoto, Status
from enterprises.services import rectification_record, unit_update
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_township, make_unit, make_user, make_village, set_target

D = datetime.date
TODAY = D(2018, 6, 30)
PASSWORD = "zhen-staff-2018"
BRANDS = ["宏达", "兴旺", "永利", "金鑫"]
KINDS = ["五金加工厂", "小作坊", "废品回收站", "木材加工点"]


@pytest.fixture
def register(transactional_db, campaign, frozen_today, settings, tmp_path, django_user_model):
    """Two townships with a few villages and 40 units; a township staff member's account."""
    frozen_today(TODAY)
    settings.MEDIA_ROOT = tmp_path / "media"
    east, west = make_township("城关镇"), make_township("新塘乡")
    set_target(campaign, east, 30)
    set_target(campaign, west, 20)
    villages = {t: [make_village(t, f"{t.name[:2]}{n}村") for n in "一二三"] for t in (east, west)}
    for i in range(40):
        township = east if i % 2 else west
        make_unit(
            township,
            D(2018, 1, 1) + datetime.timedelta(days=i * 3),
            name=f"{BRANDS[i % 4]}{KINDS[i % 4]}{i:02d}",
            village=villages[township][i % 3],
            address=f"{township.name}{i}号",
            industry=["五金", "餐饮", "废品回收", "木材"][i % 4],
            premises=["厂房", "民房", "棚屋"][i % 3],
            unsafe=bool(i % 3 == 0),
        )
    target = make_unit(
        east,
        D(2018, 5, 20),
        name="红星彩钢棚加工点",
        village=villages[east][0],
        address="城关镇解放路 88 号",
        owner="王五",
        phone="13800001111",
        industry="金属制品",
        premises="违章搭建",
        no_legal_premises=True,
    )
    done = make_unit(east, D(2018, 2, 1), name="已整治的作坊", village=villages[east][1])
    rectification_record(enterprise=done, method="closed", rectified_on=D(2018, 3, 1))
    # The field journeys are a township staff member's; the city-wide ones a city admin's.
    user = make_user("chengguan", role="township_staff", township=east, password=PASSWORD, first_name="李乡干")
    admin = make_user("shiban", role="city_admin", password=PASSWORD, first_name="市整治办")
    return {"east": east, "west": west, "target": target, "user": user, "admin": admin, "media": settings.MEDIA_ROOT}


def login(page, username, password):
    # conftest.login clicks the first submit button on the page, which is now the header's
    # language switch; submitting the password field with Enter reaches the login form itself.
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" not in page.url, "login failed"


def progress(page, campaign):
    response = page.request.get(f"/api/progress?campaign={campaign.slug}&as_of={TODAY.isoformat()}")
    assert response.ok, response.text()
    return json.loads(response.text())


def row_for(report, name):
    return next(row for row in report["townships"] if row["name"] == name)


def assert_fits_the_screen(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_filter_the_register_and_open_a_unit(page, register, screenshot):
    login(page, "shiban", PASSWORD)
    page.goto("/units/")
    assert page.locator("[data-count=total]").inner_text() == "42"
    screenshot(page, "register-desktop")

    page.select_option("select[name=township]", label="城关镇")
    page.locator("input[name=status][value=open]").check()
    page.select_option("select[name=no_legal_premises]", "true")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state("networkidle")

    assert page.locator("[data-count=total]").inner_text() == "1"
    assert page.locator("table.data tbody tr").count() == 1
    screenshot(page, "register-desktop-filtered")

    page.get_by_role("link", name="红星彩钢棚加工点").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("红星彩钢棚加工点")
    for text in ("城关镇解放路 88 号", "王*", "138****1111", "无合法场所", "排查发现"):
        assert page.get_by_text(text).first.is_visible(), text
    assert page.get_by_text("王五").count() == 0
    screenshot(page, "unit-detail-desktop")

    # The full name and phone are one recorded click away.
    page.get_by_role("button", name="查看完整信息").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-personal=owner]").inner_text() == "王五"
    assert page.locator("[data-personal=phone]").inner_text() == "13800001111"
    assert LogEntry.objects.filter(change_message="查看完整联系方式", user=register["admin"]).count() == 1
    assert page.watch.console_errors == []


def test_search_on_a_phone_shows_cards(phone_page, register, screenshot):
    page = phone_page
    login(page, "chengguan", PASSWORD)
    page.goto("/units/")
    page.fill("input[name=q]", "红星")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-count=total]").inner_text() == "1"
    # The table is a stack of cards: the header row is hidden, each cell carries its own label.
    assert (
        not page.locator("table.data thead").is_visible()
        or page.locator("table.data thead").bounding_box()["height"] <= 1
    )
    assert_fits_the_screen(page)
    screenshot(page, "register-phone-search")


def test_record_a_rectification_with_a_photo_on_a_phone(phone_page, register, campaign, screenshot, tmp_path):
    page = phone_page
    unit = register["target"]
    photo_path = tmp_path / "现场照片.jpg"
    photo_path.write_bytes(make_image_bytes(size=(1600, 1200), color=(120, 140, 90)))

    login(page, "chengguan", PASSWORD)
    before = row_for(progress(page, campaign), "城关镇")

    page.goto(f"/units/{unit.pk}/")
    assert_fits_the_screen(page)
    screenshot(page, "unit-detail-phone-before")
    page.get_by_role("link", name="登记整治").click()
    page.wait_for_load_state("networkidle")
    assert_fits_the_screen(page)

    # First a slip of the thumb: a date before the unit was found, and a negative area.
    page.get_by_label("拆除", exact=True).check()
    page.fill("input[name=rectified_on]", "2018-05-01")
    page.fill("input[name=demolished_m2]", "-30")
    page.get_by_role("button", name="提交整治情况").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("整治完成日期不能早于排查日期（2018-05-20）").is_visible()
    assert page.get_by_text("拆除面积不能为负数").is_visible()
    screenshot(page, "rectify-phone-errors")

    page.fill("input[name=rectified_on]", "2018-06-29")
    page.fill("input[name=demolished_m2]", "260.5")
    page.fill("textarea[name=note]", "彩钢棚已全部拆除，场地已清理")
    page.set_input_files("input[name=photos]", str(photo_path))
    submit = page.get_by_role("button", name="提交整治情况")
    assert submit.bounding_box()["height"] >= 44
    screenshot(page, "rectify-phone-filled")
    submit.click()
    page.wait_for_load_state("networkidle")

    assert page.url.endswith(f"/units/{unit.pk}/")
    assert page.get_by_text("已登记“红星彩钢棚加工点”的整治情况").is_visible()
    assert page.locator("h1 .badge").inner_text() == "已整治"
    assert page.locator("button, a").filter(has_text="登记死灰复燃").count() == 1
    image = page.locator(".timeline .photos img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert_fits_the_screen(page)
    screenshot(page, "unit-detail-phone-after")

    unit.refresh_from_db()
    assert unit.status == Status.RECTIFIED
    stored = RectificationPhoto.objects.get(rectification__enterprise=unit)
    with Image.open(io.BytesIO((register["media"] / stored.image.name).read_bytes())) as saved:
        assert dict(saved.getexif()) == {}

    after = row_for(progress(page, campaign), "城关镇")
    assert after["rectified"] == before["rectified"] + 1
    assert after["open"] == before["open"] - 1
    assert after["demolished_m2"] == pytest.approx(before["demolished_m2"] + 260.5)

    # Reloading the page the POST redirected to records nothing twice.
    page.reload()
    page.wait_for_load_state("networkidle")
    assert Enterprise.objects.get(pk=unit.pk).rectifications.count() == 1

    page.goto("/")
    page.wait_for_load_state("networkidle")
    screenshot(page, "dashboard-phone-after-rectification")
    assert page.watch.console_errors == []


def test_register_a_new_unit_on_a_phone(phone_page, register, screenshot):
    page = phone_page
    login(page, "shiban", PASSWORD)
    page.goto("/units/")
    page.get_by_role("link", name="新增单位").click()
    page.wait_for_load_state("networkidle")

    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("请至少选择一项四无类型").is_visible()
    assert_fits_the_screen(page)
    screenshot(page, "unit-create-phone-errors")

    page.fill("input[name=name]", "路边洗车点")
    page.select_option("select[name=township]", label="新塘乡")
    # Only the chosen township's villages are offered.
    offered = page.eval_on_selector_all(
        "select[name=village] option:not([hidden])", "options => options.map(o => o.textContent.trim())"
    )
    assert offered[1:] == ["新塘乡新塘一村", "新塘乡新塘三村", "新塘乡新塘二村"]
    page.select_option("select[name=village]", label="新塘乡新塘二村")
    page.get_by_label("无证无照").check()
    page.get_by_label("无环保措施").check()
    page.fill("input[name=identified_on]", "2018-06-28")
    page.get_by_label("举报").check()
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")

    assert page.get_by_text("已登记四无单位“路边洗车点”").is_visible()
    unit = Enterprise.objects.get(name="路边洗车点")
    assert (unit.village.name, unit.unlicensed, unit.no_env_measures, unit.source) == (
        "新塘二村",
        True,
        True,
        "complaint",
    )
    assert unit.created_by == register["admin"]
    assert page.url.endswith(unit.get_absolute_url())
    screenshot(page, "unit-created-phone")


def test_record_a_relapse_on_a_phone(phone_page, register, campaign, screenshot):
    page = phone_page
    unit = Enterprise.objects.get(name="已整治的作坊")
    login(page, "chengguan", PASSWORD)
    before = row_for(progress(page, campaign), "城关镇")

    page.goto(unit.get_absolute_url())
    page.get_by_role("link", name="登记死灰复燃").click()
    page.wait_for_load_state("networkidle")
    page.fill("input[name=found_on]", "2018-02-15")
    page.get_by_role("button", name="确认登记").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("发现日期须晚于整治完成日期（2018-03-01）").is_visible()

    page.fill("input[name=found_on]", "2018-06-10")
    page.fill("textarea[name=note]", "回头看发现又在夜间生产")
    page.get_by_role("button", name="确认登记").click()
    page.wait_for_load_state("networkidle")

    assert page.locator("h1 .badge").inner_text() == "未整治"
    kinds = page.eval_on_selector_all(".timeline li", "items => items.map(li => li.dataset.kind)")
    assert kinds == ["identified", "rectification", "relapse"]
    assert page.get_by_text("已于 2018-06-10 死灰复燃").is_visible()
    assert_fits_the_screen(page)
    screenshot(page, "unit-detail-phone-relapsed")

    after = row_for(progress(page, campaign), "城关镇")
    assert after["rectified"] == before["rectified"] - 1
    assert after["open"] == before["open"] + 1


def test_the_unit_page_shows_its_history_on_a_phone(phone_page, register, screenshot):
    page = phone_page
    unit = Enterprise.objects.get(name="已整治的作坊")
    login(page, "chengguan", PASSWORD)

    # A relapse recorded by mistake, then withdrawn with a reason.
    page.goto(unit.get_absolute_url())
    page.get_by_role("link", name="登记死灰复燃").click()
    page.wait_for_load_state("networkidle")
    page.fill("input[name=found_on]", "2018-06-10")
    page.get_by_role("button", name="确认登记").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1 .badge").inner_text() == "未整治"
    page.locator(".timeline li[data-kind=relapse]").get_by_role("link", name="撤回").click()
    page.wait_for_load_state("networkidle")
    assert_fits_the_screen(page)
    page.fill("textarea[name=reason]", "看错了门牌，不是这一家")
    page.get_by_role("button", name="确认撤回").click()
    page.wait_for_load_state("networkidle")

    assert page.get_by_text("已撤回“已整治的作坊”的死灰复燃记录，该单位恢复为已整治").is_visible()
    assert page.locator("h1 .badge").inner_text() == "已整治"
    assert page.locator(".timeline li.withdrawn[data-kind=relapse]").count() == 1
    history = page.locator("#history")
    history.scroll_into_view_if_needed()
    withdrawn = history.locator(".history > li[data-action=withdrawn]")
    assert withdrawn.count() == 1
    assert "撤回 死灰复燃" in withdrawn.inner_text()
    assert "李乡干" in withdrawn.inner_text()
    assert "看错了门牌，不是这一家" in withdrawn.inner_text()
    assert "来自 127.0.0.1" in history.inner_text()
    assert "复发日期" in history.inner_text()
    assert_fits_the_screen(page)
    screenshot(page, "unit-history-phone")
    assert page.watch.console_errors == []


def test_a_stale_edit_on_a_phone_shows_what_changed_and_keeps_the_input(phone_page, register, screenshot):
    page = phone_page
    unit = register["target"]
    login(page, "chengguan", PASSWORD)
    page.goto(f"/units/{unit.pk}/edit/")
    page.wait_for_load_state("networkidle")

    # Meanwhile a colleague saves a change to the same unit.
    colleague = make_user("wangjie", first_name="王杰")
    other = Enterprise.objects.get(pk=unit.pk)
    other.address = "城关镇解放路 90 号"
    other.grid = "第三网格"
    unit_update(enterprise=other, version=other.version, user=colleague)

    page.fill("input[name=name]", "红星彩钢加工厂")
    page.fill("input[name=industry]", "钢结构")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")

    conflict = page.locator("#conflict")
    assert conflict.is_visible()
    text = conflict.inner_text()
    assert "保存未成功：该单位已被他人修改" in text
    assert "王杰" in text
    assert "城关镇解放路 88 号" in text and "城关镇解放路 90 号" in text
    assert "第三网格" in text
    # What this user typed is still there, and the colleague's changes are merged into the rest.
    assert page.input_value("input[name=name]") == "红星彩钢加工厂"
    assert page.input_value("input[name=industry]") == "钢结构"
    assert page.input_value("input[name=address]") == "城关镇解放路 90 号"
    assert page.input_value("input[name=grid]") == "第三网格"
    assert Enterprise.objects.get(pk=unit.pk).name == "红星彩钢棚加工点"
    assert_fits_the_screen(page)
    screenshot(page, "edit-conflict-phone")

    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("已保存“红星彩钢加工厂”的修改").is_visible()
    saved = Enterprise.objects.get(pk=unit.pk)
    # Both people's input is kept: the colleague's address and grid, this user's name and industry.
    assert (saved.name, saved.industry, saved.address, saved.grid) == (
        "红星彩钢加工厂",
        "钢结构",
        "城关镇解放路 90 号",
        "第三网格",
    )
    assert page.watch.console_errors == []


# --- issue 19.1: dates follow the picked campaign ---------------------------------------------------

AFTER_YEAR = D(2019, 3, 10)  # the 2018 campaign is over and no 2019 campaign exists yet


@pytest.fixture
def after_year(transactional_db, campaign, frozen_today, settings, tmp_path):
    """The 2018 campaign picked after its year: the field's case (today is not a day of the campaign)."""
    frozen_today(AFTER_YEAR)
    settings.MEDIA_ROOT = tmp_path / "media"
    town = make_township("城关镇")
    set_target(campaign, town, 10)
    units = {
        name: make_unit(town, D(2018, 12, 17), name=name, address=f"城关镇西埠村{i}号")
        for i, name in enumerate(["创业塑料造粒厂", "西埠村废品回收站"])
    }
    make_user("chengguan", role="township_staff", township=town, password=PASSWORD, first_name="城关镇整治办")
    return units


def year_end_row(page, campaign):
    response = page.request.get(f"/api/progress?campaign={campaign.slug}&as_of=2018-12-31")
    assert response.ok, response.text()
    return row_for(json.loads(response.text()), "城关镇")


def test_a_rectification_with_the_offered_date_counts_in_the_campaign_on_a_phone(
    phone_page, after_year, campaign, screenshot, tmp_path
):
    page = phone_page
    photo_path = tmp_path / "现场.jpg"
    photo_path.write_bytes(make_image_bytes(size=(1200, 900)))
    login(page, "chengguan", PASSWORD)
    before = year_end_row(page, campaign)

    page.goto("/units/")
    page.wait_for_load_state("networkidle")
    note = page.locator("#register-now")
    assert "当前台账，不随截至日期变化" in note.inner_text()
    assert "截至 2018-12-31 的整治进度" in page.locator("#register-report").inner_text()
    assert_fits_the_screen(page)
    screenshot(page, "register-phone-now-and-as-of")

    page.get_by_role("link", name="创业塑料造粒厂").click()
    page.get_by_role("link", name="登记整治").click()
    page.wait_for_load_state("networkidle")
    # The date offered is the campaign's as-of day, not today (2019-03-10).
    assert page.input_value("input[name=rectified_on]") == "2018-12-31"
    assert page.locator("[data-date-check]").is_hidden()
    page.get_by_label("搬迁入园").check()
    page.set_input_files("input[name=photos]", str(photo_path))
    page.get_by_role("button", name="提交整治情况").click()
    page.wait_for_load_state("networkidle")

    assert page.locator("h1 .badge").inner_text() == "已整治"
    assert page.locator("#counted-note").count() == 0
    after = year_end_row(page, campaign)
    assert (after["rectified"], after["open"]) == (before["rectified"] + 1, before["open"] - 1)
    page.goto("/units/")
    open_now = int(page.locator("[data-count=open]").inner_text()) + int(
        page.locator("[data-count=in_progress]").inner_text()
    )
    assert open_now == after["open"]
    assert page.watch.console_errors == []


def test_a_date_outside_the_campaigns_year_is_warned_about_before_saving_on_a_phone(
    phone_page, after_year, campaign, screenshot, tmp_path
):
    page = phone_page
    unit = after_year["西埠村废品回收站"]
    photo_path = tmp_path / "现场.jpg"
    photo_path.write_bytes(make_image_bytes(size=(1200, 900)))
    login(page, "chengguan", PASSWORD)

    page.goto(f"/units/{unit.pk}/rectify/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("关停取缔").check()
    page.set_input_files("input[name=photos]", str(photo_path))
    # Today, which is not a day of the 2018 campaign: the warning shows as soon as it is picked.
    page.fill("input[name=rectified_on]", AFTER_YEAR.isoformat())
    warning = page.locator("[data-date-check]")
    assert warning.is_visible()
    assert "不在2018年“四无”生产经营单位整治行动的年度内（2018-01-01 至 2018-12-31）" in warning.inner_text()
    confirm = page.get_by_label("确认日期 2019-03-10 不在整治行动年度内，仍然保存")
    assert not confirm.is_checked()
    assert confirm.bounding_box()["height"] >= 16
    assert_fits_the_screen(page)
    screenshot(page, "rectify-phone-date-outside-year")

    # Sent without the tick: not sent at all, the photo stays chosen, the warning says so again.
    page.get_by_role("button", name="提交整治情况").click()
    page.wait_for_timeout(300)
    assert page.url.endswith(f"/units/{unit.pk}/rectify/")
    assert "date-check-missing" in warning.get_attribute("class")
    assert page.eval_on_selector("input[name=photos]", "input => input.files.length") == 1
    assert not Enterprise.objects.get(pk=unit.pk).rectifications.exists()
    screenshot(page, "rectify-phone-date-not-confirmed")

    # A day inside the year hides it again; today again asks again.
    page.fill("input[name=rectified_on]", "2018-12-30")
    assert warning.is_hidden()
    page.fill("input[name=rectified_on]", AFTER_YEAR.isoformat())
    assert warning.is_visible() and not confirm.is_checked()

    confirm.check()
    page.get_by_role("button", name="提交整治情况").click()
    page.wait_for_load_state("networkidle")

    assert page.url.endswith(unit.get_absolute_url())
    saved = Enterprise.objects.get(pk=unit.pk).rectifications.get()
    assert (saved.rectified_on, saved.photos.count()) == (AFTER_YEAR, 1)
    # The unit page says why the campaign's report still counts it open.
    note = page.locator("#counted-note")
    assert "不在2018年“四无”生产经营单位整治行动的年度内" in note.inner_text()
    assert "该年度的整治进度仍按未整治计数" in note.inner_text()
    assert_fits_the_screen(page)
    screenshot(page, "unit-detail-phone-outside-year")
    assert page.watch.console_errors == []


def test_without_the_script_the_server_warns_and_the_tick_saves(browser, live_server, after_year, screenshot):
    from tests.browser.conftest import PHONE, PageWatch

    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    watch = PageWatch(live_server.url)
    page.on("request", watch.on_request)
    try:
        login(page, "chengguan", PASSWORD)
        unit = after_year["创业塑料造粒厂"]
        page.goto(f"/units/{unit.pk}/rectify/")
        page.get_by_label("关停取缔").check()
        page.fill("input[name=rectified_on]", AFTER_YEAR.isoformat())
        page.get_by_role("button", name="提交整治情况").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("2019-03-10 不在2018年“四无”生产经营单位整治行动的年度内").is_visible()
        assert page.locator("[data-date-check]").is_visible()
        assert not Enterprise.objects.get(pk=unit.pk).rectifications.exists()
        screenshot(page, "rectify-phone-no-script-warning")
        page.get_by_label("确认日期 2019-03-10 不在整治行动年度内，仍然保存").check()
        page.get_by_role("button", name="提交整治情况").click()
        page.wait_for_load_state("networkidle")
        assert Enterprise.objects.get(pk=unit.pk).rectifications.get().rectified_on == AFTER_YEAR
    finally:
        context.close()
    assert watch.outside_requests == []
