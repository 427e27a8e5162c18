import datetime
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enterprises.models import Method
from inspections import services
from inspections.models import FindingKind, Kind
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_campaign, make_township, make_unit, make_user

D = datetime.date
TODAY = D(2018, 6, 30)


def photo(name="现场.jpg"):
    return SimpleUploadedFile(name, make_image_bytes(), "image/jpeg")


def rectification_data(**extra):
    return {"method": Method.CLOSED, "rectified_on": "2018-06-20", "photos": photo(), **extra}


def build_world():
    """One township with two units and a finding; two staff members of it, one of another township."""
    world = SimpleNamespace()
    world.campaign = make_campaign()
    world.town, world.other_town = make_township("东城街道"), make_township("西城街道")
    world.unit = make_unit(world.town, D(2018, 5, 1), name="宏达五金厂")
    world.second = make_unit(world.town, D(2018, 5, 2), name="兴旺小作坊")
    world.staff = make_user("dongcheng", role="township_staff", township=world.town)
    world.colleague = make_user("dongcheng2", role="township_staff", township=world.town)
    world.stranger = make_user("xicheng", role="township_staff", township=world.other_town)
    world.inspector = make_user("ducha", role="inspector")
    inspection = services.inspection_record(
        kind=Kind.RANDOM, inspected_on=D(2018, 6, 1), team="督查组", township=world.town, user=world.inspector
    )
    world.finding = services.finding_record(
        inspection=inspection,
        kind=FindingKind.NOT_DONE,
        description="消防通道堵塞",
        deadline=D(2018, 6, 25),
        enterprise=world.second,
        user=world.inspector,
    )
    age(world)
    return world


def age(world):
    """The records were made an hour ago, as in the field (the version check allows a margin of
    seconds before a form's stamp, so a record saved just before a form is shown counts as changed)."""
    from django.utils import timezone

    from enterprises.models import Enterprise
    from inspections.models import Finding

    earlier = timezone.now() - datetime.timedelta(hours=1)
    Enterprise.objects.update(updated_at=earlier)
    for model in (Enterprise, Finding):
        model.history.update(history_date=earlier)


@pytest.fixture
def world(db, frozen_today, settings, tmp_path):
    frozen_today(TODAY)
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_world()
