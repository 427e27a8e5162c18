"""Forms of the inspection loop. Each only collects and shapes input: every rule is the service's.

The services raise ``ValidationError`` keyed by field; ``apply_errors`` puts each message next to
its field (or above the form when the key is no field of it), so a refusal is never a 500.
"""

import re

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.forms import outside_year_error, photos_again_error
from campaign.models import Campaign, Township
from core.access import scope_townships
from enterprises.forms import DateInput, MultiplePhotoField, NoColonMixin, PhotoPositionMixin
from enterprises.models import Defect, Enterprise, Method
from enterprises.photos import MAX_PHOTOS, MAX_UPLOAD_BYTES, store_photos
from enterprises.services import attribute

from . import services
from .models import CHECKLIST_FIELDS, FindingKind, InspectionPhoto, Kind, Lookback, QualitySettings, Severity


def apply_errors(form, exc):
    """Show a service's ValidationError on ``form``: keyed messages beside their fields, others on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        field = key if key in form.fields and key != NON_FIELD_ERRORS else None
        form.add_error(field, errors)


def _today():
    return timezone.localdate()


def _max_today(field):
    field.widget.attrs["max"] = _today().isoformat()


def default_day(as_of, *, earliest=None, no_future=True):
    """A date field's first value: the picker's as-of day (today without a campaign), no later than
    today where future days are refused, and no earlier than ``earliest`` (the day the record it
    follows was made)."""
    day = as_of or _today()
    if no_future:
        day = min(day, _today())
    if earliest is not None:
        day = max(day, earliest)
    return day


def _photo_help():
    return gettext("可拍照或从相册选择，最多%(n)d张，每张不超过%(mb)dMB") % {
        "n": MAX_PHOTOS,
        "mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }


# --- dates outside the campaign's year -------------------------------------------------------------

CONFIRM_DATES = "confirm_dates"


class CampaignYearCheck:
    """Dates outside the chosen campaign's year are saved only once confirmed.

    A first submission with such a date is refused with a warning beside each date, and the form
    gains a checkbox (``confirm_dates``); submitting again with it ticked saves. The campaign is the
    picker's (``year_campaign``) or, for a form that names its own campaign, the one chosen in it.
    Without a campaign nothing is checked.
    """

    year_fields = ()

    def setup_year_check(self, campaign):
        self.year_campaign = campaign
        if self.is_bound and self.data.get(CONFIRM_DATES):
            self._confirm_field()  # ticked in the earlier round: keep it, ticked

    def _confirm_field(self):
        if CONFIRM_DATES not in self.fields:
            self.fields[CONFIRM_DATES] = forms.BooleanField(
                label=_("日期无误，仍然保存"),
                required=False,
                help_text=_("上面标出的日期不在所选整治行动的年度内；核对无误后勾选此项，再次提交即可保存"),
            )
        return self.fields[CONFIRM_DATES]

    def campaign_for_year(self, cleaned):
        return getattr(self, "year_campaign", None)

    def check_year(self, cleaned):
        campaign = self.campaign_for_year(cleaned)
        if campaign is None:
            return
        outside = [name for name in self.year_fields if cleaned.get(name) and not campaign.contains(cleaned[name])]
        if not outside or cleaned.get(CONFIRM_DATES):
            return
        self._confirm_field()
        for name in outside:
            self.add_error(name, outside_year_error(campaign, cleaned[name]))
        self.add_error(
            CONFIRM_DATES,
            ValidationError(gettext("日期不在本年度内，尚未保存。如确无误，请勾选此项后再次提交"), code="confirm"),
        )
        if cleaned.get("photos"):
            self.add_error("photos", photos_again_error())

    def clean(self):
        cleaned = super().clean()
        self.check_year(cleaned)
        return cleaned


class CheckboxScroll(forms.CheckboxSelectMultiple):
    """A long list of checkboxes (the townships of a cross round) in a box that scrolls on its own."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "choices-scroll", **(attrs or {})}, choices)


# --- the unit picker -----------------------------------------------------------------------------

# Separators between unit numbers typed into the picker's plain field (without JavaScript).
_ID_SEPARATORS = re.compile(r"[\s,，、;；]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_PICKED_UNITS = 500
# Units offered first (those an inspection covered): more than this and the rest are searched for.
MAX_SUGGESTED_UNITS = 100


def _submitted_values(value):
    """The picker's submitted values as a list of strings (a checkbox per chosen unit, the typed field)."""
    if value is None:
        return []
    if isinstance(value, str | int | Enterprise):
        value = [value]
    return [str(item.pk if isinstance(item, Enterprise) else item) for item in value if item not in (None, "")]


def _tokens(values):
    return [token for value in values for token in _ID_SEPARATORS.split(value) if token]


def _unit_ids(value):
    """The unit ids in ``value`` that look like ids, in order, once each (for showing, never trusted)."""
    ids = (int(token) for token in _tokens(_submitted_values(value)) if token.isdigit() and len(token) <= 18)
    return list(dict.fromkeys(ids))


class UnitPicker(forms.Widget):
    """A unit field that never lists a township's units: the chosen ones (and the ``suggested`` ones,
    e.g. those an inspection covered) as checkboxes or radio buttons, plus a plain field for unit
    numbers and a link to the search page. static/js/unit-picker.js turns it into a search box with
    results and chips; its configuration travels in data-* attributes (no inline script or style).

    Rendered with the project's templates (templates/inspections/_unit_picker.html), not the form
    renderer's, so it can use {% url %} and {% translate %} like every page.
    """

    template_name = "inspections/_unit_picker.html"

    def __init__(self, attrs=None, *, multiple=True):
        super().__init__(attrs)
        self.multiple = multiple
        self.queryset = Enterprise.objects.none()
        self.townships = ()
        self.suggested = None  # a queryset of units offered first, or None

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else _submitted_values(data.get(name))

    def value_omitted_from_data(self, data, files, name):
        return name not in data

    def format_value(self, value):
        return _unit_ids(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        ids = context["widget"]["value"]
        suggested, more = [], False
        if self.suggested is not None:
            suggested = list(self.suggested.select_related("village")[: MAX_SUGGESTED_UNITS + 1])
            more = len(suggested) > MAX_SUGGESTED_UNITS
            suggested = suggested[:MAX_SUGGESTED_UNITS]
        offered = {unit.pk for unit in suggested}
        # Only the chosen units are read: one query, whatever the size of the township.
        wanted = [pk for pk in ids if pk not in offered]
        chosen = (
            {unit.pk: unit for unit in self.queryset.filter(pk__in=wanted).select_related("village")} if wanted else {}
        )
        options = [{"unit": unit, "checked": unit.pk in ids, "suggested": True} for unit in suggested]
        options += [{"unit": chosen[pk], "checked": True, "suggested": False} for pk in wanted if pk in chosen]
        context.update(
            {
                "multiple": self.multiple,
                "options": options,
                "has_suggested": bool(suggested),
                "more_suggested": more,
                "townships": ",".join(str(pk) for pk in self.townships),
                "max_suggested": MAX_SUGGESTED_UNITS,
                "describedby": context["widget"]["attrs"].get("aria-describedby", ""),
            }
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The widget's own Django template (autoescaping), not the Jinja2 form renderer's engine.
        context = self.get_context(name, value, attrs)
        return mark_safe(render_to_string(self.template_name, context))  # noqa: S308  # nosec B308, B703  # an autoescaping template


class UnitPickerField(forms.Field):
    """Units (``multiple``) or one unit chosen with the picker, checked against ``queryset``: the
    units the form may name. Whatever the browser sends is checked here, never trusted."""

    widget = UnitPicker
    default_error_messages = {
        "invalid": _("单位编号须为数字：%(value)s"),
        "missing": _("单位编号%(ids)s不存在，或不是可选择的单位"),
        "too_many": _("一次最多选择%(n)d家单位"),
        "one": _("只能选择一家单位"),
    }

    def __init__(self, *, queryset=None, multiple=True, **kwargs):
        self.multiple = multiple
        kwargs.setdefault("widget", UnitPicker(multiple=multiple))
        super().__init__(**kwargs)
        self.queryset = queryset if queryset is not None else Enterprise.objects.none()

    @property
    def queryset(self):
        return self._queryset

    @queryset.setter
    def queryset(self, queryset):
        self._queryset = queryset
        self.widget.queryset = queryset

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.queryset = self._queryset.all()
        return result

    def prepare_value(self, value):
        return _submitted_values(value)

    def to_python(self, value):
        """The unit ids submitted, in order, once each; a token that is no number is refused."""
        tokens = _tokens(_submitted_values(value))
        if len(tokens) > MAX_PICKED_UNITS:
            raise ValidationError(self.error_messages["too_many"], code="too_many", params={"n": MAX_PICKED_UNITS})
        bad = [token for token in tokens if not token.isdigit() or len(token) > 18]
        if bad:
            shown = _CONTROL.sub("", bad[0])[:20]
            raise ValidationError(self.error_messages["invalid"], code="invalid", params={"value": shown})
        return list(dict.fromkeys(int(token) for token in tokens))

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        if not self.multiple and len(value) > 1:
            raise ValidationError(self.error_messages["one"], code="one")

    def clean(self, value):
        ids = self.to_python(value)
        self.validate(ids)
        if not ids:
            return [] if self.multiple else None
        found = {unit.pk: unit for unit in self.queryset.filter(pk__in=ids)}
        missing = [pk for pk in ids if pk not in found]
        if missing:
            raise ValidationError(
                self.error_messages["missing"], code="missing", params={"ids": "、".join(map(str, missing[:10]))}
            )
        units = [found[pk] for pk in ids]
        return units if self.multiple else units[0]

    def has_changed(self, initial, data):
        return _unit_ids(initial) != _unit_ids(data)


class YesNoField(forms.TypedChoiceField):
    """是 / 否 as radio buttons, cleaned to True / False (None when left empty and not required)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(
            choices=[("yes", _("是")), ("no", _("否"))],
            coerce=lambda value: value == "yes",
            empty_value=None,
            widget=forms.RadioSelect,
            **kwargs,
        )


# --- inspections ---------------------------------------------------------------------------------


class InspectionForm(PhotoPositionMixin, CampaignYearCheck, NoColonMixin, forms.Form):
    """督查: a visit to one township. ``township`` is fixed by the view (picked first, or the cross
    assignment's inspected township); the units offered are that township's. The date starts at the
    picker's as-of day (``as_of``) and is checked against its ``campaign``'s year."""

    year_fields = ("inspected_on",)

    kind = forms.ChoiceField(label=_("督查方式"), choices=Kind.choices, widget=forms.RadioSelect)
    inspected_on = forms.DateField(label=_("督查日期"), widget=DateInput)
    team = forms.CharField(label=_("督查组/部门"), max_length=100)
    units = UnitPickerField(
        label=_("检查的单位"), required=False, help_text=_("按单位名称、村(社区)、地址或信用代码搜索，可选多家")
    )
    present = forms.CharField(label=_("参加人员"), max_length=255, required=False)
    notes = forms.CharField(label=_("督查情况"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    photos = MultiplePhotoField(label=_("现场照片"))

    def __init__(self, *args, township, cross=False, team="", campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.township = township
        # The units that may be named: the inspected township's. Only the chosen ones are ever read.
        self.fields["units"].queryset = Enterprise.objects.alive().filter(township=township)
        self.fields["units"].widget.townships = (township.pk,)
        self.fields["inspected_on"].initial = default_day(as_of)
        _max_today(self.fields["inspected_on"])
        if cross:
            # Township staff record a cross inspection only: the kind is not theirs to pick.
            del self.fields["kind"]
        if team:
            self.fields["team"].initial = team
        self.fields["photos"].help_text = _photo_help()
        self.setup_year_check(campaign)

    def save(self, *, user, kind=None, assignment=None):
        """Record the inspection and its photos together; None (with the reasons on the form) if refused."""
        data = self.cleaned_data
        try:
            with transaction.atomic():
                inspection = services.inspection_record(
                    kind=kind or data["kind"],
                    inspected_on=data["inspected_on"],
                    team=data["team"],
                    township=self.township,
                    units=list(data["units"]),
                    present=data["present"],
                    notes=data["notes"],
                    assignment=assignment,
                    user=user,
                )
                attach_inspection_photos(inspection=inspection, photos=data.get("photos", []), user=user)
        except ValidationError as exc:
            apply_errors(self, exc)
            return None
        return inspection


def attach_inspection_photos(*, inspection, photos, user=None):
    """Store cleaned photos (enterprises/photos.py) of ``inspection``; files already written are
    removed again if a row fails, so a failed submission leaves nothing behind."""

    def make_row(**fields):
        row = attribute(InspectionPhoto(inspection=inspection, uploaded_by=user, **fields), user)
        row.save(force_insert=True)
        return row

    return store_photos(photos, make_row)


class FollowUpForm(CampaignYearCheck, NoColonMixin, forms.Form):
    """A planned follow-up carried out: its date starts at the day it was planned for (the serious
    finding's deadline, a day of the campaign already), no later than today."""

    year_fields = ("inspected_on",)

    inspected_on = forms.DateField(label=_("督查日期"), widget=DateInput)
    present = forms.CharField(label=_("参加人员"), max_length=255, required=False)
    notes = forms.CharField(label=_("督查情况"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, inspection, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspected_on"].initial = min(inspection.inspected_on, _today())
        _max_today(self.fields["inspected_on"])
        self.fields["notes"].initial = inspection.notes
        self.setup_year_check(campaign)


# --- findings ------------------------------------------------------------------------------------


class FindingForm(NoColonMixin, forms.Form):
    """问题: on a registered unit of the inspected township, or a missed unit (漏排) entered here."""

    kind = forms.ChoiceField(label=_("问题类型"), choices=FindingKind.choices, widget=forms.RadioSelect)
    severity = forms.ChoiceField(
        label=_("严重程度"),
        choices=Severity.choices,
        initial=Severity.NORMAL,
        widget=forms.RadioSelect,
        help_text=_("严重问题将在整改期限当天安排一次跟踪督查"),
    )
    enterprise = UnitPickerField(
        label=_("问题所在单位"),
        multiple=False,
        required=False,
        help_text=_(
            "先从本次督查检查的单位中选择，不在其中的可搜索本乡镇(街道)其他单位；漏排问题不选，在下方填写漏排单位"
        ),
    )
    description = forms.CharField(label=_("问题描述"), widget=forms.Textarea(attrs={"rows": 3}))
    deadline = forms.DateField(label=_("整改期限"), widget=DateInput)
    name = forms.CharField(label=_("漏排单位名称"), max_length=200, required=False)
    address = forms.CharField(label=_("漏排单位地址"), max_length=255, required=False)
    defects = forms.MultipleChoiceField(
        label=_("漏排单位的四无情形"), choices=Defect.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    owner = forms.CharField(label=_("负责人"), max_length=64, required=False)
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )

    MISSED_FIELDS = ("name", "address", "defects", "owner", "phone")

    def __init__(self, *args, inspection, default_deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self.inspection = inspection
        units = Enterprise.objects.alive().filter(township_id=inspection.township_id)
        field = self.fields["enterprise"]
        field.queryset = units
        field.widget.townships = (inspection.township_id,)
        # Offered first: the units the inspection covered, and the unit a follow-up inspection follows.
        field.widget.suggested = (
            units.filter(Q(inspections=inspection) | Q(findings__follow_ups=inspection))
            .distinct()
            .order_by("name", "pk")
        )
        self.fields["deadline"].initial = default_deadline
        self.fields["deadline"].widget.attrs["min"] = inspection.inspected_on.isoformat()

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == FindingKind.MISSED:
            if not (cleaned.get("name") or "").strip():
                self.add_error("name", gettext("漏排问题请填写漏排单位名称"))
            if not cleaned.get("defects"):
                self.add_error("defects", gettext("至少选择一种四无情形"))
        elif kind and not cleaned.get("enterprise") and "enterprise" not in self.errors:
            self.add_error("enterprise", gettext("请选择问题所在的单位"))
        return cleaned

    def service_kwargs(self):
        data = self.cleaned_data
        kwargs = {
            "inspection": self.inspection,
            "kind": data["kind"],
            "severity": data["severity"],
            "description": data["description"],
            "deadline": data["deadline"],
        }
        if data["kind"] == FindingKind.MISSED:
            new_unit = {name: data.get(name, "") for name in ("name", "address", "owner", "phone")}
            new_unit["name"] = new_unit["name"].strip()
            new_unit.update({defect.value: defect.value in data.get("defects", []) for defect in Defect})
            kwargs["new_unit"] = new_unit
        else:
            kwargs["enterprise"] = data["enterprise"]
        return kwargs


class FindingRectifiedForm(PhotoPositionMixin, CampaignYearCheck, NoColonMixin, forms.Form):
    """整改完成: its date, what was done and site photos, taken like a rectification's evidence
    (enterprises/photos.py). At least one photo: close-off (销号) needs it, and the township is on
    site with the phone when it reports, not when the inspector comes to verify."""

    year_fields = ("rectified_on",)

    rectified_on = forms.DateField(label=_("整改完成日期"), widget=DateInput)
    note = forms.CharField(label=_("整改情况"), widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultiplePhotoField(
        label=_("整改后现场照片"),
        required=True,
        error_messages={"required": _("请上传至少一张整改后的现场照片，没有照片的整改不能验收销号")},
    )

    def __init__(self, *args, finding, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.finding = finding
        self.fields["rectified_on"].initial = default_day(as_of, earliest=finding.found_on)
        self.fields["rectified_on"].widget.attrs["min"] = finding.found_on.isoformat()
        _max_today(self.fields["rectified_on"])
        self.fields["rectified_on"].help_text = gettext("整改期限 %(day)s；晚于期限完成的记为逾期完成") % {
            "day": finding.deadline.isoformat()
        }
        self.fields["photos"].help_text = _photo_help()
        self.setup_year_check(campaign)

    def save(self, *, user):
        """Record the completion and its photos together; None (with the reasons on the form) if refused."""
        data = self.cleaned_data
        try:
            return services.finding_rectified(
                finding=self.finding,
                rectified_on=data["rectified_on"],
                note=data["note"],
                photos=data["photos"],
                user=user,
            )
        except ValidationError as exc:
            apply_errors(self, exc)
            return None


class FindingVerifyForm(CampaignYearCheck, NoColonMixin, forms.Form):
    year_fields = ("closed_on",)

    passed = forms.TypedChoiceField(
        label=_("验收结论"),
        choices=[("yes", _("通过，予以销号")), ("no", _("不通过，退回整改"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    closed_on = forms.DateField(label=_("验收日期"), widget=DateInput)
    note = forms.CharField(label=_("验收意见"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, finding, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["closed_on"].initial = default_day(as_of, earliest=finding.rectified_on or finding.found_on)
        _max_today(self.fields["closed_on"])
        self.setup_year_check(campaign)


# --- cross-inspection rounds ---------------------------------------------------------------------


class CrossRoundForm(CampaignYearCheck, NoColonMixin, forms.Form):
    year_fields = ("held_on", "ends_on")

    campaign = forms.ModelChoiceField(label=_("整治行动"), queryset=Campaign.objects.order_by("-start", "slug"))
    name = forms.CharField(label=_("轮次名称"), max_length=100)
    held_on = forms.DateField(label=_("开始日期"), widget=DateInput)
    ends_on = forms.DateField(
        label=_("结束日期"), widget=DateInput, help_text=_("督查方在此期间可只读查看被督查方的单位")
    )
    townships = forms.ModelMultipleChoiceField(
        label=_("参加的乡镇(街道)"),
        queryset=Township.objects.filter(is_active=True).order_by("sort_order", "name"),
        widget=CheckboxScroll,
        help_text=_("至少三个；系统随机安排谁督查谁，不会自查，也不会互查"),
    )
    seed = forms.IntegerField(
        label=_("随机种子"),
        required=False,
        min_value=0,
        max_value=2**62,
        help_text=_("可不填，由系统生成；填同一种子可重现同一安排"),
    )

    def __init__(self, *args, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].initial = campaign
        # A round may be planned ahead: the as-of day as it is, even a future one.
        self.fields["held_on"].initial = default_day(as_of, no_future=False)
        self.setup_year_check(campaign)

    def campaign_for_year(self, cleaned):
        return cleaned.get("campaign")


# --- look-backs ----------------------------------------------------------------------------------


class DrawForm(CampaignYearCheck, NoColonMixin, forms.Form):
    year_fields = ("as_of",)

    campaign = forms.ModelChoiceField(label=_("整治行动"), queryset=Campaign.objects.order_by("-start", "slug"))
    township = forms.ModelChoiceField(
        label=_("乡镇(街道)"), queryset=Township.objects.filter(is_active=True).order_by("sort_order", "name")
    )
    as_of = forms.DateField(label=_("抽取基准日"), widget=DateInput, help_text=_("从截至该日已整治的单位中抽取"))
    seed = forms.IntegerField(
        label=_("随机种子"),
        required=False,
        min_value=0,
        max_value=2**62,
        help_text=_("可不填，由系统生成；填同一种子可复核抽样结果"),
    )

    def __init__(self, *args, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].initial = campaign
        self.fields["as_of"].initial = default_day(as_of)
        _max_today(self.fields["as_of"])
        self.setup_year_check(campaign)

    def campaign_for_year(self, cleaned):
        return cleaned.get("campaign")


class ScheduleForm(CampaignYearCheck, NoColonMixin, forms.Form):
    year_fields = ("as_of",)

    campaign = forms.ModelChoiceField(label=_("整治行动"), queryset=Campaign.objects.order_by("-start", "slug"))
    as_of = forms.DateField(
        label=_("截至日期"), widget=DateInput, help_text=_("安排截至该日到期的回头看（按设置的间隔天数）")
    )

    def __init__(self, *args, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].initial = campaign
        self.fields["as_of"].initial = default_day(as_of, no_future=False)
        self.setup_year_check(campaign)

    def campaign_for_year(self, cleaned):
        return cleaned.get("campaign")


class LookbackCheckForm(PhotoPositionMixin, CampaignYearCheck, NoColonMixin, forms.Form):
    """回头看: found operating again or not; a shut-down unit's 两断三清, item by item; site photos."""

    year_fields = ("checked_on",)

    checked_on = forms.DateField(label=_("检查日期"), widget=DateInput)
    operating = forms.TypedChoiceField(
        label=_("是否恢复生产经营"),
        choices=[("no", _("否，未恢复")), ("yes", _("是，死灰复燃"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("检查情况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    team = forms.CharField(
        label=_("检查组/部门"), max_length=100, required=False, help_text=_("发现问题时记入回头看督查")
    )
    photos = MultiplePhotoField(label=_("现场照片"), help_text=_("拍摄时间和地点随照片留存，供核实"))

    def __init__(self, *args, lookback, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.closed = lookback.rectification.method == Method.CLOSED
        self.fields["checked_on"].initial = default_day(as_of, earliest=lookback.rectification.rectified_on)
        _max_today(self.fields["checked_on"])
        if self.closed:
            for name in CHECKLIST_FIELDS:
                self.fields[name] = YesNoField(label=Lookback._meta.get_field(name).verbose_name)
        self.setup_year_check(campaign)

    @property
    def checklist_fields(self):
        return [self[name] for name in CHECKLIST_FIELDS if name in self.fields]

    @property
    def other_fields(self):
        return [self[name] for name in self.fields if name not in (*CHECKLIST_FIELDS, CONFIRM_DATES)]

    @property
    def confirm_fields(self):
        """The confirmation of a date outside the year, once asked for: shown last, by the button."""
        return [self[CONFIRM_DATES]] if CONFIRM_DATES in self.fields else []

    def checklist(self):
        if not self.closed:
            return None
        return {name: self.cleaned_data[name] for name in CHECKLIST_FIELDS if self.cleaned_data.get(name) is not None}


# --- per-defect clearance ------------------------------------------------------------------------


class ClearanceForm(CampaignYearCheck, NoColonMixin, forms.Form):
    year_fields = ("cleared_on",)

    defect = forms.ChoiceField(label=_("消除的四无情形"), widget=forms.RadioSelect)
    cleared_on = forms.DateField(label=_("消除日期"), widget=DateInput)
    department = forms.CharField(label=_("签字部门"), max_length=100, help_text=_("如：市场监管所、应急管理办"))
    signed_by = forms.CharField(label=_("签字人"), max_length=50)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, enterprise, pending, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["defect"].choices = [
            (d.value, d.label) for d in Defect if getattr(enterprise, d.value) and d.value not in pending
        ]
        self.fields["cleared_on"].initial = default_day(as_of, earliest=enterprise.identified_on)
        self.fields["cleared_on"].widget.attrs["min"] = enterprise.identified_on.isoformat()
        _max_today(self.fields["cleared_on"])
        self.setup_year_check(campaign)


# --- reconciliation ------------------------------------------------------------------------------


class ReconciliationOpenForm(NoColonMixin, forms.Form):
    township = forms.ModelChoiceField(label=_("乡镇(街道)"), queryset=Township.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        townships = Township.objects.filter(is_active=True).order_by("sort_order", "name")
        self.fields["township"].queryset = scope_townships(user, townships)


class DisputeForm(NoColonMixin, forms.Form):
    """A difference between the system's list and the township's own, about a unit or a finding."""

    item = forms.ChoiceField(label=_("涉及的单位或问题"), required=False)
    description = forms.CharField(label=_("差异说明"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, reconciliation, **kwargs):
        super().__init__(*args, **kwargs)
        snapshot = reconciliation.snapshot or {}
        choices = [("", gettext("（不涉及具体单位或问题）"))]
        choices += [
            (f"unit:{row[0]}", gettext("单位：%(name)s") % {"name": row[1]}) for row in snapshot.get("units", [])
        ]
        choices += [
            (f"finding:{row[0]}", gettext("问题：%(name)s %(kind)s") % {"name": row[1], "kind": row[2]})
            for row in snapshot.get("findings", [])
        ]
        self.fields["item"].choices = choices

    def targets(self):
        """(enterprise_id, finding_id) the chosen item names."""
        kind, _sep, pk = (self.cleaned_data.get("item") or "").partition(":")
        return (int(pk), None) if kind == "unit" else (None, int(pk)) if kind == "finding" else (None, None)


class ResolveForm(NoColonMixin, forms.Form):
    resolution = forms.CharField(label=_("处理结果"), widget=forms.Textarea(attrs={"rows": 2}))


# --- settings and the quality report -------------------------------------------------------------


class QualitySettingsForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = QualitySettings
        fields = ["lookback_offsets", "sample_percent", "sample_minimum", "clean_days", "deadline_days"]

    def clean_lookback_offsets(self):
        text = self.cleaned_data["lookback_offsets"].replace("，", ",")
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not parts or not all(part.isdigit() and 0 < int(part) <= 3660 for part in parts):
            raise ValidationError(gettext("请填写正整数天数，用逗号分隔，如 30,90,180"), code="invalid")
        return ",".join(str(n) for n in sorted({int(part) for part in parts}))

    def clean_clean_days(self):
        days = self.cleaned_data["clean_days"]
        if not days:
            raise ValidationError(gettext("天数须大于0"), code="invalid")
        return days


class PeriodForm(NoColonMixin, forms.Form):
    """The quality report's period; both ends are clamped to the campaign by the view."""

    start = forms.DateField(label=_("起始日期"), required=False, widget=DateInput)
    end = forms.DateField(label=_("截止日期"), required=False, widget=DateInput)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", gettext("截止日期不能早于起始日期"))
        return cleaned
