"""Screening lists through the browser: upload, preview, confirm; the template; the history.

A file is checked when it is uploaded. A file with errors is answered with every error (row and
column) and nothing is kept: not the file, not a record. A clean file is stored under
MEDIA_ROOT/imports/ with a generated name and an ``ImportBatch`` (status 待确认) records who, when,
its checksum, what it would change and the checked plan itself (signed); the preview page shows
that without reading the file again. Confirming applies the kept plan when nothing it was checked
against has changed since, and otherwise parses the stored file again; either way it writes all or
nothing (importing.apply), and the batch then records what it changed. Two batches of one file
confirmed at the same moment register its units once: the second waits for the first inside
importing.apply, reads the file again there and finds them (its batch records them as unchanged).
A batch is seen by its uploader's township and city admins.
"""

import hashlib
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.models import Township
from core.access import WRITERS, Role, allow, role_of, township_id_of
from core.tabular import Issue, max_file_bytes

from . import importing
from .importing import Action
from .models import ImportBatch, Status

PREVIEW_ROWS = 200  # rows listed on the preview page; the counts cover all of them
SHOWN_ERRORS = 500


def _allowed_townships(user):
    """None (any township) for a city admin; the staff member's own township otherwise."""
    if role_of(user) == Role.CITY_ADMIN:
        return None
    return list(Township.objects.filter(pk=township_id_of(user)))


def _batches(user):
    # The kept plan and the change record run to megabytes for a city list: read them where needed.
    batches = ImportBatch.objects.select_related("uploaded_by", "township").defer("plan", "summary")
    if role_of(user) == Role.CITY_ADMIN:
        return batches
    township_id = township_id_of(user)
    return batches.filter(township_id=township_id) if township_id else batches.none()


def _batch_or_404(user, pk):
    try:
        return _batches(user).get(pk=pk)
    except ImportBatch.DoesNotExist:
        raise Http404(_("找不到该导入记录")) from None


def _shown_summary(batch):
    """The parts of the batch's summary the preview page shows (its text, first rows, warnings).

    Read as three JSON keys: the whole summary of a city list holds 50,000 changed rows, which
    the page does not show and need not be decoded for it.
    """
    parts = ImportBatch.objects.filter(pk=batch.pk).values_list(
        "summary__text", "summary__preview", "summary__warnings"
    )
    text, preview, warnings = parts.get()
    return {"text": text or "", "preview": preview or [], "warnings": warnings or []}


def _applied_before(sha256, *, exclude=None):
    earlier = ImportBatch.objects.filter(sha256=sha256, status=ImportBatch.State.APPLIED).select_related("uploaded_by")
    if exclude is not None:
        earlier = earlier.exclude(pk=exclude)
    return earlier.order_by("-applied_at").first()


def _parse(user, source, file_name):
    return importing.parse(source, file_name=file_name, allowed_townships=_allowed_townships(user))


def _counts(plan):
    return {
        "rows": len(plan.rows),
        "created": plan.count(Action.CREATE),
        "updated": plan.count(Action.UPDATE),
        "unchanged": plan.count(Action.UNCHANGED),
    }


def _changes(plan):
    """What the plan changes, as JSON: the batch keeps it as the record of what the import did.

    One entry per created or updated row: a city list makes 50,000 of them, so this stays a plain
    comprehension (the action's value read as the attribute it is, no sorting of empty changes).
    """
    unchanged = Action.UNCHANGED
    with importing.without_cycle_collection():
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


def _preview(plan):
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


@allow(get=WRITERS, post=WRITERS)
@login_required
def upload(request):
    if request.method != "POST":
        return render(request, "imports/upload.html", {"max_mb": max_file_bytes() // (1024 * 1024)})
    upload = request.FILES.get("file")
    if upload is None:
        return _refused(request, [Issue(_("请选择要导入的文件"))], status=400)
    if upload.size > max_file_bytes():
        message = _("文件超过%(max)d MB 的上限，请拆分成几个文件分批导入") % {"max": max_file_bytes() // (1024 * 1024)}
        return _refused(request, [Issue(message)], status=413, file_name=upload.name)
    data = upload.read()
    plan = _parse(request.user, data, upload.name)
    if plan.errors:
        return _refused(request, plan.errors, status=422, file_name=upload.name, warnings=plan.warnings)
    digest = hashlib.sha256(data).hexdigest()
    counts = _counts(plan)
    batch = ImportBatch(
        uploaded_by=request.user,
        township_id=township_id_of(request.user),
        file_name=upload.name[:255],
        sha256=digest,
        size=len(data),
        summary=_changes(plan) | _preview(plan),
        plan=importing.dump_plan(plan),
        **counts,
    )
    batch.file.save(upload.name, ContentFile(data), save=False)
    try:
        batch.save()
    except BaseException:
        batch.file.delete(save=False)
        raise
    return redirect(batch)


def _refused(request, errors, *, status, file_name="", warnings=()):
    context = {
        "errors": [str(issue) for issue in errors[:SHOWN_ERRORS]],
        "error_count": len(errors),
        "warnings": [str(issue) for issue in warnings[:SHOWN_ERRORS]],
        "file_name": file_name,
        "max_mb": max_file_bytes() // (1024 * 1024),
    }
    return render(request, "imports/upload.html", context, status=status)


@allow(get=WRITERS)
@login_required
def preview(request, pk):
    batch = _batch_or_404(request.user, pk)
    summary = batch.summary = _shown_summary(batch)
    context = {
        "batch": batch,
        "earlier": _applied_before(batch.sha256, exclude=batch.pk),
        "rows": [_shown(*row) for row in summary["preview"]],
        "warnings": summary["warnings"],
        "confirmable": batch.status == ImportBatch.State.PREVIEWED,
    }
    return render(request, "imports/preview.html", context)


@allow(post=WRITERS)
@login_required
def confirm(request, pk):
    batch = _batch_or_404(request.user, pk)
    if batch.status == ImportBatch.State.APPLIED:
        messages.warning(request, _("该文件已于%(when)s导入，不能重复确认") % {"when": _when(batch.applied_at)})
        return redirect(batch)

    def reread():
        with batch.file.open("rb") as file:
            return _parse(request.user, file.read(), batch.file_name)

    plan = importing.load_plan(ImportBatch.objects.values_list("plan", flat=True).get(pk=batch.pk))
    if plan is None or not importing.still_current(plan):
        # The register moved since the preview (or the kept plan is unusable): check the file again.
        plan = reread()
    try:
        with transaction.atomic():
            # Lock the batch: two clicks on 确认 must not import the file twice.
            status = ImportBatch.objects.select_for_update().values_list("status", flat=True).get(pk=batch.pk)
            if status == ImportBatch.State.APPLIED:
                raise importing.PlanError(_("该文件已导入，不能重复确认"))
            # apply locks the plan's townships and asks again, inside the lock, whether the plan is
            # still current: another list (or this file in another batch) confirmed at the same
            # moment has then committed, and the file read again matches its units.
            plan = importing.apply(plan, request.user, reread=reread)
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=ImportBatch.State.APPLIED,
                applied_at=timezone.now(),
                plan=None,
                failure="",
                summary=_changes(plan) | _preview(plan),  # now with the new units' ids
                **_counts(plan),
            )
    except (importing.PlanError, DatabaseError) as exc:
        reason = str(exc) if isinstance(exc, importing.PlanError) else _("数据库写入失败，未写入任何数据")
        issues = getattr(exc, "issues", None) or plan.errors
        failure = "\n".join([reason, *(str(issue) for issue in issues[:SHOWN_ERRORS])])
        ImportBatch.objects.filter(pk=batch.pk).exclude(status=ImportBatch.State.APPLIED).update(
            status=ImportBatch.State.FAILED, failure=failure, plan=None
        )
        messages.error(request, reason)
        return redirect(batch)
    messages.success(request, _("导入完成：%(summary)s") % {"summary": plan.summary()})
    return redirect(batch)


def _shown(number, action, name, changes, township="", village="", status=""):
    """A preview row for the page (a batch kept before township, village and status were kept has none)."""
    changed = [importing.HEADERS.get(key, _("整治记录")) for key in changes]
    return {
        "number": number,
        "action": Action(action).label,
        "name": name,
        "changes": changed,
        "township": township,
        "village": village,
        "status": status,
        "status_label": Status(status).label if status in Status.values else "",
    }


def _when(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


@allow(get=WRITERS)
@login_required
def template(request):
    file = tempfile.TemporaryFile()  # noqa: SIM115 - the FileResponse closes it
    importing.write_template(file)
    file.seek(0)
    return FileResponse(file, as_attachment=True, filename=_("排查清单模板.xlsx"))


@allow(get=WRITERS)
@login_required
def history(request):
    batches = _batches(request.user)[:200]
    return render(request, "imports/history.html", {"batches": batches})


@allow(get=WRITERS)
@login_required
def original(request, pk):
    batch = _batch_or_404(request.user, pk)
    return FileResponse(batch.file.open("rb"), as_attachment=True, filename=batch.file_name)
