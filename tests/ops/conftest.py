import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_campaign, make_township, make_unit, make_user

TODAY = datetime.date(2018, 6, 30)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "load: starts PostgreSQL and gunicorn for the small load and fault runs (scripts/)"
    )


@pytest.fixture
def township(db, frozen_today, settings, tmp_path):
    """A township with staff signed in, one open unit, and evidence photos under tmp_path."""
    frozen_today(TODAY)
    settings.MEDIA_ROOT = tmp_path / "media"
    make_campaign()
    town = make_township("东城街道")
    staff = make_user("dongcheng", role="township_staff", township=town)
    client = Client()
    client.force_login(staff)
    unit = make_unit(town, name="东城宏达五金厂")
    return town, staff, client, unit


def photo(name="现场.jpg", color=(200, 30, 30)):
    return SimpleUploadedFile(name, make_image_bytes(color=color), "image/jpeg")


def rectify_data(*photos):
    return {"method": "closed", "rectified_on": TODAY.isoformat(), "photos": list(photos)}
