"""The register's keyset pages and its totals (enterprises/pagination.py).

Walking the register by "next" links from the first page, and back by "previous" links from the
last, must give exactly the ordered list (latest identified first, then latest entered), with no
row skipped or repeated, also where many units share a date and a page boundary falls among them.
"""

import datetime

import pytest
from django.db import connection
from django.urls import reverse

from enterprises import pagination
from enterprises.models import Enterprise, Method, Status
from enterprises.pagination import LAST, NEXT, PREVIOUS, Cursor
from enterprises.services import rectification_record, relapse_record, unit_delete
from enterprises.views import PAGE_SIZE
from tests.factories import make_township, make_unit, make_user, make_village

pytestmark = pytest.mark.django_db

D = datetime.date
URL = reverse("enterprises:list")
POSTGRES = connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 6, 30))


@pytest.fixture
def admin(client):
    user = make_user("admin", role="city_admin")
    client.force_login(user)
    return user


def tied_register(n, townships, *, days=3, **fields):
    """``n`` units on only ``days`` dates, so page boundaries fall among units of one date."""
    units = []
    for i in range(n):
        township = townships[i % len(townships)]
        unit = make_unit(township, D(2018, 3, 1) + datetime.timedelta(days=i % days), unsafe=bool(i % 2), **fields)
        units.append(unit)
    return units


def ordered(queryset):
    return list(queryset.alive().order_by("-identified_on", "-id").values_list("pk", flat=True))


def pk_list(response):
    return [unit.pk for unit in response.context["page"].object_list]


def walk_forwards(client, params=None):
    params, seen, pages = dict(params or {}), [], []
    while True:
        response = client.get(URL, params)
        assert response.status_code == 200
        page = response.context["page"]
        seen += pk_list(response)
        pages.append(page)
        if not page.has_next:
            return seen, pages
        params["cursor"] = page.next_cursor


def walk_backwards(client, params=None):
    params = dict(params or {})
    params["cursor"] = client.get(URL, params).context["page"].last_cursor
    seen, pages = [], []
    while True:
        response = client.get(URL, params)
        page = response.context["page"]
        seen = pk_list(response) + seen
        pages.append(page)
        if not page.has_previous:
            return seen, pages
        params["cursor"] = page.previous_cursor


# --- walking -----------------------------------------------------------------------------------


def test_walking_forwards_and_backwards_gives_the_whole_ordered_register(client, admin):
    townships = [make_township(), make_township()]
    tied_register(2 * PAGE_SIZE + 13, townships)
    expected = ordered(Enterprise.objects)

    forwards, pages = walk_forwards(client)
    assert forwards == expected
    assert [(p.number, p.num_pages, len(p)) for p in pages] == [(1, 3, 25), (2, 3, 25), (3, 3, 13)]
    assert [(p.has_previous, p.has_next) for p in pages] == [(False, True), (True, True), (True, False)]

    backwards, pages = walk_backwards(client)
    assert backwards == expected
    assert [(p.number, len(p)) for p in pages] == [(3, 13), (2, 25), (1, 25)]


def test_a_page_boundary_inside_one_date_skips_and_repeats_nothing(client, admin):
    tied_register(PAGE_SIZE * 2 + 1, [make_township()], days=1)  # every unit on the same date
    forwards, _pages = walk_forwards(client)
    assert forwards == ordered(Enterprise.objects)
    assert len(set(forwards)) == PAGE_SIZE * 2 + 1


def test_previous_from_a_middle_page_is_the_page_before_it(client, admin):
    tied_register(3 * PAGE_SIZE + 4, [make_township()])
    first = client.get(URL)
    second = client.get(URL, {"cursor": first.context["page"].next_cursor})
    third = client.get(URL, {"cursor": second.context["page"].next_cursor})
    back = client.get(URL, {"cursor": third.context["page"].previous_cursor})
    assert pk_list(back) == pk_list(second)
    assert back.context["page"].number == 2
    back_again = client.get(URL, {"cursor": back.context["page"].previous_cursor})
    assert pk_list(back_again) == pk_list(first)
    assert (back_again.context["page"].number, back_again.context["page"].has_previous) == (1, False)


def test_the_page_links_carry_the_cursor_and_the_filter(client, admin):
    tied_register(2 * PAGE_SIZE + 2, [make_township()])
    first = client.get(URL, {"unsafe": "true"})
    html = first.content.decode()
    page = first.context["page"]
    assert f'href="?unsafe=true&amp;cursor={page.next_cursor.replace(":", "%3A")}" rel="next"' in html
    assert "首页" not in html and 'rel="prev"' not in html  # nothing before the first page
    assert "第 1 / 2 页" in html
    second = client.get(URL, {"unsafe": "true", "cursor": page.next_cursor})
    html = second.content.decode()
    assert 'href="?unsafe=true">首页</a>' in html
    assert 'rel="prev"' in html and 'rel="next"' not in html and "末页" not in html
    assert "第 2 / 2 页" in html


def test_the_export_links_leave_the_cursor_out(client, admin):
    tied_register(PAGE_SIZE + 1, [make_township()])
    cursor = client.get(URL, {"status": "open"}).context["page"].next_cursor
    html = client.get(URL, {"status": "open", "cursor": cursor}).content.decode()
    assert f'href="{reverse("enterprises:export")}?status=open"' in html
    assert f'href="{reverse("enterprises:export_csv")}?status=open"' in html


def test_filters_combine_with_the_cursor(client, admin):
    township = make_township()
    village = make_village(township)
    tied_register(3 * PAGE_SIZE, [township], village=village)
    tied_register(PAGE_SIZE, [township])
    query = {"village": [village.pk], "unsafe": "false"}
    walked, pages = walk_forwards(client, query)
    assert walked == ordered(Enterprise.objects.filter(village=village, unsafe=False))
    assert len(walked) > PAGE_SIZE and len(pages) == 2
    assert walk_backwards(client, query)[0] == walked


def test_township_staff_walk_only_their_township(client):
    east, west = make_township("东镇"), make_township("西镇")
    tied_register(2 * PAGE_SIZE + 5, [east, west])
    client.force_login(make_user("east", role="township_staff", township=east))
    walked, pages = walk_forwards(client)
    assert walked == ordered(Enterprise.objects.filter(township=east))
    assert pages[-1].num_pages == 2
    assert walk_backwards(client)[0] == walked
    # A cursor made on the other township's list leads into this user's own list only.
    west_unit = Enterprise.objects.filter(township=west).order_by("-identified_on", "-id").first()
    cursor = Cursor(NEXT, 2, west_unit.identified_on, west_unit.pk).encode()
    assert {u.township_id for u in client.get(URL, {"cursor": cursor}).context["page"]} <= {east.pk}


# --- bad cursors -------------------------------------------------------------------------------


def good_cursor():
    return Cursor(NEXT, 2, D(2018, 3, 2), 5).encode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "n.2.2018-03-02.5",  # unsigned
        "",
        "x" * 500,
        "n.2.2018-03-02.5:forgedsignature",
        "__tamper__",  # a good cursor with one character changed (below)
        Cursor(NEXT, 2, D(2018, 3, 2), 5).encode().replace("n.2.", "n.3."),
    ],
)
def test_an_altered_or_malformed_cursor_shows_the_first_page(client, admin, cursor):
    tied_register(PAGE_SIZE + 3, [make_township()])
    if cursor == "__tamper__":
        good = good_cursor()
        cursor = good[:-1] + ("A" if good[-1] != "A" else "B")
    response = client.get(URL, {"cursor": cursor})
    assert response.status_code == 200
    assert pk_list(response) == ordered(Enterprise.objects)[:PAGE_SIZE]
    assert response.context["page"].number == 1


@pytest.mark.parametrize(
    "value",
    ["n.2.2018-13-02.5", "n.0.2018-03-02.5", "n.2.2018-03-02.-5", "q.2.2018-03-02.5", "n.2.2018-03-02", "l", "n.x.y.z"],
)
def test_a_signed_but_meaningless_cursor_is_refused(value):
    signed = pagination._signer.sign(value)
    assert Cursor.decode(signed) is None


def test_cursors_round_trip():
    for cursor in (Cursor(NEXT, 7, D(2018, 3, 2), 15), Cursor(PREVIOUS, 1, D(2017, 12, 31), 1), Cursor(LAST, 40)):
        assert Cursor.decode(cursor.encode()) == cursor


def test_a_cursor_whose_rows_are_gone_shows_the_first_page(client, admin):
    units = tied_register(PAGE_SIZE + 2, [make_township()])
    cursor = client.get(URL).context["page"].next_cursor
    user = make_user("deleter")
    for unit in Enterprise.objects.order_by("identified_on", "id")[:2]:
        unit_delete(enterprise=unit, user=user, reason="重复")
    response = client.get(URL, {"cursor": cursor})
    assert response.status_code == 200
    assert pk_list(response) == ordered(Enterprise.objects)[:PAGE_SIZE]
    assert len(units) == PAGE_SIZE + 2


def test_an_old_numbered_page_link_shows_the_first_page(client, admin):
    tied_register(PAGE_SIZE + 3, [make_township()])
    response = client.get(URL, {"page": "2"})
    assert response.status_code == 200
    assert response.context["page"].number == 1
    assert not response.context["filter"].is_bound


# --- totals ------------------------------------------------------------------------------------


def mixed_register(townships):
    """Units of every status in every township."""
    user = make_user("writer")
    for i, township in enumerate(townships * 6):
        unit = make_unit(township, D(2018, 3, 1) + datetime.timedelta(days=i), unsafe=bool(i % 2))
        if i % 3 == 0:
            rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1), user=user)
        if i % 6 == 0:
            relapse_record(enterprise=unit, found_on=D(2018, 5, 1), user=user)
        if i % 4 == 1:
            Enterprise.objects.filter(pk=unit.pk).update(status=Status.IN_PROGRESS)


def exact(queryset):
    units = queryset.alive()
    return {
        "total": units.count(),
        "open": units.filter(status=Status.OPEN).count(),
        "in_progress": units.filter(status=Status.IN_PROGRESS).count(),
        "rectified": units.filter(status=Status.RECTIFIED).count(),
    }


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"township": "east"},
        {"status": ["open", "in_progress"]},
        {"township": "east", "status": ["rectified"]},
        {"unsafe": "true"},
        {"township": "east", "unsafe": "false", "status": ["open"]},
    ],
)
def test_the_counts_shown_equal_the_exact_ones(client, admin, query):
    east, west = make_township("东镇"), make_township("西镇")
    mixed_register([east, west])
    params = {k: ([east.pk] if v == "east" else v) for k, v in query.items()}
    units = Enterprise.objects.all()
    if "township" in query:
        units = units.filter(township=east)
    if "status" in query:
        units = units.filter(status__in=query["status"])
    if "unsafe" in query:
        units = units.filter(unsafe=query["unsafe"] == "true")
    response = client.get(URL, params)
    assert response.context["counts_exact"]
    assert response.context["counts"] == exact(units)
    for key, n in exact(units).items():
        assert f'data-count="{key}">{n}<' in response.content.decode()


def test_township_staff_see_their_township_totals(client):
    east, west = make_township("东镇"), make_township("西镇")
    mixed_register([east, west])
    client.force_login(make_user("east", role="township_staff", township=east))
    assert client.get(URL).context["counts"] == exact(Enterprise.objects.filter(township=east))
    response = client.get(URL, {"unsafe": "true"})
    assert response.context["counts"] == exact(Enterprise.objects.filter(township=east, unsafe=True))


def test_staff_without_a_township_see_nothing(client):
    make_unit(make_township())
    client.force_login(make_user("lost", role="township_staff", township=None))
    response = client.get(URL)
    assert response.context["counts"] == {"total": 0, "open": 0, "in_progress": 0, "rectified": 0}
    assert list(response.context["page"]) == []


def test_the_whole_register_and_township_totals_scan_no_units(client, admin, django_assert_num_queries):
    east = make_township("东镇")
    mixed_register([east])
    f = _filterset(admin, {"township": [east.pk], "status": ["open"]})
    with django_assert_num_queries(1) as captured:
        totals = pagination.register_totals(f)
    assert "enterprises_unitstatus" in captured.captured_queries[0]["sql"]
    assert "enterprises_enterprise" not in captured.captured_queries[0]["sql"]
    assert totals.as_dict() == exact(Enterprise.objects.filter(township=east, status=Status.OPEN))


def _filterset(user, data):
    from django.http import QueryDict

    from enterprises.filtersets import UnitFilterSet
    from enterprises.views import scoped_units

    query = QueryDict(mutable=True)
    for key, value in data.items():
        query.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
    f = UnitFilterSet(query, queryset=scoped_units(user), user=user)
    assert f.is_valid()
    return f


@pytest.mark.skipif(not POSTGRES, reason="SQLite always counts exactly")
def test_a_large_filtered_list_shows_labelled_estimates(client, admin, monkeypatch):
    tied_register(2 * PAGE_SIZE + 10, [make_township()])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Enterprise._meta.db_table}")  # the planner's statistics, as autovacuum keeps them
    exact_queries = _queries(client, {"unsafe": "true"})
    assert client.get(URL, {"unsafe": "true"}).context["counts"]["total"] == PAGE_SIZE + 5
    monkeypatch.setattr(pagination, "EXACT_UP_TO", 5)
    response = client.get(URL, {"unsafe": "true"})
    assert response.status_code == 200
    assert not response.context["counts_exact"]
    html = response.content.decode()
    assert 'data-count="total">约 ' in html and "（估算）" in html
    assert response.context["page"].num_pages is None
    assert "第 1 页" in html and "末页" not in html
    assert response.context["counts"]["total"] > 0
    # The planner's estimate replaces the exact count: one query fewer, whatever the size.
    assert len(_queries(client, {"unsafe": "true"})) == len(exact_queries) - 1


def _queries(client, params):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(URL, params)
    return captured.captured_queries


def test_estimates_are_rounded_to_three_figures():
    assert [pagination.about(n) for n in (0, 999, 1000, 12345, 99089, 1234567)] == [
        0,
        999,
        1000,
        12300,
        99100,
        1230000,
    ]
