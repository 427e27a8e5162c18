"""The per-village counts the database maintains (VillageDay, VillagePeriodDay) and the village
breakdown read from them.

- After every kind of write (forms' services, bulk_create, the import, raw SQL, hard deletes) the
  maintained tables equal a recount of the register, on the database at hand.
- On random histories, at random days, the breakdown equals the register query it replaces (kept
  here as the reference, ``register_breakdown``).
- The cache gives a new answer after a write in the township, and the read is one grouped query.
"""

import datetime
import random

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from enterprises import importing
from enterprises.models import (
    NO_VILLAGE,
    Enterprise,
    Method,
    Rectification,
    VillageDay,
    VillagePeriodDay,
    holding_on,
)
from enterprises.services import (
    event_withdraw,
    rectification_record,
    relapse_record,
    unit_delete,
    unit_undelete,
    unit_update,
)
from reports import counts
from reports.dashboard import village_breakdown
from tests.factories import make_township, make_unit, make_user, make_village

D = datetime.date
pytestmark = pytest.mark.django_db
UNITS = Enterprise._meta.db_table
PERIODS = Rectification._meta.db_table


@pytest.fixture
def city(campaign, frozen_today):
    frozen_today(D(2018, 12, 31))
    a, b = make_township("石门镇"), make_township("白鹤镇")
    villages = make_village(a, "一村"), make_village(a, "二村"), make_village(b, "三村")
    return a, b, villages, make_user("admin", role="city_admin")


def assert_consistent():
    """The village tables equal a recount, and so does every other maintained table."""
    kept, counted = counts.maintained_villages(), counts.recount_villages()
    assert kept == counted
    assert counts.differences() == []
    return counted


def village_units(township, village):
    """{day: n} of the village's alive units as the maintained table holds them."""
    village_id = NO_VILLAGE if village is None else village.pk
    rows = VillageDay.objects.filter(township=township, village_id=village_id).exclude(n=0)
    return {row.day: row.n for row in rows}


def village_periods(township, village):
    village_id = NO_VILLAGE if village is None else village.pk
    rows = VillagePeriodDay.objects.filter(township=township, village_id=village_id).exclude(n=0)
    return {(row.started, row.since, row.ended): row.n for row in rows}


# --- the tables follow every kind of write -----------------------------------------------------


def test_create_edit_village_and_move_township(city):
    a, b, (v1, v2, v3), user = city
    unit = make_unit(a, D(2018, 3, 1), village=v1)
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1), user=user)
    assert_consistent()
    assert village_units(a, v1) == {D(2018, 3, 1): 1}
    assert village_periods(a, v1) == {(D(2018, 4, 1), D(2018, 4, 1), D(9999, 12, 31)): 1}

    unit.refresh_from_db()
    unit.village = v2  # moved to another village: the unit and its period follow
    unit_update(enterprise=unit, version=unit.version, user=user)
    assert_consistent()
    assert village_units(a, v1) == {} and village_periods(a, v1) == {}
    assert village_units(a, v2) == {D(2018, 3, 1): 1}
    assert village_periods(a, v2) == {(D(2018, 4, 1), D(2018, 4, 1), D(9999, 12, 31)): 1}

    unit.refresh_from_db()
    unit.village = None  # no village: counted under the sentinel, upserted like any village
    unit_update(enterprise=unit, version=unit.version, user=user)
    make_unit(a, D(2018, 3, 1))
    assert_consistent()
    assert village_units(a, None) == {D(2018, 3, 1): 2}
    assert VillageDay.objects.filter(township=a, village_id=NO_VILLAGE).count() == 1

    unit.refresh_from_db()
    unit.township, unit.village = b, v3  # recorded under the wrong township
    unit_update(enterprise=unit, version=unit.version, user=user)
    assert_consistent()
    assert village_units(a, None) == {D(2018, 3, 1): 1}
    assert village_periods(b, v3) == {(D(2018, 4, 1), D(2018, 4, 1), D(9999, 12, 31)): 1}


def test_soft_delete_and_restore(city):
    a, _b, (v1, _v2, _v3), user = city
    unit = make_unit(a, D(2018, 1, 5), village=v1)
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    unit.refresh_from_db()
    unit_delete(enterprise=unit, user=user, reason="重复录入")
    assert_consistent()
    assert village_units(a, v1) == {} and village_periods(a, v1) == {}
    unit_undelete(enterprise=unit, user=user)
    assert_consistent()
    assert village_units(a, v1) == {D(2018, 1, 5): 1}
    assert village_periods(a, v1) == {(D(2018, 2, 1), D(2018, 2, 1), D(9999, 12, 31)): 1}


def test_rectification_added_reopened_withdrawn_and_deleted(city):
    a, _b, (v1, _v2, _v3), user = city
    unit = make_unit(a, D(2018, 1, 5), village=v1)
    first = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    relapse_record(enterprise=unit, found_on=D(2018, 3, 1), user=user)
    assert_consistent()
    assert village_periods(a, v1) == {(D(2018, 2, 1), D(2018, 2, 1), D(2018, 3, 1)): 1}
    unit.refresh_from_db()
    second = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 20), user=user)
    assert_consistent()
    unit.refresh_from_db()
    event_withdraw(enterprise=unit, kind="rectification", pk=second.pk, user=user, reason="误录")
    assert_consistent()
    assert village_periods(a, v1) == {(D(2018, 2, 1), D(2018, 2, 1), D(2018, 3, 1)): 1}

    Rectification.objects.filter(pk=second.pk).delete()  # for good (admin, raw)
    Rectification.objects.filter(pk=first.pk).update(rectified_on=D(2018, 1, 20))  # back-dated
    assert_consistent()
    assert village_periods(a, v1) == {(D(2018, 1, 20), D(2018, 1, 20), D(2018, 3, 1)): 1}


def test_bulk_create_import_and_hard_delete(city):
    a, _b, (v1, v2, _v3), user = city
    Enterprise.objects.bulk_create(
        [
            Enterprise(
                township=a,
                village=[v1, v2, None][i % 3],
                identified_on=D(2018, 1, 1 + i),
                name=f"批{i}",
                unlicensed=True,
            )
            for i in range(9)
        ]
    )
    counted = assert_consistent()
    assert sum(n for (n,) in counted[0].values()) == 9
    header = "单位名称,乡镇街道,村社区,无证无照,排查日期,整治状态,整治方式,整治完成日期\r\n"
    rows = "".join(
        f"点{i},石门镇,一村,是,2018-01-{i + 2:02d},已整治,关停取缔,2018-03-{i + 2:02d}\r\n" for i in range(12)
    )
    importing.apply(importing.parse((header + rows).encode()), user)
    assert_consistent()
    assert sum(village_periods(a, v1).values()) == 12
    Enterprise.objects.filter(name="批0").delete()
    assert_consistent()
    assert sum(village_units(a, v1).values()) == 12 + 2


def test_raw_sql_updates(city):
    a, b, (v1, v2, v3), user = city
    units = [make_unit(a, D(2018, 1, 5 + i), village=v1) for i in range(4)]
    for unit in units[:3]:
        rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {UNITS} SET village_id = %s WHERE id IN (%s, %s)", [v2.pk, units[0].pk, units[1].pk])
        # identified after its rectification (no form allows it; raw SQL can): the period counts from then
        cursor.execute(f"UPDATE {UNITS} SET identified_on = %s WHERE id = %s", [D(2018, 3, 1), units[0].pk])
        cursor.execute(
            f"UPDATE {UNITS} SET township_id = %s, village_id = %s WHERE id = %s", [b.pk, v3.pk, units[2].pk]
        )
        cursor.execute(f"UPDATE {PERIODS} SET reopened_on = %s WHERE enterprise_id = %s", [D(2018, 5, 1), units[1].pk])
        cursor.execute(f"UPDATE {UNITS} SET deleted_at = %s WHERE id = %s", [timezone.now(), units[3].pk])
        cursor.execute(f"UPDATE {UNITS} SET name = name || '（改）'")  # nothing a count depends on
    assert_consistent()
    assert village_periods(a, v2) == {
        (D(2018, 2, 1), D(2018, 3, 1), D(9999, 12, 31)): 1,
        (D(2018, 2, 1), D(2018, 2, 1), D(2018, 5, 1)): 1,
    }
    assert village_units(a, v1) == {}
    assert village_periods(b, v3) == {(D(2018, 2, 1), D(2018, 2, 1), D(9999, 12, 31)): 1}


def test_rebuild_refills_the_village_tables(city):
    a, _b, (v1, _v2, _v3), user = city
    unit = make_unit(a, D(2018, 1, 5), village=v1)
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    VillageDay.objects.filter(township=a).update(n=7)
    VillagePeriodDay.objects.all().delete()
    assert {table for table, *_rest in counts.differences()} == {"village units", "village periods"}
    counts.rebuild()
    assert_consistent()
    assert village_units(a, v1) == {D(2018, 1, 5): 1}


# --- the breakdown equals the register query it replaces ---------------------------------------


def register_breakdown(township, campaign, as_of):
    """The village breakdown's register query before the village tables (reports/dashboard.py):
    {village_id: (total, identified, rectified, open)}."""
    holding = holding_on(as_of, via="rectifications__")
    in_year = Q(rectifications__rectified_on__gte=campaign.start)
    rows = (
        Enterprise.objects.alive()
        .filter(township=township, identified_on__lte=as_of)
        .values("village_id")
        .annotate(
            total=Count("id", distinct=True),
            identified=Count("id", distinct=True, filter=Q(identified_on__gte=campaign.start)),
            rectified=Count("id", distinct=True, filter=holding & in_year),
            holding=Count("id", distinct=True, filter=holding),
        )
        .order_by()
    )
    return {r["village_id"]: (r["total"], r["identified"], r["rectified"], r["total"] - r["holding"]) for r in rows}


def table_breakdown(township, campaign, as_of):
    found = counts.village_counts(township.pk, campaign.start, as_of)
    return {r.village_id: (r.total, r.identified, r.rectified, r.open) for r in found}


def _random_history(rng, towns, villages, now):
    """Units with periods in and before the campaign year, relapses, deletions and moves, written
    through the ORM and raw updates (no form checks: periods may start before identification)."""
    units = []
    for _ in range(60):
        town = rng.choice(towns)
        village = rng.choice([*villages[town.pk], None])
        identified = D(2017, 10, 1) + datetime.timedelta(days=rng.randrange(400))
        units.append(make_unit(town, identified, village=village))
    for unit in units:
        day = unit.identified_on + datetime.timedelta(days=rng.randrange(-20, 120))
        for _ in range(rng.randrange(3)):
            reopened = day + datetime.timedelta(days=rng.randrange(1, 90)) if rng.random() < 0.5 else None
            Rectification.objects.create(
                enterprise=unit,
                method=Method.CLOSED,
                rectified_on=day,
                reopened_on=reopened,
                deleted_at=now if rng.random() < 0.1 else None,
            )
            if reopened is None:
                break
            day = reopened + datetime.timedelta(days=rng.randrange(0, 30))
    for unit in rng.sample(units, 25):
        change = rng.randrange(5)
        if change == 0:
            Enterprise.objects.filter(pk=unit.pk).update(deleted_at=now)
        elif change == 1:
            town = rng.choice(towns)
            Enterprise.objects.filter(pk=unit.pk).update(township=town, village=rng.choice([*villages[town.pk], None]))
        elif change == 2:
            Enterprise.objects.filter(pk=unit.pk).update(village=rng.choice([*villages[unit.township_id], None]))
        elif change == 3:
            shift = datetime.timedelta(days=rng.randrange(-60, 60))
            Enterprise.objects.filter(pk=unit.pk).update(identified_on=unit.identified_on + shift)
        else:
            Rectification.objects.filter(enterprise=unit).update(deleted_at=now)


@pytest.mark.parametrize("seed", range(4))
def test_the_breakdown_equals_the_register_query_on_random_histories(campaign, seed):
    rng = random.Random(seed)
    towns = [make_township(f"随机{seed}{i}镇") for i in range(2)]
    villages = {town.pk: [make_village(town, f"{town.name}{j}村") for j in range(3)] for town in towns}
    _random_history(rng, towns, villages, timezone.now())
    assert_consistent()
    days = [campaign.start - datetime.timedelta(days=1), campaign.start, campaign.end]
    days += [campaign.start + datetime.timedelta(days=rng.randrange(365)) for _ in range(8)]
    compared = 0
    for day in days:
        for town in towns:
            expected = register_breakdown(town, campaign, day)
            assert table_breakdown(town, campaign, day) == expected, (seed, town.name, day)
            compared += len(expected)
    assert compared > 20


def test_the_breakdown_counts_a_unit_identified_after_its_rectification_from_its_identification(campaign):
    town = make_township("早整治镇")
    village = make_village(town, "一村")
    unit = make_unit(town, D(2018, 3, 1), village=village)
    Rectification.objects.create(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1))
    for day, expected in (
        (D(2018, 2, 15), {}),
        (D(2018, 3, 1), {village.pk: (1, 1, 1, 0)}),
    ):
        assert register_breakdown(town, campaign, day) == expected
        assert table_breakdown(town, campaign, day) == expected


# --- the cache and the query count ---------------------------------------------------------------


def _lines(town, campaign, as_of):
    return {
        line.name: (line.total, line.identified, line.rectified, line.open)
        for line in village_breakdown(town, campaign, as_of)
    }


def test_the_cache_gives_a_new_answer_after_a_write_in_the_township(campaign, django_assert_num_queries):
    town, other = make_township("缓存镇"), make_township("别的镇")
    v1, v2 = make_village(town, "一村"), make_village(town, "二村")
    unit = make_unit(town, D(2018, 2, 1), village=v1)
    as_of = D(2018, 6, 30)
    assert _lines(town, campaign, as_of) == {"一村": (1, 1, 0, 1)}

    make_unit(other, D(2018, 2, 1))  # another township's write keeps this one's answer
    with django_assert_num_queries(2):  # the versions and the villages' names
        assert _lines(town, campaign, as_of) == {"一村": (1, 1, 0, 1)}

    Rectification.objects.create(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 1))
    assert _lines(town, campaign, as_of) == {"一村": (1, 1, 1, 0)}
    Enterprise.objects.filter(pk=unit.pk).update(village=v2)
    assert _lines(town, campaign, as_of) == {"二村": (1, 1, 1, 0)}
    Enterprise.objects.filter(pk=unit.pk).update(village=None)
    assert _lines(town, campaign, as_of) == {None: (1, 1, 1, 0)}
    Rectification.objects.filter(enterprise=unit).update(reopened_on=D(2018, 5, 1))
    assert _lines(town, campaign, as_of) == {None: (1, 1, 0, 1)}


def test_village_breakdown_query_count(campaign, django_assert_num_queries):
    town = make_township("计数镇")
    for i in range(6):
        village = make_village(town, f"{i}村")
        for j in range(4):
            unit = make_unit(town, D(2018, 1, 2 + j), village=village if j else None)
            Rectification.objects.create(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1 + i))
    # the versions, one grouped query over the two village tables, the villages' names
    with django_assert_num_queries(3) as captured:
        lines = village_breakdown(town, campaign, D(2018, 3, 31))
    assert len(lines) == 7 and lines[-1].name is None and lines[-1].total == 6
    grouped = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1
    assert VillageDay._meta.db_table in grouped[0] and UNITS not in grouped[0]
    with django_assert_num_queries(2):
        assert village_breakdown(town, campaign, D(2018, 3, 31)) == lines


# --- the declaration and the database agree ----------------------------------------------------


def test_the_village_triggers_are_declared_installed_and_followed_by_the_versions():
    declared = counts.declared(connection.vendor)
    names = {name for _table, name in declared.triggers}
    assert {"siwu_villages_insert", "siwu_villages_update", "siwu_village_periods_delete"} <= names
    tables = {table for table, _name in declared.triggers}
    assert {VillageDay._meta.db_table, VillagePeriodDay._meta.db_table} <= tables  # their version triggers
    assert counts.drift(connection) == []
    villages = counts.READS["villages"]
    assert set(villages.columns) == {VillageDay._meta.db_table, VillagePeriodDay._meta.db_table}
    for vendor in ("postgresql", "sqlite"):
        assert counts.uncovered(vendor, [villages]) == [], vendor
