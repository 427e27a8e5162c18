"""Reading the audit trail as people read it, and restoring an earlier version of an object.

django-simple-history keeps a full copy of a row for every create (+), update (~) and delete (-),
with the user, the time, the client address and a change reason (core/history.py). This
module turns those copies into entries a page can show — who, when, from where, why, and which
fields changed from what to what, under the fields' own (Chinese) labels — and restores a version
as a new save with the old values, which is itself recorded with the reason "恢复到…".

Owner names and phones in the trail are masked like everywhere else (core.masking).
"""

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.masking import mask_name, mask_phone

# Never shown as a change: the key, the bookkeeping stamps, the concurrency counter.
HIDDEN_FIELDS = {"id", "created_at", "updated_at", "uploaded_at", "version", "date_joined"}

PERSONAL_FIELDS = {
    "enterprises.enterprise": {"owner": mask_name, "phone": mask_phone, "watcher_phone": mask_phone},
    "campaign.userprofile": {"phone": mask_phone},
}

# Rows whose consistency with other rows is kept by a service: restoring an old copy of one alone
# would break the unit's periods. They are withdrawn and reinstated on the unit page instead.
NOT_RESTORABLE = {
    "enterprises.rectification": _("整治记录请在单位页面撤回或恢复"),
    "enterprises.relapse": _("死灰复燃记录请在单位页面撤回或恢复"),
    "enterprises.rectificationphoto": _("整治照片是整治记录的证据，不能单独恢复"),
}
# Fields a restore leaves as they are now: who created the row, whom a profile belongs to, and a
# unit's status (it follows its rectifications, and changes only through enterprises.services).
KEPT_FIELDS = {"created_by", "uploaded_by", "user"}
KEPT_FIELDS_OF = {"enterprises.enterprise": {"status"}}

ACTION_LABELS = {
    "created": _("新建"),
    # The earliest version history holds of an object whose creation it does not hold (made before
    # its history was kept, written by a bulk load, or pruned): its values, not changes from nothing.
    "recorded": _("最早记录"),
    "changed": _("修改"),
    "deleted": _("删除"),
    "soft_deleted": _("删除"),
    "withdrawn": _("撤回"),
    "undeleted": _("恢复"),
}
# Soft-deleted rows that are events of a unit are "withdrawn" rather than "deleted".
WITHDRAWN_MODELS = {"enterprises.rectification", "enterprises.relapse"}


# --- Which models are tracked --------------------------------------------------------------------


def model_key(model):
    return f"{model._meta.app_label}.{model._meta.model_name}"


def tracked_models():
    """Every model with a history (django-simple-history), in app order."""
    return [m for m in apps.get_models() if hasattr(m._meta, "simple_history_manager_attribute")]


def model_for_key(key):
    return next((m for m in tracked_models() if model_key(m) == key), None)


@functools.cache
def history_model(model):
    """The historical model of ``model`` (read once: simple_history builds a manager per access)."""
    return getattr(model, model._meta.simple_history_manager_attribute).model


def history_of(model, pk):
    """Every history row of one object, oldest first, with the acting user."""
    return (
        history_model(model)
        .objects.filter(**{model._meta.pk.attname: pk})
        .select_related("history_user")
        .order_by("history_id")
    )


# --- Describing history rows ----------------------------------------------------------------------


@dataclass
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass
class Entry:
    record: object
    model_key: str
    model_label: str
    object_id: object
    object_label: str
    action: str
    changes: list = field(default_factory=list)
    restore_url: str = ""

    @property
    def action_label(self):
        return ACTION_LABELS[self.action]

    @property
    def lists_values(self):
        """A creation (or the earliest version kept): its values are shown, not "old → new"."""
        return self.action in FIRST_ACTIONS

    @property
    def user(self):
        return self.record.history_user

    @property
    def date(self):
        return self.record.history_date

    @property
    def address(self):
        return self.record.ip_address

    @property
    def reason(self):
        return self.record.history_change_reason or ""


def _shown_fields(model, hide):
    return [f for f in history_model(model).tracked_fields if f.name not in HIDDEN_FIELDS and f.name not in hide]


def _value(record, f):
    return getattr(record, f.attname)


# Entries that list an object's values rather than changes to them.
FIRST_ACTIONS = {"created", "recorded"}


def _action(key, record, previous, fields):
    if record.history_type == "+":
        return "created"
    if record.history_type == "-":
        return "deleted"
    if previous is None:
        return "recorded"
    if previous is not None and any(f.name == "deleted_at" for f in fields):
        was, now = previous.deleted_at, record.deleted_at
        if was is None and now is not None:
            return "withdrawn" if key in WITHDRAWN_MODELS else "soft_deleted"
        if was is not None and now is None:
            return "undeleted"
    return "changed"


class _Lookups:
    """Related objects named in the changes, fetched once per related model."""

    def __init__(self, known):
        self.objects = {(type(obj), obj.pk): obj for obj in known if obj is not None}
        self.wanted = defaultdict(set)

    def want(self, f, value):
        if value is not None and (f.related_model, value) not in self.objects:
            self.wanted[f.related_model].add(value)

    def fetch(self):
        for model, ids in self.wanted.items():
            # select_related() with no names follows the non-null foreign keys that __str__ uses.
            for obj in model._base_manager.select_related().filter(pk__in=ids):
                self.objects[(model, obj.pk)] = obj
        self.wanted.clear()

    def name(self, model, pk):
        obj = self.objects.get((model, pk))
        if obj is None:
            return f"#{pk}"
        if hasattr(obj, "get_full_name"):
            return obj.get_full_name() or obj.get_username()
        return str(obj)


def attach_users(pairs):
    """Read the users that ``pairs`` of (object, foreign key name) point at in one query, and put
    each on its object, as ``select_related`` would have, without joining every query to the users.

    A key whose user is gone is left as it was (read lazily, as before).
    """
    pairs = list(pairs)
    ids = {getattr(obj, f"{name}_id") for obj, name in pairs} - {None}
    if not ids:
        return
    users = get_user_model()._base_manager.in_bulk(ids)
    for obj, name in pairs:
        user = users.get(getattr(obj, f"{name}_id"))
        if user is not None:
            setattr(obj, name, user)


def _display(f, value, lookups, mask=None):
    if value is None or value == "":
        return "—"
    if mask is not None:
        return mask(value)
    if f.is_relation:
        return lookups.name(f.related_model, value)
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.BooleanField):
        return gettext("是") if value else gettext("否")
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _fetch_predecessors(groups):
    """The row before the first one of each group, when the group does not start at creation."""
    missing = defaultdict(dict)
    for (hmodel, object_id), rows in groups.items():
        if rows[0].history_type != "+":
            missing[hmodel][object_id] = rows[0].history_id
    found = {}
    for hmodel, firsts in missing.items():
        pk_name = hmodel.instance_type._meta.pk.attname
        older = hmodel.objects.filter(**{f"{pk_name}__in": list(firsts)}, history_id__lt=max(firsts.values()))
        for row in older.order_by("history_id"):
            object_id = getattr(row, pk_name)
            if row.history_id < firsts[object_id]:
                found[(hmodel, object_id)] = row  # the last one below the first shown wins
    return found


def describe(records, *, full_personal_data=False, known=(), hide=(), newest_first=True):
    """Entries for history ``records`` (of any tracked models), each with its field changes.

    A row's changes are against the previous row of the same object: taken from ``records`` when
    they are there, else fetched (one query per model). ``known`` are objects already loaded (the
    unit, its township, users…) so that naming them in a change costs no query; ``hide`` names
    fields not to show. Owner names and phones are masked unless ``full_personal_data``.
    """
    records = sorted(records, key=lambda r: (r.history_date, r.history_id))
    groups = defaultdict(list)
    for record in records:
        groups[(type(record), getattr(record, type(record).instance_type._meta.pk.attname))].append(record)
    for rows in groups.values():
        rows.sort(key=lambda r: r.history_id)
    before = _fetch_predecessors(groups)
    lookups = _Lookups([*known, *(r.history_user for r in records)])

    pending = []
    for (hmodel, object_id), rows in groups.items():
        model = hmodel.instance_type
        key = model_key(model)
        fields = _shown_fields(model, hide)
        masks = {} if full_personal_data else PERSONAL_FIELDS.get(key, {})
        previous = before.get((hmodel, object_id))
        for record in rows:
            if record.history_type == "-":
                changed = []
            elif previous is None or record.history_type == "+":
                changed = [(f, None, _value(record, f)) for f in fields if _value(record, f) not in (None, "", False)]
            else:
                changed = [(f, _value(previous, f), _value(record, f)) for f in fields]
                changed = [(f, old, new) for f, old, new in changed if old != new]
            for f, old, new in changed:
                if f.is_relation:
                    lookups.want(f, old)
                    lookups.want(f, new)
            name = getattr(record, "name", None) or getattr(record, "username", None)
            entry = Entry(
                record=record,
                model_key=key,
                model_label=str(model._meta.verbose_name),
                object_id=object_id,
                object_label=str(name) if name else f"{model._meta.verbose_name} #{object_id}",
                action=_action(key, record, previous, fields),
            )
            pending.append((entry, changed, masks))
            previous = record
    lookups.fetch()
    entries = []
    for entry, changed, masks in pending:
        entry.changes = [
            Change(
                field=f.name,
                label=str(f.verbose_name),
                old="" if entry.action in FIRST_ACTIONS else _display(f, old, lookups, masks.get(f.name)),
                new=_display(f, new, lookups, masks.get(f.name)),
            )
            for f, old, new in changed
        ]
        entries.append(entry)
    entries.sort(key=lambda e: (e.record.history_date, e.record.history_id), reverse=newest_first)
    return entries


def recent_changes(model=None, *, limit=50):
    """The latest ``limit`` history rows of ``model`` (or of every tracked model), newest first."""
    models_ = [model] if model is not None else tracked_models()
    rows = []
    for m in models_:
        rows += list(history_model(m).objects.select_related("history_user").order_by("-history_id")[:limit])
    rows.sort(key=lambda r: (r.history_date, r.history_id), reverse=True)
    return rows[:limit]


# --- Restoring a version ---------------------------------------------------------------------------


def restore_refusal(model):
    """Why versions of ``model`` cannot be restored here, or None when they can."""
    return NOT_RESTORABLE.get(model_key(model))


def _restored_fields(model):
    kept = KEPT_FIELDS | KEPT_FIELDS_OF.get(model_key(model), set())
    auto = (models.DateTimeField, models.DateField)
    return [
        f
        for f in history_model(model).tracked_fields
        if f.concrete
        and f.editable
        and not f.primary_key
        and f.name not in kept
        and not (isinstance(f, auto) and (f.auto_now or f.auto_now_add))
    ]


def restore_reason(record):
    # Stored as data (the same whatever the admin's language), within the 100 characters kept.
    return f"恢复到 {timezone.localtime(record.history_date):%Y-%m-%d %H:%M:%S} 的版本（#{record.history_id}）"


def _check_unit(unit):
    """What the unit form checks and a constraint cannot: the village's township, the first rectification."""
    if unit.village_id and unit.village.township_id != unit.township_id:
        raise ValidationError(gettext("该版本的村(社区)不属于其乡镇(街道)，无法恢复"))
    first = (
        unit.rectifications.filter(deleted_at__isnull=True)
        .order_by("rectified_on")
        .values_list("rectified_on", flat=True)
        .first()
    )
    if first and unit.identified_on > first:
        raise ValidationError(
            gettext("该版本的排查日期晚于该单位的整治完成日期（%(day)s），无法恢复") % {"day": first.isoformat()}
        )


@transaction.atomic
def restore_version(record, *, user):
    """Save the object again with the values of history row ``record``; returns the object.

    A new save, not a rewrite of history: the restore is itself a history row, by ``user``, with
    the reason "恢复到 … 的版本". Raises ValidationError (nothing written) when the old values no
    longer fit (a constraint, a unit's rectifications) or the model is not restored here.
    """
    model = record.instance_type
    refusal = restore_refusal(model)
    if refusal:
        raise ValidationError(str(refusal))
    pk = getattr(record, model._meta.pk.attname)
    current = model._base_manager.select_for_update().filter(pk=pk).order_by().first()
    if current is None:
        if history_model(model)._history_excluded_fields:
            raise ValidationError(gettext("该对象已被彻底删除，且历史记录不完整，无法恢复"))
        obj = record.instance
        obj._state.adding = True
    else:
        obj = current
        for f in _restored_fields(model):
            setattr(obj, f.attname, getattr(record, f.attname))
        if any(f.name == "version" for f in model._meta.concrete_fields):
            obj.version = current.version + 1
    if model_key(model) == "enterprises.enterprise":
        _check_unit(obj)
    obj.full_clean()
    obj._history_user = user
    obj._change_reason = restore_reason(record)
    try:
        with transaction.atomic():
            obj.save(force_insert=current is None)
    except IntegrityError as exc:
        raise ValidationError(gettext("该版本与现有数据冲突，无法恢复")) from exc
    return obj


def changes_since_version(model, pk, version, **kwargs):
    """Entries for the saves of a versioned object after ``version`` (who changed what, and when)."""
    rows = list(history_of(model, pk).filter(version__gte=version))
    baseline = [r for r in rows if r.version == version][-1:]
    later = [r for r in rows if r.version > version]
    return [e for e in describe(baseline + later, **kwargs) if e.record.version > version]
