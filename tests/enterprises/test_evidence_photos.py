"""Evidence with place and time, through the pages that take photos: read from the EXIF before the
published file is stripped, or the phone's position; stored on the photo's row; shown and flagged."""

import datetime
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from enterprises.models import RectificationPhoto
from inspections import services
from inspections.models import FindingKind, FindingPhoto, Kind
from tests.enterprises.test_evidence import jpeg
from tests.factories import make_campaign, make_township, make_unit, make_user

pytestmark = pytest.mark.django_db
D = datetime.date
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NEAR = (((27, 46, 48.0), "N"), ((120, 39, 21.6), "E"))  # 27.78, 120.656
FAR = (((27, 50, 0.0), "N"), ((120, 39, 21.6), "E"))  # ~6 km north


def upload(name="现场.jpg", colour="red", **exif):
    image = jpeg(**exif) if exif else Image.new("RGB", (32, 24), colour)
    out = io.BytesIO()
    if exif:
        out.write(image.fp.getvalue())
    else:
        image.save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), "image/jpeg")


@pytest.fixture
def world(settings, tmp_path, frozen_today):
    settings.MEDIA_ROOT = tmp_path / "media"
    frozen_today(D(2018, 6, 30))
    make_campaign()
    town = make_township("东城街道")
    unit = make_unit(town, D(2018, 3, 1), name="宏达五金厂", longitude=Decimal("120.656"), latitude=Decimal("27.78"))
    return town, unit


def rectify(client, unit, *files, **extra):
    data = {"method": "closed", "rectified_on": "2018-06-10", "demolished_m2": "", "photos": list(files), **extra}
    return client.post(reverse("enterprises:rectify", args=[unit.pk]), data)


def test_a_rectification_photo_keeps_where_and_when_and_its_file_does_not(client, world):
    _town, unit = world
    client.force_login(make_user("boss", role="city_admin"))
    response = rectify(client, unit, upload(taken="2018:06:10 09:30:00", gps=NEAR))
    assert response.status_code == 302
    photo = RectificationPhoto.objects.get()
    assert (photo.taken_source, photo.taken_latitude, photo.taken_longitude) == (
        "exif",
        Decimal("27.780000"),
        Decimal("120.656000"),
    )
    assert photo.taken_at == datetime.datetime(2018, 6, 10, 9, 30, tzinfo=SHANGHAI)
    with photo.image.open("rb") as stored:
        assert not Image.open(stored).getexif()  # the published file carries none of it
    html = client.get(unit.get_absolute_url()).content.decode()
    assert "拍摄于 2018-06-10 09:30" in html and "照片自带位置" in html and "距单位 0 米" in html
    assert "需核实" not in html


def test_a_photo_far_from_the_unit_and_long_before_the_record_is_flagged(client, world):
    _town, unit = world
    client.force_login(make_user("boss", role="city_admin"))
    rectify(client, unit, upload(taken="2018:04:01 09:30:00", gps=FAR))
    html = client.get(unit.get_absolute_url()).content.decode()
    assert "拍摄地点距单位较远" in html and "拍摄时间远早于登记日期" in html and "1 张需核实" in html
    assert 'class="evidence" open' in html  # a flagged panel is open


def test_a_photo_without_a_place_takes_the_phones_position(client, world):
    _town, unit = world
    client.force_login(make_user("boss", role="city_admin"))
    # The fix's time as the browser writes it (an hour ago: a queued offline send keeps its own).
    fix = (timezone.now() - datetime.timedelta(hours=1)).replace(microsecond=0)
    taken_time = fix.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    rectify(client, unit, upload(), taken_longitude="120.6561", taken_latitude="27.7801", taken_time=taken_time)
    photo = RectificationPhoto.objects.get()
    assert photo.taken_source == "device" and photo.taken_longitude == Decimal("120.656100")
    assert photo.taken_at == fix
    assert "上传时手机定位" in client.get(unit.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    ("extra", "source"),
    [
        ({"taken_longitude": "abc", "taken_latitude": "27.78"}, ""),  # not a position: nothing
        ({"taken_longitude": "121.0", "taken_latitude": "28.0"}, "exif"),  # the photo's own place wins
    ],
)
def test_the_phones_position_never_replaces_the_photos_own_or_a_bad_one(client, world, extra, source):
    _town, unit = world
    client.force_login(make_user("boss", role="city_admin"))
    files = [upload(taken="2018:06:10 09:30:00", gps=NEAR)] if source == "exif" else [upload()]
    assert rectify(client, unit, *files, **extra).status_code == 302
    photo = RectificationPhoto.objects.get()
    assert photo.taken_source == source
    if source == "exif":
        assert photo.taken_longitude == Decimal("120.656000")


def test_a_findings_completion_photo_keeps_its_capture_and_is_shown_to_the_verifier(client, world):
    town, unit = world
    staff = make_user("dongcheng", role="township_staff", township=town)
    inspector = make_user("ducha", role="inspector")
    inspection = services.inspection_record(
        kind=Kind.RANDOM, inspected_on=D(2018, 6, 1), team="督查组", township=town, user=inspector
    )
    finding = services.finding_record(
        inspection=inspection,
        kind=FindingKind.NOT_DONE,
        description="消防通道堵塞",
        deadline=D(2018, 6, 20),
        enterprise=unit,
        user=inspector,
    )
    client.force_login(staff)
    url = reverse("inspections:finding_rectified", args=[finding.pk])
    photo_file = upload(taken="2018:06:12 15:00:00", gps=FAR)
    response = client.post(url, {"rectified_on": "2018-06-12", "note": "已清理", "photos": [photo_file]})
    assert response.status_code == 302
    assert FindingPhoto.objects.get().taken_source == "exif"
    client.force_login(inspector)
    html = client.get(finding.get_absolute_url()).content.decode()
    panel = html[html.index('id="completion-evidence"') :]
    assert "拍摄于 2018-06-12 15:00" in panel and "拍摄地点距单位较远" in panel


@pytest.mark.parametrize(
    "taken_time", ["", "yesterday", "2018-06-10T01:30:00", "2099-01-01T00:00:00Z", "2000-01-01T00:00:00Z"]
)
def test_a_fix_time_that_cannot_be_the_fixs_is_the_upload_time(taken_time):
    from enterprises.forms import _fix_time

    now = timezone.now()
    assert _fix_time(taken_time, now) is now


def test_a_look_backs_photos_keep_their_capture_and_are_served_to_its_readers_only(client, world):
    from enterprises.services import rectification_record
    from inspections.models import Lookback, LookbackPhoto

    town, unit = world
    period = rectification_record(enterprise=unit, method="demolished", rectified_on=D(2018, 4, 1), demolished_m2=80)
    lookback = Lookback.objects.create(
        rectification=period, enterprise=unit, township=town, offset_days=30, due_on=D(2018, 5, 1)
    )
    inspector = make_user("ducha", role="inspector")
    client.force_login(inspector)
    url = reverse("inspections:lookback", args=[lookback.pk])
    photo_file = upload(taken="2018:06:28 10:00:00", gps=NEAR)
    response = client.post(url, {"checked_on": "2018-06-28", "operating": "no", "photos": [photo_file]})
    assert response.status_code == 302
    photo = LookbackPhoto.objects.get()
    assert (photo.taken_source, photo.taken_at) == ("exif", datetime.datetime(2018, 6, 28, 10, tzinfo=SHANGHAI))
    html = client.get(url).content.decode()
    panel = html[html.index('id="lookback-evidence"') :]
    assert "拍摄于 2018-06-28 10:00" in panel and "距单位 0 米" in panel and "需核实" not in panel
    photo_url = reverse("inspections:lookback_photo", args=[lookback.pk, photo.pk])
    assert photo_url in html and client.get(photo_url)["Content-Type"] == "image/jpeg"
    client.force_login(make_user("xicheng", role="township_staff", township=make_township("西城街道")))
    assert client.get(photo_url).status_code == 404


def test_a_refused_look_back_leaves_no_photo_behind(client, world):
    from enterprises.services import rectification_record
    from inspections.models import Lookback, LookbackPhoto

    town, unit = world
    period = rectification_record(enterprise=unit, method="demolished", rectified_on=D(2018, 4, 1), demolished_m2=80)
    lookback = Lookback.objects.create(
        rectification=period, enterprise=unit, township=town, offset_days=30, due_on=D(2018, 5, 1)
    )
    client.force_login(make_user("ducha", role="inspector"))
    url = reverse("inspections:lookback", args=[lookback.pk])
    # Checked before the unit was rectified: refused by the service, after the photos were cleaned.
    response = client.post(url, {"checked_on": "2018-03-01", "operating": "no", "photos": [upload()]})
    assert response.status_code == 200 and "检查日期须在整治完成日期和今天之间" in response.content.decode()
    assert not LookbackPhoto.objects.exists()
    evidence_folder = settings.MEDIA_ROOT / "evidence"
    assert not evidence_folder.exists() or list(evidence_folder.rglob("*.jpg")) == []
