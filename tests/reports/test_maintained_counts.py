"""The per-township daily counts the database maintains equal a full recount after every kind of write.

Each test makes one kind of change through the path the product uses for it and then compares the
maintained tables (reports.counts.maintained) with a recount from the register
(reports.counts.recount); the progress report, which reads the maintained tables, must give the
figures the change implies.
"""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from enterprises import importing
from enterprises.models import Enterprise, Method, PeriodDay, Rectification, UnitDay, UnitStatus
from enterprises.services import (
    event_reinstate,
    event_withdraw,
    rectification_record,
    relapse_record,
    unit_delete,
    unit_undelete,
    unit_update,
)
from reports import counts
from reports.progress import progress_report
from tests.factories import make_township, make_unit, make_user, set_target

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def city(campaign, frozen_today):
    frozen_today(D(2018, 12, 31))
    a, b = make_township("石门镇"), make_township("白鹤镇")
    set_target(campaign, a, 10)
    set_target(campaign, b, 10)
    return a, b, make_user("admin", role="city_admin")


def assert_consistent():
    assert counts.differences() == []


def figures(campaign, day, name):
    report = progress_report(campaign, day)
    row = next(r for r in report.townships if r.name == name)
    return row.identified, row.rectified, row.open


def test_create_edit_and_back_dated_correction(campaign, city):
    a, _b, user = city
    unit = make_unit(a, D(2018, 3, 1))
    assert_consistent()
    assert figures(campaign, D(2018, 3, 1), "石门镇") == (1, 0, 1)

    unit.identified_on = D(2018, 2, 1)  # a correction back-dates the identification
    unit_update(enterprise=unit, version=unit.version, user=user)
    assert_consistent()
    assert figures(campaign, D(2018, 2, 1), "石门镇") == (1, 0, 1)

    rectification = rectification_record(
        enterprise=unit, method=Method.DEMOLISHED, rectified_on=D(2018, 4, 1), demolished_m2=Decimal("260.5"), user=user
    )
    assert_consistent()
    rectification.rectified_on = D(2018, 3, 15)  # the completion date corrected after the fact
    rectification.save()
    assert_consistent()
    assert figures(campaign, D(2018, 3, 15), "石门镇") == (1, 1, 0)
    assert progress_report(campaign, D(2018, 3, 15)).city.demolished_m2 == Decimal("260.50")


def test_relapse_withdrawal_and_reinstatement(campaign, city):
    a, _b, user = city
    unit = make_unit(a, D(2018, 1, 5))
    rectification = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    relapse = relapse_record(enterprise=unit, found_on=D(2018, 3, 1), user=user)
    assert_consistent()
    assert figures(campaign, D(2018, 3, 1), "石门镇") == (1, 0, 1)

    event_withdraw(enterprise=unit, kind="relapse", pk=relapse.pk, user=user, reason="误报")
    assert_consistent()
    assert figures(campaign, D(2018, 3, 1), "石门镇") == (1, 1, 0)
    event_reinstate(enterprise=unit, kind="relapse", pk=relapse.pk, user=user)
    assert_consistent()
    unit.refresh_from_db()
    rectification_record(enterprise=unit, method=Method.UPGRADED, rectified_on=D(2018, 3, 20), user=user)
    assert_consistent()
    assert figures(campaign, D(2018, 3, 20), "石门镇") == (1, 1, 0)
    assert Rectification.objects.filter(pk=rectification.pk, reopened_on=D(2018, 3, 1)).exists()


def test_soft_delete_restore_and_moving_a_unit_to_another_township(campaign, city):
    a, b, user = city
    unit = make_unit(a, D(2018, 1, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    unit.refresh_from_db()
    unit_delete(enterprise=unit, user=user, reason="重复录入")
    assert_consistent()
    assert figures(campaign, D(2018, 3, 1), "石门镇") == (0, 0, 0)
    unit_undelete(enterprise=unit, user=user)
    assert_consistent()
    assert figures(campaign, D(2018, 3, 1), "石门镇") == (1, 1, 0)

    unit.refresh_from_db()
    unit.township = b  # the unit was recorded under the wrong township
    unit_update(enterprise=unit, version=unit.version, user=user)
    assert_consistent()
    assert figures(campaign, D(2018, 3, 1), "石门镇") == (0, 0, 0)
    assert figures(campaign, D(2018, 3, 1), "白鹤镇") == (1, 1, 0)


def test_bulk_import_creates_and_updates(campaign, city):
    a, _b, user = city
    header = "单位名称,乡镇街道,无证无照,排查日期,整治状态,整治方式,整治完成日期\r\n"
    rows = "".join(f"点{i},石门镇,是,2018-01-{i + 2:02d},已整治,关停取缔,2018-03-{i + 2:02d}\r\n" for i in range(20))
    importing.apply(importing.parse((header + rows).encode()), user)
    assert_consistent()
    assert figures(campaign, D(2018, 3, 31), "石门镇") == (20, 20, 0)
    rows = "".join(f"点{i},石门镇,是,2018-02-{i + 1:02d},未整治,,\r\n" for i in range(25))  # 20 updated, 5 new
    importing.apply(importing.parse((header + rows).encode()), user)
    assert_consistent()
    assert figures(campaign, D(2018, 3, 31), "石门镇")[0] == 25


def test_hard_deletes_and_raw_sql_are_counted_too(campaign, city):
    a, _b, _user = city
    units = [make_unit(a, D(2018, 1, 5 + i)) for i in range(3)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Enterprise._meta.db_table} SET identified_on = %s WHERE id IN (%s, %s)",
            [D(2018, 6, 1), units[0].pk, units[1].pk],
        )
    assert_consistent()
    Enterprise.objects.filter(pk=units[2].pk).delete()
    assert_consistent()
    assert figures(campaign, D(2018, 6, 1), "石门镇") == (2, 0, 2)


def test_verify_counts_reports_a_difference_and_repairs_it(campaign, city):
    a, _b, _user = city
    make_unit(a, D(2018, 1, 5))
    out = io.StringIO()
    call_command("verify_counts", stdout=out)
    assert "一致" in out.getvalue()

    UnitDay.objects.filter(township=a).update(n=5)  # drift (e.g. a restore of only some tables)
    PeriodDay.objects.create(township=a, started=D(2018, 2, 1), ended=D(2018, 3, 1), n=1, area=0)
    with pytest.raises(CommandError, match="2 处"):
        call_command("verify_counts", stdout=io.StringIO())
    call_command("verify_counts", "--repair", stdout=io.StringIO())
    assert_consistent()


# --- alive units by township and status (UnitStatus, the register's totals) ----------------------


def statuses_of(township):
    return UnitStatus.objects.totals([township.pk])


def recounted_statuses(township):
    units = Enterprise.objects.alive().filter(township=township)
    return {status: units.filter(status=status).count() for status in ("open", "in_progress", "rectified")}


def assert_statuses(*townships):
    assert counts.maintained_statuses() == counts.recount_statuses()
    assert_consistent()
    for township in townships:
        assert statuses_of(township) == recounted_statuses(township)


def test_status_counts_follow_create_rectification_relapse_and_withdrawal(campaign, city):
    a, _b, user = city
    unit = make_unit(a, D(2018, 1, 5))
    make_unit(a, D(2018, 1, 6), status="in_progress")
    assert_statuses(a)
    assert statuses_of(a) == {"open": 1, "in_progress": 1, "rectified": 0}

    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    assert_statuses(a)
    assert statuses_of(a) == {"open": 0, "in_progress": 1, "rectified": 1}
    relapse = relapse_record(enterprise=unit, found_on=D(2018, 3, 1), user=user)
    assert_statuses(a)
    assert statuses_of(a) == {"open": 1, "in_progress": 1, "rectified": 0}
    event_withdraw(enterprise=unit, kind="relapse", pk=relapse.pk, user=user, reason="误报")
    assert_statuses(a)
    assert statuses_of(a)["rectified"] == 1
    unit.refresh_from_db()
    event_reinstate(enterprise=unit, kind="relapse", pk=relapse.pk, user=user)
    assert_statuses(a)
    assert statuses_of(a)["rectified"] == 0


def test_status_counts_follow_soft_delete_restore_and_a_township_move(campaign, city):
    a, b, user = city
    unit = make_unit(a, D(2018, 1, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    unit.refresh_from_db()
    unit_delete(enterprise=unit, user=user, reason="重复录入")
    assert_statuses(a, b)
    assert statuses_of(a) == {"open": 0, "in_progress": 0, "rectified": 0}
    unit_undelete(enterprise=unit, user=user)
    assert_statuses(a, b)
    assert statuses_of(a)["rectified"] == 1

    unit.refresh_from_db()
    unit.township = b
    unit_update(enterprise=unit, version=unit.version, user=user)
    assert_statuses(a, b)
    assert (statuses_of(a)["rectified"], statuses_of(b)["rectified"]) == (0, 1)
    assert UnitStatus.objects.totals() == {"open": 0, "in_progress": 0, "rectified": 1}


def test_status_counts_follow_a_bulk_import_and_its_update(campaign, city):
    a, _b, user = city
    header = "单位名称,乡镇街道,无证无照,排查日期,整治状态,整治方式,整治完成日期\r\n"
    rows = "".join(f"点{i},石门镇,是,2018-01-{i + 2:02d},已整治,关停取缔,2018-03-{i + 2:02d}\r\n" for i in range(20))
    importing.apply(importing.parse((header + rows).encode()), user)
    assert_statuses(a)
    assert statuses_of(a) == {"open": 0, "in_progress": 0, "rectified": 20}
    rows = "".join(f"点{i},石门镇,是,2018-02-{i + 1:02d},整治中,,\r\n" for i in range(25))  # 20 updated, 5 new
    importing.apply(importing.parse((header + rows).encode()), user)
    assert_statuses(a)
    assert sum(statuses_of(a).values()) == 25


def test_status_counts_follow_raw_sql_and_hard_deletes(campaign, city):
    a, b, _user = city
    units = [make_unit(a, D(2018, 1, 5 + i)) for i in range(4)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Enterprise._meta.db_table} SET status = %s WHERE id IN (%s, %s)",
            ["in_progress", units[0].pk, units[1].pk],
        )
        # No status change (and each unit keeps a name of its own: identity is unique per township).
        cursor.execute(f"UPDATE {Enterprise._meta.db_table} SET name = name || %s", ["改名"])
        cursor.execute(f"UPDATE {Enterprise._meta.db_table} SET township_id = %s WHERE id = %s", [b.pk, units[2].pk])
    assert_statuses(a, b)
    Enterprise.objects.filter(pk=units[3].pk).delete()
    assert_statuses(a, b)
    assert statuses_of(a) == {"open": 0, "in_progress": 2, "rectified": 0}


def test_verify_counts_repairs_the_status_counts_too(campaign, city):
    from enterprises.models import UnitStatus

    a, _b, _user = city
    make_unit(a, D(2018, 1, 5))
    UnitStatus.objects.filter(township=a, status="open").update(n=7)
    with pytest.raises(CommandError, match="1 处"):
        call_command("verify_counts", stdout=io.StringIO())
    call_command("verify_counts", "--repair", stdout=io.StringIO())
    assert_statuses(a)
