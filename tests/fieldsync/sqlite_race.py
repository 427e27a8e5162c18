"""One phone's send in a process of its own, against a SQLite file: the two-process race of
test_concurrency.py. Usage: python -m tests.fieldsync.sqlite_race setup|send|count [args]."""

import datetime
import json
import sys
import time

import django

django.setup()

from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

TODAY = datetime.date(2018, 6, 30)
timezone.localdate = lambda *args, **kwargs: TODAY  # as the tests' frozen_today does


def setup():
    from tests.fieldsync.conftest import build_world

    world = build_world()
    print(json.dumps({"unit": world.unit.pk, "user": world.staff.username}))


def send(unit, username, key, start, hold):
    from django.contrib.auth.models import User

    from fieldsync.models import SubmissionKey
    from tests.fieldsync.conftest import rectification_data

    setup_test_environment()
    manager = SubmissionKey.objects
    create = manager.create

    def slow_create(**kwargs):
        # Hold the key's transaction open, so that the other process is sure to arrive meanwhile.
        made = create(**kwargs)
        time.sleep(hold)
        return made

    manager.create = slow_create
    client = Client()
    client.force_login(User.objects.get(username=username))
    while time.time() < start:
        time.sleep(0.005)
    response = client.post(
        f"/units/{unit}/rectify/", rectification_data(), headers={"X-Idempotency-Key": key, "X-Fieldsync-Queued": "1"}
    )
    print(json.dumps({"status": response.status_code, "body": response.json()}))


def count():
    from enterprises.models import Rectification, RectificationPhoto
    from fieldsync.models import SubmissionKey

    print(
        json.dumps(
            {
                "rectifications": Rectification.objects.count(),
                "photos": RectificationPhoto.objects.count(),
                "keys": SubmissionKey.objects.count(),
            }
        )
    )


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "setup":
        setup()
    elif mode == "send":
        send(int(args[0]), args[1], args[2], float(args[3]), float(args[4]))
    else:
        count()
