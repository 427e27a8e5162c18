import hashlib
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from enterprises import photos
from enterprises.models import Method, RectificationPhoto
from enterprises.photos import attach_photos, clean_photo, clean_photos
from enterprises.services import rectification_record
from tests.factories import make_township, make_unit, make_user


def make_image_bytes(size=(400, 200), fmt="JPEG", mode="RGB", color=(200, 30, 30), gps=True, orientation=None):
    """An image as a phone would upload it: with the camera's make and, by default, its GPS position."""
    image = Image.new(mode, size, color if mode == "RGB" else (*color, 128))
    exif = image.getexif()
    exif[ExifTags.Base.Make] = "VillagePhone"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (30.0, 15.0, 10.0)
        gps_ifd[ExifTags.GPS.GPSLongitudeRef] = "E"
        gps_ifd[ExifTags.GPS.GPSLongitude] = (120.0, 10.0, 5.0)
    out = io.BytesIO()
    image.save(out, fmt, exif=exif) if fmt in {"JPEG", "PNG", "WEBP"} else image.save(out, fmt)
    return out.getvalue()


def upload(content=None, name="现场.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, make_image_bytes() if content is None else content, content_type)


def test_stored_photo_has_no_exif_and_no_gps():
    raw = make_image_bytes()
    assert b"VillagePhone" in raw

    photo = clean_photo(upload(raw))

    stored = Image.open(io.BytesIO(photo.content))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert b"VillagePhone" not in photo.content
    assert b"Exif" not in photo.content
    assert photo.sha256 == hashlib.sha256(photo.content).hexdigest()


def test_orientation_is_applied_to_the_pixels():
    # Orientation 6: the camera was held upright, the sensor stored the picture lying on its side.
    photo = clean_photo(upload(make_image_bytes(size=(400, 200), orientation=6)))
    assert (photo.width, photo.height) == (200, 400)
    assert Image.open(io.BytesIO(photo.content)).size == (200, 400)


def test_large_photo_is_scaled_down_to_the_longest_side_limit():
    photo = clean_photo(upload(make_image_bytes(size=(4000, 3000), gps=False)))
    assert max(photo.width, photo.height) == photos.MAX_SIDE
    assert (photo.width, photo.height) == (2560, 1920)


@pytest.mark.parametrize("fmt,mode", [("PNG", "RGBA"), ("WEBP", "RGB"), ("PNG", "RGB")])
def test_png_and_webp_are_re_encoded_as_jpeg(fmt, mode):
    photo = clean_photo(upload(make_image_bytes(fmt=fmt, mode=mode, gps=False), name="a.png"))
    stored = Image.open(io.BytesIO(photo.content))
    assert (stored.format, stored.mode) == ("JPEG", "RGB")


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a picture, just text with a .jpg name",
        b"",
        make_image_bytes()[:300],  # a truncated upload
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    ],
    ids=["text", "empty", "truncated", "pdf"],
)
def test_a_file_that_is_not_an_image_is_refused(content):
    with pytest.raises(ValidationError) as exc:
        clean_photo(upload(content, name="证据.jpg"))
    assert exc.value.messages == ["文件“证据.jpg”不是有效的图片"]


def test_an_unsupported_image_format_is_refused():
    with pytest.raises(ValidationError) as exc:
        clean_photo(upload(make_image_bytes(fmt="GIF", mode="RGB", gps=False), name="a.gif"))
    assert "不受支持" in exc.value.messages[0]


def test_a_file_over_the_size_limit_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(photos, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(ValidationError) as exc:
        clean_photo(upload(make_image_bytes(size=(800, 800), gps=False)))
    assert exc.value.code == "too_large"


def test_a_huge_canvas_is_refused(monkeypatch):
    monkeypatch.setattr(photos, "MAX_PIXELS", 100 * 100)
    with pytest.raises(ValidationError) as exc:
        clean_photo(upload(make_image_bytes(size=(200, 200), gps=False)))
    assert "像素过大" in exc.value.messages[0]


def test_at_most_six_photos_per_rectification():
    with pytest.raises(ValidationError) as exc:
        clean_photos([upload() for _ in range(photos.MAX_PHOTOS + 1)])
    assert exc.value.messages == ["每次最多上传 6 张照片，本次选择了 7 张"]


def test_every_bad_file_is_reported_and_duplicates_are_dropped():
    same = make_image_bytes()
    assert len(clean_photos([upload(same), upload(same)])) == 1
    with pytest.raises(ValidationError) as exc:
        clean_photos([upload(same), upload(b"x", name="a.jpg"), upload(b"y", name="b.jpg")])
    assert exc.value.messages == ["文件“a.jpg”不是有效的图片", "文件“b.jpg”不是有效的图片"]


@pytest.mark.django_db
def test_attached_photos_are_stored_under_a_generated_name(settings, tmp_path, django_user_model):
    settings.MEDIA_ROOT = tmp_path
    user = make_user("staff")
    unit = make_unit(make_township())
    rectification = rectification_record(
        enterprise=unit, method=Method.CLOSED, rectified_on=unit.identified_on, user=user
    )
    cleaned = clean_photos([upload(name="张三家的厂.jpg"), upload(make_image_bytes(color=(0, 0, 255)))])

    rows = attach_photos(rectification=rectification, photos=cleaned, user=user)

    assert RectificationPhoto.objects.filter(rectification=rectification).count() == 2
    for row, photo in zip(rows, cleaned):
        assert re.fullmatch(r"evidence/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", row.image.name)
        path = tmp_path / row.image.name
        assert path.read_bytes() == photo.content
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256
        assert (row.width, row.height, row.uploaded_by) == (photo.width, photo.height, user)
    assert not list(tmp_path.rglob("*张三*"))
