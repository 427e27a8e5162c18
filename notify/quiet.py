"""Quiet hours, a pure rule: when does a message enqueued at ``now`` leave?"""

import datetime

from django.utils import timezone


def in_quiet(local_time, start, end):
    """Is ``local_time`` inside [start, end)? A window with start > end spans midnight (22:00-07:00)."""
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def release_time(now, start, end):
    """``now`` when it is outside the quiet window, else the window's end (local time, as an aware datetime)."""
    if start is None or end is None or start == end:
        return now
    local = timezone.localtime(now)
    if not in_quiet(local.time(), start, end):
        return now
    day = local.date()
    if start > end and local.time() >= start:  # before midnight: the window ends tomorrow
        day += datetime.timedelta(days=1)
    return datetime.datetime.combine(day, end, tzinfo=local.tzinfo)
