"""manage.py seed_demo: the demo city reproduces the 2018 record and keeps the register's invariants.

The city is seeded once for the module, inside a transaction that is rolled back after the module's
last test; each test runs inside its own rolled-back savepoint on top of it. (Deleting the committed
city afterwards took longer than seeding it.) That the same seed gives the same city needs an empty
database: tests/campaign/test_seed_demo_repeatable.py.
"""

import datetime
import io
import re
from collections import Counter, defaultdict
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.db.models import Count, Q
from django.test import override_settings

from campaign.models import Campaign, TargetRevision, Township, Village
from demo import city as demo
from enterprises.credit_code import credit_code_error
from enterprises.models import DEFECT_FIELDS, Enterprise, Method, Rectification, Relapse, Status
from reports.counts import daily_counts
from reports.progress import progress_report
from reports.rules import GREEN, RED, YELLOW
from tests.conftest import module_transaction

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
D = datetime.date


def _seed(*args):
    out = io.StringIO()
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo city, in a transaction rolled back after the module's last test (tests/conftest.py)."""
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            output = _seed()
            city = SimpleNamespace(campaign=Campaign.objects.get(slug="2018"), output=output)
        yield city


@pytest.fixture
def demo_campaign(seeded, db):
    return seeded.campaign


def test_first_quarter_reproduces_the_public_record(demo_campaign):
    city = progress_report(demo_campaign, D(2018, 3, 31)).city

    assert (city.target, city.rectified, city.rate, city.identified) == (9000, 4267, Decimal("47.41"), 2785)
    assert city.milestone_due["required"] == 2700
    assert city.milestone_due["met"] is True


def test_first_quarter_is_mostly_the_stock_carried_in_from_2017(demo_campaign):
    q1 = Rectification.objects.filter(rectified_on__range=(D(2018, 1, 1), D(2018, 3, 31)))

    carried = q1.filter(enterprise__identified_on__lt=D(2018, 1, 1)).count()

    assert carried > q1.count() / 2
    assert Enterprise.objects.filter(identified_on__lt=D(2018, 1, 1)).exclude(status=Status.RECTIFIED).exists()


def test_first_quarter_relapses_stop_counting_yet_the_record_holds(demo_campaign):
    relapsed_in_q1 = Relapse.objects.filter(
        found_on__lte=D(2018, 3, 31), rectification__rectified_on__gte=D(2018, 1, 1)
    ).values_list("enterprise_id", flat=True)
    counting_on_march_31 = set(
        Rectification.objects.counting_on(D(2018, 3, 31)).values_list("enterprise_id", flat=True)
    )

    open_on_march_31 = [pk for pk in relapsed_in_q1 if pk not in counting_on_march_31]
    rectified_again = [pk for pk in relapsed_in_q1 if pk in counting_on_march_31]

    assert open_on_march_31, "a relapse found in Q1 and not re-rectified by 03-31"
    assert rectified_again, "a relapse found and re-rectified within Q1"
    assert progress_report(demo_campaign, D(2018, 3, 31)).city.rectified == 4267


def test_city_finishes_a_little_above_its_target_with_units_still_open(demo_campaign):
    city = progress_report(demo_campaign, D(2018, 12, 31)).city

    assert Decimal("100") <= city.rate <= Decimal("110")
    assert city.open > 0
    statuses = Counter(Enterprise.objects.values_list("status", flat=True))
    assert statuses[Status.OPEN] > 0 and statuses[Status.IN_PROGRESS] > 0


@pytest.mark.parametrize(
    "day", [D(2018, 2, 9), D(2018, 3, 31), D(2018, 5, 18), D(2018, 7, 6), D(2018, 9, 30), D(2018, 12, 28)]
)
def test_townships_show_green_yellow_and_red_on(demo_campaign, day):
    colours = {row.colour for row in progress_report(demo_campaign, day).townships}

    assert colours == {GREEN, YELLOW, RED}


def test_every_week_from_february_has_all_three_colours(demo_campaign):
    # While the expected rate is below the 10-point band (January) no township can be red.
    day, weeks = D(2018, 2, 9), []
    while day <= D(2018, 12, 31):
        colours = {row.colour for row in progress_report(demo_campaign, day).townships}
        if colours != {GREEN, YELLOW, RED}:
            weeks.append((day, colours))
        day += datetime.timedelta(days=7)

    assert weeks == []


def test_township_targets_sum_to_the_city_target_and_one_is_raised_mid_year(demo_campaign):
    at_start = TargetRevision.objects.filter(campaign=demo_campaign, effective_on=demo_campaign.start)
    raised = TargetRevision.objects.get(campaign=demo_campaign, effective_on=demo.RAISED_ON)
    before = at_start.get(township=raised.township)

    assert sum(at_start.values_list("target", flat=True)) == 9000 == demo_campaign.target
    assert raised.township.name == demo.RAISED_TOWNSHIP and raised.target > before.target and raised.reason
    assert progress_report(demo_campaign, D(2018, 6, 30)).row_for(raised.township_id).target == before.target
    assert progress_report(demo_campaign, D(2018, 7, 1)).row_for(raised.township_id).target == raised.target
    assert progress_report(demo_campaign, D(2018, 7, 1)).city.target == 9000


def test_stock_ledger_balances_for_every_township(demo_campaign):
    start, end = demo_campaign.start, demo_campaign.end
    counts = daily_counts(demo_campaign, end)
    eve = start - datetime.timedelta(days=1)

    def holding(day):
        # Distinct units, so two overlapping periods of one unit would unbalance the ledger.
        return dict(
            Rectification.objects.counting_on(day)
            .values_list("enterprise__township_id")
            .annotate(n=Count("enterprise", distinct=True))
        )

    units = {
        row["township_id"]: row
        for row in Enterprise.objects.values("township_id").annotate(
            before=Count("id", filter=Q(identified_on__lt=start)),
            during=Count("id", filter=Q(identified_on__range=(start, end))),
        )
    }
    rectified = dict(
        Rectification.objects.filter(rectified_on__range=(start, end))
        .values_list("enterprise__township_id")
        .annotate(n=Count("id"))
    )
    relapsed = dict(
        Relapse.objects.filter(found_on__range=(start, end))
        .values_list("enterprise__township_id")
        .annotate(n=Count("id"))
    )
    held_on_eve, held_at_end = holding(eve), holding(end)

    assert len(units) == 22
    for township_id, row in units.items():
        ledger = {
            "open_start": row["before"] - held_on_eve.get(township_id, 0),
            "identified": row["during"],
            "rectified": rectified.get(township_id, 0),
            "relapsed": relapsed.get(township_id, 0),
            "open_end": row["before"] + row["during"] - held_at_end.get(township_id, 0),
        }
        assert ledger == counts[township_id].ledger(start, end)
        assert (
            ledger["open_start"] + ledger["identified"] - ledger["rectified"] + ledger["relapsed"] == ledger["open_end"]
        )


def test_rectified_periods_keep_the_register_invariants(demo_campaign):
    periods = defaultdict(list)
    for row in Rectification.objects.values(
        "enterprise_id", "rectified_on", "reopened_on", "method", "demolished_m2", "relapses__found_on"
    ):
        periods[row["enterprise_id"]].append(row)
    units = {pk: (identified_on, status) for pk, identified_on, status in Enterprise.objects.values_list(
        "pk", "identified_on", "status"
    )}  # fmt: skip

    for pk, rows in periods.items():
        rows.sort(key=lambda r: r["rectified_on"])
        identified_on, status = units[pk]
        assert rows[0]["rectified_on"] >= identified_on
        assert [r["reopened_on"] is None for r in rows].count(True) <= 1
        for earlier, later in zip(rows, rows[1:]):
            # A relapse re-opens the period; the re-rectification comes on or after it.
            assert earlier["reopened_on"] is not None
            assert earlier["reopened_on"] <= later["rectified_on"]
        for row in rows:
            assert row["reopened_on"] == row["relapses__found_on"]
            assert row["reopened_on"] is None or row["reopened_on"] > row["rectified_on"]
            assert (row["method"] == Method.DEMOLISHED) == (row["demolished_m2"] > 0)
        expected = {Status.RECTIFIED} if rows[-1]["reopened_on"] is None else {Status.OPEN, Status.IN_PROGRESS}
        assert status in expected
    never_rectified = set(units) - set(periods)
    assert never_rectified
    assert {units[pk][1] for pk in never_rectified} == {Status.OPEN, Status.IN_PROGRESS}
    assert Relapse.objects.filter(found_on__range=(demo_campaign.start, demo_campaign.end)).count() >= 30


def test_methods_are_mostly_closures_and_demolitions_record_their_area(demo_campaign):
    methods = Counter(Rectification.objects.values_list("method", flat=True))

    ordered = [m for m, _ in methods.most_common()]
    assert ordered == [Method.CLOSED, Method.UPGRADED, Method.RELOCATED, Method.DEMOLISHED]
    assert progress_report(demo_campaign, D(2018, 12, 31)).city.demolished_m2 > 0


def test_townships_villages_and_units_look_like_a_register(demo_campaign):
    kinds = Counter(Township.objects.values_list("kind", flat=True))
    assert set(kinds) == {Township.Kind.ZHEN, Township.Kind.XIANG, Township.Kind.JIEDAO} and sum(kinds.values()) == 22
    for township in Township.objects.prefetch_related("villages"):
        villages = list(township.villages.all())
        assert 4 <= len(villages) <= 12
        wanted = Village.Kind.COMMUNITY if township.kind == Township.Kind.JIEDAO else Village.Kind.VILLAGE
        assert {v.kind for v in villages} == {wanted}
        assert all(v.name.endswith("社区" if wanted == Village.Kind.COMMUNITY else "村") for v in villages)

    rows = list(Enterprise.objects.values("name", "address", "township_id", "credit_code", "phone", *DEFECT_FIELDS))
    assert len({(r["township_id"], r["name"], r["address"]) for r in rows}) == len(rows)
    codes = [r["credit_code"] for r in rows if r["credit_code"]]
    assert 0.2 * len(rows) < len(codes) < 0.6 * len(rows)
    assert len(set(codes)) == len(codes)
    assert not [c for c in codes if credit_code_error(c)]
    assert all(1 <= sum(r[f] for f in DEFECT_FIELDS) <= 3 for r in rows)
    phone = re.compile(r"^1[3-9]\d{9}$")
    assert all(phone.match(r["phone"]) for r in rows if r["phone"])
    assert all(r["name"] == r["name"].strip() and " " not in r["address"] for r in rows)


def test_demo_users_and_the_printed_logins(seeded, demo_campaign, settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[d.username for d in demo.DEMO_USERS])}

    assert set(users) == {"admin", "city_viewer", "inspector", "chengguan"}
    for login in demo.DEMO_USERS:
        user = users[login.username]
        assert user.check_password(login.password)
        assert user.is_staff == user.is_superuser == (login.username == "admin")
        validate_password(login.password, user)  # not a trivially common password
        assert login.username in seeded.output and login.password in seeded.output
    assert "4267" in seeded.output and "47.41" in seeded.output and "2785" in seeded.output


def test_seeding_again_with_if_empty_changes_nothing(demo_campaign):
    before = demo.fingerprint(), Enterprise.objects.count(), Rectification.objects.count()

    output = _seed("--if-empty")

    assert (demo.fingerprint(), Enterprise.objects.count(), Rectification.objects.count()) == before
    assert "--if-empty" in output and "admin" in output


def test_seeding_a_database_that_has_the_campaign_is_an_error(demo_campaign):
    with pytest.raises(CommandError, match="2018"):
        _seed()


def test_another_seed_gives_another_city():
    def names(seed):
        city = demo.plan_city(seed)
        return [u.name for u in demo.plan_township(city, city.townships[0])[:50]]

    assert names(demo.DEFAULT_SEED) == names(demo.DEFAULT_SEED)
    assert names(demo.DEFAULT_SEED) != names(demo.DEFAULT_SEED + 1)


def test_the_planner_has_statistics_for_the_seeded_tables(seeded, db):
    """Planned on an empty table's estimates, the register's first page took seconds (PostgreSQL
    with autovacuum off, or in the minute before it runs): seed_demo gathers them itself."""
    from django.db import connection

    table = Enterprise._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            assert cursor.fetchone()[0] >= Enterprise.objects.count() * 0.9
        else:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            assert cursor.fetchone()[0] == 1
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
            assert cursor.fetchone()[0] > 0


# --- the 加法 year (demo/addition.py) --------------------------------------------------------------

PLAN_KEYS = [
    "rectified",
    "parks_started",
    "park_started_mu",
    "park_completed_m2",
    "park_entries",
    "individual_to_company",
    "land_freed_mu",
    "zero_siwu_villages",
    "zero_siwu_townships",
    "tech_sme",
]


def test_the_scorecard_on_march_31_ranks_every_township_on_the_2018_plan(demo_campaign):
    from reports.rules import GREEN, RED
    from reports.scorecard import scorecard

    card = scorecard(demo_campaign, D(2018, 3, 31))

    assert [c.key for c in card.indicators] == PLAN_KEYS
    targets = {c.key: c.city.target for c in card.indicators}
    assert targets == {
        "rectified": 9000,
        "parks_started": 6,
        "park_started_mu": 1000,
        "park_completed_m2": 550000,
        "park_entries": 1370,
        "individual_to_company": 420,
        "land_freed_mu": 1150,
        "zero_siwu_villages": 4,
        "zero_siwu_townships": 2,
        "tech_sme": 120,
    }
    for indicator in card.indicators:
        assert indicator.townships, indicator.key
        # The townships' targets add up to the city's.
        assert sum(row.target for row in indicator.townships) == indicator.city.target, indicator.key
        if indicator.key != "zero_siwu_townships":  # no township of the demo is clean: below
            assert indicator.city.value > 0, indicator.key
    # Every township has a score and a rank; some are green and some red on an indicator of the plan.
    assert len(card.ranking) == 22 and all(line.score is not None and line.rank for line in card.ranking)
    added = [c for c in card.indicators if c.key not in ("rectified", "zero_siwu_townships")]
    assert all({GREEN, RED} <= {row.colour for row in c.townships} for c in added), [
        (c.key, {row.colour for row in c.townships}) for c in added
    ]
    document = card.as_json()
    assert [i["key"] for i in document["indicators"]] == PLAN_KEYS and len(document["ranking"]) == 22


def test_the_city_reaches_most_of_the_plan_by_the_year_end(demo_campaign):
    from reports.scorecard import scorecard

    card = scorecard(demo_campaign, D(2018, 12, 31))
    rates = {c.key: c.city.rate for c in card.indicators}

    assert all(Decimal("100") <= rate <= Decimal("130") for key, rate in rates.items() if key != "zero_siwu_townships")
    assert rates["zero_siwu_townships"] == 0
    # A value is a prefix sum of the year: the end of the year counts at least what March did.
    march = {c.key: c.city.value for c in scorecard(demo_campaign, D(2018, 3, 31)).indicators}
    assert all(c.city.value >= march[c.key] for c in card.indicators)


def test_park_entries_are_the_relocations_into_parks_and_new_enterprises(demo_campaign):
    from enterprises.models import ParkEntry

    entries = list(ParkEntry.objects.select_related("park", "rectification", "enterprise"))
    from_units = [e for e in entries if e.rectification_id]
    new = [e for e in entries if not e.rectification_id]

    assert from_units and new
    for entry in from_units:
        period = entry.rectification
        assert period.method == Method.RELOCATED and period.note == "已搬入小微企业园"
        assert entry.enterprise_id == period.enterprise_id and entry.name == entry.enterprise.name
        assert entry.entered_on == period.rectified_on
        assert entry.park.township_id == entry.enterprise.township_id
        # A unit found operating again (死灰复燃) left its park on that day.
        if period.reopened_on is not None:
            assert entry.left_on == period.reopened_on
        assert entry.company_form == (entry.credit_code.startswith("91") or entry.individual_to_company)
    assert any(e.rectification.reopened_on for e in from_units)
    for entry in entries:
        assert entry.park.completed_on is not None and entry.park.completed_on <= entry.entered_on
        assert entry.left_on is None or entry.left_on >= entry.entered_on
        assert not entry.individual_to_company or entry.company_form
    assert sum(e.individual_to_company for e in entries) > 0 and any(e.left_on for e in new)
    relocated = Rectification.objects.filter(method=Method.RELOCATED, note="已搬入小微企业园").count()
    assert len(from_units) == relocated


def test_parks_are_in_use_under_way_started_and_planned(demo_campaign):
    from campaign.models import Park

    parks = list(Park.objects.all())
    in_use = {p.township_id for p in parks if p.completed_on and p.completed_on < demo_campaign.start}

    assert in_use == set(Township.objects.values_list("pk", flat=True))
    assert len([p for p in parks if p.started_on and p.started_on.year == 2018]) == 7
    assert len([p for p in parks if p.completed_on and p.completed_on.year == 2018]) == 9
    assert [p for p in parks if p.started_on is None and p.planned_mu]
    assert all(p.capacity >= p.entries.count() for p in parks if p.completed_on)


def test_freed_land_is_the_sites_of_demolitions_at_every_stage(demo_campaign):
    from enterprises.models import LandParcel

    parcels = list(LandParcel.objects.select_related("source"))

    assert parcels
    for parcel in parcels:
        demolished = parcel.source.rectifications.filter(method=Method.DEMOLISHED, rectified_on__lte=parcel.freed_on)
        assert demolished.exists() and parcel.source.township_id == parcel.township_id
    assert all(parcel.area_mu > 0 for parcel in parcels)
    stages = Counter(
        "exited" if p.exited_on else "producing" if p.producing_on else "started" if p.started_on else
        "supplied" if p.supplied_on else "freed"
        for p in parcels
    )  # fmt: skip
    assert set(stages) == {"freed", "supplied", "started", "producing", "exited"}


def test_demonstrations_pass_the_products_own_check_and_no_township_is_clean(demo_campaign):
    from campaign.demonstrations import eligibility
    from campaign.models import Demonstration

    places = list(Demonstration.objects.select_related("township", "village"))
    villages = [d for d in places if d.village_id]
    townships = [d for d in places if not d.village_id]

    designated = [d for d in villages if d.designated_on]
    assert len(designated) == 5 and any(d.designated_on <= D(2018, 3, 31) for d in designated)
    assert any(d.checked_on and not d.designated_on for d in villages)
    assert any(not d.checked_on for d in villages)
    for demonstration in villages:
        if demonstration.checked_on:
            assert eligibility(
                township=demonstration.township, village=demonstration.village, day=demonstration.checked_on
            ).ok
            # Each step went through the service and left its history row with its reason.
            reasons = set(demonstration.history.values_list("history_change_reason", flat=True))
            assert {"申报零四无示范", "零四无示范验收"} <= reasons
    assert len(townships) == 2 and not any(d.checked_on for d in townships)
    for demonstration in townships:
        assert not eligibility(township=demonstration.township, day=D(2018, 12, 31)).ok


def test_the_custom_indicator_is_kept_as_records_in_batches(demo_campaign):
    from campaign.models import Indicator, IndicatorRecord

    indicator = Indicator.objects.get(campaign=demo_campaign, key="tech_sme")
    records = IndicatorRecord.objects.filter(indicator=indicator)

    assert (indicator.name, indicator.unit, indicator.built_in) == ("科技型中小企业", "家", False)
    assert records.count() > indicator.target
    assert len(set(records.values_list("date", flat=True))) == 4
    assert set(records.values_list("township", flat=True)) == set(Township.objects.values_list("pk", flat=True))


def test_the_printed_summary_names_the_addition(seeded):
    assert "加法：9 个考核指标" in seeded.output and "零四无示范创建" in seeded.output
