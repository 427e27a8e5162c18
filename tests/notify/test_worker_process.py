"""The worker as a real process: killed with SIGKILL mid-send and started again, nothing is lost and
nothing is sent twice; three workers at once share the outbox without sending anything twice.

The processes run manage.py against a database they can see: a migrated SQLite file of the test's
own, or on PostgreSQL the test database itself (the test commits, and the tables are emptied after).
"""

import json
import os
import signal
import subprocess  # nosec B404  # runs manage.py with fixed arguments
import sys
import time
from collections import Counter

import pytest
from django.db import connection

from tests.conftest import ROOT
from tests.notify.robots import SECRET

SETUP = """
from django.contrib.auth.models import Group, User
from campaign.models import Township, UserProfile
from notify.models import RobotConfig
from notify.outbox import enqueue
town = Township.objects.create(name="东城街道", kind=Township.kind_from_name("东城街道"))
user = User.objects.create_user("dongcheng")
user.groups.add(Group.objects.get_or_create(name="township_staff")[0])
UserProfile.objects.create(user=user, township=town, phone="13800000001")
RobotConfig.objects.create(channel="dingtalk", township=town, webhook=%(url)r, secret=%(secret)r)
for n in range(%(count)d):
    enqueue("finding_new", [user], title="新的督查问题 %%d" %% n, key="bench:%%d" %% n)
"""

STATE = """
import json
from notify.models import Attempt, Delivery
rows = Delivery.objects.filter(channel="dingtalk")
print(json.dumps({
    "states": sorted(set(rows.values_list("state", flat=True))),
    "count": rows.count(),
    "keys": sorted(rows.values_list("idempotency_key", flat=True)),
    "attempts": [
        [a.delivery.idempotency_key, a.number, a.outcome]
        for a in Attempt.objects.select_related("delivery").order_by("delivery_id", "number")
    ],
}))
"""


@pytest.fixture
def outside_db(request, transactional_db):
    """A DATABASE_URL a manage.py process can use, with the notify tables migrated."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{request.getfixturevalue('migrated_sqlite')}"
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def environment(url, **extra):
    return {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "ERROR", **{k: str(v) for k, v in extra.items()}}


def manage(url, *args, **extra):
    done = subprocess.run(  # nosec B603  # fixed arguments, no shell
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment(url, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def state(url):
    return json.loads(manage(url, "shell", "-c", STATE).strip().splitlines()[-1])


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(outside_db, robot_server):
    manage(outside_db, "shell", "-c", SETUP % {"url": robot_server.dingtalk_url, "secret": SECRET, "count": 12})
    robot_server.hold_at = 4  # the 4th request waits: the worker is killed while sending it
    settings = {"NOTIFY_LEASE_SECONDS": 6, "NOTIFY_HTTP_TIMEOUT": 2, "NOTIFY_BATCH": 5}
    first = subprocess.Popen(  # nosec B603  # fixed arguments, no shell
        [sys.executable, "manage.py", "notify_worker", "--poll", "0.2"],
        cwd=ROOT,
        env=environment(outside_db, **settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert robot_server.held.wait(60), "the worker never reached the 4th send"
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    # The endpoint finishes the request it had (the message reached the group), as a real one would.
    robot_server.release.set()
    killed_key = robot_server.requests[3][1]["Idempotency-Key"]
    before = state(outside_db)
    assert before["count"] == 12 and "sending" in before["states"]
    # Restarted at once: the in-flight delivery waits for its lease; the rest go now.
    manage(outside_db, "notify_worker", "--once", **settings)
    assert killed_key not in {
        k for k, n in Counter(r[1]["Idempotency-Key"] for r in robot_server.requests).items() if n > 1
    }
    time.sleep(settings["NOTIFY_LEASE_SECONDS"] + 0.5)
    manage(outside_db, "notify_worker", "--once", **settings)

    after = state(outside_db)
    assert after["states"] == ["sent"]
    # Nothing lost: every delivery reached the endpoint; each key was requested once, except the one in
    # flight at the kill, sent again with the same key after its lease, which the endpoint dropped.
    sent = Counter(headers["Idempotency-Key"] for _, headers, _, _ in robot_server.requests)
    assert set(sent) == set(after["keys"]) == set(robot_server.accepted)
    assert {key: n for key, n in sent.items() if n > 1} == {killed_key: 2}
    assert robot_server.duplicates == [killed_key]
    # Every attempt recorded: the killed one as interrupted, then sent.
    attempts = [(n, outcome) for key, n, outcome in after["attempts"] if key == killed_key]
    assert attempts == [(1, "interrupted"), (2, "sent")]
    # The dead worker's batch also held a delivery it had not started (batch 5: requests 1-3 done, the
    # 4th in flight, one waiting): it waited for the lease too, then went once.
    interrupted = {key for key, _, outcome in after["attempts"] if outcome == "interrupted"}
    assert len(interrupted) == 2 and killed_key in interrupted
    assert all(sent[key] == 1 for key in interrupted - {killed_key})
    assert Counter(outcome for _, _, outcome in after["attempts"]) == {"sent": 12, "interrupted": 2}


def test_three_workers_at_once_send_each_delivery_once(outside_db, robot_server):
    manage(outside_db, "shell", "-c", SETUP % {"url": robot_server.dingtalk_url, "secret": SECRET, "count": 150})
    workers = [
        subprocess.Popen(  # nosec B603  # fixed arguments, no shell
            [sys.executable, "manage.py", "notify_worker", "--once", "--batch", "5"],
            cwd=ROOT,
            env=environment(outside_db),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], [err for _, err in outputs]
    after = state(outside_db)
    assert after["states"] == ["sent"]
    sent = Counter(headers["Idempotency-Key"] for _, headers, _, _ in robot_server.requests)
    assert set(sent) == set(after["keys"]) and set(sent.values()) == {1}
    # Each worker took its share (no one waited for the others to finish).
    shares = [int(out.split("sent=")[1].split()[0]) for out, _ in outputs]
    assert sum(shares) == 150
