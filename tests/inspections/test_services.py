"""The writes of the inspection loop (inspections/services.py), each rule of issue 6 against the database."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from enterprises.models import Enterprise, Method, Rectification, Relapse, Source, Status
from enterprises.services import rectification_record, relapse_record
from inspections import rules, services
from inspections.models import (
    CHECKLIST_FIELDS,
    CrossAssignment,
    DefectClearance,
    Finding,
    FindingKind,
    FindingState,
    Inspection,
    Kind,
    Lookback,
    LookbackDraw,
    LookbackResult,
    Reconciliation,
    Severity,
)
from reports.progress import progress_report
from tests.factories import make_township, make_unit, make_user, set_target
from tests.inspections import evidence

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 12, 31))


@pytest.fixture
def town(campaign):
    township = make_township("城关镇")
    set_target(campaign, township, 10)
    return township


@pytest.fixture
def inspector(db):
    return make_user("inspector", role="inspector")


@pytest.fixture
def staff(town):
    return make_user("staff", role="township_staff", township=town)


@pytest.fixture
def checker(db):
    return make_user("checker", role="city_admin")


def rectify(unit, day, method=Method.CLOSED, user=None):
    return rectification_record(enterprise=unit, method=method, rectified_on=day, user=user)


def inspect(township, day, user=None, kind=Kind.UNANNOUNCED, units=()):
    return services.inspection_record(
        kind=kind, inspected_on=day, team="市督查一组", township=township, units=units, user=user
    )


def find(inspection, unit=None, kind=FindingKind.NOT_DONE, deadline=None, user=None, **kwargs):
    return services.finding_record(
        inspection=inspection,
        kind=kind,
        description="现场检查发现问题",
        deadline=deadline or rules.add_days(inspection.inspected_on, 15),
        enterprise=unit,
        user=user,
        **kwargs,
    )


def row(report, township):
    return report.row_for(township.pk)


def last_history_user(model, pk):
    return model.history.filter(id=pk).order_by("-history_date", "-history_id").first().history_user


# --- inspections ----------------------------------------------------------------------------------


def test_inspection_is_recorded_with_its_units_and_attributed(town, inspector):
    units = [make_unit(town), make_unit(town)]
    inspection = inspect(town, D(2018, 4, 2), user=inspector, units=units)
    assert set(inspection.units.all()) == set(units)
    assert inspection.done and inspection.created_by == inspector
    assert last_history_user(Inspection, inspection.pk) == inspector


def test_inspection_refuses_a_future_day_and_units_of_another_township(town, inspector):
    with pytest.raises(ValidationError) as error:
        inspect(town, D(2019, 1, 1))
    assert "inspected_on" in error.value.message_dict
    other = make_unit(make_township("东岗镇"))
    with pytest.raises(ValidationError) as error:
        inspect(town, D(2018, 4, 2), units=[other])
    assert "units" in error.value.message_dict
    assert not Inspection.objects.exists()


# --- relapse: the rate and colour move on the day found -------------------------------------------


def test_relapse_finding_moves_rate_and_colour_from_the_day_found(campaign, town, inspector):
    day = D(2018, 3, 31)  # the 30 % milestone: expected 29.66 on 03-30, 30.00 on 03-31
    units = [make_unit(town) for _ in range(3)]
    for unit in units:
        rectify(unit, D(2018, 2, 1))
    before = row(progress_report(campaign, day - datetime.timedelta(days=1)), town)
    assert (before.rectified, before.rate, before.colour) == (3, Decimal("30.00"), "green")
    assert row(progress_report(campaign, day), town).colour == "green"

    inspection = inspect(town, day, user=inspector, units=[units[0]])
    finding = find(inspection, units[0], kind=FindingKind.RELAPSE, user=inspector)

    eve = row(progress_report(campaign, day - datetime.timedelta(days=1)), town)
    assert (eve.rectified, eve.rate, eve.colour) == (3, Decimal("30.00"), "green")
    on_the_day = row(progress_report(campaign, day), town)
    assert (on_the_day.rectified, on_the_day.rate, on_the_day.colour) == (2, Decimal("20.00"), "yellow")
    assert on_the_day.open == 1

    relapse = Relapse.objects.get(enterprise=units[0])
    assert relapse.found_on == day
    assert finding.relapse == relapse
    assert relapse.created_by == inspector
    period = Rectification.objects.get(enterprise=units[0])
    assert period.reopened_on == day
    units[0].refresh_from_db()
    assert units[0].status == Status.OPEN
    assert finding.found_on == day and finding.township == town and finding.state == FindingState.OPEN
    assert last_history_user(Finding, finding.pk) == inspector


def test_relapse_finding_on_a_unit_not_rectified_is_refused_and_writes_nothing(town, inspector):
    unit = make_unit(town)
    inspection = inspect(town, D(2018, 4, 2))
    with pytest.raises(ValidationError):
        find(inspection, unit, kind=FindingKind.RELAPSE, user=inspector)
    assert not Finding.objects.exists() and not Relapse.objects.exists()


def test_finding_on_a_unit_of_another_township_is_refused(town):
    inspection = inspect(town, D(2018, 4, 2))
    with pytest.raises(ValidationError) as error:
        find(inspection, make_unit(make_township("东岗镇")))
    assert "enterprise" in error.value.message_dict


def test_finding_deadline_before_the_day_found_is_refused(town):
    inspection = inspect(town, D(2018, 4, 2))
    with pytest.raises(ValidationError) as error:
        find(inspection, make_unit(town), deadline=D(2018, 4, 1))
    assert "deadline" in error.value.message_dict


def test_finding_refuses_an_unknown_kind(town):
    inspection = inspect(town, D(2018, 4, 2))
    with pytest.raises(ValidationError):
        find(inspection, make_unit(town), kind="bogus")


# --- missed units (漏排) ----------------------------------------------------------------------------


def test_missed_finding_creates_the_unit_counted_as_identified(campaign, town, inspector):
    day = D(2018, 4, 10)
    before = row(progress_report(campaign, day), town).identified
    inspection = inspect(town, day, user=inspector)
    finding = find(inspection, kind=FindingKind.MISSED, user=inspector, new_unit={"name": "漏排小作坊", "unsafe": True})
    unit = finding.enterprise
    assert (unit.source, unit.identified_on, unit.township) == (Source.INSPECTION, day, town)
    assert unit.name == "漏排小作坊" and unit.unsafe and unit.created_by == inspector
    assert row(progress_report(campaign, day), town).identified == before + 1
    assert row(progress_report(campaign, day - datetime.timedelta(days=1)), town).identified == before
    assert row(progress_report(campaign, day), town).open == 1


def test_missed_finding_needs_a_unit_with_a_defect(town):
    inspection = inspect(town, D(2018, 4, 10))
    with pytest.raises(ValidationError):
        find(inspection, kind=FindingKind.MISSED)
    with pytest.raises(ValidationError):
        find(inspection, kind=FindingKind.MISSED, new_unit={"name": "没有四无情形"})
    assert not Enterprise.objects.exists() and not Finding.objects.exists()


def test_missed_and_relapse_findings_are_rectified_only_after_the_unit(town, inspector, staff):
    inspection = inspect(town, D(2018, 4, 10))
    missed = find(inspection, kind=FindingKind.MISSED, new_unit={"name": "漏排厂", "unlicensed": True})
    with pytest.raises(ValidationError):
        services.finding_rectified(finding=missed, rectified_on=D(2018, 4, 20), note="已关停", user=staff)
    rectify(missed.enterprise, D(2018, 4, 20))
    done = services.finding_rectified(finding=missed, rectified_on=D(2018, 4, 20), note="已关停", user=staff)
    assert done.state == FindingState.RECTIFIED

    unit = make_unit(town)
    rectify(unit, D(2018, 2, 1))
    relapse = find(inspect(town, D(2018, 5, 2)), unit, kind=FindingKind.RELAPSE)
    with pytest.raises(ValidationError):
        services.finding_rectified(finding=relapse, rectified_on=D(2018, 5, 10), note="再次关停", user=staff)
    rectify(unit, D(2018, 5, 10))
    services.finding_rectified(finding=relapse, rectified_on=D(2018, 5, 10), note="再次关停", user=staff)
    relapse.refresh_from_db()
    assert relapse.state == FindingState.RECTIFIED and relapse.rectified_by == staff


# --- serious findings schedule a follow-up --------------------------------------------------------


def test_serious_finding_schedules_a_follow_up_on_its_deadline(town, inspector):
    inspection = inspect(town, D(2018, 4, 2), user=inspector)
    finding = find(inspection, make_unit(town), severity=Severity.SERIOUS, deadline=D(2018, 4, 30))
    follow_up = Inspection.objects.get(follow_up_of=finding)
    assert (follow_up.done, follow_up.inspected_on, follow_up.township) == (False, D(2018, 4, 30), town)
    assert follow_up.team == inspection.team
    with pytest.raises(ValidationError):
        find(follow_up, make_unit(town))  # not carried out yet

    with pytest.raises(ValidationError):
        services.follow_up_done(inspection=follow_up, inspected_on=D(2018, 4, 1), user=inspector)
    done = services.follow_up_done(inspection=follow_up, inspected_on=D(2018, 5, 2), notes="已整改", user=inspector)
    assert (done.done, done.inspected_on, done.notes) == (True, D(2018, 5, 2), "已整改")
    assert last_history_user(Inspection, follow_up.pk) == inspector
    with pytest.raises(ValidationError):
        services.follow_up_done(inspection=done, inspected_on=D(2018, 5, 3))


def test_normal_finding_schedules_nothing(town):
    find(inspect(town, D(2018, 4, 2)), make_unit(town))
    assert Inspection.objects.count() == 1


# --- deadline on 29 February ----------------------------------------------------------------------


def test_deadline_on_29_february(frozen_today, inspector, staff):
    frozen_today(D(2020, 3, 31))
    township = make_township("闰年镇")
    unit = make_unit(township, identified_on=D(2020, 1, 5))
    inspection = inspect(township, D(2020, 1, 31))
    deadline = rules.add_months(inspection.inspected_on, 1)
    assert deadline == D(2020, 2, 29)
    finding = find(inspection, unit, deadline=deadline)
    assert not finding.is_overdue(D(2020, 2, 29))
    assert finding.is_overdue(D(2020, 3, 1))
    assert not Finding.objects.overdue(D(2020, 2, 29)).exists()
    assert list(Finding.objects.overdue(D(2020, 3, 1))) == [finding]

    services.finding_rectified(finding=finding, rectified_on=D(2020, 3, 2), note="整改完成", user=staff)
    finding.refresh_from_db()
    assert not finding.is_overdue(D(2020, 3, 3))
    assert not Finding.objects.overdue(D(2020, 3, 3)).exists()


def test_default_deadline_follows_the_campaign_setting(campaign):
    assert services.deadline_for(D(2018, 2, 14)) == D(2018, 3, 1)
    settings = services.settings_for(campaign)
    settings.deadline_days = 30
    settings.save()
    assert services.deadline_for(D(2018, 1, 30)) == D(2018, 3, 1)
    assert services.deadline_for(D(2016, 2, 14)) == D(2016, 2, 29)  # outside any campaign: 15 days


# --- close-off: 谁整改、谁不能自验 ---------------------------------------------------------------------


def test_close_off_refused_to_whoever_rectified_it(town, inspector, staff, checker):
    finding = find(inspect(town, D(2018, 4, 2)), make_unit(town), user=inspector)
    with pytest.raises(ValidationError):
        services.finding_verify(finding=finding, passed=True, closed_on=D(2018, 4, 10), note="", user=checker)

    services.finding_rectified(
        finding=finding, rectified_on=D(2018, 4, 8), note="已整改", photos=evidence.photos(), user=staff
    )
    with pytest.raises(ValidationError) as error:
        services.finding_verify(finding=finding, passed=True, closed_on=D(2018, 4, 10), note="自验", user=staff)
    assert "谁整改、谁不能自验" in str(error.value)
    finding.refresh_from_db()
    assert finding.state == FindingState.RECTIFIED and finding.closed_by is None

    closed = services.finding_verify(finding=finding, passed=True, closed_on=D(2018, 4, 10), note="同意", user=checker)
    finding.refresh_from_db()
    assert (finding.state, finding.closed_by, finding.closed_on) == (FindingState.CLOSED, checker, D(2018, 4, 10))
    assert finding.rectified_by == staff and closed.verification_note == "同意"
    assert last_history_user(Finding, finding.pk) == checker
    assert not Finding.objects.unresolved().exists()
    with pytest.raises(ValidationError):
        services.finding_rectified(finding=finding, rectified_on=D(2018, 4, 11), note="", user=staff)


def test_failed_verification_sends_the_finding_back(town, staff, checker):
    finding = find(inspect(town, D(2018, 4, 2)), make_unit(town))
    services.finding_rectified(finding=finding, rectified_on=D(2018, 4, 8), note="已整改", user=staff)
    services.finding_verify(finding=finding, passed=False, closed_on=D(2018, 4, 10), note="未整改到位", user=checker)
    finding.refresh_from_db()
    assert finding.state == FindingState.OPEN
    assert finding.rectified_by is None and finding.rectified_on is None and finding.closed_by is None
    assert finding.verification_note == "未整改到位"
    assert list(Finding.objects.unresolved()) == [finding]
    # Once again reported rectified, by someone else: the first reporter may verify now.
    other = make_user("staff2", role="township_staff", township=town)
    services.finding_rectified(
        finding=finding, rectified_on=D(2018, 4, 15), note="再次整改", photos=evidence.photos(), user=other
    )
    services.finding_verify(finding=finding, passed=True, closed_on=D(2018, 4, 16), note="", user=staff)
    finding.refresh_from_db()
    assert finding.state == FindingState.CLOSED and finding.closed_by == staff


def test_verification_date_must_follow_the_rectification(town, staff, checker):
    finding = find(inspect(town, D(2018, 4, 2)), make_unit(town))
    services.finding_rectified(finding=finding, rectified_on=D(2018, 4, 8), note="", user=staff)
    with pytest.raises(ValidationError) as error:
        services.finding_verify(finding=finding, passed=True, closed_on=D(2018, 4, 7), note="", user=checker)
    assert "closed_on" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.finding_rectified(finding=finding, rectified_on=D(2018, 4, 1), note="", user=staff)


def test_database_refuses_a_self_verified_close_off(town, staff):
    finding = find(inspect(town, D(2018, 4, 2)), make_unit(town))
    services.finding_rectified(finding=finding, rectified_on=D(2018, 4, 8), note="", user=staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(
            state=FindingState.CLOSED, closed_by=staff, closed_on=D(2018, 4, 9)
        )


# --- cross-inspection rounds ----------------------------------------------------------------------


def _pairs(round_):
    return sorted(round_.assignments.values_list("inspecting_id", "inspected_id"))


def test_cross_round_never_self_never_reciprocal_and_reproducible(campaign, checker):
    townships = [make_township() for _ in range(7)]
    first = services.cross_round_create(
        campaign=campaign, name="第一轮", held_on=D(2018, 5, 1), ends_on=D(2018, 5, 10), townships=townships, seed=99
    )
    pairs = _pairs(first)
    assert len(pairs) == 7
    assert all(a != b for a, b in pairs)
    assert not any((b, a) in set(pairs) for a, b in pairs)
    assert {a for a, _b in pairs} == {b for _a, b in pairs} == {t.pk for t in townships}
    assert first.seed == 99 and first.created_by is None
    again = services.cross_round_create(
        campaign=campaign,
        name="复核",
        held_on=D(2018, 5, 1),
        ends_on=D(2018, 5, 10),
        townships=list(reversed(townships)),
        seed=99,
        user=checker,
    )
    assert _pairs(again) == pairs
    assert last_history_user(CrossAssignment, again.assignments.first().pk) == checker
    drawn = services.cross_round_create(
        campaign=campaign, name="随机", held_on=D(2018, 6, 1), ends_on=D(2018, 6, 10), townships=townships
    )
    assert drawn.seed > 0 and rules.cross_assignment([t.pk for t in townships], drawn.seed) == [
        (a.inspecting_id, a.inspected_id) for a in drawn.assignments.order_by("id")
    ]


@pytest.mark.parametrize("count", [0, 1, 2])
def test_cross_round_needs_three_townships(campaign, count):
    townships = [make_township() for _ in range(count)]
    with pytest.raises(ValidationError):
        services.cross_round_create(
            campaign=campaign, name="x", held_on=D(2018, 5, 1), ends_on=D(2018, 5, 2), townships=townships, seed=1
        )


def test_cross_round_counts_each_township_once(campaign):
    a, b = make_township(), make_township()
    with pytest.raises(ValidationError):
        services.cross_round_create(
            campaign=campaign, name="x", held_on=D(2018, 5, 1), ends_on=D(2018, 5, 2), townships=[a, b, a], seed=1
        )
    from inspections.models import CrossRound

    assert not CrossRound.objects.exists()


def test_database_refuses_a_township_inspecting_itself(campaign):
    townships = [make_township() for _ in range(3)]
    round_ = services.cross_round_create(
        campaign=campaign, name="x", held_on=D(2018, 5, 1), ends_on=D(2018, 5, 2), townships=townships, seed=1
    )
    round_.assignments.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        CrossAssignment.objects.create(round=round_, inspecting=townships[0], inspected=townships[0])


def test_cross_inspection_must_inspect_the_assigned_township(campaign, inspector):
    townships = [make_township() for _ in range(3)]
    round_ = services.cross_round_create(
        campaign=campaign, name="x", held_on=D(2018, 5, 1), ends_on=D(2018, 5, 2), townships=townships, seed=1
    )
    assignment = round_.assignments.first()
    wrong = next(t for t in townships if t.pk != assignment.inspected_id)
    with pytest.raises(ValidationError):
        services.inspection_record(
            kind=Kind.CROSS, inspected_on=D(2018, 5, 1), team="x", township=wrong, assignment=assignment
        )
    inspection = services.inspection_record(
        kind=Kind.CROSS, inspected_on=D(2018, 5, 1), team="x", township=assignment.inspected, assignment=assignment
    )
    assert inspection.assignment == assignment


def test_cross_assignment_grants_reading_only_during_the_round(campaign):
    townships = [make_township() for _ in range(4)]
    round_ = services.cross_round_create(
        campaign=campaign, name="x", held_on=D(2018, 5, 1), ends_on=D(2018, 5, 10), townships=townships, seed=3
    )
    assignment = round_.assignments.first()
    inspecting = next(t for t in townships if t.pk == assignment.inspecting_id)
    inspected = next(t for t in townships if t.pk == assignment.inspected_id)
    user = make_user("cross", role="township_staff", township=inspecting)
    assert services.cross_assignment_of(user, inspected, today=D(2018, 5, 5)) == assignment
    assert services.cross_assignment_of(user, inspected, today=D(2018, 5, 11)) is None
    assert services.cross_assignment_of(user, inspecting, today=D(2018, 5, 5)) is None
    access = services.record_cross_access(assignment=assignment, user=user, path="/units/1/")
    assert access.user == user and access.assignment == assignment


# --- look-back sample -----------------------------------------------------------------------------


@pytest.fixture
def rectified_town(town):
    units = [make_unit(town) for _ in range(25)]
    for unit in units:
        rectify(unit, D(2018, 3, 1))
    return units


def test_lookback_draw_is_identical_when_redrawn_with_its_seed(campaign, town, rectified_town, checker):
    settings = services.settings_for(campaign)
    settings.sample_percent = 20
    settings.save()
    draw = services.lookback_draw(campaign=campaign, township=town, as_of=D(2018, 6, 30), seed=20180630, user=checker)
    drawn = sorted(draw.lookbacks.values_list("enterprise_id", flat=True))
    assert len(drawn) == 5  # 20 % of 25
    assert (draw.seed, draw.percent, draw.minimum, draw.population) == (20180630, 20, 3, 25)
    assert draw.drawn_by == checker and last_history_user(LookbackDraw, draw.pk) == checker
    assert services.redraw(draw) == drawn
    assert all(lb.due_on == D(2018, 6, 30) and lb.township == town for lb in draw.lookbacks.all())
    # The pure draw with the same ids in another order picks the same units.
    ids = [u.pk for u in rectified_town]
    assert rules.draw_sample(list(reversed(ids)), 5, 20180630) == drawn
    # Drawn again with the same seed: the same units.
    again = services.lookback_draw(campaign=campaign, township=town, as_of=D(2018, 6, 30), seed=20180630)
    assert sorted(again.lookbacks.values_list("enterprise_id", flat=True)) == drawn
    # Another seed: (almost always) another sample.
    others = {
        tuple(services.redraw(LookbackDraw(township=town, as_of=D(2018, 6, 30), seed=s, percent=20, minimum=3)))
        for s in range(1, 11)
    }
    assert len(others) > 5


def test_lookback_draw_redraws_from_its_recorded_population_after_corrections(campaign, town, rectified_town):
    draw = services.lookback_draw(campaign=campaign, township=town, as_of=D(2018, 6, 30), seed=77)
    drawn = sorted(draw.lookbacks.values_list("enterprise_id", flat=True))
    assert draw.population_ids == sorted(u.pk for u in rectified_town)
    # A back-dated rectification and a unit deleted since change the population as the data now stands.
    for _ in range(5):
        rectify(make_unit(town), D(2018, 5, 1))
    draw.refresh_from_db()
    assert services.redraw(draw) == drawn
    assert services.redraw(draw, current=True) != drawn


def test_lookback_draw_takes_at_least_the_minimum_and_only_units_rectified_on_the_day(campaign, town, rectified_town):
    late = make_unit(town)
    rectify(late, D(2018, 7, 1))  # after the draw's day
    make_unit(town)  # never rectified
    relapsed = rectified_town[0]
    relapse_record(enterprise=relapsed, found_on=D(2018, 6, 1))
    deleted = rectified_town[1]
    Enterprise.objects.filter(pk=deleted.pk).update(deleted_at=datetime.datetime(2018, 6, 1, tzinfo=datetime.UTC))
    elsewhere = make_unit(make_township("东岗镇"))
    rectify(elsewhere, D(2018, 3, 1))

    draw = services.lookback_draw(campaign=campaign, township=town, as_of=D(2018, 6, 30), seed=5)
    assert draw.population == 23
    assert draw.lookbacks.count() == 3  # 10 % of 23 rounds up to 3, the minimum is 3
    drawn = set(draw.lookbacks.values_list("enterprise_id", flat=True))
    assert not drawn & {late.pk, relapsed.pk, deleted.pk, elsewhere.pk}
    lookback = draw.lookbacks.first()
    assert lookback.rectification == Rectification.objects.get(enterprise_id=lookback.enterprise_id)


def test_lookback_draw_of_a_township_with_nothing_rectified_is_empty(campaign, town):
    draw = services.lookback_draw(campaign=campaign, township=town, as_of=D(2018, 6, 30), seed=5)
    assert draw.population == 0 and not draw.lookbacks.exists()
    assert services.redraw(draw) == []


# --- look-backs at offsets ------------------------------------------------------------------------


def test_lookbacks_scheduled_at_offsets_once(campaign, town):
    steady = make_unit(town)
    rectify(steady, D(2018, 1, 10))
    relapsing = make_unit(town)
    first_period = rectify(relapsing, D(2018, 2, 1))
    relapse_record(enterprise=relapsing, found_on=D(2018, 4, 1))  # before the 90-day look-back (05-02)
    second_period = rectify(relapsing, D(2018, 4, 10))
    last_year = make_unit(town, identified_on=D(2017, 9, 1))
    old_period = rectify(last_year, D(2017, 12, 1))  # 90 days: 2018-03-01, 180 days: 2018-05-30

    assert services.lookbacks_schedule(campaign=campaign, as_of=D(2018, 4, 30)) == 4
    due = sorted(Lookback.objects.values_list("rectification_id", "offset_days", "due_on"))
    steady_period = steady.rectifications.get()
    assert due == sorted(
        [
            (steady_period.pk, 30, D(2018, 2, 9)),
            (steady_period.pk, 90, D(2018, 4, 10)),
            (first_period.pk, 30, D(2018, 3, 3)),
            (old_period.pk, 90, D(2018, 3, 1)),
        ]
    )
    assert services.lookbacks_schedule(campaign=campaign, as_of=D(2018, 4, 30)) == 0  # idempotent

    assert services.lookbacks_schedule(campaign=campaign, as_of=D(2018, 12, 31)) == 5
    assert not Lookback.objects.filter(rectification=first_period, offset_days__in=[90, 180]).exists()
    assert set(Lookback.objects.filter(rectification=second_period).values_list("offset_days", flat=True)) == {
        30,
        90,
        180,
    }
    assert Lookback.objects.filter(rectification=steady_period, offset_days=180).exists()
    assert Lookback.objects.filter(rectification=old_period, offset_days=180, due_on=D(2018, 5, 30)).exists()
    assert not Lookback.objects.filter(rectification=old_period, offset_days=30).exists()  # due last year
    assert all(lb.township_id == town.pk and lb.result == LookbackResult.PENDING for lb in Lookback.objects.all())


def test_lookback_offsets_are_the_citys(campaign, town):
    settings = services.settings_for(campaign)
    settings.lookback_offsets = "60， 15"
    settings.save()
    unit = make_unit(town)
    rectify(unit, D(2018, 1, 10))
    assert services.lookbacks_schedule(campaign=campaign, as_of=D(2018, 12, 31)) == 2
    assert sorted(Lookback.objects.values_list("offset_days", flat=True)) == [15, 60]


def _lookback(unit, method=Method.CLOSED):
    period = rectify(unit, D(2018, 3, 1), method=method)
    return Lookback.objects.create(
        rectification=period, enterprise=unit, township=unit.township, offset_days=30, due_on=D(2018, 3, 31)
    )


ALL_TICKED = dict.fromkeys(CHECKLIST_FIELDS, True)


def test_lookback_finding_the_unit_operating_is_a_relapse(campaign, town, inspector):
    unit = make_unit(town)
    lookback = _lookback(unit)
    checked = services.lookback_check(
        lookback=lookback, checked_on=D(2018, 4, 2), operating=True, note="又在生产", user=inspector
    )
    assert checked.result == LookbackResult.RELAPSED and checked.checked_by == inspector
    finding = Finding.objects.get(enterprise=unit)
    assert finding.kind == FindingKind.RELAPSE and finding.found_on == D(2018, 4, 2)
    assert finding.relapse.found_on == D(2018, 4, 2)
    assert finding.deadline == D(2018, 4, 17)
    assert checked.inspection == finding.inspection
    assert (finding.inspection.kind, finding.inspection.inspected_on) == (Kind.LOOKBACK, D(2018, 4, 2))
    assert unit in finding.inspection.units.all()
    unit.refresh_from_db()
    assert unit.status == Status.OPEN
    assert row(progress_report(campaign, D(2018, 4, 1)), town).rectified == 1
    assert row(progress_report(campaign, D(2018, 4, 2)), town).rectified == 0
    assert last_history_user(Lookback, lookback.pk) == inspector
    with pytest.raises(ValidationError):
        services.lookback_check(lookback=lookback, checked_on=D(2018, 4, 3), operating=False)


def test_shut_down_unit_passes_only_with_all_of_two_cuts_three_clears(town):
    passing = _lookback(make_unit(town))
    checked = services.lookback_check(lookback=passing, checked_on=D(2018, 4, 2), operating=False, checklist=ALL_TICKED)
    assert checked.result == LookbackResult.PASSED
    assert all(getattr(checked, name) is True for name in CHECKLIST_FIELDS)
    assert not Finding.objects.exists() and not Inspection.objects.exists()

    for missing in CHECKLIST_FIELDS:
        unit = make_unit(town)
        lookback = _lookback(unit)
        checked = services.lookback_check(
            lookback=lookback, checked_on=D(2018, 4, 2), operating=False, checklist={**ALL_TICKED, missing: False}
        )
        assert checked.result == LookbackResult.FAILED
        assert getattr(checked, missing) is False
        finding = Finding.objects.get(enterprise=unit)
        assert finding.kind == FindingKind.NOT_DONE and finding.relapse is None
        unit.refresh_from_db()
        assert unit.status == Status.RECTIFIED  # not done well, but not re-opened
    # Every failed look-back of the day in one 回头看 inspection of the township.
    assert Inspection.objects.filter(kind=Kind.LOOKBACK).count() == 1


def test_shut_down_unit_checklist_must_be_filled_in(town):
    lookback = _lookback(make_unit(town))
    partial = dict(ALL_TICKED)
    del partial["products_cleared"]
    with pytest.raises(ValidationError):
        services.lookback_check(lookback=lookback, checked_on=D(2018, 4, 2), operating=False, checklist=partial)
    lookback.refresh_from_db()
    assert lookback.result == LookbackResult.PENDING


def test_upgraded_unit_not_operating_passes_without_checklist(town):
    lookback = _lookback(make_unit(town), method=Method.UPGRADED)
    checked = services.lookback_check(lookback=lookback, checked_on=D(2018, 4, 2), operating=False)
    assert checked.result == LookbackResult.PASSED
    assert all(getattr(checked, name) is None for name in CHECKLIST_FIELDS)


def test_lookback_check_date_between_rectification_and_today(town):
    lookback = _lookback(make_unit(town))
    for day in (D(2018, 2, 28), D(2019, 1, 1)):
        with pytest.raises(ValidationError):
            services.lookback_check(lookback=lookback, checked_on=day, operating=False, checklist=ALL_TICKED)


def test_lookback_does_not_reuse_a_deleted_inspection(town):
    old = inspect(town, D(2018, 4, 2), kind=Kind.LOOKBACK)
    Inspection.objects.filter(pk=old.pk).update(deleted_at=datetime.datetime(2018, 4, 2, tzinfo=datetime.UTC))
    unit = make_unit(town)
    services.lookback_check(lookback=_lookback(unit), checked_on=D(2018, 4, 2), operating=True)
    assert Finding.objects.get(enterprise=unit).inspection_id != old.pk


# --- per-defect clearance (整改提升) ----------------------------------------------------------------


def clear(unit, defect, day, user=None):
    return services.clearance_record(
        enterprise=unit, defect=defect, cleared_on=day, department="市场监管局", signed_by="王某", user=user
    )


def test_each_defect_clears_separately_and_the_last_rectifies(campaign, town, staff):
    unit = make_unit(town, unlicensed=True, unsafe=True)
    first = clear(unit, "unlicensed", D(2018, 5, 1), user=staff)
    assert first.rectification is None
    assert last_history_user(DefectClearance, first.pk) == staff
    unit.refresh_from_db()
    assert unit.status == Status.OPEN and not unit.rectifications.exists()
    assert row(progress_report(campaign, D(2018, 6, 30)), town).rectified == 0

    # The last one to be recorded is dated earlier: the unit counts from the latest clearance.
    last = clear(unit, "unsafe", D(2018, 4, 20), user=staff)
    period = unit.rectifications.get()
    assert (period.method, period.rectified_on) == (Method.UPGRADED, D(2018, 5, 1))
    assert last.rectification == period
    first.refresh_from_db()
    assert first.rectification == period
    unit.refresh_from_db()
    assert unit.status == Status.RECTIFIED
    assert row(progress_report(campaign, D(2018, 4, 30)), town).rectified == 0
    assert row(progress_report(campaign, D(2018, 5, 1)), town).rectified == 1


def test_clearance_refused_for_a_defect_the_unit_does_not_have_or_twice(town):
    unit = make_unit(town, unlicensed=True, unsafe=True)
    with pytest.raises(ValidationError) as error:
        clear(unit, "no_env_measures", D(2018, 5, 1))
    assert "defect" in error.value.message_dict
    with pytest.raises(ValidationError):
        clear(unit, "bogus", D(2018, 5, 1))
    clear(unit, "unlicensed", D(2018, 5, 1))
    with pytest.raises(ValidationError) as error:
        clear(unit, "unlicensed", D(2018, 5, 2))
    assert "defect" in error.value.message_dict
    clear(unit, "unsafe", D(2018, 5, 3))
    with pytest.raises(ValidationError):
        clear(unit, "unsafe", D(2018, 5, 4))  # rectified already
    assert DefectClearance.objects.count() == 2


def test_clearance_dates_between_identification_and_today(town):
    unit = make_unit(town, identified_on=D(2018, 3, 1))
    for day in (D(2018, 2, 28), D(2019, 1, 1)):
        with pytest.raises(ValidationError):
            clear(unit, "unlicensed", day)


def test_clearance_after_a_relapse_starts_a_new_round(campaign, town):
    unit = make_unit(town, unlicensed=True, unsafe=True)
    clear(unit, "unlicensed", D(2018, 3, 1))
    clear(unit, "unsafe", D(2018, 3, 2))
    relapse_record(enterprise=unit, found_on=D(2018, 6, 1))
    with pytest.raises(ValidationError) as error:
        clear(unit, "unlicensed", D(2018, 5, 31))  # before the relapse: belongs to the old period
    assert "cleared_on" in error.value.message_dict
    again = clear(unit, "unlicensed", D(2018, 6, 10))
    assert again.rectification is None
    clear(unit, "unsafe", D(2018, 6, 12))
    assert sorted(unit.rectifications.values_list("rectified_on", flat=True)) == [D(2018, 3, 2), D(2018, 6, 12)]
    assert row(progress_report(campaign, D(2018, 6, 11)), town).rectified == 0
    assert row(progress_report(campaign, D(2018, 6, 12)), town).rectified == 1


# --- reconciliation (对账销号) ----------------------------------------------------------------------


def test_reconciliation_lists_confirms_and_keeps(town, staff, checker):
    open_unit, other_open, done = make_unit(town, name="甲"), make_unit(town, name="乙"), make_unit(town, name="丙")
    rectify(done, D(2018, 3, 1))
    unresolved = find(inspect(town, D(2018, 4, 2)), open_unit)
    make_unit(make_township("东岗镇"))

    rec = services.reconciliation_open(township=town, day=D(2018, 5, 15), user=staff)
    assert rec.period_start == D(2018, 5, 1)
    assert [item[0] for item in rec.snapshot["units"]] == sorted([open_unit.pk, other_open.pk])
    assert [item[0] for item in rec.snapshot["findings"]] == [unresolved.pk]
    assert services.reconciliation_open(township=town, day=D(2018, 5, 3)) == rec  # once per half-month
    later = services.reconciliation_open(township=town, day=D(2018, 5, 16))
    assert later.period_start == D(2018, 5, 16) and later != rec
    with pytest.raises(IntegrityError), transaction.atomic():
        Reconciliation.objects.create(township=town, period_start=D(2018, 5, 1))

    item = services.reconciliation_dispute(
        reconciliation=rec, description="乙已关停，系统未登记", enterprise=other_open, user=staff
    )
    with pytest.raises(ValidationError):
        services.reconciliation_confirm(reconciliation=rec, side="city", user=checker)
    services.reconciliation_confirm(reconciliation=rec, side="township", user=staff)
    with pytest.raises(ValidationError):
        services.reconciliation_confirm(reconciliation=rec, side="township", user=staff)
    with pytest.raises(ValidationError):
        services.reconciliation_confirm(reconciliation=rec, side="city", user=checker)  # an item is unresolved
    services.reconciliation_resolve(item=item, resolution="已补录整治", user=checker)
    with pytest.raises(ValidationError):
        services.reconciliation_resolve(item=item, resolution="again", user=checker)
    confirmed = services.reconciliation_confirm(reconciliation=rec, side="city", user=checker)
    assert confirmed.confirmed and confirmed.city_confirmed_by == checker
    assert last_history_user(Reconciliation, rec.pk) == checker
    with pytest.raises(ValidationError):
        services.reconciliation_dispute(reconciliation=confirmed, description="too late")
    with pytest.raises(ValueError):
        services.reconciliation_confirm(reconciliation=later, side="county")

    kept = dict(confirmed.snapshot)
    rectify(other_open, D(2018, 5, 20))
    services.finding_rectified(finding=unresolved, rectified_on=D(2018, 5, 20), note="", user=staff)
    assert services.reconciliation_open(township=town, day=D(2018, 5, 1)).snapshot == kept
    rec.refresh_from_db()
    assert rec.snapshot == kept


def test_reconciliation_difference_must_concern_the_township(town):
    rec = services.reconciliation_open(township=town, day=D(2018, 5, 15))
    elsewhere = make_township("东岗镇")
    with pytest.raises(ValidationError):
        services.reconciliation_dispute(reconciliation=rec, description="x", enterprise=make_unit(elsewhere))
    foreign = find(inspect(elsewhere, D(2018, 4, 2)), make_unit(elsewhere))
    with pytest.raises(ValidationError):
        services.reconciliation_dispute(reconciliation=rec, description="x", finding=foreign)
    assert not rec.items.exists()


def test_lookback_of_a_period_already_reopened_is_refused(town):
    unit = make_unit(town)
    lookback = _lookback(unit)
    relapse_record(enterprise=unit, found_on=D(2018, 3, 20))
    rectify(unit, D(2018, 3, 25))
    with pytest.raises(ValidationError) as error:
        services.lookback_check(lookback=lookback, checked_on=D(2018, 4, 2), operating=True)
    assert "checked_on" in error.value.message_dict
    assert unit.relapses.count() == 1 and not Finding.objects.exists()


def test_findings_only_on_a_standing_inspection(town):
    inspection = inspect(town, D(2018, 4, 2))
    Inspection.objects.filter(pk=inspection.pk).update(deleted_at=datetime.datetime(2018, 4, 3, tzinfo=datetime.UTC))
    inspection.refresh_from_db()
    with pytest.raises(ValidationError):
        find(inspection, make_unit(town))
    with pytest.raises(ValidationError) as error:
        services.inspection_record(kind="bogus", inspected_on=D(2018, 4, 2), team="x", township=town)
    assert "kind" in error.value.message_dict


def test_the_person_who_recorded_a_relapsed_units_rectification_cannot_verify_it(db, frozen_today):
    """谁整改、谁不能自验 also covers the unit's rectification recorded after a relapse finding."""
    day = datetime.date
    frozen_today(day(2018, 12, 31))
    town = make_township("回头镇")
    unit = make_unit(town, day(2018, 1, 5))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=day(2018, 2, 1))
    inspector, other = make_user("ducha-v", role="inspector"), make_user("ducha-w", role="inspector")
    staff = make_user("staff-v", role="township_staff", township=town)
    inspection = services.inspection_record(
        kind="lookback", inspected_on=day(2018, 3, 1), team="督查组", township=town, user=inspector
    )
    finding = services.finding_record(
        inspection=inspection,
        kind="relapse",
        description="复产",
        deadline=day(2018, 3, 15),
        enterprise=unit,
        user=inspector,
    )
    unit.refresh_from_db()
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=day(2018, 3, 10), user=inspector)
    services.finding_rectified(
        finding=finding, rectified_on=day(2018, 3, 10), note="再次关停", photos=evidence.photos(), user=staff
    )
    with pytest.raises(ValidationError, match="谁整改、谁不能自验"):
        services.finding_verify(finding=finding, passed=True, closed_on=day(2018, 3, 12), note="", user=inspector)
    services.finding_verify(finding=finding, passed=True, closed_on=day(2018, 3, 12), note="属实", user=other)
