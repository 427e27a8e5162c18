"""Forms of the inspection loop. Each only collects and shapes input: every rule is the service's.

The services raise ``ValidationError`` keyed by field; ``apply_errors`` puts each message next to
its field (or above the form when the key is no field of it), so a refusal is never a 500.
"""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.access import scope_townships
from campaign.models import Campaign, Township
from enterprises.forms import DateInput, MultiplePhotoField, NoColonMixin
from enterprises.models import Defect, Enterprise, Method
from enterprises.photos import MAX_PHOTOS, MAX_UPLOAD_BYTES
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


class CheckboxScroll(forms.CheckboxSelectMultiple):
    """A long list of checkboxes (the units of a township) in a box that scrolls on its own."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "choices-scroll", **(attrs or {})}, choices)


class UnitChoiceField(forms.ModelMultipleChoiceField):
    """Units named with their address: two units of one township may share a name."""

    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.address}）" if obj.address else obj.name


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


class InspectionForm(NoColonMixin, forms.Form):
    """督查: a visit to one township. ``township`` is fixed by the view (picked first, or the cross
    assignment's inspected township); the units offered are that township's."""

    kind = forms.ChoiceField(label=_("督查方式"), choices=Kind.choices, widget=forms.RadioSelect)
    inspected_on = forms.DateField(label=_("督查日期"), widget=DateInput)
    team = forms.CharField(label=_("督查组/部门"), max_length=100)
    units = UnitChoiceField(
        label=_("检查的单位"), queryset=Enterprise.objects.none(), required=False, widget=CheckboxScroll
    )
    present = forms.CharField(label=_("参加人员"), max_length=255, required=False)
    notes = forms.CharField(label=_("督查情况"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    photos = MultiplePhotoField(label=_("现场照片"))

    def __init__(self, *args, township, cross=False, team="", **kwargs):
        super().__init__(*args, **kwargs)
        self.township = township
        self.fields["units"].queryset = Enterprise.objects.alive().filter(township=township).order_by("name", "pk")
        self.fields["inspected_on"].initial = _today()
        _max_today(self.fields["inspected_on"])
        if cross:
            # Township staff record a cross inspection only: the kind is not theirs to pick.
            del self.fields["kind"]
        if team:
            self.fields["team"].initial = team
        self.fields["photos"].help_text = gettext("可拍照或从相册选择，最多%(n)d张，每张不超过%(mb)dMB") % {
            "n": MAX_PHOTOS,
            "mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        }

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
    created = []
    try:
        for photo in photos:
            created.append(
                attribute(
                    InspectionPhoto(
                        inspection=inspection,
                        image=photo.as_file(),
                        width=photo.width,
                        height=photo.height,
                        sha256=photo.sha256,
                        uploaded_by=user,
                    ),
                    user,
                )
            )
            created[-1].save(force_insert=True)
    except Exception:
        for row in created:
            row.image.delete(save=False)
        raise
    return created


class FollowUpForm(NoColonMixin, forms.Form):
    inspected_on = forms.DateField(label=_("督查日期"), widget=DateInput)
    present = forms.CharField(label=_("参加人员"), max_length=255, required=False)
    notes = forms.CharField(label=_("督查情况"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, inspection, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspected_on"].initial = min(inspection.inspected_on, _today())
        _max_today(self.fields["inspected_on"])
        self.fields["notes"].initial = inspection.notes


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
    enterprise = forms.ModelChoiceField(
        label=_("问题所在单位"),
        queryset=Enterprise.objects.none(),
        required=False,
        help_text=_("漏排问题不选，在下方填写漏排单位"),
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
        units = Enterprise.objects.alive().filter(township_id=inspection.township_id).order_by("name", "pk")
        self.fields["enterprise"].queryset = units
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
        elif kind and not cleaned.get("enterprise"):
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


class FindingRectifiedForm(NoColonMixin, forms.Form):
    rectified_on = forms.DateField(label=_("整改完成日期"), widget=DateInput)
    note = forms.CharField(label=_("整改情况"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, finding, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rectified_on"].initial = _today()
        self.fields["rectified_on"].widget.attrs["min"] = finding.found_on.isoformat()
        _max_today(self.fields["rectified_on"])


class FindingVerifyForm(NoColonMixin, forms.Form):
    passed = forms.TypedChoiceField(
        label=_("验收结论"),
        choices=[("yes", _("通过，予以销号")), ("no", _("不通过，退回整改"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    closed_on = forms.DateField(label=_("验收日期"), widget=DateInput)
    note = forms.CharField(label=_("验收意见"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, finding, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["closed_on"].initial = _today()
        _max_today(self.fields["closed_on"])


# --- cross-inspection rounds ---------------------------------------------------------------------


class CrossRoundForm(NoColonMixin, forms.Form):
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

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].initial = campaign
        self.fields["held_on"].initial = _today()


# --- look-backs ----------------------------------------------------------------------------------


class DrawForm(NoColonMixin, forms.Form):
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

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].initial = campaign
        self.fields["as_of"].initial = _today()
        _max_today(self.fields["as_of"])


class ScheduleForm(NoColonMixin, forms.Form):
    campaign = forms.ModelChoiceField(label=_("整治行动"), queryset=Campaign.objects.order_by("-start", "slug"))
    as_of = forms.DateField(
        label=_("截至日期"), widget=DateInput, help_text=_("安排截至该日到期的回头看（按设置的间隔天数）")
    )

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].initial = campaign
        self.fields["as_of"].initial = _today()


class LookbackCheckForm(NoColonMixin, forms.Form):
    """回头看: found operating again or not; a shut-down unit's 两断三清, item by item."""

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

    def __init__(self, *args, lookback, **kwargs):
        super().__init__(*args, **kwargs)
        self.closed = lookback.rectification.method == Method.CLOSED
        self.fields["checked_on"].initial = _today()
        _max_today(self.fields["checked_on"])
        if self.closed:
            for name in CHECKLIST_FIELDS:
                self.fields[name] = YesNoField(label=Lookback._meta.get_field(name).verbose_name)

    @property
    def checklist_fields(self):
        return [self[name] for name in CHECKLIST_FIELDS if name in self.fields]

    @property
    def other_fields(self):
        return [self[name] for name in self.fields if name not in CHECKLIST_FIELDS]

    def checklist(self):
        if not self.closed:
            return None
        return {name: self.cleaned_data[name] for name in CHECKLIST_FIELDS if self.cleaned_data.get(name) is not None}


# --- per-defect clearance ------------------------------------------------------------------------


class ClearanceForm(NoColonMixin, forms.Form):
    defect = forms.ChoiceField(label=_("消除的四无情形"), widget=forms.RadioSelect)
    cleared_on = forms.DateField(label=_("消除日期"), widget=DateInput)
    department = forms.CharField(label=_("签字部门"), max_length=100, help_text=_("如：市场监管所、应急管理办"))
    signed_by = forms.CharField(label=_("签字人"), max_length=50)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, enterprise, pending, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["defect"].choices = [
            (d.value, d.label) for d in Defect if getattr(enterprise, d.value) and d.value not in pending
        ]
        self.fields["cleared_on"].initial = _today()
        self.fields["cleared_on"].widget.attrs["min"] = enterprise.identified_on.isoformat()
        _max_today(self.fields["cleared_on"])


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
