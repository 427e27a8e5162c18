"""The unit picker of the inspection and finding forms (inspections/forms.py UnitPickerField) and its
search (inspections/unit_search.py): a form never lists a township's units, the search answers a
bounded page of what the user may see, and whatever the browser submits is checked on the server."""

import datetime

import pytest
from django.urls import reverse

from enterprises.models import Enterprise
from inspections import services
from inspections.models import CrossAccess, CrossAssignment, CrossRound, Finding, FindingKind, Inspection, Kind
from tests.factories import make_campaign, make_township, make_unit, make_user, make_village

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2018, 6, 30)


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(TODAY)


@pytest.fixture
def w(db):
    """Townships A and B (B cross-inspects A in a round that is on), C with no round; units in A and B;
    an inspector, a city viewer and staff of each township."""

    class World:
        pass

    world = World()
    world.campaign = make_campaign()
    world.town_a, world.town_b, world.town_c = (
        make_township("东城街道"),
        make_township("西城街道"),
        make_township("南湖镇"),
    )
    world.village = make_village(world.town_a, "桥头村")
    world.unit = make_unit(world.town_a, name="宏达五金厂", address="东门路1号", village=world.village)
    # The same name twice in A: told apart by village and address.
    world.twin = make_unit(world.town_a, name="宏达五金厂", address="西街8号")
    world.other = make_unit(world.town_b, name="西城小作坊", address="西城路2号")
    world.inspector = make_user("ducha", role="inspector")
    world.viewer = make_user("lingdao", role="city_viewer")
    world.staff_a = make_user("dongcheng", role="township_staff", township=world.town_a)
    world.staff_b = make_user("xicheng", role="township_staff", township=world.town_b)
    world.staff_c = make_user("nanhu", role="township_staff", township=world.town_c)
    world.round = CrossRound.objects.create(
        campaign=world.campaign, name="第二轮", held_on=D(2018, 6, 1), ends_on=D(2018, 7, 31), seed=1
    )
    world.assignment = CrossAssignment.objects.create(
        round=world.round, inspecting=world.town_b, inspected=world.town_a
    )
    return world


def many_units(township, n, prefix="批量单位", descending=False):
    """``n`` units of ``township`` in one INSERT (names ``prefix00000`` …, addresses ``测试路N号``),
    entered in name order or, ``descending``, the other way round (ids then run against names)."""
    numbers = range(n - 1, -1, -1) if descending else range(n)
    Enterprise.objects.bulk_create(
        Enterprise(
            township=township,
            name=f"{prefix}{i:05d}",
            address=f"测试路{i}号",
            unlicensed=True,
            identified_on=D(2018, 1, 10),
        )
        for i in numbers
    )


def search(client, user, **params):
    client.force_login(user)
    return client.get(reverse("inspections:unit_search"), params)


def names(response):
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def inspection_url(w, town=None):
    return reverse("inspections:create") + f"?township={(town or w.town_a).pk}"


def post_inspection(client, w, units, town=None):
    client.force_login(w.inspector)
    data = {"kind": Kind.RANDOM, "inspected_on": "2018-06-29", "team": "市督查组", "units": units}
    return client.post(inspection_url(w, town), data)


# --- the forms render only what is chosen ----------------------------------------------------------


@pytest.mark.parametrize("n", [30, 3000])
def test_the_inspection_form_does_not_grow_with_the_township(client, w, django_assert_max_num_queries, n):
    many_units(w.town_a, n)
    client.force_login(w.inspector)
    # session, user (with role and township), the township, the picker's campaign (the date starts at
    # its as-of day); no unit is read
    with django_assert_max_num_queries(4):
        response = client.get(inspection_url(w))
    html = response.content.decode()
    assert response.status_code == 200
    assert "批量单位" not in html and "宏达五金厂" not in html
    assert len(response.content) < 20_000
    assert "data-unit-picker" in html and f'data-township="{w.town_a.pk}"' in html


@pytest.mark.parametrize("n", [30, 3000])
def test_a_refused_inspection_shows_again_only_the_units_chosen(client, w, django_assert_max_num_queries, n):
    many_units(w.town_a, n)
    client.force_login(w.inspector)
    chosen = Enterprise.objects.get(name="批量单位00007")
    data = {"kind": Kind.RANDOM, "inspected_on": "2018-07-01", "team": "市督查组", "units": [chosen.pk, w.unit.pk]}
    # session, user, township, the picker's campaign, the chosen units checked, the service's refusal
    # (two savepoints opened, rolled back and released: 6 statements), the chosen units shown
    with django_assert_max_num_queries(12):
        response = client.post(inspection_url(w), data)
    html = response.content.decode()
    assert response.context["form"].errors["inspected_on"] == ["督查日期不能晚于今天"]
    assert html.count("批量单位") == 1 and "批量单位00007" in html and "宏达五金厂" in html
    assert "西街8号" not in html  # the twin was not chosen
    assert f'value="{chosen.pk}" checked' in html
    assert len(response.content) < 25_000
    assert not Inspection.objects.exists()


@pytest.mark.parametrize("n", [30, 3000])
def test_the_finding_form_offers_the_units_the_inspection_covered(client, w, django_assert_max_num_queries, n):
    many_units(w.town_a, n)
    covered = list(Enterprise.objects.filter(name__in=["批量单位00003", "批量单位00011"]))
    inspection = services.inspection_record(
        kind=Kind.RANDOM, inspected_on=D(2018, 6, 20), team="督查组", township=w.town_a, units=covered,
        user=w.inspector,
    )  # fmt: skip
    client.force_login(w.inspector)
    url = reverse("inspections:finding_create", args=[inspection.pk])
    client.get(url)  # the campaign's settings are written once, on first use
    # session, user, the inspection, the default deadline's campaign and settings, the covered units
    with django_assert_max_num_queries(6):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("批量单位") == 2 and "批量单位00003" in html and "批量单位00011" in html
    assert "宏达五金厂" not in html
    assert len(response.content) < 30_000
    # Offered as radio buttons, so a phone picks one with a tap, with or without JavaScript.
    assert f'type="radio" name="enterprise" value="{covered[0].pk}"' in html


def test_a_follow_up_inspection_offers_the_unit_it_follows(client, w):
    first = services.inspection_record(
        kind=Kind.RANDOM, inspected_on=D(2018, 6, 20), team="督查组", township=w.town_a, units=[w.unit],
        user=w.inspector,
    )  # fmt: skip
    finding = services.finding_record(
        inspection=first, enterprise=w.unit, kind=FindingKind.NOT_DONE, severity="serious",
        description="仍在生产", deadline=D(2018, 6, 25), user=w.inspector,
    )  # fmt: skip
    follow_up = finding.follow_ups.get()
    services.follow_up_done(inspection=follow_up, inspected_on=D(2018, 6, 25), user=w.inspector)
    client.force_login(w.inspector)
    html = client.get(reverse("inspections:finding_create", args=[follow_up.pk])).content.decode()
    assert f'name="enterprise" value="{w.unit.pk}"' in html and "西街8号" not in html


# --- the forms check what is submitted -------------------------------------------------------------


def test_unit_numbers_typed_without_javascript_are_recorded(client, w):
    # The plain field takes numbers separated by commas (also the Chinese ones) or spaces.
    response = post_inspection(client, w, [f"{w.unit.pk}，{w.twin.pk}", ""])
    inspection = Inspection.objects.get()
    assert response.status_code == 302
    assert set(inspection.units.all()) == {w.unit, w.twin}


def test_a_unit_outside_the_inspected_township_is_refused_and_nothing_is_written(client, w):
    response = post_inspection(client, w, [w.unit.pk, w.other.pk])
    assert response.status_code == 200
    assert response.context["form"].errors["units"] == [f"单位编号{w.other.pk}不存在，或不是可选择的单位"]
    assert "西城小作坊" not in response.content.decode()
    Enterprise.objects.filter(pk=w.twin.pk).update(deleted_at=datetime.datetime(2018, 6, 1, tzinfo=datetime.UTC))
    for bad in ("99999999", "abc", "1\x002", "9" * 40, "-3", str(w.twin.pk)):
        response = post_inspection(client, w, [bad])
        assert response.status_code == 200, bad
        assert "units" in response.context["form"].errors, bad
    assert not Inspection.objects.exists()


@pytest.fixture
def inspection(w):
    return services.inspection_record(
        kind=Kind.RANDOM, inspected_on=D(2018, 6, 20), team="督查组", township=w.town_a, units=[w.unit],
        user=w.inspector,
    )  # fmt: skip


def post_finding(client, w, inspection, enterprise):
    client.force_login(w.inspector)
    data = {
        "kind": FindingKind.NOT_DONE, "severity": "normal", "enterprise": enterprise,
        "description": "消防通道堵塞", "deadline": "2018-07-10",
    }  # fmt: skip
    return client.post(reverse("inspections:finding_create", args=[inspection.pk]), data)


def test_a_finding_names_one_unit_of_the_inspected_township(client, w, inspection):
    response = post_finding(client, w, inspection, [w.unit.pk, f"{w.twin.pk}"])
    assert response.context["form"].errors["enterprise"] == ["只能选择一家单位"]
    response = post_finding(client, w, inspection, [w.other.pk])
    assert response.context["form"].errors["enterprise"] == [f"单位编号{w.other.pk}不存在，或不是可选择的单位"]
    response = post_finding(client, w, inspection, ["x\x00"])
    assert response.context["form"].errors["enterprise"] == ["单位编号须为数字：x"]
    assert not Finding.objects.exists()
    # A unit the inspection did not cover, as the picker sends a unit found by search.
    response = post_finding(client, w, inspection, [w.twin.pk])
    assert response.status_code == 302
    assert Finding.objects.get().enterprise == w.twin


# --- the search ------------------------------------------------------------------------------------


def test_an_inspector_finds_units_of_any_township(client, w):
    assert names(search(client, w.inspector, township=w.town_b.pk, q="西城")) == ["西城小作坊"]
    assert names(search(client, w.inspector, q="小作坊")) == ["西城小作坊"]


def test_township_staff_find_only_their_own_townships_units(client, w):
    assert names(search(client, w.staff_a, township=w.town_b.pk)) == []
    assert names(search(client, w.staff_a, q="西城")) == []
    assert names(search(client, w.staff_a, q="宏达")) == ["宏达五金厂", "宏达五金厂"]
    # C's staff do not inspect A: nothing of A, and nothing recorded.
    assert names(search(client, w.staff_c, township=w.town_a.pk)) == []
    assert not CrossAccess.objects.exists()


def test_a_cross_inspecting_township_finds_the_inspected_units_while_the_round_is_on(client, w, frozen_today):
    response = search(client, w.staff_b, township=w.town_a.pk, q="宏达")
    assert names(response) == ["宏达五金厂", "宏达五金厂"]
    access = CrossAccess.objects.get()
    assert (access.user, access.assignment) == (w.staff_b, w.assignment)
    frozen_today(D(2018, 8, 1))
    assert names(search(client, w.staff_b, township=w.town_a.pk, q="宏达")) == []


def test_a_city_viewer_does_not_use_the_picker(client, w):
    assert search(client, w.viewer, q="宏达").status_code == 403
    client.logout()
    assert client.get(reverse("inspections:unit_search"), {"q": "宏达"}).status_code in (302, 403)


def test_units_of_the_same_name_are_told_apart_by_village_address_and_status(client, w):
    rows = search(client, w.inspector, township=w.town_a.pk, q="宏达").json()["results"]
    assert [(r["name"], r["village"], r["address"], r["status_label"]) for r in rows] == [
        ("宏达五金厂", "桥头村", "东门路1号", "未整治"),
        ("宏达五金厂", "", "西街8号", "未整治"),
    ]
    assert [r["id"] for r in rows] == [w.unit.pk, w.twin.pk]


def test_the_search_matches_village_address_and_credit_code_and_every_word(client, w):
    Enterprise.objects.filter(pk=w.twin.pk).update(credit_code="91330100MA2CH7KQ1A")
    assert names(search(client, w.inspector, q="桥头")) == ["宏达五金厂"]
    assert names(search(client, w.inspector, q="西街")) == ["宏达五金厂"]
    assert [r["id"] for r in search(client, w.inspector, q="MA2CH7K").json()["results"]] == [w.twin.pk]
    assert [r["id"] for r in search(client, w.inspector, q="宏达 东门路").json()["results"]] == [w.unit.pk]
    assert names(search(client, w.inspector, q="宏达 北门")) == []


def test_pages_follow_one_another_in_name_order_without_overlap(client, w, django_assert_max_num_queries):
    many_units(w.town_c, 45, descending=True)
    client.force_login(w.inspector)
    url = reverse("inspections:unit_search")
    seen, after, pages = [], None, 0
    while True:
        params = {"township": w.town_c.pk, "q": "批量"} | ({"after": after} if after else {})
        # session, user, one page of units
        with django_assert_max_num_queries(3):
            body = client.get(url, params).json()
        seen += [row["name"] for row in body["results"]]
        pages += 1
        after = body["next"]
        if after is None:
            break
    assert pages == 3
    assert seen == [f"批量单位{i:05d}" for i in range(45)]


def test_the_page_size_is_bounded(client, w):
    many_units(w.town_c, 60)
    assert len(names(search(client, w.inspector, township=w.town_c.pk))) == 20
    assert len(names(search(client, w.inspector, township=w.town_c.pk, limit=5))) == 5
    assert len(names(search(client, w.inspector, township=w.town_c.pk, limit=100000))) == 50
    assert len(names(search(client, w.inspector, township=w.town_c.pk, limit="1e309"))) == 20


@pytest.mark.parametrize(
    "params",
    [
        {"q": "\x00"},
        {"q": "宏达\x00五金"},
        {"q": "x" * 5000},
        {"q": "%"},
        {"q": "_"},
        {"q": "' OR 1=1 --"},
        {"q": " ".join("宏达" for _ in range(200))},
        {"after": "\x00:\x00"},
        {"after": "9" * 40 + ":宏达"},
        {"after": "garbage"},
        {"limit": "-1"},
        {"limit": "9" * 40},
    ],
)
def test_hostile_search_text_answers_a_page(client, w, params):
    response = search(client, w.inspector, township=w.town_a.pk, **params)
    assert response.status_code == 200
    assert len(response.json()["results"]) <= 20


@pytest.mark.parametrize("township", ["abc", "\x00", "9" * 40, "-1", ",".join(str(i) for i in range(1, 30))])
def test_a_bad_township_is_a_clear_400(client, w, township):
    response = search(client, w.inspector, township=township)
    assert response.status_code == 400
    assert response.json()["error"] in ("乡镇(街道)参数无效", "一次最多搜索20个乡镇(街道)")


def test_the_search_page_without_javascript_shows_unit_numbers(client, w):
    client.force_login(w.inspector)
    response = client.get(reverse("inspections:unit_find"), {"township": w.town_a.pk, "q": "宏达"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<strong>{w.unit.pk}</strong>" in html and f"<strong>{w.twin.pk}</strong>" in html
    assert "东门路1号" in html and "西街8号" in html and "西城小作坊" not in html
    client.force_login(w.staff_a)
    assert "西城小作坊" not in client.get(reverse("inspections:unit_find"), {"township": w.town_b.pk}).content.decode()
