"""Fast bulk writes: new rows by COPY (PostgreSQL) or multi-row INSERT … RETURNING (``insert_rows``),
changed rows by a statement per set of columns (``update_rows``), and their history rows by one
INSERT … SELECT (``record_history``), stamped with who, when and why (``Stamp``).

The screening-list import writes through here, and so does the benchmark city (demo/benchmark.py).
"""

import datetime
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple

from django.db import connection, models
from django.db.models import F
from django.utils import timezone

from core.history import fill_audit_fields

from .queries import _among, _chunks, _pg_array

BATCH = 1000
ANALYZE_AFTER = 10_000  # rows written at once after which the database's statistics are refreshed


class Stamp(NamedTuple):
    """Who and when, for the created_by/updated_at columns and the history records."""

    user_id: int | None
    when: datetime.datetime
    reason: str


# Django's bulk_create spends about 100 µs per unit preparing its values (over 5 s for a
# 50,000-row list) and bulk_update builds a CASE expression per object and field (about 45 s for
# 50,000 units). The values here are checked and typed already, so they go to the driver as they
# are: only dates, times and decimals pass through the field's own conversion.
_AS_IS = frozenset({"CharField", "TextField", "BooleanField", "ForeignKey", "IntegerField", "PositiveIntegerField"})


def _converter(model_field: models.Field) -> Callable[[Any], Any] | None:
    if model_field.get_internal_type() in _AS_IS:
        return None
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value not in cache:
            cache[value] = model_field.get_db_prep_save(value, connection)
        return cache[value]

    return convert


def insert_rows(model: type[models.Model], names: tuple[str, ...], rows: list[tuple]) -> list[int]:
    """INSERT ``rows`` (values of the fields ``names``, by attname) and return the new ids in order.

    Fields left out get their (static) defaults, so a field added to the model later does not break this.
    """
    return _insert_columns(model, names, list(zip(*rows, strict=True)) if rows else [])


def _insert_columns(model: type[models.Model], names: tuple[str, ...], columns: list[Sequence]) -> list[int]:
    """``insert_rows`` of rows given as ``columns``: one sequence of values per field of ``names``, all
    of one length. The import builds its rows a column at a time, and COPY formats them so."""
    count = len(columns[0]) if columns else 0
    if not count:
        return []
    given = set(names)
    # Fields left out take their defaults; a nullable one without a default is left to the database,
    # which makes it NULL all the same, so that a wider model does not make the statements narrower.
    rest = [
        f
        for f in model._meta.concrete_fields
        if f.attname not in given and not f.primary_key and not (f.null and not f.has_default())
    ]
    fields = [model._meta.get_field(name) for name in names] + rest
    now = timezone.now()
    defaults = [
        now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default() for f in rest
    ]
    columns = [*columns, *([default] * count for default in defaults)]
    if connection.vendor == "postgresql" and connection.features.can_return_rows_from_bulk_insert and _copy_supported():
        return _copy(model, fields, columns)
    rows = list(zip(*columns, strict=True))
    if not connection.features.can_return_rows_from_bulk_insert:
        objects = [model(**dict(zip((f.attname for f in fields), row))) for row in rows]
        return [obj.pk for obj in model.objects.bulk_create(objects, batch_size=BATCH)]
    converters = [_converter(f) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(BATCH, (connection.features.max_query_params or 65535) // len(fields)))
    ids = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params = [
                value if convert is None else convert(value) for row in batch for value, convert in zip(row, converters)
            ]
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([placeholder] * len(batch))} "  # nosec B608  # identifiers quoted from _meta; values are parameters
                f"RETURNING {quote(model._meta.pk.column)}",
                params,
            )
            ids.extend(pk for (pk,) in cursor.fetchall())
        if len(ids) >= ANALYZE_AFTER:
            refresh_statistics(cursor, model._meta.db_table)
    return ids


def refresh_statistics(cursor, table: str) -> None:
    """Have the database's planner see ``table`` as it now is (ANALYZE; it counts this transaction's
    rows). SQLite without statistics reads the register's partial index for every filter it cannot
    use, one table lookup per unit, at ten times the cost of reading the table; with them it reads
    the table (docs/performance.md, "Register")."""
    cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _copy_supported() -> bool:
    try:
        import psycopg2  # noqa: F401
    except ImportError:  # psycopg 3: the multi-row INSERT path
        return False
    return True


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_formatter(model_field: models.Field) -> Callable[[Any], str]:
    """How one column's values are written in PostgreSQL's COPY text format (NULL is \\N)."""
    kind = model_field.get_internal_type()
    if kind == "BooleanField":
        return {True: "t", False: "f", None: "\\N"}.__getitem__
    if kind in ("CharField", "TextField"):

        def text(value: Any) -> str:
            if value is None:
                return "\\N"
            return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value

        return text

    def other(value: Any) -> str:  # numbers, dates, times (ISO 8601 with its offset), decimals
        if value is None:
            return "\\N"
        return value.isoformat() if isinstance(value, datetime.date) else str(value)

    return other


def _copy_column(model_field: models.Field, values: tuple) -> list[str] | tuple:
    """One column's values in COPY text format, the column at a time.

    Most columns repeat a few values (a township, a date, 是/否, the import's time): each distinct
    value is formatted once. Text that needs no escaping (nearly all) is used as it is, and ids as
    ``str`` makes them; the rest goes value by value through ``_copy_formatter``.
    """
    write = _copy_formatter(model_field)
    distinct = dict.fromkeys(values)
    text = model_field.get_internal_type() in ("CharField", "TextField")
    if text and None not in distinct and not _COPY_SPECIAL.search("".join(distinct)):
        return values
    if not text and all(type(value) is int for value in distinct):  # ids: no NULL, no bool
        return list(map(str, values))
    formatted = {value: write(value) for value in distinct}
    return list(map(formatted.__getitem__, values))


class _CopySource:
    """A file-like object that PostgreSQL's COPY reads lines from, a block of rows at a time.

    The rows are formatted as the driver asks for them, so the server stores one block while the
    next is being joined, and no copy of the whole table is ever held as one string.
    """

    def __init__(self, lines: Iterator[str], rows_per_block: int = 2000):
        self.lines, self.rows_per_block = lines, rows_per_block

    def read(self, _size: int = -1) -> str:
        block = list(itertools.islice(self.lines, self.rows_per_block))
        return "\n".join(block) + "\n" if block else ""


def _copy(model: type[models.Model], fields: list[models.Field], columns: list[Sequence]) -> list[int]:
    """PostgreSQL: draw the ids from the table's sequence, then COPY the rows in with them.

    COPY moves 50,000 units in a fraction of the time of multi-row INSERTs, whose parameters
    psycopg2 quotes one by one on the client. The ids come from the same sequence an INSERT would
    use, so they are as unique and as ordered as INSERT … RETURNING's.
    """
    quote = connection.ops.quote_name
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        # The sequence is looked up once (a materialized CTE): pg_get_serial_sequence() called per
        # row is a catalogue scan each time, ten times the cost of the 50,000 nextval() themselves.
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS sequence) "
            "SELECT nextval(s.sequence) FROM s, generate_series(1, %s)",
            [table, pk, len(columns[0])],
        )
        ids = [pk_value for (pk_value,) in cursor.fetchall()]
        names = ", ".join([quote(pk)] + [quote(f.column) for f in fields])
        formatted = [list(map(str, ids))]
        formatted += [_copy_column(f, values) for f, values in zip(fields, columns, strict=True)]
        source = _CopySource(map("\t".join, zip(*formatted)))
        # The driver's own cursor: its errors (a unique constraint refusing a row) are wrapped as
        # Django's, so that apply() tells the user instead of failing the request.
        with connection.wrap_database_errors:
            cursor.cursor.copy_expert(f"COPY {quote(table)} ({names}) FROM STDIN", source, size=1 << 16)
        if len(ids) >= ANALYZE_AFTER:
            # A city's first list can be most of the table: refresh the planner's statistics so that
            # the register's pages are planned for the table as it now is, also where autovacuum is off.
            refresh_statistics(cursor, table)
    return ids


def update_rows(model: type[models.Model], changes: list[tuple[int, dict[str, Any]]], increment: str = "") -> None:
    """Write each row's changed columns, each row once: ``[(pk, {attname: value, …}), …]``.

    PostgreSQL: one UPDATE … FROM unnest(arrays) per set of columns changed, every row's own
    values in the arrays. Its count tables are kept by statement-level triggers, which run once
    per statement: 16,000 phones changed one UPDATE each took 10 s, as one statement a fraction.
    Elsewhere rows changed alike (a status, 是/否, a date) share one UPDATE … WHERE id IN (…); the
    others, a statement each, go through one executemany per set of columns. ``increment`` names
    a counter column to add one to in the same statements.
    """
    if connection.vendor == "postgresql":
        by_columns: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for row_id, values in changes:
            by_columns[tuple(sorted(values))].append((row_id, values))
        for attnames, rows in by_columns.items():
            _update_from_arrays(model, attnames, rows, increment)
        return
    alike: dict[frozenset, list[int]] = defaultdict(list)
    for row_id, values in changes:
        alike[frozenset(values.items())].append(row_id)
    singles: dict[tuple[str, ...], list[list]] = defaultdict(list)
    for key, ids in alike.items():
        values = {model._meta.get_field(attname): value for attname, value in key}
        if len(ids) == 1:
            fields = tuple(sorted(values, key=lambda f: f.column))
            singles[tuple(f.attname for f in fields)].append(
                [f.get_db_prep_save(values[f], connection) for f in fields] + ids
            )
            continue
        bump = {increment: F(increment) + 1} if increment else {}
        for rows in _among(model.objects.all(), model._meta.pk.name, ids):
            rows.update(**{f.name: value for f, value in values.items()}, **bump)
    quote = connection.ops.quote_name
    for attnames, params in singles.items():
        columns = ", ".join(f"{quote(model._meta.get_field(name).column)} = %s" for name in attnames)
        if increment:
            column = quote(model._meta.get_field(increment).column)
            columns += f", {column} = {column} + 1"
        sql = f"UPDATE {quote(model._meta.db_table)} SET {columns} WHERE {quote(model._meta.pk.column)} = %s"  # nosec B608  # identifiers quoted from _meta; values are parameters
        with connection.cursor() as cursor:
            _executemany(cursor, sql, params)


def _update_from_arrays(
    model: type[models.Model], attnames: tuple[str, ...], rows: list[tuple[int, dict[str, Any]]], increment: str
) -> None:
    """PostgreSQL: UPDATE the columns ``attnames`` of ``rows`` ([(pk, {attname: value})]) in one statement."""
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in attnames]
    ids, kind = _pg_array([row_id for row_id, _changed in rows])
    arrays, params = [f"%s::{kind}"], [ids]
    for f in fields:
        values = [f.get_db_prep_save(changed[f.attname], connection) for _row_id, changed in rows]
        arrays.append(f"%s::{_pg_type(f)}[]")
        params.append(_pg_array(values, text=True)[0])
    names = [f"c{i}" for i in range(len(fields))]
    sets = [f"{quote(f.column)} = v.{name}" for f, name in zip(fields, names, strict=True)]
    if increment:
        counter = quote(model._meta.get_field(increment).column)
        sets.append(f"{counter} = t.{counter} + 1")
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS t SET {', '.join(sets)} "  # nosec B608  # identifiers quoted from _meta; values are parameters
        f"FROM unnest({', '.join(arrays)}) AS v(id, {', '.join(names)}) WHERE t.{quote(model._meta.pk.column)} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _pg_type(model_field: models.Field) -> str:
    """The column's type without its length or precision: varchar(64) → varchar, numeric(12, 2) → numeric.

    An array cast to varchar(64)[] would cut longer text silently; to varchar, the column refuses it.
    """
    return re.sub(r"\s*\(.*\)$", "", model_field.db_type(connection))


def _executemany(cursor, sql: str, params: list[list]) -> None:
    if connection.vendor == "postgresql":
        try:
            from psycopg2.extras import execute_batch
        except ImportError:  # psycopg 3 pipelines executemany by itself
            pass
        else:
            # psycopg2's executemany is a round trip per row; execute_batch sends pages of them.
            execute_batch(cursor.cursor, sql, params, page_size=500)
            return
    cursor.executemany(sql, params)


def record_history(model: type[models.Model], ids: list[int], history_type: str, stamp: Stamp) -> None:
    """Copy rows ``ids`` of ``model`` into its history table (django-simple-history), as save() would.

    One INSERT … SELECT per chunk: the historical row is the row as written, plus who, when, why,
    and the request's address and id when there is a request (the web upload).
    """
    if not ids:
        return
    history = model.history.model
    audit = SimpleNamespace(ip_address=None, request_id="")
    fill_audit_fields(sender=history, history_instance=audit)
    extra = {
        "history_date": stamp.when,
        "history_type": history_type,
        "history_user": stamp.user_id,
        "history_change_reason": stamp.reason,
        "ip_address": audit.ip_address,
        "request_id": audit.request_id,
    }
    own = {f.name for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    columns, selected, params = [], [], []
    for f in history._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(quote(f.column))
        if f.name in own:
            selected.append("s." + quote(model._meta.get_field(f.name).column))
        else:
            selected.append("%s")
            params.append(f.get_db_prep_save(extra[f.name] if f.name in extra else f.get_default(), connection))
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(columns)}) "  # nosec B608  # identifiers quoted from _meta; values are parameters
        f"SELECT {', '.join(selected)} FROM {quote(model._meta.db_table)} s WHERE s.{quote(model._meta.pk.column)} IN "
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, the ids as one array, joined (an index probe per id) rather than tested
            # with = ANY, which a table whose statistics still say "empty" would scan once per id.
            head, _where = sql.split(" WHERE ", 1)
            cursor.execute(
                head + f" JOIN unnest(%s::bigint[]) AS wanted(id) ON s.{quote(model._meta.pk.column)} = wanted.id",
                [*params, _pg_array(ids)[0]],
            )
            return
        for chunk in _chunks(ids):
            cursor.execute(sql + "(" + ", ".join(["%s"] * len(chunk)) + ")", params + chunk)
