"""The parks page and the land page in real headless Chromium: the indicators' charts drawn by the
vendored plotly (no request outside the server, nothing the CSP refuses), the figures of the day,
the 亩均税收 bands; a park's stage photo uploaded from its edit page and shown on its page."""

from decimal import Decimal

import pytest
from django.utils import timezone

from campaign.models import BuiltIn, Indicator, Park, ParkStagePhoto
from enterprises.models import LandParcel, ParkEntry, TaxReturn
from reports.addition import hand_down
from tests.browser.conftest import login
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_campaign, make_township, make_user

PASSWORD = "shi-ji-2018-guanli"


@pytest.fixture
def city(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    hand_down()  # what ReportsConfig.ready does
    today = timezone.localdate()
    campaign = make_campaign(slug="now", year=today.year)
    campaign.tax_standard_per_mu = Decimal("10")
    campaign.save()
    town = make_township("城关镇")
    for key, target in (
        (BuiltIn.PARK_STARTED_MU, 100),
        (BuiltIn.PARK_COMPLETED_M2, 20000),
        (BuiltIn.LAND_FREED_MU, 50),
    ):
        Indicator.objects.create(campaign=campaign, key=key, name=BuiltIn(key).label, unit="亩", target=target)
    park = Park.objects.create(
        township=town, name="城关小微园", planned_mu=120, started_on=campaign.start, started_mu=45, capacity=60
    )
    ParkEntry.objects.create(park=park, name="甲企业", entered_on=campaign.start)
    for n, per_mu in enumerate(("4", "9.5", "12", "30")):
        parcel = LandParcel.objects.create(
            township=town, name=f"投产地块{n}", area_mu=Decimal("10"), freed_on=campaign.start,
            supplied_on=campaign.start, started_on=campaign.start, producing_on=campaign.start,
        )  # fmt: skip
        TaxReturn.objects.create(parcel=parcel, year=today.year, tax_10k_yuan=Decimal(per_mu) * 10, land_mu=10)
    make_user("guanli", role="city_admin", password=PASSWORD)
    return campaign, town, park


def test_the_parks_and_land_pages_draw_their_charts(page, city, screenshot):
    campaign, town, park = city
    login(page, "guanli", PASSWORD)

    page.goto(f"/parks/?campaign={campaign.slug}")
    page.wait_for_selector("#indicator-park_started_mu .main-svg")
    assert page.locator("#addition-charts .indicator-chart").count() == 2
    assert page.locator("#parks-started").inner_text() == "1 个，45.00 亩"
    assert "城关小微园" in page.locator("#parks tbody").inner_text()
    screenshot(page, "addition-parks-page")

    page.goto(f"/land/?campaign={campaign.slug}&township={town.pk}")
    page.wait_for_selector("#indicator-land_freed_mu .main-svg")
    bands = page.locator("#tax-bands tbody tr")
    assert bands.count() == 5 and "低于标准" in bands.nth(0).inner_text()
    assert page.locator("#below-standard li").count() == 2  # 4.00 and 9.50 against 10
    screenshot(page, "addition-land-page")
    assert page.watch.console_errors == []


def test_a_stage_photo_is_uploaded_and_shown(page, city, screenshot, tmp_path):
    campaign, town, park = city
    login(page, "guanli", PASSWORD)
    photo = tmp_path / "开工现场.jpg"
    photo.write_bytes(make_image_bytes(size=(640, 480)))

    page.goto(f"/parks/{park.pk}/edit/")
    page.select_option("#id_photo_stage", "started")
    page.set_input_files("#id_photo_photos", str(photo))
    with page.expect_navigation():
        page.click("#stage-photo-form button[type=submit]")
    assert "已上传1张开工照片" in page.locator(".message.success").inner_text()
    stored = ParkStagePhoto.objects.get()
    assert stored.stage == "started" and stored.uploaded_by.username == "guanli"

    page.goto(f"/parks/{park.pk}/")
    image = page.locator("#stage-photos-started img")
    image.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 640
    screenshot(page, "addition-park-stage-photo")
