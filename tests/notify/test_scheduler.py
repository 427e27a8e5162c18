"""The scheduler: each daily job once a day at or after its time, across schedulers; a failure
recorded without stopping the others; the outbox sent between jobs; the process stops on SIGTERM."""

import datetime
import signal
import subprocess  # nosec B404  # runs manage.py with fixed arguments
import sys
import time
from zoneinfo import ZoneInfo

from notify import scheduler
from notify.models import Delivery, JobRun, State
from notify.outbox import enqueue
from tests.conftest import ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime.date(2018, 5, 10)


def at(hour, minute=0, day=DAY):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def ran(runs):
    return [(run.job, run.ok) for run in runs]


def test_each_job_runs_once_a_day_at_or_after_its_time(db):
    assert ran(scheduler.tick(now=at(1), send=False)) == []
    assert ran(scheduler.tick(now=at(7), send=False)) == [("lookbacks", True), ("sessions", True), ("history", True)]
    assert ran(scheduler.tick(now=at(7, 30), send=False)) == [("office", True)]
    assert ran(scheduler.tick(now=at(7, 45), send=False)) == []
    assert ran(scheduler.tick(now=at(8, 5), send=False)) == [("reminders", True)]
    assert ran(scheduler.tick(now=at(23), send=False)) == []
    assert JobRun.objects.filter(day=DAY).count() == 5
    # The next day, again; a scheduler started late catches up at once.
    next_day = DAY + datetime.timedelta(days=1)
    assert len(scheduler.tick(now=at(12, day=next_day), send=False)) == 5
    assert "finding_due=0" in JobRun.objects.get(job="reminders", day=next_day).output
    assert "commitment_overdue=0" in JobRun.objects.get(job="office", day=next_day).output


def test_a_second_scheduler_does_not_run_a_job_again(db):
    first = scheduler.run_job("reminders", ["notify_reminders"], day=DAY, who="a")
    assert first.ok and first.worker == "a"
    assert scheduler.run_job("reminders", ["notify_reminders"], day=DAY, who="b") is None


def test_a_failing_job_is_recorded_and_the_others_run(db, settings):
    settings.SCHEDULE = [
        ("broken", "00:00", ["no_such_command"]),
        ("reminders", "00:00", ["notify_reminders"]),
    ]
    assert ran(scheduler.tick(now=at(9), send=False)) == [("broken", False), ("reminders", True)]
    assert "Unknown command" in JobRun.objects.get(job="broken").output


def test_a_turn_sends_what_the_outbox_has_due(db, settings, staff):
    settings.SCHEDULE = []
    enqueue("finding_new", [staff], title="新的督查问题")
    assert Delivery.objects.get(channel="email").state == State.PENDING
    scheduler.tick(now=at(9))
    assert Delivery.objects.get(channel="email").state == State.SENT


def test_the_scheduler_process_runs_the_jobs_and_stops_on_sigterm(migrated_sqlite):
    import os

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{migrated_sqlite}",
        "LOG_LEVEL": "ERROR",
        "SCHEDULE_LOOKBACKS": "00:00",
        "SCHEDULE_SESSIONS": "00:00",
        "SCHEDULE_HISTORY": "00:00",
        "SCHEDULE_REMINDERS": "00:00",
    }
    process = subprocess.Popen(  # nosec B603  # fixed arguments, no shell
        [sys.executable, "manage.py", "scheduler", "--poll", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline and "reminders: ok" not in lines:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        assert "reminders: ok" in lines, lines
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "scheduler stopped" in out
    assert {"lookbacks: ok", "sessions: ok", "history: ok"} <= set(lines)
