import pytest

from tests.factories import make_township, make_user


@pytest.fixture(autouse=True)
def own_media(settings, tmp_path):
    """A media folder of our own, so the corpus tests can prove nothing was left in it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings


@pytest.fixture
def towns(db):
    return make_township("石门镇"), make_township("白鹤镇")


@pytest.fixture
def admin_client(client, towns):
    client.force_login(make_user("city", role="city_admin"))
    return client


@pytest.fixture
def staff_client(client, towns):
    client.force_login(make_user("shimen", role="township_staff", township=towns[0]))
    return client
