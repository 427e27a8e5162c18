"""The corpus of malformed and hostile files: each gets its message, none changes anything."""

import os

import pytest
from django.apps import apps
from django.urls import reverse

from enterprises import importing

from .corpus import CORPUS


@pytest.fixture(autouse=True)
def caps(settings):
    settings.IMPORT_MAX_ROWS = 20
    settings.IMPORT_MAX_FILE_BYTES = 1024 * 1024


def snapshot(settings):
    counts = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    files = sorted(
        os.path.relpath(os.path.join(root, name), settings.MEDIA_ROOT)
        for root, _dirs, names in os.walk(settings.MEDIA_ROOT)
        for name in names
    )
    return counts, files


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 40
    assert len({name for name, _build, _expected in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("name", "build", "expected"), CORPUS, ids=[entry[0] for entry in CORPUS])
def test_parse_names_the_problem(name, build, expected, towns):
    plan = importing.parse(build(), file_name=name, allowed_townships=[towns[0]])
    messages = [str(issue) for issue in plan.errors]
    assert any(expected in message for message in messages), messages
    with pytest.raises(importing.PlanError):
        importing.apply(plan)


@pytest.mark.parametrize(("name", "build", "expected"), CORPUS, ids=[entry[0] for entry in CORPUS])
def test_upload_refuses_with_the_message_and_changes_nothing(name, build, expected, staff_client, settings):
    data = build()
    before = snapshot(settings)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(f"{name}.xlsx", data, content_type="application/octet-stream")
    response = staff_client.post(reverse("imports:upload"), {"file": upload})
    assert 400 <= response.status_code < 500
    assert expected in response.content.decode()
    assert snapshot(settings) == before
