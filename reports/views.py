import datetime

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campaign.access import ALL_ROLES, allow
from campaign.context_processors import picker_state
from campaign.models import Campaign, Township

from .dashboard import dashboard_context, township_context
from .progress import ReportError, progress_report


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


# Every role reads every report: township staff see city-wide rankings too (SPEC 4).
@allow(get=ALL_ROLES)
@require_GET
def dashboard(request):
    """城市仪表盘: the city's standing and every township's, as of the picked date."""
    picker = picker_state(request)
    if picker.campaign is None:
        return render(request, "reports/no_campaign.html")
    context = dashboard_context(picker.campaign, picker.as_of, township_id=_int_or_none(request.GET.get("township")))
    return render(request, "reports/dashboard.html", context)


@allow(get=ALL_ROLES)
@require_GET
def township(request, pk):
    """One township's standing, villages and stock ledger, as of the picked date."""
    place = get_object_or_404(Township, pk=pk)
    picker = picker_state(request)
    if picker.campaign is None:
        return render(request, "reports/no_campaign.html")
    return render(request, "reports/township.html", township_context(picker.campaign, picker.as_of, place))


@allow(get=ALL_ROLES)
@require_GET
def progress_api(request):
    """SPEC 3: the same document as `manage.py progress --json`, for a logged-in user."""
    slug = request.GET.get("campaign", "")
    try:
        as_of = datetime.date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        return JsonResponse({"error": _("as_of 须为 YYYY-MM-DD 格式的日期")}, status=400)
    campaign = get_object_or_404(Campaign, slug=slug)
    try:
        report = progress_report(campaign, as_of, days=())  # the document shows as_of and the due milestone only
    except ReportError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(report.as_json(), json_dumps_params={"ensure_ascii": False})
