import base64
import datetime
import functools
import hashlib
import importlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from enterprises import photos
from enterprises.models import Method, Rectification, RectificationPhoto, Status
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


# --- photo bombs: small on disk, huge in memory ----------------------------------------------------


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def bomb_png(width=7700, height=7700, alpha=True):
    """A valid PNG of one colour: 249 KB on disk for 7700×7700 RGBA, 237 MB once decoded.

    Written row by row through zlib, so building it never holds the pixels."""
    bands = 4 if alpha else 3
    compressor = zlib.compressobj(9)
    rows = (b"\x00" + b"\x07" * (bands * width)) * 50
    body = b"".join(compressor.compress(rows) for _ in range(height // 50))
    body += compressor.compress((b"\x00" + b"\x07" * (bands * width)) * (height % 50)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def bomb_jpeg(width, height):
    """A small JPEG whose frame header declares ``width``×``height`` (its data is for 64×48)."""
    raw = bytearray(make_image_bytes(size=(64, 48), gps=False))
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(raw)


def jpeg_bytes(size, color=(90, 140, 200), **save):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90, **save)
    return out.getvalue()


# 64×48, sequential (baseline) but in three scans, one colour component each (jpegtran -scans):
# libjpeg then buffers every coefficient of the image, as for a progressive JPEG.
MULTI_SCAN_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAx"
    "NDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIy"
    "MjIyMjIyMjL/wAARCAAwAEADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF"
    "BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW"
    "V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi"
    "4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AJKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK//xAAfAQADAQEB"
    "AQEBAQEBAAAAAAAAAQIDBAUGBwgJCgv/xAC1EQACAQIEBAMEBwUEBAABAncAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS"
    "8BVictEKFiQ04SXxFxgZGiYnKCkqNTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeY"
    "mZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2gAIAQIRAD8A+iAAAAAAAD//"
    "2gAIAQMRAD8A8QAAAAAAAP/Z"
)

PNG_BOMB_MESSAGE = "照片“%s”像素过大：PNG 图片每张最多 1600 万像素（JPEG 照片最多 5000 万像素）"
PIXELS_MESSAGE = "照片“%s”像素过大，超过每张 5000 万像素的上限"


def _measure_in_subprocess(tmp_path, script, **files):
    """Run ``script`` in a fresh Python process and return what it prints (JSON).

    Pillow's pixel buffers and libjpeg's, zlib's and libwebp's work memory are malloc'd outside
    Python's allocator, so tracemalloc sees almost none of it: the real measure is the process's
    peak resident size. ``ru_maxrss`` will not do in a child: Linux carries the parent's peak
    (pytest's, with the test images in it) across fork and exec. So ``peak_kb`` reads VmHWM, the
    peak of the process's own memory, after setting it back to the current size (clear_refs 5)
    right before the measured call.
    """
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    prelude = textwrap.dedent(
        """
        import json, os, sys, time
        import django
        django.setup()
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.core.exceptions import ValidationError
        from enterprises import photos

        def peak_kb(reset=False):
            if reset:  # the high-water mark back to the current size
                with open("/proc/self/clear_refs", "w") as clear_refs:
                    clear_refs.write("5")
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "siwu.settings", "PHOTO_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_six_photo_bombs_are_refused_in_milliseconds_and_a_few_megabytes(tmp_path):
    # Before: these six took a worker 10 s and 1 GB, and were stored.
    measured = _measure_in_subprocess(
        tmp_path,
        """
        raw = open(os.path.join(os.environ["PHOTO_DIR"], "bomb.png"), "rb").read()
        uploads = [SimpleUploadedFile(f"炸弹{i}.png", raw, "image/png") for i in range(6)]
        before, start = peak_kb(reset=True), time.perf_counter()
        try:
            photos.clean_photos(uploads)
            messages = []
        except ValidationError as exc:
            messages = exc.messages
        print(json.dumps({"seconds": time.perf_counter() - start, "mb": (peak_kb() - before) / 1024,
                          "messages": messages}))
        """,
        **{"bomb.png": bomb_png()},
    )
    assert len(bomb_png()) < 256 * 1024
    assert measured["messages"] == [PNG_BOMB_MESSAGE % f"炸弹{i}.png" for i in range(6)]
    assert measured["mb"] < 16, measured
    assert measured["seconds"] < 2, measured


@pytest.mark.parametrize(
    "name,content",
    [
        ("rgba-16mp.png", lambda: bomb_png(4000, 4000, alpha=True)),
        ("phone-12mp.jpg", lambda: jpeg_bytes((4000, 3000))),
        ("phone-50mp.jpg", lambda: jpeg_bytes((8160, 6120))),
    ],
    ids=["png-at-the-limit", "12mp-jpeg", "50mp-jpeg"],
)
def test_the_memory_estimate_bounds_the_real_peak_of_an_accepted_photo(tmp_path, name, content):
    measured = _measure_in_subprocess(
        tmp_path,
        f"""
        raw = open(os.path.join(os.environ["PHOTO_DIR"], {name!r}), "rb").read()
        probe = photos.probe_photo(SimpleUploadedFile({name!r}, raw))
        del raw
        before = peak_kb(reset=True)
        photo = photos.decode_photo(probe)
        print(json.dumps({{"mb": (peak_kb() - before) / 1024, "estimate": probe.cost / photos.MB,
                          "size": [photo.width, photo.height]}}))
        """,
        **{name: content()},
    )
    assert measured["estimate"] <= photos.MAX_DECODE_BYTES / photos.MB
    # The estimate is the real peak to within a megabyte or two (Python's own small allocations).
    assert 0.8 * measured["estimate"] <= measured["mb"] <= measured["estimate"] + 4, measured
    assert max(measured["size"]) == photos.MAX_SIDE


def test_pillows_limit_is_ours_and_its_refusal_is_our_message():
    assert Image.MAX_IMAGE_PIXELS == photos.MAX_PIXELS
    # 81 MP: over the limit (Pillow warns); 3.6 GP: over twice the limit (Pillow raises).
    for name, content in [("大.jpg", bomb_jpeg(9000, 9000)), ("巨幅.jpg", bomb_jpeg(60000, 60000))]:
        with pytest.raises(ValidationError) as exc:
            clean_photo(upload(content, name=name))
        assert exc.value.messages == [PIXELS_MESSAGE % name]


def test_a_png_is_held_to_the_lower_full_decode_limit():
    assert photos.MAX_FULL_DECODE_PIXELS < photos.MAX_PIXELS
    with pytest.raises(ValidationError) as exc:
        clean_photo(upload(bomb_png(4001, 4000, alpha=False), name="截图.png"))
    assert exc.value.messages == [PNG_BOMB_MESSAGE % "截图.png"]


def test_a_progressive_or_multi_scan_jpeg_is_held_to_the_full_decode_limit(monkeypatch):
    sequential = jpeg_bytes((64, 48))
    progressive = jpeg_bytes((64, 48), progressive=True)
    assert clean_photo(upload(MULTI_SCAN_JPEG)).width == 64  # a valid photo, accepted as it is
    monkeypatch.setattr(photos, "MAX_FULL_DECODE_PIXELS", 64 * 48 - 1)

    assert clean_photo(upload(sequential)).width == 64
    for content in (progressive, MULTI_SCAN_JPEG):
        with pytest.raises(ValidationError) as exc:
            clean_photo(upload(content, name="渐进.jpg"))
        assert exc.value.code == "too_many_pixels"
        assert "渐进式或分次扫描的 JPEG 图片每张最多" in exc.value.messages[0]


def test_a_photo_over_the_memory_limit_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(photos, "MAX_DECODE_BYTES", 2 * photos.MB)
    with pytest.raises(ValidationError) as exc:
        clean_photo(upload(make_image_bytes(size=(1000, 1000), fmt="PNG", mode="RGBA", gps=False), name="a.png"))
    assert re.fullmatch(
        r"照片“a\.png”解码后约需 \d+ MB 内存，超过每张 2 MB 的上限，请缩小后重新上传", exc.value.messages[0]
    )


def test_a_submission_over_its_totals_is_refused_naming_the_photo_that_crossed_them(monkeypatch):
    uploads = [upload(jpeg_bytes((400, 300), color=(i * 60, 0, 0)), name=f"{i}.jpg") for i in range(3)]
    monkeypatch.setattr(photos, "MAX_REQUEST_PIXELS", 250_000)
    with pytest.raises(ValidationError) as exc:
        clean_photos(uploads)
    assert exc.value.messages == ["照片“2.jpg”使本次上传的照片合计超过 25 万像素的上限，请减少照片数量或缩小后重试"]

    monkeypatch.setattr(photos, "MAX_REQUEST_PIXELS", 10**9)
    cost = photos.probe_photo(uploads[0]).cost
    monkeypatch.setattr(photos, "MAX_REQUEST_DECODE_BYTES", 2 * cost - 1)  # the second photo crosses it
    with pytest.raises(ValidationError) as exc:
        clean_photos(uploads)
    limit = (2 * cost - 1) // photos.MB
    assert exc.value.messages == [
        f"照片“1.jpg”使本次上传的照片解码后合计超过 {limit} MB 的上限，请减少照片数量或缩小后重试"
    ]


def test_the_limits_are_read_from_the_settings(settings):
    settings.PHOTO_MAX_PIXELS = 1_234_567
    settings.PHOTO_MAX_REQUEST_DECODE_BYTES = 99 * photos.MB
    try:
        importlib.reload(photos)
        assert (photos.MAX_PIXELS, Image.MAX_IMAGE_PIXELS) == (1_234_567, 1_234_567)
        assert photos.MAX_REQUEST_DECODE_BYTES == 99 * photos.MB
        assert photos.MAX_FULL_DECODE_PIXELS == 16_000_000  # the default of a limit left unset
    finally:
        del settings.PHOTO_MAX_PIXELS, settings.PHOTO_MAX_REQUEST_DECODE_BYTES
        importlib.reload(photos)
    assert Image.MAX_IMAGE_PIXELS == photos.MAX_PIXELS == 50_000_000


# --- through the rectification page -------------------------------------------------------------


@pytest.fixture
def rectify(client, settings, tmp_path, frozen_today):
    """POST to a unit's rectification page as a signed-in user; the media folder is ``tmp_path``."""
    settings.MEDIA_ROOT = tmp_path / "media"
    frozen_today(datetime.date(2018, 6, 30))
    unit = make_unit(make_township(), datetime.date(2018, 3, 1))
    client.force_login(make_user("zhangsan"))

    def post(files):
        data = {"method": "closed", "rectified_on": "2018-05-01", "demolished_m2": "", "photos": files}
        return client.post(reverse("enterprises:rectify", args=[unit.pk]), data)

    post.unit = unit
    return post


def png_bombs():
    return [SimpleUploadedFile(f"炸弹{i}.png", bomb_png(), "image/png") for i in range(6)]


def jpeg_bombs():
    return [
        SimpleUploadedFile("大.jpg", bomb_jpeg(9000, 9000), "image/jpeg"),
        SimpleUploadedFile("巨幅.jpg", bomb_jpeg(60000, 60000), "image/jpeg"),
    ]


BOMB_SUBMISSIONS = pytest.mark.parametrize(
    "files,messages",
    [
        (png_bombs, [PNG_BOMB_MESSAGE % f"炸弹{i}.png" for i in range(6)]),
        (jpeg_bombs, [PIXELS_MESSAGE % "大.jpg", PIXELS_MESSAGE % "巨幅.jpg"]),
    ],
    ids=["six-png-bombs", "jpeg-bombs"],
)


@pytest.mark.django_db
@BOMB_SUBMISSIONS
def test_photo_bombs_are_refused_by_the_rectification_page_and_nothing_is_written(rectify, tmp_path, files, messages):
    response = rectify(files())

    assert response.status_code == 200
    html = response.content.decode()
    assert [message for message in messages if message in html] == messages
    assert not Rectification.objects.exists() and not RectificationPhoto.objects.exists()
    rectify.unit.refresh_from_db()
    assert rectify.unit.status != Status.RECTIFIED
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.django_db
def test_six_large_phone_photos_are_still_accepted_and_re_encoded(rectify, tmp_path):
    # Six 12 MP photos with the phone's EXIF: within every per-photo and per-submission limit.
    files = [
        SimpleUploadedFile(f"IMG_{i}.jpg", make_image_bytes(size=(4000, 3000), color=(40 * i, 90, 20)), "image/jpeg")
        for i in range(6)
    ]

    response = rectify(files)

    assert response.status_code == 302
    rows = list(RectificationPhoto.objects.order_by("pk"))
    assert len(rows) == 6
    for row in rows:
        assert (row.width, row.height) == (2560, 1920)
        with Image.open(tmp_path / "media" / row.image.name) as stored:
            assert (stored.format, stored.size, dict(stored.getexif())) == ("JPEG", (2560, 1920), {})
