"""Evidence photos are stored readable by the service's owner and group only (0640 in 0750 folders).

The modes come from FILE_UPLOAD_PERMISSIONS and FILE_UPLOAD_DIRECTORY_PERMISSIONS, not from the
process's umask: the tests run under umask 022, which would leave 0644 files in 0755 folders.
"""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from enterprises.models import RectificationPhoto
from tests.factories import make_campaign, make_township, make_unit, make_user
from tests.ops.conftest import photo, rectify_data

from .conftest import mode

TODAY = datetime.date(2018, 6, 30)


def folders_between(root, path):
    folders = [root]
    for part in path.relative_to(root).parent.parts:
        folders.append(folders[-1] / part)
    return folders


@pytest.mark.django_db
def test_a_photo_uploaded_through_the_rectify_page_is_not_readable_by_other_users(
    frozen_today, settings, tmp_path, usual_umask
):
    assert (settings.FILE_UPLOAD_PERMISSIONS, settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS) == (0o640, 0o750)
    frozen_today(TODAY)
    settings.MEDIA_ROOT = tmp_path / "media"  # made by the storage, with the first photo
    make_campaign()
    town = make_township("东城街道")
    client = Client()
    client.force_login(make_user("dongcheng", role="township_staff", township=town))
    unit = make_unit(town, name="东城宏达五金厂")

    response = client.post(reverse("enterprises:rectify", args=[unit.pk]), rectify_data(photo()))

    assert response.status_code == 302
    stored = tmp_path / "media" / RectificationPhoto.objects.get().image.name
    assert mode(stored) == 0o640
    # MEDIA_ROOT, evidence/, evidence/YYYY/ and evidence/YYYY/MM/: every folder the storage made.
    folders = folders_between(tmp_path / "media", stored)
    assert len(folders) == 4
    assert {folder.name: mode(folder) for folder in folders} == {folder.name: 0o750 for folder in folders}


@pytest.mark.django_db
def test_the_storage_follows_the_upload_permission_settings(settings, tmp_path, usual_umask):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_PERMISSIONS = 0o600
    settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

    name = default_storage.save("notices/2018/第1期.docx", ContentFile(b"notice"))

    assert mode(tmp_path / "media" / name) == 0o600
    assert mode(tmp_path / "media" / "notices" / "2018") == mode(tmp_path / "media") == 0o700
