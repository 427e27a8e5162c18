"""The speed benchmark behind ``make bench``: a synthetic city at scale, and timed page requests.

``build(units=…, townships=…)`` writes a campaign of its own (slug ``bench-<units>-<townships>``)
with ``units`` units over ``townships`` townships (30, the city shape, by default; 1,300 for a
province) and 20 villages each, about three rectification, relapse and inspection records per unit,
through the same bulk path as the screening-list import (COPY on PostgreSQL) and with history rows,
so the maintained counts and every index are what a real city would have. Seven units in ten carry
a valid credit code; sources, industries and premises vary, so every register filter has rows to
find. ``measure(...)`` times pages through Django's test client as a city admin: median and p95
server time and query count.

One synthetic city per database: the register and the reports read every unit of a database, so a
second city would be timed along with the first. ``build`` refuses to add one of another shape or
scale (``OtherCity``); each shape gets a database of its own (DATABASE_URL).
"""

import datetime
import itertools
import random
import statistics
import time
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext

from campaign.models import Campaign, TargetRevision, Township, Village
from campaign.services import campaign_create
from enterprises.credit_code import make_credit_code
from enterprises.importing import Stamp as _Stamp
from enterprises.importing import insert_rows as _insert
from enterprises.importing import record_history as _record_history
from enterprises.models import Enterprise, Method, Rectification, Relapse, Source
from inspections.models import Finding, Inspection, Lookback

PREFIX = "bench"
YEAR = 2025
TOWNSHIPS = 30  # the city shape; a province has ~1,300
VILLAGES_EACH = 20
START = datetime.date(YEAR, 1, 1)
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
                    )
                )
            fields = ("name", "township_id", "village_id", "address", "phone", "owner", "unlicensed", "unsafe")
            fields += ("no_legal_premises", "no_env_measures", "identified_on", "source", "status")
            fields += ("created_at", "updated_at", "credit_code", "industry", "premises")
            ids = _insert(Enterprise, fields, rows)
            _record_history(Enterprise, ids, "+", stamp)
            unit_ids += ids
            facts += [(row[1], row[10]) for row in rows]
        out(f"{units} units in {time.perf_counter() - began:.1f} s")
        _periods(rng, unit_ids, facts, stamp, out)
        _inspections(rng, campaign, unit_ids, facts, townships, stamp, out)
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
    out(f"benchmark city built in {time.perf_counter() - began:.1f} s")
    return campaign


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
    fields = ("enterprise_id", "method", "rectified_on", "demolished_m2", "note", "reopened_on", "created_at")
    period_ids = _insert(Rectification, fields, periods)
    _record_history(Rectification, period_ids, "+", stamp)
    _insert(
        Relapse,
        ("enterprise_id", "rectification_id", "found_on", "note", "created_at"),
        [(unit_id, period_ids[index], found, "", stamp.when) for unit_id, index, found in relapses],
    )
    rectified = [pk for pk, status in statuses.items() if status == "rectified"]
    for first in range(0, len(rectified), CHUNK):
        Enterprise.objects.filter(pk__in=rectified[first : first + CHUNK]).update(status="rectified")
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
