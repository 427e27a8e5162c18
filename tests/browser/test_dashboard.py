"""The dashboard and a township page in real headless Chromium, desktop and 360 px phone."""

import datetime
import itertools

import pytest

from enterprises.models import Enterprise, Method, Rectification
from tests.browser.conftest import login
from tests.factories import make_campaign, make_township, make_user, make_village, set_target

D = datetime.date
AS_OF = "2018-06-15"
TOWNSHIPS = ["东城街道", "西城街道", "南湖镇", "北山镇", "青石乡", "白沙镇", "柳河镇", "桃源乡", "新华街道", "永安镇"]


@pytest.fixture
def city(transactional_db):
    """Ten townships at different paces, so the ranking shows all three colours."""
    campaign = make_campaign()
    make_user("shi", role="city_viewer", password="pw-123456", first_name="王科长")
    days = itertools.cycle([D(2018, m, d) for m in range(1, 6) for d in (2, 9, 16, 23)])
    towns = []
    for n, name in enumerate(TOWNSHIPS):
        town = make_township(name)
        set_target(campaign, town, 40)
        villages = [make_village(town, f"{name[:2]}{k}村") for k in range(1, 4)]
        units = Enterprise.objects.bulk_create(
            Enterprise(
                township=town,
                village=villages[i % 3],
                name=f"{name}单位{i}",
                unlicensed=True,
                identified_on=next(days),
            )
            for i in range(30)
        )
        # The first townships rectify most of their units, the last ones few.
        done = max(2, 30 - 3 * n)
        Rectification.objects.bulk_create(
            Rectification(enterprise=u, method=Method.CLOSED, rectified_on=u.identified_on + datetime.timedelta(days=7))
            for u in units[:done]
        )
        towns.append(town)
    return campaign, towns


def open_dashboard(page):
    login(page, "shi", "pw-123456")
    page.goto(f"/?campaign=c2018&as_of={AS_OF}")
    page.wait_for_selector("#progress-chart svg.main-svg")
    page.wait_for_selector("#weekly-chart svg.main-svg")


def test_dashboard_draws_its_charts_in_chinese(page, city, screenshot):
    open_dashboard(page)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == "全市整治进度"
    legend = page.locator("#progress-chart .legend").text_content()
    assert "累计整治" in legend and "节点目标" in legend and "序时进度" in legend
    # Date ticks use the Chinese month names registered in plotly-locale-zh-cn.js.
    ticks = page.locator("#progress-chart .xtick text").all_text_contents()
    assert ticks and all("月" in tick for tick in ticks), ticks
    rows = page.locator("#ranking tbody tr")
    assert rows.count() == len(TOWNSHIPS)
    assert rows.first.locator("th a").inner_text() == "东城街道"
    badges = set(page.locator("#ranking .badge").all_inner_texts())
    assert {"绿", "红"} <= badges
    # Hovering a point shows a Chinese tooltip.
    bar = page.locator("#weekly-chart .trace.bars").nth(1).locator(".point path >> visible=true").first
    bar.scroll_into_view_if_needed()
    bar = bar.bounding_box()
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)  # plotly's drag layer is on top
    page.wait_for_selector("#weekly-chart .hoverlayer .hovertext")
    tooltip = page.locator("#weekly-chart .hoverlayer").text_content()
    assert "新排查" in tooltip and " 至 2018-" in tooltip, tooltip
    screenshot(page, "dashboard-desktop")
    assert page.watch.console_errors == []


def test_ranking_sorts_by_a_clicked_column(page, city):
    open_dashboard(page)
    names = page.locator("#ranking tbody th a")
    assert names.first.inner_text() == "东城街道"
    page.locator("#ranking thead th", has_text="完成率").locator("button").click()  # ascending
    assert names.first.inner_text() == "永安镇"
    page.locator("#ranking thead th", has_text="完成率").locator("button").click()  # descending
    assert names.first.inner_text() == "东城街道"


def test_choosing_a_township_redraws_the_chart_for_it(page, city):
    open_dashboard(page)
    with page.expect_navigation():
        page.select_option(".scope-picker select", label="南湖镇")
    page.wait_for_selector("#progress-chart svg.main-svg")
    assert "南湖镇累计整治进度" in page.locator("#progress-title").inner_text()
    assert "as_of=2018-06-15" in page.url
    assert page.watch.console_errors == []


def test_a_bad_date_shows_a_chinese_message(page, city):
    login(page, "shi", "pw-123456")
    page.goto("/?campaign=c2018&as_of=2018-02-31")
    message = page.locator(".message.error").inner_text()
    assert "无效" in message
    page.wait_for_selector("#progress-chart svg.main-svg")


def test_switching_to_english(page, city, screenshot):
    open_dashboard(page)
    with page.expect_navigation():
        page.click(".lang-switch button[value=en]")
    page.wait_for_selector("#progress-chart svg.main-svg")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "as_of=2018-06-15" in page.url  # the switch came back to the same page and date
    # The product's own words come from the English catalog, the chart's labels too.
    assert page.locator(".site-nav").inner_text().split()[:3] == ["My", "work", "Dashboard"]
    assert page.get_by_role("heading", name="City rectification progress").is_visible()
    assert "Milestone" in page.locator("#progress-chart").inner_text()
    assert "全市整治进度" not in page.content()
    screenshot(page, "dashboard-en")
    assert page.watch.console_errors == []
    with page.expect_navigation():
        page.click(".lang-switch button[value=zh-hans]")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="全市整治进度").is_visible()


def test_township_page_from_the_ranking(page, city, screenshot):
    open_dashboard(page)
    with page.expect_navigation():
        page.click("#ranking a:text('南湖镇')")
    assert "campaign=c2018" in page.url and f"as_of={AS_OF}" in page.url
    page.wait_for_selector("#progress-chart svg.main-svg")
    assert page.locator("h1").inner_text() == "南湖镇"
    assert page.locator("#villages tbody tr").count() == 3
    assert page.locator("#ledger tbody tr").count() == 3
    screenshot(page, "township-desktop")
    assert page.watch.console_errors == []


def test_phone_layout_fits_360px(phone_page, city, screenshot):
    page = phone_page
    page.goto("/accounts/login/")
    screenshot(page, "login-phone")
    open_dashboard(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width}px"
    # The ranking is a list of cards: a row is a block and each cell carries its label.
    first = page.locator("#ranking tbody tr").first
    assert first.evaluate("row => getComputedStyle(row).display") in {"block", "grid"}
    label = first.locator("td").nth(2).evaluate("td => getComputedStyle(td, '::before').content")
    assert "完成率" in label
    # Inputs are big enough for a thumb.
    assert page.locator(".picker input[name=as_of]").bounding_box()["height"] >= 44
    screenshot(page, "dashboard-phone")

    page.click("#ranking a:text('南湖镇')")
    page.wait_for_selector("#progress-chart svg.main-svg")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "township-phone")
    assert page.watch.console_errors == []


def test_township_staff_see_their_own_standing_in_the_first_screen_of_a_phone(phone_page, city, screenshot):
    _campaign, towns = city
    make_user("zhen", role="township_staff", township=towns[6], password="pw-123456")
    login(phone_page, "zhen", "pw-123456")
    phone_page.goto(f"/?campaign=c2018&as_of={AS_OF}")
    card = phone_page.locator("#my-township")
    assert towns[6].name in card.inner_text()
    box = card.bounding_box()
    assert box["y"] < 400  # its heading, rank and colour are in the first screen (740 px)
    figures = phone_page.locator("#my-township .figures").bounding_box()
    assert figures["y"] < 740
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone_page, "dashboard-township-staff-phone")
    phone_page.click("#my-township a[href='#my-township-row']")
    row = phone_page.locator("#my-township-row")
    assert towns[6].name in row.inner_text()
    assert phone_page.evaluate("() => document.getElementById('my-township-row').getBoundingClientRect().top") < 740
    assert phone_page.watch.console_errors == []


def test_the_ranking_download_buttons_fetch_files_named_with_the_day(page, city):
    login(page, "shi", "pw-123456")
    page.goto(f"/?campaign=c2018&as_of={AS_OF}")
    with page.expect_download() as info:
        page.click("#ranking-xlsx")
    assert "20180615" in info.value.suggested_filename and info.value.suggested_filename.endswith(".xlsx")
