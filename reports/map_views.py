"""挂图作战: the map page, its data for a view (grid cells or units) and the outlines it draws.

Every answer starts from the units the user may see (core.access.scope_units) narrowed by the
register's own filters (enterprises.filtersets.UnitFilterSet), so the map shows what the register
lists: township staff see their own township's units only. docs/map.md.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campaign.models import Township, Village
from core import geo
from core.access import ALL_ROLES, allow, role_of, scope_townships, scope_units, township_id_of
from enterprises.filtersets import UnitFilterSet
from enterprises.models import Enterprise

from . import maps

# The view's own parameters, not the register's filters.
VIEW_PARAMS = ("bbox", "zoom")


def tile_settings():
    """The tile source (settings MAP_TILE_URL, MAP_TILE_CRS, MAP_TILE_ATTRIBUTION, MAP_TILE_MAX_ZOOM)."""
    crs = getattr(settings, "MAP_TILE_CRS", geo.WGS84) or geo.WGS84
    if crs not in geo.CRS_CHOICES:
        crs = geo.WGS84
    return {
        "url": getattr(settings, "MAP_TILE_URL", "") or "",
        "crs": crs,
        "attribution": getattr(settings, "MAP_TILE_ATTRIBUTION", "") or "",
        "max_zoom": int(getattr(settings, "MAP_TILE_MAX_ZOOM", 18) or 18),
    }


def _filtered(request):
    data = request.GET.copy()
    for key in VIEW_PARAMS:
        data.pop(key, None)
    units = scope_units(request.user, Enterprise.objects.alive())
    return UnitFilterSet(data or None, queryset=units, user=request.user)


def _cache_key(request, f):
    """What decides the units a kept grid or extent counts: the user's scope (scope_units) and the filters."""
    filters = sorted((key, tuple(values)) for key, values in f.data.lists()) if f.is_bound else []
    return (role_of(request.user), township_id_of(request.user), tuple(filters))


def _tile_origin(url):
    """scheme://host[:port] of the tile URL, for the page's img-src; None for this server's own."""
    parts = urlsplit(url.replace("{s}", "a"))
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _outline_scope(request, f):
    """(township ids, village ids) whose outlines the page draws: the villages filtered on; else the
    townships filtered on (or the staff member's own) with their villages; else every township."""
    townships = scope_townships(request.user, Township.objects.all())
    chosen = f.form.cleaned_data if f.is_bound and f.is_valid() else {}
    if chosen.get("village"):
        return [], [v.pk for v in chosen["village"]]
    picked = [t.pk for t in chosen.get("township") or []]
    scope = list(townships.values_list("pk", flat=True))
    if picked or len(scope) == 1:
        ids = picked or scope
        villages = Village.objects.filter(township_id__in=ids).values_list("pk", flat=True)
        return ids, list(villages)
    return scope, []


@allow(get=ALL_ROLES)
@login_required
@require_GET
def map_page(request):
    """The map of the city, one township or one village (the register's filters choose)."""
    f = _filtered(request)
    tiles = tile_settings()
    valid = not f.is_bound or f.is_valid()
    townships, villages = _outline_scope(request, f)
    query = request.GET.copy()
    for key in VIEW_PARAMS:
        query.pop(key, None)
    config = {
        "data": reverse("maps:data") + (f"?{query.urlencode()}" if query else ""),
        "outlines": reverse("maps:outlines")
        + "?"
        + "&".join([f"township={pk}" for pk in townships] + [f"village={pk}" for pk in villages]),
        "unit": reverse("enterprises:detail", args=[0]).replace("/0/", "/{id}/"),
        "extent": maps.extent(f.qs, tiles["crs"], cache_key=_cache_key(request, f))
        if valid
        else {"total": 0, "placed": 0, "box": None},
        "tiles": tiles,
        "labels": {
            "open": _("未整治"),
            "rectifying": _("整治中"),
            "rectified": _("已整治"),
            "relapsed": _("死灰复燃"),
            "overdue": _("有逾期问题"),
            "units": _("家单位"),
            "zoom_in": _("放大查看单位"),
            "failed": _("地图数据加载失败，请刷新重试"),
        },
    }
    response = render(request, "reports/map.html", {"filter": f, "config": config, "valid": valid})
    origin = _tile_origin(tiles["url"])
    if origin:
        response._csp_update = {"img-src": [origin]}
    return response


@allow(get=ALL_ROLES)
@login_required
@require_GET
def map_data(request):
    """The units in a view of the map: ``bbox=w,s,e,n`` (display CRS) and ``zoom``, plus the register's
    filters. Grid cells with counts per status, or the units themselves when the view holds few."""
    try:
        box = maps.Box.parse(request.GET.get("bbox"), request.GET.get("zoom"))
    except maps.BadBox:
        return JsonResponse({"error": _("地图范围参数无效")}, status=400)
    f = _filtered(request)
    if f.is_bound and not f.is_valid():
        return JsonResponse({"error": _("筛选条件有误")}, status=400)
    today = timezone.localdate()
    answer = maps.map_data(f.qs, box, crs=tile_settings()["crs"], today=today, cache_key=_cache_key(request, f))
    response = JsonResponse(answer)
    response["Cache-Control"] = "private, no-store"
    return response


@allow(get=ALL_ROLES)
@login_required
@require_GET
def map_outlines(request):
    """The outlines (GeoJSON) of the townships and villages named, among those the user may see."""
    townships = scope_townships(request.user, Township.objects.all())
    wanted_townships = _ids(request.GET.getlist("township"))
    wanted_villages = _ids(request.GET.getlist("village"))
    township_ids = list(townships.filter(pk__in=wanted_townships).values_list("pk", flat=True))
    village_ids = list(
        Village.objects.filter(pk__in=wanted_villages, township__in=townships).values_list("pk", flat=True)
    )
    answer = maps.outlines(townships=township_ids, villages=village_ids, crs=tile_settings()["crs"])
    response = JsonResponse(answer)
    response["Cache-Control"] = "private, max-age=300"
    return response


def _ids(values):
    return [int(v) for v in values[:5000] if v.isascii() and v.isdigit() and len(v) < 16]
