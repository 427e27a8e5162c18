"""Where and when a photo was taken, read from its EXIF before the file is stripped (core/evidence.py)."""

import datetime
import io
from decimal import Decimal

import pytest
from PIL import ExifTags, Image, TiffImagePlugin

from core import evidence, geo

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def jpeg(*, taken=None, offset=None, gps=None, digitized=None):
    """A small JPEG whose EXIF carries the given capture time and GPS ((lat, ref), (lng, ref)) in
    degrees, minutes and seconds, as a phone camera writes them."""
    exif = Image.Exif()
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if taken:
        exif_ifd[ExifTags.Base.DateTimeOriginal] = taken
    if digitized:
        exif_ifd[ExifTags.Base.DateTimeDigitized] = digitized
    if offset:
        exif_ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        (lat, lat_ref), (lng, lng_ref) = gps
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = lat_ref
        info[ExifTags.GPS.GPSLatitude] = tuple(TiffImagePlugin.IFDRational(v) for v in lat)
        info[ExifTags.GPS.GPSLongitudeRef] = lng_ref
        info[ExifTags.GPS.GPSLongitude] = tuple(TiffImagePlugin.IFDRational(v) for v in lng)
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "red").save(out, "JPEG", exif=exif)
    out.seek(0)
    return Image.open(out)


def test_a_phone_photo_gives_its_place_and_local_time():
    # 瑞安 city centre: 27°46'48.0" N, 120°39'21.6" E.
    image = jpeg(taken="2018:06:10 09:30:15", gps=(((27, 46, 48.0), "N"), ((120, 39, 21.6), "E")))
    capture = evidence.read_capture(image)
    assert capture.source == evidence.EXIF
    assert capture.latitude == Decimal("27.780000") and capture.longitude == Decimal("120.656000")
    assert capture.taken_at == datetime.datetime(2018, 6, 10, 9, 30, 15, tzinfo=SHANGHAI)


def test_a_written_offset_is_honoured_and_south_and_west_are_negative():
    image = jpeg(
        taken="2018:06:10 09:30:15",
        offset="+02:00",
        gps=(((33, 52, 4.0), "S"), ((151, 12, 36.0), "W")),
    )
    capture = evidence.read_capture(image)
    assert capture.taken_at == datetime.datetime(2018, 6, 10, 7, 30, 15, tzinfo=datetime.UTC)
    assert capture.latitude < 0 and capture.longitude < 0


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(lambda: Image.new("RGB", (8, 8)), id="no EXIF at all"),
        pytest.param(lambda: jpeg(taken="not a date"), id="a broken date"),
        pytest.param(lambda: jpeg(gps=(((0, 0, 0), "N"), ((0, 0, 0), "E"))), id="the 0,0 of a phone without a fix"),
    ],
)
def test_nothing_readable_gives_nothing(image):
    assert evidence.read_capture(image()) == evidence.NOTHING
    assert not evidence.NOTHING


def test_time_without_place_and_the_digitized_time_as_a_fallback():
    capture = evidence.read_capture(jpeg(digitized="2018:05:01 08:00:00"))
    assert capture.taken_at == datetime.datetime(2018, 5, 1, 8, 0, tzinfo=SHANGHAI)
    assert not capture.has_place and capture


def test_a_device_position_is_taken_only_when_it_is_one():
    at = datetime.datetime(2018, 6, 10, 9, 0, tzinfo=SHANGHAI)
    capture = evidence.from_device("120.6560001", "27.78", at)
    assert capture.source == evidence.DEVICE and capture.longitude == Decimal("120.656000")
    assert evidence.from_device("200", "27.78") == evidence.NOTHING
    assert evidence.from_device("", "abc") == evidence.NOTHING


def test_distance_is_metres_on_the_ground():
    # One degree of latitude is about 111.2 km; 0.001° of longitude at 27.78° N about 98.5 m.
    assert geo.metres(120, 27, 120, 28) == pytest.approx(111_195, rel=1e-3)
    assert geo.metres(120.656, 27.78, 120.657, 27.78) == pytest.approx(98.5, rel=1e-2)


@pytest.mark.parametrize(
    ("place", "taken_on", "flags"),
    [
        ((120.6565, 27.7803), datetime.date(2018, 6, 10), []),  # ~60 m away, the same day
        ((120.6650, 27.7800), datetime.date(2018, 6, 10), ["far"]),  # ~890 m away
        ((120.6565, 27.7803), datetime.date(2018, 5, 10), ["early"]),  # 31 days before the record's date
        ((120.6565, 27.7803), datetime.date(2018, 5, 11), []),  # 30 days: still in time
        ((120.6650, 27.7800), datetime.date(2017, 6, 10), ["far", "early"]),
    ],
)
def test_far_or_early_evidence_is_flagged(settings, place, taken_on, flags):
    settings.EVIDENCE_FAR_METRES, settings.EVIDENCE_EARLY_DAYS = 500, 30
    capture = evidence.Capture(
        taken_at=datetime.datetime.combine(taken_on, datetime.time(10), SHANGHAI),
        longitude=Decimal(str(place[0])),
        latitude=Decimal(str(place[1])),
        source=evidence.EXIF,
    )
    found, distance = evidence.judge(
        capture, unit_position=(Decimal("120.656"), Decimal("27.78")), recorded_on=datetime.date(2018, 6, 10)
    )
    assert found == flags and distance is not None


def test_no_unit_position_no_distance():
    capture = evidence.from_device("120.656", "27.78")
    assert evidence.judge(capture, unit_position=(None, None), recorded_on=None) == ([], None)
