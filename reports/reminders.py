"""The office's daily reminders that read the reports app's records: interview commitments falling
due or lapsed, and on the notice weekday the week's notice draft for the office to review.

Run by ``manage.py report_reminders`` (the scheduler's ``report_reminders`` job, 07:30). They sit
here, above the outbox, because commitments and notices are this app's; the texts and the keys
that make one event one message are notify/messages.py's, like the findings' reminders
(notify/reminders). Idempotent: running again the same day enqueues nothing.
"""

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from campaign.models import Campaign
from notify import messages
from notify.models import Message
from notify.reminders import rules

from .models import Commitment, Notice
from .notices import content as notice
from .progress import progress_report


def commitments(today, *, now=None):
    """Commitments not met: approaching (within NOTIFY_DUE_DAYS, the day included) → the township's
    staff; lapsed (the day after) → the staff and the city's admins. Once per commitment and day."""
    due_days = settings.NOTIFY_DUE_DAYS
    found = {"commitment_due": 0, "commitment_overdue": 0}
    candidates = []
    rows = (
        Commitment.objects.filter(met_on__isnull=True, due_on__lte=rules.earliest_deadline_reminded(today, due_days))
        .select_related("interview__township")
        .order_by("due_on", "id")
    )
    for commitment in rows:
        reminder = rules.finding_reminder(state="open", deadline=commitment.due_on, today=today, due_days=due_days)
        if reminder is None:
            continue
        kind = "commitment_overdue" if reminder[0] == rules.OVERDUE else "commitment_due"
        candidates.append((f"{kind}:{commitment.pk}:{commitment.due_on.isoformat()}", kind, commitment, reminder[1]))
    known = set(Message.objects.filter(key__in=[c[0] for c in candidates]).values_list("key", flat=True))
    for key, kind, commitment, days_left in candidates:
        if key in known:
            continue
        township = commitment.interview.township
        if kind == "commitment_overdue":
            written = messages.commitment_overdue(commitment, township=township, now=now)
        else:
            written = messages.commitment_due(commitment, days_left, township=township, now=now)
        found[kind] += written is not None
    return found


def notice_draft(today, *, now=None, force=False):
    """On the notice weekday (NOTICE_DRAFT_WEEKDAY, Monday), the draft of the notice for the day
    before, for each campaign that day lies in and that has no notice for it yet: a message to the
    city's admins linking to the draft, with the townships in red. ``force``: on any day.
    Returns how many messages were written."""
    if not force and today.weekday() != settings.NOTICE_DRAFT_WEEKDAY:
        return 0
    day = today - datetime.timedelta(days=1)
    written = 0
    for campaign in Campaign.objects.filter(start__lte=day, end__gte=day).order_by("start", "slug"):
        if Notice.objects.filter(campaign=campaign, as_of=day).exists():
            continue
        if notice.issue_refusal(campaign, day, today, issued=None) is not None:
            continue
        report = progress_report(campaign, day)
        lagging = [row.name for row in report.townships if row.colour == "red"]
        link = reverse("notices:preview") + "?" + urlencode({"campaign": campaign.slug, "as_of": day.isoformat()})
        message = messages.notice_draft(campaign, notice.next_serial(campaign), day, link, lagging=lagging, now=now)
        written += message is not None
    return written


def run(*, today=None, now=None, force_draft=False):
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    found = commitments(today, now=now)
    found["notice_draft"] = notice_draft(today, now=now, force=force_draft)
    return found
