"""The unit register's free-text search (搜索), served by an index on both databases (docs/search.md).

What matches (the semantics users know from the register, the same on SQLite and PostgreSQL): the
search text is split on whitespace into terms; every term must occur, as a substring, in the unit's
name, address or credit code (or its owner, for the roles that may search by owner), ignoring the
case of the ASCII letters A–Z and of nothing else; soft-deleted units never match.

How it is served: each text, its ASCII letters lowered, is cut into the 2 characters starting at
each of its positions (1 at its end: 五金厂 gives 五金 金厂 厂), and an inverted index maps each
gram to the units holding it. Every character starts a gram, so a one-character term is a prefix
match on the grams; a two-character term is exactly one gram; a longer term needs every 2-gram of
it (a few suffice: ``query_grams``), which narrows the units to a handful of candidates, and each
candidate is checked against the term itself. One structure serves every term length.

- PostgreSQL: a GIN index on ``enterprises_search_grams(name, address, credit_code, owner)``, a
  tsvector of the grams (the owner's marked with U+001E), whose prefix matches (``'厂':*``) the
  index serves. The function (migration 0009) is immutable: PostgreSQL itself keeps the index with
  every write (COPY, restores, raw SQL included).
- SQLite: an FTS5 table ``enterprises_unitsearch`` with a row per alive unit (rowid = unit id) and
  two columns of grams (public fields, owner), each gram written as the hex of its UTF-8 bytes (so
  no tokenizer rule can split or fold it; UTF-8, and so its hex, is prefix-free). Triggers on the
  units table keep it in the same transaction as every write. FTS5 keeps prefix indexes for one-
  and three-byte characters (ASCII, CJK).

``UnitSearch`` is the condition a queryset filters by, compiled for each vendor.
"""

import json

from django.db import NotSupportedError, connections
from django.db.models import BooleanField, Expression, F

# Names of what migration 0009 installs (kept in step with its literal SQL).
GRAMS_FUNCTION = "enterprises_search_grams"
PG_INDEX = "enterprise_search_idx"
FTS_TABLE = "enterprises_unitsearch"
POSITIONS_TABLE = "enterprises_searchposition"
SQLITE_TRIGGERS = ("enterprises_search_insert", "enterprises_search_update", "enterprises_search_delete")

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
PUBLIC_FIELDS = ("name", "address", "credit_code")
OWNER_FIELD = "owner"
COLUMNS = ("id", "deleted_at", *PUBLIC_FIELDS, OWNER_FIELD)
OWNER_MARK = "\x1e"  # before each of the owner's grams in PostgreSQL's index (whitespace: in no term)


def fold(text):
    """``text`` with the ASCII letters lowered and every other character as it is: what both
    databases compare (SQLite's lower(), PostgreSQL's lower() under the "C" collation)."""
    return str(text).translate(_ASCII_LOWER)


def terms(value):
    """The folded whitespace-separated terms of a search text, each once, in order."""
    return list(dict.fromkeys(fold(term) for term in str(value or "").split()))


def grams(text):
    """The grams the index holds of one text: from each position of the folded text, the 2
    characters starting there (1 at its last position). Every character starts one of them, so a
    one-character term is a prefix match; a two-character term is one of them exactly."""
    folded = fold(text)
    return {folded[i : i + 2] for i in range(len(folded))}


def query_grams(term):
    """The grams a (folded) term is looked up by: itself when it has one or two characters; else
    2-grams that cover it end to end (its 1st, 3rd, 5th … and its last), which every unit holding
    the term holds too. Fewer lists to intersect than all its 2-grams, and as narrowing in practice.

    Grams of digits only ("91", "03") are in most credit codes and addresses: intersecting their long
    lists costs more than they narrow, so they are left out when the term has at least two other
    grams. With fewer (a credit code: "92330381M00500" has only "m0", which nearly every code
    holds), the digits are what tells the units apart, and they stay.
    """
    if len(term) <= 2:
        return [term]
    cover = list(dict.fromkeys([term[i : i + 2] for i in range(0, len(term) - 1, 2)] + [term[-2:]]))
    telling = [gram for gram in cover if not gram.isascii() or not gram.isdigit()]
    return telling if len(telling) >= 2 else cover


def _fts_token(gram):
    """A gram as the FTS5 table holds it, quoted; a one-character gram as a prefix query."""
    token = '"' + gram.encode().hex() + '"'
    return token + " *" if len(gram) == 1 else token


def fts_query(search_terms, *, owner):
    """The FTS5 MATCH text finding the units that hold every gram of every term (in any column searched)."""
    columns = "{public owner}" if owner else "{public}"
    tokens = [_fts_token(gram) for term in search_terms for gram in query_grams(term)]
    return f"{columns} : ({' AND '.join(tokens)})"


def _pg_lexeme(gram, mark=""):
    """A gram as a tsquery operand (quoted); a one-character gram as a prefix match."""
    quoted = "'" + (mark + gram).replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + ":*" if len(gram) == 1 else quoted


def pg_query(search_terms, *, owner):
    """The tsquery finding the units that hold every gram of a term in their name, address and
    credit code (or, with ``owner``, all of them in their owner), for every term."""
    found = []
    for term in search_terms:
        grams = query_grams(term)
        public = " & ".join(_pg_lexeme(gram) for gram in grams)
        if owner:
            public = f"({public}) | ({' & '.join(_pg_lexeme(gram, OWNER_MARK) for gram in grams)})"
        found.append(f"({public})")
    return " & ".join(found)


class UnitSearch(Expression):
    """The condition "every term of ``search_terms`` (folded, see ``terms``) occurs in a searched
    field of the unit, and the unit is alive"; ``owner``: the owner is searched too."""

    def __init__(self, search_terms, *, owner, columns=None):
        super().__init__(output_field=BooleanField())
        self.search_terms = tuple(search_terms)
        self.owner = bool(owner)
        self.fields = PUBLIC_FIELDS + ((OWNER_FIELD,) if self.owner else ())
        self.columns = list(columns) if columns is not None else [F(name) for name in COLUMNS]

    def __repr__(self):
        return f"{self.__class__.__name__}({self.search_terms!r}, owner={self.owner})"

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, exprs):
        self.columns = list(exprs)

    def _compiled(self, compiler):
        """{column name: its SQL} (columns carry no parameters)."""
        return {name: compiler.compile(column)[0] for name, column in zip(COLUMNS, self.columns, strict=True)}

    def as_sql(self, compiler, connection):
        raise NotSupportedError(f"the unit search is served on SQLite and PostgreSQL, not on {connection.vendor}")

    def as_sqlite(self, compiler, connection):
        col = self._compiled(compiler)
        parts = [
            f"{col['deleted_at']} IS NULL",
            f"{col['id']} IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)",  # nosec B608  # constants
        ]
        params = [fts_query(self.search_terms, owner=self.owner)]
        for term in self.search_terms:
            if len(term) > 2:  # the grams only narrow it down: check the term itself
                # SQLite's LIKE ignores the case of ASCII letters only: the rule, without lower()'s copies.
                pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                parts.append("(" + " OR ".join(f"{col[f]} LIKE %s ESCAPE '\\'" for f in self.fields) + ")")
                params += [pattern] * len(self.fields)
        return "(" + " AND ".join(parts) + ")", params

    def as_postgresql(self, compiler, connection):
        col = self._compiled(compiler)
        grams = f"{GRAMS_FUNCTION}({', '.join(col[f] for f in (*PUBLIC_FIELDS, OWNER_FIELD))})"
        parts = [f"{col['deleted_at']} IS NULL", f"{grams} @@ %s::tsquery"]
        params = [pg_query(self.search_terms, owner=self.owner)]
        for term in self.search_terms:
            # The term itself, checked on every row the index finds (which it decides for terms of
            # one or two characters already): cheap, so the planner tests it before the grams when
            # it walks the register in its order instead.
            parts.append("(" + " OR ".join(f'strpos(lower({col[f]} COLLATE "C"), %s) > 0' for f in self.fields) + ")")
            params += [term] * len(self.fields)
        return "(" + " AND ".join(parts) + ")", params


# At most this many units expected of a search are handed to the register's query by their ids.
FEW = 5000


def narrowed(queryset, search_terms, *, owner):
    """``queryset`` narrowed to the units every term of ``search_terms`` occurs in (``UnitSearch``).

    On PostgreSQL, for a search the planner expects in at most ``FEW`` units, the units are first
    looked up by the index alone (without the register's order) and the register's query takes
    them by their ids. Given the condition itself, the planner walks the register in its order
    testing every unit until it has a page, which for a term found in few units or none reads the
    whole register: seconds at a million units, for a search that finds nothing. A search expected
    in more units is served that way: a page of them is near the start of the register.
    """
    condition = UnitSearch(search_terms, owner=owner)
    if connections[queryset.db].vendor == "postgresql":
        found = (
            queryset.model._base_manager.using(queryset.db).filter(condition).order_by().values_list("pk", flat=True)
        )
        if _expected_rows(found) <= FEW:
            ids = list(found[: FEW * 10 + 1])
            if len(ids) <= FEW * 10:  # else the estimate was far off: a common term after all
                return queryset.filter(pk__in=ids)
    return queryset.filter(condition)


def _expected_rows(queryset):
    """The PostgreSQL planner's estimate of the rows of ``queryset`` (one EXPLAIN, nothing run)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan  # psycopg decodes json itself
    return plan[0]["Plan"]["Plan Rows"]
