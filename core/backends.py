"""The signed-in user of each request, with their role and township, read in one query.

Django's ``ModelBackend.get_user`` reads the user; the access rules then read their groups (the role,
core/access.py) and their profile (the township): three queries before every page. This
backend reads all three at once: the profile joined, the role as a subquery on the user's groups.
Signing in (``authenticate``) and permissions are ``ModelBackend``'s own.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When

from .access import Role, remember_role

# Where a user has several role groups (set_role never makes that), the first in Role's order wins,
# as in access.role_of.
_RANK = Case(
    *[When(name=role.value, then=Value(rank)) for rank, role in enumerate(Role)],
    output_field=IntegerField(),
)


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        role = Group.objects.filter(user=OuterRef("pk"), name__in=Role.values).order_by(_RANK, "pk")
        users = (
            get_user_model()
            ._default_manager.select_related("profile")
            .annotate(siwu_role_name=Subquery(role.values("name")[:1]))
        )
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        remember_role(user, user.siwu_role_name)
        return user
