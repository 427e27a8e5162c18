"""The inspection pages (inspections/views.py): each write through the browser, attributed to the
person who made it, and each refusal (role, township, the round's window, 谁整改、谁不能自验)."""

import datetime
import logging
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enterprises.models import Method, Source, Status
from enterprises.services import rectification_record
from inspections import services
from inspections.models import (
    CrossAccess,
    CrossAssignment,
    CrossRound,
    DefectClearance,
    Finding,
    FindingKind,
    FindingState,
    Inspection,
    InspectionPhoto,
    Kind,
    Lookback,
    LookbackDraw,
    LookbackResult,
    QualitySettings,
    Reconciliation,
    Severity,
)
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_campaign, make_township, make_unit, make_user
from tests.inspections import evidence

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2018, 6, 30)


@pytest.fixture(autouse=True)
def today(frozen_today, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return frozen_today(TODAY)


@pytest.fixture
def w(db):
    """Three townships (B inspects A in a round that is on), a unit of A, one user per role."""

    class World:
        pass

    world = World()
    world.campaign = make_campaign()
    world.town_a, world.town_b, world.town_c = (
        make_township("东城街道"),
        make_township("西城街道"),
        make_township("南湖镇"),
    )
    world.unit = make_unit(world.town_a, name="宏达五金厂", owner="张三丰", phone="13905710001", address="东门路1号")
    world.staff_a = make_user("dongcheng", role="township_staff", township=world.town_a)
    world.staff_a2 = make_user("dongcheng2", role="township_staff", township=world.town_a)
    world.staff_b = make_user("xicheng", role="township_staff", township=world.town_b)
    world.inspector = make_user("ducha", role="inspector")
    world.inspector2 = make_user("ducha2", role="inspector")
    world.viewer = make_user("lingdao", role="city_viewer")
    world.admin = make_user("guanli", role="city_admin")
    world.round = CrossRound.objects.create(
        campaign=world.campaign, name="第二轮", held_on=D(2018, 6, 1), ends_on=D(2018, 7, 31), seed=1
    )
    world.assignment = CrossAssignment.objects.create(
        round=world.round, inspecting=world.town_b, inspected=world.town_a
    )
    return world


def as_user(client, user):
    client.force_login(user)
    return client


INSPECTED_ON = D(2018, 6, 20)


def inspect(w, user=None, day=INSPECTED_ON, **kwargs):
    defaults = {"kind": Kind.UNANNOUNCED, "team": "市督查组", "township": w.town_a, "units": [w.unit]}
    defaults.update(kwargs)
    return services.inspection_record(inspected_on=day, user=user or w.inspector, **defaults)


def find(w, inspection=None, user=None, **kwargs):
    defaults = {"kind": FindingKind.NOT_DONE, "description": "消防通道堵塞", "deadline": D(2018, 7, 10)}
    defaults.update(kwargs)
    return services.finding_record(
        inspection=inspection or inspect(w), enterprise=w.unit, user=user or w.inspector, **defaults
    )


def last_user(instance):
    return instance.history.order_by("-history_date", "-history_id").first().history_user


def photo():
    return SimpleUploadedFile("现场.jpg", make_image_bytes(), "image/jpeg")


def html_of(response):
    return response.content.decode()


# --- inspections ---------------------------------------------------------------------------------


def test_inspector_picks_the_township_then_records_an_inspection_with_a_photo(client, w):
    as_user(client, w.inspector)
    picker = client.get(reverse("inspections:create"))
    assert picker.status_code == 200
    assert "东城街道" in html_of(picker)
    url = reverse("inspections:create") + f"?township={w.town_a.pk}"
    form = client.get(url)
    # The units are searched for (tests/inspections/test_unit_picker.py), not listed.
    assert reverse("inspections:unit_search") in html_of(form) and "宏达五金厂" not in html_of(form)

    response = client.post(
        url,
        {
            "kind": Kind.UNANNOUNCED,
            "inspected_on": "2018-06-29",
            "team": "市整治办督查组",
            "units": [w.unit.pk],
            "present": "王五",
            "notes": "夜间暗访",
            "photos": [photo()],
        },
    )

    inspection = Inspection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == inspection.get_absolute_url()
    assert (inspection.township, inspection.kind, inspection.created_by) == (w.town_a, Kind.UNANNOUNCED, w.inspector)
    assert list(inspection.units.all()) == [w.unit]
    assert last_user(inspection) == w.inspector
    stored = InspectionPhoto.objects.get()
    assert (stored.inspection, stored.uploaded_by) == (inspection, w.inspector)
    assert last_user(stored) == w.inspector

    detail = client.get(inspection.get_absolute_url())
    photo_url = reverse("inspections:photo", args=[inspection.pk, stored.pk])
    assert photo_url in html_of(detail)
    served = client.get(photo_url)
    assert (served.status_code, served["Content-Type"]) == (200, "image/jpeg")
    assert as_user(client, w.staff_b).get(photo_url).status_code == 404
    assert as_user(client, w.staff_a).get(photo_url).status_code == 200


def test_a_refused_inspection_shows_the_reason_next_to_the_field(client, w):
    as_user(client, w.inspector)
    url = reverse("inspections:create") + f"?township={w.town_a.pk}"
    response = client.post(url, {"kind": Kind.RANDOM, "inspected_on": "2018-07-01", "team": "督查组"})
    assert response.status_code == 200
    assert response.context["form"].errors["inspected_on"] == ["督查日期不能晚于今天"]
    # A unit of another township is not offered, and a forged one is refused.
    other = make_unit(w.town_b, name="西城小作坊")
    response = client.post(
        url, {"kind": Kind.RANDOM, "inspected_on": "2018-06-29", "team": "督查组", "units": [other.pk]}
    )
    assert "units" in response.context["form"].errors
    assert not Inspection.objects.exists()


def test_township_staff_record_a_cross_inspection_only_while_their_township_inspects(client, w, frozen_today):
    assert as_user(client, w.staff_a).get(reverse("inspections:create")).status_code == 403

    as_user(client, w.staff_b)
    form = client.get(reverse("inspections:create"))
    assert form.status_code == 200
    assert "kind" not in form.context["form"].fields
    response = client.post(
        reverse("inspections:create"),
        {"inspected_on": "2018-06-29", "team": "西城交叉督查组", "units": [w.unit.pk]},
    )
    inspection = Inspection.objects.get()
    assert response["Location"] == inspection.get_absolute_url()
    assert (inspection.kind, inspection.township, inspection.assignment) == (Kind.CROSS, w.town_a, w.assignment)
    assert last_user(inspection) == w.staff_b

    # During the round staff B read it and add findings; the reading is recorded.
    assert client.get(inspection.get_absolute_url()).status_code == 200
    assert CrossAccess.objects.filter(user=w.staff_b, assignment=w.assignment).exists()
    response = client.post(
        reverse("inspections:finding_create", args=[inspection.pk]),
        {"kind": FindingKind.NOT_DONE, "severity": Severity.NORMAL, "enterprise": w.unit.pk,
         "description": "仍在生产", "deadline": "2018-07-10"},
    )  # fmt: skip
    finding = Finding.objects.get()
    assert (finding.township, finding.created_by) == (w.town_a, w.staff_b)
    assert last_user(finding) == w.staff_b

    # After the round: nothing of A is theirs to see or write.
    frozen_today(D(2018, 8, 1))
    assert client.get(reverse("inspections:create")).status_code == 403
    assert client.get(inspection.get_absolute_url()).status_code == 404
    assert client.get(finding.get_absolute_url()).status_code == 404
    assert client.get(reverse("inspections:finding_create", args=[inspection.pk])).status_code == 404


def test_township_staff_add_no_findings_to_an_inspectors_inspection(client, w):
    inspection = inspect(w)
    assert (
        as_user(client, w.staff_a).get(reverse("inspections:finding_create", args=[inspection.pk])).status_code == 403
    )
    assert (
        as_user(client, w.staff_b).get(reverse("inspections:finding_create", args=[inspection.pk])).status_code == 404
    )
    assert as_user(client, w.viewer).get(reverse("inspections:finding_create", args=[inspection.pk])).status_code == 403


def test_a_missed_unit_finding_registers_the_unit_and_a_serious_one_plans_a_follow_up(client, w):
    inspection = inspect(w)
    as_user(client, w.inspector)
    url = reverse("inspections:finding_create", args=[inspection.pk])
    form = client.get(url)
    assert form.context["form"]["deadline"].value() == D(2018, 7, 5)  # the default 15 days
    response = client.post(
        url,
        {
            "kind": FindingKind.MISSED,
            "severity": Severity.SERIOUS,
            "description": "未登记的小作坊",
            "deadline": "2018-07-10",
            "name": "无名小作坊",
            "address": "东门路9号",
            "defects": ["unsafe", "no_env_measures"],
        },
    )
    assert response.status_code == 302
    finding = Finding.objects.get()
    unit = finding.enterprise
    assert (unit.name, unit.township, unit.source, unit.identified_on) == (
        "无名小作坊",
        w.town_a,
        Source.INSPECTION,
        D(2018, 6, 20),
    )
    assert (unit.unsafe, unit.no_env_measures, unit.unlicensed) == (True, True, False)
    follow_up = Inspection.objects.get(done=False)
    assert (follow_up.follow_up_of, follow_up.inspected_on) == (finding, D(2018, 7, 10))

    listing = client.get(reverse("inspections:list"))
    assert list(listing.context["planned"]) == [follow_up]
    assert reverse("inspections:follow_up", args=[follow_up.pk]) in html_of(listing)

    # The follow-up is carried out by an inspector.
    response = client.post(
        reverse("inspections:follow_up", args=[follow_up.pk]), {"inspected_on": "2018-06-30", "notes": "已复查"}
    )
    follow_up.refresh_from_db()
    assert response.status_code == 302
    assert (follow_up.done, follow_up.inspected_on, follow_up.notes) == (True, TODAY, "已复查")
    assert last_user(follow_up) == w.inspector
    assert as_user(client, w.staff_a).get(reverse("inspections:follow_up", args=[follow_up.pk])).status_code == 403


def test_finding_form_errors_are_shown_and_nothing_is_written(client, w):
    inspection = inspect(w)
    as_user(client, w.inspector)
    url = reverse("inspections:finding_create", args=[inspection.pk])
    base = {"severity": Severity.NORMAL, "description": "复产", "deadline": "2018-07-10"}
    # A relapse of a unit that is not rectified: the service's reason, above the form.
    response = client.post(url, {**base, "kind": FindingKind.RELAPSE, "enterprise": w.unit.pk})
    assert response.status_code == 200
    assert "该单位当前不是已整治状态，无法登记死灰复燃" in html_of(response)
    # A deadline before the day found: next to the deadline.
    response = client.post(
        url, {**base, "kind": FindingKind.NOT_DONE, "enterprise": w.unit.pk, "deadline": "2018-06-01"}
    )
    assert response.context["form"].errors["deadline"] == ["整改期限不能早于发现日期（2018-06-20）"]
    # A missed unit without a defect.
    response = client.post(url, {**base, "kind": FindingKind.MISSED, "name": "某作坊"})
    assert response.context["form"].errors["defects"] == ["至少选择一种四无情形"]
    assert not Finding.objects.exists()


def test_the_responsible_township_reports_a_finding_rectified(client, w):
    finding = find(w)
    url = reverse("inspections:finding_rectified", args=[finding.pk])
    assert as_user(client, w.staff_b).get(url).status_code == 404
    assert as_user(client, w.inspector).get(url).status_code == 403
    assert as_user(client, w.viewer).post(url, {}).status_code == 403

    as_user(client, w.staff_a)
    response = client.post(url, {"rectified_on": "2018-07-01", "note": "已清理", "photos": photo()})
    assert response.context["form"].errors["rectified_on"] == ["整改完成日期须在发现日期和今天之间"]
    response = client.post(url, {"rectified_on": "2018-06-28", "note": "已清理", "photos": photo()})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert (finding.state, finding.rectified_by, finding.rectified_on) == (
        FindingState.RECTIFIED,
        w.staff_a,
        D(2018, 6, 28),
    )
    assert last_user(finding) == w.staff_a
    # Reported once: the page now sends back to the finding.
    assert client.get(url)["Location"] == finding.get_absolute_url()


def test_close_off_is_refused_to_whoever_rectified_it(client, w):
    finding = find(w)
    services.finding_rectified(
        finding=finding, rectified_on=D(2018, 6, 28), note="整改", photos=evidence.photos(), user=w.admin
    )
    url = reverse("inspections:finding_verify", args=[finding.pk])
    assert as_user(client, w.staff_a).get(url).status_code == 403

    as_user(client, w.admin)
    page = client.get(url)
    assert "谁整改、谁不能自验：请由其他人员验收" in html_of(page)
    response = client.post(url, {"passed": "yes", "closed_on": "2018-06-30"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["谁整改、谁不能自验：请由其他人员验收"]
    finding.refresh_from_db()
    assert finding.state == FindingState.RECTIFIED

    response = as_user(client, w.inspector).post(url, {"passed": "yes", "closed_on": "2018-06-30", "note": "合格"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert (finding.state, finding.closed_by, finding.closed_on) == (FindingState.CLOSED, w.inspector, TODAY)
    assert last_user(finding) == w.inspector
    detail = html_of(client.get(finding.get_absolute_url()))
    assert "已销号" in detail and "合格" in detail


def test_a_failed_verification_sends_the_finding_back(client, w):
    finding = find(w)
    services.finding_rectified(finding=finding, rectified_on=D(2018, 6, 28), note="整改", user=w.staff_a)
    as_user(client, w.inspector).post(
        reverse("inspections:finding_verify", args=[finding.pk]),
        {"passed": "no", "closed_on": "2018-06-30", "note": "仍未清理"},
    )
    finding.refresh_from_db()
    assert (finding.state, finding.rectified_by, finding.verification_note) == (FindingState.OPEN, None, "仍未清理")


def test_finding_pages_are_scoped_to_the_township(client, w):
    finding = find(w)
    assert as_user(client, w.staff_b).get(finding.get_absolute_url()).status_code == 404
    assert as_user(client, w.staff_b).get(reverse("inspections:findings")).context["counts"]["total"] == 0
    page = as_user(client, w.staff_a).get(finding.get_absolute_url())
    assert page.status_code == 200
    assert reverse("inspections:finding_rectified", args=[finding.pk]) in html_of(page)


def test_overdue_findings_are_marked_and_filtered(client, w, frozen_today):
    late = find(w, deadline=D(2018, 6, 25))
    find(w, deadline=D(2018, 7, 25))
    as_user(client, w.staff_a)
    response = client.get(reverse("inspections:findings"))
    assert response.context["counts"]["overdue"] == 1
    assert "data-overdue" in html_of(response)
    only = client.get(reverse("inspections:findings"), {"overdue": "on"})
    assert list(only.context["page"].object_list) == [late]


# --- cross rounds --------------------------------------------------------------------------------


def test_a_city_admin_arranges_a_cross_round_and_its_page_shows_seed_and_pairs(client, w):
    url = reverse("inspections:round_create")
    assert as_user(client, w.inspector).get(url).status_code == 403
    as_user(client, w.admin)
    towns = [w.town_a.pk, w.town_b.pk, w.town_c.pk]
    data = {"campaign": w.campaign.pk, "name": "第三轮", "held_on": "2018-07-01", "ends_on": "2018-07-15"}
    response = client.post(url, {**data, "townships": towns[:2]})
    assert response.context["form"].errors["townships"] == ["交叉督查至少需要三个乡镇（街道），才能避免互查"]
    response = client.post(url, {**data, "townships": towns, "seed": "42"})
    round_ = CrossRound.objects.get(name="第三轮")
    assert response["Location"] == round_.get_absolute_url()
    assert (round_.seed, round_.created_by) == (42, w.admin)
    assert last_user(round_) == w.admin
    pairs = set(round_.assignments.values_list("inspecting_id", "inspected_id"))
    assert len(pairs) == 3 and all(a != b for a, b in pairs)

    page = as_user(client, w.staff_a).get(round_.get_absolute_url())
    assert "data-seed>42<" in html_of(page)
    assert len(page.context["assignments"]) == 3


def test_the_inspecting_township_reads_the_other_townships_units_masked_and_recorded(client, w, caplog):
    as_user(client, w.staff_b)
    listing = client.get(reverse("inspections:cross_units", args=[w.assignment.pk]))
    html = html_of(listing)
    assert "宏达五金厂" in html
    assert "张**" in html and "139****0001" in html
    assert "张三丰" not in html and "13905710001" not in html
    unit_page = client.get(reverse("inspections:cross_unit", args=[w.assignment.pk, w.unit.pk]))
    html = html_of(unit_page)
    assert "张**" in html and "张三丰" not in html
    accesses = list(CrossAccess.objects.order_by("id"))
    assert [(a.user, a.enterprise) for a in accesses] == [(w.staff_b, None), (w.staff_b, w.unit)]
    assert accesses[1].path == reverse("inspections:cross_unit", args=[w.assignment.pk, w.unit.pk])
    # A unit of another township is not reachable through the assignment.
    other = make_unit(w.town_c)
    assert client.get(reverse("inspections:cross_unit", args=[w.assignment.pk, other.pk])).status_code == 404

    # The inspected township's staff, and inspectors, have no such view.
    with caplog.at_level(logging.WARNING, logger="siwu.access"):
        assert (
            as_user(client, w.staff_a).get(reverse("inspections:cross_units", args=[w.assignment.pk])).status_code
            == 404
        )
    assert "not inspecting under this cross assignment today" in caplog.text
    assert (
        as_user(client, w.inspector).get(reverse("inspections:cross_units", args=[w.assignment.pk])).status_code == 403
    )


def test_the_cross_view_closes_with_the_round_and_the_refusal_is_logged(client, w, frozen_today, caplog):
    frozen_today(D(2018, 8, 1))
    as_user(client, w.staff_b)
    with caplog.at_level(logging.WARNING, logger="siwu.access"):
        assert client.get(reverse("inspections:cross_units", args=[w.assignment.pk])).status_code == 404
        assert client.get(reverse("inspections:cross_unit", args=[w.assignment.pk, w.unit.pk])).status_code == 404
    assert caplog.text.count("access denied") == 2
    assert not CrossAccess.objects.exists()


# --- look-backs ----------------------------------------------------------------------------------


@pytest.fixture
def rectified(w):
    """Four rectified units of A: two shut down, one relocated, one upgraded."""
    units = []
    for i, method in enumerate([Method.CLOSED, Method.CLOSED, Method.RELOCATED, Method.UPGRADED]):
        unit = make_unit(w.town_a, name=f"已整治{i}")
        rectification_record(enterprise=unit, method=method, rectified_on=D(2018, 3, 1), user=w.staff_a)
        units.append(unit)
    return units


def test_an_inspector_draws_a_sample_with_a_seed_and_the_redraw_matches(client, w, rectified):
    url = reverse("inspections:draw_create")
    assert as_user(client, w.staff_a).get(url).status_code == 403
    as_user(client, w.inspector)
    response = client.post(
        url, {"campaign": w.campaign.pk, "township": w.town_a.pk, "as_of": "2018-06-30", "seed": "9"}
    )
    draw = LookbackDraw.objects.get()
    assert response["Location"] == draw.get_absolute_url()
    assert (draw.seed, draw.population, draw.drawn_by) == (9, 4, w.inspector)
    assert last_user(draw) == w.inspector
    assert draw.lookbacks.count() == 3  # at least 3 per township

    page = as_user(client, w.staff_a).get(draw.get_absolute_url())
    assert page.context["redraw_matches"] is True
    assert "data-seed>9<" in html_of(page) and 'data-redraw="same"' in html_of(page)
    assert as_user(client, w.staff_b).get(draw.get_absolute_url()).status_code == 404

    # Without a seed, the system draws one and records it.
    as_user(client, w.admin).post(url, {"campaign": w.campaign.pk, "township": w.town_a.pk, "as_of": "2018-06-30"})
    assert LookbackDraw.objects.exclude(pk=draw.pk).get().seed > 0


def test_look_backs_are_scheduled_at_the_offsets(client, w, rectified):
    as_user(client, w.inspector)
    response = client.post(reverse("inspections:schedule"), {"campaign": w.campaign.pk, "as_of": "2018-06-30"})
    assert response["Location"] == reverse("inspections:lookbacks")
    # Rectified on 03-01: the 30- and 90-day look-backs are due by 06-30 (four units each).
    assert Lookback.objects.filter(offset_days__isnull=False).count() == 8
    assert {last_user(lookback) for lookback in Lookback.objects.all()} == {w.inspector}
    listing = client.get(reverse("inspections:lookbacks"), {"result": "pending"})
    assert listing.context["page"].paginator.count == 8


def test_a_shut_down_units_look_back_needs_the_whole_checklist(client, w, rectified):
    draw = services.lookback_draw(campaign=w.campaign, township=w.town_a, as_of=TODAY, seed=1)
    lookback = draw.lookbacks.get(rectification__method=Method.CLOSED, enterprise=rectified[0])
    url = lookback.get_absolute_url()
    assert as_user(client, w.staff_a).post(url, {}).status_code == 403
    page = as_user(client, w.staff_a).get(url)
    assert page.context["form"] is None

    as_user(client, w.inspector)
    page = client.get(url)
    assert 'id="checklist"' in html_of(page)
    response = client.post(url, {"checked_on": "2018-06-30", "operating": "no", "water_cut": "yes"})
    assert response.status_code == 200
    assert "关停取缔的单位须逐项填写“两断三清”" in html_of(response)

    checklist = dict.fromkeys(("water_cut", "power_cut", "materials_cleared", "equipment_cleared"), "yes")
    response = client.post(url, {"checked_on": "2018-06-30", "operating": "no", **checklist, "products_cleared": "no"})
    assert response.status_code == 302
    lookback.refresh_from_db()
    assert (lookback.result, lookback.checked_by, lookback.products_cleared) == (
        LookbackResult.FAILED,
        w.inspector,
        False,
    )
    assert last_user(lookback) == w.inspector
    finding = Finding.objects.get(enterprise=rectified[0])
    assert (finding.kind, finding.created_by) == (FindingKind.NOT_DONE, w.inspector)
    # Checked once.
    assert client.get(url).context["form"] is None


def test_a_look_back_that_finds_the_unit_operating_records_a_relapse(client, w, rectified):
    draw = services.lookback_draw(campaign=w.campaign, township=w.town_a, as_of=TODAY, seed=1)
    lookback = draw.lookbacks.exclude(rectification__method=Method.CLOSED).first()
    as_user(client, w.admin)
    page = client.get(lookback.get_absolute_url())
    assert 'id="checklist"' not in html_of(page)
    client.post(lookback.get_absolute_url(), {"checked_on": "2018-06-30", "operating": "yes", "note": "又开工了"})
    lookback.refresh_from_db()
    assert lookback.result == LookbackResult.RELAPSED
    lookback.enterprise.refresh_from_db()
    assert lookback.enterprise.status == Status.OPEN
    assert Finding.objects.get().kind == FindingKind.RELAPSE


# --- per-defect clearance ------------------------------------------------------------------------


def test_each_defect_is_cleared_and_the_last_one_rectifies_the_unit(client, w):
    unit = make_unit(w.town_a, name="双无作坊", unlicensed=True, unsafe=True)
    url = reverse("inspections:clearance", args=[unit.pk])
    assert as_user(client, w.staff_b).get(url).status_code == 404
    assert as_user(client, w.inspector).get(url).status_code == 200
    assert as_user(client, w.inspector).post(url, {}).status_code == 403

    as_user(client, w.staff_a)
    data = {"cleared_on": "2018-06-01", "department": "市场监管所", "signed_by": "李四"}
    response = client.post(url, {**data, "defect": "no_legal_premises"})
    assert "defect" in response.context["form"].errors
    client.post(url, {**data, "defect": "unlicensed"})
    first = DefectClearance.objects.get()
    assert (first.created_by, first.rectification) == (w.staff_a, None)
    assert last_user(first) == w.staff_a
    page = client.get(url)
    assert [value for value, _label in page.context["form"].fields["defect"].choices] == ["unsafe"]

    response = client.post(url, {**data, "defect": "unsafe", "cleared_on": "2018-06-20", "department": "应急办"})
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.status == Status.RECTIFIED
    rectification = unit.rectifications.get()
    assert (rectification.method, rectification.rectified_on) == (Method.UPGRADED, D(2018, 6, 20))
    page = client.get(url)
    assert page.context["form"] is None
    assert len(page.context["clearances"]) == 2


# --- reconciliation ------------------------------------------------------------------------------


def test_reconciliation_from_opening_to_both_confirmations(client, w):
    find(w)
    as_user(client, w.staff_a)
    response = client.post(reverse("inspections:reconciliation_open"), {})
    reconciliation = Reconciliation.objects.get()
    assert response["Location"] == reconciliation.get_absolute_url()
    assert (reconciliation.township, reconciliation.period_start) == (w.town_a, D(2018, 6, 16))
    assert last_user(reconciliation) == w.staff_a
    page = client.get(reconciliation.get_absolute_url())
    assert "宏达五金厂" in html_of(page)
    assert as_user(client, w.staff_b).get(reconciliation.get_absolute_url()).status_code == 404

    as_user(client, w.staff_a)
    dispute_url = reverse("inspections:reconciliation_dispute", args=[reconciliation.pk])
    response = client.post(dispute_url, {"description": ""})
    assert response.status_code == 200 and "description" in response.context["dispute_form"].errors
    client.post(dispute_url, {"item": f"unit:{w.unit.pk}", "description": "已于6月停产"})
    item = reconciliation.items.get()
    assert (item.enterprise, item.raised_by) == (w.unit, w.staff_a)

    confirm_url = reverse("inspections:reconciliation_confirm", args=[reconciliation.pk])
    as_user(client, w.admin)
    response = client.post(confirm_url, follow=True)
    assert "须先由乡镇（街道）确认" in html_of(response)
    as_user(client, w.staff_a).post(confirm_url)
    response = as_user(client, w.admin).post(confirm_url, follow=True)
    assert "还有未处理的差异，处理后才能确认" in html_of(response)

    resolve_url = reverse("inspections:reconciliation_resolve", args=[item.pk])
    assert as_user(client, w.staff_a).post(resolve_url, {f"item{item.pk}-resolution": "x"}).status_code == 403
    as_user(client, w.admin)
    response = client.post(resolve_url, {})
    assert response.status_code == 200
    client.post(resolve_url, {f"item{item.pk}-resolution": "核实停产，下期销号"})
    item.refresh_from_db()
    assert (item.resolved_by, item.resolution) == (w.admin, "核实停产，下期销号")
    client.post(confirm_url)
    reconciliation.refresh_from_db()
    assert reconciliation.confirmed
    assert (reconciliation.township_confirmed_by, reconciliation.city_confirmed_by) == (w.staff_a, w.admin)
    assert last_user(reconciliation) == w.admin
    html = html_of(client.get(reconciliation.get_absolute_url()))
    assert "双方已确认" in html and "dongcheng" in html and "guanli" in html


def test_a_city_admin_opens_any_townships_reconciliation(client, w):
    as_user(client, w.admin)
    response = client.post(reverse("inspections:reconciliation_open"), {})
    assert response.status_code == 200 and "township" in response.context["form"].errors
    client.post(reverse("inspections:reconciliation_open"), {"township": w.town_b.pk})
    assert Reconciliation.objects.get().township == w.town_b


# --- quality report and settings -----------------------------------------------------------------


def test_the_quality_report_shows_each_township_and_its_eligibility(client, w):
    finding = find(w, deadline=D(2018, 6, 25))
    as_user(client, w.staff_b)
    response = client.get(reverse("inspections:quality"))
    assert response.status_code == 200
    assert (response.context["start"], response.context["end"]) == (w.campaign.start, TODAY)
    rows = {row.township: row for row in response.context["rows"]}
    assert (rows[w.town_a].opened, rows[w.town_a].overdue, rows[w.town_a].eligible) == (1, 1, False)
    assert "有未销号的督查问题" in rows[w.town_a].reason_labels
    assert rows[w.town_b].eligible
    html = html_of(response)
    assert "符合" in html
    assert len(re.findall(r"<td(?![^>]*data-label)(?![^>]*colspan)", html)) == 0
    # A period before the finding: nothing opened in it; dates outside the campaign are clamped.
    earlier = client.get(reverse("inspections:quality"), {"start": "2017-01-01", "end": "2018-05-31"})
    assert earlier.context["start"] == w.campaign.start
    assert {row.township: row.opened for row in earlier.context["rows"]}[finding.township] == 0
    bad = client.get(reverse("inspections:quality"), {"start": "2018-06-30", "end": "2018-06-01"})
    assert bad.status_code == 200 and "截止日期不能早于起始日期" in html_of(bad)


def test_a_city_admin_sets_the_quality_settings(client, w):
    url = reverse("inspections:settings", args=[w.campaign.slug])
    assert as_user(client, w.inspector).get(url).status_code == 403
    as_user(client, w.admin)
    assert client.get(url).status_code == 200
    assert not QualitySettings.objects.exists()  # reading the form writes nothing
    data = {"sample_percent": 20, "sample_minimum": 2, "clean_days": 60, "deadline_days": 10}
    response = client.post(url, {**data, "lookback_offsets": "30, 九十"})
    assert "lookback_offsets" in response.context["form"].errors
    client.post(url, {**data, "lookback_offsets": "90，30"})
    settings = QualitySettings.objects.get()
    assert (settings.lookback_offsets, settings.sample_percent, settings.deadline_days) == ("30,90", 20, 10)
    assert last_user(settings) == w.admin
    assert services.deadline_for(D(2018, 6, 1)) == D(2018, 6, 11)
