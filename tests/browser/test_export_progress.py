"""The register's export in Chromium: the link fetches the streamed file, the page shows how far it has
got, and the file is saved under the server's name; with scripts off the same link downloads it."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry

from tests.browser.conftest import DESKTOP, _open
from tests.factories import make_township, make_unit, make_user, make_village

D = datetime.date
TODAY = D(2018, 6, 30)
PASSWORD = "shi-admin-2018"
UNITS = 60
# Every text the status line shows and whether its bar is determinate, recorded as it changes (a
# local export of 60 units is over in a moment).
RECORD_STATUS = """() => {
    window.__seen = [];
    new MutationObserver(() => {
        const box = document.getElementById('export-status');
        if (!box) return;
        const bar = box.querySelector('progress');
        window.__seen.push([box.textContent, bar.hasAttribute('value') ? bar.value + '/' + bar.max : 'indeterminate']);
    }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


@pytest.fixture
def register(transactional_db, frozen_today):
    frozen_today(TODAY)
    township = make_township("城关镇")
    village = make_village(township, "东村")
    for i in range(UNITS):
        make_unit(
            township,
            D(2018, 1, 1) + datetime.timedelta(days=i),
            name=f"宏达五金厂{i:02d}",
            village=village,
            owner="王五",
            phone="13800001111",
        )
    return make_user("shiban", role="city_admin", password=PASSWORD)


def login(page):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "shiban")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" not in page.url, "login failed"


def test_the_excel_export_shows_its_progress_and_saves_the_file(page, register, tmp_path, screenshot):
    login(page)
    page.goto("/units/")
    page.evaluate(RECORD_STATUS)

    with page.expect_download() as info:
        page.click("a[href*='export.xlsx']")
    download = info.value

    assert download.suggested_filename == "四无单位台账-20180630.xlsx"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    rows = list(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
    assert rows[0][0] == "单位名称" and len(rows) == UNITS + 1
    assert rows[1][0] == f"宏达五金厂{UNITS - 1:02d}" and rows[1][6:8] == ("王五", "13800001111")

    status = page.locator("#export-status[role=status]")
    assert status.get_attribute("class") == "message success export-status"
    assert status.inner_text().strip().startswith(f"导出完成：{UNITS} 家单位，")
    seen = page.evaluate("window.__seen")
    texts = [text for text, _bar in seen]
    # First the request, then the rows the server announced with the bytes received, then done.
    assert any("正在准备导出" in text for text in texts), seen
    assert any(text.strip().startswith(f"正在导出 {UNITS} 家单位，已接收 ") for text in texts), seen
    assert ("正在准备导出……", "indeterminate") in [(text.strip(), bar) for text, bar in seen]
    # The export that carried full owner names and phones was recorded once, with their number.
    assert list(LogEntry.objects.values_list("change_message", flat=True)) == [f"导出完整联系方式：{UNITS}"]
    assert page.watch.console_errors == []
    screenshot(page, "register-export-done")


def test_the_csv_export_counts_the_rows_received(page, register, tmp_path):
    login(page)
    page.goto("/units/")
    page.evaluate(RECORD_STATUS)

    with page.expect_download() as info:
        page.click("a[href*='export.csv']")
    download = info.value

    assert download.suggested_filename == "四无单位台账-20180630.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == UNITS + 1
    # A CSV file's lines are its rows: the bar counts them against the announced total.
    bars = [bar for _text, bar in page.evaluate("window.__seen") if bar != "indeterminate"]
    assert f"{UNITS}/{UNITS}" in bars, bars
    assert page.locator("#export-status").inner_text().strip().startswith(f"导出完成：{UNITS} 家单位，")


def test_without_scripts_the_link_downloads_the_file(browser, live_server, register, tmp_path):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        login(page)
        page.goto("/units/")
        with page.expect_download() as info:
            page.click("a[href*='export.xlsx']")
        target = tmp_path / "register.xlsx"
        info.value.save_as(target)
        assert info.value.suggested_filename == "四无单位台账-20180630.xlsx"
        assert len(list(openpyxl.load_workbook(target).active.iter_rows())) == UNITS + 1
        assert page.locator("#export-status").count() == 0
    finally:
        context.close()


def test_a_filter_in_error_brings_the_register_back_with_its_message(browser, live_server, register):
    context, page = _open(browser, live_server, DESKTOP)
    try:
        login(page)
        page.goto("/units/?identified_from=昨天")
        page.click("a[href*='export.xlsx']")
        page.wait_for_selector(".message.error")
        assert "筛选条件有误，请修正后再导出" in page.locator(".messages").inner_text()
        assert page.watch.csp_violations == [] and page.watch.console_errors == []
    finally:
        context.close()
