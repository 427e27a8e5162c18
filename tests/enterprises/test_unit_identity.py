"""A unit is registered once (SPEC 3): the database constraint, the migration that adds it, the services."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from campaign.models import Township
from enterprises.credit_code import make_credit_code
from enterprises.models import Enterprise
from enterprises.services import DuplicateUnit, unit_create, unit_delete, unit_undelete, unit_update
from tests.concurrency import race
from tests.factories import make_township, make_unit

pytestmark = pytest.mark.django_db

CODE_A = make_credit_code("9", "1", "330102", "11111111")
CODE_B = make_credit_code("9", "1", "330102", "22222222")
migration = importlib.import_module("enterprises.migrations.0008_enterprise_unique_identity")


@pytest.fixture
def town():
    return make_township("城关镇")


def insert(town, **fields):
    """A second row straight into the table, as a racing writer would: no check of ours in between."""
    with transaction.atomic():
        return make_unit(town, **{"name": "红星五金厂", "address": "解放路12号", **fields})


# --- the constraint ------------------------------------------------------------------------------


def test_a_second_unit_without_a_code_and_the_same_identity_is_refused_by_the_database(town):
    insert(town)
    with pytest.raises(IntegrityError):
        insert(town)
    assert Enterprise.objects.count() == 1


def test_names_and_addresses_are_compared_after_trimming_spaces(town):
    insert(town)
    with pytest.raises(IntegrityError):
        insert(town, name=" 红星五金厂\u3000", address="解放路12号 ")


def test_a_deleted_unit_does_not_block_its_identity(town):
    old = insert(town)
    Enterprise.objects.filter(pk=old.pk).update(deleted_at=timezone.now())
    insert(town)
    assert Enterprise.objects.count() == 2


def test_units_with_different_credit_codes_may_share_an_identity(town):
    insert(town, credit_code=CODE_A)
    insert(town, credit_code=CODE_B)
    assert Enterprise.objects.count() == 2


def test_another_township_or_address_is_another_unit(town):
    insert(town)
    insert(make_township("白鹤镇"))
    insert(town, address="解放路14号")
    assert Enterprise.objects.count() == 3


# --- the migration -------------------------------------------------------------------------------


def test_the_migration_finds_duplicates_by_the_import_rule_and_stops_with_the_list(town):
    first = insert(town)
    # Stored before names were trimmed on save: the columns differ, the identity does not.
    second = insert(town, name="红星五金厂（旧）")
    Enterprise.objects.filter(pk=second.pk).update(name=" 红星五金厂  ")
    insert(town, credit_code=CODE_A)  # a code of its own: another unit
    deleted = insert(town, name="旧名")
    Enterprise.objects.filter(pk=deleted.pk).update(name="红星五金厂 ", deleted_at=timezone.now())

    with pytest.raises(CommandError) as refused:
        migration.refuse_duplicates(apps, None)

    lines = str(refused.value).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("系统中有1组未填统一社会信用代码") and lines[0].endswith("本次迁移未作任何更改。")
    assert lines[2] == f"城关镇，单位名称“红星五金厂”，地址“解放路12号”：单位编号 {first.pk}、{second.pk}"


def test_the_migration_passes_a_register_without_duplicates(town):
    insert(town)
    insert(town, address="解放路14号")
    migration.refuse_duplicates(apps, None)
    assert migration.duplicate_groups(Enterprise, Township) == []


# --- the services: creating, editing, restoring -------------------------------------------------


def new_unit(town, **fields):
    fields = {"name": "红星五金厂", "address": "解放路12号", "unlicensed": True, **fields}
    return Enterprise(township=town, identified_on=timezone.localdate(), **fields)


def test_creating_the_same_unit_again_is_refused_with_the_unit_there(town):
    there = make_unit(town, name="红星五金厂", address="解放路12号")
    with pytest.raises(DuplicateUnit) as refused:
        unit_create(enterprise=new_unit(town, name="红星五金厂 ", address=" 解放路12号"))
    assert refused.value.unit == there
    assert Enterprise.objects.count() == 1


def test_a_code_on_one_side_only_still_makes_the_same_unit(town):
    make_unit(town, name="红星五金厂", address="解放路12号", credit_code=CODE_A)
    with pytest.raises(DuplicateUnit):
        unit_create(enterprise=new_unit(town))
    unit_create(enterprise=new_unit(town, credit_code=CODE_B))
    assert Enterprise.objects.count() == 2


def test_a_create_racing_past_the_check_gets_duplicate_unit_not_a_database_error(town, monkeypatch):
    from enterprises import services

    there = make_unit(town, name="红星五金厂", address="解放路12号")
    real, calls = services.same_unit, []

    def blind_once(unit):
        # The check under the lock misses the unit (a writer that took no lock wrote it meanwhile).
        calls.append(unit)
        return None if len(calls) == 1 else real(unit)

    monkeypatch.setattr(services, "same_unit", blind_once)
    with pytest.raises(DuplicateUnit) as refused:
        unit_create(enterprise=new_unit(town))
    assert refused.value.unit == there
    assert Enterprise.objects.count() == 1


def test_an_edit_that_makes_a_unit_the_same_as_another_is_refused(town):
    there = make_unit(town, name="红星五金厂", address="解放路12号")
    unit = make_unit(town, name="红星五金二厂", address="解放路12号")
    unit.name = "红星五金厂"
    with pytest.raises(DuplicateUnit) as refused:
        unit_update(enterprise=unit, version=unit.version)
    assert refused.value.unit == there
    unit.refresh_from_db()
    assert (unit.name, unit.version) == ("红星五金二厂", 1)


def test_an_edit_that_leaves_the_identity_alone_is_not_checked(town):
    # Two units that share an identity, one with a code (allowed before the rule was enforced in forms).
    make_unit(town, name="红星五金厂", address="解放路12号", credit_code=CODE_A)
    unit = make_unit(town, name="红星五金厂", address="解放路12号")
    unit.phone = "13800000000"
    unit_update(enterprise=unit, version=unit.version)
    unit.refresh_from_db()
    assert unit.phone == "13800000000"


def test_a_deleted_unit_is_not_restored_over_the_same_unit_registered_since(town):
    old = make_unit(town, name="红星五金厂", address="解放路12号")
    unit_delete(enterprise=old, user=None, reason="误删")
    make_unit(town, name="红星五金厂", address="解放路12号")
    with pytest.raises(ValidationError, match="已登记单位名称、地址都相同的单位“红星五金厂”"):
        unit_undelete(enterprise=old, user=None)
    old.refresh_from_db()
    assert old.is_deleted


# --- two writers at once (PostgreSQL: separate connections in threads) ---------------------------

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's shared-cache test database runs no two writers at once"
)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_forms_registering_one_unit_at_once_register_it_once():
    town = make_township("城关镇")

    def create():
        return unit_create(enterprise=new_unit(town))

    results = race(create, create)
    assert sorted(type(result).__name__ for result in results) == ["DuplicateUnit", "Enterprise"]
    assert Enterprise.objects.count() == 1
