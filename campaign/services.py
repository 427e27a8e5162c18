"""Creating a campaign (the campaign row and its milestone schedule, together), and giving a user a role."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.access import Role

from . import rules
from .models import Campaign, Milestone, UserProfile


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


# --- Giving a user a role ------------------------------------------------------------------------


@transaction.atomic
def assign_role(user, role, *, township=None, department=""):
    """Make ``user`` a ``role``: its group (and no other role group) and the profile it needs.

    Township staff belong to a township, inspectors to a department; the other roles keep neither.
    A superuser given any role other than city admin stops being a superuser, or the flag would
    keep making them a city admin (``role_of``).
    """
    from django.contrib.auth.models import Group

    role = Role(role)
    if role == Role.TOWNSHIP_STAFF and township is None:
        raise ValueError("township staff need a township")
    role_groups = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}
    group = role_groups.get(role.value) or Group.objects.create(name=role.value)
    user.groups.remove(*[g for name, g in role_groups.items() if name != role.value])
    user.groups.add(group)
    if role != Role.CITY_ADMIN and (user.is_superuser or user.is_staff):
        user.is_superuser = user.is_staff = False
        user.save(update_fields=["is_superuser", "is_staff"])
    UserProfile.objects.update_or_create(
        user=user,
        defaults={
            "township": township if role == Role.TOWNSHIP_STAFF else None,
            "department": department if role == Role.INSPECTOR else "",
        },
    )
    for cached in ("_siwu_role", "_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cached, None)
    user._state.fields_cache.pop("profile", None)
    return user
