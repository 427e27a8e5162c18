"""Hostile query parameters on every page the project serves: a 400, a 404 or a fallback, never a 500.

The test walks every URL pattern (the permission matrix's walk, with its real ids of township A's
objects, tests/access/test_matrix.py) and, for each role whose GET the page's declared policy
admits, first asks the page once to learn which query parameters it reads: a stand-in for
``request.GET`` notes every name the request asks for (present or not), and a page that reads the
whole query (a filter form, the picker that carries other parameters along) gets every name of
``CANDIDATES`` (the shared ones, every FilterSet field and a few unknown names). Then it sends the
page's parameters hostile values. For the city admin (who reaches every view), township A's staff
(the scoped paths) and anonymous visitors of a public page, in a Latin square: in request k
parameter i has value ``HOSTILE[(i + k) % n]``, so in n requests each parameter meets each value
once, beside different values of the others; for the other roles, the ``NASTIEST`` values in every
parameter at once. Path parameters get hostile values too (ids beyond any integer, strings for the
``str`` converters). A page that reads no parameter gets one request with unknown names. A failing
request is then sent again parameter by parameter, so that the failure names its parameter.

A NUL byte in a query's text is a 500 on PostgreSQL and not on SQLite: on SQLite the walk refuses
such a query the way PostgreSQL does (``refuse_nul_as_postgresql_does``), so both find it.
"""

import re
from urllib.parse import quote

import django_filters
import pytest
from django.core.handlers.wsgi import WSGIRequest, get_bytes_from_wsgi
from django.db import connection, transaction
from django.http import QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property

import enterprises.filtersets
import inspections.filters
from core.access import PUBLIC, policy_of, role_of
from tests.access.test_matrix import ARGS, EXEMPT_NAMESPACES, QUERY, url_patterns


@pytest.fixture
def world(world_of_module):
    """The access world built once for the module, each test's writes rolled back (tests/access/conftest.py)."""
    return world_of_module


# Query-string values, percent-encoded as a URL carries them.
HOSTILE = (
    "%00",  # NUL: PostgreSQL refuses it in any string literal
    "a%00b",
    "x" * 5000,  # longer than any field
    "1e309",  # a float that overflows to inf
    "-1",
    "9" * 40,  # beyond any database integer
    "2018-02-30",  # a day that does not exist
    quote("' OR 1=1 --"),
    quote("<script>alert(1)</script>"),
    "%ff%fe",  # not UTF-8
)
# Path parameters: what each converter lets through to the view.
HOSTILE_PATH = {
    "int": ("0", "9" * 40),
    "slug": ("x" * 300, "9" * 40),
    "str": ("\x00", "x" * 300, "' OR 1=1 --", "<script>"),
    "path": ("\x00", "x" * 300),
}
SHARED = (
    "campaign",
    "as_of",
    "page",
    "cursor",
    "q",
    "township",
    "village",
    "status",
    "date",
    "start",
    "end",
    "result",
    "assignment",
    "notice",
    "kind",
    "state",
    "model",
    "pk",
    "role",
    "next",
    "language",
    "fmt",
)
UNKNOWN = ("zzz", "id", "sort", "township[]", "\x00", "页")
NASTIEST = ("%00", "9" * 40, "x" * 5000)
SIGNED_IN = ("admin", "staff_a", "staff_b", "inspector", "viewer")
FULL_SQUARE = {"anon", "admin", "staff_a"}
ALL = "*"  # noted when a request reads the whole query


def _filterset_fields():
    """Every field of every FilterSet of the project (the unit register's, the inspections')."""
    assert enterprises.filtersets and inspections.filters  # imported for their FilterSets
    seen, stack = set(), list(django_filters.FilterSet.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {"enterprises", "inspections", "campaign", "reports"}:
            seen.update(cls.base_filters)
    return seen


CANDIDATES = tuple(sorted(set(SHARED) | _filterset_fields() | set(UNKNOWN)))


class NotingQueryDict(QueryDict):
    """``request.GET`` that notes the names a request asks for, and ``ALL`` when it reads them all."""

    noted = None

    def _note(self, key):
        if self.noted is not None:
            self.noted.add(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def getlist(self, key, default=None):
        self._note(key)
        return super().getlist(key, default)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def __iter__(self):
        self._note(ALL)
        return super().__iter__()

    def items(self):
        self._note(ALL)
        return super().items()

    def lists(self):
        self._note(ALL)
        return super().lists()

    def values(self):
        self._note(ALL)
        return super().values()

    def dict(self):
        self._note(ALL)
        return super().dict()

    def copy(self):
        self._note(ALL)
        return super().copy()

    def urlencode(self, safe=None):
        self._note(ALL)
        return super().urlencode(safe)


@pytest.fixture
def noting(monkeypatch):
    """While active, every request's ``GET`` notes into the returned set."""
    noted = set()

    def get(request):
        query = NotingQueryDict(get_bytes_from_wsgi(request.environ, "QUERY_STRING", ""), encoding=request._encoding)
        query.noted = noted
        return query

    prop = cached_property(get)
    prop.__set_name__(WSGIRequest, "GET")
    monkeypatch.setattr(WSGIRequest, "GET", prop)
    return noted


def refuse_nul_as_postgresql_does(execute, sql, params, many, context):
    """A query given text with a NUL byte fails on SQLite too, as it does on PostgreSQL (psycopg
    refuses it), so that the walk finds such a page on either database."""
    rows = params if many else [params]
    for row in rows:
        values = row.values() if isinstance(row, dict) else (row or ())
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
    return execute(sql, params, many, context)


@pytest.fixture
def fuzz_world(world, monkeypatch):
    # The notice files' bytes and the chart's pixels are not what is tested here (the matrix stands
    # the files in the same way); drawing them would cost most of the walk's time.
    monkeypatch.setattr("reports.notices.content.render", lambda content, fmt: f"{fmt} of the fuzz test".encode())
    monkeypatch.setattr("reports.notices.chart.render_png", lambda chart, title="": b"PNG of the fuzz test")
    for client in world.clients.values():
        client.raise_request_exception = False  # a 500 is an answer to count, not an exception
    with connection.execute_wrapper(refuse_nul_as_postgresql_does):
        yield world


def pages():
    """(name, pattern) of every URL pattern outside the exempt admin site."""
    return [
        (name, pattern)
        for name, namespaces, pattern in url_patterns()
        if name is not None and not set(namespaces) & EXEMPT_NAMESPACES
    ]


def _kwargs(world, name):
    args = ARGS.get(name, {})
    return dict(args(world) if callable(args) else args)


def _baseline(name):
    """The page's own good query (the matrix's), as (name, value) pairs."""
    return [tuple(pair.split("=", 1)) for pair in QUERY.get(name, "").lstrip("?").split("&") if pair]


def _query(pairs):
    return "?" + "&".join(f"{key}={value}" for key, value in pairs)


def _short(url):
    """``url`` with its long values cut, for a readable failure message."""
    return re.sub(r"([^=&?/]{40})[^=&?/]+", lambda m: f"{m.group(1)}…", url)


def _culprits(client, url, name):
    """(parameter, value, error) of each parameter of a failing request that fails alone (beside
    the page's own good query)."""
    path, _sep, query = url.partition("?")
    baseline = _baseline(name)
    found = []
    for pair in query.split("&"):
        key, _eq, value = pair.partition("=")
        kept = [(k, v) for k, v in baseline if k != key]
        response = _get(client, path + _query([*kept, (key, value)]))
        if response.status_code >= 500:
            error = getattr(response, "exc_info", None)
            found.append((key, value, repr(error[1]) if error else "?"))
    return found


def _get(client, url):
    """One GET in its own savepoint, undone after (a failed statement cannot spoil the next request)."""
    with transaction.atomic():
        response = client.get(url)
        transaction.set_rollback(True)
    return response


def _readers(world, pattern):
    """The roles whose GET the page's policy admits (others never reach the view), anonymous
    visitors first on a public page."""
    policy = policy_of(pattern.callback)
    if policy == PUBLIC:
        return ["anon", *SIGNED_IN]
    roles = (policy or {}).get("GET", ())
    return [who for who in SIGNED_IN if role_of(world.users[who]) in roles]


def _rows(who, names):
    """The hostile queries for one role: the whole Latin square for the roles whose paths differ
    most (the city admin reaches every view, township A's staff the scoped paths, anyone a public
    page); for the others the nastiest values in every parameter at once."""
    if who in FULL_SQUARE:
        for k in range(len(HOSTILE)):
            yield [(quote(key), HOSTILE[(i + k) % len(HOSTILE)]) for i, key in enumerate(names)]
    else:
        for value in NASTIEST:
            yield [(quote(key), value) for key in names]


def _requests(world, noted, name, pattern):
    """(role, url) of every hostile request for one page."""
    try:
        path = reverse(name, kwargs=_kwargs(world, name))
    except NoReverseMatch:
        pytest.fail(f"{name} takes path parameters: give them real ids in ARGS of tests/access/test_matrix.py")
    baseline = _baseline(name)
    for who in _readers(world, pattern):
        # What the page reads: asked once with every candidate present (so forms bind) and harmless.
        noted.clear()
        taken = {key for key, _value in baseline}
        _get(world.clients[who], path + _query(baseline + [(quote(key), "") for key in CANDIDATES if key not in taken]))
        read = set(CANDIDATES) | noted if ALL in noted else set(noted)
        read.discard(ALL)
        names = sorted(read)
        if not names:
            yield who, path + _query([(quote(key), HOSTILE[0]) for key in UNKNOWN])
            continue
        kept = [(key, value) for key, value in baseline if key not in read]
        for pairs in _rows(who, names):
            yield who, path + _query(kept + pairs)
    # Path parameters: each in turn, with the others real, as the first role the page admits.
    who = next(iter(_readers(world, pattern)), None)
    if who is None:
        return
    kwargs = _kwargs(world, name)
    converters = pattern.pattern.converters
    for param, converter in converters.items():
        kind = {"IntConverter": "int", "SlugConverter": "slug", "PathConverter": "path"}.get(
            type(converter).__name__, "str"
        )
        for value in HOSTILE_PATH[kind]:
            try:
                url = reverse(name, kwargs={**kwargs, param: value})
            except NoReverseMatch:
                continue
            yield who, url + _query(baseline)


def test_no_query_parameter_makes_any_page_fail(fuzz_world, noting):
    world = fuzz_world
    failures, sent = [], 0
    for name, pattern in pages():
        for who, url in _requests(world, noting, name, pattern):
            response = _get(world.clients[who], url)
            sent += 1
            if response.status_code < 500:
                continue
            culprits = _culprits(world.clients[who], url, name)
            told = "; ".join(f"{key}={_short(value)} ({error})" for key, value, error in culprits)
            failures.append(f"{who} GET {_short(url.partition('?')[0])}: {told or 'only together: ' + _short(url)}")
    assert sent > 1000, sent  # the walk reached the pages: a broken walk must not pass quietly
    assert failures == [], "\n".join(failures[:40])


@pytest.mark.parametrize("key", ["township", "village"])
@pytest.mark.parametrize("name", ["enterprises:list", "enterprises:export", "enterprises:export_csv"])
def test_an_id_beyond_any_database_integer_is_no_500_on_either_database(fuzz_world, name, key):
    # SQLite's driver raised OverflowError on such a number in the register's choice filters.
    response = _get(fuzz_world.clients["admin"], reverse(name) + _query([(key, "9" * 40)]))
    assert response.status_code < 500


def test_the_walk_learns_the_parameters_a_page_reads(fuzz_world, noting):
    """The walk finds the parameters pages read: named ones, and the whole query of a filter form."""
    world = fuzz_world
    found = {}
    for name in ("reports:dashboard", "inspections:findings", "enterprises:list", "notices:preview"):
        noting.clear()
        _get(world.clients["admin"], reverse(name) + _query([(key, "") for key in CANDIDATES]))
        found[name] = set(noting)
    assert {"campaign", "as_of", "township"} <= found["reports:dashboard"]
    assert {"q", "township", "state", "overdue", "page"} <= found["inspections:findings"]
    assert ALL in found["enterprises:list"]
    assert {"campaign", "as_of"} <= found["notices:preview"]


# --- what a reader sees instead -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["%00", "a%00b", "x" * 5000, "%ff%fe", "c 2018"])
def test_a_malformed_campaign_shows_the_current_campaign_with_a_message(fuzz_world, value):
    response = _get(fuzz_world.clients["staff_a"], reverse("reports:dashboard") + f"?campaign={value}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "整治行动代号无效，已显示当前整治行动。" in page
    assert fuzz_world.campaign.name in page


def test_a_malformed_date_is_quoted_printable_and_short_in_its_message(fuzz_world):
    response = _get(fuzz_world.clients["staff_a"], reverse("reports:dashboard") + "?as_of=2018-0%006-30" + "9" * 500)
    page = response.content.decode()
    assert response.status_code == 200
    assert "日期“2018-06-30" + "9" * 30 + "…”无效" in page  # printable, cut after 40 characters


@pytest.mark.parametrize("value", ["%00", "x" * 300, "c2018%27%20OR%201%3D1%20--"])
def test_the_progress_api_answers_a_malformed_campaign_with_400(fuzz_world, value):
    response = _get(
        fuzz_world.clients["viewer"], reverse("reports:progress_api") + f"?campaign={value}&as_of=2018-03-31"
    )
    assert response.status_code == 400
    assert response.json() == {"error": "campaign 须为整治行动代号"}


def test_a_malformed_search_of_a_cross_inspection_is_ignored_with_a_message(fuzz_world):
    url = reverse("inspections:cross_units", args=[fuzz_world.assignment.pk])
    response = _get(fuzz_world.clients["staff_b"], url + "?q=%E5%AE%8F%00")
    page = response.content.decode()
    assert response.status_code == 200
    assert "搜索内容含有无效字符或过长，已忽略。" in page and "东城宏达五金厂" in page
