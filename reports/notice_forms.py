from django import forms
from django.utils.translation import gettext_lazy as _

from campaign.models import Township

from .models import Commitment, Interview, NoticeSettings

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InterviewForm(forms.ModelForm):
    class Meta:
        model = Interview
        fields = ["township", "notice", "held_on", "summoned", "attendees", "notes"]
        widgets = {
            "held_on": DATE,
            "attendees": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].queryset = Township.objects.filter(is_active=True).order_by("sort_order", "name")
        self.fields["notice"].queryset = campaign.notices.order_by("-serial")
        self.fields["notice"].empty_label = _("（不依据某期通报）")


class CommitmentForm(forms.ModelForm):
    class Meta:
        model = Commitment
        fields = ["text", "due_on"]
        widgets = {"due_on": DATE}


class FollowUpForm(forms.ModelForm):
    class Meta:
        model = Commitment
        fields = ["met_on", "follow_up"]
        widgets = {"met_on": DATE, "follow_up": forms.Textarea(attrs={"rows": 3})}


class NoticeSettingsForm(forms.ModelForm):
    class Meta:
        model = NoticeSettings
        fields = ["office", "red_rule", "late_days"]


class AssessmentForm(forms.Form):
    verdict = forms.CharField(label=_("考核意见"), widget=forms.Textarea(attrs={"rows": 6}))
