"""The product's scheduler: the daily jobs at their times, and the outbox worker between them.

    python manage.py scheduler [--no-worker] [--poll 5]

Daily (settings.SCHEDULE, local time): look-backs falling due (schedule_lookbacks), expired sessions
(clearsessions), old audit rows (clean_old_history), the reminders (notify_reminders). A deployment
runs it as a service (deploy/systemd/siwu-scheduler.service); `make run` starts it beside runserver.
SIGTERM/SIGINT stop it after the step in hand. --no-worker leaves sending to separate notify_worker
processes.
"""

import signal

from django.core.management.base import BaseCommand

from notify import scheduler, worker


class Command(BaseCommand):
    help = "Run the daily jobs at their times and send the outbox (the product's scheduler)."

    def add_arguments(self, parser):
        parser.add_argument("--no-worker", action="store_true", help="do not send the outbox (separate workers do)")
        parser.add_argument("--poll", type=float, default=None, help="seconds between turns")

    def handle(self, *args, no_worker, poll, **options):
        stopping = []

        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            f"scheduler {worker.worker_name()} started: "
            + ", ".join(f"{name} {at:%H:%M}" for name, at, _ in scheduler.jobs())
        )
        self.stdout.flush()
        scheduler.run_forever(send=not no_worker, poll=poll, stop=lambda: bool(stopping), log=self.stdout.write)
        self.stdout.write("scheduler stopped")
