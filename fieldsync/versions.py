"""Whether the record a queued form edits changed after the form was shown.

A form the phone may queue carries ``fieldsync_version``: the server's time when it rendered the form
(``{% now "c" %}``, so the form template needs no tag library of this app). When a queued submission
arrives, the record the URL names is looked at again: if it was saved after that time (its
``updated_at``, or a row of its history by anyone), or deleted, the submission is refused as a
conflict rather than applied to a record the user did not see. The forms that may be queued, and the
record each edits, are listed here by URL name (no import of the apps they belong to).
"""

import datetime

from django.apps import apps
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import scope_by_township, township_path

FIELD = "fieldsync_version"
# URL name → the model of the record the form edits, and the URL argument holding its primary key.
TARGETS = {
    "enterprises:rectify": ("enterprises.enterprise", "pk"),
    "inspections:finding_rectified": ("inspections.finding", "pk"),
}
# A save committed while the form page was being rendered may carry a time just before the stamp.
MARGIN = datetime.timedelta(seconds=1)


def shown_at(value):
    """The stamp as an aware datetime, or None when it is not one."""
    try:
        moment = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if timezone.is_naive(moment):
        return None
    return moment


def target_of(path):
    """(model, pk) of the record the form at ``path`` edits, or None for a form that creates one."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    target = TARGETS.get(match.view_name)
    if target is None or target[1] not in match.kwargs:
        return None
    return apps.get_model(target[0]), match.kwargs[target[1]]


def changed_since(model, pk, moment):
    """True when the row was saved after ``moment`` (its updated_at, or a history row of it)."""
    field_names = {field.name for field in model._meta.concrete_fields}
    if "updated_at" in field_names and model._default_manager.filter(pk=pk, updated_at__gt=moment).exists():
        return True
    history = getattr(model, "history", None)
    return history is not None and history.model.objects.filter(id=pk, history_date__gt=moment).exists()


def conflict(user, path, value):
    """None when the record the form at ``path`` edits is unchanged since ``value``; else why, in words.

    A record the user may not see is not looked at: the view answers it (404) as it would any other.
    """
    target = target_of(path)
    if target is None:
        return None
    model, pk = target
    moment = shown_at(value)
    if moment is None:
        return _("表单的版本标记无法识别，请重新打开该页面填写。")
    rows = model._default_manager.all()
    where = township_path(model)
    if where is not None:
        rows = scope_by_township(user, rows, where)
    current = rows.filter(pk=pk).first()
    if current is None:
        return None
    if getattr(current, "deleted_at", None) is not None:
        return _("该记录已被删除，离线保存的内容未提交。")
    if changed_since(model, pk, moment - MARGIN):
        return _("在您离线期间，该记录已被他人修改；离线保存的内容未提交，请打开核对后重新提交。")
    return None
