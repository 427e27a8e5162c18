"""The register's filtered pages are read through an index in the register's order, on both databases.

A status filter used to walk the register's order index row by row until it had a page of that
status: a status with few units (整治中, often none) read the whole register. The pages of a
status, city-wide and within a township, now come from an index that holds each status's units in
the register's order (``enterprise_register_status_idx``, ``enterprise_register_ts_idx``), so a
status with no units reads nothing. The plan is asked of each database after the statistics are
taken, as a large register would have them.
"""

import datetime
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enterprises.models import Enterprise, Status
from tests.factories import make_township, make_user

pytestmark = pytest.mark.django_db

D = datetime.date
PAGE_QUERY = re.compile(r"ORDER BY .*\bLIMIT\b", re.S)


@pytest.fixture
def register(client):
    townships = [make_township(f"城关{i}镇") for i in range(3)]
    Enterprise.objects.bulk_create(
        Enterprise(
            name=f"五金厂{i:05d}",
            township=townships[i % 3],
            identified_on=D(2018, 1, 1) + datetime.timedelta(days=i % 180),
            unlicensed=True,
            unsafe=bool(i % 2),
            status=Status.RECTIFIED if i % 97 == 0 else Status.OPEN,
        )
        for i in range(6000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    client.force_login(make_user("admin", role="city_admin"))
    return townships


def page_plan(client, query):
    """The database's plan of the register page's rows query for ``query`` (as text)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("enterprises:list") + query)
    assert response.status_code == 200
    pages = [
        q["sql"]
        for q in captured.captured_queries
        if PAGE_QUERY.search(q["sql"]) and "enterprises_enterprise" in q["sql"]
    ]
    assert pages, [q["sql"][:120] for q in captured.captured_queries]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (FORMAT JSON) " + pages[0])
            plan = cursor.fetchone()[0]
            return json.dumps(plan if not isinstance(plan, str) else json.loads(plan))
        cursor.execute("EXPLAIN QUERY PLAN " + pages[0])
        return " ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize(
    "query, index",
    [
        ("?status=in_progress", "enterprise_register_status_idx"),
        ("?status=rectified&unsafe=true", "enterprise_register_status_idx"),
        ("?status=in_progress&township={township}", "enterprise_register_ts_idx"),
    ],
)
def test_a_status_filter_reads_its_units_through_the_status_index(client, register, query, index):
    plan = page_plan(client, query.format(township=register[1].pk))
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan.upper() and '"Sort"' not in plan, plan  # already in the register's order


def test_a_large_import_leaves_the_planner_statistics_of_the_units(monkeypatch):
    """After a bulk write of many units, the database's statistics count them; on SQLite, without
    them, a filter the indexes do not serve read the units through the partial register index."""
    from enterprises.importing import bulk

    monkeypatch.setattr(bulk, "ANALYZE_AFTER", 50)
    township = make_township("统计镇")
    names = ("name", "township_id", "identified_on", "unlicensed")
    bulk.insert_rows(Enterprise, names, [(f"厂{i}", township.pk, D(2018, 3, 1), True) for i in range(60)])
    table = Enterprise._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            assert cursor.fetchone()[0] >= 60
        else:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
            rows = [int(stat.split()[0]) for (stat,) in cursor.fetchall()]  # each index's rows first
            assert rows and max(rows) >= 60, rows
