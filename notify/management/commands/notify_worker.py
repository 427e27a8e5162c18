"""Send the outbox's due deliveries (docs/notify.md).

    python manage.py notify_worker [--once] [--batch 20] [--poll 5]

Without --once it runs until stopped (SIGTERM/SIGINT finish the send in hand, then exit); with
--once it sends what is due now and exits (tests, cron). Several may run at once, on one server or
many: each claims different deliveries.
"""

import signal

from django.core.management.base import BaseCommand

from notify import worker


class Command(BaseCommand):
    help = "Send the due reminders of the outbox (in-product, e-mail, group robots)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
        parser.add_argument("--batch", type=int, default=None, help="deliveries claimed at once")
        parser.add_argument("--poll", type=float, default=None, help="seconds between passes when idle")

    def handle(self, *args, once, batch, poll, **options):
        if once:
            counts = worker.run_once(batch=batch)
            self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))
            return
        stopping = []

        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"notify worker {worker.worker_name()} started")
        worker.run_forever(batch=batch, poll=poll, stop=lambda: bool(stopping))
        self.stdout.write("notify worker stopped")
