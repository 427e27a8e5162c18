"""Writing to the outbox: ``enqueue`` inside the writer's transaction; nothing here touches the network.

    with transaction.atomic():
        finding = ...save...
        enqueue(Event.FINDING_NEW, township_staff(finding.township_id), title=..., link=..., key=...)

The message and its deliveries commit or roll back with the event. In-product deliveries are
delivered on the spot (the bell counts them at once); the others wait for the worker, and for the end
of the recipient's quiet hours.
"""

import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import channels
from .models import Delivery, Message, Preference, QuietHours, RobotConfig, State
from .quiet import release_time


@dataclass
class Audience:
    """What enqueue reads once for all recipients: profiles' townships, robots, preferences, quiet hours."""

    townships: dict = field(default_factory=dict)  # user id → township id (None: not township staff)
    robots: set = field(default_factory=set)  # (channel, township id or None)
    preferences: dict = field(default_factory=dict)  # (user id, channel) → enabled
    quiet: dict = field(default_factory=dict)  # user id → (start, end)

    def robot_for(self, channel, user):
        township_id = self.townships.get(user.pk)
        for robot in ((channel, township_id), (channel, None)):
            if robot in self.robots:
                return robot
        return None


def audience(event, users):
    from campaign.models import UserProfile

    ids = [user.pk for user in users]
    return Audience(
        townships=dict(UserProfile.objects.filter(user_id__in=ids).values_list("user_id", "township_id")),
        robots=set(RobotConfig.objects.filter(enabled=True).values_list("channel", "township_id")),
        preferences={
            (user_id, channel): enabled
            for user_id, channel, enabled in Preference.objects.filter(user_id__in=ids, event=event).values_list(
                "user_id", "channel", "enabled"
            )
        },
        quiet={
            user_id: (start, end)
            for user_id, start, end in QuietHours.objects.filter(user_id__in=ids).values_list("user_id", "start", "end")
        },
    )


def enqueue(event, recipients, *, title, body="", link="", township=None, key=None, now=None):
    """Write a message for ``recipients`` (users) and its deliveries; returns the Message, or None
    when ``key`` was enqueued before (a reminder computed again) or nobody is to be told.

    Call it inside the writer's transaction: it runs in a savepoint of it and reads the recipients'
    settings in four queries, whatever their number.
    """
    now = now or timezone.now()
    users = list({user.pk: user for user in recipients if user.is_active}.values())
    with transaction.atomic():
        if key is not None and Message.objects.filter(key=key).exists():
            return None
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    event=event, key=key, title=title[:200], body=body, link=link, township=township
                )
        except IntegrityError:  # the same key written meanwhile by another process
            return None
        if not users:
            return message
        context = audience(event, users)
        rows = []
        for user in users:
            quiet = context.quiet.get(user.pk, (None, None))
            for name, channel in channels.registry().items():
                if not context.preferences.get((user.pk, name), channel.default_enabled):
                    continue
                if not channel.reaches(user, context):
                    continue
                immediate = channel.immediate
                rows.append(
                    Delivery(
                        message=message,
                        user=user,
                        channel=name,
                        idempotency_key=uuid.uuid4().hex,
                        state=State.SENT if immediate else State.PENDING,
                        sent_at=now if immediate else None,
                        due_at=now if immediate else release_time(now, *quiet),
                    )
                )
        Delivery.objects.bulk_create(rows)
    return message
