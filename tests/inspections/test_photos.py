"""Site photos of an inspection go through the same checks as a rectification's evidence
(enterprises/photos.py): a photo bomb is refused with the same message, and nothing is written."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inspections.models import Inspection, InspectionPhoto, Kind
from tests.enterprises.test_photos import BOMB_SUBMISSIONS, make_image_bytes
from tests.factories import make_campaign, make_township, make_unit, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def inspect(client, settings, tmp_path, frozen_today):
    """POST an inspection of one township, as an inspector; the media folder is ``tmp_path``."""
    settings.MEDIA_ROOT = tmp_path / "media"
    frozen_today(datetime.date(2018, 6, 30))
    make_campaign()
    township = make_township("东城街道")
    unit = make_unit(township, name="宏达五金厂")
    client.force_login(make_user("ducha", role="inspector"))
    url = reverse("inspections:create") + f"?township={township.pk}"

    def post(files):
        data = {"kind": Kind.UNANNOUNCED, "inspected_on": "2018-06-29", "team": "市督查组", "units": [unit.pk]}
        return client.post(url, {**data, "photos": files})

    return post


@BOMB_SUBMISSIONS
def test_photo_bombs_are_refused_by_the_inspection_page_and_nothing_is_written(inspect, tmp_path, files, messages):
    response = inspect(files())

    assert response.status_code == 200
    html = response.content.decode()
    assert [message for message in messages if message in html] == messages
    assert not Inspection.objects.exists() and not InspectionPhoto.objects.exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_large_phone_photo_is_still_accepted_with_an_inspection(inspect, tmp_path):
    photo = SimpleUploadedFile("IMG_1.jpg", make_image_bytes(size=(4000, 3000)), "image/jpeg")

    response = inspect([photo])

    assert response.status_code == 302
    stored = InspectionPhoto.objects.get()
    assert (stored.width, stored.height) == (2560, 1920)
    assert (tmp_path / "media" / stored.image.name).is_file()
