"""A cache of the count queries, keyed on versions the database keeps (reports/counts/versions.py).

The figures of a report page come from a few grouped queries over the maintained count tables
(reports/counts/tables.py) and the findings. Their answer changes only when those tables change,
and every change sets its township's ``CountsVersion`` to a value never used before, in the same
transaction. So the answer to a query can be kept under (the query's arguments, every township's
version): a later request that reads the same versions gets the same rows without asking the
database, and a request made after any change reads new versions and asks again. Nothing expires
by time and nothing needs to be invalidated by hand; a rolled-back change leaves versions that
never occur again.

That holds only for what the version triggers follow. So every cached read declares the tables
and columns its query reads (``reads``): the cache refuses a read without a declaration, and a
test (tests/reports/test_counts_unit.py) holds every declared column to a trigger that moves the
versions when it changes (``reports.counts.uncovered``).

Consistency: the versions are read before the counts. A change committed between the two reads is
in the answer but not in the key it is filed under; the first request after the commit reads the
new versions, misses, and asks again, so the worst case is one query too many, never a stale page.

Figures read per township (the ranking's counts, the overdue findings per township) are renewed
township by township (``per_township``): after a change in one township, the next page asks the
database about that township only. What is read of one township alone (a township page's series,
villages and overdue list) is keyed on that township's version only (``Token.of``).

The cache lives in each server process (a bounded LRU of ``SIZE`` answers, a few KB each): several
gunicorn workers or hosts each keep their own, and are each right for the same reason.
"""

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from reports.models import CountsVersion

SIZE = 128
# Of those, at most this many large ones (``renewed(…, large=True)``: a campaign's day-by-day counts
# kept township by township, and the city's sum of them, some MB at a million units); the least
# recently used goes first.
LARGE = 4

_answers = OrderedDict()
_large = OrderedDict()  # the keys of the large answers in _answers, least recently used first
_lock = threading.Lock()


# --- what a cached read reads ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Reads:
    """The declaration of one cached read: the columns its query reads, {table: frozenset(columns)},
    and each table's primary key (a row's key never changes: a new key is a new row)."""

    name: str
    columns: dict
    keys: dict

    def __repr__(self):
        return f"Reads({self.name!r})"


READS = {}  # name -> Reads: every cached read of the code, as declared


def reads(name, *sources):
    """Declare a cached read named ``name``: ``sources`` are ``(model, field name, …)`` tuples naming
    what its query reads (``"pk"`` for the primary key). Returns the declaration that the cache
    functions below take as their first argument."""
    if name in READS:
        raise ValueError(f"a cached read named {name!r} is declared already")
    columns, keys = {}, {}
    for model, *fields in sources:
        table = model._meta.db_table
        named = columns.setdefault(table, set())
        for field in fields:
            named.add((model._meta.pk if field == "pk" else model._meta.get_field(field)).column)
        keys[table] = model._meta.pk.column
    declared = Reads(name, {table: frozenset(found) for table, found in columns.items()}, keys)
    READS[name] = declared
    return declared


def _declared(reads):
    if not isinstance(reads, Reads) or READS.get(reads.name) is not reads:
        raise TypeError("a cached read must first declare what it reads: reports.counts.reads(name, (model, …), …)")
    return reads.name


# --- the versions --------------------------------------------------------------------------------


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


# --- the cache -----------------------------------------------------------------------------------


def rows(reads, key, fetch):
    """``list(fetch())``, or the list it gave before for the same ``key`` (which holds a token)."""
    return answer(reads, key, lambda: list(fetch()))


def answer(reads, key, compute):
    """``compute()``, or what it returned before for the same ``key`` (which holds a token).

    ``reads``: the read's declaration (``reads(…)``); its name is part of the key. What is kept is
    shared by every later request with the same key: callers treat it as read-only.
    """
    key = (_declared(reads), *key)
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


def renewed(reads, key, version, first, renew, *, large=False):
    """A value kept under ``version`` (a ``Token``) and renewed from the townships whose version moved.

    The first time, ``first()`` makes the value. Later, under a newer ``version``, the kept value and
    the ids of the townships whose version changed since (sorted) go to ``renew(value, stale)``,
    which returns the new value without changing the old one (it is shared with other requests).
    Consistency is that of ``answer``: the versions a value is filed under were read before it, so a
    change in between is read again next time. ``large``: the value is one of the few big ones
    (``LARGE`` of them are kept).
    """
    key = (_declared(reads), *key)
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


def per_township(reads, key, version, fetch, *, large=False):
    """``{township_id: value}`` for every township, kept here and renewed township by township.

    The first time, ``fetch(None)`` reads every township. Later, under a newer ``version`` (a
    ``Token``), only the townships whose version changed since are read again, with
    ``fetch(township_ids)``, and the others' values are kept: after one township's change a page
    asks the database about that township, not all of them. A township missing from what ``fetch``
    returns has no value (nothing counted). ``large``: as for ``renewed``.
    """

    return renewed(
        reads,
        key,
        version,
        lambda: fetch(None),
        lambda values, stale: replaced(values, stale, fetch(stale)),
        large=large,
    )


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
