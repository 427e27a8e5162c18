"""Creating a campaign: the campaign row and its milestone schedule, together."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from reports import rules

from .models import Campaign, Milestone


@transaction.atomic
def campaign_create(*, slug, year, target, milestones=None, band=None, name=""):
    """Create a campaign for calendar ``year``; ``milestones`` are (month, day, percent) triples."""
    if Campaign.objects.filter(slug=slug).exists():
        raise ValidationError(_("整治行动代号 %(slug)s 已存在") % {"slug": slug})
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    try:
        specs = [
            rules.MilestoneSpec(datetime.date(year, month, day), percent)
            for month, day, percent in (
                milestones or [(m.month, m.day, p) for m, p in Campaign.default_milestones(year)]
            )
        ]
    except ValueError as exc:
        raise ValidationError(_("节点日期无效：%(reason)s") % {"reason": exc}) from None
    problems = rules.check_schedule(specs, start, end)
    if problems:
        raise ValidationError(_("节点目标有误：%(problems)s") % {"problems": "; ".join(problems)})
    campaign = Campaign(
        slug=slug,
        name=name or _("%(year)d年“四无”生产经营单位整治行动") % {"year": year},
        year=year,
        start=start,
        end=end,
        target=target,
    )
    if band is not None:
        campaign.band = band
    campaign.full_clean()
    campaign.save()
    # One save each (not bulk_create) so that every milestone has its history row.
    for m in specs:
        Milestone.objects.create(campaign=campaign, date=m.date, percent=m.percent)
    return campaign
