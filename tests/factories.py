"""Small builders for test data; each returns saved objects with sensible defaults."""

import datetime
import itertools
from decimal import Decimal

from campaign.models import Campaign, Milestone, TargetRevision, Township, Village
from campaign.services import campaign_create
from enterprises.models import Enterprise

_seq = itertools.count(1)


def make_campaign(slug="c2018", year=2018, target=9000, milestones=None, band=None):
    return campaign_create(slug=slug, year=year, target=target, milestones=milestones, band=band)


def make_township(name=None, **kwargs):
    name = name or f"测试{next(_seq)}镇"
    return Township.objects.create(name=name, kind=Township.kind_from_name(name), **kwargs)


def make_village(township, name=None):
    name = name or f"测试{next(_seq)}村"
    return Village.objects.create(township=township, name=name, kind=Village.kind_from_name(name))


def set_target(campaign, township, target, effective_on=None, reason=""):
    return TargetRevision.objects.create(
        campaign=campaign,
        township=township,
        target=target,
        effective_on=effective_on or campaign.start,
        reason=reason,
    )


def make_unit(township, identified_on=datetime.date(2018, 1, 10), **kwargs):
    defaults = {"name": f"单位{next(_seq)}", "unlicensed": True, "address": ""}
    defaults.update(kwargs)
    return Enterprise.objects.create(township=township, identified_on=identified_on, **defaults)


__all__ = [
    "Campaign",
    "Decimal",
    "Milestone",
    "make_campaign",
    "make_township",
    "make_village",
    "set_target",
    "make_unit",
]


def make_user(username, role="city_admin", township=None, password=None, **fields):
    """A user with a role (core.access.Role value) and, for township staff, a township."""
    from django.contrib.auth.models import Group, User

    from campaign.models import UserProfile

    user = User.objects.create_user(username, password=password, **fields)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    UserProfile.objects.create(user=user, township=township)
    return user
