import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enterprises.models import Enterprise, Method, Rectification, RectificationPhoto, Relapse, Status
from enterprises.photos import attach_photos, clean_photos
from enterprises.services import rectification_record, relapse_record
from enterprises.views import PAGE_SIZE
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


def test_a_soft_deleted_unit_is_not_found(staff):
    unit = make_unit(make_township(), deleted_at=datetime.datetime(2018, 5, 1, tzinfo=datetime.UTC))
    assert staff.get(unit.get_absolute_url()).status_code == 404
    assert staff.get(reverse("enterprises:list")).context["counts"]["total"] == 0


# --- list --------------------------------------------------------------------------------------

# session, user, the user's role (groups), industry choices, premises choices, counts, paginator
# count, page rows, and the filter form's township and village choices.
LIST_QUERIES = 10


@pytest.mark.parametrize("n", [5, 60])
def test_register_query_count_does_not_grow_with_units(staff, user, django_assert_num_queries, n):
    build_register(n, user)
    with django_assert_num_queries(LIST_QUERIES):
        response = staff.get(reverse("enterprises:list"))
    assert response.status_code == 200
    assert response.context["counts"]["total"] == n


def test_filtered_register_query_count_is_the_same(staff, user, django_assert_num_queries):
    units = build_register(60, user)
    query = {
        "township": [units[0].township_id],
        "status": ["open", "rectified"],
        "method": ["closed", "demolished", "upgraded"],
        "unsafe": "false",
        "rectified_from": "2018-01-01",
        "q": "单位",
        "page": "1",
    }
    with django_assert_num_queries(LIST_QUERIES):
        response = staff.get(reverse("enterprises:list"), query)
    assert response.status_code == 200
    assert response.context["filter"].is_valid()


def test_register_counts_the_filtered_list_and_pages_it(staff, user):
    build_register(60, user)
    response = staff.get(reverse("enterprises:list"))
    # i % 3 == 0 rectified (20), half of those relapsed (10): 10 rectified, 50 open.
    assert response.context["counts"] == {"total": 60, "open": 50, "in_progress": 0, "rectified": 10}
    page = response.context["page"]
    assert (page.paginator.count, page.paginator.num_pages, len(page.object_list)) == (60, 3, PAGE_SIZE)
    html = response.content.decode()
    assert 'data-count="total">60<' in html
    assert "第 1 / 3 页" in html

    last = staff.get(reverse("enterprises:list"), {"unsafe": "true", "page": "2"})
    assert last.context["counts"]["total"] == 30
    assert len(last.context["page"].object_list) == 5
    # Page links keep the filter.
    assert "?unsafe=true&amp;page=1" in last.content.decode()


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
        "王五",
        "无证无照",
        "无环保措施",
        "拆除面积 120 ㎡",
        "夜间偷偷开工",
        "已于 2018-04-01 死灰复燃",
        "张三",
    ):
        assert text in html, text
    assert reverse("enterprises:relapse", args=[unit.pk]) in html
    assert reverse("enterprises:rectify", args=[unit.pk]) not in html
    photo_row = RectificationPhoto.objects.get()
    assert reverse("enterprises:photo", args=[unit.pk, photo_row.pk]) in html


@pytest.mark.parametrize("periods", [1, 6])
def test_detail_query_count_does_not_grow_with_its_history(staff, user, django_assert_num_queries, periods):
    unit = make_unit(make_township(), D(2018, 1, 1), created_by=user)
    for i in range(periods):
        day = D(2018, 1, 2) + datetime.timedelta(days=10 * i)
        rectification = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=day, user=user)
        attach_photos(
            rectification=rectification,
            photos=clean_photos([photo(color=(40 * i, 0, 0)), photo(color=(0, 40 * i, 90))]),
            user=user,
        )
        relapse_record(enterprise=unit, found_on=day + datetime.timedelta(days=5), user=user)
    # session, user, the unit, its rectifications, their photos, its relapses
    with django_assert_num_queries(7):  # + the user's role
        response = staff.get(unit.get_absolute_url())
    assert len(response.context["timeline"]) == 1 + 2 * periods


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
    # session, user, role, townships, villages (with their townships) [, the unit, its first rectification]
    with django_assert_max_num_queries(5):
        assert staff.get(reverse("enterprises:create")).status_code == 200
    with django_assert_max_num_queries(6):
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
