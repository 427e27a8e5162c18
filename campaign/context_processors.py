"""The campaign/date picker every report page honours: ``?campaign=SLUG&as_of=YYYY-MM-DD``.

The state is read once per request (``picker_state``), shared by the view that needs the campaign
and date and by the templates (through the ``picker`` context processor), and resolved lazily so
that pages that never show the picker never pay its queries.
"""

import datetime
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from core import params

from .models import Campaign

PICKER_PARAMS = ("campaign", "as_of")


@dataclass
class Picker:
    campaign: Campaign | None
    as_of: datetime.date | None
    today: datetime.date
    errors: list = field(default_factory=list)
    extra: list = field(default_factory=list)  # other query parameters, kept when the picker is submitted

    @cached_property
    def campaigns(self):
        return list(Campaign.objects.order_by("-start", "slug"))

    @property
    def query(self):
        """``campaign=…&as_of=…`` for links that must keep the chosen campaign and date."""
        if self.campaign is None:
            return ""
        return urlencode({"campaign": self.campaign.slug, "as_of": self.as_of.isoformat()})


def _kept(key, value):
    """A parameter the picker's form carries along: only printable text of a sane length."""
    try:
        return params.text(key) is not None and params.text(value) is not None
    except params.BadParameter:
        return False


def _resolve(request):
    """The picked campaign and day; a malformed or unknown value falls back with a message (core/params.py)."""
    today = timezone.localdate()
    errors = []
    campaign = None
    try:
        slug = params.slug(request.GET.get("campaign"))
    except params.BadParameter:
        slug = None
        errors.append(_("整治行动代号无效，已显示当前整治行动。"))
    if slug:
        campaign = Campaign.objects.filter(slug=slug).first()
        if campaign is None:
            errors.append(_("找不到代号为“%(slug)s”的整治行动，已显示当前整治行动。") % {"slug": slug})
    if campaign is None:
        campaign = Campaign.objects.current_for(today)
    extra = [(key, value) for key, value in request.GET.items() if key not in PICKER_PARAMS and _kept(key, value)]
    if campaign is None:
        return Picker(campaign=None, as_of=None, today=today, errors=errors, extra=extra)

    default = campaign.clamp(today)
    as_of = default
    text = request.GET.get("as_of")
    if text is not None and text.strip():
        try:
            asked = params.day(text)
        except params.BadParameter:
            errors.append(
                _("日期“%(value)s”无效，请按 年-月-日（如 %(example)s）填写；已显示 %(day)s 的数据。")
                % {"value": params.shown(text.strip()), "example": default.isoformat(), "day": default.isoformat()}
            )
        else:
            if campaign.contains(asked):
                as_of = asked
            else:
                errors.append(
                    _("%(value)s 不在%(campaign)s的年度内（%(start)s 至 %(end)s），已显示 %(day)s 的数据。")
                    % {
                        "value": asked.isoformat(),
                        "campaign": campaign.name,
                        "start": campaign.start.isoformat(),
                        "end": campaign.end.isoformat(),
                        "day": default.isoformat(),
                    }
                )
    return Picker(campaign=campaign, as_of=as_of, today=today, errors=errors, extra=extra)


def picker_state(request):
    """The request's campaign and as-of date, resolved once."""
    if not hasattr(request, "_picker"):
        request._picker = _resolve(request)
    return request._picker


def picker(request):
    return {"picker": SimpleLazyObject(lambda: picker_state(request))}
