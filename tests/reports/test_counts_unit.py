"""The counts unit (reports/counts/): its triggers as declared, drift reported, cached reads covered by versions.

- The migrated database holds exactly the declared triggers (and on PostgreSQL their functions and
  the versions' sequence); a declaration changed, or a trigger dropped, replaced, disabled or added
  in the database, is drift, and ``verify_counts`` and the system check say so.
- Every column a cached read declares is followed by a trigger that moves its township's version;
  a planted column that none follows is reported.
- The migrations that install the triggers carry their SQL as literal text and import no app code.
- Every column the village breakdown reads renews it when changed, on the database at hand.
"""

import ast
import datetime
import importlib
import io
import pkgutil
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import connection
from django.utils import timezone

import demo
import reports
from campaign.models import Village
from enterprises.models import Enterprise, Method, Rectification
from reports import counts
from reports.dashboard import village_breakdown
from tests.factories import make_township, make_unit, make_village

D = datetime.date
pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
VENDORS = ("postgresql", "sqlite")


def _changed(monkeypatch, module, starts, old, new, vendor=None):
    """Plant a change in the declared SQL: ``old`` becomes ``new`` in the one statement of
    ``module.statements`` (of ``vendor`` only, when given) that starts with ``starts``."""
    original = module.statements

    def statements(asked, *args):
        found = original(asked, *args)
        if vendor is not None and asked != vendor:
            return found
        hits = [i for i, sql in enumerate(found) if sql.lstrip().startswith(starts)]
        assert len(hits) == 1 and old in found[hits[0]], (starts, old)
        found[hits[0]] = found[hits[0]].replace(old, new)
        return found

    monkeypatch.setattr(module, "statements", statements)


def _check_errors():
    return [e for e in checks.run_checks(tags=[checks.Tags.database], databases=["default"]) if e.id == "reports.E001"]


def _kinds():
    return [(d.kind, d.what, d.name, d.table) for d in counts.drift(connection)]


# --- the database holds what is declared -------------------------------------------------------


def test_the_migrated_database_holds_the_declared_triggers():
    declared = counts.declared(connection.vendor)
    assert len(declared.triggers) == 46  # days 6, statuses 3, villages 6, versions 31
    assert len(declared.functions) == (8 if connection.vendor == "postgresql" else 0)
    assert counts.drift(connection) == []
    assert _check_errors() == []
    out = io.StringIO()
    call_command("verify_counts", stdout=out)
    assert "一致" in out.getvalue()


def test_a_changed_declaration_is_drift(monkeypatch):
    """The declared SQL of one trigger (and on PostgreSQL of one function) changed: each is reported."""
    if connection.vendor == "postgresql":
        _changed(
            monkeypatch, counts.tables, "CREATE OR REPLACE FUNCTION siwu_unit_days()", "-COUNT(*)", "-2 * COUNT(*)"
        )
        _changed(
            monkeypatch, counts.versions, "CREATE TRIGGER siwu_version_village", "AFTER UPDATE", "AFTER UPDATE OF name"
        )
        expected = [
            ("different", "trigger", "siwu_version_village", "enterprises_enterprise"),
            ("different", "function", "siwu_unit_days", ""),
        ]
    else:
        _changed(
            monkeypatch,
            counts.tables,
            "CREATE TRIGGER siwu_units_insert",
            "NEW.identified_on, 1",
            "NEW.identified_on, 2",
        )
        expected = [("different", "trigger", "siwu_units_insert", "enterprises_enterprise")]
    assert _kinds() == expected
    found = counts.drift(connection)
    assert all(d.held and d.expected and d.held != d.expected for d in found)
    assert [str(d) for d in found][0].startswith("触发器 ")
    assert [e.msg for e in _check_errors()] == [str(d) for d in found]


def test_a_declared_trigger_the_database_lacks_is_missing(monkeypatch):
    name = "siwu_units_insert"
    _changed(monkeypatch, counts.tables, f"CREATE TRIGGER {name} ", name, "siwu_units_insert_again")
    assert _kinds() == [
        ("extra", "trigger", "siwu_units_insert", "enterprises_enterprise"),
        ("missing", "trigger", "siwu_units_insert_again", "enterprises_enterprise"),
    ]


def _drop(name, table):
    on = f" ON {table}" if connection.vendor == "postgresql" else ""
    return f"DROP TRIGGER {name}{on}"


def test_a_trigger_dropped_replaced_or_added_in_the_database_is_drift():
    with connection.cursor() as cursor:
        cursor.execute(_drop("siwu_units_delete", "enterprises_enterprise"))
        if connection.vendor == "postgresql":
            cursor.execute(_drop("siwu_version_update", "inspections_finding"))
            cursor.execute(
                "CREATE TRIGGER siwu_version_update AFTER UPDATE ON inspections_finding "
                "FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
            )
            cursor.execute(
                "CREATE TRIGGER siwu_planted AFTER INSERT ON enterprises_rectification "
                "FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
            )
        else:
            cursor.execute(_drop("inspections_finding_version_update", ""))
            cursor.execute(
                "CREATE TRIGGER inspections_finding_version_update AFTER UPDATE ON inspections_finding "
                "FOR EACH ROW BEGIN SELECT 1; END"
            )
            cursor.execute("CREATE TRIGGER siwu_planted AFTER INSERT ON enterprises_rectification BEGIN SELECT 1; END")
        # Another feature's trigger on the same table is not the counts unit's business.
        cursor.execute(
            "CREATE TRIGGER audit_planted AFTER INSERT ON enterprises_rectification BEGIN SELECT 1; END"
            if connection.vendor == "sqlite"
            else "CREATE TRIGGER audit_planted AFTER INSERT ON enterprises_rectification "
            "FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
        )
    version = "siwu_version_update" if connection.vendor == "postgresql" else "inspections_finding_version_update"
    assert sorted(_kinds()) == sorted(
        [
            ("missing", "trigger", "siwu_units_delete", "enterprises_enterprise"),
            ("different", "trigger", version, "inspections_finding"),
            ("extra", "trigger", "siwu_planted", "enterprises_rectification"),
        ]
    )
    assert len(_check_errors()) == 3
    with pytest.raises(CommandError) as failed:
        call_command("verify_counts", stdout=io.StringIO())
    message = str(failed.value)
    assert "每日统计" not in message  # the counts themselves agree
    assert "3 处不一致" in message and "缺少触发器 siwu_units_delete（表 enterprises_enterprise）" in message
    with pytest.raises(SystemCheckError, match="siwu_units_delete"):
        call_command("check", "--database", "default", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_function_replaced_a_trigger_disabled_or_the_sequence_dropped_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("trigger functions, disabled triggers and sequences are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION siwu_village_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RETURN NULL; END $$"
        )
        cursor.execute("ALTER TABLE enterprises_unitday DISABLE TRIGGER siwu_version_insert")
        cursor.execute(
            "CREATE FUNCTION siwu_planted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
        )
        cursor.execute("DROP SEQUENCE siwu_counts_version_seq")
    assert _kinds() == [
        ("disabled", "trigger", "siwu_version_insert", "enterprises_unitday"),
        ("extra", "function", "siwu_planted", ""),
        ("different", "function", "siwu_village_version", ""),
        ("missing", "sequence", "siwu_counts_version_seq", ""),
    ]


def test_the_migrations_carry_their_sql_as_text_and_import_no_app_code():
    for path in (
        "enterprises/migrations/0006_maintained_counts.py",
        "enterprises/migrations/0007_register_keyset_and_unit_status.py",
        "reports/migrations/0002_counts_version.py",
        "enterprises/migrations/0009_unit_search.py",
    ):
        tree = ast.parse((ROOT / path).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or ".").split(".")[0])
        assert imported == {"django"}, (path, imported)
        module = importlib.import_module(path[:-3].replace("/", "."))
        for vendor in VENDORS:
            assert module.FORWARD[vendor] and module.REVERSE[vendor]
            assert all(isinstance(sql, str) for sql in module.FORWARD[vendor] + module.REVERSE[vendor])


# --- cached reads declare what they read, and the versions follow it ----------------------------


def _every_module():
    """Import every module of the apps that may use the cache (reports and above), so that every
    cached read is declared."""
    for package in (reports, demo):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" not in info.name:
                importlib.import_module(info.name)


def test_every_column_a_cached_read_declares_moves_its_townships_version():
    _every_module()
    assert {"daily-counts", "city-series", "overdue-counts", "overdue-list", "villages"} <= set(counts.READS)
    for vendor in VENDORS:
        problems = counts.uncovered(vendor)
        assert problems == [], f"{vendor}:\n{counts.explain(problems)}"


def test_a_column_no_trigger_follows_is_reported(monkeypatch):
    """A cached read that also read the units' names (no trigger moves a version on a rename), or the
    village trigger gone from the declaration: the columns left unfollowed are named."""
    planted = counts.cache.Reads(
        "planted", {"enterprises_enterprise": frozenset({"name", "township_id"})}, {"enterprises_enterprise": "id"}
    )
    monkeypatch.setitem(counts.READS, "planted", planted)
    for vendor in VENDORS:
        assert counts.uncovered(vendor) == [("planted", "enterprises_enterprise", "name", ["UPDATE"])], vendor
    monkeypatch.delitem(counts.READS, "planted")

    original = counts.versions.statements
    monkeypatch.setattr(
        counts.versions, "statements", lambda vendor: [s for s in original(vendor) if "villageday" not in s]
    )
    columns = ("day", "n", "township_id", "village_id")
    expected = [("villages", "enterprises_villageday", c, ["INSERT", "UPDATE", "DELETE"]) for c in columns]
    for vendor in VENDORS:
        assert counts.uncovered(vendor) == expected, vendor


def test_a_trigger_acting_on_some_columns_only_follows_those(monkeypatch):
    """A SQLite WHEN clause other than "a column changed" is assumed to follow no column."""
    _changed(
        monkeypatch,
        counts.versions,
        "CREATE TRIGGER enterprises_villageday_version_update",
        "FOR EACH ROW BEGIN",
        "FOR EACH ROW WHEN NEW.n <> 0 BEGIN",
        vendor="sqlite",
    )
    columns = ("day", "n", "township_id", "village_id")
    assert counts.uncovered("sqlite") == [("villages", "enterprises_villageday", c, ["UPDATE"]) for c in columns]
    assert counts.uncovered("postgresql") == []


def test_the_cache_takes_declared_reads_only():
    with pytest.raises(TypeError, match="declare"):
        counts.answer(("villages",), ("key",), lambda: 1)
    twin = counts.cache.Reads("villages", {}, {})  # same name, not the declaration
    with pytest.raises(TypeError, match="declare"):
        counts.rows(twin, ("key",), list)
    with pytest.raises(ValueError, match="declared already"):
        counts.reads("villages", (Enterprise, "village"))


# --- the village breakdown follows every column it reads ----------------------------------------


def test_every_column_the_village_breakdown_reads_renews_it(campaign):
    """Each change below alters a township's villages; the page read right after it (from the cache
    when the versions did not move) equals a read from scratch."""
    town, elsewhere = make_township("版本镇"), make_township("别处镇")
    v1, v2 = make_village(town, "一村"), make_village(town, "二村")
    as_of = D(2018, 6, 30)

    def unit(village, day, rectified_on=None):
        found = make_unit(town, day, village=village)
        if rectified_on is not None:
            Rectification.objects.create(enterprise=found, method=Method.CLOSED, rectified_on=rectified_on)
        return found

    a = unit(v1, D(2018, 2, 1), D(2018, 3, 1))
    b = unit(v1, D(2018, 2, 2))
    c = unit(v2, D(2018, 3, 1), D(2018, 4, 1))
    d = unit(v2, D(2017, 12, 1))
    e = unit(v1, D(2018, 1, 15), D(2018, 2, 1))
    f = unit(v1, D(2018, 1, 20), D(2018, 2, 15))
    now = timezone.now()

    def periods(of):
        return Rectification.objects.filter(enterprise=of)

    changes = [
        ("unit.village", lambda: Enterprise.objects.filter(pk=b.pk).update(village=v2)),
        ("unit.identified_on", lambda: Enterprise.objects.filter(pk=d.pk).update(identified_on=D(2018, 5, 1))),
        ("period.rectified_on", lambda: periods(a).update(rectified_on=D(2018, 8, 1))),
        ("period.reopened_on", lambda: periods(c).update(reopened_on=D(2018, 5, 1))),
        ("period.deleted_at", lambda: periods(e).update(deleted_at=now)),
        ("period.enterprise", lambda: periods(f).update(enterprise=b)),
        (
            "period insert",
            lambda: Rectification.objects.create(enterprise=d, method=Method.CLOSED, rectified_on=D(2018, 6, 1)),
        ),
        ("period delete", lambda: periods(d).delete()),
        ("unit insert", lambda: make_unit(town, D(2018, 6, 2), village=v1)),
        ("unit delete", lambda: _delete_newest(town)),
        ("unit.deleted_at", lambda: Enterprise.objects.filter(pk=b.pk).update(deleted_at=now)),
        ("unit.township", lambda: Enterprise.objects.filter(pk=c.pk).update(township=elsewhere)),
    ]

    def table():
        lines = village_breakdown(town, campaign, as_of)
        return {line.name: (line.total, line.identified, line.rectified, line.open) for line in lines}

    for name, change in changes:
        kept = table()
        change()
        served = table()
        counts.clear()
        fresh = table()
        assert fresh != kept, f"{name}: the change should alter the villages"
        assert served == fresh, f"{name}: the cached villages were served after the change"
    assert Village.objects.filter(township=town).count() == 2


def _delete_newest(town):
    """Delete (for good) the township's newest unit, which has no period."""
    Enterprise.objects.filter(township=town).order_by("-id")[:1].get().delete()
