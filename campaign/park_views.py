"""The 加法 side's pages (/parks/): small-micro parks and their entries, the parks upload, and the
零四无 demonstrations from application to designation (docs/parks.md).

Who may do what: every role reads the parks list and the demonstrations (township staff their own
township's parks; demonstrations are a city-wide ranking); a park's page, with the enterprises in
it, follows the township scope of the register; only city admins upload the parks list. The
demonstration steps are the services' to allow or refuse (``demonstrations.may``): the place's page
takes every writer's POST and answers a refusal with the page and its message.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import (
    ALL_ROLES,
    CITY_ADMIN_ONLY,
    Role,
    allow,
    get_scoped_or_404,
    log_denial,
    role_of,
    scope_queryset,
    scope_townships,
    township_id_of,
)
from core.sheets import Table, table_file
from core.storage import private_photo
from core.tabular import max_file_bytes

from . import demonstrations as demos
from .context_processors import picker_state
from .forms import LandSettingsForm, ParkForm
from .models import BuiltIn, Campaign, Demonstration, Park, ParkStagePhoto, Township, Village
from .parks import (
    COMPANY_FORM_FLOOR,
    ParkImportError,
    apply_parks,
    indicator_charts,
    occupancy,
    park_land_mu,
    park_lines,
    park_tax_by_year,
    parks_summary,
    parse_parks,
    picked_township,
    stage_reached,
)
from .parks import park_edit as park_edit_service

# Apply, check and designate: township staff, inspectors and city admins may try (the service decides).
STEP_WRITERS = frozenset({Role.CITY_ADMIN, Role.TOWNSHIP_STAFF, Role.INSPECTOR})
SHOWN_ERRORS = 200
# Editing a park: city admins, and the staff of its township (may_write_park says which park).
PARK_WRITERS = frozenset({Role.CITY_ADMIN, Role.TOWNSHIP_STAFF})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- parks -----------------------------------------------------------------------------------------


# The indicators the parks page draws against their milestones (SPEC 5), when the campaign has them.
PARK_CHART_KEYS = (BuiltIn.PARK_STARTED_MU, BuiltIn.PARK_COMPLETED_M2)


def _parks_on(request):
    """The parks of the picked township (or the city, in the user's scope) on the picked day."""
    picker = picker_state(request)
    day = picker.as_of or timezone.localdate()
    townships = list(scope_townships(request.user, Township.objects.filter(is_active=True)))
    township = picked_township(request.user, request.GET.get("township"), townships)
    parks = scope_queryset(request.user, Park.objects.all())
    if township is not None:
        parks = parks.filter(township=township)
    lines = park_lines(parks, day)
    return {
        "campaign": picker.campaign,
        "day": day,
        "township": township,
        "townships": townships,
        "lines": lines,
        "summary": parks_summary(lines, day),
        "floor": COMPANY_FORM_FLOOR,
    }


@allow(get=ALL_ROLES)
def park_list(request):
    """Parks of a township (or the city) on the picked day: how many started and completed by then
    and their areas, occupancy and vacancy, the indicators' charts against their milestones, and
    each park with its occupancy that day."""
    context = _parks_on(request)
    township = context["township"]
    context["charts"] = indicator_charts(
        context["campaign"], context["day"], township.pk if township else None, PARK_CHART_KEYS
    )
    return render(request, "parks/list.html", context)


@allow(get=ALL_ROLES)
def park_detail(request, pk):
    """A park and its register as of the picked day: occupancy and vacancy, the company-form share
    against its floor, its 亩均税收 by year, and its entries with their actions for its writers."""
    park = get_scoped_or_404(request.user, Park.objects.select_related("township"), pk=pk)
    day = picker_state(request).as_of or timezone.localdate()
    entries = park.entries.filter(deleted_at__isnull=True).select_related("enterprise").order_by("-entered_on", "-id")
    return render(
        request,
        "parks/detail.html",
        {
            "park": park,
            "entries": entries,
            "day": day,
            "occupancy": occupancy(park, day),
            "floor": COMPANY_FORM_FLOOR,
            "tax_years": park_tax_by_year(park),
            "land_mu": park_land_mu(park),
            "refused": park.refused_industries(),
            "may_write": may_write_park(request.user, park),
            "today": timezone.localdate(),
            "stage_photos": _stage_photos(park),
        },
    )


@allow(get=ALL_ROLES)
def park_photo(request, pk, photo_pk):
    """A stage photo of a park, to whoever may read the park (township staff their own township's;
    another township's get 404): never from a public media URL."""
    park = get_scoped_or_404(request.user, Park.objects.all(), pk=pk)
    photo = get_object_or_404(ParkStagePhoto, pk=photo_pk, park=park)
    return private_photo(photo.image)


def _stage_photos(park):
    """{stage value: [photos]} of the park, in upload order (one query)."""
    found = {stage: [] for stage in ParkStagePhoto.Stage.values}
    for photo in park.stage_photos.order_by("id"):
        found[photo.stage].append(photo)
    return [(ParkStagePhoto.Stage(stage), photos) for stage, photos in found.items()]


def may_write_park(user, park):
    """City admins, and the staff of the park's own township."""
    role = role_of(user)
    return role == Role.CITY_ADMIN or (role == Role.TOWNSHIP_STAFF and township_id_of(user) == park.township_id)


@allow(get=PARK_WRITERS, post=PARK_WRITERS)
def park_edit(request, pk):
    """Edit a park's facts and entry rules (with a reason kept in its history)."""
    park = get_scoped_or_404(request.user, Park.objects.select_related("township"), pk=pk)
    if not may_write_park(request.user, park):
        raise PermissionDenied
    form = ParkForm(request.POST or None, instance=Park.objects.get(pk=park.pk))
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in ParkForm.Meta.fields}
        try:
            park_edit_service(park=park, data=data, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field, errors)
        else:
            messages.success(request, _("已保存"))
            return redirect("parks:detail", park.pk)
    history = park.history.select_related("history_user").order_by("-history_id")
    context = {
        "park": park,
        "form": form,
        "history": history,
        "stage_photos": _stage_photos(park),
        "stages": [s for s in ParkStagePhoto.Stage if stage_reached(park, s)],
    }
    return render(request, "parks/park_form.html", context)


@allow(get=ALL_ROLES)
def park_export(request):
    """The parks page as .xlsx: each park's facts, rules and occupancy on the picked day."""
    context = _parks_on(request)
    day = context["day"]
    headers = [
        _("乡镇(街道)"),
        _("园区名称"),
        _("运营主体"),
        _("规划用地(亩)"),
        _("开工日期"),
        _("开工面积(亩)"),
        _("竣工日期"),
        _("竣工面积(平方米)"),
        _("入驻容量(家)"),
        _("在园企业(家)"),
        _("空余(家)"),
        _("公司制占比(%)"),
        _("负面清单"),
        _("准入门槛：亩均税收(万元/亩)"),
        _("截至当日"),
    ]
    rows = []
    for line in context["lines"]:
        park, taken = line.park, line.occupancy
        state = _("已竣工") if line.completed else _("已开工") if line.started else _("未开工")
        rows.append(
            [
                park.township.name,
                park.name,
                park.operator,
                park.planned_mu,
                park.started_on,
                park.started_mu,
                park.completed_on,
                park.completed_m2,
                park.capacity,
                taken.entries,
                taken.vacancy,
                taken.company_form_share,
                "、".join(park.refused_industries()),
                park.min_tax_per_mu,
                state,
            ]
        )
    place = context["township"].name if context["township"] else _("全市")
    name = _("小微园-%(place)s-%(day)s") % {"place": place, "day": f"{day:%Y%m%d}"}
    file = table_file(Table(_("小微园"), headers, rows), "xlsx")
    return FileResponse(file, as_attachment=True, filename=f"{name}.xlsx", content_type=XLSX)


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
def land_settings(request, slug):
    """A campaign's freed-land settings: 闲置预警天数 and the 亩均税收 standard (city admins)."""
    campaign = get_object_or_404(Campaign, slug=slug)
    form = LandSettingsForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved._history_user = request.user
        saved._change_reason = _("修改腾退土地设置")
        saved.save(update_fields=["idle_days", "tax_standard_per_mu"])
        messages.success(request, _("已保存"))
        return redirect("land:list")
    return render(request, "parks/land_settings.html", {"campaign": campaign, "form": form})


class ParkUploadForm(forms.Form):
    campaign = forms.ModelChoiceField(label=gettext_lazy("整治行动"), queryset=Campaign.objects.all())
    file = forms.FileField(label=gettext_lazy("小微园清单文件"))
    check_only = forms.BooleanField(label=gettext_lazy("只检查，不写入"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_file_bytes():
            raise ValidationError(_("文件超过%(max)d MB 的上限") % {"max": max_file_bytes() // (1024 * 1024)})
        return upload


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
def park_upload(request):
    """import_parks in the browser: check the file, then write all of it or nothing."""
    picked = picker_state(request).campaign
    form = ParkUploadForm(request.POST or None, request.FILES or None, initial={"campaign": picked})
    context = {"form": form, "errors": [], "plan": None}
    if request.method == "POST" and form.is_valid():
        plan = parse_parks(form.cleaned_data["file"], form.cleaned_data["campaign"])
        context.update(plan=plan, errors=[str(i) for i in plan.errors[:SHOWN_ERRORS]], error_count=len(plan.errors))
        context["warnings"] = [str(issue) for issue in plan.warnings[:SHOWN_ERRORS]]
        if plan.ok and not form.cleaned_data["check_only"]:
            try:
                apply_parks(plan, user=request.user)
            except ParkImportError as exc:
                context["errors"], context["error_count"] = [str(exc)], 1
            else:
                messages.success(request, _("导入完成：%(summary)s") % {"summary": plan.summary()})
                return redirect("parks:list")
    return render(request, "parks/upload.html", context)


# --- 零四无 demonstrations -------------------------------------------------------------------------


@allow(get=ALL_ROLES)
def zero_list(request):
    """Every township, its demonstration and its villages that have applied, for the picked campaign."""
    campaign = picker_state(request).campaign
    if campaign is None:
        return render(request, "parks/zero_list.html", {"campaign": None, "townships": []})
    demos_of = campaign.demonstrations.select_related("village", "applied_by", "checked_by", "designated_by")
    townships = Township.objects.filter(is_active=True).prefetch_related(
        Prefetch("demonstrations", queryset=demos_of.order_by("village__name"), to_attr="campaign_demos")
    )
    rows = []
    for township in townships:
        own = next((d for d in township.campaign_demos if d.village_id is None), None)
        villages = [(d, demos.state_of(d)) for d in township.campaign_demos if d.village_id is not None]
        rows.append({"township": township, "demo": own, "state": demos.state_of(own), "villages": villages})
    designated = [d for row in rows for d in [row["demo"], *(v for v, _s in row["villages"])] if d and d.designated_on]
    return render(
        request,
        "parks/zero_list.html",
        {
            "campaign": campaign,
            "rows": rows,
            "designated_townships": sum(1 for d in designated if d.village_id is None),
            "designated_villages": sum(1 for d in designated if d.village_id is not None),
            "clean_days": demos.CLEAN_DAYS,
        },
    )


class StepForm(forms.Form):
    step = forms.ChoiceField(choices=[(demos.APPLY, ""), (demos.CHECK, ""), (demos.DESIGNATE, "")])
    day = forms.DateField(label=gettext_lazy("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    note = forms.CharField(
        label=gettext_lazy("验收意见"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


STEP_LABELS = {
    demos.APPLY: gettext_lazy("申报日期"),
    demos.CHECK: gettext_lazy("验收日期"),
    demos.DESIGNATE: gettext_lazy("命名日期"),
}


@allow(get=ALL_ROLES, post=STEP_WRITERS)
def zero_township(request, slug, township_pk):
    return _zero_place(request, slug, township_pk, None)


@allow(get=ALL_ROLES, post=STEP_WRITERS)
def zero_village(request, slug, township_pk, village_pk):
    return _zero_place(request, slug, township_pk, village_pk)


def _zero_place(request, slug, township_pk, village_pk):
    """A township's or a village's demonstration: its steps so far, the form of its next step (for
    those who may take it), whether it is clean today; a township's page lists its villages too."""
    campaign = get_object_or_404(Campaign, slug=slug)
    township = get_object_or_404(Township, pk=township_pk)
    village = get_object_or_404(Village, pk=village_pk, township=township) if village_pk else None
    if (
        request.method == "POST"
        and role_of(request.user) == Role.TOWNSHIP_STAFF
        and not demos.may(request.user, demos.APPLY, township)
    ):
        raise_404_outside(request, township)
    demo = (
        Demonstration.objects.filter(campaign=campaign, township=township, village=village)
        .select_related("applied_by", "checked_by", "designated_by")
        .first()
    )
    step = demos.next_step(demo)
    today = timezone.localdate()
    form = StepForm(request.POST or None, initial={"step": step, "day": campaign.clamp(today)})
    if request.method == "POST" and form.is_valid():
        try:
            _take(form.cleaned_data, campaign, township, village, demo, request.user)
        except PermissionDenied:
            form.add_error(None, _("您无权进行这一步"))
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("已保存"))
            return redirect(request.path)
    context = {
        "campaign": campaign,
        "township": township,
        "village": village,
        "place": village or township,
        "demo": demo,
        "state": demos.state_of(demo),
        "step": step,
        "step_label": STEP_LABELS.get(step, ""),
        "may_step": step is not None and demos.may(request.user, step, township),
        "form": form,
        "clean": demos.eligibility(township=township, village=village, day=campaign.clamp(today)),
        "clean_days": demos.CLEAN_DAYS,
        "history": demo.history.select_related("history_user").order_by("history_id") if demo else [],
    }
    if village is None:
        states = {
            d.village_id: d
            for d in Demonstration.objects.filter(campaign=campaign, township=township, village__isnull=False)
        }
        context["villages"] = [(v, demos.state_of(states.get(v.pk))) for v in township.villages.order_by("name")]
    return render(request, "parks/zero_place.html", context)


def raise_404_outside(request, township):
    """Another township's staff: the place answers like one that does not exist (as units do)."""
    log_denial(request.user, "outside scope", obj=township)
    raise Http404(_("找不到该记录"))


def _take(data, campaign, township, village, demo, user):
    step, day = data["step"], data["day"]
    if step != demos.next_step(demo):
        raise ValidationError(_("该示范创建当前不在这一步，请刷新页面"))
    if step == demos.APPLY:
        demos.demonstration_apply(campaign=campaign, township=township, village=village, applied_on=day, user=user)
    elif step == demos.CHECK:
        demos.demonstration_check(demonstration=demo, checked_on=day, note=data.get("note", ""), user=user)
    else:
        demos.demonstration_designate(demonstration=demo, designated_on=day, user=user)
