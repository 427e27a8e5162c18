"""The speed benchmark behind ``make bench``: a synthetic city at scale, and timed page requests.

``build(units=…, townships=…)`` writes a campaign of its own (slug ``bench-<units>-<townships>``)
with ``units`` units over ``townships`` townships (30, the city shape, by default; 1,300 for a
province) and 20 villages each, about three rectification, relapse and inspection records per unit,
through the same bulk path as the screening-list import (COPY on PostgreSQL) and with history rows,
so the maintained counts and every index are what a real city would have. Seven units in ten carry
a valid credit code; sources, industries and premises vary, so every register filter has rows to
find. ``measure(...)`` times pages through Django's test client as a city admin: median and p95
server time and query count.

The campaign also has the 加法 side of SPEC 5 (``add_addition``): twelve indicators (the eight
built-in ones and four kept as records), their township targets, as many records as units spread
over the year, parks, entries (relocated units and others), freed parcels and 零四无 demonstrations,
so that the scorecard and the dashboard's 赛马 section have a city's worth to read. A campaign built
before it had them gets them added when it is reused (once).

One synthetic city per database: the register and the reports read every unit of a database, so a
second city would be timed along with the first. ``build`` refuses to add one of another shape or
scale (``OtherCity``); each shape gets a database of its own (DATABASE_URL).
"""

import datetime
import itertools
import math
import random
import statistics
import time
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from campaign.indicators import indicator_create
from campaign.models import (
    BuiltIn,
    Campaign,
    Demonstration,
    IndicatorRecord,
    IndicatorTarget,
    Park,
    TargetRevision,
    Township,
    Village,
)
from campaign.services import campaign_create
from enterprises.credit_code import make_credit_code
from enterprises.importing import Stamp as _Stamp
from enterprises.importing import insert_rows as _insert
from enterprises.importing import record_history as _record_history
from enterprises.importing import update_rows as _update_rows
from enterprises.models import Enterprise, LandParcel, Method, ParkEntry, Rectification, Relapse, Source, TaxReturn
from inspections.models import Finding, Inspection, Lookback

PREFIX = "bench"
YEAR = 2025
TOWNSHIPS = 30  # the city shape; a province has ~1,300
VILLAGES_EACH = 20
START = datetime.date(YEAR, 1, 1)
END = datetime.date(YEAR, 12, 31)
AS_OF = datetime.date(YEAR, 9, 30)
CHUNK = 50_000
# The units' kinds: name, industry (the 行业 filter offers the values in use).
KINDS = (
    ("五金加工点", "金属制品"),
    ("废品回收站", "废旧物资回收"),
    ("汽修店", "机动车维修"),
    ("豆腐坊", "食品加工"),
    ("家具作坊", "家具制造"),
    ("塑料加工点", "塑料制品"),
)
PREMISES = ("厂房", "民房", "临时搭建", "沿街店面")
REGIONS = ("330381", "330382", "330327", "330326")  # 瑞安, 乐清, 苍南, 平阳
CODED = 0.7  # the share of units with a credit code


# The 加法 side (add_addition): indicators kept as records besides the eight built-in ones (twelve in
# all), and how much of everything there is per unit or per township.
CUSTOM_INDICATORS = (
    ("tech_sme", "科技型中小企业", "家"),
    ("new_jobs", "新增就业", "人"),
    ("listed_firms", "股改上市企业", "家"),
    ("tax_projects", "亩均税收提升项目", "个"),
)
RECORDS_PER_UNIT = 1  # 100,000 records at 100,000 units
ENTRIES_PER_UNIT = 0.2  # 20,000 entries at 100,000 units
PARCELS_PER_UNIT = 0.05  # 5,000 parcels at 100,000 units (the demolished units' sites, as many as there are)
PARKS_EACH = 7  # 210 parks in the city's 30 townships
PRODUCING_TAX_YEAR = YEAR  # the year of the tax returns of the parcels in production
DEMONSTRATIONS_EACH = 3  # villages per township; a township of three applies itself


class OtherCity(RuntimeError):
    """The database holds a benchmark city of another shape or scale."""


def slug(units, townships=TOWNSHIPS):
    return f"{PREFIX}-{units}-{townships}"


def township_name(index, townships=TOWNSHIPS):
    """基准01街道 … 基准30镇 for a city (the first 8 in 30 are 街道), 基准0001街道 … for a province."""
    width = max(2, len(str(townships)))
    street = index < round(townships * 8 / 30)
    return f"基准{index + 1:0{width}d}{'街道' if street else '镇'}"


def credit_code(index, rng):
    """A valid code (GB 32100 check characters), unique per unit index, never one bench_import writes."""
    return make_credit_code("9", rng.choice("12"), rng.choice(REGIONS), f"M{index:07d}")


def _day(rng, first, last):
    return first + datetime.timedelta(days=rng.randrange((last - first).days + 1))


def build(*, units=100_000, townships=TOWNSHIPS, seed=YEAR, out=print):
    """Create the synthetic campaign (once: an existing one of the same shape and size is reused)."""
    wanted = slug(units, townships)
    others = Campaign.objects.filter(slug__startswith=PREFIX).exclude(slug=wanted).values_list("slug", flat=True)
    if other := next((s for s in others if s == PREFIX or s.startswith(f"{PREFIX}-")), None):
        raise OtherCity(
            f"this database holds the benchmark city {other!r}; the register and the reports read every "
            f"unit of a database, so {wanted!r} needs a database of its own (DATABASE_URL), "
            "or this one dropped and migrated again"
        )
    existing = Campaign.objects.filter(slug=wanted).first()
    if existing is not None:
        have = Enterprise.objects.filter(township__name__startswith="基准").count()
        if have == units:
            out(f"reusing the benchmark city {wanted} ({have} units, {townships} townships)")
            added = add_addition(existing, units=units, seed=seed, out=out)  # built before it had them
            if add_positions(out=out) or added:  # built before units had positions
                _analyze()
            return existing
        raise OtherCity(f"campaign {wanted} exists with {have} units; use a fresh database for {units}")
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    began = time.perf_counter()
    stamp = _Stamp(user_id=None, when=datetime.datetime.now(datetime.UTC), reason="benchmark")
    with transaction.atomic():
        count = townships
        names = [township_name(i, count) for i in range(count)]
        townships = Township.objects.bulk_create(Township(name=n, kind=Township.kind_from_name(n)) for n in names)
        villages = Village.objects.bulk_create(
            Village(township=t, name=f"{t.name}第{j + 1}村", kind="village")
            for t in townships
            for j in range(VILLAGES_EACH)
        )
        by_township = {t.pk: [] for t in townships}
        for village in villages:
            by_township[village.township_id].append(village.pk)
        campaign = campaign_create(slug=wanted, year=YEAR, target=int(units * 0.8))
        TargetRevision.objects.bulk_create(
            TargetRevision(campaign=campaign, township=t, target=int(units * 0.8 / count), effective_on=START)
            for t in townships
        )
        # Cumulative weights: random.choices draws the same as with the weights, without adding
        # them up again per unit (1,300 of them for a province).
        weights = list(itertools.accumulate(rng.uniform(0.5, 1.5) for _ in townships))
        centres = {t.pk: township_centre(index, count) for index, t in enumerate(townships)}
        unit_ids, facts = [], []
        for first in range(0, units, CHUNK):
            rows = []
            for i in range(first, min(units, first + CHUNK)):
                township = rng.choices(townships, cum_weights=weights)[0]
                identified = _day(rng, datetime.date(YEAR - 1, 7, 1), datetime.date(YEAR, 12, 31))
                kind, industry = KINDS[i % len(KINDS)]
                draw = rng.random()
                source = (
                    Source.SCREENING if draw < 0.8 else Source.COMPLAINT if draw < 0.92 else Source.INSPECTION
                ).value
                rows.append(
                    (
                        f"基准{kind}{i:07d}",
                        township.pk,
                        rng.choice(by_township[township.pk]),
                        f"基准路{i % 997}号",
                        f"138{i:08d}",
                        f"负责人{i % 991}",
                        True,
                        i % 3 == 0,
                        i % 4 == 0,
                        i % 5 == 0,
                        identified,
                        source,
                        "open",
                        stamp.when,
                        stamp.when,
                        credit_code(i, rng) if rng.random() < CODED else "",
                        industry,
                        PREMISES[rng.randrange(len(PREMISES))],
                        *position(centres[township.pk], i),
                    )
                )
            fields = ("name", "township_id", "village_id", "address", "phone", "owner", "unlicensed", "unsafe")
            fields += ("no_legal_premises", "no_env_measures", "identified_on", "source", "status")
            fields += ("created_at", "updated_at", "credit_code", "industry", "premises", "longitude", "latitude")
            ids = _insert(Enterprise, fields, rows)
            _record_history(Enterprise, ids, "+", stamp)
            unit_ids += ids
            facts += [(row[1], row[10]) for row in rows]
        out(f"{units} units in {time.perf_counter() - began:.1f} s")
        _periods(rng, unit_ids, facts, stamp, out)
        _inspections(rng, campaign, unit_ids, facts, townships, stamp, out)
        add_addition(campaign, units=units, seed=seed, out=out)
    _analyze()
    out(f"benchmark city built in {time.perf_counter() - began:.1f} s")
    return campaign


# The synthetic city's map (the map page, reports/maps.py): townships on a grid around a centre, each
# township's units spread over a box around its own centre.
MAP_CENTRE = (120.65, 27.95)  # lng, lat (温州)
MAP_STEP = 0.12  # degrees between township centres
MAP_SPREAD = 0.05  # half the side of a township's box


def township_centre(index, count):
    """The centre (lng, lat) of the ``index``-th of ``count`` townships: a near-square grid."""
    side = max(1, math.ceil(math.sqrt(count)))
    row, column = divmod(index, side)
    return (
        round(MAP_CENTRE[0] + (column - (side - 1) / 2) * MAP_STEP, 6),
        round(MAP_CENTRE[1] + (row - (side - 1) / 2) * MAP_STEP, 6),
    )


def position(centre, n):
    """The position of the ``n``-th unit around its township's ``centre``: spread over the township's
    box by two coprime multipliers, so that the points fill it without a pattern."""
    step = MAP_SPREAD / 1000
    return (
        Decimal(f"{centre[0] + ((n * 7919) % 2001 - 1000) * step:.6f}"),
        Decimal(f"{centre[1] + ((n * 104729) % 2001 - 1000) * step * 0.8:.6f}"),
    )


def add_positions(*, out=print):
    """Give the units of a synthetic city built before units had positions one, once: an UPDATE per
    township, each unit placed from its id as ``position`` places a new one. Returns whether it wrote."""
    townships = list(Township.objects.filter(name__startswith="基准").order_by("pk").values_list("pk", flat=True))
    if not Enterprise.objects.filter(township_id__in=townships, longitude__isnull=True).exists():
        return False
    began = time.perf_counter()
    table = Enterprise._meta.db_table
    step = MAP_SPREAD / 1000
    with transaction.atomic(), connection.cursor() as cursor:
        for index, pk in enumerate(townships):
            lng, lat = township_centre(index, len(townships))
            cursor.execute(
                f"UPDATE {table} SET longitude = %s + ((id * 7919) %% 2001 - 1000) * %s, "  # nosec B608  # table from _meta; values are parameters
                f"latitude = %s + ((id * 104729) %% 2001 - 1000) * %s "
                f"WHERE township_id = %s AND longitude IS NULL",
                [lng, step, lat, step * 0.8, pk],
            )
    out(f"positions given to the units of {len(townships)} townships in {time.perf_counter() - began:.1f} s")
    return True


def _analyze():
    if connection.vendor == "sqlite":
        # As the import leaves a city's tables (enterprises/importing/bulk.py refresh_statistics).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if connection.vendor == "postgresql":
        # The tables as a real city's would be (autovacuum may be off or not have run yet): the
        # planner otherwise keeps the picture of the first insert, every unit open and unrectified;
        # the count tables keep the dead row versions of the build's many small updates; and no
        # page is marked all-visible, so no index-only scan (the overdue counts) avoids the heap.
        with connection.cursor() as cursor:
            # VACUUM cannot run in a transaction (the tests build the city inside theirs).
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")


def _periods(rng, unit_ids, facts, stamp, out):
    """85 % of units rectified, 8 % of those relapsed, most of them rectified again."""
    periods, relapses, statuses = [], [], {}
    for unit_id, (_township, identified) in zip(unit_ids, facts, strict=True):
        if rng.random() > 0.85 or identified > AS_OF:
            continue
        done = _day(rng, max(identified, START), AS_OF)
        method = rng.choice([Method.CLOSED, Method.UPGRADED, Method.RELOCATED, Method.DEMOLISHED])
        area = round(rng.uniform(20, 500), 1) if method == Method.DEMOLISHED else 0
        reopened = None
        if rng.random() < 0.08 and done < AS_OF - datetime.timedelta(days=20):
            reopened = done + datetime.timedelta(days=rng.randrange(5, 20))
        periods.append((unit_id, method, done, area, "", reopened, stamp.when))
        statuses[unit_id] = "rectified"
        if reopened is not None:
            relapses.append((unit_id, len(periods) - 1, reopened))
            statuses[unit_id] = "open"
            if rng.random() < 0.7:
                again = reopened + datetime.timedelta(days=rng.randrange(1, 10))
                periods.append((unit_id, Method.CLOSED, again, 0, "", None, stamp.when))
                statuses[unit_id] = "rectified"
    # Each rectified unit's status and current rectification first, in one UPDATE per set of columns
    # (as the import writes them with a new unit): the trigger that keeps the current rectification
    # (migration enterprises 0014) then finds every unit right and rewrites none of them.
    current = {period[0]: (period[1], period[2]) for period in periods if period[5] is None}
    _update_rows(
        Enterprise,
        [
            (pk, {"status": "rectified", "current_method": current[pk][0], "current_rectified_on": current[pk][1]})
            for pk, status in statuses.items()
            if status == "rectified"
        ],
    )
    fields = ("enterprise_id", "method", "rectified_on", "demolished_m2", "note", "reopened_on", "created_at")
    period_ids = _insert(Rectification, fields, periods)
    _record_history(Rectification, period_ids, "+", stamp)
    _insert(
        Relapse,
        ("enterprise_id", "rectification_id", "found_on", "note", "created_at"),
        [(unit_id, period_ids[index], found, "", stamp.when) for unit_id, index, found in relapses],
    )
    out(f"{len(periods)} rectifications, {len(relapses)} relapses")


def _inspections(rng, campaign, unit_ids, facts, townships, stamp, out):
    """An inspection per 3 units, a finding per 2, a look-back per rectified unit (about 1.2 per unit)."""
    inspections = []
    for _ in range(len(unit_ids) // 3):
        township = rng.choice(townships)
        inspections.append(("random", _day(rng, START, AS_OF), True, "市督查组", township.pk, "", "", stamp.when))
    fields = ("kind", "inspected_on", "done", "team", "township_id", "present", "notes", "created_at")
    inspection_ids = _insert(Inspection, fields, inspections)
    findings = []
    for unit_id, (township_id, identified) in zip(unit_ids[::2], facts[::2], strict=True):
        found = max(identified, START) + datetime.timedelta(days=rng.randrange(0, 30))
        if found > AS_OF:
            continue
        state = rng.choice(["open", "closed", "closed", "closed"])
        closed = found + datetime.timedelta(days=10) if state == "closed" else None
        findings.append(
            (
                rng.choice(inspection_ids),
                unit_id,
                township_id,
                "other",
                "normal",
                "台账信息与现场不符",
                found,
                found + datetime.timedelta(days=15),
                state,
                closed,
                closed,
                stamp.when,
            )
        )
    fields = ("inspection_id", "enterprise_id", "township_id", "kind", "severity", "description", "found_on")
    fields += ("deadline", "state", "rectified_on", "closed_on", "created_at")
    _insert(Finding, fields, findings)
    lookbacks = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.enterprise_id, e.township_id, r.rectified_on FROM enterprises_rectification r "  # nosec B608  # only %s placeholders are joined in
            "JOIN enterprises_enterprise e ON e.id = r.enterprise_id WHERE e.township_id IN ("
            + ", ".join(["%s"] * len(townships))
            + ")",
            [t.pk for t in townships],
        )
        for period_id, unit_id, township_id, done in cursor.fetchall():
            for offset in (30, 90):
                due = (
                    done if isinstance(done, datetime.date) else datetime.date.fromisoformat(done)
                ) + datetime.timedelta(days=offset)
                checked = due <= AS_OF and rng.random() < 0.8
                lookbacks.append(
                    (
                        period_id,
                        unit_id,
                        township_id,
                        offset,
                        due,
                        "passed" if checked else "pending",
                        due if checked else None,
                        "",
                    )
                )
    fields = (
        "rectification_id",
        "enterprise_id",
        "township_id",
        "offset_days",
        "due_on",
        "result",
        "checked_on",
        "note",
    )
    _insert(Lookback, fields, lookbacks)
    out(f"{len(inspections)} inspections, {len(findings)} findings, {len(lookbacks)} look-backs")


# --- the 加法 side -----------------------------------------------------------------------------------


def add_addition(campaign, *, units, seed=YEAR, out=print):
    """Give the synthetic campaign its indicators, targets, records, parks, entries, parcels and
    demonstrations, unless it has indicators already; then (a city built when there were fewer of
    them) top its parks, entries and parcels up to this module's figures. Returns whether it wrote
    anything."""
    if campaign.indicators.exists():
        return _top_up(units=units, seed=seed, out=out)
    rng = random.Random(f"{seed}/addition")  # noqa: S311 - synthetic data
    began = time.perf_counter()
    stamp = _Stamp(user_id=None, when=datetime.datetime.now(datetime.UTC), reason="benchmark")
    with transaction.atomic():
        townships = list(Township.objects.filter(name__startswith="基准").order_by("pk"))
        per_township = max(1, units // len(townships))
        records_each = max(1, round(units * RECORDS_PER_UNIT / len(CUSTOM_INDICATORS) / len(townships)))
        base = {
            BuiltIn.PARKS_STARTED: 2,
            BuiltIn.PARK_STARTED_MU: 200,
            BuiltIn.PARK_COMPLETED_M2: 100_000,
            BuiltIn.PARK_ENTRIES: max(1, round(per_township * ENTRIES_PER_UNIT)),
            BuiltIn.INDIVIDUAL_TO_COMPANY: max(1, round(per_township * ENTRIES_PER_UNIT * 0.3)),
            BuiltIn.LAND_FREED_MU: max(1, round(per_township * PARCELS_PER_UNIT * 3)),
            BuiltIn.ZERO_SIWU_VILLAGES: 2,
            BuiltIn.ZERO_SIWU_TOWNSHIPS: 1,
        }
        defined = [(key, None, None) for key in BuiltIn.values] + list(CUSTOM_INDICATORS)
        # Each township's target, a little above or below the plan; the city's is their sum.
        shares = {
            key: [round(base.get(key, records_each * 2) * rng.uniform(0.6, 1.3)) for _ in townships]
            for key, _name, _unit in defined
        }
        indicators = [
            indicator_create(campaign, key, sum(shares[key]), name=name, unit=unit) for key, name, unit in defined
        ]
        IndicatorTarget.objects.bulk_create(
            IndicatorTarget(indicator=indicator, township=township, target=target, effective_on=START)
            for indicator in indicators
            for township, target in zip(townships, shares[indicator.key], strict=True)
        )
        _records(rng, indicators[len(BuiltIn.values) :], townships, units, stamp)
        parks = _parks(rng, townships)
        entries = _entries(rng, townships, parks, round(units * ENTRIES_PER_UNIT), stamp)
        parcels = _parcels(rng, townships, round(units * PARCELS_PER_UNIT), stamp)
        demonstrations = _demonstrations(rng, campaign, townships)
    out(
        f"加法: {len(indicators)} indicators, {units * RECORDS_PER_UNIT} records, {len(parks)} parks, "
        f"{entries} entries, {parcels} parcels, {demonstrations} demonstrations in {time.perf_counter() - began:.1f} s"
    )
    return True


def _top_up(*, units, seed, out):
    """Parks, entries and parcels added to a city built with fewer of them (an earlier version of
    this module), up to PARKS_EACH, ENTRIES_PER_UNIT and PARCELS_PER_UNIT; nothing when it has them
    (or, for parcels, when no demolished unit's site is left). Returns whether it wrote anything."""
    townships = list(Township.objects.filter(name__startswith="基准").order_by("pk"))
    city = {"township__in": townships}
    parks_short = len(townships) * PARKS_EACH - Park.objects.filter(**city).count()
    entries_short = round(units * ENTRIES_PER_UNIT) - ParkEntry.objects.filter(park__township__in=townships).count()
    parcels_short = round(units * PARCELS_PER_UNIT) - LandParcel.objects.filter(**city).count()
    if parks_short <= 0 and entries_short <= 0 and parcels_short <= 0:
        return False
    rng = random.Random(f"{seed}/addition/top-up")  # noqa: S311 - synthetic data
    stamp = _Stamp(user_id=None, when=datetime.datetime.now(datetime.UTC), reason="benchmark")
    began = time.perf_counter()
    with transaction.atomic():
        added_parks = _parks(rng, townships) if parks_short > 0 else []
        parks = list(Park.objects.filter(**city).order_by("pk"))
        entries = _entries(rng, townships, parks, entries_short, stamp) if entries_short > 0 else 0
        parcels = _parcels(rng, townships, parcels_short, stamp) if parcels_short > 0 else 0
    if not (added_parks or entries or parcels):
        return False
    out(
        f"加法 topped up: {len(added_parks)} parks, {entries} entries, {parcels} parcels "
        f"in {time.perf_counter() - began:.1f} s"
    )
    return True


def _records(rng, indicators, townships, units, stamp):
    """``units * RECORDS_PER_UNIT`` records over the indicators kept as records, every day of the year."""
    days = (END - START).days + 1
    total = units * RECORDS_PER_UNIT
    for first in range(0, total, CHUNK):
        rows = []
        for i in range(first, min(total, first + CHUNK)):
            rows.append(
                (
                    indicators[i % len(indicators)].pk,
                    rng.choice(townships).pk,
                    f"基准记录{i:07d}",
                    START + datetime.timedelta(days=rng.randrange(days)),
                    rng.choice((1, 1, 1, 2, 3)),
                    "",
                    stamp.when,
                    stamp.when,
                )
            )
        fields = ("indicator_id", "township_id", "name", "date", "amount", "note", "created_at", "updated_at")
        _record_history(IndicatorRecord, _insert(IndicatorRecord, fields, rows), "+", stamp)


def _parks(rng, townships):
    """``PARKS_EACH`` parks a township: in use since last year, completing, started this year, planned.
    A township that has some already gets the ones it lacks (same names, in the same order)."""
    have = dict(Park.objects.filter(township__in=townships).values_list("township").annotate(n=Count("pk")).order_by())
    parks = []
    for township in townships:
        for j in range(have.get(township.pk, 0), PARKS_EACH):
            mu = round(rng.uniform(30, 200), 2)
            started = completed = None
            if j == 0:
                started, completed = datetime.date(YEAR - 2, 3, 1), datetime.date(YEAR - 1, 6, 30)
            elif j < PARKS_EACH - 1:
                started = _day(rng, datetime.date(YEAR - 1, 1, 1), END)
                if started < START or rng.random() < 0.3:
                    completed = _day(rng, max(started, START), END)
            parks.append(
                Park(
                    township=township,
                    name=f"{township.name}基准小微园{j + 1}",
                    planned_mu=mu,
                    started_on=started,
                    started_mu=mu if started else None,
                    completed_on=completed,
                    completed_m2=round(mu * 666.67 * 1.8, 2) if completed else None,
                    capacity=200,
                )
            )
    return Park.objects.bulk_create(parks)


def _entries(rng, townships, parks, wanted, stamp):
    """``wanted`` entries: relocated units (without an entry yet) into a park of their township on their
    rectification day (as the screening list records them), and enterprises new to the register; a
    few leave, some are 个转企."""
    by_township = {t.pk: [p for p in parks if p.township_id == t.pk] for t in townships}
    relocated = list(
        Rectification.objects.filter(
            method=Method.RELOCATED, enterprise__township__in=townships, park_entry__isnull=True
        )
        .order_by("pk")
        .values_list("pk", "enterprise_id", "enterprise__township_id", "rectified_on", "enterprise__name")
    )
    linked = rng.sample(relocated, min(len(relocated), wanted // 2))
    rows = []
    for period_id, unit_id, township_id, day, name in linked:
        rows.append((rng.choice(by_township[township_id]).pk, unit_id, period_id, name, day))
    first = ParkEntry.objects.filter(enterprise__isnull=True, park__township__in=townships).count()
    for i in range(first, first + wanted - len(linked)):
        township = rng.choice(townships)
        rows.append(
            (rng.choice(by_township[township.pk]).pk, None, None, f"基准入园企业{i:07d}", _day(rng, START, END))
        )
    entries = []
    for park_id, unit_id, period_id, name, day in rows:
        left = _day(rng, day, END) if rng.random() < 0.05 else None
        converted = rng.random() < 0.3
        entries.append((park_id, unit_id, period_id, name, day, left, converted, True, stamp.when))
    fields = ("park_id", "enterprise_id", "rectification_id", "name", "entered_on", "left_on")
    fields += ("individual_to_company", "company_form", "created_at")
    _record_history(ParkEntry, _insert(ParkEntry, fields, entries), "+", stamp)
    return len(entries)


def _parcels(rng, townships, wanted, stamp):
    """Up to ``wanted`` freed parcels: the sites of demolitions (each unit's once), at their stages;
    those in production with the year's tax return, some below a standard of 10 万元/亩."""
    demolished = list(
        Rectification.objects.filter(method=Method.DEMOLISHED, enterprise__township__in=townships)
        .exclude(enterprise__freed_parcels__isnull=False)
        .order_by("pk")
        .values_list("enterprise_id", "enterprise__township_id", "rectified_on")
        .distinct()
    )
    first = LandParcel.objects.filter(township__in=townships).count()
    rows, stages = [], []
    for i, (unit_id, township_id, day) in enumerate(rng.sample(demolished, min(len(demolished), wanted)), start=first):
        supplied = started = producing = None
        if rng.random() < 0.4:
            supplied = _day(rng, day, END)
            if rng.random() < 0.6:
                started = _day(rng, supplied, END)
                if rng.random() < 0.7:
                    producing = _day(rng, started, END)
        area = round(rng.uniform(0.5, 6), 2)
        rows.append((township_id, f"基准地块{i:07d}", area, unit_id, day, supplied, started, producing, stamp.when))
        stages.append((area, producing))
    fields = ("township_id", "name", "area_mu", "source_id", "freed_on", "supplied_on", "started_on", "producing_on")
    fields += ("created_at",)
    ids = _insert(LandParcel, fields, rows)
    _record_history(LandParcel, ids, "+", stamp)
    returns = [
        (parcel_id, PRODUCING_TAX_YEAR, round(area * rng.uniform(2, 30), 2), area, stamp.when)
        for parcel_id, (area, producing) in zip(ids, stages, strict=True)
        if producing is not None
    ]
    if returns:
        fields = ("parcel_id", "year", "tax_10k_yuan", "land_mu", "created_at")
        _record_history(TaxReturn, _insert(TaxReturn, fields, returns), "+", stamp)
    return len(rows)


def _demonstrations(rng, campaign, townships):
    """``DEMONSTRATIONS_EACH`` villages of every township apply; most are checked, some designated."""
    villages = {t.pk: [] for t in townships}
    for village in Village.objects.filter(township__in=townships).order_by("pk"):
        villages[village.township_id].append(village)
    rows = []
    for index, township in enumerate(townships):
        places = [(township, v) for v in villages[township.pk][:DEMONSTRATIONS_EACH]]
        if index % 3 == 0:
            places.append((township, None))
        for place_township, village in places:
            applied = _day(rng, START, END - datetime.timedelta(days=60))
            checked = applied + datetime.timedelta(days=rng.randrange(10, 40)) if rng.random() < 0.7 else None
            designated = (
                checked + datetime.timedelta(days=rng.randrange(5, 20)) if checked and rng.random() < 0.7 else None
            )
            rows.append(
                Demonstration(
                    campaign=campaign,
                    township=place_township,
                    village=village,
                    applied_on=applied,
                    checked_on=checked,
                    designated_on=designated,
                )
            )
    return len(Demonstration.objects.bulk_create(rows))


# --- measuring ---------------------------------------------------------------------------------


@contextmanager
def _queries():
    with CaptureQueriesContext(connection) as captured:
        yield captured


def timed(fn, *, runs=20, warmup=2, before=None):
    """Median and p95 wall time (ms) of ``fn()`` over ``runs`` calls, and the queries of the last call.

    ``before()``, when given, runs ahead of every call, untimed and uncounted.
    """
    for _ in range(warmup):
        if before:
            before()
        fn()
    times, queries = [], 0
    for _ in range(runs):
        if before:
            before()
        with _queries() as captured:
            began = time.perf_counter()
            fn()
            times.append((time.perf_counter() - began) * 1000)
        queries = len(captured.captured_queries)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, queries


class Days:
    """Days of the campaign up to the day before ``AS_OF``, in a seeded random order, none twice.

    The report rows "any day" ask each request for the next one, so that the counts are cached but
    never that day's figures (``AS_OF`` itself is the day every other row asks for).
    """

    def __init__(self, start, seed=YEAR):
        self.left = [start + datetime.timedelta(days=n) for n in range((AS_OF - start).days)]
        random.Random(seed).shuffle(self.left)  # noqa: S311 - a benchmark's sample
        self.used = 0

    def next(self):
        if not self.left:
            raise RuntimeError(f"every one of the {self.used} days before {AS_OF} has been asked for: fewer --runs")
        self.used += 1
        return self.left.pop()


def name_piece(units):
    """Six characters of the name of the unit in the middle of the synthetic register ("修店0050" of
    基准汽修店0050000): about 170 units at any scale from 100,000 to 1,000,000 hold it."""
    index = units // 2
    name = f"基准{KINDS[index % len(KINDS)][0]}{index:07d}"
    return name[-9:-3]


class QueryCount:
    """The SQL statements run while it is entered, on this thread's connection and on any connection
    opened meanwhile by another thread (the register export reads its rows on a thread of its own)."""

    def __init__(self):
        self.n = 0
        self.opened = []

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)

    def _opened(self, sender, connection, **kwargs):
        connection.execute_wrappers.append(self)
        self.opened.append(connection)

    def __enter__(self):
        connection_created.connect(self._opened, dispatch_uid=id(self))
        connection.execute_wrappers.append(self)
        return self

    def __exit__(self, *exc):
        connection_created.disconnect(dispatch_uid=id(self))
        for opened in (connection, *self.opened):
            if self in opened.execute_wrappers:
                opened.execute_wrappers.remove(self)


def full_scan_sql(as_of):
    """What a BI tool pointed at the tables would run for the dashboard figures: one scan per view."""
    return (
        "SELECT e.township_id, COUNT(*) AS identified, "
        "COUNT(r.id) AS rectified, "
        "COUNT(*) - COUNT(r.id) AS open "
        "FROM enterprises_enterprise e LEFT JOIN enterprises_rectification r ON r.enterprise_id = e.id "
        "AND r.deleted_at IS NULL AND r.rectified_on <= %s AND (r.reopened_on IS NULL OR r.reopened_on > %s) "
        "WHERE e.deleted_at IS NULL AND e.identified_on <= %s GROUP BY e.township_id"
    ), [as_of, as_of, as_of]
