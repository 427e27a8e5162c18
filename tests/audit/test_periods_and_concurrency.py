"""Withdrawing and reinstating events keeps a unit's periods consistent; concurrent writes never both win."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enterprises.models import Enterprise, Rectification, Relapse, Status
from enterprises.services import (
    RECTIFICATION,
    RELAPSE,
    StaleEdit,
    event_reinstate,
    event_withdraw,
    latest_event,
    rectification_record,
    relapse_record,
    unit_delete,
    unit_undelete,
    unit_update,
)
from tests.concurrency import needs_postgres, race
from tests.factories import make_township, make_unit

D = datetime.date
FOUND = D(2018, 1, 1)
TODAY = D(2018, 6, 30)


def check_periods(unit):
    """The invariants reports/counts/reader.py relies on, plus the unit's status following them."""
    unit.refresh_from_db()
    periods = Rectification.objects.filter(enterprise=unit, deleted_at__isnull=True).order_by("rectified_on", "id")
    periods = list(periods)
    relapses = list(Relapse.objects.filter(enterprise=unit, deleted_at__isnull=True))
    open_periods = [p for p in periods if p.reopened_on is None]
    assert len(open_periods) <= 1
    assert (unit.status == Status.RECTIFIED) == bool(open_periods)
    for earlier, later in zip(periods, periods[1:]):
        assert earlier.reopened_on is not None and earlier.reopened_on <= later.rectified_on
    for period in periods:
        standing = [r for r in relapses if r.rectification_id == period.pk]
        if period.reopened_on is None:
            assert standing == []
        else:
            assert [r.found_on for r in standing] == [period.reopened_on]
    assert all(r.rectification_id in {p.pk for p in periods} for r in relapses)
    for period in periods:
        assert FOUND <= period.rectified_on <= TODAY


operations = st.lists(
    st.one_of(
        st.tuples(st.just("rectify"), st.integers(0, (TODAY - FOUND).days)),
        st.tuples(st.just("relapse"), st.integers(0, (TODAY - FOUND).days)),
        st.tuples(st.just("withdraw"), st.just(0)),
        st.tuples(st.just("reinstate"), st.integers(0, 5)),
        st.tuples(st.just("delete"), st.just(0)),
    ),
    max_size=14,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_any_sequence_of_writes_keeps_the_periods_consistent(frozen_today, ops):
    frozen_today(TODAY)
    user = None
    unit = make_unit(make_township(), FOUND)
    for op, arg in ops:
        day = FOUND + datetime.timedelta(days=arg)
        try:
            if op == "rectify":
                rectification_record(enterprise=unit, method="closed", rectified_on=day, user=user)
            elif op == "relapse":
                relapse_record(enterprise=unit, found_on=day, user=user)
            elif op == "withdraw":
                latest = latest_event(list(unit.rectifications.all()), list(unit.relapses.all()))
                if latest:
                    event_withdraw(enterprise=unit, kind=latest[0], pk=latest[1].pk, user=user, reason="测试")
            elif op == "reinstate":
                withdrawn = [(RECTIFICATION, r) for r in unit.rectifications.filter(deleted_at__isnull=False)]
                withdrawn += [(RELAPSE, r) for r in unit.relapses.filter(deleted_at__isnull=False)]
                if withdrawn:
                    kind, event = withdrawn[arg % len(withdrawn)]
                    event_reinstate(enterprise=unit, kind=kind, pk=event.pk, user=user)
            elif op == "delete":
                unit_delete(enterprise=unit, user=user, reason="测试")
                unit_undelete(enterprise=unit, user=user)
        except ValidationError:
            pass  # refused, and (being in one transaction) wrote nothing
        check_periods(unit)


@pytest.mark.django_db
def test_withdrawing_anything_but_the_latest_event_is_refused(frozen_today):
    frozen_today(TODAY)
    unit = make_unit(make_township(), FOUND)
    first = rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 2, 1))
    relapse = relapse_record(enterprise=unit, found_on=D(2018, 3, 1))
    second = rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 4, 1))
    for kind, event in [(RECTIFICATION, first), (RELAPSE, relapse)]:
        with pytest.raises(ValidationError, match="只能撤回该单位最近的一条"):
            event_withdraw(enterprise=unit, kind=kind, pk=event.pk, user=None, reason="x")
    with pytest.raises(ValidationError, match="请填写原因"):
        event_withdraw(enterprise=unit, kind=RECTIFICATION, pk=second.pk, user=None, reason=" ")
    event_withdraw(enterprise=unit, kind=RECTIFICATION, pk=second.pk, user=None, reason="录重了")
    event_withdraw(enterprise=unit, kind=RELAPSE, pk=relapse.pk, user=None, reason="误报")
    unit.refresh_from_db()
    first.refresh_from_db()
    assert (unit.status, first.reopened_on) == (Status.RECTIFIED, None)
    # The withdrawn second rectification no longer fits: the first one holds again.
    with pytest.raises(ValidationError):
        event_reinstate(enterprise=unit, kind=RECTIFICATION, pk=second.pk, user=None)
    check_periods(unit)


@pytest.mark.django_db
def test_every_unit_write_moves_its_version_on(frozen_today):
    frozen_today(TODAY)
    unit = make_unit(make_township(), FOUND)
    rectification = rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 2, 1))
    relapse = relapse_record(enterprise=unit, found_on=D(2018, 3, 1))
    event_withdraw(enterprise=unit, kind=RELAPSE, pk=relapse.pk, user=None, reason="误报")
    event_reinstate(enterprise=unit, kind=RELAPSE, pk=relapse.pk, user=None)
    unit_delete(enterprise=unit, user=None, reason="重复")
    unit_undelete(enterprise=unit, user=None)
    unit.name = "新名"
    unit_update(enterprise=unit, version=unit.version, user=None)
    assert rectification.pk
    assert Enterprise.objects.get(pk=unit.pk).version == unit.version == 8
    stale = Enterprise.objects.get(pk=unit.pk)
    with pytest.raises(StaleEdit):
        unit_update(enterprise=stale, version=7, user=None)


# --- two requests at once (PostgreSQL: row locks; SQLite serializes whole transactions) -----------


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_rectifications_at_once_record_one(frozen_today):
    frozen_today(TODAY)
    unit = make_unit(make_township(), FOUND)
    results = race(
        *[
            lambda day=day: rectification_record(
                enterprise=Enterprise.objects.get(pk=unit.pk), method="closed", rectified_on=day
            )
            for day in (D(2018, 2, 1), D(2018, 2, 2))
        ]
    )
    assert sorted(type(r).__name__ for r in results) == ["Rectification", "ValidationError"]
    assert Rectification.objects.filter(enterprise=unit).count() == 1
    check_periods(unit)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_edits_from_the_same_version_save_one(frozen_today):
    frozen_today(TODAY)
    unit = make_unit(make_township(), FOUND, name="原名")

    def edit(name):
        copy = Enterprise.objects.get(pk=unit.pk)
        copy.name = name
        return unit_update(enterprise=copy, version=1, user=None)

    results = race(lambda: edit("甲改"), lambda: edit("乙改"))
    assert sorted(type(r).__name__ for r in results) == ["Enterprise", "StaleEdit"]
    unit.refresh_from_db()
    assert unit.version == 2 and unit.name in {"甲改", "乙改"}
    assert unit.history.count() == 2
