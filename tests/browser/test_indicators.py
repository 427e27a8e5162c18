"""Defining an indicator and importing its records, in real headless Chromium on a 360 px phone."""

from decimal import Decimal

from campaign.models import Indicator, IndicatorRecord
from tests.browser.conftest import login
from tests.browser.test_manage import PASSWORD, city, fits  # noqa: F401 - the fixture is used by name


def test_define_an_indicator_and_import_its_records_on_a_phone(phone_page, city, screenshot, tmp_path):  # noqa: F811
    page = phone_page
    campaign, towns = city
    login(page, "guanli", PASSWORD)

    page.goto(f"/manage/campaigns/{campaign.slug}/indicators/new/")
    page.fill("input[name=key]", "new_jobs")
    page.fill("input[name=name]", "新增就业")
    page.fill("input[name=unit]", "人")
    page.fill("input[name=target]", "300")
    page.fill("input[name=weight]", "1.5")
    fits(page)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "已新增考核指标" in page.locator(".message.success").inner_text()
    keys = page.locator("#indicators tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert keys == ["rectified", "new_jobs"]
    fits(page)
    screenshot(page, "indicators-phone")
    assert Indicator.objects.get(key="new_jobs").weight == Decimal("1.50")

    page.click("#indicators tr[data-key=new_jobs] a:text('指标记录（0）')")
    page.click("a:text('导入记录')")
    wrong = tmp_path / "错误.csv"
    wrong.write_text("乡镇街道,名称,日期,数量,说明\n城关镇,甲,2018-03-05,-2,\n", encoding="utf-8")
    page.set_input_files("input[name=file]", str(wrong))
    page.click("main form button[type=submit]")
    errors = page.locator("#import-errors li").all_inner_texts()
    assert errors == ["第2行 数量：不能为负数，收到“-2”"]
    fits(page)

    right = tmp_path / "就业.csv"
    right.write_text(
        "乡镇街道,名称,日期,数量,说明\n城关镇,宏达五金厂招工,2018-03-05,12,春季招聘\n桥头镇,合作社,2018-04-01,3.5,\n",
        encoding="utf-8",
    )
    page.set_input_files("input[name=file]", str(right))
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "新增2条，更新0条，不变0条" in page.inner_text("#import-summary")
    assert not IndicatorRecord.objects.exists()
    fits(page)
    screenshot(page, "indicator-import-preview-phone")

    with page.expect_navigation():
        page.click("main button:text('确认导入')")
    assert "导入完成" in page.locator(".message.success").inner_text()
    assert page.locator("#records tbody tr").count() == 2
    fits(page)
    screenshot(page, "indicator-records-phone")
    assert sorted(IndicatorRecord.objects.values_list("name", "amount")) == [
        ("合作社", Decimal("3.50")),
        ("宏达五金厂招工", Decimal("12.00")),
    ]
