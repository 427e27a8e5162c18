"""Forms of the management pages (/manage/): users, townships and villages, campaigns, targets.

Messages are Chinese and sit next to the field they are about. Nothing here deletes: a township
is switched off, a user disabled, a target changed by a new revision with its reason.
"""

import datetime
from decimal import Decimal

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.access import Role, role_of

from .models import (
    DEFAULT_MILESTONES,
    BuiltIn,
    Campaign,
    IndicatorRecord,
    IndicatorTarget,
    Milestone,
    Park,
    TargetRevision,
    Township,
    Village,
)


class ManageForm(forms.Form):
    """Labels without Django's ":" suffix (Chinese labels read better bare)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ManageModelForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


# --- Users ---------------------------------------------------------------------------------------


class RoleFields(ManageForm):
    """Role, and what the role is of: a township for township staff, a department for inspectors."""

    full_name = forms.CharField(label=_("姓名"), max_length=150)
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)
    township = forms.ModelChoiceField(
        label=_("所属乡镇(街道)"),
        queryset=Township.objects.filter(is_active=True),
        required=False,
        help_text=_("乡镇(街道)工作人员必填：只能查看和录入本乡镇(街道)的数据。"),
    )
    department = forms.CharField(
        label=_("所属部门"), max_length=64, required=False, help_text=_("督查组成员必填，如“市督查组”。")
    )
    phone = forms.CharField(label=_("联系电话"), max_length=32, required=False)

    def clean(self):
        data = super().clean()
        role = data.get("role")
        if role == Role.TOWNSHIP_STAFF and not data.get("township"):
            self.add_error("township", gettext("乡镇(街道)工作人员须选择所属乡镇(街道)。"))
        if role == Role.INSPECTOR and not data.get("department", "").strip():
            self.add_error("department", gettext("督查组成员须填写所属部门。"))
        return data


class UserCreateForm(RoleFields):
    username = forms.RegexField(
        label=_("用户名"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        error_messages={"invalid": _("用户名只能包含字母、数字和 @ . + - _ 符号。")},
        help_text=_("登录时使用，创建后不可修改。"),
    )
    password1 = forms.CharField(
        label=_("初始密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少 10 位，不能是常见密码或纯数字；请在首次登录后修改。"),
    )
    password2 = forms.CharField(
        label=_("再次输入密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    field_order = ["username", "full_name", "role", "township", "department", "phone", "password1", "password2"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(gettext("用户名“%(name)s”已被使用。") % {"name": username})
        return username

    def clean(self):
        data = super().clean()
        one, two = data.get("password1"), data.get("password2")
        if one and two and one != two:
            self.add_error("password2", gettext("两次输入的密码不一致。"))
        elif one:
            probe = User(username=data.get("username", ""), first_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(one, probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class UserEditForm(RoleFields):
    def __init__(self, *args, user, **kwargs):
        self.user = user
        profile = getattr(user, "profile", None)
        role = role_of(user) if user.is_active else _role_from_groups(user)
        kwargs.setdefault(
            "initial",
            {
                "full_name": user.first_name,
                "role": role.value if role else "",
                "township": profile.township_id if profile else None,
                "department": profile.department if profile else "",
                "phone": profile.phone if profile else "",
            },
        )
        super().__init__(*args, **kwargs)
        if profile and profile.township_id:
            # A township switched off still shows for the staff who belong to it.
            self.fields["township"].queryset = Township.objects.filter(is_active=True) | Township.objects.filter(
                pk=profile.township_id
            )


def _role_from_groups(user):
    if user.is_superuser:
        return Role.CITY_ADMIN
    names = {g.name for g in user.groups.all()}
    return next((r for r in Role if r.value in names), None)


class PasswordResetForm(ManageForm):
    """A city admin sets a new password for a user (who then changes it); it ends their sessions."""

    password1 = forms.CharField(
        label=_("新密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("再次输入新密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        one, two = data.get("password1"), data.get("password2")
        if one and two and one != two:
            self.add_error("password2", gettext("两次输入的密码不一致。"))
        elif one:
            try:
                password_validation.validate_password(one, self.user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class UserFilterForm(ManageForm):
    q = forms.CharField(label=_("搜索"), required=False, widget=forms.TextInput(attrs={"type": "search"}))
    role = forms.ChoiceField(label=_("角色"), required=False, choices=[("", _("全部角色")), *Role.choices])
    township = forms.ModelChoiceField(
        label=_("乡镇(街道)"), queryset=Township.objects.all(), required=False, empty_label=_("全部")
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部")), ("active", _("启用")), ("disabled", _("已停用"))],
    )


# --- Townships and villages ----------------------------------------------------------------------


class TownshipForm(ManageModelForm):
    class Meta:
        model = Township
        fields = ["name", "kind", "sort_order", "is_active"]
        help_texts = {"is_active": _("停用后不再出现在新建账号和录入的选项中；已有数据和统计不受影响。")}


class VillageForm(ManageModelForm):
    class Meta:
        model = Village
        fields = ["name", "kind"]

    def __init__(self, *args, township, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.township = township

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = Village.objects.filter(township=self.instance.township, name=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(gettext("本乡镇(街道)已有名为“%(name)s”的村(社区)。") % {"name": name})
        return name


# --- Campaigns and milestones --------------------------------------------------------------------


class CampaignCreateForm(ManageForm):
    slug = forms.SlugField(
        label=_("代号"), max_length=64, help_text=_("用于网址和命令行，如 2019；只能包含字母、数字、- 和 _。")
    )
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    name = forms.CharField(label=_("名称"), max_length=128, required=False, help_text=_("留空则按年度自动命名。"))
    target = forms.IntegerField(label=_("全市年度任务"), min_value=0)
    band = forms.DecimalField(
        label=_("黄色预警区间(百分点)"), min_value=Decimal("0"), max_digits=5, decimal_places=2, initial=Decimal("10")
    )

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if Campaign.objects.filter(slug=slug).exists():
            raise ValidationError(gettext("代号“%(slug)s”已被使用。") % {"slug": slug})
        return slug


class CampaignEditForm(ManageModelForm):
    """Name and band only: the year, its dates and the city target are fixed once reports exist."""

    class Meta:
        model = Campaign
        fields = ["name", "band"]


class MilestoneForm(ManageModelForm):
    class Meta:
        model = Milestone
        fields = ["date", "percent"]
        widgets = {"date": DateInput()}

    def has_changed(self):
        # A new row prefilled with a default milestone counts as entered even when left as it was
        # (Django would skip it as an untouched extra form).
        if self.is_bound and self.instance.pk is None:
            return any(self.data.get(self.add_prefix(name), "").strip() for name in ("date", "percent"))
        return super().has_changed()


class BaseMilestoneFormSet(forms.BaseModelFormSet):
    """A campaign's schedule: dates inside the year, one per day, shares that never go down."""

    def __init__(self, *args, year, **kwargs):
        self.year = year
        kwargs.setdefault("form_kwargs", {"label_suffix": ""})
        super().__init__(*args, **kwargs)

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        rows = [r for r in rows if r.get("date") and r.get("percent") is not None]
        if not rows:
            raise ValidationError(gettext("至少需要一个节点目标。"))
        start, end = datetime.date(self.year, 1, 1), datetime.date(self.year, 12, 31)
        problems = []
        for row in rows:
            if not start <= row["date"] <= end:
                problems.append(
                    gettext("节点日期 %(day)s 不在 %(year)d 年度内。")
                    % {"day": row["date"].isoformat(), "year": self.year}
                )
        ordered = sorted(rows, key=lambda r: r["date"])
        for earlier, later in zip(ordered, ordered[1:]):
            if earlier["date"] == later["date"]:
                problems.append(gettext("%(day)s 有两个节点目标。") % {"day": later["date"].isoformat()})
            elif later["percent"] < earlier["percent"]:
                problems.append(
                    gettext("%(day)s 的累计比例 %(later)s%% 低于之前的 %(earlier)s%%。")
                    % {"day": later["date"].isoformat(), "later": later["percent"], "earlier": earlier["percent"]}
                )
        if problems:
            raise ValidationError(problems)

    def schedule(self):
        """(month, day, percent) triples, as campaign.services.campaign_create takes them."""
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and f.cleaned_data.get("date")]
        return sorted((r["date"].month, r["date"].day, r["percent"]) for r in rows)


MilestoneFormSet = forms.modelformset_factory(
    Milestone, form=MilestoneForm, formset=BaseMilestoneFormSet, extra=1, can_delete=False
)


# A new campaign's schedule: the four default milestones and a blank row for one more.
NewMilestoneFormSet = forms.modelformset_factory(
    Milestone, form=MilestoneForm, formset=BaseMilestoneFormSet, extra=len(DEFAULT_MILESTONES) + 1, can_delete=False
)


def new_milestone_formset(data=None, *, year):
    """The schedule of a campaign being created: the default 30/60/80/100 % at quarter ends."""
    initial = [{"date": day, "percent": pct} for day, pct in Campaign.default_milestones(year)]
    return NewMilestoneFormSet(data, queryset=Milestone.objects.none(), initial=initial, year=year, prefix="milestones")


# --- Targets -------------------------------------------------------------------------------------


class _TargetRevisionBase(ManageModelForm):
    """A new annual target from a date on, with its reason; a same-day revision is corrected only
    when asked to. Subclasses name the model's scope (``_scope``) and its target's word (``_word``)."""

    correct_same_day = forms.BooleanField(
        label=_("更正同一生效日期的已有记录"),
        required=False,
        help_text=_("同一乡镇(街道)同一生效日期已有记录时勾选；原记录保留在修改历史中。"),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["township"].empty_label = gettext("全市")
        self.fields["township"].queryset = Township.objects.all()
        self.fields["reason"].required = True
        self.fields["reason"].error_messages["required"] = gettext("请填写调整原因。")
        self.fields["effective_on"].widget.attrs.update(
            {"min": campaign.start.isoformat(), "max": campaign.end.isoformat()}
        )
        self.existing = None

    def _scope(self):
        """The filter of the revisions this one sits among (a campaign's, an indicator's)."""
        raise NotImplementedError

    def _same_day_message(self, target):
        raise NotImplementedError

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(gettext("请填写调整原因。"))
        return reason

    def clean_effective_on(self):
        day = self.cleaned_data["effective_on"]
        if not self.campaign.contains(day):
            raise ValidationError(
                gettext("生效日期须在整治行动年度内（%(start)s 至 %(end)s）。")
                % {"start": self.campaign.start.isoformat(), "end": self.campaign.end.isoformat()}
            )
        return day

    def validate_unique(self):
        """A same-day revision is corrected only when asked to; otherwise say so next to the date."""
        data = self.cleaned_data
        if "effective_on" not in data:
            return
        self.existing = (
            self._meta.model.objects.filter(**self._scope())
            .filter(township=data.get("township"), effective_on=data["effective_on"])
            .first()
        )
        if self.existing and not data.get("correct_same_day"):
            self.add_error("effective_on", self._same_day_message(self.existing.target))

    def save(self, *, user):
        revision = self.existing or self.instance
        revision.township = self.cleaned_data["township"]
        revision.target = self.cleaned_data["target"]
        revision.effective_on = self.cleaned_data["effective_on"]
        revision.reason = self.cleaned_data["reason"]
        revision.created_by = user
        revision._change_reason = revision.reason[:100]
        revision.save()
        return revision


class TargetRevisionForm(_TargetRevisionBase):
    """A new annual target from a date on, with its reason. Earlier revisions stay as they were."""

    class Meta:
        model = TargetRevision
        fields = ["township", "target", "effective_on", "reason"]
        widgets = {"effective_on": DateInput(), "reason": forms.TextInput()}
        help_texts = {"township": _("留空表示全市年度任务。")}

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, campaign=campaign, **kwargs)
        self.instance.campaign = campaign

    def _scope(self):
        return {"campaign": self.campaign}

    def _same_day_message(self, target):
        return gettext("该生效日期已有记录（年度任务 %(target)d）。如需更正，请勾选“更正同一生效日期的已有记录”。") % {
            "target": target
        }


def outside_year_error(campaign, day):
    """The warning beside a date outside ``campaign``'s year, for every form that asks to confirm one
    (enterprises/forms.py CampaignDateCheck, inspections/forms.py CampaignYearCheck)."""
    return ValidationError(
        gettext("%(day)s 不在%(campaign)s的年度内（%(start)s 至 %(end)s），请核对"),
        code="outside_year",
        params={
            "day": day.isoformat(),
            "campaign": campaign.name,
            "start": campaign.start.isoformat(),
            "end": campaign.end.isoformat(),
        },
    )


def photos_again_error():
    """Said beside the photos when a form is refused for its date: a browser never sends a file
    again by itself, so the person must choose the photos again."""
    return ValidationError(gettext("照片尚未保存：确认日期后请重新选择照片再提交"), code="photos_again")


# --- Indicators (SPEC 5; campaign/indicator_views.py) --------------------------------------------


class IndicatorCreateForm(ManageForm):
    """A new indicator: the fields of ``create_indicator``; ``campaign.indicators.indicator_create`` checks them."""

    key = forms.CharField(
        label=_("指标代号"),
        max_length=64,
        help_text=_("内置指标（名称和单位可留空）：%(keys)s；其他代号为自定义指标，数值来自导入或录入的指标记录。"),
    )
    name = forms.CharField(label=_("指标名称"), max_length=64, required=False)
    unit = forms.CharField(label=_("计量单位"), max_length=16, required=False)
    target = forms.IntegerField(label=_("全市年度目标"), min_value=0)
    weight = forms.DecimalField(
        label=_("权重"), min_value=Decimal("0.01"), max_digits=6, decimal_places=2, initial=Decimal("1")
    )
    milestones = forms.CharField(
        label=_("单独设置节点目标"),
        max_length=200,
        required=False,
        help_text=_("留空则使用整治行动的节点目标；格式如 03-31:30,06-30:60,09-30:80,12-31:100。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        keys = "、".join(f"{key}（{label}）" for key, label in BuiltIn.choices)
        self.fields["key"].help_text = self.fields["key"].help_text % {"keys": keys}
        self.fields["key"].widget.attrs.update({"list": "built-in-keys", "autocomplete": "off", "spellcheck": "false"})


class IndicatorEditForm(ManageForm):
    name = forms.CharField(label=_("指标名称"), max_length=64)
    unit = forms.CharField(label=_("计量单位"), max_length=16)
    target = forms.IntegerField(label=_("全市年度目标"), min_value=0)
    weight = forms.DecimalField(label=_("权重"), min_value=Decimal("0.01"), max_digits=6, decimal_places=2)
    reason = forms.CharField(label=_("修改原因"), max_length=100, required=False)


class ScoringForm(ManageForm):
    rectified_weight = forms.DecimalField(
        label=_("四无整治指标权重"), min_value=Decimal("0.01"), max_digits=6, decimal_places=2
    )
    score_cap = forms.DecimalField(
        label=_("计分封顶(%)"),
        min_value=Decimal("1"),
        max_digits=6,
        decimal_places=2,
        help_text=_("单项完成率超过封顶值的部分不计入得分。"),
    )
    reason = forms.CharField(label=_("修改原因"), max_length=100, required=False)


class IndicatorTargetForm(_TargetRevisionBase):
    """A new annual target of an indicator from a date on, with its reason (as ``TargetRevisionForm``)."""

    class Meta:
        model = IndicatorTarget
        fields = ["township", "target", "effective_on", "reason"]
        widgets = {"effective_on": DateInput(), "reason": forms.TextInput()}
        help_texts = {"township": _("留空表示全市年度目标。")}

    def __init__(self, *args, indicator, **kwargs):
        super().__init__(*args, campaign=indicator.campaign, **kwargs)
        self.indicator = indicator
        self.instance.indicator = indicator

    def _scope(self):
        return {"indicator": self.indicator}

    def _same_day_message(self, target):
        return gettext("该生效日期已有记录（年度目标 %(target)d）。如需更正，请勾选“更正同一生效日期的已有记录”。") % {
            "target": target
        }


class IndicatorRecordForm(ManageModelForm):
    """One record of an indicator that is not built in: township (the user's own for township staff),
    name, date inside the campaign's year, amount ≥ 0 with at most 2 decimals, note."""

    reason = forms.CharField(label=_("修改原因"), max_length=100, required=False)

    class Meta:
        model = IndicatorRecord
        fields = ["township", "name", "date", "amount", "note"]
        widgets = {"date": DateInput(), "note": forms.TextInput()}

    def __init__(self, *args, indicator, townships, **kwargs):
        super().__init__(*args, **kwargs)
        self.indicator = indicator
        self.campaign = indicator.campaign
        self.instance.indicator = indicator
        self.fields["township"].queryset = townships
        if townships.count() == 1 and not self.instance.pk:
            self.fields["township"].initial = townships.first().pk
        self.fields["amount"].widget.attrs.update({"min": "0", "step": "0.01", "inputmode": "decimal"})
        self.fields["date"].widget.attrs.update(
            {"min": self.campaign.start.isoformat(), "max": self.campaign.end.isoformat()}
        )
        if self.instance.pk is None:
            del self.fields["reason"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(gettext("请填写名称。"))
        return name

    def clean_date(self):
        day = self.cleaned_data["date"]
        if not self.campaign.contains(day):
            raise ValidationError(
                gettext("日期须在整治行动年度内（%(start)s 至 %(end)s）。")
                % {"start": self.campaign.start.isoformat(), "end": self.campaign.end.isoformat()}
            )
        return day

    def validate_unique(self):
        data = self.cleaned_data
        if not data.get("township") or not data.get("name"):
            return
        clash = IndicatorRecord.objects.filter(indicator=self.indicator, township=data["township"], name=data["name"])
        if clash.exclude(pk=self.instance.pk).exists():
            self.add_error(
                "name",
                gettext("本乡镇(街道)已有名为“%(name)s”的记录；同一乡镇(街道)、同一名称是同一条记录，请修改那一条。")
                % {"name": data["name"]},
            )


class RecordUploadForm(ManageForm):
    file = forms.FileField(label=_("指标记录文件"))


# --- small-micro parks and freed land (docs/parks.md) --------------------------------------------


class ParkForm(ManageModelForm):
    """A park's facts and entry rules, edited with a reason kept in its history."""

    reason = forms.CharField(label=_("修改原因"), max_length=100, required=False)

    class Meta:
        model = Park
        fields = [
            "name",
            "operator",
            "planned_mu",
            "started_on",
            "started_mu",
            "completed_on",
            "completed_m2",
            "capacity",
            "negative_list",
            "min_tax_per_mu",
        ]
        widgets = {
            "started_on": DateInput(),
            "completed_on": DateInput(),
            "negative_list": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {"negative_list": _("不接受入园的行业，用逗号或顿号分隔，如：电镀、印染")}

    def clean(self):
        data = super().clean()
        started_on, started_mu = data.get("started_on"), data.get("started_mu")
        completed_on, completed_m2 = data.get("completed_on"), data.get("completed_m2")
        if started_on and started_mu is None:
            self.add_error("started_mu", gettext("填写了开工日期时必须填写开工面积"))
        if completed_on:
            if completed_m2 is None:
                self.add_error("completed_m2", gettext("填写了竣工日期时必须填写竣工面积"))
            if not started_on:
                self.add_error("started_on", gettext("填写了竣工日期时必须填写开工日期"))
            elif completed_on < started_on:
                self.add_error("completed_on", gettext("竣工日期不能早于开工日期"))
        return data


class LandSettingsForm(ManageModelForm):
    """The campaign's settings for freed land: the idle warning and the 亩均税收 standard."""

    class Meta:
        model = Campaign
        fields = ["idle_days", "tax_standard_per_mu"]
