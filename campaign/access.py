"""Who may do what (SPEC section 4): roles are Django groups; a profile says which township.

This module is the single place that answers "what is this user's role and township"; views,
querysets, masking and templates ask it rather than looking at groups themselves.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("市级管理员")
    CITY_VIEWER = "city_viewer", _("市领导")
    INSPECTOR = "inspector", _("督查组")
    TOWNSHIP_STAFF = "township_staff", _("乡镇(街道)工作人员")


def role_of(user):
    """The user's role, or None for anonymous, inactive or role-less users. Cached on the user."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not hasattr(user, "_siwu_role"):
        if user.is_superuser:
            role = Role.CITY_ADMIN
        else:
            names = set(user.groups.values_list("name", flat=True))
            role = next((r for r in Role if r.value in names), None)
        user._siwu_role = role
    return user._siwu_role


def township_id_of(user):
    """The township a township-staff user belongs to (None for every other role)."""
    if role_of(user) != Role.TOWNSHIP_STAFF:
        return None
    profile = getattr(user, "profile", None)
    return profile.township_id if profile else None
