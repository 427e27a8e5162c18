"""The 加法 pages on a 360 px phone in real headless Chromium: a township applies for 零四无, the
parks list and a park's entries."""

import datetime

import pytest
from django.utils import timezone

from campaign.models import Demonstration, Park
from enterprises.models import Method
from enterprises.services import rectification_record
from tests.browser.conftest import login
from tests.factories import make_campaign, make_township, make_unit, make_user, make_village

PASSWORD = "cheng-guan-2018"


@pytest.fixture
def city(transactional_db):
    today = timezone.localdate()
    campaign = make_campaign(slug="now", year=today.year)
    town = make_township("城关镇")
    village = make_village(town, "东门村")
    park = Park.objects.create(
        township=town,
        name="城关小微园",
        planned_mu=120,
        started_on=campaign.start,
        started_mu=45,
        capacity=60,
    )
    unit = make_unit(town, campaign.start, name="城关五金加工厂", village=village)
    rectification_record(
        enterprise=unit, method=Method.RELOCATED, rectified_on=campaign.start + datetime.timedelta(days=1), park=park
    )
    make_user("chengguan", role="township_staff", township=town, password=PASSWORD, first_name="城关镇整治办")
    return campaign, town, village, park


def fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width}px"


def test_a_township_applies_for_zero_siwu_on_a_phone(phone_page, city, screenshot):
    page = phone_page
    campaign, town, village, park = city
    login(page, "chengguan", PASSWORD)

    page.goto(f"/parks/zero/{campaign.slug}/{town.pk}/{village.pk}/")
    assert page.locator("#clean-today .badge").inner_text() == "符合验收条件"
    fits(page)
    screenshot(page, "parks-zero-apply-phone")
    with page.expect_navigation():
        page.click("#step-form button[type=submit]")
    assert "已保存" in page.locator(".message.success").inner_text()
    assert page.locator("#demo-state [data-state]").inner_text() == "已申报"
    assert page.locator("#step-form").count() == 0  # the check is not the township's to record
    demo = Demonstration.objects.get()
    assert (demo.village, demo.applied_by.username) == (village, "chengguan")
    fits(page)
    screenshot(page, "parks-zero-applied-phone")

    page.goto(f"/parks/zero/?campaign={campaign.slug}")
    assert "东门村" in page.locator("#zero").inner_text()
    fits(page)
    screenshot(page, "parks-zero-list-phone")

    page.goto("/parks/")
    assert page.locator("#parks tbody tr").count() == 1
    fits(page)
    screenshot(page, "parks-list-phone")
    with page.expect_navigation():
        page.click("#parks a:text('城关小微园')")
    assert "城关五金加工厂" in page.locator("#entries").inner_text()
    fits(page)
    screenshot(page, "parks-detail-phone")
