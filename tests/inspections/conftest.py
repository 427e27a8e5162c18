import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Photos the inspection tests store (a completion's evidence, site photos) go to a fresh folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
