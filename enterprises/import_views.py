"""Screening lists through the browser: upload, preview, confirm; the template; the history.

The views read the request, hand it to the batch's life in ``importing.batches`` (check and keep
an upload, confirm it, mark it failed, the same file applied before) and draw the answer: a file with
errors is answered with every error (row and column) and nothing kept; a kept batch is previewed
from what it recorded, without reading the file again; confirming it writes all or nothing. A batch
is seen by its uploader's township and city admins.
"""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.access import WRITERS, allow
from core.tabular import Issue

from . import importing
from .importing import Action, batches
from .models import ImportBatch, Status


def _batch_or_404(user, pk):
    try:
        return batches.visible_batches(user).get(pk=pk)
    except ImportBatch.DoesNotExist:
        raise Http404(_("找不到该导入记录")) from None


@allow(get=WRITERS, post=WRITERS)
@login_required
def upload(request):
    if request.method != "POST":
        return render(request, "imports/upload.html", {"max_mb": batches.max_upload_mb()})
    upload = request.FILES.get("file")
    if upload is None:
        return _refused(request, [Issue(_("请选择要导入的文件"))], status=400)
    try:
        batches.check_size(upload.size)  # before the file is read
        batch = batches.create_batch(request.user, upload.read(), upload.name)
    except batches.FileTooLarge as exc:
        return _refused(request, exc.issues, status=413, file_name=upload.name)
    except batches.UploadRefused as exc:
        return _refused(request, exc.issues, status=422, file_name=upload.name, warnings=exc.warnings)
    return redirect(batch)


def _refused(request, errors, *, status, file_name="", warnings=()):
    context = {
        "errors": [str(issue) for issue in errors[: batches.SHOWN_ERRORS]],
        "error_count": len(errors),
        "warnings": [str(issue) for issue in warnings[: batches.SHOWN_ERRORS]],
        "file_name": file_name,
        "max_mb": batches.max_upload_mb(),
    }
    return render(request, "imports/upload.html", context, status=status)


@allow(get=WRITERS)
@login_required
def preview(request, pk):
    batch = _batch_or_404(request.user, pk)
    summary = batch.summary = batches.shown_summary(batch)
    context = {
        "batch": batch,
        "earlier": batches.applied_before(batch),
        "rows": [_shown(*row) for row in summary["preview"]],
        "warnings": summary["warnings"],
        "confirmable": batch.status == ImportBatch.State.PREVIEWED,
    }
    return render(request, "imports/preview.html", context)


@allow(post=WRITERS)
@login_required
def confirm(request, pk):
    batch = _batch_or_404(request.user, pk)
    try:
        plan = batches.confirm_batch(request.user, batch)
    except batches.AlreadyApplied as exc:
        messages.warning(request, str(exc))
    except batches.ConfirmFailed as exc:
        messages.error(request, str(exc))
    else:
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
    shown = batches.visible_batches(request.user)[:200]
    return render(request, "imports/history.html", {"batches": shown})


@allow(get=WRITERS)
@login_required
def original(request, pk):
    batch = _batch_or_404(request.user, pk)
    return FileResponse(batch.file.open("rb"), as_attachment=True, filename=batch.file_name)
