"""The unit register's search index (enterprises/search.py, docs/search.md).

PostgreSQL: an immutable function giving the grams of a unit's name, address, credit code and owner
(ASCII letters lowered) as a tsvector, and a GIN index of it. PostgreSQL keeps it itself with
every write. Not a partial index: the planner reads the statistics of an index expression (how
common each gram is) only from an index without a predicate.

SQLite: an FTS5 table of the same grams (as the hex of their UTF-8 bytes) per alive unit, kept by
triggers on the units table in the same transaction as every write (forms, the bulk import's
multi-row INSERT, the audit restore, raw SQL), and a table of character positions (1–1000) the
triggers cut the texts with.

The SQL is literal: exactly what this migration ran when it was written. A change comes with a new
migration.
"""

from django.db import migrations

# The grams of a unit as PostgreSQL indexes them: a tsvector (its lexemes, without positions) of
# the 2-character pieces of its texts, ASCII letters lowered, taken from odd and from even positions
# of the texts joined by U+001F, and split at it (so a piece never spans two texts, and the last
# character of a text is a piece of its own). The owner's pieces are marked with a leading U+001E.
# Both characters are whitespace to str.split(): no search term holds them.
PG_FUNCTION = r"""
CREATE OR REPLACE FUNCTION enterprises_search_grams(name text, address text, credit_code text, owner text)
RETURNS tsvector LANGUAGE sql IMMUTABLE STRICT PARALLEL RESTRICTED COST 250 AS $$
  SELECT array_to_tsvector(array_remove(
       string_to_array(regexp_replace(p, '(..)', E'\\1\x1f', 'g'), E'\x1f')
    || string_to_array(regexp_replace(substr(p, 2), '(..)', E'\\1\x1f', 'g'), E'\x1f')
    || string_to_array(regexp_replace(o, '(..)', E'\x1e\\1\x1f', 'g'), E'\x1f')
    || string_to_array(regexp_replace(substr(o, 2), '(..)', E'\x1e\\1\x1f', 'g'), E'\x1f'),
    ''))
  FROM lower(concat_ws(E'\x1f', name, address, credit_code, '') COLLATE "C") AS p,
       lower(owner || E'\x1f' COLLATE "C") AS o
$$
"""

# The grams of a unit as the FTS5 table holds them: from each position of each (lowered) text, the
# hex of the 2 characters starting there (1 at the last position), separated by spaces.
_SQLITE_PUBLIC = (
    "(SELECT group_concat(hex(substr(t, n, 2)), ' ') FROM (SELECT lower({row}name) AS t "
    "UNION ALL SELECT lower({row}address) UNION ALL SELECT lower({row}credit_code)) "
    "JOIN enterprises_searchposition ON n <= length(t))"
)
_SQLITE_OWNER = (
    "(SELECT group_concat(hex(substr(t, n, 2)), ' ') FROM (SELECT lower({row}owner) AS t) "
    "JOIN enterprises_searchposition ON n <= length(t))"
)
SQLITE_NEW_ROW = (
    "INSERT INTO enterprises_unitsearch (rowid, public, owner) SELECT NEW.id, "
    + _SQLITE_PUBLIC.format(row="NEW.")
    + ", "
    + _SQLITE_OWNER.format(row="NEW.")
    + " WHERE NEW.deleted_at IS NULL;"
)

FORWARD = {
    "postgresql": (
        PG_FUNCTION,
        (
            "CREATE INDEX enterprise_search_idx ON enterprises_enterprise "
            "USING gin (enterprises_search_grams(name, address, credit_code, owner))"
        ),
        # The planner's statistics of the indexed expression (how common each gram is).
        "ANALYZE enterprises_enterprise",
    ),
    "sqlite": (
        "CREATE TABLE enterprises_searchposition (n INTEGER PRIMARY KEY)",
        (
            "INSERT INTO enterprises_searchposition (n) SELECT a.i * 100 + b.i * 10 + c.i + 1 FROM "
            "(SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
            "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS a, "
            "(SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
            "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS b, "
            "(SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
            "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS c"
        ),
        (
            "CREATE VIRTUAL TABLE enterprises_unitsearch USING fts5(public, owner, detail=column, columnsize=0, "
            "tokenize='ascii', prefix='2 6')"
        ),
        (
            "CREATE TRIGGER enterprises_search_insert AFTER INSERT ON enterprises_enterprise "
            f"WHEN NEW.deleted_at IS NULL BEGIN {SQLITE_NEW_ROW} END"
        ),
        (
            "CREATE TRIGGER enterprises_search_update AFTER UPDATE ON enterprises_enterprise "
            "WHEN OLD.name IS NOT NEW.name OR OLD.address IS NOT NEW.address OR OLD.credit_code IS NOT "
            "NEW.credit_code OR OLD.owner IS NOT NEW.owner OR (OLD.deleted_at IS NULL) IS NOT (NEW.deleted_at "
            "IS NULL) OR OLD.id IS NOT NEW.id BEGIN DELETE FROM enterprises_unitsearch WHERE rowid = OLD.id; "
            f"{SQLITE_NEW_ROW} END"
        ),
        (
            "CREATE TRIGGER enterprises_search_delete AFTER DELETE ON enterprises_enterprise "
            "BEGIN DELETE FROM enterprises_unitsearch WHERE rowid = OLD.id; END"
        ),
        (
            "INSERT INTO enterprises_unitsearch (rowid, public, owner) SELECT id, "
            + _SQLITE_PUBLIC.format(row="")
            + ", "
            + _SQLITE_OWNER.format(row="")
            + " FROM enterprises_enterprise WHERE deleted_at IS NULL"
        ),
    ),
}

REVERSE = {
    "postgresql": (
        "DROP INDEX IF EXISTS enterprise_search_idx",
        "DROP FUNCTION IF EXISTS enterprises_search_grams(text, text, text, text)",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS enterprises_search_insert",
        "DROP TRIGGER IF EXISTS enterprises_search_update",
        "DROP TRIGGER IF EXISTS enterprises_search_delete",
        "DROP TABLE IF EXISTS enterprises_unitsearch",
        "DROP TABLE IF EXISTS enterprises_searchposition",
    ),
}


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for sql in statements[schema_editor.connection.vendor]:
            cursor.execute(sql)


def install(apps, schema_editor):
    _run(schema_editor, FORWARD)


def uninstall(apps, schema_editor):
    _run(schema_editor, REVERSE)


class Migration(migrations.Migration):
    dependencies = [
        ("enterprises", "0008_enterprise_unique_identity"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
