"""The counts' versions: per township, a value the database changes with every change of its counts.

Every change of a township's maintained count tables (reports/counts/tables.py) or of its findings
sets its ``CountsVersion`` to a value never used before (a sequence on PostgreSQL, a random 64-bit
number on SQLite), by triggers in the same transaction; so does a unit moved to another village,
which changes no count table but does change the township page's villages. The cache
(reports/counts/cache.py) keeps the answers of count queries under these versions.

This module declares the triggers' SQL (``statements``), as the database is expected to hold it now.
reports/migrations/0002 carries its own literal copy of the text it installed (0004: the triggers on
the village count tables; 0005: on the scorecard's sources, the indicator records, parks, park
entries, freed land and demonstrations); a change here comes
with a new migration carrying the new text (docs/counting.md, "The counts unit").
"""

from campaign.models import Demonstration, IndicatorRecord, Park
from enterprises.models import Enterprise, LandParcel, ParkEntry, PeriodDay, UnitDay, VillageDay, VillagePeriodDay
from inspections.models import Finding
from reports.models import CountsVersion

from .tables import statement_triggers

VERSIONS = CountsVersion._meta.db_table
# The tables whose changes a township's version follows: its maintained counts, and its findings
# (the overdue figures, reports/counts/overdue.py, are read from those directly and cached the same way).
COUNTED = (
    UnitDay._meta.db_table,
    PeriodDay._meta.db_table,
    Finding._meta.db_table,
    VillageDay._meta.db_table,
    VillagePeriodDay._meta.db_table,
    # The scorecard's indicator values (reports/scorecard.py) are read from these directly (reports 0005).
    IndicatorRecord._meta.db_table,
    Park._meta.db_table,
    LandParcel._meta.db_table,
    Demonstration._meta.db_table,
)
# A park entry's township is its park's: its triggers move the version of the park's township (a
# park moved to another township moves both townships' versions by the park's own triggers).
ENTRIES = ParkEntry._meta.db_table
PARKS = Park._meta.db_table
SEQUENCE = "siwu_counts_version_seq"
UNITS = Enterprise._meta.db_table


def _pg_bump(townships):
    """Give each township of the query ``townships`` (column ``t``) a new version, in a fixed order
    so that two transactions never wait on each other's rows crosswise."""
    return (
        f"INSERT INTO {VERSIONS} (township_id, version) "  # nosec B608  # SQL from module constants (table names from _meta)
        f"SELECT t, nextval('{SEQUENCE}') FROM ({townships} ORDER BY 1) s "
        f"ON CONFLICT (township_id) DO UPDATE SET version = excluded.version;"
    )


_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION siwu_counts_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_bump("SELECT DISTINCT township_id AS t FROM new_rows")}
  ELSIF TG_OP = 'DELETE' THEN
    {_pg_bump("SELECT DISTINCT township_id AS t FROM old_rows")}
  ELSE
    {_pg_bump("SELECT township_id AS t FROM new_rows UNION SELECT township_id FROM old_rows")}
  END IF;
  RETURN NULL;
END $$;
"""

# A unit moved to another village of its township changes no count table, but it does change the
# township page's villages (reports.dashboard.village_breakdown, cached the same way).
_PG_VILLAGE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION siwu_village_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {
    _pg_bump(
        "SELECT DISTINCT n.township_id AS t FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE n.village_id IS DISTINCT FROM o.village_id"
    )
}
  RETURN NULL;
END $$;
"""


def _entries_of(rows):
    return f"SELECT DISTINCT p.township_id AS t FROM {rows} e JOIN {PARKS} p ON p.id = e.park_id"  # nosec B608


_PG_ENTRY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION siwu_park_entry_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_bump(_entries_of("new_rows"))}
  ELSIF TG_OP = 'DELETE' THEN
    {_pg_bump(_entries_of("old_rows"))}
  ELSE
    {_pg_bump(_entries_of("new_rows") + " UNION " + _entries_of("old_rows"))}
  END IF;
  RETURN NULL;
END $$;
"""

# What each PostgreSQL trigger function acts on when its table is updated (None: any column); see
# tables.WATCHES.
WATCHES = {"siwu_counts_version": None, "siwu_village_version": ("village_id",), "siwu_park_entry_version": None}


def _sqlite_bump(row):
    return (
        f"INSERT INTO {VERSIONS} (township_id, version) VALUES ({row}.township_id, random()) "  # nosec B608  # SQL from module constants (table names from _meta)
        f"ON CONFLICT (township_id) DO UPDATE SET version = excluded.version;"
    )


_SQLITE_EVENTS = {
    "INSERT": _sqlite_bump("NEW"),
    "UPDATE": _sqlite_bump("OLD") + " " + _sqlite_bump("NEW"),
    "DELETE": _sqlite_bump("OLD"),
}


def _sqlite_entry_bump(row):
    # The WHERE clause keeps SQLite from reading ON CONFLICT as a join constraint of the SELECT.
    return (
        f"INSERT INTO {VERSIONS} (township_id, version) SELECT township_id, random() FROM {PARKS} "  # nosec B608  # SQL from module constants (table names from _meta)
        f"WHERE id = {row}.park_id ON CONFLICT (township_id) DO UPDATE SET version = excluded.version;"
    )


_SQLITE_ENTRY_EVENTS = {
    "INSERT": _sqlite_entry_bump("NEW"),
    "UPDATE": _sqlite_entry_bump("OLD") + " " + _sqlite_entry_bump("NEW"),
    "DELETE": _sqlite_entry_bump("OLD"),
}


def _statements(vendor):
    if vendor == "postgresql":
        statements = [
            f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}",
            _PG_FUNCTION,
            _PG_VILLAGE_FUNCTION,
            _PG_ENTRY_FUNCTION,
        ]
        statements += [
            f"DROP TRIGGER IF EXISTS siwu_version_village ON {UNITS}",
            f"CREATE TRIGGER siwu_version_village AFTER UPDATE ON {UNITS} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION siwu_village_version()",
        ]
        for table in COUNTED:
            statements += statement_triggers("siwu_version", table, "siwu_counts_version")
        statements += statement_triggers("siwu_version", ENTRIES, "siwu_park_entry_version")
        return statements
    statements = [
        f"DROP TRIGGER IF EXISTS {UNITS}_version_village",
        f"CREATE TRIGGER {UNITS}_version_village AFTER UPDATE OF village_id ON {UNITS} FOR EACH ROW "
        f"WHEN OLD.village_id IS NOT NEW.village_id BEGIN {_sqlite_bump('NEW')} END",
    ]
    for table, events in [*((table, _SQLITE_EVENTS) for table in COUNTED), (ENTRIES, _SQLITE_ENTRY_EVENTS)]:
        for event, body in events.items():
            name = f"{table}_version_{event.lower()}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN {body} END",
            ]
    return statements


def statements(vendor):
    """The SQL that creates the version triggers (and on PostgreSQL their functions and sequence),
    as the database is expected to hold it: each CREATE statement, in order."""
    return [sql for sql in _statements(vendor) if not sql.startswith("DROP ")]
