"""A cache of the count queries (reports.counting, inspections.overdue), keyed on versions the database keeps.

The figures of a report page come from a few grouped queries over the maintained count tables
(enterprises/counts.py). Their answer changes only when those tables change, and every change sets
its township's ``CountsVersion`` to a value never used before, in the same transaction. So the
answer to a query can be kept under (the query's arguments, every township's version): a later
request that reads the same versions gets the same rows without asking the database, and a request
made after any change reads new versions and asks again. Nothing expires by time and nothing needs
to be invalidated by hand; a rolled-back change leaves versions that never occur again.

Consistency: the versions are read before the counts. A change committed between the two reads is
in the answer but not in the key it is filed under; the first request after the commit reads the
new versions, misses, and asks again, so the worst case is one query too many, never a stale page.

Figures read per township (the ranking's counts, the overdue findings per township) are renewed
township by township (``per_township``): after a change in one township, the next page asks the
database about that township only. What is read of one township alone (a township page's series,
villages and overdue list) is keyed on that township's version only (``Token.of``).

The cache lives in each server process (a bounded LRU of ``SIZE`` answers, a few KB each): several
gunicorn workers or hosts each keep their own, and are each right for the same reason.

The triggers: ``install``/``uninstall`` below, run by reports/migrations/0002.
"""

import hashlib
import threading
from collections import OrderedDict

from django.db import connection

from enterprises.counts import EVENTS, statement_triggers
from enterprises.models import Enterprise, PeriodDay, UnitDay
from inspections.models import Finding

from .models import CountsVersion

SIZE = 128
# Of those, at most this many large ones (``renewed(…, large=True)``: a city's day-by-day counts
# kept township by township, some MB at a million units); the least recently used goes first.
LARGE = 2
VERSIONS = CountsVersion._meta.db_table
# The tables whose changes a township's version follows: its maintained counts, and its findings
# (the overdue figures, inspections/overdue.py, are read from those directly and cached the same way).
COUNTED = (UnitDay._meta.db_table, PeriodDay._meta.db_table, Finding._meta.db_table)
SEQUENCE = "siwu_counts_version_seq"
UNITS = Enterprise._meta.db_table

_answers = OrderedDict()
_large = OrderedDict()  # the keys of the large answers in _answers, least recently used first
_lock = threading.Lock()


class Token:
    """The versions of every township's counts, read at one moment: a key part for the cache.

    Equal (and hashed) by a digest of all versions; ``of(township_id)`` is one township's version,
    the key of what is read of that township alone (it changes when that township's counts do,
    not when another's do).
    """

    __slots__ = ("digest", "versions")

    def __init__(self, versions):
        self.versions = versions
        digest = hashlib.blake2b(digest_size=16)
        for township_id, version in sorted(versions.items()):
            digest.update(b"%d:%d;" % (township_id, version))
        self.digest = digest.hexdigest()

    def of(self, township_id):
        """One township's version (None for a township whose counts never changed)."""
        return self.versions.get(township_id)

    def __eq__(self, other):
        return isinstance(other, Token) and other.digest == self.digest

    def __hash__(self):
        return hash(self.digest)

    def __repr__(self):
        return f"Token({self.digest})"


def token():
    """The current versions of every township's counts (one small query)."""
    return Token(dict(CountsVersion.objects.values_list("township_id", "version")))


def rows(key, fetch):
    """``list(fetch())``, or the list it gave before for the same ``key`` (which holds a token)."""
    return answer(key, lambda: list(fetch()))


def answer(key, compute):
    """``compute()``, or what it returned before for the same ``key`` (which holds a token).

    What is kept is shared by every later request with the same key: callers treat it as read-only.
    """
    with _lock:
        found = _answers.get(key)
        if found is not None:
            _answers.move_to_end(key)
            return found
    found = compute()
    with _lock:
        _answers[key] = found
        while len(_answers) > SIZE:
            _large.pop(_answers.popitem(last=False)[0], None)
    return found


def renewed(key, version, first, renew, *, large=False):
    """A value kept under ``version`` (a ``Token``) and renewed from the townships whose version moved.

    The first time, ``first()`` makes the value. Later, under a newer ``version``, the kept value and
    the ids of the townships whose version changed since (sorted) go to ``renew(value, stale)``,
    which returns the new value without changing the old one (it is shared with other requests).
    Consistency is that of ``answer``: the versions a value is filed under were read before it, so a
    change in between is read again next time. ``large``: the value is one of the few big ones
    (``LARGE`` of them are kept).
    """
    with _lock:
        kept = _answers.get(key)
        if kept is not None:
            _answers.move_to_end(key)
    if kept is not None and kept[0] == version.versions:
        return kept[1]
    if kept is None:
        value = first()
    else:
        versions, old = kept
        stale = {t for t, v in version.versions.items() if versions.get(t) != v}
        stale |= versions.keys() - version.versions.keys()
        value = renew(old, sorted(stale))
    with _lock:
        _answers[key] = (dict(version.versions), value)
        _answers.move_to_end(key)
        if large:
            _large[key] = True
            _large.move_to_end(key)
            while len(_large) > LARGE:
                _answers.pop(_large.popitem(last=False)[0], None)
        while len(_answers) > SIZE:
            _large.pop(_answers.popitem(last=False)[0], None)
    return value


def per_township(key, version, fetch):
    """``{township_id: value}`` for every township, kept here and renewed township by township.

    The first time, ``fetch(None)`` reads every township. Later, under a newer ``version`` (a
    ``Token``), only the townships whose version changed since are read again, with
    ``fetch(township_ids)``, and the others' values are kept: after one township's change a page
    asks the database about that township, not all of them. A township missing from what ``fetch``
    returns has no value (nothing counted).
    """

    return renewed(key, version, lambda: fetch(None), lambda values, stale: replaced(values, stale, fetch(stale)))


def replaced(values, stale, fresh):
    """A new ``{township_id: value}``: ``values`` without the ``stale`` townships, then ``fresh``."""
    gone = set(stale)
    kept = {t: value for t, value in values.items() if t not in gone}
    kept.update(fresh)
    return kept


def clear():
    with _lock:
        _answers.clear()
        _large.clear()


# --- triggers ----------------------------------------------------------------------------------


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


def _statements(vendor):
    if vendor == "postgresql":
        statements = [f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}", _PG_FUNCTION, _PG_VILLAGE_FUNCTION]
        statements += [
            f"DROP TRIGGER IF EXISTS siwu_version_village ON {UNITS}",
            f"CREATE TRIGGER siwu_version_village AFTER UPDATE ON {UNITS} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION siwu_village_version()",
        ]
        for table in COUNTED:
            statements += statement_triggers("siwu_version", table, "siwu_counts_version")
        return statements
    statements = [
        f"DROP TRIGGER IF EXISTS {UNITS}_version_village",
        f"CREATE TRIGGER {UNITS}_version_village AFTER UPDATE OF village_id ON {UNITS} FOR EACH ROW "
        f"WHEN OLD.village_id IS NOT NEW.village_id BEGIN {_sqlite_bump('NEW')} END",
    ]
    for table in COUNTED:
        for event, body in _SQLITE_EVENTS.items():
            name = f"{table}_version_{event.lower()}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN {body} END",
            ]
    return statements


def install(schema_editor=None):
    conn = schema_editor.connection if schema_editor is not None else connection
    with conn.cursor() as cursor:
        for sql in _statements(conn.vendor):
            cursor.execute(sql)


def uninstall(schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            for table in COUNTED:
                for event, _tables in EVENTS:
                    cursor.execute(f"DROP TRIGGER IF EXISTS siwu_version_{event.lower()} ON {table}")
            cursor.execute(f"DROP TRIGGER IF EXISTS siwu_version_village ON {UNITS}")
            cursor.execute("DROP FUNCTION IF EXISTS siwu_counts_version(), siwu_village_version()")
            cursor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
        else:
            for table in COUNTED:
                for event in _SQLITE_EVENTS:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_version_{event.lower()}")
            cursor.execute(f"DROP TRIGGER IF EXISTS {UNITS}_version_village")
