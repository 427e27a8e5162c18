"""Who may do what (SPEC section 4): roles are Django groups; a profile says which township.

This module is the single place that answers "what is this user's role and township"; views,
querysets, masking and templates ask it rather than looking at groups themselves.
"""

import functools
import logging

from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("siwu.access")


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("市级管理员")
    CITY_VIEWER = "city_viewer", _("市领导")
    INSPECTOR = "inspector", _("督查组")
    TOWNSHIP_STAFF = "township_staff", _("乡镇(街道)工作人员")


def role_of(user):
    """The user's role, or None for anonymous, inactive or role-less users. Cached on the user.

    Reads ``user.groups.all()``, so a list of users with ``prefetch_related("groups")`` costs no
    query per row.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not hasattr(user, "_siwu_role"):
        user._siwu_role = _role(user, () if user.is_superuser else {group.name for group in user.groups.all()})
    return user._siwu_role


def remember_role(user, group_name):
    """Cache on ``user`` the role ``role_of`` would read, given the name of their role group (or
    None): for a backend that read it with the user (core/backends.py), so no query follows."""
    user._siwu_role = _role(user, {group_name})


def _role(user, group_names):
    """A superuser is a city admin; anyone else has the first role (in Role's order) among their groups."""
    if user.is_superuser:
        return Role.CITY_ADMIN
    return next((role for role in Role if role.value in group_names), None)


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
CITY_ADMIN_ONLY = frozenset({Role.CITY_ADMIN})

PUBLIC = "public"


def allow(*, get=(), post=()):
    """Declare the roles that may GET (and HEAD) and POST this view; any other method is refused."""
    policy = {"GET": frozenset(get), "HEAD": frozenset(get), "POST": frozenset(post)}

    def declare(view):
        view.access_policy = policy
        return view

    return declare


def public(view):
    """A view anyone may open, signed in or not (login, language switch, health check)."""
    view.access_policy = PUBLIC
    return view


def declared(decorator, view):
    """Apply ``allow(...)``/``public`` to a view we do not own (Django's), without touching it."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    return decorator(wrapper)


def policy_of(view):
    """The declared policy: ``PUBLIC``, a {method: roles} dict, or None when nothing was declared."""
    return getattr(view, "access_policy", None)


def policy_allows(view, request):
    """True/False for a declared view; None when the view declared nothing (then it is refused)."""
    policy = policy_of(view)
    if policy is None:
        return None
    if policy == PUBLIC:
        return True
    return role_of(request.user) in policy.get(request.method, ())


def allowed_methods(view):
    """The HTTP methods some role may use on a declared view (for a 405's Allow header)."""
    policy = policy_of(view)
    if policy is None or policy == PUBLIC:
        return []
    return [method for method, roles in policy.items() if roles]


# --- Scoping querysets to the user --------------------------------------------------------------

# Where each township-owned model keeps its township, as a lookup path. A model with a ``township``
# field needs no entry; a model that is neither listed nor has one is not township-owned.
TOWNSHIP_PATHS = {
    "enterprises.enterprise": "township",
    "enterprises.rectification": "enterprise__township",
    "enterprises.relapse": "enterprise__township",
    "enterprises.rectificationphoto": "rectification__enterprise__township",
    "reports.commitment": "interview__township",
}


def township_path(model):
    """The lookup from ``model`` to its township, or None when rows of it belong to no township."""
    path = TOWNSHIP_PATHS.get(model._meta.label_lower)
    if path is None and any(f.name == "township" and getattr(f, "concrete", False) for f in model._meta.get_fields()):
        path = "township"
    return path


def scope_by_township(user, queryset, path="township"):
    """Rows ``user`` may see: township staff their own township's (via ``path``), other roles all."""
    role = role_of(user)
    if role is None:
        return queryset.none()
    if role == Role.TOWNSHIP_STAFF:
        township_id = township_id_of(user)
        return queryset.filter(**{f"{path}_id": township_id}) if township_id else queryset.none()
    return queryset


def scope_units(user, queryset):
    """Units ``user`` may see: township staff their own township's, city roles and inspectors all."""
    return scope_by_township(user, queryset, "township")


def scope_queryset(user, queryset):
    """Any queryset scoped to ``user``: by township for township-owned models, else all or nothing."""
    path = township_path(queryset.model)
    if path is None:
        return queryset if role_of(user) is not None else queryset.none()
    return scope_by_township(user, queryset, path)


def _current_path():
    """The path of the request being served (set per request by simple-history's middleware)."""
    from simple_history.models import HistoricalRecords

    request = getattr(HistoricalRecords.context, "request", None)
    return request.get_full_path() if request is not None else ""


def log_denial(user, reason, *, path=None, obj=None):
    """One warning line per refusal, on logger ``siwu.access``: who, what path, which object, why."""
    logger.warning(
        "access denied: user=%s role=%s path=%s object=%s reason=%s",
        getattr(user, "get_username", lambda: "anonymous")() or "anonymous",
        role_of(user) or "-",
        _current_path() if path is None else path,
        f"{obj._meta.label}:{obj.pk}" if hasattr(obj, "_meta") else (obj or "-"),
        reason,
    )


def get_scoped_or_404(user, queryset, **lookup):
    """The one object of ``queryset`` matching ``lookup`` that ``user`` may see, else Http404.

    ``queryset`` may be scoped already or not: it is scoped here again. When the object exists but
    lies outside the user's scope (another township's unit asked for by id), the denial is logged
    before the 404 — the answer is the same as for an id that does not exist, so nothing leaks.
    """
    model = queryset.model
    try:
        return scope_queryset(user, queryset).get(**lookup)
    except model.DoesNotExist:
        hidden = queryset.filter(**lookup).first()
        if hidden is not None:
            log_denial(user, "outside scope", obj=hidden)
        raise Http404(_("找不到该记录")) from None


def scope_townships(user, queryset):
    """Townships ``user`` may pick in a form or filter."""
    role = role_of(user)
    if role is None:
        return queryset.none()
    if role == Role.TOWNSHIP_STAFF:
        return queryset.filter(pk=township_id_of(user))
    return queryset


def can_read_township_records(user, township_id):
    """May ``user`` read the records of township ``township_id``: its units, findings, villages and
    interviews (SPEC 4: township staff their own township's only; city roles and inspectors all).

    Rankings are city-wide and need no such check; a page that shows one township's records inside
    a panel asks this, so the panel never shows what the records' own pages would refuse.
    """
    role = role_of(user)
    if role is None:
        return False
    if role == Role.TOWNSHIP_STAFF:
        own = township_id_of(user)
        return own is not None and own == township_id
    return True


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


def is_city_admin(user):
    return role_of(user) == Role.CITY_ADMIN


# --- Templates -----------------------------------------------------------------------------------


def access_context(request):
    """Context processor: the signed-in user's role, for the header and the 管理 link."""
    role = role_of(getattr(request, "user", None))
    return {"user_role": role, "user_role_label": role.label if role else "", "is_city_admin": role == Role.CITY_ADMIN}
