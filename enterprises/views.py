"""The unit register (四无单位台账): list, detail, create, edit, rectify, relapse, export.

Every view starts from ``scoped_units(user)``; every POST that succeeds redirects (so a refresh
never submits twice) and says what happened in a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from campaign.access import scope_units

from .exports import register_workbook
from .filtersets import UnitFilterSet, with_current_rectification
from .forms import EnterpriseForm, RectificationForm, RelapseForm
from .models import Enterprise, Method, RectificationPhoto, Status

PAGE_SIZE = 25


def scoped_units(user):
    """The units ``user`` may see: the one queryset every register view starts from."""
    return scope_units(user, Enterprise.objects.for_register())


@require_GET
@login_required
def unit_list(request):
    f = UnitFilterSet(request.GET or None, queryset=scoped_units(request.user))
    units = with_current_rectification(f.qs).order_by("-identified_on", "-id")
    counts = f.qs.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status=Status.OPEN)),
        in_progress=Count("id", filter=Q(status=Status.IN_PROGRESS)),
        rectified=Count("id", filter=Q(status=Status.RECTIFIED)),
    )
    page = Paginator(units, PAGE_SIZE).get_page(request.GET.get("page"))
    methods = dict(Method.choices)
    for unit in page:
        unit.current_method_label = methods.get(unit.current_method, "")
    return render(request, "enterprises/unit_list.html", {"filter": f, "page": page, "counts": counts})


@require_GET
@login_required
def unit_export(request):
    f = UnitFilterSet(request.GET or None, queryset=scoped_units(request.user))
    if f.is_bound and not f.is_valid():
        messages.error(request, _("筛选条件有误，请修正后再导出"))
        return redirect(f"{reverse('enterprises:list')}?{request.GET.urlencode()}")
    filename = _("四无单位台账-%(day)s.xlsx") % {"day": timezone.localdate().strftime("%Y%m%d")}
    return FileResponse(register_workbook(f.qs), as_attachment=True, filename=filename)


@require_GET
@login_required
def unit_detail(request, pk):
    unit = get_object_or_404(scoped_units(request.user).select_related("created_by"), pk=pk)
    rectifications = unit.rectifications.select_related("created_by").prefetch_related(
        Prefetch("photos", queryset=RectificationPhoto.objects.order_by("id"))
    )
    relapses = unit.relapses.select_related("created_by")
    return render(
        request,
        "enterprises/unit_detail.html",
        {
            "unit": unit,
            "timeline": _timeline(unit, rectifications, relapses),
            "can_rectify": unit.status != Status.RECTIFIED,
            "can_relapse": unit.status == Status.RECTIFIED,
        },
    )


def _timeline(unit, rectifications, relapses):
    """Identification, rectifications and relapses in date order.

    On one day a relapse comes before a re-rectification (see enterprises/services.py).
    """
    events = [("identified", unit.identified_on, 0, unit.created_at, unit)]
    events += [("relapse", r.found_on, 1, r.created_at, r) for r in relapses]
    events += [("rectification", r.rectified_on, 2, r.created_at, r) for r in rectifications]
    events.sort(key=lambda e: (e[1], e[2], e[3]))
    return [{"kind": kind, "date": day, "item": item} for kind, day, _order, _at, item in events]


@require_http_methods(["GET", "POST"])
@login_required
def unit_create(request):
    form = EnterpriseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.instance.created_by = request.user
        unit = form.save()
        messages.success(request, _("已登记四无单位“%(name)s”") % {"name": unit.name})
        return redirect(unit)
    return render(request, "enterprises/unit_form.html", {"form": form, "unit": None})


@require_http_methods(["GET", "POST"])
@login_required
def unit_edit(request, pk):
    unit = get_object_or_404(scoped_units(request.user), pk=pk)
    form = EnterpriseForm(request.POST or None, instance=unit)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存“%(name)s”的修改") % {"name": unit.name})
        return redirect(unit)
    return render(request, "enterprises/unit_form.html", {"form": form, "unit": unit})


@require_http_methods(["GET", "POST"])
@login_required
def unit_rectify(request, pk):
    unit = get_object_or_404(scoped_units(request.user), pk=pk)
    if request.method == "GET" and unit.status == Status.RECTIFIED:
        messages.info(request, _("该单位已整治；如发现死灰复燃，请先登记复发"))
        return redirect(unit)
    form = RectificationForm(request.POST or None, request.FILES or None, enterprise=unit)
    if request.method == "POST" and form.is_valid() and form.save(user=request.user):
        messages.success(request, _("已登记“%(name)s”的整治情况") % {"name": unit.name})
        return redirect(unit)
    return render(request, "enterprises/rectification_form.html", {"form": form, "unit": unit})


@require_http_methods(["GET", "POST"])
@login_required
def unit_relapse(request, pk):
    unit = get_object_or_404(scoped_units(request.user), pk=pk)
    if request.method == "GET" and unit.status != Status.RECTIFIED:
        messages.info(request, _("该单位当前不是已整治状态，无需登记死灰复燃"))
        return redirect(unit)
    form = RelapseForm(request.POST or None, enterprise=unit)
    if request.method == "POST" and form.is_valid() and form.save(user=request.user):
        messages.warning(request, _("已登记“%(name)s”死灰复燃，该单位恢复为未整治") % {"name": unit.name})
        return redirect(unit)
    return render(request, "enterprises/relapse_form.html", {"form": form, "unit": unit})


@require_GET
@login_required
def rectification_photo(request, pk, photo_pk):
    """Evidence photos are served to signed-in users only (never from a public media URL)."""
    photo = get_object_or_404(
        RectificationPhoto.objects.select_related("rectification"),
        pk=photo_pk,
        rectification__enterprise__in=scoped_units(request.user).filter(pk=pk),
    )
    response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response
