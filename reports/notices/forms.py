import io

from django import forms
from django.utils.translation import gettext_lazy as _

from campaign.models import Township

from ..models import Commitment, Interview, NoticeSettings

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
        townships = list(Township.objects.filter(is_active=True).order_by("sort_order", "name"))
        self.fields["township"].queryset = Township.objects.filter(is_active=True)
        notices = campaign.notices.order_by("-serial")
        self.fields["notice"].queryset = notices
        self.fields["notice"].empty_label = _("（不依据某期通报）")
        # The notice the interview follows (chosen, else the latest): its red list comes first.
        chosen = self.initial.get("notice") or self.data.get("notice")
        basis = notices.filter(pk=chosen).first() if str(chosen or "").isdigit() else None
        basis = basis or notices.first()
        self.red_notice = basis
        red = [entry["township_id"] for entry in (basis.figures.get("red_list", []) if basis else [])]
        if basis is not None and not self.initial.get("notice") and not self.is_bound:
            self.initial["notice"] = basis.pk
        by_id = {t.pk: t for t in townships}
        listed = [(pk, by_id[pk].name) for pk in red if pk in by_id]
        listed_ids = set(red)
        others = [(t.pk, t.name) for t in townships if t.pk not in listed_ids]
        if listed:
            label = _("第%(serial)s期约谈名单（红色预警）") % {"serial": basis.serial}
            self.fields["township"].choices = [("", "---------"), (label, listed), (_("其他乡镇(街道)"), others)]
        else:
            self.fields["township"].choices = [("", "---------"), *others]


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


LETTERHEAD_MAX_BYTES = 5 * 1024 * 1024


class NoticeSettingsForm(forms.ModelForm):
    class Meta:
        model = NoticeSettings
        fields = ["office", "doc_number_format", "dated", "red_rule", "late_days", "letterhead"]
        widgets = {"letterhead": forms.ClearableFileInput(attrs={"accept": ".docx"})}

    def clean_letterhead(self):
        """A Word/WPS .docx that python-docx opens, not a macro document nor anything else renamed."""
        upload = self.cleaned_data.get("letterhead")
        if not upload or not hasattr(upload, "content_type"):  # unchanged, or cleared
            return upload
        name = upload.name.lower()
        if not name.endswith(".docx"):
            raise forms.ValidationError(_("公文模板须为 .docx 文件（Word 或 WPS 另存为 .docx）"))
        if upload.size > LETTERHEAD_MAX_BYTES:
            raise forms.ValidationError(_("公文模板不能超过 5 MB"))
        import docx  # python-docx is loaded only when a template is uploaded

        data = upload.read()
        upload.seek(0)
        try:
            # Refuses a renamed file, a macro document (.docm) and a template (.dotx) alike.
            docx.Document(io.BytesIO(data))
        except Exception as exc:  # python-docx raises several kinds for a file that is not a .docx
            raise forms.ValidationError(
                _("无法打开该文件：它不是普通的 .docx 文档（含宏的文档和模板文件也不行）")
            ) from exc
        return upload


class AssessmentForm(forms.Form):
    verdict = forms.CharField(label=_("考核意见"), widget=forms.Textarea(attrs={"rows": 6}))
