"""我的工作台: each role's own first screen (reports/home.py), its query counts, and the nav badges."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.indicators import indicator_create
from campaign.models import IndicatorRecord
from enterprises.services import rectification_record
from inspections import services
from inspections.models import CrossRound, Finding, FindingState, Kind, Lookback, Reconciliation
from notify.models import Delivery, Message, State
from reports import counts
from reports.models import Commitment, Interview, Notice
from tests.factories import make_township, make_unit, make_user, set_target
from tests.reports.test_views import query_count

pytestmark = pytest.mark.django_db
D = datetime.date
TODAY = D(2018, 6, 15)
URL = reverse("reports:home") + "?campaign=c2018&as_of=2018-06-15"
# Pinned: (nothing cached, counts cached), with every list longer than it shows. A role's home costs
# the same however many items it lists.
TOWNSHIP_HOME_QUERIES = (20, 15)
INSPECTOR_HOME_QUERIES = (8, 8)
CITY_HOME_QUERIES = (16, 11)
ADMIN_HOME_QUERIES = (18, 13)


@pytest.fixture
def world(campaign, frozen_today):
    frozen_today(TODAY)
    east, west = make_township("东城街道"), make_township("西城街道")
    set_target(campaign, east, 10)
    set_target(campaign, west, 10)
    people = {
        "staff": make_user("dongcheng", role="township_staff", township=east),
        "west": make_user("xicheng", role="township_staff", township=west),
        "inspector": make_user("ducha", role="inspector"),
        "viewer": make_user("lingdao", role="city_viewer"),
        "admin": make_user("boss", role="city_admin"),
    }
    return campaign, east, west, people


def _inspection(township, user=None):
    return services.inspection_record(
        kind=Kind.RANDOM, inspected_on=D(2018, 5, 1), team="督查一组", township=township, user=user
    )


def _finding(township, deadline, name, inspection=None):
    return services.finding_record(
        inspection=inspection or _inspection(township),
        kind="not_done",
        description="未断电",
        enterprise=make_unit(township, name=name),
        deadline=deadline,
    )


def _lookback(township, due_on, name):
    unit = make_unit(township, name=name, identified_on=D(2018, 1, 5))
    period = rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 2, 1))
    return Lookback.objects.create(
        rectification=period, enterprise=unit, township=township, offset_days=None, due_on=due_on
    )


def _commitment(campaign, township, due_on, text, admin):
    interview = Interview.objects.create(
        campaign=campaign, township=township, held_on=D(2018, 5, 2), summoned="镇长 王某某", created_by=admin
    )
    return Commitment.objects.create(interview=interview, text=text, due_on=due_on)


def _home(client, user, url=URL):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response


def _titles(todo):
    return [item.what for item in todo.items]


def _todo(response, key):
    return next(todo for todo in response.context["home"].todos if todo.key == key)


def test_logging_in_lands_on_the_home_of_ones_role(client, world):
    _campaign, _east, _west, people = world
    people["staff"].set_password("pw-123456")
    people["staff"].save()
    response = client.post(reverse("login"), {"username": "dongcheng", "password": "pw-123456"})
    assert response.status_code == 302 and response["Location"] == reverse("reports:home")
    html = client.get(response["Location"]).content.decode()
    assert "我的工作台" in html and 'id="my-township"' in html
    # The brand leads there too, and the navigation's first item is the home with its badge.
    assert re.search(r'<a class="brand" href="/home/">', html)
    nav = html[html.index('class="site-nav"') :]
    assert nav.index(reverse("reports:home")) < nav.index(">仪表盘<")
    assert 'data-badge="home"' in nav and 'data-badge="inspections"' in nav


def test_a_township_home_shows_its_standing_then_its_work_overdue_first(client, world):
    campaign, east, west, people = world
    units = [make_unit(east, identified_on=D(2018, 1, 5)) for _ in range(4)]
    for unit in units[:3]:
        rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 3, 1))
    rectification_record(
        enterprise=make_unit(west, identified_on=D(2018, 1, 5)), method="closed", rectified_on=D(2018, 3, 1)
    )
    # Last week's notice ranked 西城 first: 东城 has moved up one since.
    Notice.objects.create(
        campaign=campaign,
        serial=12,
        as_of=D(2018, 6, 8),
        figures={"townships": [{"township_id": west.pk, "rank": 1}, {"township_id": east.pk, "rank": 2}]},
        issued_at=timezone.now(),
        issued_by=people["admin"],
    )
    _finding(east, D(2018, 6, 20), "远期厂")
    _finding(east, D(2018, 6, 10), "逾期厂")
    _finding(east, D(2018, 6, 15), "今天厂")
    done = _finding(east, D(2018, 6, 1), "已整改厂")
    Finding.objects.filter(pk=done.pk).update(state=FindingState.RECTIFIED)
    _finding(west, D(2018, 6, 1), "西城厂")
    _lookback(east, D(2018, 6, 17), "回头看近期厂")
    _lookback(east, D(2018, 7, 30), "回头看远期厂")
    _lookback(west, D(2018, 6, 14), "西城回头看厂")
    Reconciliation.objects.create(township=east, period_start=D(2018, 6, 1))
    Reconciliation.objects.create(township=east, period_start=D(2018, 5, 16), township_confirmed_at=timezone.now())
    _commitment(campaign, east, D(2018, 6, 12), "六月十二日前关停三家", people["admin"])
    _commitment(campaign, east, D(2018, 9, 30), "九月底前完成", people["admin"])
    met = _commitment(campaign, east, D(2018, 6, 1), "已完成的承诺", people["admin"])
    Commitment.objects.filter(pk=met.pk).update(met_on=D(2018, 5, 30))
    jobs = indicator_create(campaign, "new_jobs", 100, name="新增就业", unit="人", user=people["admin"])
    trees = indicator_create(campaign, "trees", 100, name="植树", unit="棵", user=people["admin"])
    IndicatorRecord.objects.create(indicator=trees, township=east, name="四月植树", date=D(2018, 4, 2))
    IndicatorRecord.objects.create(indicator=jobs, township=east, name="一季度就业", date=D(2018, 3, 2))
    IndicatorRecord.objects.create(indicator=jobs, township=west, name="西城就业", date=D(2018, 6, 2))

    response = _home(client, people["staff"])
    html = response.content.decode()
    mine = response.context["mine"]
    assert mine.row.township_id == east.pk and mine.row.rank == 1 and mine.moved_text == "↑1"
    card = html[html.index('id="my-township"') : html.index('id="todo-')]
    assert "排名第 1 位 / 共 2 个" in card and "↑1" in card and str(mine.colour_label) in card
    assert f"{mine.row.rate}%" in card
    shortfall = mine.row.milestone_next["shortfall"]
    assert f"差 {shortfall} 家" in card and f"需每周 {mine.projection.needed} 家" in card
    assert f"本周 {mine.week_rectified} 家" in card
    assert "{#" not in html and "{%" not in html  # no template comment or tag leaks into the page

    findings = _todo(response, "findings")
    assert _titles(findings) == ["逾期厂 · 整治不到位", "今天厂 · 整治不到位", "远期厂 · 整治不到位"]
    assert [item.late for item in findings.items] == [True, False, False]
    assert (findings.total, findings.late) == (3, 1)
    assert findings.link == reverse("inspections:findings") + "?state=open"
    lookbacks = _todo(response, "lookbacks")
    assert _titles(lookbacks) == ["回头看近期厂"]
    reconciliations = _todo(response, "reconciliations")
    assert [item.day for item in reconciliations.items] == [D(2018, 6, 1)]
    commitments = _todo(response, "commitments")
    assert _titles(commitments) == ["六月十二日前关停三家"] and commitments.late == 1
    records = _todo(response, "records")
    assert [(item.what, item.day) for item in records.items] == [("新增就业", D(2018, 3, 2))]
    assert response.context["home"].open_items == 3 + 1 + 1 + 1 + 1

    # Overdue first and marked; each item links to where it is done.
    assert html.index("逾期厂") < html.index("今天厂") < html.index("远期厂")
    assert "2018-06-10 已逾期" in html and "2018-06-20 前整改" in html
    todo_html = html[html.index('id="todo-findings-list"') :]
    assert reverse("inspections:finding", args=[Finding.objects.get(enterprise__name="逾期厂").pk]) in todo_html
    assert reverse("manage:indicator_records", args=[campaign.slug, "new_jobs"]) in html
    # Nothing of another township's.
    assert "西城厂" not in html and "西城回头看厂" not in html


def test_a_list_shows_its_first_items_and_links_to_the_rest(client, world):
    _campaign, east, _west, people = world
    for day in range(1, 13):
        _finding(east, D(2018, 6, day), f"厂{day:02d}")
    response = _home(client, people["staff"])
    findings = _todo(response, "findings")
    assert findings.total == 12 and findings.late == 12 and len(findings.items) == 8 and findings.more
    assert "查看全部 12 项" in response.content.decode()


def test_an_empty_list_is_one_line_under_cleared(client, world):
    _campaign, _east, _west, people = world
    response = _home(client, people["staff"])
    html = response.content.decode()
    assert 'id="todo-cleared-list"' in html and 'id="todo-findings-list"' not in html
    assert [todo.key for todo in response.context["home"].cleared] == [
        "findings",
        "lookbacks",
        "reconciliations",
        "commitments",
        "records",
    ]


def test_an_inspectors_home_lists_what_waits_for_inspectors(client, world):
    campaign, east, west, people = world
    waiting = _finding(west, D(2018, 6, 1), "待验收厂")
    Finding.objects.filter(pk=waiting.pk).update(state=FindingState.RECTIFIED, rectified_on=D(2018, 6, 2))
    _finding(east, D(2018, 6, 1), "待整改厂")
    _lookback(east, D(2018, 6, 14), "东城回头看厂")
    _lookback(west, D(2018, 6, 18), "西城回头看厂")
    CrossRound.objects.create(
        campaign=campaign, name="第二轮交叉督查", held_on=D(2018, 6, 10), ends_on=D(2018, 6, 20), seed="1"
    )
    CrossRound.objects.create(
        campaign=campaign, name="已结束轮次", held_on=D(2018, 5, 1), ends_on=D(2018, 5, 10), seed="2"
    )
    mine = _inspection(east, user=people["inspector"])
    mine.done = False
    mine.save()
    someone_elses = _inspection(west, user=people["admin"])
    someone_elses.done = False
    someone_elses.save()

    response = _home(client, people["inspector"])
    assert _titles(_todo(response, "verify")) == ["待验收厂 · 西城街道"]
    assert _titles(_todo(response, "lookbacks")) == ["东城回头看厂 · 东城街道", "西城回头看厂 · 西城街道"]
    assert _todo(response, "lookbacks").late == 1
    assert _titles(_todo(response, "rounds")) == ["第二轮交叉督查"]
    assert [item.url for item in _todo(response, "scheduled").items] == [mine.get_absolute_url()]
    html = response.content.decode()
    assert "待整改厂" not in html and 'id="my-township"' not in html and 'id="red-list"' not in html


def test_a_city_home_shows_the_red_list_overdue_and_the_days_changes(client, world):
    campaign, east, west, people = world
    east_units = [make_unit(east, identified_on=D(2018, 1, 5)) for _ in range(6)]
    for unit in east_units:
        rectification_record(enterprise=unit, method="closed", rectified_on=D(2018, 3, 1))
    west_unit = make_unit(west, identified_on=D(2018, 1, 5))
    rectification_record(enterprise=west_unit, method="closed", rectified_on=TODAY)  # today: +1 for 西城
    make_unit(west, identified_on=TODAY)
    _finding(west, D(2018, 6, 1), "西城逾期厂")
    _finding(west, D(2018, 6, 2), "西城逾期厂二")
    _finding(east, D(2018, 6, 30), "东城未到期厂")

    response = _home(client, people["viewer"])
    context = response.context
    assert [row.name for row in context["red"]] == ["西城街道"]
    assert [(row.name, n) for row, n in context["overdue"]] == [("西城街道", 2)] and context["overdue_total"] == 2
    (change,) = context["changes"]
    assert (change.row.name, change.identified, change.rectified) == ("西城街道", 1, 1)
    html = response.content.decode()
    assert 'id="red-list"' in html and "新排查 1 · 整治 1" in html
    assert "undelivered" not in context and not context["home"].todos

    # The admin also sees the reconciliations waiting for the city and the undelivered messages.
    Reconciliation.objects.create(township=east, period_start=D(2018, 6, 1), township_confirmed_at=timezone.now())
    Reconciliation.objects.create(township=west, period_start=D(2018, 6, 1))
    message = Message.objects.create(event="finding_new", title="t", body="b", link="/", key="k1")
    Delivery.objects.create(
        message=message,
        user=people["staff"],
        channel="email",
        idempotency_key="dead-1",
        state=State.DEAD,
        due_at=timezone.now(),
    )
    response = _home(client, people["admin"])
    assert _titles(_todo(response, "reconciliations")) == ["东城街道"]
    assert response.context["undelivered"] == 1 and 'id="undelivered"' in response.content.decode()


def test_rank_and_colour_changes_since_yesterday():
    from reports.home import Change

    class Row:
        def __init__(self, rank, colour):
            self.rank, self.colour = rank, colour

    assert Change(Row(2, "green"), 4, "yellow", 0, 3).moved_text == "↑2"
    assert Change(Row(5, "green"), 4, "green", 0, 0).moved_text == "↓1"
    assert Change(Row(5, "red"), 5, "yellow", 0, 0).colour_changed
    assert Change(Row(None, None), 3, None, 0, 0).rank_moved is None


@pytest.mark.parametrize(
    ("who", "pinned"),
    [
        ("staff", TOWNSHIP_HOME_QUERIES),
        ("inspector", INSPECTOR_HOME_QUERIES),
        ("viewer", CITY_HOME_QUERIES),
        ("admin", ADMIN_HOME_QUERIES),
    ],
)
def test_each_home_costs_a_fixed_number_of_queries(client, world, who, pinned):
    """Pinned with every list longer than it shows (its totals are then counted, one query each);
    twice as many items cost nothing more, and short lists no more than that."""
    campaign, east, west, people = world
    client.force_login(people[who])

    def measure():
        counts.clear()
        return query_count(client, URL), query_count(client, URL)

    def more_of_everything(batch, n=20):
        for k in range(1, n + 1):
            day = batch * 100 + k
            _finding(east, D(2018, 6, k % 28 + 1), f"厂{day}")
            waiting = _finding(east, D(2018, 6, 1), f"待验收厂{day}")
            Finding.objects.filter(pk=waiting.pk).update(state=FindingState.RECTIFIED, rectified_on=D(2018, 6, 2))
            _lookback(east, D(2018, 6, 14), f"回头看{day}")
            _commitment(campaign, east, D(2018, 6, 1), f"承诺{day}", people["admin"])
            Reconciliation.objects.create(
                township=east,
                period_start=D(2017, 1, 1) + datetime.timedelta(days=day),
                township_confirmed_at=timezone.now() if k % 2 else None,
            )
            scheduled = _inspection(west, user=people["inspector"])
            scheduled.done = False
            scheduled.save()
            CrossRound.objects.create(
                campaign=campaign, name=f"第{day}轮", held_on=D(2018, 6, 10), ends_on=D(2018, 6, 20), seed=day
            )

    few = measure()
    more_of_everything(1)
    many = measure()
    more_of_everything(2)
    assert measure() == many == pinned
    assert few[0] <= many[0] and few[1] <= many[1]


def test_the_badges_count_the_work_waiting_and_leave_out_zeros(client, world):
    campaign, east, west, people = world
    _finding(east, D(2018, 6, 1), "一厂")
    _finding(east, D(2018, 6, 30), "二厂")
    _lookback(east, D(2018, 6, 16), "回头看厂")
    Reconciliation.objects.create(township=east, period_start=D(2018, 6, 1))
    _commitment(campaign, east, D(2018, 6, 12), "承诺", people["admin"])
    waiting = _finding(west, D(2018, 6, 1), "待验收厂")
    Finding.objects.filter(pk=waiting.pk).update(state=FindingState.RECTIFIED)

    def badges(user):
        client.force_login(user)
        response = client.get(reverse("reports:badges"))
        assert response["Cache-Control"] == "private, no-store"
        return response.json()

    # The home badge is the home's to-do total, but for the indicators not recorded this quarter.
    assert badges(people["staff"]) == {"inspections": 3, "home": 5}
    staff_home = _home(client, people["staff"]).context["home"]
    assert staff_home.open_items - _todo(_home(client, people["staff"]), "records").total == 5
    assert badges(people["west"]) == {}  # 西城's one finding waits for verification, not for 西城
    assert badges(people["inspector"]) == {"inspections": 2, "home": 2}  # one to verify, one look-back due
    assert badges(people["viewer"]) == {}
    client.logout()
    assert client.get(reverse("reports:badges")).status_code == 302


def test_a_township_account_without_a_township_gets_the_dashboard(client, world):
    client.force_login(make_user("lost", role="township_staff"))
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == reverse("reports:dashboard")


def test_the_home_in_english(client, world):
    _campaign, _east, _west, people = world
    client.force_login(people["inspector"])
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My work" in html and "我的工作台" not in html


def test_a_backlog_is_counted_up_to_a_cap(client, world, monkeypatch):
    """Tens of thousands of look-backs waiting cost what a few do: the total is counted over at most
    COUNTED rows of the list's order and shown as COUNTED+; the late ones come first, so they are exact."""
    _campaign, east, _west, people = world
    monkeypatch.setattr("reports.home.COUNTED", 10)
    for day in range(1, 16):
        _finding(east, D(2018, 6, day), f"厂{day:02d}")
    response = _home(client, people["staff"])
    findings = _todo(response, "findings")
    assert (findings.total, findings.total_text, findings.late) == (11, "10+", 11)
    assert "查看全部 10+ 项" in response.content.decode()
    monkeypatch.setattr("reports.home.COUNTED", 999)
    findings = _todo(_home(client, people["staff"]), "findings")
    assert (findings.total, findings.total_text, findings.late) == (15, "15", 14)  # 06-15 is due today
