from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campaign.context_processors import picker_state
from campaign.models import Campaign, Township
from core import params
from core.access import ALL_ROLES, Role, allow, can_read_township_records, role_of, township_id_of

from .dashboard import dashboard_context, township_context
from .home import badge_counts, home_for
from .progress import ReportError, progress_report
from .scorecard import scorecard


# Every role reads every report: township staff see city-wide rankings too (SPEC 4).
@allow(get=ALL_ROLES)
@require_GET
def dashboard(request):
    """城市仪表盘: the city's standing and every township's, as of the picked date."""
    picker = picker_state(request)
    if picker.campaign is None:
        return render(request, "reports/no_campaign.html")
    context = dashboard_context(
        picker.campaign, picker.as_of, township_id=params.id_or_none(request.GET.get("township"))
    )
    # Township staff see their own standing first, and their row marked in the ranking.
    mine_id = township_id_of(request.user) if role_of(request.user) == Role.TOWNSHIP_STAFF else None
    context["mine_id"] = mine_id
    context["mine"] = next((s for s in context["ranking"] if s.row.township_id == mine_id), None)
    return render(request, "reports/dashboard.html", context)


@allow(get=ALL_ROLES)
@require_GET
def home(request):
    """我的工作台: the first screen of the user's role (reports/home.py); the dashboard for a user
    whose role has none (a township-staff account not tied to a township)."""
    picker = picker_state(request)
    if picker.campaign is None:
        return render(request, "reports/no_campaign.html")
    page = home_for(request.user, picker.campaign, picker.as_of, picker.today)
    if page is None:
        return redirect("reports:dashboard")
    return render(request, "reports/home.html", {"home": page, "campaign": picker.campaign, **page.context})


@allow(get=ALL_ROLES)
@require_GET
def badges(request):
    """The navigation's badges (reports.home.badge_counts), fetched by nav-badges.js so that no page
    pays their queries."""
    response = JsonResponse(badge_counts(request.user, timezone.localdate()))
    response["Cache-Control"] = "private, no-store"
    return response


@allow(get=ALL_ROLES)
@require_GET
def township(request, pk):
    """One township's standing, villages and stock ledger, as of the picked date.

    Every role reads a township's standing (the city-wide ranking, SPEC 4); its villages and its
    overdue findings only who may read its units and findings (township staff: their own).
    """
    place = get_object_or_404(Township, pk=pk)
    picker = picker_state(request)
    if picker.campaign is None:
        return render(request, "reports/no_campaign.html")
    detail = can_read_township_records(request.user, place.pk)
    return render(request, "reports/township.html", township_context(picker.campaign, picker.as_of, place, detail))


@allow(get=ALL_ROLES)
@require_GET
def progress_api(request):
    """SPEC 3: the same document as `manage.py progress --json`, for a logged-in user."""
    try:
        slug = params.slug(request.GET.get("campaign"))
    except params.BadParameter:
        return JsonResponse({"error": _("campaign 须为整治行动代号")}, status=400)
    try:
        as_of = params.day(request.GET.get("as_of"))
    except params.BadParameter:
        as_of = None
    if as_of is None:
        return JsonResponse({"error": _("as_of 须为 YYYY-MM-DD 格式的日期")}, status=400)
    campaign = get_object_or_404(Campaign, slug=slug or "")
    try:
        report = progress_report(campaign, as_of)
    except ReportError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(report.as_json(), json_dumps_params={"ensure_ascii": False})


@allow(get=ALL_ROLES)
@require_GET
def scorecard_api(request):
    """SPEC 5: the same document as `manage.py scorecard --json`, for a logged-in user; the same
    arguments and errors as ``progress_api``."""
    try:
        slug = params.slug(request.GET.get("campaign"))
    except params.BadParameter:
        return JsonResponse({"error": _("campaign 须为整治行动代号")}, status=400)
    try:
        as_of = params.day(request.GET.get("as_of"))
    except params.BadParameter:
        as_of = None
    if as_of is None:
        return JsonResponse({"error": _("as_of 须为 YYYY-MM-DD 格式的日期")}, status=400)
    campaign = get_object_or_404(Campaign, slug=slug or "")
    try:
        card = scorecard(campaign, as_of)
    except ReportError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(card.as_json(), json_dumps_params={"ensure_ascii": False})
