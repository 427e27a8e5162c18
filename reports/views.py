import datetime

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campaign.models import Campaign

from .progress import ReportError, progress_report


@require_GET
@login_required
def progress_api(request):
    """SPEC 3: the same document as `manage.py progress --json`, for a logged-in user."""
    slug = request.GET.get("campaign", "")
    try:
        as_of = datetime.date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        return JsonResponse({"error": _("as_of 须为 YYYY-MM-DD 格式的日期")}, status=400)
    campaign = get_object_or_404(Campaign, slug=slug)
    try:
        report = progress_report(campaign, as_of)
    except ReportError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(report.as_json(), json_dumps_params={"ensure_ascii": False})
