"""The daily reminders: approaching and passed deadlines → the township's staff; look-backs falling
due → the inspectors. Idempotent: each message has a key (notify/messages.py) and is enqueued once,
however often this runs; keys already written are read in one query per thousand candidates."""

from collections import defaultdict

from django.conf import settings
from django.utils import timezone

from inspections.models import Finding, FindingState, Lookback, LookbackResult

from .. import messages, recipients
from ..models import Message
from . import rules


def _known(keys):
    keys, known = list(keys), set()
    for start in range(0, len(keys), 1000):
        known |= set(Message.objects.filter(key__in=keys[start : start + 1000]).values_list("key", flat=True))
    return known


def run(*, today=None, now=None):
    """Enqueue today's reminders; returns how many messages of each kind were written."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    due_days = settings.NOTIFY_DUE_DAYS
    counts = {"finding_due": 0, "finding_overdue": 0, "lookback_due": 0}

    findings = (
        Finding.objects.alive()
        .filter(state=FindingState.OPEN, deadline__lte=rules.earliest_deadline_reminded(today, due_days))
        .select_related("enterprise", "township")
        .order_by("township_id", "deadline", "id")
    )
    candidates = []
    for finding in findings:
        found = rules.finding_reminder(state=finding.state, deadline=finding.deadline, today=today, due_days=due_days)
        if found is None:
            continue
        kind, days_left = found
        key_kind = "finding_overdue" if kind == rules.OVERDUE else "finding_due"
        candidates.append((f"{key_kind}:{finding.pk}:{finding.deadline.isoformat()}", key_kind, finding, days_left))
    known = _known(key for key, *_ in candidates)
    staff = {}
    for key, key_kind, finding, days_left in candidates:
        if key in known:
            continue
        if finding.township_id not in staff:
            staff[finding.township_id] = list(recipients.township_staff(finding.township_id))
        to = staff[finding.township_id]
        if key_kind == "finding_overdue":
            written = messages.finding_overdue(finding, now=now, to=to)
        else:
            written = messages.finding_due(finding, days_left, now=now, to=to)
        counts[key_kind] += written is not None

    due = defaultdict(list)
    lookbacks = (
        Lookback.objects.filter(result=LookbackResult.PENDING, due_on=today)
        .select_related("enterprise", "township")
        .order_by("township_id", "id")
    )
    for lookback in lookbacks:
        due[lookback.township].append(lookback)
    if due:
        inspectors = list(recipients.inspectors())
        for township, rows in due.items():
            counts["lookback_due"] += messages.lookbacks_due(township, rows, today, now=now, to=inspectors) is not None
    return counts
