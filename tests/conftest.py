import datetime

import pytest

from tests.factories import make_campaign


@pytest.fixture
def campaign(db):
    """The 2018 campaign: target 9000, milestones 30/60/80/100 % at quarter ends."""
    return make_campaign()


@pytest.fixture
def frozen_today(monkeypatch):
    """Pin django.utils.timezone.localdate for services that refuse future dates."""

    def pin(day=datetime.date(2018, 12, 31)):
        monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: day)
        return day

    return pin


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher's cost buys nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
