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


# --- Declaring who may use a view ---------------------------------------------------------------
#
# Every view declares its policy with @allow(...) or @public; the access middleware refuses any view
# that declares nothing, so a new page cannot ship open. Object-level rules (own township only) are
# the scoping functions below, applied to the queryset before any filter, form or export sees it.

ALL_ROLES = frozenset(Role)
CITY_ROLES = frozenset({Role.CITY_ADMIN, Role.CITY_VIEWER})
WRITERS = frozenset({Role.CITY_ADMIN, Role.TOWNSHIP_STAFF})


def allow(*, get=(), post=()):
    """Declare the roles that may GET (and HEAD) and POST this view; any other method is refused."""
    policy = {"GET": frozenset(get), "HEAD": frozenset(get), "POST": frozenset(post)}

    def declare(view):
        view.access_policy = policy
        return view

    return declare


def public(view):
    """A view anyone may open, signed in or not (login, language switch, health check)."""
    view.access_policy = "public"
    return view


def policy_allows(view, request):
    """True/False for a declared view; None when the view declared nothing (then it is refused)."""
    policy = getattr(view, "access_policy", None)
    if policy is None:
        return None
    if policy == "public":
        return True
    return role_of(request.user) in policy.get(request.method, ())


# --- Scoping querysets to the user --------------------------------------------------------------


def scope_units(user, queryset):
    """Units ``user`` may see: township staff their own township's, city roles and inspectors all."""
    role = role_of(user)
    if role is None:
        return queryset.none()
    if role == Role.TOWNSHIP_STAFF:
        township_id = township_id_of(user)
        return queryset.filter(township_id=township_id) if township_id else queryset.none()
    return queryset


def scope_townships(user, queryset):
    """Townships ``user`` may pick in a form or filter."""
    role = role_of(user)
    if role is None:
        return queryset.none()
    if role == Role.TOWNSHIP_STAFF:
        return queryset.filter(pk=township_id_of(user))
    return queryset


def can_write_unit(user, unit=None):
    """City admins write any unit; township staff the units of their own township."""
    role = role_of(user)
    if role == Role.CITY_ADMIN:
        return True
    if role == Role.TOWNSHIP_STAFF:
        return unit is None or unit.township_id == township_id_of(user)
    return False


def can_see_personal_data(user, unit):
    """Full owner names and phones: city admins, and staff of the unit's own township."""
    role = role_of(user)
    return role == Role.CITY_ADMIN or (role == Role.TOWNSHIP_STAFF and unit.township_id == township_id_of(user))
