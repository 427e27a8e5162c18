from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from campaign.models import Township

from . import channels
from .models import Event, RobotConfig


def robot_channels():
    return [(name, c.label) for name, c in channels.registry().items() if hasattr(c, "prepare")]


class RobotConfigForm(forms.ModelForm):
    channel = forms.ChoiceField(label=_("渠道"), choices=robot_channels)
    webhook = forms.URLField(label=_("Webhook地址"), max_length=500, assume_scheme="https")

    class Meta:
        model = RobotConfig
        fields = ["channel", "township", "webhook", "secret", "enabled"]
        widgets = {"secret": forms.PasswordInput(render_value=True)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].queryset = Township.objects.order_by("sort_order", "name")
        self.fields["township"].empty_label = _("市级")
        self.fields["webhook"].help_text = _("群机器人设置中复制的完整地址（以 http:// 或 https:// 开头）")
        self.fields["secret"].help_text = _("钉钉加签的 SEC 开头密钥；企业微信不需要")

    def clean_webhook(self):
        url = self.cleaned_data["webhook"]
        if not url.lower().startswith(("http://", "https://")):
            raise ValidationError(_("Webhook地址须以 http:// 或 https:// 开头"))
        return url

    def clean(self):
        cleaned = super().clean()
        channel, township = cleaned.get("channel"), cleaned.get("township")
        if channel:
            same = RobotConfig.objects.filter(channel=channel, township=township).exclude(pk=self.instance.pk)
            if same.exists():
                raise ValidationError(_("该乡镇(街道)已配置这个渠道的群机器人，请修改原有配置"))
        return cleaned


class PreferencesForm(forms.Form):
    """A checkbox per event and channel, and the quiet hours."""

    quiet_start = forms.TimeField(label=_("免打扰开始"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    quiet_end = forms.TimeField(label=_("免打扰结束"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, channels_shown, choices, quiet, **kwargs):
        super().__init__(*args, **kwargs)
        self.channels_shown = channels_shown
        self.grid = []
        for event, event_label in Event.choices:
            row = []
            for name, channel in channels_shown:
                field_name = f"{event}__{name}"
                self.fields[field_name] = forms.BooleanField(
                    label=f"{event_label} · {channel.label}",
                    required=False,
                    initial=choices.get((event, name), channel.default_enabled),
                )
                row.append((self[field_name], channel.label))
            self.grid.append((event_label, row))
        if quiet:
            self.fields["quiet_start"].initial, self.fields["quiet_end"].initial = quiet

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("quiet_start"), cleaned.get("quiet_end")
        if (start is None) != (end is None):
            raise ValidationError({"quiet_end" if end is None else "quiet_start": _("免打扰须同时填写开始和结束时间")})
        if start is not None and start == end:
            raise ValidationError({"quiet_end": _("免打扰的开始和结束时间不能相同")})
        return cleaned

    def choices(self):
        return {
            (event, name): self.cleaned_data[f"{event}__{name}"]
            for event in Event.values
            for name, _c in self.channels_shown
        }
