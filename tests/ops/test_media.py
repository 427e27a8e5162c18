"""A full (or failing) media volume and a failing database never split a rectification from its photo:
either the record and its photos are all kept, or none of them and no file is left behind."""

import errno
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse
from simple_history.signals import pre_create_historical_record

from core.storage import WholeFileStorage, removed_unless_kept
from enterprises.models import Enterprise, Rectification, RectificationPhoto, Status
from inspections.models import Inspection, InspectionPhoto
from tests.factories import make_user
from tests.ops.conftest import photo, rectify_data


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob("*") if p.is_file())


@pytest.fixture
def disk_fills_up(monkeypatch):
    """The n-th file written (1-based) and those after get half their bytes on disk, then ENOSPC.

    Returns a function that makes room again.
    """

    def after(n):
        written = {"files": 0}
        original = WholeFileStorage._write

        def write(self, handle, content):
            written["files"] += 1
            if written["files"] < n:
                return original(self, handle, content)
            data = content.read()
            handle.write(data[: len(data) // 2])
            handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(WholeFileStorage, "_write", write)
        return lambda: monkeypatch.setattr(WholeFileStorage, "_write", original)

    return after


def test_a_file_is_written_whole_or_not_at_all(tmp_path, disk_fills_up):
    storage = WholeFileStorage(location=tmp_path)
    assert storage.open(storage.save("evidence/a.jpg", ContentFile(b"x" * 1000))).read() == b"x" * 1000
    disk_fills_up(1)
    with pytest.raises(OSError, match="No space"):
        storage.save("evidence/b.jpg", ContentFile(b"y" * 1000))
    # Neither the half file under its name, nor the temporary one beside it.
    assert files_under(tmp_path) == ["evidence/a.jpg"]


def test_files_of_a_failed_block_are_removed_and_of_a_kept_one_kept(tmp_path):
    storage = WholeFileStorage(location=tmp_path)
    with removed_unless_kept():
        storage.save("kept.jpg", ContentFile(b"1"))
    with pytest.raises(RuntimeError), removed_unless_kept():
        # An inner block that succeeds hands its files to the outer one, whose failure removes them.
        with removed_unless_kept():
            storage.save("inner.jpg", ContentFile(b"2"))
        storage.save("outer.jpg", ContentFile(b"3"))
        raise RuntimeError("the database failed after the files were written")
    assert files_under(tmp_path) == ["kept.jpg"]


@pytest.mark.django_db
def test_media_full_on_the_second_photo_saves_nothing_and_says_so(township, disk_fills_up):
    _town, _staff, client, unit = township
    disk_fills_up(2)
    response = client.post(
        reverse("enterprises:rectify", args=[unit.pk]), rectify_data(photo("1.jpg"), photo("2.jpg", (0, 90, 200)))
    )
    assert response.status_code == 503
    assert "照片未能保存" in response.content.decode()
    assert not Rectification.objects.exists() and not RectificationPhoto.objects.exists()
    assert not Rectification.history.exists() and not RectificationPhoto.history.exists()
    assert Enterprise.objects.get(pk=unit.pk).status == Status.OPEN
    assert files_under(settings.MEDIA_ROOT) == []


@pytest.mark.django_db
def test_a_database_failure_after_the_photo_was_written_removes_the_photo(township):
    _town, staff, _client, unit = township
    client = Client(raise_request_exception=False)
    client.force_login(staff)

    def fail_on_photo(sender, history_instance, **kwargs):
        if isinstance(kwargs.get("instance"), RectificationPhoto):
            raise OperationalError("server closed the connection unexpectedly")

    pre_create_historical_record.connect(fail_on_photo, dispatch_uid="test-fail-on-photo")
    try:
        response = client.post(reverse("enterprises:rectify", args=[unit.pk]), rectify_data(photo()))
    finally:
        pre_create_historical_record.disconnect(dispatch_uid="test-fail-on-photo")
    assert response.status_code == 503
    assert "系统暂时无法使用" in response.content.decode()
    assert not Rectification.objects.exists() and not RectificationPhoto.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == []


def test_a_failed_commit_removes_the_photos(transactional_db, township, monkeypatch):
    _town, staff, _client, unit = township
    client = Client(raise_request_exception=False)
    client.force_login(staff)

    def commit():
        raise OperationalError("terminating connection due to administrator command")

    with monkeypatch.context() as patched:
        patched.setattr(connection, "commit", commit)
        response = client.post(reverse("enterprises:rectify", args=[unit.pk]), rectify_data(photo()))
    assert response.status_code == 503
    assert not Rectification.objects.exists() and not RectificationPhoto.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == []


@pytest.mark.django_db
def test_once_there_is_room_again_the_same_save_lands(township, disk_fills_up):
    _town, _staff, client, unit = township
    make_room = disk_fills_up(1)
    url = reverse("enterprises:rectify", args=[unit.pk])
    assert client.post(url, rectify_data(photo())).status_code == 503
    make_room()
    assert client.post(url, rectify_data(photo())).status_code == 302
    (stored,) = RectificationPhoto.objects.all()
    assert files_under(settings.MEDIA_ROOT) == [stored.image.name]


@pytest.fixture
def inspector(township):
    town, _staff, _client, unit = township
    user = make_user("ducha", role="inspector")
    client = Client()
    client.force_login(user)
    url = reverse("inspections:create") + f"?township={town.pk}"
    data = {"kind": "unannounced", "inspected_on": "2018-06-29", "team": "市督查组", "units": [unit.pk]}
    return client, url, data


@pytest.mark.django_db
def test_an_inspection_with_the_media_full_on_its_second_photo_saves_nothing_and_says_so(inspector, disk_fills_up):
    client, url, data = inspector
    make_room = disk_fills_up(2)
    response = client.post(url, {**data, "photos": [photo("1.jpg"), photo("2.jpg", (0, 90, 200))]})
    assert response.status_code == 503
    assert "照片未能保存" in response.content.decode() and "本次督查未登记" in response.content.decode()
    assert not Inspection.objects.exists() and not InspectionPhoto.objects.exists()
    assert not Inspection.history.exists() and not InspectionPhoto.history.exists()
    assert files_under(settings.MEDIA_ROOT) == []
    # With room again, the same submission lands with its photos.
    make_room()
    response = client.post(url, {**data, "photos": [photo("1.jpg"), photo("2.jpg", (0, 90, 200))]})
    assert response.status_code == 302
    assert sorted(files_under(settings.MEDIA_ROOT)) == sorted(p.image.name for p in InspectionPhoto.objects.all())
    assert InspectionPhoto.objects.count() == 2


def test_a_failed_commit_removes_the_inspection_photos(transactional_db, inspector, monkeypatch):
    client, url, data = inspector
    client.raise_request_exception = False

    def commit():
        raise OperationalError("terminating connection due to administrator command")

    with monkeypatch.context() as patched:
        patched.setattr(connection, "commit", commit)
        response = client.post(url, {**data, "photos": [photo()]})
    assert response.status_code == 503
    assert not Inspection.objects.exists() and not InspectionPhoto.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == []
