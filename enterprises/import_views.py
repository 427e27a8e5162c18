"""Screening lists through the browser: upload, preview, confirm; the template; the history.

A file is checked when it is uploaded. A file with errors is answered with every error (row and
column) and nothing is kept: not the file, not a record. A clean file is stored under
MEDIA_ROOT/imports/ with a generated name and an ``ImportBatch`` (status 待确认) records who, when,
its checksum and what it would change; the preview page shows that. Confirming parses the stored
file again (the register may have moved since) and writes it all or nothing (importing.apply);
the batch then records what it changed. A batch is seen by its uploader's township and city admins.
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

from campaign.access import WRITERS, Role, allow, role_of, township_id_of
from campaign.models import Township
from campaign.tabular import Issue, max_file_bytes

from . import importing
from .importing import Action
from .models import ImportBatch

PREVIEW_ROWS = 200  # rows listed on the preview page; the counts cover all of them
SHOWN_ERRORS = 500


def _allowed_townships(user):
    """None (any township) for a city admin; the staff member's own township otherwise."""
    if role_of(user) == Role.CITY_ADMIN:
        return None
    return list(Township.objects.filter(pk=township_id_of(user)))


def _batches(user):
    batches = ImportBatch.objects.select_related("uploaded_by", "township")
    if role_of(user) == Role.CITY_ADMIN:
        return batches
    township_id = township_id_of(user)
    return batches.filter(township_id=township_id) if township_id else batches.none()


def _batch_or_404(user, pk):
    try:
        return _batches(user).get(pk=pk)
    except ImportBatch.DoesNotExist:
        raise Http404(_("找不到该导入记录")) from None


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
    """What the plan changes, as JSON: the batch keeps it as the record of what the import did."""
    rows = []
    for row in plan.rows:
        if not row.valid or row.action == Action.UNCHANGED:
            continue
        rows.append(
            {
                "row": row.number,
                "action": row.action.value,
                "unit": row.unit_id,
                "name": row.values.get("name", ""),
                "fields": sorted(key for key in row.changes if key != "rectification"),
                "rectification": row.rectification,
            }
        )
    return {"text": plan.summary(), "villages": [name for _t, name in plan.new_villages], "rows": rows}


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
        summary=_changes(plan),
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
    context = {"batch": batch, "earlier": _applied_before(batch.sha256, exclude=batch.pk)}
    if batch.status == ImportBatch.State.PREVIEWED:
        with batch.file.open("rb") as file:
            plan = _parse(request.user, file.read(), batch.file_name)
        context |= {
            "plan": plan,
            "errors": [str(issue) for issue in plan.errors[:SHOWN_ERRORS]],
            "warnings": [str(issue) for issue in plan.warnings[:SHOWN_ERRORS]],
            "rows": [_shown(row) for row in plan.rows if row.valid][:PREVIEW_ROWS],
            "counts": _counts(plan),
            "summary": plan.summary(),
        }
    return render(request, "imports/preview.html", context)


@allow(post=WRITERS)
@login_required
def confirm(request, pk):
    batch = _batch_or_404(request.user, pk)
    if batch.status == ImportBatch.State.APPLIED:
        messages.warning(request, _("该文件已于%(when)s导入，不能重复确认") % {"when": _when(batch.applied_at)})
        return redirect(batch)
    with batch.file.open("rb") as file:
        plan = _parse(request.user, file.read(), batch.file_name)
    try:
        with transaction.atomic():
            # Lock the batch: two clicks on 确认 must not import the file twice.
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.status == ImportBatch.State.APPLIED:
                raise importing.PlanError(_("该文件已导入，不能重复确认"))
            importing.apply(plan, request.user)
            locked.status = ImportBatch.State.APPLIED
            locked.applied_at = timezone.now()
            locked.summary = _changes(plan)
            locked.failure = ""
            for name, value in _counts(plan).items():
                setattr(locked, name, value)
            locked.save()
    except (importing.PlanError, DatabaseError) as exc:
        reason = str(exc) if isinstance(exc, importing.PlanError) else _("数据库写入失败，未写入任何数据")
        ImportBatch.objects.filter(pk=batch.pk).exclude(status=ImportBatch.State.APPLIED).update(
            status=ImportBatch.State.FAILED, failure=reason
        )
        messages.error(request, reason)
        return redirect(batch)
    messages.success(request, _("导入完成：%(summary)s") % {"summary": plan.summary()})
    return redirect(batch)


def _shown(row):
    changed = [importing.HEADERS.get(key, _("整治记录")) for key in row.changes]
    return {"number": row.number, "action": row.action.label, "name": row.values.get("name", ""), "changes": changed}


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
