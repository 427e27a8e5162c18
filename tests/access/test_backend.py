"""core.backends.UserBackend: the signed-in user, their role and township in one query."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaign.services import assign_role
from core.access import Role, role_of, township_id_of
from core.backends import UserBackend
from tests.factories import make_township, make_user

pytestmark = pytest.mark.django_db


def loaded(user):
    """The user as a request gets it, and the queries it took to get them and their role and township."""
    with CaptureQueriesContext(connection) as queries:
        found = UserBackend().get_user(user.pk)
        answer = (role_of(found), township_id_of(found)) if found else None
    return found, answer, [q["sql"] for q in queries]


def test_the_user_role_and_township_cost_one_query():
    town = make_township("东城街道")
    staff = make_user("dongcheng", role="township_staff", township=town)
    found, answer, queries = loaded(staff)
    assert found == staff
    assert answer == (Role.TOWNSHIP_STAFF, town.pk)
    assert len(queries) == 1, queries


@pytest.mark.parametrize(
    "role", [Role.CITY_ADMIN, Role.CITY_VIEWER, Role.INSPECTOR, Role.TOWNSHIP_STAFF, None], ids=str
)
def test_each_role_is_read_as_role_of_reads_it(role):
    town = make_township("西城街道")
    user = make_user("someone", role=role.value if role else None, township=town)
    found, answer, queries = loaded(user)
    expected_town = town.pk if role == Role.TOWNSHIP_STAFF else None
    assert answer == (role, expected_town) and len(queries) == 1
    # The same as the groups say, read the plain way.
    plain = User.objects.get(pk=user.pk)
    assert (role_of(plain), township_id_of(plain)) == answer


def test_a_superuser_is_a_city_admin_and_a_user_without_profile_has_no_township():
    boss = User.objects.create_superuser("boss", password="x")  # no profile, no group
    found, answer, queries = loaded(boss)
    assert answer == (Role.CITY_ADMIN, None) and len(queries) == 1


def test_other_groups_do_not_make_a_role_and_the_first_role_in_order_wins():
    user = make_user("two-hats", role=None)
    user.groups.add(Group.objects.create(name="宣传组"))
    assert loaded(user)[1] == (None, None)
    # Two role groups (assign_role never makes that): Role's order decides, as in role_of.
    user.groups.add(Group.objects.get_or_create(name=Role.INSPECTOR.value)[0])
    user.groups.add(Group.objects.get_or_create(name=Role.CITY_VIEWER.value)[0])
    assert loaded(user)[1][0] == Role.CITY_VIEWER == role_of(User.objects.get(pk=user.pk))


def test_a_changed_role_counts_from_the_next_request(client):
    town = make_township("南城街道")
    user = make_user("mover", role="city_viewer")
    client.force_login(user)
    assert client.get("/units/new/").status_code == 403  # a viewer may not add units
    assign_role(user, Role.TOWNSHIP_STAFF, township=town)
    assert client.get("/units/new/").status_code == 200


def test_an_inactive_or_missing_user_is_nobody():
    user = make_user("gone")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert UserBackend().get_user(user.pk) is None
    assert UserBackend().get_user(987654) is None
