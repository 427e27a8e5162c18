"""A unit's current rectification (整治方式, 整治完成日期) kept on the unit by database triggers
(Enterprise.current_method / current_rectified_on, migration 0014): equal after every kind of
write to the periods to what the periods say, never overwritten by a save of an older copy of the
unit, and what the register's method and date filters read."""

import datetime
import importlib
import random

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef

from enterprises import services
from enterprises.filtersets import UnitFilterSet
from enterprises.models import Enterprise, Method, Rectification
from tests.factories import make_township, make_unit, make_user

pytestmark = pytest.mark.django_db(transaction=False)

D = datetime.date
TODAY = D(2018, 12, 31)


def truth():
    """{unit id: (method, day)} from the periods themselves (the filters' old definition)."""
    found = dict.fromkeys(Enterprise.objects.values_list("pk", flat=True), (None, None))
    for unit, method, day in Rectification.objects.filter(
        reopened_on__isnull=True, deleted_at__isnull=True
    ).values_list("enterprise_id", "method", "rectified_on"):
        found[unit] = (method, day)
    return found


def kept():
    return {
        pk: (method, day)
        for pk, method, day in Enterprise.objects.values_list("pk", "current_method", "current_rectified_on")
    }


@pytest.fixture
def town(db):
    return make_township("塘下镇")


@pytest.fixture
def admin(db):
    return make_user("admin-current")


def test_every_kind_of_write_keeps_the_unit_columns_equal_to_its_periods(town, admin):
    unit = make_unit(town, identified_on=D(2018, 1, 5))
    other = make_unit(town, identified_on=D(2018, 1, 6))
    assert kept() == truth() == {unit.pk: (None, None), other.pk: (None, None)}

    first = services.rectification_record(
        enterprise=unit, method=Method.DEMOLISHED, rectified_on=D(2018, 3, 1), demolished_m2=120, user=admin
    )
    assert kept()[unit.pk] == (Method.DEMOLISHED, D(2018, 3, 1)) and kept() == truth()

    relapse = services.relapse_record(enterprise=unit, found_on=D(2018, 4, 2), user=admin, today=TODAY)
    assert kept()[unit.pk] == (None, None) and kept() == truth()

    services.event_withdraw(enterprise=unit, kind="relapse", pk=relapse.pk, user=admin, reason="误报")
    assert kept()[unit.pk] == (Method.DEMOLISHED, D(2018, 3, 1)) and kept() == truth()

    services.event_withdraw(enterprise=unit, kind="rectification", pk=first.pk, user=admin, reason="录错")
    assert kept()[unit.pk] == (None, None) and kept() == truth()

    services.rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 5, 9), user=admin)
    # A correction of the period by a bulk update (as an import corrects it) is followed too.
    Rectification.objects.filter(enterprise=unit, deleted_at__isnull=True).update(
        method=Method.UPGRADED, rectified_on=D(2018, 5, 10)
    )
    assert kept()[unit.pk] == (Method.UPGRADED, D(2018, 5, 10)) and kept() == truth()

    # A period moved to another unit leaves the first without one and gives it to the second.
    Rectification.objects.filter(enterprise=unit, deleted_at__isnull=True).update(enterprise=other)
    assert kept() == truth() == {unit.pk: (None, None), other.pk: (Method.UPGRADED, D(2018, 5, 10))}

    Rectification.objects.filter(enterprise=other).delete()
    assert kept() == truth() == {unit.pk: (None, None), other.pk: (None, None)}


def test_saving_an_older_copy_of_the_unit_leaves_the_columns_alone(town, admin):
    unit = make_unit(town)
    stale = Enterprise.objects.get(pk=unit.pk)  # read before the rectification
    editing = Enterprise.objects.get(pk=unit.pk)  # a form opened before it, saved after it
    services.rectification_record(enterprise=unit, method=Method.RELOCATED, rectified_on=D(2018, 2, 2), user=admin)
    stale.address = "新地址 8 号"
    stale.save()  # every column, from a copy that knows nothing of the rectification
    fresh = Enterprise.objects.get(pk=unit.pk)
    assert fresh.address == "新地址 8 号"
    assert (fresh.current_method, fresh.current_rectified_on) == (Method.RELOCATED, D(2018, 2, 2))
    editing.owner = "王五"
    services.unit_update(enterprise=editing, version=fresh.version, user=admin)
    fresh = Enterprise.objects.get(pk=unit.pk)
    assert fresh.owner == "王五"
    assert (fresh.current_method, fresh.current_rectified_on) == (Method.RELOCATED, D(2018, 2, 2))
    # The history keeps what users edit, not the copy.
    assert "current_method" not in {f.name for f in Enterprise.history.model._meta.fields}


def test_the_filters_find_what_the_periods_say(town, admin):
    rng = random.Random(7)
    units = [make_unit(town, identified_on=D(2018, 1, 1) + datetime.timedelta(days=i)) for i in range(40)]
    for unit in units:
        if rng.random() < 0.7:
            day = D(2018, 2, 1) + datetime.timedelta(days=rng.randrange(120))
            services.rectification_record(
                enterprise=unit, method=rng.choice(Method.values), rectified_on=day, user=admin
            )
            if rng.random() < 0.3:
                services.relapse_record(
                    enterprise=unit, found_on=day + datetime.timedelta(days=3), user=admin, today=TODAY
                )
    current = Rectification.objects.filter(enterprise=OuterRef("pk"), reopened_on__isnull=True, deleted_at__isnull=True)
    cases = [
        ({"method": [Method.DEMOLISHED]}, current.filter(method=Method.DEMOLISHED)),
        ({"method": [Method.CLOSED, Method.UPGRADED]}, current.filter(method__in=[Method.CLOSED, Method.UPGRADED])),
        ({"rectified_from": "2018-03-01"}, current.filter(rectified_on__gte=D(2018, 3, 1))),
        ({"rectified_to": "2018-03-31"}, current.filter(rectified_on__lte=D(2018, 3, 31))),
        (
            {"rectified_from": "2018-03-01", "rectified_to": "2018-04-15", "method": [Method.RELOCATED]},
            current.filter(rectified_on__range=(D(2018, 3, 1), D(2018, 4, 15)), method=Method.RELOCATED),
        ),
    ]
    for params, subquery in cases:
        found = set(
            UnitFilterSet(params, queryset=Enterprise.objects.alive(), user=admin).qs.values_list("pk", flat=True)
        )
        expected = set(Enterprise.objects.alive().filter(Exists(subquery)).values_list("pk", flat=True))
        assert found == expected, params
    assert any(kept()[u.pk][0] is None for u in units) and any(kept()[u.pk][0] for u in units)


def test_the_migration_fills_the_columns_from_the_periods(town, admin):
    units = [make_unit(town, identified_on=D(2018, 1, 1 + i)) for i in range(5)]
    for i, unit in enumerate(units[:3]):
        services.rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 1 + i), user=admin)
    expected = truth()
    Enterprise.objects.update(current_method=None, current_rectified_on=None)
    assert kept() != expected
    migration = importlib.import_module("enterprises.migrations.0014_current_rectification")
    fill = migration.FORWARD[connection.vendor][-1]
    assert fill.startswith("UPDATE enterprises_enterprise")
    with connection.cursor() as cursor:
        cursor.execute(fill)
    assert kept() == expected
