"""Evidence with place and time in Chromium on a phone: a photo's own EXIF, or the phone's position
(geolocation emulated) when the photo has none; the evidence panel under the photos, flagged."""

import datetime
import io
from decimal import Decimal

import pytest

from enterprises.models import RectificationPhoto
from tests.browser.conftest import login
from tests.browser.test_map import PHONE_390, check, open_page
from tests.enterprises.test_evidence import jpeg
from tests.factories import make_campaign, make_township, make_unit, make_user

PASSWORD = "zheng-zhi-2018"
FAR = (((27, 50, 0.0), "N"), ((120, 39, 21.6), "E"))  # ~6 km north of the unit
# Where the phone is: about 15 m from the unit.
HERE = {"latitude": 27.7801, "longitude": 120.6561, "accuracy": 10}


@pytest.fixture
def unit(transactional_db, settings, tmp_path, frozen_today):
    settings.MEDIA_ROOT = tmp_path / "media"
    frozen_today(datetime.date(2018, 6, 30))
    make_campaign()
    town = make_township("东城街道")
    make_user("dongcheng", role="township_staff", township=town, password=PASSWORD)
    return make_unit(
        town, datetime.date(2018, 3, 1), name="宏达五金厂", longitude=Decimal("120.656"), latitude=Decimal("27.78")
    )


def _photo(tmp_path, name, **exif):
    path = tmp_path / name
    if exif:
        path.write_bytes(jpeg(**exif).fp.getvalue())
    else:
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (320, 240), (90, 140, 60)).save(out, "JPEG")
        path.write_bytes(out.getvalue())
    return path


def _rectify(page, unit, photo):
    page.goto(f"/units/{unit.pk}/rectify/")
    page.get_by_label("关停取缔", exact=True).check()
    page.fill("input[name=rectified_on]", "2018-06-20")
    page.set_input_files("input[name=photos]", str(photo))
    # The phone's position is asked for when photos are chosen, and added to the form.
    page.wait_for_function("document.querySelector('input[name=taken_longitude]') !== null")
    page.get_by_role("button", name="提交整治情况").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/units/{unit.pk}/")


def test_a_photos_own_place_and_time_are_kept_and_flagged_on_the_unit_page(
    browser, live_server, unit, tmp_path, screenshot
):
    context, page = open_page(
        browser, live_server, PHONE_390, geolocation=HERE, permissions=["geolocation"], is_mobile=True, has_touch=True
    )
    try:
        login(page, "dongcheng", PASSWORD)
        _rectify(page, unit, _photo(tmp_path, "旧照片.jpg", taken="2018:04:01 09:30:00", gps=FAR))
        photo = RectificationPhoto.objects.get()
        assert photo.taken_source == "exif"  # the photo's own place, not the phone's
        panel = page.locator("details.evidence")
        assert panel.get_attribute("open") is not None  # flagged: open
        text = panel.inner_text()
        assert "拍摄于 2018-04-01 09:30" in text and "照片自带位置" in text
        assert "拍摄地点距单位较远" in text and "拍摄时间远早于登记日期" in text and "1 张需核实" in text
        panel.scroll_into_view_if_needed()
        screenshot(page, "evidence-panel-phone")
        check(page)
    finally:
        context.close()


def test_a_photo_without_a_place_takes_the_phones(browser, live_server, unit, tmp_path, screenshot):
    context, page = open_page(
        browser, live_server, PHONE_390, geolocation=HERE, permissions=["geolocation"], is_mobile=True, has_touch=True
    )
    try:
        login(page, "dongcheng", PASSWORD)
        _rectify(page, unit, _photo(tmp_path, "截图.jpg"))
        photo = RectificationPhoto.objects.get()
        assert photo.taken_source == "device"
        assert (photo.taken_longitude, photo.taken_latitude) == (Decimal("120.656100"), Decimal("27.780100"))
        assert photo.taken_at is not None
        panel = page.locator("details.evidence")
        assert panel.get_attribute("open") is None  # nothing to check: closed
        panel.locator("summary").click()
        assert "上传时手机定位" in panel.inner_text() and "距单位 15 米" in panel.inner_text()
        screenshot(page, "evidence-panel-device-phone")
        check(page)
    finally:
        context.close()
