"""The worker: claims due deliveries, sends them, records every attempt (docs/notify.md).

Claiming is one short transaction: the due rows are selected ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (several workers take different rows, none waits for another), and on SQLite inside the
write lock that BEGIN IMMEDIATE takes (settings: transaction_mode), so claims there run one at a
time. The UPDATE repeats the conditions, so a row claimed by someone else in between is not taken.
A claimed row carries the worker's claim token and a lease; the send happens outside any
transaction; the result is written only where the row still carries the token.

A worker that dies mid-send leaves its rows ``sending`` with a lease: once the lease has passed they
are claimed again (the open attempt is recorded as interrupted) and sent with the same idempotency
key. A worker never starts a send that could outlast its lease, so no two workers ever send the same
delivery at once.
"""

import datetime
import logging
import os
import socket
import time
import uuid

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import channels
from .channels import SendError
from .models import Attempt, Delivery, Outcome, State

logger = logging.getLogger("siwu.notify")


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def backoff(attempts):
    """Seconds before attempt ``attempts + 1``: base × 2^(attempts − 1), capped."""
    base, cap = settings.NOTIFY_RETRY_BASE_SECONDS, settings.NOTIFY_RETRY_MAX_SECONDS
    return min(cap, base * 2 ** max(0, attempts - 1))


def _claimable(now):
    return Q(state__in=[State.PENDING, State.SENDING], due_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    )


def claim(*, worker, limit):
    """Claim up to ``limit`` due deliveries for ``worker``; returns (token, deliveries)."""
    token = uuid.uuid4().hex
    lease = datetime.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    with transaction.atomic():
        now = timezone.now()
        rows = Delivery.objects.filter(_claimable(now)).order_by("due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        rows = list(rows.values_list("id", "state", "attempts")[:limit])
        if not rows:
            return token, []
        expired = [pk for pk, state, _ in rows if state == State.SENDING]
        if expired:
            # A worker died (or was stopped) while sending these: its open attempt ends here.
            Attempt.objects.filter(delivery_id__in=expired, outcome=Outcome.STARTED).update(
                outcome=Outcome.INTERRUPTED, finished_at=now, error="lease expired: the worker stopped mid-send"
            )
        spent = [pk for pk, _, attempts in rows if attempts >= settings.NOTIFY_MAX_ATTEMPTS]
        if spent:
            Delivery.objects.filter(pk__in=spent).update(
                state=State.DEAD, claim="", lease_until=None, last_error="interrupted after the last attempt"
            )
        ids = [pk for pk, _, attempts in rows if attempts < settings.NOTIFY_MAX_ATTEMPTS]
        Delivery.objects.filter(_claimable(now), pk__in=ids).update(
            state=State.SENDING, claim=token, lease_until=now + lease, attempts=F("attempts") + 1
        )
        claimed = list(
            Delivery.objects.filter(claim=token).select_related("message", "user__profile").order_by("due_at", "id")
        )
        Attempt.objects.bulk_create(
            [Attempt(delivery=d, number=d.attempts, worker=worker, started_at=now) for d in claimed]
        )
    return token, claimed


def _finish(delivery, token, *, outcome, http_status=None, error=""):
    now = timezone.now()
    if outcome == Outcome.SENT:
        change = {"state": State.SENT, "sent_at": now, "last_error": ""}
    elif outcome == "released":
        change = {"state": State.PENDING, "attempts": F("attempts") - 1}
    else:
        dead = delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS or outcome == "permanent"
        change = {
            "state": State.DEAD if dead else State.PENDING,
            "due_at": now + datetime.timedelta(seconds=backoff(delivery.attempts)),
            "last_error": error[:2000],
        }
    with transaction.atomic():
        kept = Delivery.objects.filter(pk=delivery.pk, claim=token).update(claim="", lease_until=None, **change)
        attempt = Attempt.objects.filter(delivery_id=delivery.pk, number=delivery.attempts)
        if outcome == "released":
            attempt.delete()
        else:
            attempt.update(
                outcome=Outcome.SENT if outcome == Outcome.SENT else Outcome.FAILED,
                finished_at=now,
                http_status=http_status,
                error=error[:2000],
            )
    if not kept:
        logger.warning("delivery %s: the lease passed before its result was written", delivery.pk)


def send_one(delivery, token):
    """Send one claimed delivery and record the outcome; returns "sent", "failed", "dead" or "released"."""
    margin = datetime.timedelta(seconds=settings.NOTIFY_HTTP_TIMEOUT + 1)
    if timezone.now() + margin > delivery.lease_until:
        # Not enough lease left for a send to finish in it: hand it back rather than risk a double send.
        _finish(delivery, token, outcome="released")
        return "released"
    try:
        channel = channels.get(delivery.channel)
        status = channel.send(delivery)
    except SendError as exc:
        permanent = exc.permanent or delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS
        _finish(
            delivery,
            token,
            outcome="permanent" if exc.permanent else "failed",
            http_status=exc.http_status,
            error=str(exc),
        )
        logger.warning(
            "delivery %s on %s failed (attempt %s): %s", delivery.pk, delivery.channel, delivery.attempts, exc
        )
        return "dead" if permanent else "failed"
    except Exception as exc:  # a bug in an adapter must not stop the worker; it is recorded and retried
        _finish(delivery, token, outcome="failed", error=f"{type(exc).__name__}: {exc}")
        logger.exception("delivery %s on %s: adapter error", delivery.pk, delivery.channel)
        return "dead" if delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS else "failed"
    _finish(delivery, token, outcome=Outcome.SENT, http_status=status)
    return "sent"


def run_once(*, worker=None, batch=None, stop=None):
    """Send everything due now, batch by batch, until nothing is left to claim; returns the counts."""
    worker = worker or worker_name()
    batch = batch or settings.NOTIFY_BATCH
    counts = {"sent": 0, "failed": 0, "dead": 0, "released": 0}
    while not (stop and stop()):
        token, claimed = claim(worker=worker, limit=batch)
        if not claimed:
            break
        for name in {d.channel for d in claimed}:
            prepare = getattr(channels.registry().get(name), "prepare", None)
            if prepare:
                prepare([d for d in claimed if d.channel == name])
        for delivery in claimed:
            counts[send_one(delivery, token)] += 1
        if counts["released"]:
            break
    return counts


def run_forever(*, worker=None, batch=None, poll=None, stop=None):
    """The worker loop: send what is due, then wait ``poll`` seconds, until ``stop()``."""
    poll = settings.NOTIFY_POLL_SECONDS if poll is None else poll
    while not (stop and stop()):
        close_old_connections()
        try:
            counts = run_once(worker=worker, batch=batch, stop=stop)
        except Exception:  # the database went away for a moment: wait and try again
            logger.exception("notify worker: pass failed")
            connection.close()
            counts = {}
        if not any(counts.values()):
            _sleep(poll, stop)


def _sleep(seconds, stop):
    """Sleep in short steps, so that a stop request is seen within a fraction of a second."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (stop and stop()):
        time.sleep(min(0.2, max(0, end - time.monotonic())))
