"""Per-township counts kept by the database itself, in the same transaction as every write.

``UnitDay`` holds, per township and day, the alive units identified that day; ``PeriodDay``, per
township, start day and end day, the alive rectified periods of alive units (and their demolished
area). reports/counts/reader.py reads every figure of SPEC section 2 from these two small tables
instead of scanning the register: a few thousand rows a year, whatever the number of units.
``UnitStatus`` holds, per township and 整治状态, the alive units: the register's totals
(``UnitStatus.objects.totals``) when nothing but township and status narrows it. ``VillageDay``
and ``VillagePeriodDay`` hold the same as ``UnitDay`` and ``PeriodDay`` per village of a township
(reports/counts/villages.py reads a township page's villages from them).

They are maintained by triggers, so no write path can forget them — forms, services, the bulk
import (COPY on PostgreSQL), the audit restore, the admin, raw SQL:

- PostgreSQL: statement-level triggers with transition tables. A statement adds the grouped
  contribution of its new rows and subtracts that of its old rows, so a 50,000-row import costs
  a few grouped INSERT … ON CONFLICT statements, not 50,000 row triggers.
- SQLite (no statement-level triggers): row triggers doing the same per row.

Every change is an upsert of a delta (+ for what a row now contributes, − for what it did), so
updates, soft deletes and restores, re-opened periods, back-dated corrections and a unit moved to
another township all come out right. ``recount()`` computes the same tables from the register
and ``differences()`` compares them: the ``verify_counts`` command and the tests use both.

This module declares the SQL (``statements``): what the database is expected to hold now. The
migrations that installed it (enterprises 0006: ``days``, UnitDay and PeriodDay; 0007:
``statuses``, UnitStatus; 0010: ``villages``, VillageDay and VillagePeriodDay) carry their own
literal copy of the text as it was then; a change here comes with a new migration carrying the
new text, and ``reports.counts.drift`` tells when the database and this declaration part
(docs/counting.md, "The counts unit").
"""

from collections import Counter

from django.db import connection, transaction

from enterprises.models import (
    NO_VILLAGE,
    NOT_REOPENED,
    Enterprise,
    PeriodDay,
    Rectification,
    UnitDay,
    UnitStatus,
    VillageDay,
    VillagePeriodDay,
)

END = NOT_REOPENED.isoformat()
UNITS = Enterprise._meta.db_table
PERIODS = Rectification._meta.db_table
UNIT_DAYS = UnitDay._meta.db_table
PERIOD_DAYS = PeriodDay._meta.db_table
UNIT_STATUSES = UnitStatus._meta.db_table
VILLAGE_DAYS = VillageDay._meta.db_table
VILLAGE_PERIODS = VillagePeriodDay._meta.db_table

# group: (its tables, its PostgreSQL trigger functions, its trigger name prefixes)
GROUPS = {
    "days": ((UNIT_DAYS, PERIOD_DAYS), ("siwu_unit_days", "siwu_period_days"), ("siwu_units", "siwu_periods")),
    "statuses": ((UNIT_STATUSES,), ("siwu_unit_statuses",), ("siwu_statuses",)),
    "villages": (
        (VILLAGE_DAYS, VILLAGE_PERIODS),
        ("siwu_village_days", "siwu_village_periods"),
        ("siwu_villages", "siwu_village_periods"),
    ),
}
_TRIGGERED = {
    "siwu_units": UNITS,
    "siwu_periods": PERIODS,
    "siwu_statuses": UNITS,
    "siwu_villages": UNITS,
    "siwu_village_periods": PERIODS,
}

_UNIT_UPSERT = f"ON CONFLICT (township_id, day) DO UPDATE SET n = {UNIT_DAYS}.n + excluded.n"  # nosec B608  # SQL from module constants (table names from _meta)
_PERIOD_UPSERT = (
    f"ON CONFLICT (township_id, started, ended) DO UPDATE "  # nosec B608  # SQL from module constants (table names from _meta)
    f"SET n = {PERIOD_DAYS}.n + excluded.n, area = {PERIOD_DAYS}.area + excluded.area"
)
_STATUS_UPSERT = f"ON CONFLICT (township_id, status) DO UPDATE SET n = {UNIT_STATUSES}.n + excluded.n"  # nosec B608  # SQL from module constants (table names from _meta)
_VILLAGE_UPSERT = f"ON CONFLICT (township_id, village_id, day) DO UPDATE SET n = {VILLAGE_DAYS}.n + excluded.n"  # nosec B608  # SQL from module constants (table names from _meta)
_VILLAGE_PERIOD_UPSERT = (
    f"ON CONFLICT (township_id, village_id, started, since, ended) DO UPDATE "  # nosec B608  # SQL from module constants (table names from _meta)
    f"SET n = {VILLAGE_PERIODS}.n + excluded.n"
)
# A unit's village as the village tables key it: NO_VILLAGE (not NULL, which no ON CONFLICT matches).
_NO_VILLAGE = str(NO_VILLAGE)

# --- PostgreSQL --------------------------------------------------------------------------------

_PG_AREA = "ROUND(r.demolished_m2 * 100)::bigint"
_PG_UNITS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION siwu_unit_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO {UNIT_DAYS} (township_id, day, n)
      SELECT township_id, identified_on, -COUNT(*) FROM old_rows WHERE deleted_at IS NULL GROUP BY 1, 2
      {_UNIT_UPSERT};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO {UNIT_DAYS} (township_id, day, n)
      SELECT township_id, identified_on, COUNT(*) FROM new_rows WHERE deleted_at IS NULL GROUP BY 1, 2
      {_UNIT_UPSERT};
  END IF;
  IF TG_OP = 'UPDATE' THEN
    -- A unit deleted, restored or moved to another township takes its periods with it.
    INSERT INTO {PERIOD_DAYS} (township_id, started, ended, n, area)
      SELECT o.township_id, r.rectified_on, COALESCE(r.reopened_on, DATE '{END}'), -COUNT(*), -SUM({_PG_AREA})
      FROM old_rows o JOIN new_rows w ON w.id = o.id JOIN {PERIODS} r ON r.enterprise_id = o.id
      WHERE r.deleted_at IS NULL AND o.deleted_at IS NULL
        AND (w.deleted_at IS NOT NULL OR w.township_id <> o.township_id)
      GROUP BY 1, 2, 3
      {_PERIOD_UPSERT};
    INSERT INTO {PERIOD_DAYS} (township_id, started, ended, n, area)
      SELECT w.township_id, r.rectified_on, COALESCE(r.reopened_on, DATE '{END}'), COUNT(*), SUM({_PG_AREA})
      FROM old_rows o JOIN new_rows w ON w.id = o.id JOIN {PERIODS} r ON r.enterprise_id = w.id
      WHERE r.deleted_at IS NULL AND w.deleted_at IS NULL
        AND (o.deleted_at IS NOT NULL OR w.township_id <> o.township_id)
      GROUP BY 1, 2, 3
      {_PERIOD_UPSERT};
  END IF;
  RETURN NULL;
END $$;
"""  # nosec B608  # SQL from module constants (table names from _meta)
_PG_PERIODS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION siwu_period_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO {PERIOD_DAYS} (township_id, started, ended, n, area)
      SELECT e.township_id, r.rectified_on, COALESCE(r.reopened_on, DATE '{END}'), -COUNT(*), -SUM({_PG_AREA})
      FROM old_rows r JOIN {UNITS} e ON e.id = r.enterprise_id
      WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL GROUP BY 1, 2, 3
      {_PERIOD_UPSERT};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO {PERIOD_DAYS} (township_id, started, ended, n, area)
      SELECT e.township_id, r.rectified_on, COALESCE(r.reopened_on, DATE '{END}'), COUNT(*), SUM({_PG_AREA})
      FROM new_rows r JOIN {UNITS} e ON e.id = r.enterprise_id
      WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL GROUP BY 1, 2, 3
      {_PERIOD_UPSERT};
  END IF;
  RETURN NULL;
END $$;
"""  # nosec B608  # SQL from module constants (table names from _meta)
_PG_STATUSES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION siwu_unit_statuses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {UNIT_STATUSES} (township_id, status, n)
      SELECT township_id, status, COUNT(*) FROM new_rows WHERE deleted_at IS NULL GROUP BY 1, 2
      {_STATUS_UPSERT};
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO {UNIT_STATUSES} (township_id, status, n)
      SELECT township_id, status, -COUNT(*) FROM old_rows WHERE deleted_at IS NULL GROUP BY 1, 2
      {_STATUS_UPSERT};
  ELSE
    -- Only the net change: an edit that keeps the township, status and deletion of its units
    -- writes nothing, so concurrent edits in one township do not queue on its few rows.
    INSERT INTO {UNIT_STATUSES} (township_id, status, n)
      SELECT township_id, status, SUM(d) FROM (
        SELECT township_id, status, -1 AS d FROM old_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT township_id, status, 1 AS d FROM new_rows WHERE deleted_at IS NULL
      ) AS changes GROUP BY 1, 2 HAVING SUM(d) <> 0
      {_STATUS_UPSERT};
  END IF;
  RETURN NULL;
END $$;
"""  # nosec B608  # SQL from module constants (table names from _meta)


def _pg_village_period(unit):
    """A period of unit ``unit`` (r: the period) as VillagePeriodDay keys it."""
    return (
        f"{unit}.township_id, COALESCE({unit}.village_id, {_NO_VILLAGE}), r.rectified_on, "
        f"GREATEST(r.rectified_on, {unit}.identified_on), COALESCE(r.reopened_on, DATE '{END}')"
    )


# Only net changes are written (as UnitStatus does): an edit that keeps what a unit or period
# counts for writes nothing, so concurrent edits in one village do not queue on its rows.
_PG_VILLAGES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION siwu_village_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {VILLAGE_DAYS} (township_id, village_id, day, n)
      SELECT township_id, COALESCE(village_id, {_NO_VILLAGE}), identified_on, COUNT(*) FROM new_rows
      WHERE deleted_at IS NULL GROUP BY 1, 2, 3
      {_VILLAGE_UPSERT};
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO {VILLAGE_DAYS} (township_id, village_id, day, n)
      SELECT township_id, COALESCE(village_id, {_NO_VILLAGE}), identified_on, -COUNT(*) FROM old_rows
      WHERE deleted_at IS NULL GROUP BY 1, 2, 3
      {_VILLAGE_UPSERT};
  ELSE
    INSERT INTO {VILLAGE_DAYS} (township_id, village_id, day, n)
      SELECT township_id, village_id, day, SUM(d) FROM (
        SELECT township_id, COALESCE(village_id, {_NO_VILLAGE}) AS village_id, identified_on AS day, -1 AS d
        FROM old_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT township_id, COALESCE(village_id, {_NO_VILLAGE}), identified_on, 1 FROM new_rows WHERE deleted_at IS NULL
      ) AS changes GROUP BY 1, 2, 3 HAVING SUM(d) <> 0
      {_VILLAGE_UPSERT};
    -- A unit deleted, restored, moved to another village or township, or identified on another
    -- day takes its periods with it.
    INSERT INTO {VILLAGE_PERIODS} (township_id, village_id, started, since, ended, n)
      SELECT township_id, village_id, started, since, ended, SUM(d) FROM (
        SELECT {_pg_village_period("o")}, -1
        FROM old_rows o JOIN new_rows w ON w.id = o.id JOIN {PERIODS} r ON r.enterprise_id = o.id
        WHERE r.deleted_at IS NULL AND o.deleted_at IS NULL AND ({{moved}})
        UNION ALL
        SELECT {_pg_village_period("w")}, 1
        FROM old_rows o JOIN new_rows w ON w.id = o.id JOIN {PERIODS} r ON r.enterprise_id = w.id
        WHERE r.deleted_at IS NULL AND w.deleted_at IS NULL AND ({{moved}})
      ) AS changes (township_id, village_id, started, since, ended, d)
      GROUP BY 1, 2, 3, 4, 5 HAVING SUM(d) <> 0
      {_VILLAGE_PERIOD_UPSERT};
  END IF;
  RETURN NULL;
END $$;
"""  # nosec B608  # SQL from module constants (table names from _meta)
_PG_VILLAGES_FUNCTION = _PG_VILLAGES_FUNCTION.replace(
    "{moved}",
    "(o.deleted_at IS NULL) <> (w.deleted_at IS NULL) OR w.township_id <> o.township_id "
    "OR w.village_id IS DISTINCT FROM o.village_id OR w.identified_on <> o.identified_on",
)
_PG_VILLAGE_PERIODS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION siwu_village_periods() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {VILLAGE_PERIODS} (township_id, village_id, started, since, ended, n)
      SELECT {_pg_village_period("e")}, COUNT(*) FROM new_rows r JOIN {UNITS} e ON e.id = r.enterprise_id
      WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5
      {_VILLAGE_PERIOD_UPSERT};
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO {VILLAGE_PERIODS} (township_id, village_id, started, since, ended, n)
      SELECT {_pg_village_period("e")}, -COUNT(*) FROM old_rows r JOIN {UNITS} e ON e.id = r.enterprise_id
      WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5
      {_VILLAGE_PERIOD_UPSERT};
  ELSE
    INSERT INTO {VILLAGE_PERIODS} (township_id, village_id, started, since, ended, n)
      SELECT township_id, village_id, started, since, ended, SUM(d) FROM (
        SELECT {_pg_village_period("e")}, -1 FROM old_rows r JOIN {UNITS} e ON e.id = r.enterprise_id
        WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL
        UNION ALL
        SELECT {_pg_village_period("e")}, 1 FROM new_rows r JOIN {UNITS} e ON e.id = r.enterprise_id
        WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL
      ) AS changes (township_id, village_id, started, since, ended, d)
      GROUP BY 1, 2, 3, 4, 5 HAVING SUM(d) <> 0
      {_VILLAGE_PERIOD_UPSERT};
  END IF;
  RETURN NULL;
END $$;
"""  # nosec B608  # SQL from module constants (table names from _meta)
_PG_FUNCTIONS = {
    "siwu_unit_days": _PG_UNITS_FUNCTION,
    "siwu_period_days": _PG_PERIODS_FUNCTION,
    "siwu_unit_statuses": _PG_STATUSES_FUNCTION,
    "siwu_village_days": _PG_VILLAGES_FUNCTION,
    "siwu_village_periods": _PG_VILLAGE_PERIODS_FUNCTION,
}


# The three events a statement-level trigger function sees, with the transition tables each has.
EVENTS = (
    ("INSERT", "NEW TABLE AS new_rows"),
    ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("DELETE", "OLD TABLE AS old_rows"),
)


def statement_triggers(prefix, table, function):
    """(Re)create ``{prefix}_insert/update/delete`` on ``table``: ``function()`` once per statement,
    with its old and new rows as the transition tables ``old_rows`` and ``new_rows``."""
    statements = []
    for event, tables in EVENTS:
        name = f"{prefix}_{event.lower()}"
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def _pg_triggers(group):
    _tables, functions, prefixes = GROUPS[group]
    statements = [_PG_FUNCTIONS[function] for function in functions]
    for function, prefix in zip(functions, prefixes, strict=True):
        statements += statement_triggers(prefix, _TRIGGERED[prefix], function)
    return statements


# --- SQLite ------------------------------------------------------------------------------------


# A subtraction is an UPDATE of the row the addition made (it always exists in normal operation).
# Not an upsert: when a test database is flushed table by table (DELETE FROM, in any order), a
# subtraction whose row is gone already must leave nothing behind.


def _sqlite_unit_delta(row, sign):
    if sign == "-":
        return (
            f"UPDATE {UNIT_DAYS} SET n = n - 1 WHERE {row}.deleted_at IS NULL "  # nosec B608  # SQL from module constants (table names from _meta)
            f"AND township_id = {row}.township_id AND day = {row}.identified_on;"
        )
    return (
        f"INSERT INTO {UNIT_DAYS} (township_id, day, n) SELECT {row}.township_id, {row}.identified_on, 1 "
        f"WHERE {row}.deleted_at IS NULL {_UNIT_UPSERT};"
    )


def _sqlite_periods_of_unit(unit, sign, condition):
    grouped = (
        f"SELECT r.rectified_on AS started, COALESCE(r.reopened_on, '{END}') AS ended, COUNT(*) AS n, "  # nosec B608  # SQL from module constants (table names from _meta)
        f"SUM(CAST(ROUND(r.demolished_m2 * 100) AS INTEGER)) AS area FROM {PERIODS} r "
        f"WHERE r.enterprise_id = {unit}.id AND r.deleted_at IS NULL GROUP BY 1, 2"
    )
    if sign == "-":
        return (
            f"UPDATE {PERIOD_DAYS} SET n = {PERIOD_DAYS}.n - x.n, area = {PERIOD_DAYS}.area - x.area "  # nosec B608  # SQL from module constants (table names from _meta)
            f"FROM ({grouped}) AS x WHERE {condition} AND {PERIOD_DAYS}.township_id = {unit}.township_id "
            f"AND {PERIOD_DAYS}.started = x.started AND {PERIOD_DAYS}.ended = x.ended;"
        )
    return (
        f"INSERT INTO {PERIOD_DAYS} (township_id, started, ended, n, area) "  # nosec B608  # SQL from module constants (table names from _meta)
        f"SELECT {unit}.township_id, x.started, x.ended, x.n, x.area FROM ({grouped}) AS x "
        f"WHERE {condition} {_PERIOD_UPSERT};"
    )


def _sqlite_period_delta(row, sign):
    area = f"CAST(ROUND({row}.demolished_m2 * 100) AS INTEGER)"
    alive = f"{row}.deleted_at IS NULL"
    if sign == "-":
        return (
            f"UPDATE {PERIOD_DAYS} SET n = n - 1, area = area - {area} WHERE {alive} "  # nosec B608  # SQL from module constants (table names from _meta)
            f"AND township_id = (SELECT e.township_id FROM {UNITS} e WHERE e.id = {row}.enterprise_id "
            f"AND e.deleted_at IS NULL) AND started = {row}.rectified_on "
            f"AND ended = COALESCE({row}.reopened_on, '{END}');"
        )
    return (
        f"INSERT INTO {PERIOD_DAYS} (township_id, started, ended, n, area) "  # nosec B608  # SQL from module constants (table names from _meta)
        f"SELECT e.township_id, {row}.rectified_on, COALESCE({row}.reopened_on, '{END}'), 1, {area} "
        f"FROM {UNITS} e WHERE e.id = {row}.enterprise_id AND e.deleted_at IS NULL AND {alive} {_PERIOD_UPSERT};"
    )


def _sqlite_status_delta(row, sign):
    if sign == "-":
        return (
            f"UPDATE {UNIT_STATUSES} SET n = n - 1 WHERE {row}.deleted_at IS NULL "  # nosec B608  # SQL from module constants (table names from _meta)
            f"AND township_id = {row}.township_id AND status = {row}.status;"
        )
    return (
        f"INSERT INTO {UNIT_STATUSES} (township_id, status, n) SELECT {row}.township_id, {row}.status, 1 "
        f"WHERE {row}.deleted_at IS NULL {_STATUS_UPSERT};"
    )


def _sqlite_village_unit_delta(row, sign):
    village = f"COALESCE({row}.village_id, {_NO_VILLAGE})"
    if sign == "-":
        return (
            f"UPDATE {VILLAGE_DAYS} SET n = n - 1 WHERE {row}.deleted_at IS NULL "  # nosec B608  # SQL from module constants (table names from _meta)
            f"AND township_id = {row}.township_id AND village_id = {village} AND day = {row}.identified_on;"
        )
    return (
        f"INSERT INTO {VILLAGE_DAYS} (township_id, village_id, day, n) "  # nosec B608  # SQL from module constants (table names from _meta)
        f"SELECT {row}.township_id, {village}, {row}.identified_on, 1 "
        f"WHERE {row}.deleted_at IS NULL {_VILLAGE_UPSERT};"
    )


def _sqlite_village_periods_of_unit(unit, sign, condition):
    grouped = (
        f"SELECT r.rectified_on AS started, MAX(r.rectified_on, {unit}.identified_on) AS since, "  # nosec B608  # SQL from module constants (table names from _meta)
        f"COALESCE(r.reopened_on, '{END}') AS ended, COUNT(*) AS n FROM {PERIODS} r "
        f"WHERE r.enterprise_id = {unit}.id AND r.deleted_at IS NULL GROUP BY 1, 2, 3"
    )
    village = f"COALESCE({unit}.village_id, {_NO_VILLAGE})"
    if sign == "-":
        return (
            f"UPDATE {VILLAGE_PERIODS} SET n = {VILLAGE_PERIODS}.n - x.n FROM ({grouped}) AS x "  # nosec B608  # SQL from module constants (table names from _meta)
            f"WHERE {condition} AND {VILLAGE_PERIODS}.township_id = {unit}.township_id "
            f"AND {VILLAGE_PERIODS}.village_id = {village} AND {VILLAGE_PERIODS}.started = x.started "
            f"AND {VILLAGE_PERIODS}.since = x.since AND {VILLAGE_PERIODS}.ended = x.ended;"
        )
    return (
        f"INSERT INTO {VILLAGE_PERIODS} (township_id, village_id, started, since, ended, n) "  # nosec B608  # SQL from module constants (table names from _meta)
        f"SELECT {unit}.township_id, {village}, x.started, x.since, x.ended, x.n FROM ({grouped}) AS x "
        f"WHERE {condition} {_VILLAGE_PERIOD_UPSERT};"
    )


def _sqlite_village_period_delta(row, sign):
    alive = f"{row}.deleted_at IS NULL"
    unit = f"FROM {UNITS} e WHERE e.id = {row}.enterprise_id AND e.deleted_at IS NULL"
    if sign == "-":
        return (
            f"UPDATE {VILLAGE_PERIODS} SET n = n - 1 WHERE {alive} "  # nosec B608  # SQL from module constants (table names from _meta)
            f"AND (township_id, village_id, since) = (SELECT e.township_id, COALESCE(e.village_id, {_NO_VILLAGE}), "
            f"MAX({row}.rectified_on, e.identified_on) {unit}) "
            f"AND started = {row}.rectified_on AND ended = COALESCE({row}.reopened_on, '{END}');"
        )
    return (
        f"INSERT INTO {VILLAGE_PERIODS} (township_id, village_id, started, since, ended, n) "  # nosec B608  # SQL from module constants (table names from _meta)
        f"SELECT e.township_id, COALESCE(e.village_id, {_NO_VILLAGE}), {row}.rectified_on, "
        f"MAX({row}.rectified_on, e.identified_on), COALESCE({row}.reopened_on, '{END}'), 1 "
        f"{unit} AND {alive} {_VILLAGE_PERIOD_UPSERT};"
    )


def _sqlite_triggers(group):
    moved = "(OLD.deleted_at IS NOT NEW.deleted_at OR OLD.township_id <> NEW.township_id)"
    unit_changed = f"({moved} OR OLD.identified_on <> NEW.identified_on)"
    period_changed = (
        "(OLD.deleted_at IS NOT NEW.deleted_at OR OLD.rectified_on <> NEW.rectified_on "
        "OR OLD.reopened_on IS NOT NEW.reopened_on OR OLD.demolished_m2 <> NEW.demolished_m2 "
        "OR OLD.enterprise_id <> NEW.enterprise_id)"
    )
    status_changed = f"({moved} OR OLD.status <> NEW.status)"
    days = {
        "siwu_units_insert": f"AFTER INSERT ON {UNITS} BEGIN {_sqlite_unit_delta('NEW', '+')} END",
        "siwu_units_update": (
            f"AFTER UPDATE ON {UNITS} WHEN {unit_changed} BEGIN "
            f"{_sqlite_unit_delta('OLD', '-')} {_sqlite_unit_delta('NEW', '+')} "
            f"{_sqlite_periods_of_unit('OLD', '-', f'OLD.deleted_at IS NULL AND {moved}')} "
            f"{_sqlite_periods_of_unit('NEW', '+', f'NEW.deleted_at IS NULL AND {moved}')} END"
        ),
        "siwu_units_delete": f"AFTER DELETE ON {UNITS} BEGIN {_sqlite_unit_delta('OLD', '-')} END",
        "siwu_periods_insert": f"AFTER INSERT ON {PERIODS} BEGIN {_sqlite_period_delta('NEW', '+')} END",
        "siwu_periods_update": (
            f"AFTER UPDATE ON {PERIODS} WHEN {period_changed} BEGIN "
            f"{_sqlite_period_delta('OLD', '-')} {_sqlite_period_delta('NEW', '+')} END"
        ),
        "siwu_periods_delete": f"AFTER DELETE ON {PERIODS} BEGIN {_sqlite_period_delta('OLD', '-')} END",
    }
    statuses = {
        "siwu_statuses_insert": f"AFTER INSERT ON {UNITS} BEGIN {_sqlite_status_delta('NEW', '+')} END",
        "siwu_statuses_update": (
            f"AFTER UPDATE ON {UNITS} WHEN {status_changed} BEGIN "
            f"{_sqlite_status_delta('OLD', '-')} {_sqlite_status_delta('NEW', '+')} END"
        ),
        "siwu_statuses_delete": f"AFTER DELETE ON {UNITS} BEGIN {_sqlite_status_delta('OLD', '-')} END",
    }
    village_moved = (
        "(OLD.deleted_at IS NOT NEW.deleted_at OR OLD.township_id <> NEW.township_id "
        "OR OLD.village_id IS NOT NEW.village_id OR OLD.identified_on <> NEW.identified_on)"
    )
    village_period_changed = (
        "(OLD.deleted_at IS NOT NEW.deleted_at OR OLD.rectified_on <> NEW.rectified_on "
        "OR OLD.reopened_on IS NOT NEW.reopened_on OR OLD.enterprise_id <> NEW.enterprise_id)"
    )
    villages = {
        "siwu_villages_insert": f"AFTER INSERT ON {UNITS} BEGIN {_sqlite_village_unit_delta('NEW', '+')} END",
        "siwu_villages_update": (
            f"AFTER UPDATE ON {UNITS} WHEN {village_moved} BEGIN "
            f"{_sqlite_village_unit_delta('OLD', '-')} {_sqlite_village_unit_delta('NEW', '+')} "
            f"{_sqlite_village_periods_of_unit('OLD', '-', 'OLD.deleted_at IS NULL')} "
            f"{_sqlite_village_periods_of_unit('NEW', '+', 'NEW.deleted_at IS NULL')} END"
        ),
        "siwu_villages_delete": f"AFTER DELETE ON {UNITS} BEGIN {_sqlite_village_unit_delta('OLD', '-')} END",
        "siwu_village_periods_insert": (
            f"AFTER INSERT ON {PERIODS} BEGIN {_sqlite_village_period_delta('NEW', '+')} END"
        ),
        "siwu_village_periods_update": (
            f"AFTER UPDATE ON {PERIODS} WHEN {village_period_changed} BEGIN "
            f"{_sqlite_village_period_delta('OLD', '-')} {_sqlite_village_period_delta('NEW', '+')} END"
        ),
        "siwu_village_periods_delete": (
            f"AFTER DELETE ON {PERIODS} BEGIN {_sqlite_village_period_delta('OLD', '-')} END"
        ),
    }
    statements = []
    for name, body in {"days": days, "statuses": statuses, "villages": villages}[group].items():
        statements.append(f"DROP TRIGGER IF EXISTS {name}")
        statements.append(f"CREATE TRIGGER {name} {body}")
    return statements


# What each PostgreSQL trigger function acts on when its table is updated: the columns whose change
# it writes a count for (None: any column). Its statement triggers fire on every UPDATE; this is
# what the function does with them, for the cache's dependency check (reports.counts.schema).
WATCHES = {
    "siwu_unit_days": ("deleted_at", "township_id", "identified_on"),
    "siwu_period_days": ("deleted_at", "rectified_on", "reopened_on", "demolished_m2", "enterprise_id"),
    "siwu_unit_statuses": ("deleted_at", "township_id", "status"),
    "siwu_village_days": ("deleted_at", "township_id", "village_id", "identified_on"),
    "siwu_village_periods": ("deleted_at", "rectified_on", "reopened_on", "enterprise_id"),
}


def statements(vendor, groups=tuple(GROUPS)):
    """The SQL that creates the triggers of ``groups`` (and on PostgreSQL their functions), as the
    database is expected to hold it: each CREATE statement, in order."""
    triggers = {"postgresql": _pg_triggers, "sqlite": _sqlite_triggers}[vendor]
    return [sql for group in groups for sql in triggers(group) if not sql.startswith("DROP ")]


# --- recount and compare -----------------------------------------------------------------------

_AREA = {"postgresql": _PG_AREA, "sqlite": "CAST(ROUND(r.demolished_m2 * 100) AS INTEGER)"}
_END = {"postgresql": f"DATE '{END}'", "sqlite": f"'{END}'"}
_LATER = {"postgresql": "GREATEST", "sqlite": "MAX"}


def _recount_sql(conn):
    """{table: (the SELECT that recounts it from the register, its column list)}."""
    units = f"SELECT township_id, identified_on, COUNT(*) FROM {UNITS} WHERE deleted_at IS NULL GROUP BY 1, 2"  # nosec B608  # SQL from module constants (table names from _meta)
    periods = (
        f"SELECT e.township_id, r.rectified_on, COALESCE(r.reopened_on, {_END[conn.vendor]}), COUNT(*), "  # nosec B608  # SQL from module constants (table names from _meta)
        f"SUM({_AREA[conn.vendor]}) FROM {PERIODS} r JOIN {UNITS} e ON e.id = r.enterprise_id "
        f"WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL GROUP BY 1, 2, 3"
    )
    statuses = f"SELECT township_id, status, COUNT(*) FROM {UNITS} WHERE deleted_at IS NULL GROUP BY 1, 2"  # nosec B608  # SQL from module constants (table names from _meta)
    villages = (
        f"SELECT township_id, COALESCE(village_id, {_NO_VILLAGE}), identified_on, COUNT(*) FROM {UNITS} "  # nosec B608  # SQL from module constants (table names from _meta)
        f"WHERE deleted_at IS NULL GROUP BY 1, 2, 3"
    )
    village_periods = (
        f"SELECT e.township_id, COALESCE(e.village_id, {_NO_VILLAGE}), r.rectified_on, "  # nosec B608  # SQL from module constants (table names from _meta)
        f"{_LATER[conn.vendor]}(r.rectified_on, e.identified_on), COALESCE(r.reopened_on, {_END[conn.vendor]}), "
        f"COUNT(*) FROM {PERIODS} r JOIN {UNITS} e ON e.id = r.enterprise_id "
        f"WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5"
    )
    return {
        UNIT_DAYS: (units, "township_id, day, n"),
        PERIOD_DAYS: (periods, "township_id, started, ended, n, area"),
        UNIT_STATUSES: (statuses, "township_id, status, n"),
        VILLAGE_DAYS: (villages, "township_id, village_id, day, n"),
        VILLAGE_PERIODS: (village_periods, "township_id, village_id, started, since, ended, n"),
    }


def rebuild(conn=None, groups=tuple(GROUPS)):
    """Recompute the tables of ``groups`` from the register (``verify_counts --repair``; the migrations that
    created them carry the same recount as literal SQL)."""
    conn = conn or connection
    recounts = _recount_sql(conn)
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        for group in groups:
            for table in GROUPS[group][0]:
                select, columns = recounts[table]
                cursor.execute(f"DELETE FROM {table}")  # nosec B608  # SQL from module constants (table names from _meta)
                cursor.execute(f"INSERT INTO {table} ({columns}) {select}")


def _as_counter(rows, width):
    found = Counter()
    for row in rows:
        key, values = tuple(str(v) for v in row[:width]), tuple(int(v) for v in row[width:])
        found[key] = values
    return {key: values for key, values in found.items() if any(values)}


def _recount(table, width):
    with connection.cursor() as cursor:
        cursor.execute(_recount_sql(connection)[table][0])
        return _as_counter(cursor.fetchall(), width)


def recount():
    """(units, periods) computed from the register now: {key: (n,)} and {key: (n, area)}."""
    return _recount(UNIT_DAYS, 2), _recount(PERIOD_DAYS, 3)


def recount_statuses():
    """Alive units by (township, status) computed from the register now: {key: (n,)}."""
    return _recount(UNIT_STATUSES, 2)


def recount_villages():
    """(units, periods) by village computed from the register now: {(township, village, day): (n,)} and
    {(township, village, started, since, ended): (n,)}, village NO_VILLAGE for units with none."""
    return _recount(VILLAGE_DAYS, 3), _recount(VILLAGE_PERIODS, 5)


def maintained():
    """(units, periods) as the triggers keep them, in the same shape as ``recount()``."""
    unit_rows = UnitDay.objects.values_list("township_id", "day", "n")
    period_rows = PeriodDay.objects.values_list("township_id", "started", "ended", "n", "area")
    return _as_counter(unit_rows, 2), _as_counter(period_rows, 3)


def maintained_statuses():
    """Alive units by (township, status) as the triggers keep them, in the shape of ``recount_statuses()``."""
    return _as_counter(UnitStatus.objects.values_list("township_id", "status", "n"), 2)


def maintained_villages():
    """(units, periods) by village as the triggers keep them, in the shape of ``recount_villages()``."""
    unit_rows = VillageDay.objects.values_list("township_id", "village_id", "day", "n")
    period_rows = VillagePeriodDay.objects.values_list("township_id", "village_id", "started", "since", "ended", "n")
    return _as_counter(unit_rows, 3), _as_counter(period_rows, 5)


def differences():
    """Keys whose maintained counts differ from a full recount: [(table, key, maintained, recounted)]."""
    found = []
    tables = zip(
        ("units", "periods", "statuses", "village units", "village periods"),
        (*maintained(), maintained_statuses(), *maintained_villages()),
        (*recount(), recount_statuses(), *recount_villages()),
        strict=True,
    )
    for table, kept, counted in tables:
        for key in sorted(kept.keys() | counted.keys()):
            if kept.get(key) != counted.get(key):
                found.append((table, key, kept.get(key), counted.get(key)))
    return found
