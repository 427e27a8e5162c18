"""The inspection side's dates follow the campaign picked (issue 19.1): every date field starts at the
picker's as-of day (no later than today where future days are refused), and a date outside the
campaign's year is saved only after a warning and a second, confirmed submission."""

import datetime

import pytest
from django.urls import reverse

from enterprises.models import Method
from enterprises.services import rectification_record
from inspections import services
from inspections.models import (
    DefectClearance,
    Finding,
    FindingKind,
    FindingState,
    Inspection,
    Kind,
    Lookback,
    LookbackDraw,
    LookbackResult,
    Severity,
)
from tests.factories import make_campaign, make_township, make_unit, make_user
from tests.inspections import evidence

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2019, 3, 10)  # the 2019 campaign is on; the 2018 one is over


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(TODAY)


@pytest.fixture
def w(db):
    class World:
        pass

    world = World()
    world.c2018, world.c2019 = make_campaign(), make_campaign(slug="c2019", year=2019)
    world.town = make_township("东城街道")
    world.unit = make_unit(world.town, name="宏达五金厂")
    world.inspector = make_user("ducha", role="inspector")
    world.admin = make_user("guanli", role="city_admin")
    world.staff = make_user("dongcheng", role="township_staff", township=world.town)
    inspection = services.inspection_record(
        kind=Kind.RANDOM, inspected_on=D(2018, 12, 20), team="督查组", township=world.town, user=world.inspector
    )
    world.finding = services.finding_record(
        inspection=inspection,
        kind=FindingKind.NOT_DONE,
        description="消防通道堵塞",
        deadline=D(2018, 12, 25),
        enterprise=world.unit,
        user=world.inspector,
    )
    world.reported = services.finding_record(
        inspection=inspection,
        kind=FindingKind.OTHER,
        severity=Severity.SERIOUS,
        description="台账不全",
        deadline=D(2018, 12, 30),
        enterprise=world.unit,
        user=world.inspector,
    )
    services.finding_rectified(finding=world.reported, rectified_on=D(2018, 12, 22), note="", user=world.staff)
    done = make_unit(world.town, name="已关停作坊")
    period = rectification_record(enterprise=done, method=Method.UPGRADED, rectified_on=D(2018, 11, 2))
    world.lookback = Lookback.objects.create(
        rectification=period, enterprise=done, township=world.town, due_on=D(2018, 12, 2)
    )
    world.two_defects = make_unit(world.town, name="双无作坊", unlicensed=True, unsafe=True)
    return world


def _url(name, obj):
    return reverse(f"inspections:{name}", args=[obj.pk]) + "?"


# Each inspection-side form: who fills it in, its page, and the date field that should start at the
# picker's as-of day.
FORMS = {
    "inspection": ("inspector", lambda w: reverse("inspections:create") + f"?township={w.town.pk}&", "inspected_on"),
    "completion": ("staff", lambda w: _url("finding_rectified", w.finding), "rectified_on"),
    "verification": ("inspector", lambda w: _url("finding_verify", w.reported), "closed_on"),
    "lookback": ("inspector", lambda w: _url("lookback", w.lookback), "checked_on"),
    "draw": ("inspector", lambda w: reverse("inspections:draw_create") + "?", "as_of"),
    "schedule": ("inspector", lambda w: reverse("inspections:schedule") + "?", "as_of"),
    "clearance": ("staff", lambda w: _url("clearance", w.two_defects), "cleared_on"),
    "round": ("admin", lambda w: reverse("inspections:round_create") + "?", "held_on"),
}


def initial(client, w, name, query):
    who, url, field = FORMS[name]
    client.force_login(getattr(w, who))
    response = client.get(url(w) + query)
    assert response.status_code == 200
    return response.context["form"][field].value()


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_form_date_starts_at_the_picked_campaigns_as_of_day_but_not_after_today(client, w, name):
    # 2018 is over: its as-of day is its last day, not today (2019-03-10).
    assert initial(client, w, name, "campaign=c2018") == D(2018, 12, 31)
    # The day picked within it, not before the day of the record it follows (the finding, its
    # completion, the rectification looked back at).
    expected = {"completion": D(2018, 12, 20), "verification": D(2018, 12, 22), "lookback": D(2018, 11, 2)}
    assert initial(client, w, name, "campaign=c2018&as_of=2018-06-15") == expected.get(name, D(2018, 6, 15))
    # A day ahead: today where future days are refused; a round or a schedule may be set ahead.
    ahead = D(2019, 9, 30) if name in {"schedule", "round"} else TODAY
    assert initial(client, w, name, "campaign=c2019&as_of=2019-09-30") == ahead


# --- a date outside the campaign's year -------------------------------------------------------------


def test_an_inspection_dated_outside_the_campaigns_year_is_saved_only_once_confirmed(client, w):
    client.force_login(w.inspector)
    url = reverse("inspections:create") + f"?township={w.town.pk}"  # the picker: 2019, the current campaign
    data = {"kind": Kind.UNANNOUNCED, "inspected_on": "2018-12-28", "team": "市督查组", "units": [w.unit.pk]}
    before = Inspection.objects.count()

    warned = client.post(url, data)

    assert warned.status_code == 200
    form = warned.context["form"]
    assert form.errors["inspected_on"] == [
        "2018-12-28 不在2019年“四无”生产经营单位整治行动的年度内（2019-01-01 至 2019-12-31），请核对"
    ]
    assert form.errors["confirm_dates"] == ["日期不在本年度内，尚未保存。如确无误，请勾选此项后再次提交"]
    html = warned.content.decode()
    assert 'name="confirm_dates"' in html and "日期无误，仍然保存" in html
    assert Inspection.objects.count() == before

    saved = client.post(url, {**data, "confirm_dates": "on"})

    assert saved.status_code == 302
    assert Inspection.objects.latest("pk").inspected_on == D(2018, 12, 28)
    # The same day with the 2018 campaign picked is inside its year: saved at once, nothing asked.
    in_year = reverse("inspections:create") + f"?township={w.town.pk}&campaign=c2018"
    assert 'name="confirm_dates"' not in client.get(in_year).content.decode()
    assert client.post(in_year, data).status_code == 302
    assert Inspection.objects.count() == before + 2


def test_a_completion_dated_outside_the_year_asks_first_and_then_is_saved_late(client, w):
    client.force_login(w.staff)
    url = reverse("inspections:finding_rectified", args=[w.finding.pk])
    data = {"rectified_on": "2018-12-27", "note": "已清理"}

    warned = client.post(url, {**data, "photos": evidence.upload()})

    errors = warned.context["form"].errors
    assert "不在2019年“四无”生产经营单位整治行动的年度内" in errors["rectified_on"][0]
    # The photos were not kept: the browser does not send them again by itself, the page says so.
    assert errors["photos"] == ["照片尚未保存：确认日期后请重新选择照片再提交"]
    w.finding.refresh_from_db()
    assert w.finding.state == FindingState.OPEN and not w.finding.photos.exists()

    saved = client.post(url, {**data, "confirm_dates": "on", "photos": evidence.upload()})

    assert saved.status_code == 302
    w.finding.refresh_from_db()
    assert (w.finding.rectified_on, w.finding.completed_late, w.finding.photos.count()) == (D(2018, 12, 27), True, 1)


def test_a_verification_dated_outside_the_year_asks_first(client, w):
    client.force_login(w.inspector)
    url = reverse("inspections:finding_verify", args=[w.reported.pk])
    data = {"passed": "no", "closed_on": "2018-12-31", "note": "仍有杂物"}

    assert "confirm_dates" in client.post(url, data).context["form"].errors
    assert Finding.objects.get(pk=w.reported.pk).state == FindingState.RECTIFIED
    assert client.post(url, {**data, "confirm_dates": "on"}).status_code == 302
    assert Finding.objects.get(pk=w.reported.pk).state == FindingState.OPEN  # sent back, on 2018-12-31


def test_a_look_back_checked_outside_the_year_asks_first(client, w):
    client.force_login(w.inspector)
    url = reverse("inspections:lookback", args=[w.lookback.pk])
    data = {"checked_on": "2018-12-05", "operating": "no"}

    warned = client.post(url, data)
    assert "confirm_dates" in warned.context["form"].errors
    assert 'name="confirm_dates"' in warned.content.decode()
    assert client.post(url, {**data, "confirm_dates": "on"}).status_code == 302
    w.lookback.refresh_from_db()
    assert (w.lookback.result, w.lookback.checked_on) == (LookbackResult.PASSED, D(2018, 12, 5))


def test_a_clearance_outside_the_year_asks_first(client, w):
    client.force_login(w.staff)
    url = reverse("inspections:clearance", args=[w.two_defects.pk])
    data = {"defect": "unlicensed", "cleared_on": "2018-12-05", "department": "市场监管所", "signed_by": "李四"}

    assert "confirm_dates" in client.post(url, data).context["form"].errors
    assert not DefectClearance.objects.exists()
    assert client.post(url, {**data, "confirm_dates": "on"}).status_code == 302
    assert DefectClearance.objects.get().cleared_on == D(2018, 12, 5)


def test_a_draw_is_checked_against_the_campaign_chosen_in_its_own_form(client, w):
    client.force_login(w.inspector)
    url = reverse("inspections:draw_create") + "?campaign=c2018"  # the picker says 2018, the form 2019
    data = {"campaign": w.c2019.pk, "township": w.town.pk, "as_of": "2018-12-20", "seed": "5"}

    warned = client.post(url, data)
    assert "不在2019年“四无”生产经营单位整治行动的年度内" in warned.context["form"].errors["as_of"][0]
    assert not LookbackDraw.objects.exists()
    assert client.post(url, {**data, "confirm_dates": "on"}).status_code == 302
    assert LookbackDraw.objects.get().as_of == D(2018, 12, 20)
    # The same day under the campaign whose year holds it: no question asked.
    assert client.post(url, {**data, "campaign": w.c2018.pk}).status_code == 302


def _follow_up(w):
    follow_up = Inspection.objects.get(follow_up_of=w.reported)
    return reverse("inspections:follow_up", args=[follow_up.pk]), {"inspected_on": "2018-12-30"}


def _schedule(w):
    return reverse("inspections:schedule"), {"campaign": w.c2019.pk, "as_of": "2018-12-31"}


def _round(w):
    towns = [w.town.pk, make_township("西城街道").pk, make_township("南湖镇").pk]
    data = {"campaign": w.c2019.pk, "name": "第一轮", "held_on": "2018-12-01", "ends_on": "2018-12-10"}
    return reverse("inspections:round_create"), {**data, "townships": towns, "seed": "3"}


@pytest.mark.parametrize("page", [_follow_up, _schedule, _round], ids=["follow_up", "schedule", "round"])
def test_the_other_inspection_forms_ask_before_saving_a_date_outside_the_year(client, w, page):
    client.force_login(w.admin)
    url, data = page(w)

    warned = client.post(url, data)

    assert warned.status_code == 200 and "confirm_dates" in warned.context["form"].errors
    assert client.post(url, {**data, "confirm_dates": "on"}).status_code == 302


def test_the_township_picker_keeps_the_campaign_picked_for_the_inspection_form(client, w):
    client.force_login(w.inspector)
    html = client.get(reverse("inspections:create"), {"campaign": "c2018", "as_of": "2018-06-15"}).content.decode()
    assert '<input type="hidden" name="campaign" value="c2018">' in html
    assert '<input type="hidden" name="as_of" value="2018-06-15">' in html
