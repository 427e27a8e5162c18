"""The scheduler that is part of the product: one process runs the daily jobs at their times and the
outbox worker between them (``manage.py scheduler``; docs/notify.md says why a loop and no library).

Each job of ``settings.SCHEDULE`` runs once a day, at or after its local time: the first scheduler
to write the day's ``JobRun`` row runs it, so several servers may each run a scheduler; a job whose
time passed while none ran (a restart, a server that was off) runs when one starts. A job that fails
is recorded with its error and tried again the next day; the others run all the same.
"""

import datetime
import io
import logging

from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from . import worker
from .models import JobRun

logger = logging.getLogger("siwu.notify")


def jobs():
    """(name, time, command arguments) of each daily job, from settings.SCHEDULE."""
    return [
        (name, datetime.time.fromisoformat(at), [str(a) for a in command]) for name, at, command in settings.SCHEDULE
    ]


def due_jobs(now):
    """The jobs whose time today has come and that have not run today (by any scheduler)."""
    local = timezone.localtime(now)
    done = set(JobRun.objects.filter(day=local.date()).values_list("job", flat=True))
    return [job for job in jobs() if job[1] <= local.time() and job[0] not in done]


def run_job(name, command, *, day, who):
    """Claim the day for ``name`` and run it; returns the JobRun, or None when another scheduler has it."""
    try:
        with transaction.atomic():
            run = JobRun.objects.create(job=name, day=day, worker=who, started_at=timezone.now())
    except IntegrityError:
        return None
    out = io.StringIO()
    try:
        call_command(*command, stdout=out, stderr=out)
    except Exception as exc:  # one job's failure must not stop the scheduler or the other jobs
        run.ok, run.output = False, f"{out.getvalue()}{type(exc).__name__}: {exc}"
        logger.error("scheduler: %s failed: %s", name, exc)
    else:
        run.ok, run.output = True, out.getvalue()
    run.finished_at = timezone.now()
    run.save(update_fields=["ok", "output", "finished_at"])
    return run


def tick(*, now=None, send=True, who=None):
    """One turn of the loop: the due jobs, then what the outbox has due. Returns the jobs run."""
    now = now or timezone.now()
    who = who or worker.worker_name()
    ran = []
    for name, _at, command in due_jobs(now):
        run = run_job(name, command, day=timezone.localtime(now).date(), who=who)
        if run is not None:
            ran.append(run)
    if send:
        worker.run_once(worker=who)
    return ran


def run_forever(*, send=True, poll=None, stop=None, log=None):
    poll = settings.NOTIFY_POLL_SECONDS if poll is None else poll
    while not (stop and stop()):
        close_old_connections()
        try:
            for run in tick(send=send):
                if log:
                    log(f"{run.job}: {'ok' if run.ok else 'failed'}")
        except Exception:  # the database went away for a moment: wait and try again
            logger.exception("scheduler: turn failed")
        worker._sleep(poll, stop)
