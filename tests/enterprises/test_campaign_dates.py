"""The register's dates follow the campaign picked (issue 19.1).

Every date a register form records starts at the picked campaign's as-of day (no later than today,
no earlier than the record allows); a date outside the campaign's year is saved only once the
user confirms that very date. And the pages that count open and rectified units agree on what
they count: a rectification recorded with the form's own date is counted by the campaign's report
on the picked day, and the register says its totals are today's, linking to the report of that day.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enterprises.models import Enterprise, Method, Rectification, Relapse, Status
from enterprises.services import rectification_record, relapse_record
from reports.progress import progress_report
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_campaign, make_township, make_unit, make_user, set_target

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2019, 3, 10)  # the 2019 campaign is on; the 2018 one is over


@pytest.fixture(autouse=True)
def today(frozen_today, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return frozen_today(TODAY)


@pytest.fixture
def w(db):
    class World:
        pass

    world = World()
    world.c2018 = make_campaign()
    world.c2019 = make_campaign(slug="c2019", year=2019)
    world.town = make_township("城关镇")
    world.staff = make_user("chengguan", role="township_staff", township=world.town)
    world.open = make_unit(world.town, D(2018, 1, 10), name="创业塑料造粒厂")
    world.late = make_unit(world.town, D(2018, 8, 1), name="八月才排查的作坊")
    world.done = make_unit(world.town, D(2018, 1, 10), name="已关停作坊")
    rectification_record(enterprise=world.done, method=Method.CLOSED, rectified_on=D(2018, 3, 1))
    return world


def photo():
    return SimpleUploadedFile("现场.jpg", make_image_bytes(), "image/jpeg")


# --- where a date starts ---------------------------------------------------------------------------

FORMS = {
    "create": (lambda w: reverse("enterprises:create"), "identified_on"),
    "rectify": (lambda w: reverse("enterprises:rectify", args=[w.open.pk]), "rectified_on"),
    "relapse": (lambda w: reverse("enterprises:relapse", args=[w.done.pk]), "found_on"),
}


def initial(client, w, name, query=""):
    url, field = FORMS[name]
    response = client.get(url(w) + (f"?{query}" if query else ""))
    assert response.status_code == 200
    return response.context["form"][field].value()


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_register_date_starts_at_the_picked_as_of_day_never_after_today(client, w, name):
    client.force_login(w.staff)
    # Without a choice: the current campaign (2019) as of today.
    assert initial(client, w, name) == TODAY
    # 2018 is over: its as-of day is its last day, not today (the field's defect: today was offered).
    assert initial(client, w, name, "campaign=c2018") == D(2018, 12, 31)
    assert initial(client, w, name, "campaign=c2018&as_of=2018-06-15") == D(2018, 6, 15)
    # A day ahead of today: today, as future days are refused.
    assert initial(client, w, name, "campaign=c2019&as_of=2019-09-30") == TODAY


def test_a_date_never_starts_before_the_record_allows_it(client, w):
    client.force_login(w.staff)
    rectify = reverse("enterprises:rectify", args=[w.late.pk])
    assert client.get(rectify + "?campaign=c2018&as_of=2018-06-15").context["form"]["rectified_on"].value() == D(
        2018, 8, 1
    )
    relapse = reverse("enterprises:relapse", args=[w.done.pk])
    assert client.get(relapse + "?campaign=c2018&as_of=2018-02-01").context["form"]["found_on"].value() == D(2018, 3, 2)


def test_the_unit_page_passes_the_picked_day_on_to_its_forms(client, w):
    client.force_login(w.staff)
    html = client.get(w.open.get_absolute_url() + "?campaign=c2018&as_of=2018-06-15").content.decode()
    assert f"{reverse('enterprises:rectify', args=[w.open.pk])}?campaign=c2018&amp;as_of=2018-06-15" in html
    # Without a choice the links stay plain: the forms then start at the default.
    html = client.get(w.open.get_absolute_url()).content.decode()
    assert f'href="{reverse("enterprises:rectify", args=[w.open.pk])}"' in html


# --- a date outside the campaign's year ------------------------------------------------------------


def test_a_rectification_dated_outside_the_year_is_saved_only_once_that_date_is_confirmed(client, w):
    client.force_login(w.staff)
    url = reverse("enterprises:rectify", args=[w.open.pk]) + "?campaign=c2018"
    data = {"method": Method.RELOCATED, "rectified_on": TODAY.isoformat()}

    warned = client.post(url, {**data, "photos": photo()})

    assert warned.status_code == 200
    errors = warned.context["form"].errors
    assert errors["rectified_on"] == [
        "2019-03-10 不在2018年“四无”生产经营单位整治行动的年度内（2018-01-01 至 2018-12-31），请核对"
    ]
    assert errors["photos"] == ["照片尚未保存：确认日期后请重新选择照片再提交"]
    html = warned.content.decode()
    assert 'name="confirm_dates" value="2019-03-10"' in html
    assert "确认日期 <span data-date-text>2019-03-10</span> 不在整治行动年度内，仍然保存" in html
    assert not Rectification.objects.filter(enterprise=w.open).exists()

    # A tick for another date confirms nothing.
    again = client.post(url, {**data, "photos": photo(), "confirm_dates": "2019-03-09"})
    assert "rectified_on" in again.context["form"].errors
    assert not Rectification.objects.filter(enterprise=w.open).exists()

    saved = client.post(url, {**data, "photos": photo(), "confirm_dates": "2019-03-10"})

    assert saved.status_code == 302
    rectification = Rectification.objects.get(enterprise=w.open)
    assert (rectification.rectified_on, rectification.photos.count()) == (TODAY, 1)


def test_a_date_inside_the_picked_year_asks_nothing(client, w):
    client.force_login(w.staff)
    url = reverse("enterprises:rectify", args=[w.open.pk]) + "?campaign=c2018"
    page = client.get(url).content.decode()
    # The confirmation is on the page for the script, hidden; the date input names the year.
    assert 'data-campaign-start="2018-01-01" data-campaign-end="2018-12-31"' in page
    assert 'data-date-check="id_rectified_on" hidden' in page
    response = client.post(url, {"method": Method.CLOSED, "rectified_on": "2018-12-31", "photos": photo()})
    assert response.status_code == 302
    assert Rectification.objects.get(enterprise=w.open).rectified_on == D(2018, 12, 31)


def test_a_relapse_found_outside_the_year_asks_first(client, w):
    client.force_login(w.staff)
    url = reverse("enterprises:relapse", args=[w.done.pk]) + "?campaign=c2018"
    data = {"found_on": "2019-02-01", "note": "夜间又在生产"}
    warned = client.post(url, data)
    assert "不在2018年“四无”生产经营单位整治行动的年度内" in warned.context["form"].errors["found_on"][0]
    assert 'name="confirm_dates" value="2019-02-01"' in warned.content.decode()
    assert not Relapse.objects.exists()
    assert client.post(url, {**data, "confirm_dates": "2019-02-01"}).status_code == 302
    assert Relapse.objects.get().found_on == D(2019, 2, 1)


def test_a_new_unit_identified_outside_the_year_asks_first(client, w):
    client.force_login(w.staff)
    url = reverse("enterprises:create")  # the current campaign: 2019
    data = {
        "name": "去年底发现的洗车点",
        "township": w.town.pk,
        "defects": ["unlicensed"],
        "identified_on": "2018-12-28",
        "source": "screening",
        "status": "open",
    }
    warned = client.post(url, data)
    assert warned.context["form"].errors["identified_on"] == [
        "2018-12-28 不在2019年“四无”生产经营单位整治行动的年度内（2019-01-01 至 2019-12-31），请核对"
    ]
    assert not Enterprise.objects.filter(name="去年底发现的洗车点").exists()
    assert client.post(url, {**data, "confirm_dates": "2018-12-28"}).status_code == 302
    assert Enterprise.objects.get(name="去年底发现的洗车点").identified_on == D(2018, 12, 28)


def test_editing_a_unit_asks_only_when_its_date_changes_to_one_outside_the_year(client, w):
    client.force_login(w.staff)
    url = reverse("enterprises:edit", args=[w.open.pk])  # identified 2018-01-10, outside 2019
    data = {
        "name": "创业塑料造粒厂",
        "township": w.town.pk,
        "defects": ["unlicensed"],
        "identified_on": "2018-01-10",
        "source": "screening",
        "status": "in_progress",
        "version": w.open.version,
    }
    assert client.post(url, data).status_code == 302  # its own date: nothing to confirm
    w.open.refresh_from_db()
    assert w.open.status == Status.IN_PROGRESS
    moved = client.post(url, {**data, "identified_on": "2018-01-12", "version": w.open.version})
    assert "identified_on" in moved.context["form"].errors
    w.open.refresh_from_db()
    assert w.open.identified_on == D(2018, 1, 10)


# --- the pages agree on what they count -------------------------------------------------------------


def test_the_field_case_a_rectification_with_the_default_date_counts_where_the_register_says_so(client, w):
    """Issue 19.1 as reported: the 2018 campaign picked after its year, the rectification form's
    date kept as offered, a photo added, saved. The unit is 已整治, and the campaign's report as of
    its last day counts it rectified: the register's open units and the report's agree."""
    set_target(w.c2018, w.town, 3)
    client.force_login(w.staff)
    url = reverse("enterprises:rectify", args=[w.open.pk]) + "?campaign=c2018"
    offered = client.get(url).context["form"]["rectified_on"].value()

    response = client.post(url, {"method": Method.RELOCATED, "rectified_on": offered.isoformat(), "photos": photo()})

    assert response.status_code == 302
    w.open.refresh_from_db()
    assert w.open.status == Status.RECTIFIED
    row = next(r for r in progress_report(w.c2018, D(2018, 12, 31)).as_json()["townships"] if r["name"] == "城关镇")
    counts = client.get(reverse("enterprises:list")).context["counts"]
    assert (row["rectified"], row["open"]) == (2, 1)
    assert counts["open"] + counts["in_progress"] == row["open"]


def test_the_register_says_its_totals_are_todays_and_links_to_the_report_of_the_picked_day(client, w):
    client.force_login(w.staff)
    html = client.get(reverse("enterprises:list") + "?campaign=c2018&as_of=2018-06-30").content.decode()
    assert "当前台账，不随截至日期变化：按今天（2019-03-10）各单位的整治状态计数" in html
    report = reverse("reports:township", args=[w.town.pk]) + "?campaign=c2018&amp;as_of=2018-06-30"
    assert f'<a href="{report}" id="register-report">' in html
    assert "2018年“四无”生产经营单位整治行动截至 2018-06-30 的整治进度" in html
    # The picked day stays with the filters (it is no filter itself).
    assert '<input type="hidden" name="as_of" value="2018-06-30">' in html

    admin = make_user("shiban", role="city_admin")
    client.force_login(admin)
    html = client.get(reverse("enterprises:list")).content.decode()
    assert f'<a href="{reverse("reports:dashboard")}?campaign=c2019&amp;as_of=2019-03-10"' in html
    html = client.get(reverse("enterprises:list"), {"township": [w.town.pk]}).content.decode()
    assert f'<a href="{reverse("reports:township", args=[w.town.pk])}?campaign=c2019&amp;as_of=2019-03-10"' in html


def test_a_unit_rectified_after_the_picked_day_says_the_report_still_counts_it_open(client, w):
    client.force_login(w.staff)
    rectification_record(enterprise=w.open, method=Method.CLOSED, rectified_on=D(2019, 1, 5))
    page = client.get(w.open.get_absolute_url() + "?campaign=c2018").content.decode()
    assert "本单位的整治完成日期 2019-01-05 不在2018年“四无”生产经营单位整治行动的年度内" in page
    assert "该年度的整治进度仍按未整治计数" in page
    page = client.get(w.open.get_absolute_url() + "?campaign=c2019&as_of=2019-01-04").content.decode()
    assert "截至 2019-01-04 的整治进度仍按未整治计数" in page
    # Counted on the day picked: nothing to say.
    assert 'id="counted-note"' not in client.get(w.open.get_absolute_url()).content.decode()


def test_after_a_relapse_a_rectification_date_starts_no_earlier_than_it(client, w):
    client.force_login(w.staff)
    relapse_record(enterprise=w.done, found_on=D(2018, 5, 1))
    # After a relapse the rectification's date starts no earlier than the relapse.
    url = reverse("enterprises:rectify", args=[w.done.pk]) + "?campaign=c2018&as_of=2018-04-01"
    assert client.get(url).context["form"]["rectified_on"].value() == D(2018, 5, 1)
