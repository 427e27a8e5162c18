"""A city admin previews the weekly notice, issues it and downloads the archived .docx, in Chromium."""

import datetime

import docx
import pytest

from enterprises.models import Enterprise, Method, Rectification
from tests.browser.conftest import login
from tests.factories import make_campaign, make_township, make_user, set_target

D = datetime.date


@pytest.fixture
def city(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = make_campaign()
    make_user("guanli", role="city_admin", password="pw-123456", first_name="李主任")
    for n, name in enumerate(["东城街道", "西城街道", "南湖镇"]):
        town = make_township(name)
        set_target(campaign, town, 10)
        units = Enterprise.objects.bulk_create(
            Enterprise(township=town, name=f"{name}单位{i}", unlicensed=True, identified_on=D(2018, 1, 10))
            for i in range(8)
        )
        Rectification.objects.bulk_create(
            Rectification(enterprise=u, method=Method.CLOSED, rectified_on=D(2018, 3, 1)) for u in units[: 6 - 3 * n]
        )
    return campaign


def test_city_admin_previews_issues_and_downloads_a_notice(page, city, screenshot, tmp_path):
    login(page, "guanli", "pw-123456")
    page.goto("/notices/?campaign=c2018&as_of=2018-03-31")
    page.click("#preview-form button[type=submit]")
    page.wait_for_selector(".notice-doc")
    assert "第1期（草稿）" in page.locator("h1").first.inner_text()
    assert page.locator("#notice-townships tbody tr").count() == 3
    assert page.locator(".notice-chart img").evaluate("img => img.naturalWidth") > 0
    screenshot(page, "notice-preview")
    # Issuing is for good: the button does nothing until the confirmation is ticked.
    page.click("#issue-form button[type=submit]")
    page.wait_for_timeout(300)
    assert page.locator("#issue-form").count() == 1 and page.locator("#download-docx").count() == 0
    page.check("#issue-confirm")
    page.click("#issue-form button[type=submit]")
    page.wait_for_selector("#download-docx")
    assert "一周一通报 第1期" in page.locator("h1").first.inner_text()
    page.goto("/notices/?campaign=c2018")
    assert "第1期" in page.locator("#notice-archive").inner_text()
    page.click("#notice-archive a:has-text('第1期')")
    with page.expect_download() as download_info:
        page.click("#download-docx")
    download = download_info.value
    assert download.suggested_filename.endswith("第1期.docx")
    target = tmp_path / "notice.docx"
    download.save_as(target)
    text = "\n".join(p.text for p in docx.Document(target).paragraphs)
    assert "第1期" in text and "草稿" not in text
    assert page.watch.console_errors == []


def test_an_issued_notice_reads_on_a_phone_without_sideways_scrolling(phone_page, city, screenshot):
    from reports.notices import content as notice

    viewer = make_user("shi", role="city_viewer", password="pw-123456")
    admin = type(viewer).objects.get(username="guanli")
    issued = notice.notice_issue(campaign=city, as_of=D(2018, 3, 31), user=admin)
    login(phone_page, "shi", "pw-123456")
    phone_page.goto(issued.get_absolute_url())
    phone_page.wait_for_selector(".notice-doc")
    # The checksums no longer widen the page (they were 480 px wide), and are folded away.
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone_page.locator(".checksums code").first.is_visible() is False
    # The notice itself starts in the first half of the screen: site header, tabs and page header
    # together take less than the 338 px the header alone took.
    top = phone_page.locator(".notice-doc").bounding_box()["y"]
    assert top < 400, top
    screenshot(phone_page, "notice-issued-phone")
    phone_page.click(".checksums summary")
    assert phone_page.locator(".checksums code").first.is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone_page.watch.console_errors == []
