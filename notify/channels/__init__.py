"""The channels a message goes out on, one adapter each behind one small interface.

A channel is a class with a ``name``, a ``label`` and ``send(delivery)``; the registry builds one
instance of each class that ``settings.NOTIFY_CHANNELS`` names by dotted path, so a city adds its own
channel (an SMS gateway, a provincial platform) with a line in its settings and no change here:

    NOTIFY_CHANNELS = {**DEFAULT, "sms": "cityext.channels.SmsChannel"}

``send`` returns the HTTP status (or None) when the message was accepted and raises ``SendError`` when
it was not; it is given the delivery with its message, user and the user's profile loaded, and must
send ``delivery.idempotency_key`` wherever the endpoint accepts one. It never runs inside a writer's
transaction: only the worker (notify/worker.py) calls it.
"""

import functools

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

DEFAULT_CHANNELS = {
    "inapp": "notify.channels.inapp.InAppChannel",
    "email": "notify.channels.email.EmailChannel",
    "dingtalk": "notify.channels.robots.DingTalkChannel",
    "wecom": "notify.channels.robots.WeComChannel",
}


class SendError(Exception):
    """A send that did not go through. ``permanent``: retrying cannot help (bad address, bad token)."""

    def __init__(self, text, *, http_status=None, permanent=False):
        super().__init__(text)
        self.http_status = http_status
        self.permanent = permanent


class Channel:
    """The interface. Subclasses set ``name`` and ``label`` and implement ``send``."""

    name = ""
    label = ""
    # Delivered when enqueued (no network): the in-product inbox. Such a channel ignores quiet hours.
    immediate = False
    # Receives each event unless the user turned it off.
    default_enabled = True

    def reaches(self, user, context):
        """Can this channel reach ``user`` at all (an e-mail address, a robot for their township)?

        ``context`` is an ``outbox.Audience`` holding what enqueue read for all recipients at once
        (profiles, robots), so that this check costs no query per recipient.
        """
        return True

    def send(self, delivery):
        raise NotImplementedError


@functools.cache
def registry():
    """name → channel instance, in the order of the setting."""
    paths = getattr(settings, "NOTIFY_CHANNELS", DEFAULT_CHANNELS)
    channels = {}
    for name, path in paths.items():
        channel = import_string(path)()
        channel.name = name
        channels[name] = channel
    return channels


def get(name):
    try:
        return registry()[name]
    except KeyError:
        raise SendError(f"channel {name!r} is not configured (NOTIFY_CHANNELS)", permanent=True) from None


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    if setting == "NOTIFY_CHANNELS":
        registry.cache_clear()
