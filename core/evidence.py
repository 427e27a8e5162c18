"""Where and when an evidence photo was taken, kept as evidence beside the published file.

The stored photo is re-encoded without its metadata (enterprises/photos.py), rightly: the published
file must not carry a phone's serial or a person's whereabouts. But the place and time the photo
was taken are themselves evidence that a unit was visited: so they are read from the upload's EXIF
before it is stripped (``read_capture``), or, when the photo carries none, taken from the phone at
the moment of upload (``from_device``: the browser's geolocation), and stored on the photo's row,
never in the file.

``judge`` then flags what an inspector should look at: a photo taken far from the unit's recorded
position (``EVIDENCE_FAR_METRES``, 500 m), or long before the date the record claims
(``EVIDENCE_EARLY_DAYS``, 30 days): a photo of last year's shutdown passed off as this month's.
Positions are WGS-84 (the EXIF's, a phone's, and the units' own: core/geo.py).
"""

import datetime
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags

from .geo import metres

EXIF = "exif"
DEVICE = "device"

FAR = "far"
EARLY = "early"
FLAG_LABELS = {
    FAR: _("拍摄地点距单位较远"),
    EARLY: _("拍摄时间远早于登记日期"),
}

_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Capture:
    """Where (WGS-84, 6 decimals) and when a photo was taken, and where that came from."""

    taken_at: datetime.datetime | None = None
    longitude: Decimal | None = None
    latitude: Decimal | None = None
    source: str = ""

    @property
    def has_place(self):
        return self.longitude is not None and self.latitude is not None

    def __bool__(self):
        return self.taken_at is not None or self.has_place


NOTHING = Capture()


def _rational(value):
    """An EXIF rational (Pillow's IFDRational, or a (num, den) pair) as a float; None when broken."""
    try:
        if isinstance(value, tuple):
            numerator, denominator = value
            return numerator / denominator
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _degrees(parts, ref, negative):
    """Degrees from EXIF's (degrees, minutes, seconds) and its N/S or E/W reference."""
    if not isinstance(parts, tuple | list) or len(parts) != 3:
        return None
    values = [_rational(part) for part in parts]
    if any(v is None or v < 0 for v in values):
        return None
    degrees = values[0] + values[1] / 60 + values[2] / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -degrees if str(ref).strip().upper() == negative else degrees


def _decimal(value, limit):
    try:
        number = Decimal(str(value)).quantize(_PLACES)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if -limit <= number <= limit else None


def _taken_at(exif_ifd):
    """DateTimeOriginal (or DateTimeDigitized) with its offset when the camera wrote one; a time
    without an offset is the product's local time (Asia/Shanghai), as a phone there writes it."""
    for tag, offset_tag in (
        (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
        (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
    ):
        text = exif_ifd.get(tag)
        if not isinstance(text, str):
            continue
        try:
            moment = datetime.datetime.strptime(text.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        offset = exif_ifd.get(offset_tag)
        if isinstance(offset, str):
            try:
                return datetime.datetime.fromisoformat(f"{moment.isoformat()}{offset.strip()[:6]}")
            except ValueError:
                pass
        return timezone.make_aware(moment, timezone.get_default_timezone())
    return None


def read_capture(image):
    """The capture of a PIL image, from its EXIF (read from the header: no pixel is decoded), or
    NOTHING. Broken or partial EXIF gives what can be read of it, never an error."""
    try:
        exif = image.getexif()
    except Exception:  # a corrupt EXIF block must not refuse the photo  # noqa: BLE001
        return NOTHING
    if not exif:
        return NOTHING
    try:
        taken_at = _taken_at(exif.get_ifd(ExifTags.IFD.Exif))
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # noqa: BLE001
        return NOTHING
    latitude = longitude = None
    if gps:
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef, "N"), "S")
        lng = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef, "E"), "W")
        if lat is not None and lng is not None and not (lat == 0 and lng == 0):
            latitude, longitude = _decimal(lat, 90), _decimal(lng, 180)
    if latitude is None or longitude is None:
        latitude = longitude = None
    capture = Capture(taken_at=taken_at, longitude=longitude, latitude=latitude, source=EXIF)
    return capture if capture else NOTHING


def from_device(longitude, latitude, taken_at=None):
    """The phone's position at upload (the browser's geolocation), when the photo had none; None
    for values that are not a position."""
    lng, lat = _decimal(longitude, 180), _decimal(latitude, 90)
    if lng is None or lat is None:
        return NOTHING
    return Capture(taken_at=taken_at, longitude=lng, latitude=lat, source=DEVICE)


def judge(capture, *, unit_position=None, recorded_on=None):
    """(flags, distance in metres or None) of a capture against the unit's position (lng, lat) and
    the date the record claims."""
    flags, distance = [], None
    if capture.has_place and unit_position is not None and None not in unit_position:
        distance = metres(capture.longitude, capture.latitude, *unit_position)
        if distance > settings.EVIDENCE_FAR_METRES:
            flags.append(FAR)
    if capture.taken_at is not None and recorded_on is not None:
        taken_on = timezone.localtime(capture.taken_at).date()
        if (recorded_on - taken_on).days > settings.EVIDENCE_EARLY_DAYS:
            flags.append(EARLY)
    return flags, distance


class Captured(models.Model):
    """The capture of an evidence photo, on its row (never in the published file): every photo model
    of the product (a rectification's, an inspection's, a finding's completion, a park stage's) has
    these columns; ``store_photos`` fills them."""

    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    taken_longitude = models.DecimalField(_("拍摄地经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    taken_latitude = models.DecimalField(_("拍摄地纬度"), max_digits=8, decimal_places=6, null=True, blank=True)
    taken_source = models.CharField(
        _("拍摄信息来源"),
        max_length=8,
        blank=True,
        choices=[(EXIF, _("照片自带")), (DEVICE, _("手机定位"))],
    )

    class Meta:
        abstract = True

    @property
    def capture(self):
        return Capture(
            taken_at=self.taken_at,
            longitude=self.taken_longitude,
            latitude=self.taken_latitude,
            source=self.taken_source,
        )

    def judged(self, unit_position, recorded_on):
        """(flags as labels, distance in metres or None) against the unit and the record's date."""
        flags, distance = judge(self.capture, unit_position=unit_position, recorded_on=recorded_on)
        return [FLAG_LABELS[flag] for flag in flags], distance


def captured_fields(capture):
    """The ``Captured`` columns of a capture, for a photo row's create()."""
    return {
        "taken_at": capture.taken_at,
        "taken_longitude": capture.longitude,
        "taken_latitude": capture.latitude,
        "taken_source": capture.source,
    }
