"""Forms of the unit register. Messages are Chinese and sit next to the field they are about.

Rectifications and relapses are written only through ``enterprises.services``; these forms check
what they can up front (``check_rectification`` is the same check the service makes) and map a
ValidationError the service still raises (someone else recorded first) back onto their fields.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.access import scope_townships
from campaign.models import Township, Village

from . import photos as photo_rules
from .credit_code import normalize_credit_code
from .models import Defect, Enterprise, Method, Status
from .services import check_rectification, rectification_record, relapse_record, unit_update


class NoColonMixin:
    """Labels without Django's ":" suffix (Chinese labels read better bare, the CSS sets them apart)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class FilterForm(NoColonMixin, forms.Form):
    """The base form of the register's FilterSet."""


class DateInput(forms.DateInput):
    """The phone's own date picker; ``max`` keeps future days out of it."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class VillageSelect(forms.Select):
    """Each option names its township, so the page can offer only the chosen township's villages."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-township"] = instance.township_id
        return option


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several photos in one input; each is validated and re-encoded (enterprises/photos.py)."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "multiple": True}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not uploads:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        for upload in uploads:
            super().clean(upload, initial)
        return photo_rules.clean_photos(uploads)


def _today():
    return timezone.localdate()


def _no_future(day, label):
    today = _today()
    if day and day > today:
        raise ValidationError(
            gettext("%(label)s不能晚于今天（%(today)s）") % {"label": label, "today": today.isoformat()},
            code="future",
        )
    return day


class EnterpriseForm(NoColonMixin, forms.ModelForm):
    """Create or edit a unit. Its status moves to 已整治 only by recording a rectification."""

    # What a staff member on site must enter first; the details a unit may lack come after.
    field_order = [
        "name",
        "township",
        "village",
        "address",
        "defects",
        "identified_on",
        "source",
        "status",
        "credit_code",
        "owner",
        "phone",
        "grid",
        "industry",
        "premises",
    ]

    defects = forms.MultipleChoiceField(
        label=_("四无类型"),
        choices=Defect.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一项四无类型")},
        help_text=_("可多选"),
    )

    class Meta:
        model = Enterprise
        fields = [
            "name",
            "credit_code",
            "township",
            "village",
            "grid",
            "address",
            "owner",
            "phone",
            "industry",
            "premises",
            "identified_on",
            "source",
            "status",
        ]
        widgets = {
            "identified_on": DateInput,
            "village": VillageSelect,
            "source": forms.RadioSelect,
            "status": forms.RadioSelect,
            "phone": forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
            "credit_code": forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
        }
        help_texts = {
            "credit_code": _("18位，可不填；已登记的代码不能重复"),
        }

    # The version of the unit this form was read at: saving refuses if the unit moved on since.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the townships the user may write to are offered, and a forged value is "not a valid
        # choice": township staff cannot register or move a unit into another township.
        townships = Township.objects.filter(Q(is_active=True) | Q(pk=self.instance.township_id))
        if user is not None:
            townships = scope_townships(user, townships)
        self.fields["township"].queryset = townships
        self.fields["village"].queryset = Village.objects.select_related("township").filter(township__in=townships)
        self.fields["identified_on"].widget.attrs["max"] = _today().isoformat()
        if self.instance.pk:
            self.fields["version"].required = True
            self.fields["version"].initial = self.instance.version
        if self.instance.pk:
            self.initial.setdefault("defects", [d.value for d in self.instance.defects])
        if self.instance.status == Status.RECTIFIED:
            # Only a relapse (死灰复燃) re-opens a rectified unit; the edit form cannot.
            del self.fields["status"]
        else:
            self.fields["status"].choices = [(s.value, s.label) for s in (Status.OPEN, Status.IN_PROGRESS)]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("请填写单位名称"), code="required")
        return name

    def clean_credit_code(self):
        code = normalize_credit_code(self.cleaned_data.get("credit_code"))
        if code:
            clash = Enterprise.objects.alive().filter(credit_code=code).exclude(pk=self.instance.pk).first()
            if clash is not None:
                raise ValidationError(
                    gettext("该统一社会信用代码已登记为“%(name)s”") % {"name": clash.name}, code="duplicate"
                )
        return code

    def clean_identified_on(self):
        day = _no_future(self.cleaned_data.get("identified_on"), gettext("排查日期"))
        if day and self.instance.pk:
            first = self.instance.rectifications.filter(deleted_at__isnull=True).order_by("rectified_on")
            first = first.values_list("rectified_on", flat=True)
            first = first.first()
            if first and day > first:
                raise ValidationError(
                    gettext("排查日期不能晚于该单位的整治完成日期（%(day)s）") % {"day": first.isoformat()},
                    code="after_rectified",
                )
        return day

    def clean(self):
        cleaned = super().clean()
        township, village = cleaned.get("township"), cleaned.get("village")
        if township and village and village.township_id != township.pk:
            self.add_error("village", gettext("所选村(社区)不属于%(township)s") % {"township": township.name})
        if "defects" in cleaned:
            for defect in Defect:
                setattr(self.instance, defect.value, defect.value in cleaned["defects"])
        return cleaned

    def save(self, commit=True, *, user=None):
        """Create the unit, or save the edit if the unit is still at the version the form was read at.

        An edit that lost the race raises services.StaleEdit and writes nothing.
        """
        if self.instance.pk is None:
            if user is not None:
                self.instance.created_by = user
            return super().save(commit=commit)
        return unit_update(enterprise=self.instance, version=self.cleaned_data["version"], user=user)

    def rebase(self, *, mine, current, baseline):
        """After a conflict, merge: this form (bound to ``current``) keeps what the user typed, takes
        the other person's changes to the fields the user left alone, and is set to save over the
        current version. ``mine`` is the unit as the user submitted it, ``baseline`` the history row
        of the version the user had read (None if history lacks it: then nothing is taken over).

        Returns (labels of the fields taken over, labels of the fields both people changed).
        """
        data = self.data.copy()
        data["version"] = str(current.version)
        taken, clashes = [], []
        if baseline is not None:
            for name, field in self.fields.items():
                if name in {"version", "defects"}:
                    continue
                attname = Enterprise._meta.get_field(name).attname
                base, theirs, own = (getattr(x, attname) for x in (baseline, current, mine))
                if theirs == base:
                    continue
                if own == base:
                    data[name] = _as_data(theirs)
                    taken.append(str(field.label))
                elif own != theirs:
                    clashes.append(str(field.label))
            defects, defects_taken, defects_clash = [], False, False
            for defect in Defect:
                base, theirs, own = (getattr(x, defect.value) for x in (baseline, current, mine))
                value = own
                if theirs != base and own == base:
                    value, defects_taken = theirs, True
                elif theirs != base and own != theirs:
                    defects_clash = True
                if value:
                    defects.append(defect.value)
            label = str(self.fields["defects"].label)
            if defects_taken:
                data.setlist("defects", defects)
                taken.append(label)
            if defects_clash:
                clashes.append(label)
        self.data = data
        return taken, clashes


def _as_data(value):
    """A model value as a form posts it back."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class RectificationForm(NoColonMixin, forms.Form):
    """整治: how and when the unit was rectified, with site photos as evidence."""

    method = forms.ChoiceField(label=_("整治方式"), choices=Method.choices, widget=forms.RadioSelect)
    rectified_on = forms.DateField(label=_("整治完成日期"), widget=DateInput)
    demolished_m2 = forms.DecimalField(
        label=_("拆除面积(㎡)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"), message=_("拆除面积不能为负数"))],
        widget=forms.NumberInput(attrs={"min": "0", "step": "0.01", "inputmode": "decimal"}),
        help_text=_("整治方式为拆除时必填"),
    )
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultiplePhotoField(label=_("现场照片"))

    def __init__(self, *args, enterprise, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        today = _today()
        self.fields["rectified_on"].widget.attrs.update(
            {"max": today.isoformat(), "min": enterprise.identified_on.isoformat()}
        )
        self.fields["rectified_on"].initial = today
        self.fields["photos"].help_text = gettext("可拍照或从相册选择，最多%(n)d张，每张不超过%(mb)dMB") % {
            "n": photo_rules.MAX_PHOTOS,
            "mb": photo_rules.MAX_UPLOAD_BYTES // (1024 * 1024),
        }

    def clean(self):
        cleaned = super().clean()
        method, day, area = cleaned.get("method"), cleaned.get("rectified_on"), cleaned.get("demolished_m2")
        if method == Method.DEMOLISHED and "demolished_m2" in cleaned and not area:
            self.add_error("demolished_m2", gettext("整治方式为拆除时请填写拆除面积"))
        if method and day:
            errors = check_rectification(
                enterprise=self.enterprise, method=method, rectified_on=day, demolished_m2=area
            )
            for field, message in errors.items():
                self.add_error(None if field == "__all__" else field, message)
        return cleaned

    def save(self, *, user):
        """Record the rectification and its photos together; None (with form errors) if refused."""
        data = self.cleaned_data
        try:
            with transaction.atomic():
                rectification = rectification_record(
                    enterprise=self.enterprise,
                    method=data["method"],
                    rectified_on=data["rectified_on"],
                    demolished_m2=data.get("demolished_m2") or Decimal("0"),
                    note=data.get("note", ""),
                    user=user,
                )
                photo_rules.attach_photos(rectification=rectification, photos=data.get("photos", []), user=user)
        except ValidationError as exc:
            self.add_error(None, exc)
            return None
        return rectification


class RelapseForm(NoColonMixin, forms.Form):
    """死灰复燃: the rectified unit was found operating again."""

    found_on = forms.DateField(label=_("发现日期"), widget=DateInput)
    note = forms.CharField(
        label=_("情况说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("例如：何时由谁发现，现场情况"),
    )

    def __init__(self, *args, enterprise, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        today = _today()
        self.fields["found_on"].widget.attrs["max"] = today.isoformat()
        self.fields["found_on"].initial = today

    def save(self, *, user):
        """Re-open the unit; None (with the service's reasons on the fields) if refused."""
        try:
            return relapse_record(
                enterprise=self.enterprise,
                found_on=self.cleaned_data["found_on"],
                note=self.cleaned_data.get("note", ""),
                user=user,
            )
        except ValidationError as exc:
            self.add_error(None, exc)
            return None


class ReasonForm(NoColonMixin, forms.Form):
    """Why a unit is deleted or an event withdrawn: kept on the row and in its history."""

    reason = forms.CharField(
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写原因")},
    )

    def __init__(self, *args, label, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label

    def clean_reason(self):
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise ValidationError(_("请填写原因"), code="required")
        return reason
