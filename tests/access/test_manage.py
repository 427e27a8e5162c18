"""The management pages (/manage/): users, townships and villages, campaigns, milestones, targets."""

import datetime
from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from campaign.models import Campaign, Milestone, TargetRevision, Township, Village
from core.access import Role, role_of, township_id_of
from demo import city as demo
from tests.access.conftest import PASSWORD
from tests.factories import make_township, make_user


@pytest.fixture
def world(world_of_module):
    """The access world built once for the module, each test's writes rolled back (tests/access/conftest.py)."""
    return world_of_module


D = datetime.date
NEW_PASSWORD = "xin-mi-ma-2018-qiao"


@pytest.fixture
def admin(world):
    return world.clients["admin"]


def errors(response):
    """Every form error on the page, as one string."""
    form = response.context.get("form")
    text = " ".join(str(e) for e in form.errors.values()) if form is not None else ""
    formset = response.context.get("formset") or response.context.get("milestones")
    if formset is not None:
        text += " ".join(str(e) for e in formset.non_form_errors())
        text += " ".join(str(e) for f in formset.forms for e in f.errors.values())
    return text


def fresh(user):
    return User.objects.get(pk=user.pk)


def sessions_of(user):
    return [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]


# --- roles exist ---------------------------------------------------------------------------------


def test_a_fresh_database_has_the_four_role_groups(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}


def test_the_demo_logins_get_their_roles(db):
    chengguan = make_township("城关镇")
    demo._create_users()
    demo._assign_roles([chengguan])
    users = {u.username: u for u in User.objects.filter(username__in=[d.username for d in demo.DEMO_USERS])}
    assert {name: role_of(u) for name, u in users.items()} == {
        "admin": Role.CITY_ADMIN,
        "city_viewer": Role.CITY_VIEWER,
        "inspector": Role.INSPECTOR,
        "chengguan": Role.TOWNSHIP_STAFF,
    }
    assert users["admin"].is_superuser and users["admin"].groups.filter(name=Role.CITY_ADMIN).exists()
    assert township_id_of(users["chengguan"]) == chengguan.pk
    assert users["inspector"].profile.department == "市督查组"


# --- users ---------------------------------------------------------------------------------------


def user_data(**overrides):
    data = {
        "username": "qiaotou01",
        "full_name": "桥头镇小王",
        "role": Role.TOWNSHIP_STAFF,
        "township": "",
        "department": "",
        "phone": "13800000000",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


def test_a_city_admin_creates_a_township_staff_account(world, admin):
    response = admin.post(reverse("manage:user_create"), user_data(township=world.town_b.pk))

    assert response.status_code == 302
    user = User.objects.get(username="qiaotou01")
    assert (role_of(user), township_id_of(user), user.first_name, user.profile.phone) == (
        Role.TOWNSHIP_STAFF,
        world.town_b.pk,
        "桥头镇小王",
        "13800000000",
    )
    assert user.check_password(NEW_PASSWORD)
    created = user.history.earliest()
    assert (created.history_type, created.history_user) == ("+", world.users["admin"])
    # The new account works, within its township.
    client = Client()
    client.post("/accounts/login/", {"username": "qiaotou01", "password": NEW_PASSWORD})
    assert client.get(reverse("enterprises:detail", args=[world.unit_b.pk])).status_code == 200
    assert client.get(reverse("enterprises:detail", args=[world.unit_a.pk])).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"role": Role.TOWNSHIP_STAFF}, "township", "须选择所属乡镇"),
        ({"role": Role.INSPECTOR, "department": "  "}, "department", "须填写所属部门"),
        ({"password2": "something-else-2018"}, "password2", "不一致"),
        ({"password1": "123456", "password2": "123456"}, "password1", "密码"),
        ({"username": "GUANLI"}, "username", "已被使用"),
        ({"username": "有 空格"}, "username", "只能包含"),
    ],
)
def test_account_form_errors_are_chinese_and_next_to_their_field(world, admin, overrides, field, message):
    response = admin.post(reverse("manage:user_create"), user_data(**overrides))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not User.objects.filter(username__in=["qiaotou01", overrides.get("username", "")]).exists() or (
        overrides.get("username") == "GUANLI"
    )


def test_changing_a_role_changes_group_and_profile(world, admin):
    target = world.target_user
    response = admin.post(
        reverse("manage:user_edit", args=[target.pk]),
        {"full_name": "改任督查", "role": Role.INSPECTOR, "department": "市应急管理局", "phone": ""},
    )
    assert response.status_code == 302
    target = fresh(target)
    assert role_of(target) == Role.INSPECTOR
    assert list(target.groups.values_list("name", flat=True)) == [Role.INSPECTOR]
    assert (target.profile.township, target.profile.department, target.first_name) == (None, "市应急管理局", "改任督查")


def test_demoting_a_superuser_takes_the_flag_away(world, admin):
    boss = User.objects.create_superuser("laoban", password=PASSWORD)
    admin.post(reverse("manage:user_edit", args=[boss.pk]), {"full_name": "老板", "role": Role.CITY_VIEWER})
    boss = fresh(boss)
    assert (boss.is_superuser, boss.is_staff, role_of(boss)) == (False, False, Role.CITY_VIEWER)


def test_a_city_admin_cannot_demote_or_disable_themselves(world, admin):
    me = world.users["admin"]
    response = admin.post(reverse("manage:user_edit", args=[me.pk]), {"full_name": "我", "role": Role.CITY_VIEWER})
    assert response.status_code == 200 and "不能取消自己" in errors(response)
    admin.post(reverse("manage:user_active", args=[me.pk]), {"action": "disable"})
    assert fresh(me).is_active and role_of(fresh(me)) == Role.CITY_ADMIN


def test_disabling_a_user_ends_every_session_at_once(world, admin):
    target = world.target_user
    phone, desk = Client(), Client()
    phone.force_login(target)
    desk.force_login(target)
    others = len(Session.objects.all()) - 2
    assert len(sessions_of(target)) == 2

    response = admin.post(reverse("manage:user_active", args=[target.pk]), {"action": "disable"}, follow=True)

    assert "结束其 2 个登录会话" in response.content.decode()
    assert sessions_of(target) == [] and Session.objects.count() == others
    assert not fresh(target).is_active
    assert phone.get(reverse("reports:dashboard"))["Location"].startswith("/accounts/login/")
    history = fresh(target).history.first()
    assert (history.is_active, history.history_change_reason, history.history_user) == (
        False,
        "停用账号",
        world.users["admin"],
    )


def test_an_enabled_user_signs_in_again(world, admin):
    target = world.target_user
    admin.post(reverse("manage:user_active", args=[target.pk]), {"action": "disable"})
    admin.post(reverse("manage:user_active", args=[target.pk]), {"action": "enable"})
    client = Client()
    response = client.post("/accounts/login/", {"username": target.username, "password": PASSWORD})
    assert response.status_code == 302 and fresh(target).is_active


def test_resetting_a_password_signs_the_user_out_everywhere(world, admin):
    target = world.target_user
    phone = Client()
    phone.force_login(target)
    url = reverse("manage:user_password", args=[target.pk])

    weak = admin.post(url, {"password1": "mubiao123", "password2": "mubiao123"})
    assert weak.status_code == 200 and errors(weak)

    assert admin.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 302
    assert fresh(target).check_password(NEW_PASSWORD)
    assert phone.get(reverse("reports:dashboard"))["Location"].startswith("/accounts/login/")


def test_a_city_admin_unlocks_a_locked_out_user(world, admin):
    target = world.target_user
    for _ in range(5):
        Client().post("/accounts/login/", {"username": target.username, "password": "wrong"}, REMOTE_ADDR="10.0.0.8")
    assert AccessAttempt.objects.filter(username=target.username).exists()
    page = admin.get(reverse("manage:user_edit", args=[target.pk])).content.decode()
    assert "登录已锁定" in page and reverse("manage:user_unlock", args=[target.pk]) in page
    users_page = admin.get(reverse("manage:users")).content.decode()
    assert "登录已锁定" in users_page

    admin.post(reverse("manage:user_unlock", args=[target.pk]))

    assert not AccessAttempt.objects.filter(username=target.username).exists()
    response = Client().post(
        "/accounts/login/", {"username": target.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.8"
    )
    assert response.status_code == 302


def test_the_user_list_filters_by_role_township_and_status(world, admin, django_assert_max_num_queries):
    def names(**params):
        response = admin.get(reverse("manage:users"), params)
        return {row["user"].username for row in response.context["rows"]}

    assert names(role=Role.TOWNSHIP_STAFF, status="active") == {"dongcheng", "xicheng", "mubiao"}
    assert names(township=world.town_a.pk) == {"dongcheng", "tingyong", "mubiao"}
    assert names(status="disabled") == {"tingyong"}
    assert names(role=Role.CITY_ADMIN) == {"guanli"}
    assert names(q="duch") == {"ducha"}
    for n in range(30):
        make_user(f"extra{n}", role="inspector")
    # session, user, role, the count, the page of users, their groups, lockouts
    with django_assert_max_num_queries(8):
        assert admin.get(reverse("manage:users")).status_code == 200


# --- townships and villages ----------------------------------------------------------------------


def test_townships_and_villages_are_managed_without_deleting(world, admin):
    response = admin.post(
        reverse("manage:township_create"), {"name": "新塘镇", "kind": "zhen", "sort_order": 30, "is_active": "on"}
    )
    town = Township.objects.get(name="新塘镇")
    assert response["Location"] == reverse("manage:township_edit", args=[town.pk])

    admin.post(reverse("manage:village_create", args=[town.pk]), {"name": "新塘村", "kind": "village"})
    duplicate = admin.post(reverse("manage:village_create", args=[town.pk]), {"name": "新塘村", "kind": "village"})
    assert "已有名为" in errors(duplicate)
    village = Village.objects.get(township=town, name="新塘村")
    admin.post(reverse("manage:village_edit", args=[village.pk]), {"name": "新塘社区", "kind": "community"})
    assert Village.objects.get(pk=village.pk).name == "新塘社区"

    admin.post(reverse("manage:township_edit", args=[town.pk]), {"name": "新塘镇", "kind": "zhen", "sort_order": 30})
    assert Township.objects.get(pk=town.pk).is_active is False
    page = admin.get(reverse("manage:townships")).content.decode()
    assert "新塘镇" in page and "已停用" in page
    # A switched-off township is no choice for a new account.
    assert town not in admin.get(reverse("manage:user_create")).context["form"].fields["township"].queryset


# --- campaigns, milestones, targets --------------------------------------------------------------


def campaign_data(**overrides):
    data = {
        "slug": "2019",
        "year": 2019,
        "name": "",
        "target": 8000,
        "band": "8",
        "milestones-TOTAL_FORMS": "5",
        "milestones-INITIAL_FORMS": "0",
        "milestones-0-date": "2019-03-31",
        "milestones-0-percent": "25",
        "milestones-1-date": "2019-06-30",
        "milestones-1-percent": "55",
        "milestones-2-date": "2019-09-30",
        "milestones-2-percent": "80",
        "milestones-3-date": "2019-12-31",
        "milestones-3-percent": "100",
        "milestones-4-date": "",
        "milestones-4-percent": "",
    }
    data.update(overrides)
    return data


def test_a_city_admin_creates_a_campaign_with_its_milestones(world, admin):
    form = admin.get(reverse("manage:campaign_create"))
    assert form.status_code == 200 and len(form.context["milestones"].forms) == 5  # 4 defaults + 1 blank

    response = admin.post(reverse("manage:campaign_create"), campaign_data())

    campaign = Campaign.objects.get(slug="2019")
    assert response["Location"] == reverse("manage:targets", args=["2019"])
    assert (campaign.name, campaign.target, campaign.band, campaign.start) == (
        "2019年“四无”生产经营单位整治行动",
        8000,
        Decimal("8"),
        D(2019, 1, 1),
    )
    schedule = list(campaign.milestones.order_by("date").values_list("date", "percent"))
    assert schedule == [(D(2019, 3, 31), 25), (D(2019, 6, 30), 55), (D(2019, 9, 30), 80), (D(2019, 12, 31), 100)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"milestones-1-percent": "20"}, "低于之前的"),
        ({"milestones-1-date": "2020-06-30"}, "不在 2019 年度内"),
        ({"milestones-1-date": "2019-03-31"}, "有两个节点目标"),
        ({"slug": "c2018"}, "已被使用"),
    ],
)
def test_a_bad_campaign_is_refused_in_chinese_and_nothing_is_written(world, admin, overrides, message):
    response = admin.post(reverse("manage:campaign_create"), campaign_data(**overrides))
    assert response.status_code == 200
    assert message in errors(response)
    assert Campaign.objects.count() == 1


def test_editing_a_campaign_changes_name_and_band_only_and_is_audited(world, admin):
    campaign = world.campaign
    admin.post(reverse("manage:campaign_edit", args=[campaign.slug]), {"name": "示范市2018整治", "band": "5"})
    campaign.refresh_from_db()
    assert (campaign.name, campaign.band, campaign.target) == ("示范市2018整治", Decimal("5"), 9000)
    latest = campaign.history.first()
    assert (latest.history_type, latest.history_user, latest.band) == ("~", world.users["admin"], Decimal("5"))


def milestone_data(campaign, changes):
    milestones = list(campaign.milestones.order_by("date"))
    data = {"milestones-TOTAL_FORMS": str(len(milestones) + 1), "milestones-INITIAL_FORMS": str(len(milestones))}
    for i, m in enumerate(milestones):
        data |= {f"milestones-{i}-id": m.pk, f"milestones-{i}-date": m.date, f"milestones-{i}-percent": m.percent}
    n = len(milestones)
    data |= {f"milestones-{n}-date": "", f"milestones-{n}-percent": ""}
    data.update(changes)
    return data


def test_milestones_are_edited_and_checked(world, admin):
    campaign = world.campaign
    url = reverse("manage:milestones", args=[campaign.slug])
    assert admin.get(url).status_code == 200

    bad = admin.post(url, milestone_data(campaign, {"milestones-0-percent": "70"}))
    assert "低于之前的" in errors(bad)

    admin.post(
        url,
        milestone_data(
            campaign, {"milestones-0-percent": "35", "milestones-4-date": "2018-11-30", "milestones-4-percent": "90"}
        ),
    )
    schedule = list(campaign.milestones.order_by("date").values_list("date", "percent"))
    assert schedule[0] == (D(2018, 3, 31), 35) and (D(2018, 11, 30), 90) in schedule and len(schedule) == 5
    assert Milestone.history.filter(history_type="~", history_user=world.users["admin"]).count() == 1


def test_a_target_revision_needs_a_reason_and_keeps_the_old_one(world, admin):
    url = reverse("manage:target_add", args=[world.campaign.slug])
    data = {"township": world.town_a.pk, "target": 45, "effective_on": "2018-07-01", "reason": ""}

    no_reason = admin.post(url, data)
    assert no_reason.status_code == 200 and "原因" in " ".join(no_reason.context["form"].errors["reason"])

    admin.post(url, {**data, "reason": "回头看新增底数"})

    revisions = list(TargetRevision.objects.filter(township=world.town_a).order_by("effective_on"))
    assert [(r.target, r.effective_on) for r in revisions] == [(30, D(2018, 1, 1)), (45, D(2018, 7, 1))]
    assert (revisions[1].reason, revisions[1].created_by) == ("回头看新增底数", world.users["admin"])
    page = admin.get(reverse("manage:targets", args=[world.campaign.slug])).content.decode()
    assert "回头看新增底数" in page and "45" in page


def test_a_same_day_revision_is_corrected_only_on_purpose_and_stays_in_the_history(world, admin):
    url = reverse("manage:target_add", args=[world.campaign.slug])
    data = {"township": world.town_a.pk, "target": 33, "effective_on": "2018-01-01", "reason": "录入错误更正"}

    clash = admin.post(url, data)
    assert "该生效日期已有记录" in errors(clash)
    assert TargetRevision.objects.get(township=world.town_a).target == 30

    admin.post(url, {**data, "correct_same_day": "on"})

    revision = TargetRevision.objects.get(township=world.town_a)
    assert (revision.target, revision.reason) == (33, "录入错误更正")
    assert [h.target for h in revision.history.order_by("history_id")] == [30, 33]


def test_a_city_target_revision_and_dates_outside_the_year(world, admin):
    url = reverse("manage:target_add", args=[world.campaign.slug])
    outside = admin.post(url, {"township": "", "target": 9500, "effective_on": "2019-01-01", "reason": "调增"})
    assert "年度内" in errors(outside)
    admin.post(url, {"township": "", "target": 9500, "effective_on": "2018-07-01", "reason": "市政府调增"})
    assert TargetRevision.objects.get(township=None).target == 9500


def test_every_management_page_renders(world, admin):
    for name, args in [
        ("manage:index", []),
        ("manage:users", []),
        ("manage:user_create", []),
        ("manage:user_edit", [world.target_user.pk]),
        ("manage:user_password", [world.target_user.pk]),
        ("manage:townships", []),
        ("manage:township_create", []),
        ("manage:township_edit", [world.town_a.pk]),
        ("manage:village_create", [world.town_a.pk]),
        ("manage:village_edit", [world.village_a.pk]),
        ("manage:campaigns", []),
        ("manage:campaign_create", []),
        ("manage:campaign_edit", [world.campaign.slug]),
        ("manage:milestones", [world.campaign.slug]),
        ("manage:targets", [world.campaign.slug]),
        ("manage:target_add", [world.campaign.slug]),
    ]:
        response = admin.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert 'lang="zh-hans"' in response.content.decode()


def test_changing_my_own_password(world):
    client = world.clients["staff_a"]
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert fresh(world.users["staff_a"]).check_password(NEW_PASSWORD)
    assert client.get(reverse("reports:dashboard")).status_code == 200  # still signed in here
