"""A park's stage photos (开工, 竣工): uploaded from the park's edit page by who may edit the park,
re-encoded without EXIF, stored privately under a generated name and served to the park's readers
only; shown on the park's page."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from campaign.models import Park, ParkStagePhoto
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_campaign, make_township, make_user

D = datetime.date


@pytest.fixture
def world(db, frozen_today, settings, tmp_path):
    frozen_today(D(2018, 12, 31))
    settings.MEDIA_ROOT = tmp_path / "media"
    make_campaign()
    town, other = make_township("城关镇"), make_township("东城街道")
    park = Park.objects.create(township=town, name="城关小微园", started_on=D(2018, 3, 1), started_mu=Decimal("3"))
    return {
        "park": park,
        "theirs": Park.objects.create(township=other, name="东城创业园", started_on=D(2018, 3, 1), started_mu=1),
        "admin": make_user("admin"),
        "staff": make_user("staff", role="township_staff", township=town),
        "outsider": make_user("outsider", role="township_staff", township=other),
        "inspector": make_user("inspector", role="inspector"),
        "viewer": make_user("viewer", role="city_viewer"),
        "media": tmp_path / "media",
    }


def jpeg(color=(200, 30, 30), name="开工现场.jpg"):
    return SimpleUploadedFile(name, make_image_bytes(color=color), "image/jpeg")


def upload(client, park, stage="started", files=None):
    files = files if files is not None else [jpeg()]
    return client.post(reverse("park_entries:stage_photos", args=[park.pk]), {"stage": stage, "photos": files})


def stored_files(media):
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_the_parks_staff_upload_photos_that_are_stored_without_exif(client, world):
    client.force_login(world["staff"])
    raw = make_image_bytes()  # with the camera's make and its GPS position
    assert b"VillagePhone" in raw and b"Exif" in raw  # what a phone sends

    answer = upload(client, world["park"], files=[jpeg(), jpeg(color=(10, 200, 30), name="张三家.jpg")])

    assert answer.status_code == 302 and answer["Location"].endswith(f"/parks/{world['park'].pk}/edit/#stage-photos")
    photos = list(ParkStagePhoto.objects.order_by("id"))
    assert [(p.park, p.stage, p.uploaded_by) for p in photos] == [(world["park"], "started", world["staff"])] * 2
    for photo in photos:
        data = photo.image.read()
        assert b"VillagePhone" not in data and b"Exif" not in data
        stored = Image.open(io.BytesIO(data))
        assert stored.format == "JPEG" and dict(stored.getexif()) == {}
        assert photo.image.name.startswith("parks/") and "张三" not in photo.image.name
    history = ParkStagePhoto.history.order_by("history_id")
    assert [(h.history_type, h.history_user) for h in history] == [("+", world["staff"])] * 2


def test_the_same_photo_again_is_not_stored_twice(client, world):
    client.force_login(world["admin"])
    upload(client, world["park"])
    answer = upload(client, world["park"])
    assert answer.status_code == 302
    assert ParkStagePhoto.objects.count() == 1 and len(stored_files(world["media"])) == 1
    assert "此前已上传" in client.get(answer["Location"]).content.decode()


def test_a_stage_the_park_has_not_reached_is_refused_naming_the_field(client, world):
    client.force_login(world["staff"])
    answer = upload(client, world["park"], stage="completed")
    assert not ParkStagePhoto.objects.exists() and stored_files(world["media"]) == []
    text = client.get(answer["Location"]).content.decode()
    assert "阶段：城关小微园尚未登记竣工日期，不能上传竣工照片" in text


def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_written(client, world):
    client.force_login(world["staff"])
    answer = upload(client, world["park"], files=[SimpleUploadedFile("a.jpg", b"not an image", "image/jpeg")])
    assert not ParkStagePhoto.objects.exists() and stored_files(world["media"]) == []
    assert "证据照片：" in client.get(answer["Location"]).content.decode()
    answer = upload(client, world["park"], files=[])
    assert "证据照片：" in client.get(answer["Location"]).content.decode()


@pytest.mark.parametrize(("user", "status"), [("outsider", 404), ("inspector", 403), ("viewer", 403)])
def test_only_who_may_edit_the_park_uploads(client, world, user, status):
    client.force_login(world[user])
    assert upload(client, world["park"]).status_code == status
    assert not ParkStagePhoto.objects.exists() and stored_files(world["media"]) == []


def test_a_township_staff_may_not_upload_to_another_townships_park(client, world):
    client.force_login(world["staff"])
    assert upload(client, world["theirs"]).status_code == 404
    assert not ParkStagePhoto.objects.exists()


def test_the_photos_are_served_to_the_parks_readers_only(client, world):
    client.force_login(world["staff"])
    upload(client, world["park"])
    photo = ParkStagePhoto.objects.get()
    url = reverse("parks:photo", args=[world["park"].pk, photo.pk])
    answer = client.get(url)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/jpeg"
    assert answer["Cache-Control"] == "private, max-age=86400"
    assert b"".join(answer.streaming_content) == photo.image.open("rb").read()
    for reader in ("viewer", "inspector", "admin"):
        client.force_login(world[reader])
        assert client.get(url).status_code == 200, reader
    client.force_login(world["outsider"])
    assert client.get(url).status_code == 404
    # The photo asked for under another park is no photo of that park.
    client.force_login(world["admin"])
    assert client.get(reverse("parks:photo", args=[world["theirs"].pk, photo.pk])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    # Never under a public media URL.
    assert "/media/" not in url


def test_the_park_page_shows_the_photos_and_the_edit_page_offers_the_upload(client, world):
    client.force_login(world["staff"])
    upload(client, world["park"])
    photo = ParkStagePhoto.objects.get()
    client.force_login(world["viewer"])
    page = client.get(reverse("parks:detail", args=[world["park"].pk])).content.decode()
    assert 'id="stage-photos-started"' in page and reverse("parks:photo", args=[world["park"].pk, photo.pk]) in page
    client.force_login(world["staff"])
    edit = client.get(reverse("parks:edit", args=[world["park"].pk])).content.decode()
    assert 'id="stage-photo-form"' in edit and 'value="started"' in edit and 'value="completed"' not in edit
