"""Freed land and the park register on a 360 px phone in real headless Chromium: a township records
a parcel and takes it through its stages; a relocated unit enters a park from the park's page,
after the park's negative list refused another enterprise."""

import datetime

import pytest
from django.utils import timezone

from campaign.models import Park
from enterprises.models import LandParcel, Method, ParkEntry, TaxReturn
from enterprises.services import rectification_record
from tests.browser.conftest import login
from tests.factories import make_campaign, make_township, make_unit, make_user

PASSWORD = "cheng-guan-2018"


@pytest.fixture
def city(transactional_db):
    today = timezone.localdate()
    campaign = make_campaign(slug="now", year=today.year)
    town = make_township("城关镇")
    park = Park.objects.create(
        township=town,
        name="城关小微园",
        planned_mu=120,
        started_on=campaign.start,
        started_mu=45,
        capacity=60,
        negative_list="电镀、印染",
        min_tax_per_mu=10,
    )
    unit = make_unit(town, campaign.start, name="城关五金加工厂", industry="五金加工")
    rectification_record(enterprise=unit, method=Method.RELOCATED, rectified_on=campaign.start)
    make_user("chengguan", role="township_staff", township=town, password=PASSWORD, first_name="城关镇整治办")
    return {"campaign": campaign, "town": town, "park": park, "unit": unit, "today": today}


def fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways: {width}px"


def submit(page, form):
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def test_a_parcel_goes_from_freed_to_production_on_a_phone(phone_page, city, screenshot):
    page, today = phone_page, city["today"]
    freed_on = today - datetime.timedelta(days=200)
    login(page, "chengguan", PASSWORD)

    page.goto("/land/")
    with page.expect_navigation():
        page.click("#add-parcel")
    page.fill("#id_name", "城关旧砖厂地块")
    page.fill("#id_area_mu", "-3")
    page.fill("#id_freed_on", freed_on.isoformat())
    submit(page, "#parcel-form")
    assert "不能为负数" in page.locator("#parcel-form").inner_text()
    assert not LandParcel.objects.exists()
    fits(page)
    screenshot(page, "land-new-refused-phone")
    page.fill("#id_area_mu", "12.5")
    submit(page, "#parcel-form")
    assert page.locator("#current-stage").inner_text() == "腾退"

    page.goto("/land/")
    row = page.locator("#parcels tbody tr")
    assert row.count() == 1 and "闲置200天" in row.inner_text()
    fits(page)
    screenshot(page, "land-list-idle-phone")

    page.click("#parcels a:text('城关旧砖厂地块')")
    page.wait_for_load_state()
    for stage, days_ago, label in [("supplied", 150, "供地"), ("started", 100, "开工"), ("producing", 30, "投产")]:
        page.select_option("#id_stage-stage", stage)
        page.fill("#id_stage-on", (today - datetime.timedelta(days=days_ago)).isoformat())
        submit(page, "#stage-form")
        assert page.locator("#current-stage").inner_text() == label
    assert "chengguan" in page.locator("#stages").inner_text()
    page.fill("#id_tax-year", str(today.year))
    page.fill("#id_tax-tax_10k_yuan", "100")
    submit(page, "#tax-form")
    assert "8.00" in page.locator("#parcel-tax").inner_text()  # 100 万元 / 12.5 亩
    parcel = LandParcel.objects.get()
    assert parcel.producing_on == today - datetime.timedelta(days=30) and TaxReturn.objects.get().parcel == parcel
    fits(page)
    screenshot(page, "land-detail-producing-phone")

    page.goto("/land/")
    assert "投产" in page.locator("#parcels tbody tr").inner_text()
    assert page.locator("#idle-count").inner_text() == "0"


def test_a_relocated_unit_enters_the_park_from_its_page_on_a_phone(phone_page, city, screenshot):
    page, park = phone_page, city["park"]
    login(page, "chengguan", PASSWORD)

    page.goto(f"/parks/{park.pk}/")
    with page.expect_navigation():
        page.click("#add-entry")
    page.fill("#id_name", "城关电镀厂")
    page.fill("#id_industry", "电镀")
    page.fill("#id_entered_on", city["today"].isoformat())
    submit(page, "#entry-form")
    assert "负面清单：" in page.locator("#entry-form").inner_text()
    assert not ParkEntry.objects.exists()
    fits(page)
    screenshot(page, "park-entry-refused-phone")

    page.fill("#id_name", "")
    page.fill("#id_industry", "")
    page.select_option("#id_enterprise", label="城关五金加工厂")
    page.fill("#id_entered_on", city["campaign"].start.isoformat())
    submit(page, "#entry-form")
    assert "城关五金加工厂" in page.locator("#entries").inner_text()
    assert page.locator("#occupancy-entries").inner_text() == "1"
    entry = ParkEntry.objects.get()
    assert (entry.enterprise, entry.industry) == (city["unit"], "五金加工")
    fits(page)
    screenshot(page, "park-detail-entry-phone")
