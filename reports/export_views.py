"""Downloads of the progress table and a township's ledger (.xlsx or .csv), as of the picked date."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campaign.context_processors import picker_state
from campaign.models import Township
from core.access import ALL_ROLES, allow

from . import exports
from .progress import progress_report

CONTENT_TYPES = {
    exports.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    exports.CSV: "text/csv; charset=utf-8",
}


def _respond(table, fmt, name):
    file = exports.table_file(table, fmt)
    return FileResponse(file, as_attachment=True, filename=f"{name}.{fmt}", content_type=CONTENT_TYPES[fmt])


def _picked(request, fmt):
    if fmt not in exports.FORMATS:
        raise Http404(_("不支持的导出格式"))
    return picker_state(request)


# Every role reads every report (SPEC 4); neither table holds personal data.
@allow(get=ALL_ROLES)
@require_GET
def progress_export(request, fmt):
    picker = _picked(request, fmt)
    if picker.campaign is None:
        return render(request, "reports/no_campaign.html", status=404)
    report = progress_report(picker.campaign, picker.as_of)
    name = _("整治进度表-%(campaign)s-%(day)s") % {"campaign": picker.campaign.name, "day": f"{picker.as_of:%Y%m%d}"}
    return _respond(exports.progress_table(report), fmt, name)


@allow(get=ALL_ROLES)
@require_GET
def ledger_export(request, township_pk, fmt):
    picker = _picked(request, fmt)
    township = get_object_or_404(Township, pk=township_pk)
    if picker.campaign is None:
        return render(request, "reports/no_campaign.html", status=404)
    report = progress_report(picker.campaign, picker.as_of)
    name = _("%(township)s台账-%(day)s") % {"township": township.name, "day": f"{picker.as_of:%Y%m%d}"}
    return _respond(exports.ledger_table(report, township), fmt, name)
