"""Zero leaks: another township's unit, asked for by id, in a form field, a filter or an export.

Township staff see and write their own township's units only; every refusal of an object that
exists is logged on ``siwu.access`` with the user, the path and the object.
"""

import io
import logging

import pytest
from django.http import Http404
from django.urls import reverse
from openpyxl import load_workbook

from campaign.models import Township, Village
from core.access import (
    Role,
    get_scoped_or_404,
    role_of,
    scope_queryset,
    scope_townships,
    scope_units,
    township_id_of,
)
from enterprises.models import Enterprise, Rectification, RectificationPhoto, Relapse


@pytest.fixture
def world(world_of_module):
    """The access world built once for the module, each test's writes rolled back (tests/access/conftest.py)."""
    return world_of_module


A_NAMES = ("东城宏达五金厂", "东城永利废品站")


def denials(caplog):
    return [r for r in caplog.records if r.name == "siwu.access" and r.levelno == logging.WARNING]


def test_roles_and_townships_are_read_from_groups_and_profiles(world):
    users = world.users
    assert {k: role_of(u) for k, u in users.items()} == {
        "staff_a": Role.TOWNSHIP_STAFF,
        "staff_b": Role.TOWNSHIP_STAFF,
        "inspector": Role.INSPECTOR,
        "viewer": Role.CITY_VIEWER,
        "admin": Role.CITY_ADMIN,
        "disabled": None,  # inactive: no role at all
    }
    assert township_id_of(users["staff_a"]) == world.town_a.pk
    assert township_id_of(users["inspector"]) is None


@pytest.mark.parametrize(
    ("who", "expected"),
    [("staff_a", {"a"}), ("staff_b", {"b"}), ("inspector", {"a", "b"}), ("viewer", {"a", "b"}), ("admin", {"a", "b"})],
)
def test_querysets_are_scoped_to_the_user(world, who, expected):
    user = world.users[who]
    towns = {world.town_a.pk: "a", world.town_b.pk: "b"}
    assert {
        towns[t] for t in scope_units(user, Enterprise.objects.all()).values_list("township", flat=True)
    } == expected
    assert {towns[t.pk] for t in scope_townships(user, Township.objects.all())} == expected
    assert {towns[v.township_id] for v in scope_queryset(user, Village.objects.all())} == expected
    # Models reached through their unit are scoped by the unit's township.
    rectified = scope_queryset(user, Rectification.objects.all()).exists()
    photos = scope_queryset(user, RectificationPhoto.objects.all()).exists()
    assert rectified == photos == ("a" in expected)
    assert scope_queryset(user, Relapse.objects.all()).count() == 0


def test_nobody_without_a_role_sees_anything(world):
    disabled = world.users["disabled"]
    assert not scope_units(disabled, Enterprise.objects.all()).exists()
    assert not scope_queryset(disabled, Township.objects.all()).exists()


def test_get_scoped_or_404_logs_an_object_outside_the_scope(world, caplog):
    units = Enterprise.objects.all()
    assert get_scoped_or_404(world.users["staff_a"], units, pk=world.unit_a.pk) == world.unit_a
    assert get_scoped_or_404(world.users["admin"], units, pk=world.unit_b.pk) == world.unit_b

    with caplog.at_level(logging.WARNING, logger="siwu.access"), pytest.raises(Http404):
        get_scoped_or_404(world.users["staff_b"], units, pk=world.unit_a.pk)
    (record,) = denials(caplog)
    message = record.getMessage()
    assert "user=xicheng" in message and f"enterprises.Enterprise:{world.unit_a.pk}" in message


def test_a_missing_object_is_a_404_that_logs_nothing(world, caplog):
    with caplog.at_level(logging.WARNING, logger="siwu.access"), pytest.raises(Http404):
        get_scoped_or_404(world.users["staff_b"], Enterprise.objects.all(), pk=999999)
    assert denials(caplog) == []


@pytest.mark.parametrize(
    "name", ["enterprises:detail", "enterprises:edit", "enterprises:rectify", "enterprises:delete"]
)
def test_another_townships_unit_by_id_in_the_url_is_404_and_logged(world, caplog, name):
    url = reverse(name, args=[world.unit_a.pk])
    with caplog.at_level(logging.WARNING, logger="siwu.access"):
        response = world.clients["staff_b"].get(url)
    assert response.status_code == 404
    assert "东城宏达五金厂" not in response.content.decode()
    (record,) = denials(caplog)
    message = record.getMessage()
    assert "user=xicheng" in message and f"path={url}" in message and f":{world.unit_a.pk}" in message


def test_another_townships_unit_cannot_be_changed_by_post(world, caplog):
    url = reverse("enterprises:edit", args=[world.unit_a.pk])
    data = {"name": "改名", "township": world.town_b.pk, "defects": ["unsafe"], "identified_on": "2018-01-10"}
    with caplog.at_level(logging.WARNING, logger="siwu.access"):
        response = world.clients["staff_b"].post(url, data)
    assert response.status_code == 404
    world.unit_a.refresh_from_db()
    assert (world.unit_a.name, world.unit_a.township_id) == ("东城宏达五金厂", world.town_a.pk)
    assert len(denials(caplog)) == 1


def test_another_townships_photo_is_404(world):
    url = reverse("enterprises:photo", args=[world.rectified_a.pk, world.photo.pk])
    assert world.clients["staff_b"].get(url).status_code == 404
    assert world.clients["staff_a"].get(url).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"township": "A"},
        {"village": "A"},
        {"q": "东城"},
        {"township": "A", "q": "宏达"},
    ],
)
def test_the_register_list_never_shows_another_townships_units(world, query):
    params = {k: (world.town_a.pk if v == "A" and k == "township" else v) for k, v in query.items()}
    if params.get("village") == "A":
        params["village"] = world.village_a.pk
    page = world.clients["staff_b"].get(reverse("enterprises:list"), params).content.decode()
    assert not [name for name in A_NAMES if name in page]
    assert "张三丰" not in page and "13905710001" not in page


@pytest.mark.parametrize("query", [{}, {"township": "A"}, {"q": "东城"}])
def test_the_export_never_contains_another_townships_units(world, query):
    params = {"township": world.town_a.pk} if query.get("township") else query
    response = world.clients["staff_b"].get(reverse("enterprises:export"), params)
    if response.status_code == 302:  # an invalid filter (A is no choice for B) goes back to the list
        assert response["Location"].startswith(reverse("enterprises:list"))
        return
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    cells = {str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c}
    assert not [name for name in A_NAMES if name in cells]
    assert "西城兴旺小作坊" in cells or query  # B's own unit is there when nothing filters it out


def test_a_unit_cannot_be_registered_in_another_township(world):
    data = {
        "name": "越权登记单位",
        "township": world.town_a.pk,
        "defects": ["unsafe"],
        "identified_on": "2018-05-01",
        "source": "screening",
        "status": "open",
    }
    response = world.clients["staff_b"].post(reverse("enterprises:create"), data)
    assert response.status_code in {200, 404}
    assert not Enterprise.objects.filter(name="越权登记单位").exists()


def test_township_staff_read_the_city_wide_ranking(world):
    page = world.clients["staff_b"].get(reverse("reports:dashboard")).content.decode()
    assert "东城街道" in page and "西城街道" in page
    own = world.clients["staff_b"].get(reverse("reports:township", args=[world.town_a.pk]))
    assert own.status_code == 200


def test_the_header_shows_the_role_and_the_manage_link_only_to_city_admins(world):
    manage = reverse("manage:index")
    for who, label in [("staff_a", "乡镇(街道)工作人员"), ("viewer", "市领导"), ("inspector", "督查组")]:
        page = world.clients[who].get(reverse("reports:dashboard")).content.decode()
        assert label in page and f'href="{manage}"' not in page
    page = world.clients["admin"].get(reverse("reports:dashboard")).content.decode()
    assert "市级管理员" in page and f'href="{manage}"' in page


# --- report pages: rankings are city-wide, a township's records are not (SPEC 4) -----------------

OVERDUE_DAY = "?campaign=c2018&as_of=2018-07-20"  # the world's serious finding of A is overdue by then


def test_another_townships_page_counts_its_overdue_findings_but_does_not_list_them(world):
    url = reverse("reports:township", args=[world.town_a.pk]) + OVERDUE_DAY
    other = world.clients["staff_b"].get(url).content.decode()
    own = world.clients["staff_a"].get(url).content.decode()
    assert "截至当日共 1 个问题超过整改期限仍未整改" in other  # the figure: city-wide, as the dashboard has it
    for detail in (
        "东城宏达五金厂",
        "整治不到位",
        "2018-07-15",
        "东门社区",
        reverse("inspections:finding", args=[world.finding.pk]),
    ):
        assert detail not in other, detail
        assert detail in own, detail
    assert "完成率" in other and "年度累计" in other  # the standing and the ledger stay


def test_another_townships_interview_is_read_only_as_the_notice_tells_it(world, caplog):
    client = world.clients["staff_b"]
    with caplog.at_level(logging.WARNING, logger="siwu.access"):
        assert client.get(reverse("notices:interview", args=[world.interview.pk])).status_code == 404
    (record,) = denials(caplog)
    assert f"reports.Interview:{world.interview.pk}" in record.getMessage()
    listed = client.get(reverse("notices:interviews")).content.decode()
    assert "街道主任 王某某" not in listed and "东城街道" not in listed
    assert "街道主任 王某某" in world.clients["staff_a"].get(reverse("notices:interviews")).content.decode()
    # The weekly notice is city-wide: a commitment unmet by its day is in it, for every reader.
    notice = client.get(reverse("notices:preview") + "?campaign=c2018&as_of=2018-08-06").content.decode()
    assert "七月底前完成剩余单位整治" in notice
