import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from enterprises.models import Enterprise, Method, Rectification, RectificationPhoto, Relapse, Status
from enterprises.photos import attach_photos, clean_photos
from enterprises.services import rectification_record, relapse_record
from enterprises.views import PAGE_SIZE
from inspections.services import finding_record, inspection_record
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_township, make_unit, make_user, make_village

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2018, 6, 30)


@pytest.fixture(autouse=True)
def today(frozen_today, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return frozen_today(TODAY)


@pytest.fixture
def user(django_user_model):
    return make_user("zhangsan", first_name="张三")


@pytest.fixture
def staff(client, user):
    client.force_login(user)
    return client


def photo(name="现场.jpg", color=(200, 30, 30)):
    return SimpleUploadedFile(name, make_image_bytes(color=color), "image/jpeg")


def build_register(n, user=None):
    """``n`` units over three townships and their villages; some rectified (with photos), some relapsed."""
    townships = [make_township() for _ in range(3)]
    villages = [make_village(t) for t in townships for _ in range(2)]
    units = []
    for i in range(n):
        village = villages[i % len(villages)]
        unit = make_unit(
            village.township,
            D(2018, 1, 1) + datetime.timedelta(days=i % 60),
            village=village,
            industry=["五金", "餐饮", "木材"][i % 3],
            premises=["厂房", "民房"][i % 2],
            unsafe=bool(i % 2),
            created_by=user,
        )
        if i % 3 == 0:
            rectification_record(enterprise=unit, method=list(Method)[i % 4], rectified_on=D(2018, 4, 1), user=user)
        if i % 6 == 0:
            relapse_record(enterprise=unit, found_on=D(2018, 5, 1), user=user)
        units.append(unit)
    return units


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,args", [("list", []), ("create", []), ("detail", [1]), ("rectify", [1])])
def test_every_page_needs_a_login(client, name, args):
    response = client.get(reverse(f"enterprises:{name}", args=args))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ["township_staff", "city_viewer", "inspector"])
def test_a_soft_deleted_unit_is_not_found(client, role):
    township = make_township()
    unit = make_unit(township, deleted_at=datetime.datetime(2018, 5, 1, tzinfo=datetime.UTC))
    client.force_login(make_user("someone", role=role, township=township))
    assert client.get(unit.get_absolute_url()).status_code == 404
    assert client.get(reverse("enterprises:list")).context["counts"]["total"] == 0


def test_a_city_admin_still_opens_a_deleted_unit_to_see_why(staff):
    unit = make_unit(make_township(), deleted_at=datetime.datetime(2018, 5, 1, tzinfo=datetime.UTC))
    response = staff.get(unit.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "该单位已于 2018-05-01 08:00 被删除" in html
    assert reverse("enterprises:undelete", args=[unit.pk]) in html
    assert staff.get(reverse("enterprises:list")).context["counts"]["total"] == 0


# --- list --------------------------------------------------------------------------------------

# The campaign picked (campaign/context_processors.py), whose as-of day the register's link to the
# report names and the forms' dates start at: these tests have no campaign, so Campaign.objects.
# current_for asks three times (one holding today, the latest started, any); with one holding today, once.
PICKER_QUERIES = 3
# session, the user with their role (core/backends.py), the industry and the premises in use, the totals
# (maintained per township and status), the page's rows (keyset: no COUNT, no OFFSET), the
# filter form's township and village choices, and the picked campaign.
LIST_QUERIES = 8 + PICKER_QUERIES
# Filtered by a township (its choice is validated: one query) and by columns the maintained counts
# do not hold: SQLite counts them exactly, PostgreSQL first asks the planner whether that is cheap.
# A search (q) on PostgreSQL: the planner's estimate of its units, then their ids when they are few
# (enterprises/search.py narrowed).
SEARCH_QUERIES = 2 * (connection.vendor == "postgresql")
FILTERED_QUERIES = LIST_QUERIES + 1 + (connection.vendor == "postgresql") + SEARCH_QUERIES


@pytest.mark.parametrize("n", [5, 60])
def test_register_query_count_does_not_grow_with_units(staff, user, django_assert_num_queries, n):
    build_register(n, user)
    with django_assert_num_queries(LIST_QUERIES):
        response = staff.get(reverse("enterprises:list"))
    assert response.status_code == 200
    assert response.context["counts"]["total"] == n


FILTERED = {
    "status": ["open", "rectified"],
    "method": ["closed", "demolished", "upgraded"],
    "unsafe": "false",
    "rectified_from": "2018-01-01",
    "q": "单位",
    "page": "1",
}


@pytest.mark.parametrize("n", [20, 60])
def test_filtered_register_query_count_is_the_same(staff, user, django_assert_num_queries, n):
    units = build_register(n, user)
    query = {"township": [units[0].township_id], **FILTERED}
    with django_assert_num_queries(FILTERED_QUERIES):
        response = staff.get(reverse("enterprises:list"), query)
    assert response.status_code == 200
    assert response.context["filter"].is_valid()
    assert response.context["counts_exact"]


@pytest.mark.parametrize("query", [{}, {"township": "first"}, {"status": ["open"]}, FILTERED])
def test_deep_pages_cost_what_the_first_page_costs(staff, user, django_assert_num_queries, query):
    units = build_register(PAGE_SIZE * 4, user)
    query = {k: ([units[0].township_id] if v == "first" else v) for k, v in query.items()}
    expected = LIST_QUERIES + ("township" in query) + ("q" in query and connection.vendor == "postgresql")
    expected += SEARCH_QUERIES if "q" in query else 0
    cursor, pages = None, 0
    while True:
        with django_assert_num_queries(expected):
            response = staff.get(reverse("enterprises:list"), {**query, **({"cursor": cursor} if cursor else {})})
        pages += 1
        cursor = response.context["page"].next_cursor
        if cursor is None:
            break
    assert pages >= 2 or "q" in query


def test_register_counts_the_filtered_list_and_pages_it(staff, user):
    build_register(60, user)
    response = staff.get(reverse("enterprises:list"))
    # i % 3 == 0 rectified (20), half of those relapsed (10): 10 rectified, 50 open.
    assert response.context["counts"] == {"total": 60, "open": 50, "in_progress": 0, "rectified": 10}
    page = response.context["page"]
    assert (page.number, page.num_pages, len(page.object_list)) == (1, 3, PAGE_SIZE)
    html = response.content.decode()
    assert 'data-count="total">60<' in html
    assert "第 1 / 3 页" in html

    first = staff.get(reverse("enterprises:list"), {"unsafe": "true"})
    assert first.context["counts"]["total"] == 30
    last = staff.get(reverse("enterprises:list"), {"unsafe": "true", "cursor": first.context["page"].next_cursor})
    assert len(last.context["page"].object_list) == 5
    assert "第 2 / 2 页" in last.content.decode()
    # Page links keep the filter.
    assert 'href="?unsafe=true">首页</a>' in last.content.decode()


def test_register_order_is_latest_identified_first_then_latest_entered(staff):
    township = make_township()
    a = make_unit(township, D(2018, 3, 1))
    b = make_unit(township, D(2018, 3, 2))
    c = make_unit(township, D(2018, 3, 1))
    response = staff.get(reverse("enterprises:list"))
    assert list(response.context["page"].object_list) == [b, c, a]


def test_register_rows_show_the_current_rectification(staff):
    township = make_township("城关镇")
    unit = make_unit(township, D(2018, 3, 1), name="红星五金厂", village=make_village(township, "东村"))
    rectification_record(enterprise=unit, method=Method.RELOCATED, rectified_on=D(2018, 4, 2))
    html = staff.get(reverse("enterprises:list")).content.decode()
    assert "红星五金厂" in html
    assert '<td data-label="整治方式">搬迁入园</td>' in html
    assert '<td data-label="整治完成日期">2018-04-02</td>' in html
    # Every cell says what it is, so the row reads as a card on a phone.
    assert len(re.findall(r"<td(?![^>]*data-label)", html)) == 0


def test_a_bad_filter_value_is_shown_next_to_the_field(staff):
    response = staff.get(reverse("enterprises:list"), {"identified_from": "2018-13-01"})
    assert response.status_code == 200
    assert "输入一个有效的日期。" in response.content.decode()


def test_the_export_link_carries_the_filter_but_not_the_page(staff):
    make_unit(make_township())
    html = staff.get(reverse("enterprises:list"), {"status": "open", "page": "1"}).content.decode()
    assert f'href="{reverse("enterprises:export")}?status=open"' in html


# --- detail ------------------------------------------------------------------------------------


def test_detail_tells_the_whole_story_in_date_order(staff, user):
    township = make_township("城关镇")
    unit = make_unit(township, D(2018, 1, 10), name="红星五金厂", created_by=user, owner="王五", no_env_measures=True)
    first = rectification_record(
        enterprise=unit, method=Method.DEMOLISHED, rectified_on=D(2018, 3, 1), demolished_m2=120, user=user
    )
    attach_photos(rectification=first, photos=clean_photos([photo()]), user=user)
    relapse_record(enterprise=unit, found_on=D(2018, 4, 1), note="夜间偷偷开工", user=user)
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1), user=user)

    response = staff.get(unit.get_absolute_url())

    assert response.status_code == 200
    kinds = [(e["kind"], e["date"]) for e in response.context["timeline"]]
    assert kinds == [
        ("identified", D(2018, 1, 10)),
        ("rectification", D(2018, 3, 1)),
        ("relapse", D(2018, 4, 1)),  # the same day as the new rectification, and before it
        ("rectification", D(2018, 4, 1)),
    ]
    html = response.content.decode()
    for text in (
        "红星五金厂",
        "王*",
        "无证无照",
        "无环保措施",
        "拆除面积 120 ㎡",
        "夜间偷偷开工",
        "已于 2018-04-01 死灰复燃",
        "张三",
    ):
        assert text in html, text
    assert "王五" not in html
    assert reverse("enterprises:relapse", args=[unit.pk]) in html
    assert reverse("enterprises:rectify", args=[unit.pk]) not in html
    photo_row = RectificationPhoto.objects.get()
    assert reverse("enterprises:photo", args=[unit.pk, photo_row.pk]) in html


@pytest.mark.parametrize("periods", [1, 6])
def test_detail_query_count_does_not_grow_with_its_history(staff, user, django_assert_num_queries, periods):
    town = make_township()
    unit = make_unit(town, D(2018, 1, 1), created_by=user, village=make_village(town))
    for i in range(periods):
        day = D(2018, 1, 2) + datetime.timedelta(days=10 * i)
        rectification = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=day, user=user)
        attach_photos(
            rectification=rectification,
            photos=clean_photos([photo(color=(40 * i, 0, 0)), photo(color=(0, 40 * i, 90))]),
            user=user,
        )
        relapse_record(enterprise=unit, found_on=day + datetime.timedelta(days=5), user=user)
        inspection = inspection_record(
            kind="random", inspected_on=day, team="督查组", township=unit.township, user=user
        )
        finding_record(
            inspection=inspection, kind="other", description="台账不全", deadline=day, enterprise=unit, user=user
        )
    # session, the user with their role, the unit, its rectifications, their photos, its relapses,
    # its findings, look-backs and defect clearances, the history of the unit, of its
    # rectifications and of its relapses, and the users all these name (the township and village
    # the history names were loaded with the unit)
    with django_assert_num_queries(13):
        response = staff.get(unit.get_absolute_url())
    assert len(response.context["timeline"]) == 1 + 3 * periods
    html = response.content.decode()
    assert html.count("台账不全") == periods
    assert html.count("随机抽查发现问题") == periods  # the inspection's kind, read with the finding
    assert html.count(user.get_full_name() or user.get_username()) >= 1 + 3 * periods
    # created, then per period: rectified (+ the unit's status), relapsed (+ period, + status)
    assert len(response.context["history"]) == 1 + 5 * periods


def test_detail_of_a_unit_never_rectified_reads_no_rectification_records(staff, user, django_assert_num_queries):
    """No relapse, look-back or their history can exist without a rectification: not asked for."""
    town = make_township()
    unit = make_unit(town, D(2018, 1, 1), created_by=user, village=make_village(town))
    inspection = inspection_record(kind="cross", inspected_on=D(2018, 1, 5), team="督查组", township=town, user=user)
    finding_record(
        inspection=inspection, kind="not_done", description="漏报", deadline=D(2018, 1, 20), enterprise=unit, user=user
    )
    # session, the user with their role, the unit, its rectifications (none), its findings, its clearances, the
    # unit's history and the users named
    with django_assert_num_queries(8):
        response = staff.get(unit.get_absolute_url())
    html = response.content.decode()
    assert [e["kind"] for e in response.context["timeline"]] == ["identified", "finding"]
    assert "交叉督查发现问题" in html and "漏报" in html
    assert len(response.context["history"]) == 1


def test_a_photo_is_served_only_through_its_own_unit(staff, client, user):
    unit = make_unit(make_township())
    other = make_unit(make_township())
    rectification = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=unit.identified_on)
    (row,) = attach_photos(rectification=rectification, photos=clean_photos([photo()]), user=user)

    response = staff.get(reverse("enterprises:photo", args=[unit.pk, row.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert staff.get(reverse("enterprises:photo", args=[other.pk, row.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("enterprises:photo", args=[unit.pk, row.pk])).status_code == 302


# --- create and edit ---------------------------------------------------------------------------


def test_create_redirects_to_the_new_unit(staff, user):
    township = make_township("城关镇")
    data = {
        "name": "新发现作坊",
        "township": township.pk,
        "defects": ["unlicensed", "no_legal_premises"],
        "identified_on": "2018-06-01",
        "source": "complaint",
        "status": "open",
    }
    response = staff.post(reverse("enterprises:create"), data)
    unit = Enterprise.objects.get(name="新发现作坊")
    assert response.status_code == 302 and response["Location"] == unit.get_absolute_url()
    assert (unit.created_by, unit.unlicensed, unit.no_legal_premises, unit.unsafe) == (user, True, True, False)
    assert "已登记四无单位“新发现作坊”" in staff.get(response["Location"]).content.decode()


def test_create_form_shows_errors_in_chinese_next_to_the_fields(staff):
    response = staff.post(reverse("enterprises:create"), {"name": "", "identified_on": "2019-01-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "这个字段是必填项。" in html
    assert "请至少选择一项四无类型" in html
    assert "排查日期不能晚于今天（2018-06-30）" in html
    assert Enterprise.objects.count() == 0


def test_edit_saves_and_redirects(staff):
    township = make_township()
    unit = make_unit(township, D(2018, 2, 1), name="旧名")
    data = {
        "name": "新名",
        "township": township.pk,
        "defects": ["unsafe"],
        "identified_on": "2018-02-01",
        "source": "screening",
        "status": "in_progress",
        "version": unit.version,
    }
    response = staff.post(reverse("enterprises:edit", args=[unit.pk]), data)
    assert response.status_code == 302
    unit.refresh_from_db()
    assert (unit.name, unit.status, unit.unlicensed, unit.unsafe) == ("新名", Status.IN_PROGRESS, False, True)


def test_create_and_edit_pages_render(staff, django_assert_max_num_queries):
    township = make_township()
    for _ in range(20):
        make_village(township)
    unit = make_unit(township)
    # session, user, role, townships (whether there is only one, then the choices), villages (with
    # their townships), the picked campaign [, the unit, its first rectification]
    # (the unit has no owner or phone: opening its form records no viewing of personal data)
    with django_assert_max_num_queries(6 + PICKER_QUERIES):
        assert staff.get(reverse("enterprises:create")).status_code == 200
    with django_assert_max_num_queries(7 + PICKER_QUERIES):
        assert staff.get(reverse("enterprises:edit", args=[unit.pk])).status_code == 200


# --- rectify and relapse -----------------------------------------------------------------------


def test_rectify_with_photos_then_refresh_does_not_record_twice(staff, user):
    unit = make_unit(make_township(), D(2018, 3, 1))
    url = reverse("enterprises:rectify", args=[unit.pk])
    data = {
        "method": "demolished",
        "rectified_on": "2018-06-29",
        "demolished_m2": "88.5",
        "note": "彩钢棚已拆除",
        "photos": [photo("1.jpg", (255, 0, 0)), photo("2.jpg", (0, 0, 255))],
    }

    response = staff.post(url, data)

    assert response.status_code == 302 and response["Location"] == unit.get_absolute_url()
    unit.refresh_from_db()
    assert unit.status == Status.RECTIFIED
    rectification = Rectification.objects.get(enterprise=unit)
    assert rectification.photos.count() == 2
    # The browser lands on the detail page; refreshing it is a GET. Posting the form again is refused.
    assert "已登记" in staff.get(response["Location"]).content.decode()
    again = staff.post(url, {**data, "photos": [photo("1.jpg", (255, 0, 0))]})
    assert again.status_code == 200
    assert "该单位已整治，如发现死灰复燃请先登记复发" in again.content.decode()
    assert Rectification.objects.filter(enterprise=unit).count() == 1
    assert RectificationPhoto.objects.count() == 2


@pytest.mark.parametrize(
    "data,message",
    [
        ({"rectified_on": "2018-02-01"}, "整治完成日期不能早于排查日期（2018-03-01）"),
        ({"rectified_on": "2018-07-01"}, "整治完成日期不能晚于今天（2018-06-30）"),
        ({"demolished_m2": "-1"}, "拆除面积不能为负数"),
        ({"photos": [SimpleUploadedFile("a.jpg", b"GIF89a-not-really", "image/jpeg")]}, "文件“a.jpg”不是有效的图片"),
    ],
    ids=["before-identified", "future", "negative-area", "not-an-image"],
)
def test_rectify_rejects_bad_input_and_writes_nothing(staff, tmp_path, data, message):
    unit = make_unit(make_township(), D(2018, 3, 1))
    post = {"method": "closed", "rectified_on": "2018-05-01", "demolished_m2": "", **data}
    response = staff.post(reverse("enterprises:rectify", args=[unit.pk]), post)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Rectification.objects.exists()
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.jpg"))


def test_rectify_page_of_a_rectified_unit_sends_back_to_the_unit(staff):
    unit = make_unit(make_township(), D(2018, 3, 1))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    response = staff.get(reverse("enterprises:rectify", args=[unit.pk]))
    assert response.status_code == 302 and response["Location"] == unit.get_absolute_url()


def test_relapse_reopens_and_redirects(staff, user):
    unit = make_unit(make_township(), D(2018, 3, 1))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    url = reverse("enterprises:relapse", args=[unit.pk])
    assert staff.get(url).status_code == 200

    response = staff.post(url, {"found_on": "2018-06-01", "note": "又开工了"})

    assert response.status_code == 302 and response["Location"] == unit.get_absolute_url()
    unit.refresh_from_db()
    assert unit.status == Status.OPEN
    relapse = Relapse.objects.get()
    assert (relapse.found_on, relapse.created_by) == (D(2018, 6, 1), user)
    again = staff.post(url, {"found_on": "2018-06-02"})
    assert again.status_code == 200
    assert "该单位当前不是已整治状态，无法登记死灰复燃" in again.content.decode()


def test_relapse_before_the_rectification_is_refused_next_to_the_date(staff):
    unit = make_unit(make_township(), D(2018, 3, 1))
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    response = staff.post(reverse("enterprises:relapse", args=[unit.pk]), {"found_on": "2018-03-15"})
    assert response.status_code == 200
    assert response.context["form"].errors["found_on"] == ["发现日期须晚于整治完成日期（2018-04-01）"]
    assert not Relapse.objects.exists()


# --- who may do what (SPEC 4) ------------------------------------------------------------------

WRITE_PAGES = ["edit", "rectify", "relapse", "delete"]


@pytest.fixture
def two_townships():
    east, west = make_township("东城街道"), make_township("西山镇")
    return east, west


def login_as(client, role, township=None, username="u"):
    user = make_user(username, role=role, township=township)
    client.force_login(user)
    return user


@pytest.mark.parametrize("name", ["detail", *WRITE_PAGES])
def test_township_staff_do_not_find_another_townships_unit(client, two_townships, name, caplog):
    east, west = two_townships
    unit = make_unit(west, D(2018, 3, 1))
    login_as(client, "township_staff", east)
    assert client.get(reverse(f"enterprises:{name}", args=[unit.pk])).status_code == 404
    if name != "detail":
        assert client.post(reverse(f"enterprises:{name}", args=[unit.pk]), {"reason": "x"}).status_code == 404
    # The refusal is logged (core.access.get_scoped_or_404); the answer leaks nothing.
    assert "outside scope" in caplog.text
    unit.refresh_from_db()
    assert (unit.version, unit.deleted_at) == (1, None)


def test_township_staff_do_not_see_another_townships_photo(client, two_townships, user):
    east, west = two_townships
    unit = make_unit(west, D(2018, 3, 1))
    rectification = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    (row,) = attach_photos(rectification=rectification, photos=clean_photos([photo()]), user=user)
    login_as(client, "township_staff", east)
    assert client.get(reverse("enterprises:photo", args=[unit.pk, row.pk])).status_code == 404
    login_as(client, "township_staff", west, username="w")
    assert client.get(reverse("enterprises:photo", args=[unit.pk, row.pk])).status_code == 200


@pytest.mark.parametrize("role", ["city_viewer", "inspector"])
@pytest.mark.parametrize("name", WRITE_PAGES)
def test_readers_may_not_write_a_unit(client, two_townships, role, name):
    unit = make_unit(two_townships[0], D(2018, 3, 1))
    login_as(client, role)
    assert client.get(unit.get_absolute_url()).status_code == 200
    assert client.get(reverse(f"enterprises:{name}", args=[unit.pk])).status_code == 403
    assert client.post(reverse(f"enterprises:{name}", args=[unit.pk]), {"reason": "x"}).status_code == 403
    unit.refresh_from_db()
    assert (unit.version, unit.deleted_at) == (1, None)


@pytest.mark.parametrize("role", ["city_viewer", "inspector"])
def test_readers_see_no_write_buttons(client, two_townships, role):
    unit = make_unit(two_townships[0], D(2018, 3, 1))
    login_as(client, role)
    html = client.get(unit.get_absolute_url()).content.decode()
    for name in WRITE_PAGES:
        assert reverse(f"enterprises:{name}", args=[unit.pk]) not in html
    assert reverse("enterprises:create") not in client.get(reverse("enterprises:list")).content.decode()
    assert client.get(reverse("enterprises:create")).status_code == 403


def unit_post(township, **overrides):
    data = {
        "name": "新发现作坊",
        "township": township.pk,
        "defects": ["unlicensed"],
        "identified_on": "2018-06-01",
        "source": "screening",
        "status": "open",
    }
    data.update(overrides)
    return data


def test_township_staff_are_offered_only_their_township(client, two_townships):
    east, west = two_townships
    make_village(east, "东村")
    make_village(west, "西村")
    login_as(client, "township_staff", east)
    form = client.get(reverse("enterprises:create")).context["form"]
    assert list(form.fields["township"].queryset) == [east]
    assert [v.name for v in form.fields["village"].queryset] == ["东村"]
    f = client.get(reverse("enterprises:list")).context["filter"]
    assert list(f.form.fields["township"].queryset) == [east]
    assert [v.name for v in f.form.fields["village"].queryset] == ["东村"]


def test_a_forged_township_is_refused_on_create_edit_and_filter(client, two_townships):
    east, west = two_townships
    login_as(client, "township_staff", east)

    response = client.post(reverse("enterprises:create"), unit_post(west))
    assert response.status_code == 200
    assert "township" in response.context["form"].errors
    assert not Enterprise.objects.exists()

    unit = make_unit(east, D(2018, 3, 1))
    response = client.post(reverse("enterprises:edit", args=[unit.pk]), unit_post(west, version=unit.version))
    assert "township" in response.context["form"].errors
    unit.refresh_from_db()
    assert unit.township == east

    response = client.get(reverse("enterprises:list"), {"township": [west.pk]})
    assert "township" in response.context["filter"].errors


def test_township_staff_register_a_unit_in_their_township(client, two_townships):
    east, _west = two_townships
    user = login_as(client, "township_staff", east)
    response = client.post(reverse("enterprises:create"), unit_post(east))
    assert response.status_code == 302
    unit = Enterprise.objects.get()
    assert (unit.township, unit.created_by) == (east, user)


# --- soft delete -------------------------------------------------------------------------------


def progress_of(campaign, township):
    from reports.progress import progress_report

    report = progress_report(campaign, TODAY).as_json()
    return next(row for row in report["townships"] if row["name"] == township.name)


def test_deleting_a_unit_hides_it_everywhere_and_restoring_brings_it_back(client, campaign, two_townships):
    from tests.factories import set_target

    east, _west = two_townships
    set_target(campaign, east, 10)
    keep = make_unit(east, D(2018, 3, 1), name="留下的")
    unit = make_unit(east, D(2018, 3, 2), name="重复登记的")
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    staff_user = login_as(client, "township_staff", east)
    before = progress_of(campaign, east)
    assert (before["identified"], before["rectified"]) == (2, 1)

    page = client.get(reverse("enterprises:delete", args=[unit.pk]))
    assert page.status_code == 200
    refused = client.post(reverse("enterprises:delete", args=[unit.pk]), {"reason": "   "})
    assert refused.context["form"].errors["reason"] == ["请填写原因"]
    response = client.post(reverse("enterprises:delete", args=[unit.pk]), {"reason": "与 12 号重复登记"})

    assert response.status_code == 302 and response["Location"] == reverse("enterprises:list")
    unit.refresh_from_db()
    assert (unit.deleted_by, unit.deletion_reason, unit.version) == (staff_user, "与 12 号重复登记", 3)
    listing = client.get(reverse("enterprises:list"))
    assert [u.name for u in listing.context["page"].object_list] == ["留下的"]
    assert "已删除“重复登记的”" in listing.content.decode()
    assert client.get(unit.get_absolute_url()).status_code == 404
    after = progress_of(campaign, east)
    assert (after["identified"], after["rectified"]) == (1, 0)
    # Township staff cannot undo it themselves: the deleted unit is out of their sight.
    assert client.post(reverse("enterprises:undelete", args=[unit.pk])).status_code == 404
    assert client.get(reverse("enterprises:deleted")).status_code == 403

    admin = login_as(client, "city_admin", username="admin")
    deleted = client.get(reverse("enterprises:deleted"))
    assert [u.name for u in deleted.context["page"].object_list] == ["重复登记的"]
    assert "与 12 号重复登记" in deleted.content.decode()
    response = client.post(reverse("enterprises:undelete", args=[unit.pk]))

    assert response.status_code == 302 and response["Location"] == unit.get_absolute_url()
    unit.refresh_from_db()
    assert (unit.deleted_at, unit.deleted_by, unit.deletion_reason) == (None, None, "")
    assert progress_of(campaign, east) == before
    assert client.get(reverse("enterprises:list")).context["counts"]["total"] == 2
    assert [(h.history_user, h.history_change_reason) for h in unit.history.all()[:2]] == [
        (admin, "撤销删除"),
        (staff_user, "与 12 号重复登记"),
    ]
    assert keep.pk  # untouched


def test_a_unit_whose_credit_code_was_reused_cannot_be_restored(staff, user):
    from enterprises.credit_code import make_credit_code
    from enterprises.services import unit_delete

    code = make_credit_code("9", "1", "330102", "12345678")
    township = make_township()
    old = make_unit(township, credit_code=code, name="旧")
    unit_delete(enterprise=old, user=user, reason="录错")
    make_unit(township, credit_code=code, name="新")
    response = staff.post(reverse("enterprises:undelete", args=[old.pk]), follow=True)
    assert f"统一社会信用代码 {code} 已登记为“新”，无法恢复" in response.content.decode()
    old.refresh_from_db()
    assert old.is_deleted


def test_deleted_units_list_query_count(staff, user, django_assert_num_queries):
    from enterprises.services import unit_delete

    for unit in build_register(30, user):
        unit_delete(enterprise=unit, user=user, reason="测试")
    # session, the user with their role, paginator count, the page's units (with township, village, deleter)
    with django_assert_num_queries(4):
        response = staff.get(reverse("enterprises:deleted"))
    assert len(response.context["page"].object_list) == PAGE_SIZE


# --- withdrawing a rectification or relapse ----------------------------------------------------


def withdraw_url(unit, kind, event):
    return reverse("enterprises:withdraw", args=[unit.pk, kind, event.pk])


def test_withdrawing_the_latest_rectification_makes_the_unit_open_again(staff, user):
    unit = make_unit(make_township(), D(2018, 3, 1))
    rectification = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    detail = staff.get(unit.get_absolute_url()).content.decode()
    assert withdraw_url(unit, "rectification", rectification) in detail

    assert staff.get(withdraw_url(unit, "rectification", rectification)).status_code == 200
    response = staff.post(withdraw_url(unit, "rectification", rectification), {"reason": "录错了单位"})

    assert response.status_code == 302
    unit.refresh_from_db()
    rectification.refresh_from_db()
    assert unit.status == Status.OPEN
    assert (rectification.deleted_by, rectification.deletion_reason) == (user, "录错了单位")
    html = staff.get(unit.get_absolute_url()).content.decode()
    assert re.search(r"已由 张三 于 [\d-]+ [\d:]+ 撤回，原因：录错了单位", html)
    assert reverse("enterprises:reinstate", args=[unit.pk, "rectification", rectification.pk]) in html
    # The unit can be rectified again, now with the right date.
    rectification_record(enterprise=unit, method=Method.UPGRADED, rectified_on=D(2018, 5, 1))


def test_withdrawing_a_relapse_restores_the_period_it_reopened(staff):
    unit = make_unit(make_township(), D(2018, 3, 1))
    period = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    relapse = relapse_record(enterprise=unit, found_on=D(2018, 5, 1))
    # Only the latest event may be withdrawn: the rectification under the relapse may not.
    refused = staff.post(withdraw_url(unit, "rectification", period), {"reason": "x"})
    assert "只能撤回该单位最近的一条整治或复发记录" in refused.content.decode()

    response = staff.post(withdraw_url(unit, "relapse", relapse), {"reason": "误报"})

    assert response.status_code == 302
    unit.refresh_from_db()
    period.refresh_from_db()
    assert (unit.status, period.reopened_on) == (Status.RECTIFIED, None)

    # Undo the withdrawal: the relapse stands again and re-opens the period.
    staff.post(reverse("enterprises:reinstate", args=[unit.pk, "relapse", relapse.pk]))
    unit.refresh_from_db()
    period.refresh_from_db()
    relapse.refresh_from_db()
    assert (unit.status, period.reopened_on, relapse.deleted_at) == (Status.OPEN, D(2018, 5, 1), None)


def test_a_withdrawal_is_not_undone_once_it_no_longer_fits(staff):
    unit = make_unit(make_township(), D(2018, 3, 1))
    first = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    staff.post(withdraw_url(unit, "rectification", first), {"reason": "日期错了"})
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 5))

    response = staff.post(reverse("enterprises:reinstate", args=[unit.pk, "rectification", first.pk]), follow=True)

    assert "无法恢复这条整治记录" in response.content.decode()
    first.refresh_from_db()
    assert first.deleted_at is not None
    assert Rectification.objects.alive().filter(enterprise=unit).count() == 1


def test_withdraw_of_an_unknown_kind_is_not_found(staff):
    unit = make_unit(make_township(), D(2018, 3, 1))
    rectification = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    assert staff.get(withdraw_url(unit, "photo", rectification)).status_code == 404


# --- two people editing one unit ---------------------------------------------------------------


def edit_data(unit, **overrides):
    data = {
        "name": unit.name,
        "township": unit.township_id,
        "village": unit.village_id or "",
        "address": unit.address,
        "defects": [d.value for d in unit.defects],
        "identified_on": unit.identified_on.isoformat(),
        "source": unit.source,
        "status": unit.status,
        "owner": unit.owner,
        "phone": unit.phone,
        "version": unit.version,
    }
    data.update(overrides)
    return data


def test_a_stale_edit_is_refused_and_both_peoples_input_survive(client, user):
    township = make_township()
    unit = make_unit(township, D(2018, 3, 1), name="红星厂", address="解放路 1 号", owner="王五")
    other = make_user("lisi", first_name="李四")
    first, second = client, type(client)()
    first.force_login(other)
    second.force_login(user)
    # Both open the edit page at version 1.
    first_form = first.get(reverse("enterprises:edit", args=[unit.pk])).context["form"]
    second_form = second.get(reverse("enterprises:edit", args=[unit.pk])).context["form"]
    assert first_form["version"].value() == second_form["version"].value() == 1

    url = reverse("enterprises:edit", args=[unit.pk])
    assert first.post(url, edit_data(unit, address="解放路 9 号")).status_code == 302
    response = second.post(
        reverse("enterprises:edit", args=[unit.pk]), edit_data(unit, name="红星五金厂", owner="王小五")
    )

    assert response.status_code == 200
    unit.refresh_from_db()
    # The first person's change is saved, and the second did not overwrite it.
    assert (unit.address, unit.name, unit.owner, unit.version) == ("解放路 9 号", "红星厂", "王五", 2)
    html = response.content.decode()
    assert "保存未成功：该单位已被他人修改" in html
    conflict = response.context["conflict"]
    assert [(e.user, [(c.label, c.old, c.new) for c in e.changes]) for e in conflict] == [
        (other, [("地址", "解放路 1 号", "解放路 9 号")])
    ]
    assert "李四" in html and "解放路 1 号" in html
    # The second person's input is still in the form, with the first person's change merged into
    # the field the second left alone; the form now carries the new version.
    form = response.context["form"]
    assert (form["name"].value(), form["owner"].value(), form["address"].value(), form["version"].value()) == (
        "红星五金厂",
        "王小五",
        "解放路 9 号",
        "2",
    )
    assert 'value="红星五金厂"' in html
    assert response.context["merge"] == {"taken": ["地址"], "clashes": []}
    assert "您未改动的字段已换成对方保存的内容：地址。" in html

    # Saving again keeps both people's input.
    again = second.post(url, form.data)
    assert again.status_code == 302
    unit.refresh_from_db()
    assert (unit.name, unit.owner, unit.address, unit.version) == ("红星五金厂", "王小五", "解放路 9 号", 3)


def test_when_both_change_the_same_field_the_form_keeps_this_users_value_and_says_so(staff, user):
    township = make_township()
    unit = make_unit(township, D(2018, 3, 1), name="红星厂", unsafe=False)
    data = edit_data(unit, name="红星五金厂", defects=["unlicensed", "unsafe"])
    other = Enterprise.objects.get(pk=unit.pk)
    other.name, other.no_env_measures = "红星加工厂", True
    from enterprises.services import unit_update

    unit_update(enterprise=other, version=1, user=make_user("lisi"))

    response = staff.post(reverse("enterprises:edit", args=[unit.pk]), data)

    assert response.context["merge"] == {"taken": ["四无类型"], "clashes": ["单位名称"]}
    form = response.context["form"]
    assert form["name"].value() == "红星五金厂"
    # Defects merge one by one: this user added 无安全保障, the other 无环保措施.
    assert form.data.getlist("defects") == ["unlicensed", "unsafe", "no_env_measures"]
    assert "您和对方都改了：单位名称。" in response.content.decode()


def test_an_edit_read_before_a_rectification_is_refused(staff):
    unit = make_unit(make_township(), D(2018, 3, 1))
    data = edit_data(unit, status="in_progress")
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))

    response = staff.post(reverse("enterprises:edit", args=[unit.pk]), data)

    assert response.status_code == 200
    unit.refresh_from_db()
    assert (unit.status, unit.version) == (Status.RECTIFIED, 2)
    changes = [(c.label, c.old, c.new) for e in response.context["conflict"] for c in e.changes]
    assert changes == [("整治状态", "未整治", "已整治")]
    # The unit is rectified now: the form no longer offers its status.
    assert "status" not in response.context["form"].fields


def test_an_edit_of_a_unit_deleted_meanwhile_is_not_saved(staff, user):
    from enterprises.services import unit_delete

    unit = make_unit(make_township(), D(2018, 3, 1))
    data = edit_data(unit, name="改名")
    unit_delete(enterprise=unit, user=user, reason="重复")
    assert staff.post(reverse("enterprises:edit", args=[unit.pk]), data).status_code == 404
    unit.refresh_from_db()
    assert unit.name != "改名"
    assert unit.version == 2  # the deletion's


# --- personal data -----------------------------------------------------------------------------


def personal_views():
    from django.contrib.admin.models import LogEntry

    return list(LogEntry.objects.filter(change_message="查看完整联系方式").values_list("user__username", "object_id"))


@pytest.fixture
def owned_unit(two_townships):
    return make_unit(two_townships[0], D(2018, 3, 1), name="红星厂", owner="张三丰", phone="13812341234")


def test_the_list_masks_owner_and_phone_for_everyone(client, owned_unit):
    login_as(client, "city_admin")
    html = client.get(reverse("enterprises:list")).content.decode()
    assert "张**" in html and "138****1234" in html
    assert "张三丰" not in html and "13812341234" not in html


@pytest.mark.parametrize("role", ["city_admin", "township_staff", "city_viewer", "inspector"])
def test_the_unit_page_masks_owner_and_phone(client, owned_unit, role):
    login_as(client, role, owned_unit.township)
    html = client.get(owned_unit.get_absolute_url()).content.decode()
    assert '<dd data-personal="owner">张**</dd>' in html
    assert '<dd data-personal="phone">138****1234</dd>' in html
    assert "张三丰" not in html and "13812341234" not in html
    may_see = role in {"city_admin", "township_staff"}
    assert ("查看完整信息" in html) == may_see


@pytest.mark.parametrize("role", ["city_admin", "township_staff"])
def test_seeing_the_full_values_is_recorded(client, owned_unit, role, caplog):
    user = login_as(client, role, owned_unit.township)
    caplog.set_level("INFO", logger="siwu.personal_data")
    response = client.post(reverse("enterprises:contact", args=[owned_unit.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd data-personal="owner">张三丰</dd>' in html
    assert 'href="tel:13812341234"' in html
    assert response["Cache-Control"] == "no-store"
    assert personal_views() == [(user.username, str(owned_unit.pk))]
    assert f"personal data of unit {owned_unit.pk} shown to user {user.pk}" in caplog.text


@pytest.mark.parametrize("role", ["city_viewer", "inspector"])
def test_readers_cannot_see_the_full_values(client, owned_unit, role):
    login_as(client, role)
    assert client.post(reverse("enterprises:contact", args=[owned_unit.pk])).status_code == 403
    assert personal_views() == []


def test_staff_of_another_township_cannot_see_the_full_values(client, owned_unit, two_townships):
    login_as(client, "township_staff", two_townships[1])
    assert client.post(reverse("enterprises:contact", args=[owned_unit.pk])).status_code == 404
    assert personal_views() == []


def test_opening_the_edit_form_is_a_recorded_viewing(client, owned_unit):
    user = login_as(client, "township_staff", owned_unit.township)
    html = client.get(reverse("enterprises:edit", args=[owned_unit.pk])).content.decode()
    assert 'value="张三丰"' in html
    assert personal_views() == [(user.username, str(owned_unit.pk))]


def test_history_on_the_unit_page_masks_personal_data(client, owned_unit):
    user = login_as(client, "city_admin")
    client.post(reverse("enterprises:edit", args=[owned_unit.pk]), edit_data(owned_unit, owner="李四光"))
    html = client.get(owned_unit.get_absolute_url()).content.decode()
    assert "<del>张**</del> → <ins>李**</ins>" in html
    revealed = client.post(reverse("enterprises:contact", args=[owned_unit.pk])).content.decode()
    assert "<del>张三丰</del> → <ins>李四光</ins>" in revealed
    assert user.pk


# --- the unit page shows its history -----------------------------------------------------------


def test_the_unit_page_shows_who_changed_what_from_where(client, user):
    township = make_township("城关镇")
    unit = make_unit(township, D(2018, 3, 1), name="旧名", address="东街")
    client.force_login(user)
    client.post(
        reverse("enterprises:edit", args=[unit.pk]),
        edit_data(unit, name="新名", address="西街", status="in_progress"),
        REMOTE_ADDR="10.8.0.7",
    )
    client.post(
        reverse("enterprises:rectify", args=[unit.pk]),
        {"method": "closed", "rectified_on": "2018-05-01"},
        REMOTE_ADDR="10.8.0.7",
    )

    response = client.get(unit.get_absolute_url())

    history = response.context["history"]
    edit = next(e for e in history if e.model_key == "enterprises.enterprise" and e.record.version == 2)
    assert (edit.user, edit.address, edit.action_label) == (user, "10.8.0.7", "修改")
    assert [(c.label, c.old, c.new) for c in edit.changes] == [
        ("单位名称", "旧名", "新名"),
        ("地址", "东街", "西街"),
        ("整治状态", "未整治", "整治中"),
    ]
    created = next(e for e in history if e.model_key == "enterprises.rectification")
    assert created.action_label == "新建"
    assert ("整治方式", "", "关停取缔") in [(c.label, c.old, c.new) for c in created.changes]
    html = response.content.decode()
    for text in ("变更记录", "来自 10.8.0.7", "<del>旧名</del> → <ins>新名</ins>", "整治记录", "张三"):
        assert text in html, text
