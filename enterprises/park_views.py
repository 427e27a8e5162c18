"""Pages of the 加法 side that write the register (docs/parks.md): entries into a park by hand
(登记入园, through the entry rules), leaving, flags and yearly tax of an entry; freed land (腾退土地)
by township as of a day, a parcel's stages and tax, and the land list as .xlsx.

Who may do what: every role reads in its scope (township staff their own township's parks and
land); city admins and the township's own staff write. Another township's staff get 404 on a
park, entry or parcel of another township, read or write, as for units (core.access).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.context_processors import picker_state
from campaign.models import BuiltIn, Park, ParkStagePhoto, Township
from campaign.parks import indicator_charts, occupancy, picked_township
from core import params
from core.access import (
    ALL_ROLES,
    Role,
    allow,
    get_scoped_or_404,
    log_denial,
    role_of,
    scope_by_township,
    scope_queryset,
    scope_townships,
    township_id_of,
)
from core.sheets import Table, table_file
from core.storage import save_with_files

from . import land, parks
from .forms import MultiplePhotoField, PhotoPositionMixin
from .models import Enterprise, LandParcel, Method, ParkEntry, Rectification

WRITERS = frozenset({Role.CITY_ADMIN, Role.TOWNSHIP_STAFF})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class PlainForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _add_errors(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        for message in exc.messages:
            form.add_error(None, message)


# --- entries ----------------------------------------------------------------------------------


class EntryForm(PlainForm):
    enterprise = forms.ModelChoiceField(
        label=gettext_lazy("搬迁入园的四无单位"),
        queryset=Enterprise.objects.none(),
        required=False,
        help_text=gettext_lazy("以“搬迁入园”方式整治、尚未登记入园的本乡镇单位；选择后名称等可留空"),
    )
    name = forms.CharField(label=gettext_lazy("企业名称"), max_length=200, required=False)
    credit_code = forms.CharField(label=gettext_lazy("统一社会信用代码"), max_length=18, required=False)
    industry = forms.CharField(label=gettext_lazy("行业"), max_length=64, required=False)
    entered_on = forms.DateField(label=gettext_lazy("入园日期"), widget=DateInput())
    declared_tax_per_mu = forms.DecimalField(
        label=gettext_lazy("申报亩均税收(万元/亩)"), required=False, min_value=0, max_digits=10, decimal_places=2
    )
    company_form = forms.BooleanField(label=gettext_lazy("公司制"), required=False, initial=True)
    individual_to_company = forms.BooleanField(label=gettext_lazy("个转企"), required=False)
    tech_sme = forms.BooleanField(label=gettext_lazy("科技型中小企业"), required=False)
    note = forms.CharField(label=gettext_lazy("备注"), max_length=500, required=False)
    reason = forms.CharField(
        label=gettext_lazy("理由（园区已满或准予例外时填写）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    exception = forms.BooleanField(
        label=gettext_lazy("准予例外（市级管理员：不受负面清单、准入门槛限制）"), required=False
    )

    def __init__(self, *args, park, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].queryset = relocated_units(park)
        if role_of(user) != Role.CITY_ADMIN:
            del self.fields["exception"]


def relocated_units(park):
    """Units of the park's township rectified by 搬迁入园 that have no entry yet (alive)."""
    entered = ParkEntry.objects.filter(enterprise=OuterRef("pk"), deleted_at__isnull=True)
    relocated = Rectification.objects.filter(enterprise=OuterRef("pk"), method=Method.RELOCATED)
    return (
        Enterprise.objects.alive()
        .filter(Exists(relocated), ~Exists(entered), township_id=park.township_id)
        .order_by("name")
    )


def _park_for_write(request, pk):
    park = get_scoped_or_404(request.user, Park.objects.select_related("township"), pk=pk)
    if request.method == "POST" and not parks.may_write(request.user, park.township_id):
        raise PermissionDenied
    return park


@allow(get=WRITERS, post=WRITERS)
def entry_add(request, pk):
    """登记入园: an enterprise (or a relocated unit) enters the park, through the entry rules."""
    park = _park_for_write(request, pk)
    today = timezone.localdate()
    initial = {"entered_on": today, "company_form": True}
    picked = params.id_or_none(request.GET.get("unit")) if request.method == "GET" else None
    form = EntryForm(request.POST or None, park=park, user=request.user, initial=initial)
    if picked:
        unit = form.fields["enterprise"].queryset.filter(pk=picked).first()
        if unit is not None:
            form.initial.update(_from_unit(unit))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = data["enterprise"]
        facts = _from_unit(unit) if unit is not None else {}
        try:
            entry = parks.entry_create(
                park=park,
                user=request.user,
                enterprise=unit,
                name=data["name"] or facts.get("name", ""),
                credit_code=data["credit_code"] or facts.get("credit_code", ""),
                industry=data["industry"] or facts.get("industry", ""),
                entered_on=data["entered_on"],
                declared_tax_per_mu=data["declared_tax_per_mu"],
                company_form=data["company_form"],
                individual_to_company=data["individual_to_company"],
                tech_sme=data["tech_sme"],
                note=data["note"],
                reason=data["reason"],
                exception=data.get("exception", False),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已登记入园：%(name)s") % {"name": entry.name})
            return redirect("parks:detail", park.pk)
    taken = occupancy(park, today)
    return render(
        request,
        "parks/entry_form.html",
        {"park": park, "form": form, "occupancy": taken, "refused": park.refused_industries()},
    )


def _from_unit(unit):
    rectified = unit.rectifications.filter(method=Method.RELOCATED).order_by("-rectified_on").first()
    facts = {"enterprise": unit.pk, "name": unit.name, "credit_code": unit.credit_code, "industry": unit.industry}
    if rectified is not None:
        facts["entered_on"] = rectified.rectified_on
    facts["company_form"] = (unit.credit_code or "").startswith("91")
    return facts


def _entry_or_404(request, pk):
    entries = ParkEntry.objects.filter(deleted_at__isnull=True).select_related("park__township", "enterprise")
    entry = scope_by_township(request.user, entries, "park__township").filter(pk=pk).first()
    if entry is None:
        hidden = entries.filter(pk=pk).first()
        if hidden is not None:
            log_denial(request.user, "outside scope", obj=hidden)
        raise Http404(_("找不到该记录"))
    if request.method == "POST" and not parks.may_write(request.user, entry.park.township_id):
        raise PermissionDenied
    return entry


class FlagsForm(PlainForm):
    company_form = forms.BooleanField(label=gettext_lazy("公司制"), required=False)
    individual_to_company = forms.BooleanField(label=gettext_lazy("个转企"), required=False)
    tech_sme = forms.BooleanField(label=gettext_lazy("科技型中小企业"), required=False)


class LeaveForm(PlainForm):
    left_on = forms.DateField(label=gettext_lazy("退园日期"), widget=DateInput())


class TaxForm(PlainForm):
    year = forms.CharField(label=gettext_lazy("年度"), max_length=4)
    tax_10k_yuan = forms.CharField(label=gettext_lazy("税收(万元)"), max_length=20)
    land_mu = forms.CharField(label=gettext_lazy("用地(亩)"), max_length=20, required=False)


ENTRY_ACTIONS = {"flags": FlagsForm, "leave": LeaveForm, "tax": TaxForm}


@allow(get=ALL_ROLES, post=WRITERS)
def entry_detail(request, pk):
    """An entry: its facts, its yearly tax, its history; its writers correct flags, record leaving
    and tax (one form per action, ``action`` says which)."""
    entry = _entry_or_404(request, pk)
    today = timezone.localdate()
    bound = {}
    action = request.POST.get("action") if request.method == "POST" else None
    if action is not None and action not in ENTRY_ACTIONS:
        action = None
    if action:
        form = ENTRY_ACTIONS[action](request.POST, prefix=action)
        bound[action] = form
        if form.is_valid():
            data = form.cleaned_data
            try:
                if action == "flags":
                    parks.entry_flags(entry=entry, user=request.user, **data)
                elif action == "leave":
                    parks.entry_leave(entry=entry, left_on=data["left_on"], user=request.user)
                else:
                    parks.tax_return_record(entry=entry, user=request.user, **data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("已保存"))
                return redirect("park_entries:detail", entry.pk)
    forms_ = {
        "flags": bound.get("flags")
        or FlagsForm(
            prefix="flags",
            initial={
                "company_form": entry.company_form,
                "individual_to_company": entry.individual_to_company,
                "tech_sme": entry.tech_sme,
            },
        ),
        "leave": bound.get("leave") or LeaveForm(prefix="leave", initial={"left_on": today}),
        "tax": bound.get("tax") or TaxForm(prefix="tax", initial={"year": today.year - 1}),
    }
    returns = [(r, parks.return_per_mu(r)) for r in entry.tax_returns.order_by("-year")]
    return render(
        request,
        "parks/entry_detail.html",
        {
            "entry": entry,
            "park": entry.park,
            "forms": forms_,
            "may_write": parks.may_write(request.user, entry.park.township_id),
            "returns": returns,
            "history": entry.history.select_related("history_user").order_by("-history_id"),
        },
    )


# --- a park's stage photos (开工, 竣工) ------------------------------------------------------------


class StagePhotoForm(PhotoPositionMixin, PlainForm):
    stage = forms.ChoiceField(label=gettext_lazy("阶段"), choices=ParkStagePhoto.Stage.choices)
    photos = MultiplePhotoField(label=gettext_lazy("证据照片"), required=True)


@allow(post=WRITERS)
def park_stage_photos(request, pk):
    """Upload evidence photos of a park's stage (from the park's edit page; its writers only):
    re-encoded without EXIF, stored privately, each with its history row. Back to the edit page
    with what was stored, or with the refusal naming the field."""
    park = _park_for_write(request, pk)
    form = StagePhotoForm(request.POST, request.FILES)
    saved = None
    if form.is_valid():
        data = form.cleaned_data

        def save():
            try:
                return parks.stage_photos_attach(
                    park=park, stage=data["stage"], photos=data["photos"], user=request.user
                )
            except ValidationError as exc:
                _add_errors(form, exc)
                return None

        saved, _stored = save_with_files(
            save,
            form,
            refusal=_("照片未能保存（服务器存储空间不足或暂时无法写入），请稍后重试或联系管理员。"),
            log=("stage photos of park %s could not be stored", park.pk),
        )
    if form.errors:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else _("证据照片")
            for error in errors:
                messages.error(request, _("%(field)s：%(error)s") % {"field": label, "error": error})
    elif saved is not None:
        stage = ParkStagePhoto.Stage(form.cleaned_data["stage"]).label
        if saved:
            messages.success(request, _("已上传%(n)d张%(stage)s照片") % {"n": len(saved), "stage": stage})
        else:
            messages.info(request, _("这些照片此前已上传，未重复保存"))
    return redirect(reverse("parks:edit", args=[park.pk]) + "#stage-photos")


# --- freed land -------------------------------------------------------------------------------


def _land_settings(campaign):
    if campaign is None:
        return land.DEFAULT_IDLE_DAYS, None
    return campaign.idle_days, campaign.tax_standard_per_mu


LAND_PAGE_SIZE = 100
# The indicator the land page draws against its milestones (SPEC 5), when the campaign has it.
LAND_CHART_KEYS = (BuiltIn.LAND_FREED_MU,)


def _land_scope(request):
    """The parcels of the picked township (or the city, in scope), the picked day and the settings."""
    picker = picker_state(request)
    day = picker.as_of or timezone.localdate()
    idle_days, standard = _land_settings(picker.campaign)
    townships = list(scope_townships(request.user, Township.objects.filter(is_active=True)))
    township = picked_township(request.user, request.GET.get("township"), townships)
    parcels = scope_queryset(request.user, LandParcel.objects.all())
    if township is not None:
        parcels = parcels.filter(township=township)
    return {
        "campaign": picker.campaign,
        "day": day,
        "parcels": parcels,
        "township": township,
        "townships": townships,
        "idle_days": idle_days,
        "standard": standard,
    }


@allow(get=ALL_ROLES)
def land_list(request):
    """Freed land of a township (or the city) as of the picked day: the parcels by their stage that
    day (freed, supplied … exited) and the idle ones, freed land against its indicator's milestones,
    the 亩均税收 of the parcels in production in bands against the standard with those below it
    (for the 退出 review), and the parcels a page at a time with their stage that day."""
    context = _land_scope(request)
    day, parcels, standard = context["day"], context["parcels"], context["standard"]
    # The page's source units by key (one query for its 100 parcels): joined in the ordered query, the
    # planner joined every parcel of the city to the units before taking the page (65 ms at 5,000).
    shown = land.alive_by(parcels, day).select_related("township").prefetch_related("source")
    page = Paginator(shown, LAND_PAGE_SIZE).get_page(request.GET.get("page"))
    distribution = land.tax_distribution(parcels, day, standard=standard)
    below_ids = [parcel_id for parcel_id, _year, _per_mu in distribution.below]
    named = LandParcel.objects.select_related("township").in_bulk(below_ids) if below_ids else {}
    township = context["township"]
    context |= {
        "page": page,
        "rows": land.land_rows_of(list(page.object_list), day, idle_days=context["idle_days"], standard=standard),
        "summary": land.land_summary(parcels, day, idle_days=context["idle_days"]),
        "distribution": distribution,
        "below": [(named[pk], year, per_mu) for pk, year, per_mu in distribution.below],
        "charts": indicator_charts(context["campaign"], day, township.pk if township else None, LAND_CHART_KEYS),
        "may_add": role_of(request.user) in WRITERS,
    }
    return render(request, "parks/land_list.html", context)


@allow(get=ALL_ROLES)
def land_export(request):
    """The land page as .xlsx: every parcel of the picked township (or the city) freed by the day."""
    context = _land_scope(request)
    context["rows"] = land.land_rows(
        context["parcels"], context["day"], idle_days=context["idle_days"], standard=context["standard"]
    )
    headers = [
        _("乡镇(街道)"),
        _("地块名称"),
        _("面积(亩)"),
        _("原四无单位"),
        _("腾退日期"),
        _("供地日期"),
        _("开工日期"),
        _("投产日期"),
        _("退出日期"),
        _("当日阶段"),
        _("闲置天数"),
        _("闲置"),
        _("税收年度"),
        _("亩均税收(万元/亩)"),
        _("低于亩均税收标准"),
    ]
    rows = [
        [
            r.parcel.township.name,
            r.parcel.name,
            r.parcel.area_mu,
            r.parcel.source.name if r.parcel.source else "",
            r.parcel.freed_on,
            r.parcel.supplied_on,
            r.parcel.started_on,
            r.parcel.producing_on,
            r.parcel.exited_on,
            str(r.stage.label) if r.stage else "",
            r.idle_days,
            _("是") if r.idle else "",
            r.tax_year,
            r.per_mu,
            _("是") if r.below_standard else "",
        ]
        for r in context["rows"]
    ]
    table = Table(_("腾退土地"), headers, rows)
    place = context["township"].name if context["township"] else _("全市")
    name = _("腾退土地-%(place)s-%(day)s") % {"place": place, "day": f"{context['day']:%Y%m%d}"}
    return FileResponse(table_file(table, "xlsx"), as_attachment=True, filename=f"{name}.xlsx", content_type=XLSX)


class ParcelForm(PlainForm):
    township = forms.ModelChoiceField(label=gettext_lazy("乡镇(街道)"), queryset=Township.objects.none())
    name = forms.CharField(label=gettext_lazy("地块名称"), max_length=200)
    area_mu = forms.CharField(label=gettext_lazy("面积(亩)"), max_length=20)
    freed_on = forms.DateField(label=gettext_lazy("腾退日期"), widget=DateInput())
    source = forms.ModelChoiceField(
        label=gettext_lazy("原四无单位"),
        queryset=Enterprise.objects.none(),
        required=False,
        help_text=gettext_lazy("因其整治而腾出该地块的单位（可不填）"),
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=500, required=False)

    def __init__(self, *args, user, township=None, **kwargs):
        super().__init__(*args, **kwargs)
        townships = scope_townships(user, Township.objects.filter(is_active=True))
        self.fields["township"].queryset = townships
        if role_of(user) == Role.TOWNSHIP_STAFF:
            self.fields["township"].initial = township_id_of(user)  # their only choice
        units = Enterprise.objects.alive().select_related("township").order_by("township__name", "name")
        if township is not None:
            del self.fields["township"]
            units = units.filter(township=township)
        else:
            units = units.filter(township__in=townships)
        self.fields["source"].queryset = units


@allow(get=WRITERS, post=WRITERS)
def land_new(request):
    form = ParcelForm(request.POST or None, user=request.user, initial={"freed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            parcel = land.parcel_create(user=request.user, **data)
        except ValidationError as exc:
            _add_errors(form, exc)
        except PermissionDenied:
            raise Http404(_("找不到该记录")) from None
        else:
            messages.success(request, _("已登记腾退土地：%(name)s") % {"name": parcel.name})
            return redirect("land:detail", parcel.pk)
    return render(request, "parks/land_form.html", {"form": form, "parcel": None})


def _parcel(request, pk):
    parcels = LandParcel.objects.filter(deleted_at__isnull=True).select_related("township", "source")
    parcel = get_scoped_or_404(request.user, parcels, pk=pk)
    if request.method == "POST" and not parks.may_write(request.user, parcel.township_id):
        raise PermissionDenied
    return parcel


@allow(get=WRITERS, post=WRITERS)
def land_edit(request, pk):
    parcel = _parcel(request, pk)
    initial = {"name": parcel.name, "area_mu": parcel.area_mu, "freed_on": parcel.freed_on}
    initial.update(source=parcel.source_id, note=parcel.note)
    form = ParcelForm(request.POST or None, user=request.user, township=parcel.township, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            land.parcel_edit(parcel=parcel, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("land:detail", parcel.pk)
    return render(request, "parks/land_form.html", {"form": form, "parcel": parcel})


class StageForm(PlainForm):
    stage = forms.ChoiceField(label=gettext_lazy("阶段"), choices=[(s.key, s.label) for s in land.STAGES[1:]])
    on = forms.DateField(label=gettext_lazy("日期"), widget=DateInput())


@allow(get=ALL_ROLES, post=WRITERS)
def land_detail(request, pk):
    """A parcel: its stages with their dates and who recorded them, its next stage, its yearly tax."""
    parcel = _parcel(request, pk)
    today = timezone.localdate()
    action = request.POST.get("action") if request.method == "POST" else None
    stage_form = StageForm(request.POST if action == "stage" else None, prefix="stage", initial={"on": today})
    tax_form = TaxForm(
        request.POST if action == "tax" else None,
        prefix="tax",
        initial={"year": today.year - 1, "land_mu": parcel.area_mu},
    )
    form = {"stage": stage_form, "tax": tax_form}.get(action)
    if form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            if action == "stage":
                land.parcel_advance(parcel=parcel, stage=data["stage"], on=data["on"], user=request.user)
            else:
                parks.tax_return_record(parcel=parcel, user=request.user, **data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("land:detail", parcel.pk)
    following = land.next_stages(parcel)
    stage_form.fields["stage"].choices = [(s.key, s.label) for s in following]
    if following and not stage_form.is_bound:
        stage_form.initial["stage"] = following[0].key
    history = parcel.history.select_related("history_user").order_by("history_id")
    stamps = _stage_stamps(history)
    stages = [(s, getattr(parcel, s.field), stamps.get(s.key)) for s in land.STAGES]
    returns = [(r, parks.return_per_mu(r)) for r in parcel.tax_returns.order_by("-year")]
    return render(
        request,
        "parks/land_detail.html",
        {
            "parcel": parcel,
            "stages": stages,
            "current": land.current_stage(parcel),
            "following": following,
            "stage_form": stage_form,
            "tax_form": tax_form,
            "returns": returns,
            "may_write": parks.may_write(request.user, parcel.township_id),
            "history": history,
        },
    )


def _stage_stamps(history):
    """For each stage, the history row that first recorded its date: who and when."""
    stamps = {}
    for row in history:
        for stage in land.STAGES:
            if getattr(row, stage.field, None) is not None and stage.key not in stamps:
                stamps[stage.key] = row
    return stamps
