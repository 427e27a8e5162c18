"""The speed benchmark behind ``make bench``: a synthetic city at scale, and timed page requests.

``build(units=…)`` writes a campaign of its own (slug ``bench``) with ``units`` units over 30
townships and 600 villages, about three rectification, relapse and inspection records per unit,
through the same bulk path as the screening-list import (COPY on PostgreSQL) and with history rows,
so the maintained counts and every index are what a real city would have. ``measure(...)`` times
pages through Django's test client as a city admin: median and p95 server time and query count.
"""

import datetime
import random
import statistics
import time
from contextlib import contextmanager

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from campaign.models import Campaign, TargetRevision, Township, Village
from campaign.services import campaign_create
from enterprises.importing import Stamp as _Stamp
from enterprises.importing import insert_rows as _insert
from enterprises.importing import record_history as _record_history
from enterprises.models import Enterprise, Method, Rectification, Relapse
from inspections.models import Finding, Inspection, Lookback

SLUG = "bench"
YEAR = 2025
TOWNSHIPS = 30
VILLAGES_EACH = 20
START = datetime.date(YEAR, 1, 1)
AS_OF = datetime.date(YEAR, 9, 30)
CHUNK = 50_000


def _day(rng, first, last):
    return first + datetime.timedelta(days=rng.randrange((last - first).days + 1))


def build(*, units=100_000, seed=YEAR, out=print):
    """Create the synthetic campaign (once: an existing one of the same size is reused)."""
    existing = Campaign.objects.filter(slug=SLUG).first()
    if existing is not None:
        have = Enterprise.objects.filter(township__name__startswith="基准").count()
        if have == units:
            out(f"reusing the benchmark city ({have} units)")
            return existing
        raise RuntimeError(f"campaign {SLUG} exists with {have} units; use a fresh database for {units}")
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    began = time.perf_counter()
    stamp = _Stamp(user_id=None, when=datetime.datetime.now(datetime.UTC), reason="benchmark")
    with transaction.atomic():
        names = [f"基准{i + 1:02d}{'街道' if i < 8 else '镇'}" for i in range(TOWNSHIPS)]
        townships = Township.objects.bulk_create(Township(name=n, kind=Township.kind_from_name(n)) for n in names)
        villages = Village.objects.bulk_create(
            Village(township=t, name=f"{t.name}第{j + 1}村", kind="village")
            for t in townships
            for j in range(VILLAGES_EACH)
        )
        by_township = {t.pk: [v.pk for v in villages if v.township_id == t.pk] for t in townships}
        campaign = campaign_create(slug=SLUG, year=YEAR, target=int(units * 0.8))
        TargetRevision.objects.bulk_create(
            TargetRevision(campaign=campaign, township=t, target=int(units * 0.8 / TOWNSHIPS), effective_on=START)
            for t in townships
        )
        weights = [rng.uniform(0.5, 1.5) for _ in townships]
        names = ("五金加工点", "废品回收站", "汽修店", "豆腐坊", "家具作坊", "塑料加工点")
        unit_ids, facts = [], []
        for first in range(0, units, CHUNK):
            rows = []
            for i in range(first, min(units, first + CHUNK)):
                township = rng.choices(townships, weights)[0]
                identified = _day(rng, datetime.date(YEAR - 1, 7, 1), datetime.date(YEAR, 12, 31))
                rows.append(
                    (
                        f"基准{names[i % len(names)]}{i:07d}",
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
                        "screening",
                        "open",
                        stamp.when,
                        stamp.when,
                    )
                )
            fields = ("name", "township_id", "village_id", "address", "phone", "owner", "unlicensed", "unsafe")
            fields += ("no_legal_premises", "no_env_measures", "identified_on", "source", "status")
            fields += ("created_at", "updated_at")
            ids = _insert(Enterprise, fields, rows)
            _record_history(Enterprise, ids, "+", stamp)
            unit_ids += ids
            facts += [(row[1], row[10]) for row in rows]
        out(f"{units} units in {time.perf_counter() - began:.1f} s")
        _periods(rng, unit_ids, facts, stamp, out)
        _inspections(rng, campaign, unit_ids, facts, townships, stamp, out)
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
