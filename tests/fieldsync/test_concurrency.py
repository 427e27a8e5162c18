"""Two sends of one key at the same moment write once: on PostgreSQL (the unique index makes the second
insert wait for the first transaction), and on SQLite (its write lock, BEGIN IMMEDIATE, does)."""

import json
import os
import subprocess  # nosec B404  # runs this project's own script with fixed arguments
import sys
import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from enterprises.models import Rectification, RectificationPhoto
from fieldsync.models import SubmissionKey
from tests.concurrency import needs_postgres, race
from tests.conftest import ROOT
from tests.fieldsync.conftest import rectification_data

HOLD = 1.0  # seconds the first send keeps its transaction open


def slow_inserts(monkeypatch):
    manager = SubmissionKey.objects
    create = manager.create

    def slow_create(**kwargs):
        made = create(**kwargs)
        time.sleep(HOLD)
        return made

    monkeypatch.setattr(manager, "create", slow_create)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_sends_of_one_key_at_once_write_once_on_postgresql(world, monkeypatch):
    slow_inserts(monkeypatch)
    submission = str(uuid.uuid4())
    url = reverse("enterprises:rectify", args=[world.unit.pk])

    def send():
        client = Client()
        client.force_login(world.staff)
        response = client.post(url, rectification_data(), headers={"X-Idempotency-Key": submission})
        return response.status_code, response.json()

    results = race(send, send)

    assert [status for status, _ in results] == [200, 200], results
    assert sorted(body["replayed"] for _, body in results) == [False, True]
    assert {body["location"] for _, body in results} == {world.unit.get_absolute_url()}
    assert Rectification.objects.filter(enterprise=world.unit).count() == 1
    assert RectificationPhoto.objects.count() == 1
    assert SubmissionKey.objects.count() == 1


def _run(env, *args, timeout=120):
    done = subprocess.run(  # nosec B603  # fixed arguments, no shell
        [sys.executable, "-m", "tests.fieldsync.sqlite_race", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_processes_sending_one_key_at_once_write_once_on_sqlite(migrated_sqlite, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{migrated_sqlite}",
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    made = _run(env, "setup")
    submission = str(uuid.uuid4())
    start = f"{time.time() + 3:.3f}"  # both processes are started and signed in by then
    args = ("send", str(made["unit"]), made["user"], submission, start, str(HOLD))
    senders = [
        subprocess.Popen(  # nosec B603  # fixed arguments, no shell
            [sys.executable, "-m", "tests.fieldsync.sqlite_race", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for sender in senders:
        out, err = sender.communicate(timeout=120)
        assert sender.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert [r["status"] for r in results] == [200, 200], results
    assert sorted(r["body"]["replayed"] for r in results) == [False, True]
    assert _run(env, "count") == {"rectifications": 1, "photos": 1, "keys": 1}
