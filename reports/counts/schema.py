"""The SQL the counts unit expects the database to hold, what differs from it, and what the versions follow.

``declared(vendor)`` reads the declaration (reports/counts/tables.py and versions.py: each CREATE
statement) into its triggers, the trigger functions on PostgreSQL and the sequence the versions
draw from. ``drift(connection)`` compares it with what the database holds — SQLite: the triggers'
rows in sqlite_master, word for word; PostgreSQL: each function's body (``pg_proc.prosrc``) word
for word and each trigger's definition (``pg_get_triggerdef``, with the schema and spacing taken
out) — and lists every trigger, function or sequence missing, extra or different. The
``verify_counts`` command and a system check (``check --database default``) report it.

``uncovered(vendor)`` holds every cached read's declaration (cache.reads) to the triggers: a column
a cached read reads must move its township's version when it changes (on INSERT, on DELETE and on
an UPDATE of that column), through a version trigger on its table or through a trigger that writes
a table whose every change moves the version (the maintained counts). Otherwise the cache could
serve an answer the database no longer gives.
"""

import re
from dataclasses import dataclass

from django.db import connection as default_connection
from django.utils.translation import gettext_lazy

from . import cache, tables, versions

EVENTS = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Function:
    """A PostgreSQL trigger function: ``body`` is what ``pg_proc.prosrc`` holds."""

    name: str
    sql: str
    body: str
    watches: frozenset | None  # on an UPDATE, the columns whose change it acts on (None: any)
    writes: frozenset  # the tables it writes


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    event: str  # INSERT, UPDATE or DELETE
    columns: frozenset | None  # for UPDATE: the columns whose change it acts on (None: any)
    writes: frozenset  # the tables it writes (on PostgreSQL, its function's)
    sql: str  # the CREATE TRIGGER statement
    function: str | None = None  # PostgreSQL: the function it executes


@dataclass(frozen=True)
class Schema:
    vendor: str
    functions: dict  # name -> Function (PostgreSQL)
    triggers: dict  # (table, name) -> Trigger
    sequences: tuple  # names (PostgreSQL)

    @property
    def tables(self):
        """The tables the triggers are on or write: the tables whose triggers are the unit's business."""
        found = set()
        for trigger in self.triggers.values():
            found |= {trigger.table, *trigger.writes}
        return found


# --- the declaration ---------------------------------------------------------------------------

_FUNCTION = re.compile(
    r"\s*CREATE OR REPLACE FUNCTION (\w+)\(\) RETURNS trigger LANGUAGE plpgsql AS \$\$(.*)\$\$;\s*", re.S
)
_TRIGGER = re.compile(r"CREATE TRIGGER (\w+) AFTER (INSERT|UPDATE|DELETE)(?: OF ([\w, ]+?))? ON (\w+) (.*)", re.S)
_SEQUENCE = re.compile(r"CREATE SEQUENCE IF NOT EXISTS (\w+)")
_PG_REST = re.compile(r"REFERENCING .* FOR EACH STATEMENT EXECUTE FUNCTION (\w+)\(\)", re.S)
_SQLITE_REST = re.compile(r"(?:FOR EACH ROW )?(?:WHEN (.*?) )?BEGIN (.*) END", re.S)
_WRITES = re.compile(r"(?:\bINSERT INTO|(?<!\bDO )\bUPDATE) (\w+)")
_CHANGE = re.compile(r"OLD\.(\w+) (?:<>|IS NOT) NEW\.(\w+)")


def _when_columns(clause):
    """The columns whose change a SQLite WHEN clause made only of "OLD.c <> NEW.c" tests, ORed, fires
    on; None without a clause; no column (nothing assumed) for any other clause."""
    if clause is None:
        return None
    found = set()
    for old, new in _CHANGE.findall(clause):
        if old != new:
            return frozenset()
        found.add(old)
    if re.sub(r"\bOR\b|[()\s]", "", _CHANGE.sub("", clause)):
        return frozenset()
    return frozenset(found)


def _meet(*limits):
    """The columns every one of ``limits`` allows (None: no limit)."""
    found = None
    for limit in limits:
        if limit is not None:
            found = frozenset(limit) if found is None else found & frozenset(limit)
    return found


def declared(vendor):
    """The ``Schema`` the counts unit expects on ``vendor`` ("postgresql" or "sqlite")."""
    watches = {**tables.WATCHES, **versions.WATCHES}
    functions, triggers, sequences = {}, {}, []
    for sql in tables.statements(vendor) + versions.statements(vendor):
        if match := _SEQUENCE.fullmatch(sql):
            sequences.append(match[1])
        elif match := _FUNCTION.fullmatch(sql):
            name, body = match[1], match[2]
            # A function with no entry in WATCHES is assumed to act on no column of an update.
            functions[name] = Function(name, sql, body, _meet(watches.get(name, ())), frozenset(_WRITES.findall(body)))
        elif match := _TRIGGER.fullmatch(sql):
            name, event, of, table, rest = match.groups()
            of = None if of is None else frozenset(column.strip() for column in of.split(","))
            if vendor == "postgresql":
                function = functions[_PG_REST.fullmatch(rest)[1]]
                columns, writes, runs = _meet(of, function.watches), function.writes, function.name
            else:
                when, body = _SQLITE_REST.fullmatch(rest).groups()
                columns, writes, runs = _meet(of, _when_columns(when)), frozenset(_WRITES.findall(body)), None
            triggers[table, name] = Trigger(
                name, table, event, columns if event == "UPDATE" else None, writes, sql, runs
            )
        else:
            raise ValueError(f"not a statement the counts unit declares: {sql[:80]}")
    return Schema(vendor, functions, triggers, tuple(sequences))


# --- drift -------------------------------------------------------------------------------------

_MESSAGES = {
    ("missing", "trigger"): gettext_lazy("缺少触发器 %(name)s（表 %(table)s）"),
    ("extra", "trigger"): gettext_lazy("多出未声明的触发器 %(name)s（表 %(table)s）"),
    ("different", "trigger"): gettext_lazy("触发器 %(name)s（表 %(table)s）的定义与声明的不同"),
    ("disabled", "trigger"): gettext_lazy("触发器 %(name)s（表 %(table)s）未启用"),
    ("missing", "function"): gettext_lazy("缺少触发器函数 %(name)s()"),
    ("extra", "function"): gettext_lazy("多出未声明的函数 %(name)s()"),
    ("different", "function"): gettext_lazy("函数 %(name)s() 的内容与声明的不同"),
    ("missing", "sequence"): gettext_lazy("缺少序列 %(name)s"),
}


@dataclass(frozen=True)
class Drift:
    """One way the database differs from the declaration; ``str()`` says it in plain words."""

    kind: str  # missing, extra, different, disabled
    what: str  # trigger, function, sequence
    name: str
    table: str = ""
    held: str | None = None  # what the database holds (different, extra)
    expected: str | None = None  # what is declared (different, missing)

    def __str__(self):
        return str(_MESSAGES[self.kind, self.what]) % {"name": self.name, "table": self.table}


def drift(connection=None):
    """Every trigger, trigger function and sequence of the counts unit that the database behind
    ``connection`` (default: the default database) lacks, holds beyond the declaration, or holds
    otherwise than declared, as ``Drift`` items in a stable order; [] when they agree."""
    connection = connection or default_connection
    expected = declared(connection.vendor)
    if connection.vendor == "postgresql":
        found = _pg_drift(connection, expected)
    else:
        found = _sqlite_drift(connection, expected)
    return sorted(found, key=lambda d: (d.what != "trigger", d.what, d.table, d.name, d.kind))


def _ours(name, expected):
    """Whether an undeclared trigger is named like the unit's own ("siwu_…", or on SQLite
    "<table>_version_…"): other features may keep triggers of their own on the same tables."""
    return name.startswith("siwu_") or any(name.startswith(f"{table}_version_") for table in expected.tables)


def _sqlite_drift(connection, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        held = {name: (table, sql) for name, table, sql in cursor.fetchall()}
    found = []
    for trigger in expected.triggers.values():
        table, sql = held.pop(trigger.name, (None, None))
        if sql is None:
            found.append(Drift("missing", "trigger", trigger.name, trigger.table, expected=trigger.sql))
        elif (table, sql) != (trigger.table, trigger.sql):
            found.append(Drift("different", "trigger", trigger.name, table, held=sql, expected=trigger.sql))
    for name, (table, sql) in held.items():
        if _ours(name, expected):
            found.append(Drift("extra", "trigger", name, table, held=sql))
    return found


def _pg_trigger_text(sql, schema):
    """A trigger's definition with its spacing and the schema's name taken out, to compare."""
    text = " ".join(sql.split()).rstrip(";")
    return re.sub(rf'(?<= )(?:"{re.escape(schema)}"|{re.escape(schema)})\.', "", text)


def _pg_drift(connection, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        cursor.execute(
            "SELECT p.proname, p.prosrc, l.lanname, pg_get_function_result(p.oid), pg_get_function_arguments(p.oid) "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang "
            "WHERE n.nspname = current_schema()"
        )
        functions = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
        )
        triggers = {(table, name): (sql, enabled) for table, name, sql, enabled in cursor.fetchall()}
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
        )
        sequences = {row[0] for row in cursor.fetchall()}
    found = []
    for function in expected.functions.values():
        held = functions.pop(function.name, None)
        if held is None:
            found.append(Drift("missing", "function", function.name, expected=function.body))
        elif held != (function.body, "plpgsql", "trigger", ""):
            found.append(Drift("different", "function", function.name, held=held[0], expected=function.body))
    for name, held in functions.items():
        if name.startswith("siwu_"):
            found.append(Drift("extra", "function", name, held=held[0]))
    for key, trigger in expected.triggers.items():
        sql, enabled = triggers.pop(key, (None, None))
        if sql is None:
            found.append(Drift("missing", "trigger", trigger.name, trigger.table, expected=trigger.sql))
        elif _pg_trigger_text(sql, schema) != _pg_trigger_text(trigger.sql, schema):
            found.append(Drift("different", "trigger", trigger.name, trigger.table, held=sql, expected=trigger.sql))
        elif enabled != "O":  # D: disabled; R, A: fires only, or also, in replication
            found.append(Drift("disabled", "trigger", trigger.name, trigger.table, held=sql, expected=trigger.sql))
    for (table, name), (sql, _enabled) in triggers.items():
        if _ours(name, expected):
            found.append(Drift("extra", "trigger", name, table, held=sql))
    for name in expected.sequences:
        if name not in sequences:
            found.append(Drift("missing", "sequence", name))
    return found


# --- what the versions follow ------------------------------------------------------------------


def _follows(trigger, table, event, column):
    return (
        trigger.table == table
        and trigger.event == event
        and (event != "UPDATE" or trigger.columns is None or column in trigger.columns)
    )


def version_triggers(schema):
    """The triggers of ``schema`` that move a township's version: those writing the versions' table,
    and those writing a table whose every insert, update and delete moves it (the maintained counts)."""
    triggers = list(schema.triggers.values())
    passes = {versions.VERSIONS}
    while True:
        moving = [trigger for trigger in triggers if trigger.writes & passes]
        more = {
            table
            for table in {trigger.table for trigger in triggers} - passes
            # column None: an UPDATE counts only if the trigger acts on an update of any column
            if all(any(_follows(t, table, event, None) for t in moving) for event in EVENTS)
        }
        if not more:
            return moving
        passes |= more


def uncovered(vendor, reads=None):
    """[(read, table, column, [events])]: each column a cached read declares (default: every one in
    ``cache.READS``) that a change on ``events`` would leave with the same versions on ``vendor``.
    A table's primary key is never updated (a new key is a new row), so it needs INSERT and DELETE."""
    moving = version_triggers(declared(vendor))
    found = []
    for read in cache.READS.values() if reads is None else reads:
        for table, columns in sorted(read.columns.items()):
            for column in sorted(columns):
                events = [
                    event
                    for event in EVENTS
                    if not (event == "UPDATE" and column == read.keys.get(table))
                    and not any(_follows(trigger, table, event, column) for trigger in moving)
                ]
                if events:
                    found.append((read.name, table, column, events))
    return found


def explain(problems):
    """``uncovered``'s answer in plain words (for a failing test)."""
    return "\n".join(
        f"{read} reads {table}.{column}, but its {'/'.join(events)} moves no version"
        for read, table, column, events in problems
    )
