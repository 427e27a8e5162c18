# ruff: noqa: E501  (REFERENCE is the template text as it was)
"""Overdue findings (限期整改 not met) on the dashboard and the township page, as of the page's date."""

import datetime
import itertools
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import engines
from django.urls import reverse
from django.utils import translation

from enterprises.photos import clean_photos
from inspections.services import finding_record, finding_rectified, finding_verify, inspection_record
from reports.counts import overdue_counts, overdue_list, overdue_on
from tests.enterprises.test_photos import make_image_bytes
from tests.factories import make_township, make_unit, make_user, set_target

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def city(campaign):
    town, other = make_township("石门镇"), make_township("白鹤镇")
    set_target(campaign, town, 10)
    set_target(campaign, other, 10)
    unit = make_unit(town, D(2018, 1, 5), name="城东五金加工点")
    inspector = make_user("ducha", role="inspector")
    inspection = inspection_record(
        kind="unannounced", inspected_on=D(2018, 2, 14), team="市督查组", township=town, units=[unit], user=inspector
    )
    finding = finding_record(
        inspection=inspection,
        kind="not_done",
        description="设备未拆除",
        deadline=D(2018, 2, 28),
        enterprise=unit,
        user=inspector,
    )
    return town, other, finding, inspector


_viewers = itertools.count()


def page(client, name, as_of, **kwargs):
    client.force_login(make_user(f"viewer-{next(_viewers)}", role="city_viewer"))
    url = reverse(name, **kwargs) + f"?campaign=c2018&as_of={as_of}"
    return client.get(url).content.decode()


def test_a_finding_is_overdue_from_the_day_after_its_deadline(city):
    town, other, finding, _inspector = city
    assert list(overdue_on(D(2018, 2, 28))) == []
    assert list(overdue_on(D(2018, 3, 1))) == [finding]
    assert overdue_counts(D(2018, 3, 1)) == {town.pk: 1}
    assert list(overdue_on(D(2018, 3, 1), other)) == []
    assert list(overdue_on(D(2018, 2, 10))) == []  # not found yet


def test_reported_rectified_or_closed_is_no_longer_overdue_from_that_day(city, frozen_today, settings, tmp_path):
    town, _other, finding, inspector = city
    frozen_today(D(2018, 3, 20))
    settings.MEDIA_ROOT = tmp_path / "media"
    staff = make_user("shimen", role="township_staff", township=town)
    assert overdue_counts(D(2018, 3, 12)) == {town.pk: 1}
    # Close-off needs the completion's photos (inspections.services.finding_verify).
    photos = clean_photos([SimpleUploadedFile("整改.jpg", make_image_bytes(), "image/jpeg")])
    finding_rectified(finding=finding, rectified_on=D(2018, 3, 10), note="已拆除", photos=photos, user=staff)
    assert list(overdue_on(D(2018, 3, 9))) == [finding]
    assert list(overdue_on(D(2018, 3, 10))) == []
    assert overdue_counts(D(2018, 3, 12)) == {}  # the counts are cached until a finding changes: this one did
    finding_verify(finding=finding, passed=True, closed_on=D(2018, 3, 15), note="属实", user=inspector)
    assert list(overdue_on(D(2018, 3, 9))) == [finding]  # the past stays as it was
    assert list(overdue_on(D(2018, 3, 20))) == []


def test_township_page_lists_its_overdue_findings(client, city):
    town, other, _finding, _inspector = city
    html = page(client, "reports:township", "2018-03-05", args=[town.pk])
    assert 'id="overdue-findings"' in html and "城东五金加工点" in html and "2018-02-28" in html
    assert ">5</td>" in html  # days overdue on 03-05
    assert "没有逾期未整改" in page(client, "reports:township", "2018-02-28", args=[town.pk])
    assert "没有逾期未整改" in page(client, "reports:township", "2018-03-05", args=[other.pk])


def test_dashboard_names_the_townships_with_overdue_findings(client, city):
    html = page(client, "reports:dashboard", "2018-03-05")
    section = html.split('id="overdue"')[1].split("</section>")[0]
    assert "石门镇" in section and "白鹤镇" not in section and "共 1 个问题" in section
    assert "没有逾期未整改" in page(client, "reports:dashboard", "2018-02-27")


# The rows as templates/reports/township.html wrote them before the overdue_rows tag.
REFERENCE = """{% load i18n %}{% for finding in overdue %}
          <tr class="overdue">
            <td data-label="{% translate '单位' %}"><a href="{{ finding.get_absolute_url }}">{{ finding.enterprise.name }}</a></td>
            <td data-label="{% translate '问题类型' %}">{{ finding.get_kind_display }}{% if finding.severity == "serious" %} <span class="badge badge-red">{{ finding.get_severity_display }}</span>{% endif %}</td>
            <td data-label="{% translate '发现日期' %}">{{ finding.found_on|date:"Y-m-d" }}</td>
            <td data-label="{% translate '整改期限' %}">{{ finding.deadline|date:"Y-m-d" }}</td>
            <td data-label="{% translate '逾期天数' %}" class="num">{{ finding.days_overdue }}</td>
          </tr>
{% endfor %}"""


def _rows(html):
    return [
        re.sub(r">\s+<", "><", row).strip() for row in re.findall(r'<tr class="overdue">.*?</tr>', html, flags=re.S)
    ]


@pytest.fixture
def many_overdue(city):
    """Twelve more overdue findings of the same township, one serious, with names to escape."""
    town, _other, finding, inspector = city
    inspection = finding.inspection
    for i in range(12):
        unit = make_unit(town, D(2018, 1, 6), name=f"<b>作坊</b> & {i}")
        finding_record(
            inspection=inspection,
            kind="other" if i % 2 else "not_done",
            severity="serious" if i == 3 else "normal",
            description="复查",
            deadline=D(2018, 2, 15 + i),
            enterprise=unit,
            user=inspector,
        )
    return town


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_overdue_rows_are_the_html_the_template_wrote(client, many_overdue, language):
    """Cell for cell, escaped, with the serious badge, oldest deadline first, as the template did."""
    town = many_overdue
    client.force_login(make_user(f"viewer-{language}", role="city_viewer"))
    url = reverse("reports:township", args=[town.pk]) + "?campaign=c2018&as_of=2018-03-05"
    html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    expected_findings = list(overdue_on(D(2018, 3, 5), town).select_related("enterprise"))
    for f in expected_findings:
        f.days_overdue = (D(2018, 3, 5) - f.deadline).days
    with translation.override(language):
        expected = engines["django"].from_string(REFERENCE).render({"overdue": expected_findings})
    shown = _rows(html)
    assert len(shown) == 13  # the fixture's finding and twelve more
    assert shown == _rows(expected)
    assert "&lt;b&gt;作坊&lt;/b&gt; &amp; 0" in html and "<b>作坊" not in html
    assert html.count("badge badge-red") >= 1


def test_the_overdue_list_is_cut_after_sorting(many_overdue):
    town = many_overdue
    listed = overdue_list(D(2018, 3, 5), town, 5)
    every = list(overdue_on(D(2018, 3, 5), town))
    assert [f.pk for f in listed] == [f.pk for f in every[:5]]
    assert [f.deadline for f in listed] == sorted(f.deadline for f in every)[:5]
    assert listed[0].days_overdue == (D(2018, 3, 5) - every[0].deadline).days


def test_the_cached_overdue_list_follows_findings_and_names(city, frozen_today):
    """Kept under the counts' versions, which a finding's change renews; the names are read afresh."""
    town, _other, finding, _inspector = city
    frozen_today(D(2018, 3, 20))
    staff = make_user("shimen", role="township_staff", township=town)
    assert [f.unit_name for f in overdue_list(D(2018, 3, 12), town, 50)] == ["城东五金加工点"]
    type(finding.enterprise).objects.filter(pk=finding.enterprise_id).update(name="城东五金加工点（已更名）")
    assert [f.unit_name for f in overdue_list(D(2018, 3, 12), town, 50)] == ["城东五金加工点（已更名）"]
    finding_rectified(finding=finding, rectified_on=D(2018, 3, 10), note="已拆除", user=staff)
    assert overdue_list(D(2018, 3, 12), town, 50) == []


def test_overdue_counts_on_any_day_equal_the_rule_read_from_the_findings(city):
    """The day-by-day tallies (read once, kept) give, on every day, the counts of the rule itself
    (``overdue_on``): deadlines, completions and close-offs on and around the days, deletions."""
    import random
    from collections import Counter

    from django.utils import timezone

    from inspections.models import Finding

    town, other, finding, _inspector = city
    rng = random.Random(2018)
    start = D(2018, 2, 1)
    rows = []
    for i in range(120):
        found = start + datetime.timedelta(days=rng.randrange(40))
        deadline = found + datetime.timedelta(days=rng.choice([0, 1, 5, 15]))
        done = deadline + datetime.timedelta(days=rng.randrange(-3, 20)) if rng.random() < 0.6 else None
        done = max(done, found) if done else None
        closed = (done or deadline) + datetime.timedelta(days=rng.randrange(0, 10)) if rng.random() < 0.4 else None
        rows.append(
            Finding(
                inspection=finding.inspection,
                enterprise=finding.enterprise,
                township=rng.choice([town, other]),
                kind=finding.kind,
                description=f"问题{i}",
                found_on=found,
                deadline=deadline,
                rectified_on=done,
                closed_on=closed,
                deleted_at=timezone.now() if rng.random() < 0.1 else None,
            )
        )
    Finding.objects.bulk_create(rows)
    for offset in range(0, 80):
        day = start + datetime.timedelta(days=offset)
        expected = Counter(overdue_on(day).values_list("township_id", flat=True))
        assert overdue_counts(day) == dict(expected), day
