"""The life of an ``ImportBatch``: a checked upload kept, then confirmed (applied) or failed.

A file is checked when it is uploaded (``create_batch``). A file with errors is refused with every
error (row and column) and nothing is kept: not the file, not a record. A clean file is stored under
MEDIA_ROOT/imports/ with a generated name and an ``ImportBatch`` (status 待确认) records who, when,
its checksum, what it would change and the checked plan itself (signed); the preview is drawn from
that without reading the file again (``shown_summary``, ``applied_before``).

Confirming (``confirm_batch``) applies the kept plan when nothing it was checked against has
changed since, and otherwise parses the stored file again; either way it writes all or nothing
(``importing.apply``), and the batch then records what it changed. The batch row is locked while it
is applied: two clicks on 确认 import the file once. Two batches of one file confirmed at the same
moment register its units once: the second waits for the first inside ``importing.apply``, reads the
file again there and finds them (its batch records them as unchanged). A confirmation that fails
marks the batch failed with its reasons (``mark_failed``) and writes no unit.

A batch is seen by its uploader's township and by city admins (``visible_batches``).

Plain functions of a user and a batch: the browser's views read the request, call these, and draw
the answer from the result or the exception (``UploadRefused``, ``FileTooLarge``, ``AlreadyApplied``,
``ConfirmFailed``). The package's steps are called by their ``importing.<name>``, so that the tests'
replacements of them (``importing.still_current``, ``importing.parse`` ...) hold here too.
"""

import hashlib

from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.models import Township
from core.access import Role, role_of, township_id_of
from core.tabular import Issue, max_file_bytes

from .. import importing
from ..models import ImportBatch, Status
from .plan import Action, PlanError, UnitPlan, without_cycle_collection

PREVIEW_ROWS = 200  # rows kept for the preview page; the counts cover all of them
SHOWN_ERRORS = 500  # errors and warnings kept (and shown) of a file; the count covers all of them


class BatchError(Exception):
    """A step of a batch's life refused; ``str()`` is the message for the user."""


class UploadRefused(BatchError):
    """An upload not kept (nothing stored): its errors, and the warnings found alongside."""

    def __init__(self, message: str, issues=(), warnings=()):
        super().__init__(message)
        self.issues = list(issues)
        self.warnings = list(warnings)


class FileTooLarge(UploadRefused):
    """An upload over the size limit (``max_upload_mb``); it is not read."""


class AlreadyApplied(BatchError):
    """Confirming a batch already applied: nothing is done, the batch stays as it is."""

    def __init__(self, batch: ImportBatch):
        super().__init__(_("该文件已于%(when)s导入，不能重复确认") % {"when": _when(batch.applied_at)})
        self.batch = batch


class ConfirmFailed(BatchError):
    """A confirmation that wrote nothing; the batch is marked failed (unless it was applied meanwhile)."""

    def __init__(self, reason: str, issues=(), failure: str = ""):
        super().__init__(reason)
        self.issues = list(issues)
        self.failure = failure


def max_upload_mb() -> int:
    return max_file_bytes() // (1024 * 1024)


def check_size(size: int) -> None:
    """FileTooLarge when an upload of ``size`` bytes is over the limit (checked before it is read)."""
    if size > max_file_bytes():
        message = _("文件超过%(max)d MB 的上限，请拆分成几个文件分批导入") % {"max": max_upload_mb()}
        raise FileTooLarge(message, [Issue(message)])


def allowed_townships(user):
    """None (any township) for a city admin; the staff member's own township otherwise."""
    if role_of(user) == Role.CITY_ADMIN:
        return None
    return list(Township.objects.filter(pk=township_id_of(user)))


def visible_batches(user):
    """The batches ``user`` sees: a city admin all of them, a township's staff their township's."""
    # The kept plan and the change record run to megabytes for a city list: read them where needed.
    batches = ImportBatch.objects.select_related("uploaded_by", "township").defer("plan", "summary")
    if role_of(user) == Role.CITY_ADMIN:
        return batches
    township_id = township_id_of(user)
    return batches.filter(township_id=township_id) if township_id else batches.none()


def parse(user, source, file_name: str) -> UnitPlan:
    """A list read and checked as ``user`` may import it (their own township's units only)."""
    return importing.parse(source, file_name=file_name, allowed_townships=allowed_townships(user))


def create_batch(user, data: bytes, file_name: str) -> ImportBatch:
    """Check an uploaded file and keep it as a batch to confirm (status 待确认).

    UploadRefused (FileTooLarge for a file over the limit) when it does not check out: then nothing
    is kept, neither the file nor a record.
    """
    check_size(len(data))
    plan = parse(user, data, file_name)
    if plan.errors:
        message = _("导入文件有%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)}
        raise UploadRefused(message, plan.errors, plan.warnings)
    batch = ImportBatch(
        uploaded_by=user,
        township_id=township_id_of(user),
        file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        summary=changes(plan) | preview(plan),
        plan=importing.dump_plan(plan),
        **counts(plan),
    )
    batch.file.save(file_name, ContentFile(data), save=False)
    try:
        batch.save()
    except BaseException:
        batch.file.delete(save=False)
        raise
    return batch


def shown_summary(batch: ImportBatch) -> dict:
    """The parts of the batch's summary the preview page shows (its text, first rows, warnings).

    Read as three JSON keys: the whole summary of a city list holds 50,000 changed rows, which
    the page does not show and need not be decoded for it.
    """
    parts = ImportBatch.objects.filter(pk=batch.pk).values_list(
        "summary__text", "summary__preview", "summary__warnings"
    )
    text, rows, warnings = parts.get()
    return {"text": text or "", "preview": rows or [], "warnings": warnings or []}


def applied_before(batch: ImportBatch) -> ImportBatch | None:
    """The latest other batch of the same file (same checksum) that was applied, if any."""
    earlier = ImportBatch.objects.filter(sha256=batch.sha256, status=ImportBatch.State.APPLIED)
    earlier = earlier.select_related("uploaded_by").exclude(pk=batch.pk)
    return earlier.order_by("-applied_at").first()


def confirm_batch(user, batch: ImportBatch) -> UnitPlan:
    """Apply a batch's list as ``user``, all of it or nothing; returns the plan written.

    AlreadyApplied when the batch was applied before (nothing done). ConfirmFailed when the list
    cannot be written (its errors, a conflict, the database): no unit is written and the batch is
    marked failed with the reasons, unless it was applied in the meantime.
    """
    if batch.status == ImportBatch.State.APPLIED:
        raise AlreadyApplied(batch)

    def reread():
        with batch.file.open("rb") as file:
            return parse(user, file.read(), batch.file_name)

    plan = importing.load_plan(ImportBatch.objects.values_list("plan", flat=True).get(pk=batch.pk))
    if plan is None or not importing.still_current(plan):
        # The register moved since the preview (or the kept plan is unusable): check the file again.
        plan = reread()
    try:
        with transaction.atomic():
            # Lock the batch: two clicks on 确认 must not import the file twice.
            status = ImportBatch.objects.select_for_update().values_list("status", flat=True).get(pk=batch.pk)
            if status == ImportBatch.State.APPLIED:
                raise PlanError(_("该文件已导入，不能重复确认"))
            # apply locks the plan's townships and asks again, inside the lock, whether the plan is
            # still current: another list (or this file in another batch) confirmed at the same
            # moment has then committed, and the file read again matches its units.
            plan = importing.apply(plan, user, reread=reread)
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=ImportBatch.State.APPLIED,
                applied_at=timezone.now(),
                plan=None,
                failure="",
                summary=changes(plan) | preview(plan),  # now with the new units' ids
                **counts(plan),
            )
    except (PlanError, DatabaseError) as exc:
        reason = str(exc) if isinstance(exc, PlanError) else _("数据库写入失败，未写入任何数据")
        issues = getattr(exc, "issues", None) or plan.errors
        failure = mark_failed(batch, reason, issues)
        raise ConfirmFailed(reason, issues, failure) from exc
    return plan


def mark_failed(batch: ImportBatch, reason: str, issues=()) -> str:
    """Record a failed confirmation on the batch (status failed, the reason and the first errors) and
    drop its kept plan; a batch applied meanwhile is left as it is. Returns the failure text."""
    failure = "\n".join([reason, *(str(issue) for issue in issues[:SHOWN_ERRORS])])
    ImportBatch.objects.filter(pk=batch.pk).exclude(status=ImportBatch.State.APPLIED).update(
        status=ImportBatch.State.FAILED, failure=failure, plan=None
    )
    return failure


# --- what a batch records of its plan ------------------------------------------------------------


def counts(plan: UnitPlan) -> dict:
    return {
        "rows": len(plan.rows),
        "created": plan.count(Action.CREATE),
        "updated": plan.count(Action.UPDATE),
        "unchanged": plan.count(Action.UNCHANGED),
    }


def changes(plan: UnitPlan) -> dict:
    """What the plan changes, as JSON: the batch keeps it as the record of what the import did.

    One entry per created or updated row: a city list makes 50,000 of them, so this stays a plain
    comprehension (the action's value read as the attribute it is, no sorting of empty changes).
    """
    unchanged = Action.UNCHANGED
    with without_cycle_collection():
        rows = [
            {
                "row": row.number,
                "action": row.action._value_,
                "unit": row.unit_id,
                "name": row.values.get("name", ""),
                "fields": sorted(key for key in row.changes if key != "rectification") if row.changes else [],
                "rectification": row.rectification,
            }
            for row in plan.rows
            if row.valid and row.action is not unchanged
        ]
    return {"text": plan.summary(), "villages": [name for _t, name in plan.new_villages], "rows": rows}


def _placed(row):
    """(township, village, status) of a listed row's unit once the list is imported: the names as
    the register will hold them, the status as a choice value (importing.diff_status decides it)."""
    values, unit = row.values, row.unit
    township = values["township"].name
    if "village" in values:
        village = values["village"]
    elif unit is not None and "village" not in row.changes:
        village = unit.village_name or ""
    else:
        village = ""
    if row.rectification:
        status = Status.RECTIFIED
    elif "status" in row.changes:
        status = row.changes["status"][1]
    elif unit is not None:
        status = unit.status
    else:
        status = values.get("status", Status.OPEN)
    return [township, village, str(status)]


def preview(plan: UnitPlan) -> dict:
    """What the preview page lists, kept with the batch so that showing it needs no second read:
    each row's number, result, name, changed fields, and its unit's township, village and status."""
    shown = [row for row in plan.rows if row.valid][:PREVIEW_ROWS]
    return {
        "preview": [
            [row.number, row.action.value, row.values.get("name", ""), list(row.changes), *_placed(row)]
            for row in shown
        ],
        "warnings": [str(issue) for issue in plan.warnings[:SHOWN_ERRORS]],
        "warning_count": len(plan.warnings),
    }


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
