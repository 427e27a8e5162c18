"""Who is told: the people a role and a township name (core.access roles are groups)."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from core.access import Role


def township_staff(township_id):
    """The active staff of a township (whose role is township staff and whose profile names it)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.TOWNSHIP_STAFF, profile__township_id=township_id)
        .distinct()
    )


def inspectors():
    """The active inspectors (督查组)."""
    return get_user_model().objects.filter(is_active=True, groups__name=Role.INSPECTOR).distinct()


def city_admins():
    return (
        get_user_model()
        .objects.filter(Q(groups__name=Role.CITY_ADMIN) | Q(is_superuser=True), is_active=True)
        .distinct()
    )
