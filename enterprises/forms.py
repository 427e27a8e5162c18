"""Forms of the unit register. Messages are Chinese and sit next to the field they are about.

Rectifications and relapses are written only through ``enterprises.services``; these forms check
what they can up front (``check_rectification`` is the same check the service makes) and map a
ValidationError the service still raises (someone else recorded first) back onto their fields.
So does the unit form: a unit the register holds already (same credit code; else same township,
name and address) is refused up front, and again by the service under the township's lock, with
a link to the unit that is there when the user may open it.

Every date a form records (a unit's 排查日期, a rectification's 整治完成日期, a relapse's 发现日期)
starts at the as-of day of the campaign picked (campaign/context_processors.py; no later than
today), and a date outside that campaign's year is saved only once the user has confirmed it
(``CampaignDateCheck``): the year's counts would not take it in, and the register would then show
a state the campaign's reports do not count (issue 19.1).
"""

import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.forms import outside_year_error, photos_again_error
from campaign.models import Park, Township, Village
from core import evidence
from core.access import Role, role_of, scope_townships, scope_units

from . import photos as photo_rules
from .credit_code import normalize_credit_code
from .models import Defect, Enterprise, Method, Status, squash_spaces
from .services import (
    DuplicateUnit,
    check_rectification,
    rectification_record,
    relapse_record,
    unit_create,
    unit_update,
    unit_with_code,
    unit_with_identity,
)


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


class PhotoPositionMixin:
    """A form with photos: the phone's position sent with them (``taken_longitude``,
    ``taken_latitude`` and the time of the fix, ``taken_time``, set by static/js/evidence-position.js)
    is given to the photos whose files carry no place (core/evidence.py). Nothing else depends on it:
    without it, or with values that are no position, the photos are stored as they are."""

    def _post_clean(self):
        super()._post_clean()
        photos = self.cleaned_data.get("photos") if hasattr(self, "cleaned_data") else None
        if not photos:
            return
        now = timezone.now()
        device = evidence.from_device(
            self.data.get("taken_longitude"),
            self.data.get("taken_latitude"),
            _fix_time(self.data.get("taken_time"), now),
        )
        if not device:
            return
        for photo in photos:
            if not photo.capture.has_place:
                photo.capture = evidence.Capture(
                    taken_at=photo.capture.taken_at or device.taken_at,
                    longitude=device.longitude,
                    latitude=device.latitude,
                    source=evidence.DEVICE,
                )


def _fix_time(text, now):
    """The time of the phone's fix (ISO 8601, as the browser gives it), or ``now`` when it is missing,
    unreadable, in the future or more than a week old (a queued offline submission keeps its own)."""
    try:
        moment = datetime.datetime.fromisoformat(str(text or "").strip())
    except ValueError:
        return now
    if timezone.is_naive(moment) or not now - datetime.timedelta(days=7) <= moment <= now + datetime.timedelta(
        minutes=5
    ):
        return now
    return moment


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


def default_day(as_of, *, earliest=None):
    """A date field's first value: the picked campaign's as-of day (today without a campaign), no
    later than today (these forms refuse future days), and no earlier than ``earliest`` (the first
    day the record could have), so that the value offered is one the form accepts."""
    today = _today()
    day = min(as_of or today, today)
    if earliest is not None:
        day = max(day, earliest)
    return day


# --- a date outside the campaign's year ------------------------------------------------------------

CONFIRM_DATES = "confirm_dates"


class FixedChoice(forms.Select):
    """A choice the user cannot change (a township staff member's own township): its name as text,
    the value in a hidden input with the field's id (static/js/village-filter.js reads it)."""

    def render(self, name, value, attrs=None, renderer=None):
        choices = [(str(v), str(label)) for v, label in self.choices if v not in ("", None)]
        chosen = next((c for c in choices if c[0] == str(value)), choices[0] if choices else ("", ""))
        final = self.build_attrs(self.attrs, attrs)
        return format_html(
            '<input type="hidden" name="{}" value="{}" id="{}"><div class="fixed-choice" id="{}_shown">{}</div>',
            name,
            chosen[0],
            final.get("id", ""),
            final.get("id", ""),
            chosen[1],
        )


class CampaignDateCheck:
    """A form's date (``campaign_date_field``) checked against the picked campaign's year.

    A date outside the year (2018-01-01 to 2018-12-31 for the 2018 campaign) is not saved on the
    first submission: the date gets a warning, and the page a checkbox "确认日期 … 不在整治行动年度
    内，仍然保存" whose value is that date; submitting again with it ticked saves. The tick confirms
    that date only: another date outside the year asks again. ``unchanged`` (a unit's own 排查日期
    when it is edited) is not asked about. static/js/campaign-dates.js shows the same warning and
    checkbox as soon as such a date is picked, so that nothing (photos) has to be chosen twice.
    Without a campaign nothing is checked.
    """

    campaign_date_field = ""

    def setup_campaign_date(self, campaign, *, unchanged=None):
        self.campaign = campaign
        self.date_unchanged = unchanged
        self.outside_day = None  # the date warned about when the form was checked
        self.fields[CONFIRM_DATES] = forms.CharField(required=False, max_length=10)
        if campaign is not None:
            self.fields[self.campaign_date_field].widget.attrs.update(
                {
                    "data-campaign-start": campaign.start.isoformat(),
                    "data-campaign-end": campaign.end.isoformat(),
                    **({"data-campaign-unchanged": unchanged.isoformat()} if unchanged else {}),
                }
            )

    def _outside(self, day):
        return (
            day is not None
            and self.campaign is not None
            and not self.campaign.contains(day)
            and (day != self.date_unchanged)
        )

    def check_campaign_date(self, cleaned):
        """Refuse an unconfirmed date outside the year (once the date is otherwise valid)."""
        name = self.campaign_date_field
        day = cleaned.get(name)
        if name in self.errors or not self._outside(day) or cleaned.get(CONFIRM_DATES) == day.isoformat():
            return
        self.outside_day = day
        campaign = self.campaign
        self.add_error(name, outside_year_error(campaign, day))
        if cleaned.get("photos"):
            self.add_error("photos", photos_again_error())

    @property
    def date_check(self):
        """What templates/enterprises/_date_check.html shows: None without a campaign."""
        campaign = self.campaign
        if campaign is None:
            return None
        field = self[self.campaign_date_field]
        value = field.value()
        if isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value.strip())
            except ValueError:
                value = None
        day = value.isoformat() if isinstance(value, datetime.date) else ""
        shown = self.outside_day is not None or (self.is_bound and self._outside(value))
        return {
            "for": field.auto_id,
            "name": CONFIRM_DATES,
            "day": day,
            "shown": shown,
            "checked": shown and self.is_bound and self.data.get(CONFIRM_DATES) == day,
            "campaign": campaign,
            "label": format_html(
                gettext("确认日期 {day} 不在整治行动年度内，仍然保存"),
                day=format_html("<span data-date-text>{}</span>", day),
            ),
        }


def _no_future(day, label):
    today = _today()
    if day and day > today:
        raise ValidationError(
            gettext("%(label)s不能晚于今天（%(today)s）") % {"label": label, "today": today.isoformat()},
            code="future",
        )
    return day


class EnterpriseForm(CampaignDateCheck, NoColonMixin, forms.ModelForm):
    """Create or edit a unit. Its status moves to 已整治 only by recording a rectification.

    A new unit's 排查日期 starts at the picked as-of day; a date outside the campaign's year (a new
    one, or an edit that changes it) is saved only once confirmed (CampaignDateCheck). The township
    is preselected when the user may choose only one, and fixed for township staff.
    """

    campaign_date_field = "identified_on"

    # What a staff member on site must enter first; the details a unit may lack come after.
    field_order = [
        "name",
        "township",
        "village",
        "address",
        "longitude",
        "latitude",
        "defects",
        "identified_on",
        "source",
        "status",
        "credit_code",
        "owner",
        "phone",
        "watcher_name",
        "watcher_phone",
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
            "longitude",
            "latitude",
            "watcher_name",
            "watcher_phone",
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
            # Text, not type=number: a number input's step would refuse 6 decimals in some browsers.
            "longitude": forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "data-position": "lng"}),
            "latitude": forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "data-position": "lat"}),
            "watcher_phone": forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
        }
        help_texts = {
            "credit_code": _("18位，可不填；已登记的代码不能重复"),
            "longitude": _("WGS-84（GPS）经度，如 120.123456；可点“使用我的位置”"),
            "latitude": _("WGS-84（GPS）纬度，如 30.123456；经度、纬度须同时填写"),
            "watcher_name": _("专人盯梢的责任人，如村（社区）干部"),
        }

    # The version of the unit this form was read at: saving refuses if the unit moved on since.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, user=None, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Only the townships the user may write to are offered, and a forged value is "not a valid
        # choice": township staff cannot register or move a unit into another township.
        townships = Township.objects.filter(Q(is_active=True) | Q(pk=self.instance.township_id))
        if user is not None:
            townships = scope_townships(user, townships)
        self.fields["township"].queryset = townships
        self.fields["village"].queryset = Village.objects.select_related("township").filter(township__in=townships)
        self._one_township(townships)
        self.fields["identified_on"].widget.attrs["max"] = _today().isoformat()
        if not self.instance.pk:
            self.fields["identified_on"].initial = default_day(as_of)
        self.setup_campaign_date(campaign, unchanged=self.instance.identified_on if self.instance.pk else None)
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

    def _one_township(self, townships):
        """The only township the user may choose is chosen already; township staff see it as text."""
        only = list(townships.order_by()[:2])
        if len(only) != 1:
            return
        field = self.fields["township"]
        field.empty_label = None
        if not self.instance.pk:
            field.initial = only[0].pk
        if self.user is not None and role_of(self.user) == Role.TOWNSHIP_STAFF:
            field.widget = FixedChoice(choices=[(only[0].pk, str(only[0]))])

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("请填写单位名称"), code="required")
        return name

    def clean_credit_code(self):
        code = normalize_credit_code(self.cleaned_data.get("credit_code"))
        clash = unit_with_code(code, exclude_pk=self.instance.pk)
        if clash is not None:
            raise ValidationError(self.same_code_message(clash), code="duplicate")
        return code

    def _link(self, unit):
        """A link to ``unit`` when the user may open it (core.access.scope_units), else None."""
        if self.user is None or not scope_units(self.user, Enterprise.objects.alive()).filter(pk=unit.pk).exists():
            return None
        return format_html('<a href="{}">{}</a>', unit.get_absolute_url(), unit.name)

    def same_code_message(self, unit):
        link = self._link(unit)
        if link is None:
            return gettext("该统一社会信用代码已登记为“%(name)s”") % {"name": unit.name}
        return format_html(gettext("该统一社会信用代码已登记为{unit}，请打开该单位修改，不要重复登记"), unit=link)

    def same_identity_message(self, unit):
        link = self._link(unit)
        if link is None:
            message = gettext("该乡镇（街道）已登记单位名称、地址都相同的单位“%(name)s”，不能重复登记")
            return message % {"name": unit.name}
        return format_html(
            gettext(
                "该乡镇（街道）已登记单位名称、地址都相同的单位：{unit}。如是同一单位，请打开该单位修改，不要重复登记"
            ),
            unit=link,
        )

    def _check_identity(self, cleaned):
        """SPEC 3: the same township, name and address (trimmed) is the same unit, unless both units
        have credit codes of their own. Checked when creating, and when an edit changes any of them."""
        township, name = cleaned.get("township"), cleaned.get("name")
        if township is None or not name or "credit_code" in self.errors:
            return
        address, code = cleaned.get("address") or "", cleaned.get("credit_code") or ""
        unit = self.instance
        new = (township.pk, squash_spaces(name), squash_spaces(address), code)
        old = (unit.township_id, squash_spaces(unit.name), squash_spaces(unit.address), unit.credit_code)
        if unit.pk and new == old:
            return
        clash = unit_with_identity(
            township_id=township.pk, name=name, address=address, credit_code=code, exclude_pk=unit.pk
        )
        if clash is not None:
            self.add_error(None, ValidationError(self.same_identity_message(clash), code="duplicate"))

    def _check_position(self, cleaned):
        """经度 and 纬度 go together: both, or neither (docs/map.md)."""
        lng, lat = cleaned.get("longitude"), cleaned.get("latitude")
        if "longitude" in self.errors or "latitude" in self.errors:
            return
        if lng is None and lat is not None:
            self.add_error("longitude", gettext("填写了纬度，请同时填写经度"))
        elif lat is None and lng is not None:
            self.add_error("latitude", gettext("填写了经度，请同时填写纬度"))

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
        self._check_identity(cleaned)
        self._check_position(cleaned)
        self.check_campaign_date(cleaned)
        if "defects" in cleaned:
            for defect in Defect:
                setattr(self.instance, defect.value, defect.value in cleaned["defects"])
        return cleaned

    def save(self, commit=True, *, user=None):
        """Create the unit, or save the edit if the unit is still at the version the form was read at.

        An edit that lost the race raises services.StaleEdit and writes nothing. A unit that the
        register holds already (registered by someone else since the form was checked) is not
        saved: None, with the reason and a link to that unit as the form's error.
        """
        if self.instance.pk is None and user is not None:
            self.instance.created_by = user
        if not commit:
            return super().save(commit=False)
        try:
            if self.instance.pk is None:
                return unit_create(enterprise=self.instance, user=user)
            return unit_update(enterprise=self.instance, version=self.cleaned_data["version"], user=user)
        except DuplicateUnit as exc:
            clash = exc.unit
            if clash.credit_code and clash.credit_code == self.instance.credit_code:
                self.add_error("credit_code", ValidationError(self.same_code_message(clash), code="duplicate"))
            else:
                self.add_error(None, ValidationError(self.same_identity_message(clash), code="duplicate"))
            return None

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
                if name in {"version", "defects", CONFIRM_DATES}:
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


class RectificationForm(PhotoPositionMixin, CampaignDateCheck, NoColonMixin, forms.Form):
    """整治: how and when the unit was rectified, with site photos as evidence.

    The date starts at the picked as-of day (not before the unit was found, nor before its last
    relapse); a date outside the campaign's year is saved only once confirmed (CampaignDateCheck).
    """

    campaign_date_field = "rectified_on"

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
    park = forms.ModelChoiceField(
        label=_("入驻园区"),
        queryset=Park.objects.select_related("township"),
        required=False,
        help_text=_("整治方式为搬迁入园时选择单位迁入的小微园，将同时登记入园"),
    )
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultiplePhotoField(label=_("现场照片"))

    def __init__(self, *args, enterprise, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        self.fields["park"].label_from_instance = lambda park: f"{park.township.name} · {park.name}"
        today = _today()
        self.fields["rectified_on"].widget.attrs.update(
            {"max": today.isoformat(), "min": enterprise.identified_on.isoformat()}
        )
        if not self.is_bound:
            earliest = enterprise.identified_on
            if enterprise.pk:
                relapsed = enterprise.relapses.filter(deleted_at__isnull=True).order_by("-found_on")
                relapsed = relapsed.values_list("found_on", flat=True).first()
                earliest = max(earliest, relapsed or earliest)
            self.fields["rectified_on"].initial = default_day(as_of, earliest=earliest)
        self.setup_campaign_date(campaign)
        self.fields["photos"].help_text = gettext("可拍照或从相册选择，最多%(n)d张，每张不超过%(mb)dMB") % {
            "n": photo_rules.MAX_PHOTOS,
            "mb": photo_rules.MAX_UPLOAD_BYTES // (1024 * 1024),
        }

    def clean(self):
        cleaned = super().clean()
        method, day, area = cleaned.get("method"), cleaned.get("rectified_on"), cleaned.get("demolished_m2")
        if method == Method.DEMOLISHED and "demolished_m2" in cleaned and not area:
            self.add_error("demolished_m2", gettext("整治方式为拆除时请填写拆除面积"))
        if method and method != Method.RELOCATED and cleaned.get("park"):
            self.add_error("park", gettext("只有整治方式为“搬迁入园”时才能选择入驻园区"))
        if method and day:
            errors = check_rectification(
                enterprise=self.enterprise, method=method, rectified_on=day, demolished_m2=area
            )
            for field, message in errors.items():
                self.add_error(None if field == "__all__" else field, message)
        self.check_campaign_date(cleaned)
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
                    park=data.get("park"),
                )
                photo_rules.attach_photos(rectification=rectification, photos=data.get("photos", []), user=user)
        except ValidationError as exc:
            self.add_error(None, exc)
            return None
        return rectification


class RelapseForm(CampaignDateCheck, NoColonMixin, forms.Form):
    """死灰复燃: the rectified unit was found operating again.

    The date starts at the picked as-of day (after the rectification it ends); a date outside the
    campaign's year is saved only once confirmed (CampaignDateCheck).
    """

    campaign_date_field = "found_on"

    found_on = forms.DateField(label=_("发现日期"), widget=DateInput)
    note = forms.CharField(
        label=_("情况说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("例如：何时由谁发现，现场情况"),
    )

    def __init__(self, *args, enterprise, campaign=None, as_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        today = _today()
        self.fields["found_on"].widget.attrs["max"] = today.isoformat()
        if not self.is_bound:
            # A relapse is found after the rectification it ends (the service's rule).
            rectified = enterprise.rectifications.filter(reopened_on__isnull=True, deleted_at__isnull=True)
            rectified = rectified.values_list("rectified_on", flat=True).first()
            earliest = rectified + datetime.timedelta(days=1) if rectified else None
            self.fields["found_on"].initial = default_day(as_of, earliest=earliest)
        self.setup_campaign_date(campaign)

    def clean(self):
        cleaned = super().clean()
        self.check_campaign_date(cleaned)
        return cleaned

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
