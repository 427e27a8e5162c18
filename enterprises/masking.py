"""Personal data of a unit's owner: masked wherever it is listed, shown in full only when allowed.

Who may see the full values is core.access.can_see_personal_data (city admins, and staff of
the unit's own township). Even they see masked values in lists and on the unit page until they
ask for the full ones; that request is recorded (``record_personal_data_view``) in the admin log
(django.contrib.admin LogEntry, a persistent and queryable table) and on the "siwu.personal_data"
logger.
"""

import logging

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from core.masking import mask_name, mask_phone

from .models import Enterprise

logger = logging.getLogger("siwu.personal_data")

# Stored text of the log entry (a record, not UI text: it stays the same whatever the language).
PERSONAL_DATA_VIEWED = "查看完整联系方式"
PERSONAL_DATA_EXPORTED = "导出完整联系方式"


def shown_owner(unit, full=False):
    return unit.owner if full else mask_name(unit.owner)


def shown_phone(unit, full=False):
    return unit.phone if full else mask_phone(unit.phone)


def _log_entry(user, message, *, unit=None, object_repr=""):
    LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(Enterprise),
        object_id=str(unit.pk) if unit is not None else None,
        object_repr=(str(unit) if unit is not None else object_repr)[:200],
        # The admin log knows added/changed/deleted only; a view is filed as CHANGE and told apart
        # by its message, which is what an auditor filters on.
        action_flag=CHANGE,
        change_message=message,
    )


def record_personal_data_view(request, unit, *, via="detail"):
    """Record that ``request.user`` was shown the full owner name and phone of ``unit``."""
    _log_entry(request.user, PERSONAL_DATA_VIEWED, unit=unit)
    logger.info(
        "personal data of unit %s shown to user %s (%s) via %s from %s",
        unit.pk,
        request.user.pk,
        request.user.get_username(),
        via,
        request.META.get("REMOTE_ADDR"),
    )


def record_personal_data_export(request, *, count, query):
    """Record an export that carried full owner names and phones for ``count`` units."""
    _log_entry(request.user, f"{PERSONAL_DATA_EXPORTED}：{count}", object_repr=query or "-")
    logger.info(
        "personal data of %s units exported by user %s (%s), filter %r, from %s",
        count,
        request.user.pk,
        request.user.get_username(),
        query,
        request.META.get("REMOTE_ADDR"),
    )
