"""The first version of a record in its history lists its values, never "— → value" (issue 19).

A creation is "新建" with the values it was made with. A record whose creation the history does not
hold (loaded in bulk before its history was kept, or its early rows pruned) shows its earliest kept
version as "最早记录", with that version's values: the history cannot say what changed then, and
must not claim every field changed from nothing.
"""

import datetime

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from campaign.models import Township
from core.audit import describe, history_model, history_of
from enterprises.models import Enterprise, Method, Rectification, Relapse
from enterprises.services import rectification_record, relapse_record
from tests.factories import make_township, make_unit, make_user

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 12, 31))


def forget_creation(model, pk):
    """As if the record had been written before its history was kept."""
    history_model(model).objects.filter(**{model._meta.pk.attname: pk}).delete()


def unit_history(client, unit):
    response = client.get(unit.get_absolute_url())
    assert response.status_code == 200
    return response.context["history"], response.content.decode()


def test_a_units_first_rectification_lists_the_units_values_not_changes_from_nothing(client):
    """The field's case: a unit from before its history was kept, rectified for the first time."""
    staff = make_user("chengguan", role="township_staff", township=make_township("城关镇"), first_name="城关镇整治办")
    unit = make_unit(staff.profile.township, D(2018, 12, 17), name="创业塑料造粒厂", address="西埠村3组94号")
    forget_creation(Enterprise, unit.pk)
    rectification_record(enterprise=unit, method=Method.RELOCATED, rectified_on=D(2018, 12, 31), user=staff)
    client.force_login(staff)

    history, html = unit_history(client, unit)

    by_model = {entry.model_key: entry for entry in history}
    kept = by_model["enterprises.enterprise"]
    assert (kept.action, kept.action_label) == ("recorded", "最早记录")
    assert ("单位名称", "", "创业塑料造粒厂") in [(c.label, c.old, c.new) for c in kept.changes]
    assert all(c.old == "" for c in kept.changes)
    created = by_model["enterprises.rectification"]
    assert (created.action, created.action_label) == ("created", "新建")
    assert ("整治方式", "", "搬迁入园") in [(c.label, c.old, c.new) for c in created.changes]
    assert "<del>" not in html and "— →" not in html
    assert "<strong>最早记录</strong>" in html and "此前的版本没有留存记录" in html
    assert "<strong>新建</strong>" in html
    assert '<li data-field="name"><span class="field">单位名称</span>：<ins>创业塑料造粒厂</ins></li>' in html


def test_later_changes_still_show_what_they_changed_from(client):
    staff = make_user("chengguan", role="township_staff", township=make_township("城关镇"))
    unit = make_unit(staff.profile.township, D(2018, 3, 1))
    forget_creation(Enterprise, unit.pk)
    rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    relapse_record(enterprise=unit, found_on=D(2018, 6, 1), user=staff)
    client.force_login(staff)

    history, html = unit_history(client, unit)

    actions = sorted((e.model_key, e.action) for e in history)
    assert actions == [
        ("enterprises.enterprise", "changed"),
        ("enterprises.enterprise", "recorded"),
        ("enterprises.rectification", "changed"),
        ("enterprises.rectification", "created"),
        ("enterprises.relapse", "created"),
    ]
    # The relapse re-opened the rectification: a change from its creation.
    reopened = next(e for e in history if e.model_key == "enterprises.rectification" and e.action == "changed")
    assert [(c.label, c.old, c.new) for c in reopened.changes] == [("复发日期", "—", "2018-06-01")]
    status = next(e for e in history if e.action == "changed" and e.model_key == "enterprises.enterprise")
    assert ("整治状态", "已整治", "未整治") in [(c.label, c.old, c.new) for c in status.changes]
    assert "<del>已整治</del> → <ins>未整治</ins>" in html


def shown(entry):
    return render_to_string("audit/_entries.html", {"entries": [entry]})


@pytest.mark.parametrize("model", [Enterprise, Rectification, Relapse, Township])
def test_every_kind_of_record_starts_its_history_with_its_values(client, model):
    admin = make_user("shiban", role="city_admin")
    unit = make_unit(make_township("城关镇"), D(2018, 3, 1))
    rectification = rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 4, 1))
    relapse = relapse_record(enterprise=unit, found_on=D(2018, 6, 1))
    record = {Enterprise: unit, Rectification: rectification, Relapse: relapse, Township: unit.township}[model]
    record.refresh_from_db()
    record.save()  # a later version, so that one is left when the creation is gone

    created = describe(history_of(model, record.pk), newest_first=False)[0]
    assert created.action == "created" and created.changes and all(c.old == "" for c in created.changes)
    assert "<strong>新建</strong>" in shown(created) and "<del>" not in shown(created)

    # Without its creation, the earliest kept version lists its values too.
    first = history_model(model).objects.filter(**{model._meta.pk.attname: record.pk}).order_by("history_id")
    first.first().delete()
    kept = describe(history_of(model, record.pk), newest_first=False)[0]
    assert kept.action == "recorded" and kept.changes and all(c.old == "" for c in kept.changes)
    assert "<strong>最早记录</strong>" in shown(kept) and "<del>" not in shown(kept)
    # The audit page shows it so as well.
    client.force_login(admin)
    key = f"{model._meta.app_label}.{model._meta.model_name}"
    page = client.get(reverse("audit:object", args=[key, record.pk])).content.decode()
    assert 'data-action="recorded"' in page and "此前的版本没有留存记录" in page
