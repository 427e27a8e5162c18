# ruff: noqa: E501  (REFERENCE is the template text as it was, one line per cell)
"""The register's rows, written by a tag (enterprises/templatetags/register.py) instead of the template
engine: the same HTML as the template it replaced, cell for cell, escaped and masked the same way."""

import datetime
import re

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import translation

from enterprises.models import Method
from enterprises.services import rectification_record, relapse_record
from tests.factories import make_township, make_unit, make_user, make_village

pytestmark = pytest.mark.django_db

D = datetime.date

# The rows as templates/enterprises/unit_list.html wrote them before the tag (with the badge include inlined).
REFERENCE = """{% load i18n personal_data %}{% for unit in units %}
<tr>
  <td data-label="{% translate '单位名称' %}"><div><a href="{{ unit.get_absolute_url }}">{{ unit.name }}</a>{% if unit.address %}<div class="muted">{{ unit.address }}</div>{% endif %}</div></td>
  <td data-label="{% translate '乡镇(街道)' %}">{{ unit.township.name }}</td>
  <td data-label="{% translate '村(社区)' %}">{{ unit.village.name|default:"—" }}</td>
  <td data-label="{% translate '负责人' %}" data-personal>{% if unit.owner or unit.phone %}<span>{{ unit.owner|mask_name|default:"—" }}{% if unit.phone %} <span class="muted">{{ unit.phone|mask_phone }}</span>{% endif %}</span>{% else %}—{% endif %}</td>
  <td data-label="{% translate '四无类型' %}"><span>{% for defect in unit.defects %}<span class="badge badge-grey">{{ defect.label }}</span> {% endfor %}</span></td>
  <td data-label="{% translate '排查日期' %}">{{ unit.identified_on|date:"Y-m-d" }}</td>
  <td data-label="{% translate '整治状态' %}">{% if unit.status == "rectified" %}<span class="badge badge-green">{{ unit.get_status_display }}</span>{% elif unit.status == "in_progress" %}<span class="badge badge-yellow">{{ unit.get_status_display }}</span>{% else %}<span class="badge badge-red">{{ unit.get_status_display }}</span>{% endif %}</td>
  <td data-label="{% translate '整治方式' %}">{{ unit.current_method_label|default:"—" }}</td>
  <td data-label="{% translate '整治完成日期' %}">{{ unit.current_rectified_on|date:"Y-m-d"|default:"—" }}</td>
</tr>
{% endfor %}"""


def rows_of(html):
    """Each <tr>…</tr> of ``html`` with the whitespace between tags removed."""
    return [re.sub(r">\s+<", "><", row).strip() for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S)]


@pytest.fixture
def register(frozen_today, client):
    """A city admin's register over units that differ in every cell the rows show."""
    frozen_today(D(2018, 6, 30))
    user = make_user("admin")
    town = make_township(name="城关<镇>")
    village = make_village(town, name='东"村"&')
    make_unit(
        town,
        D(2018, 1, 2),
        name="<script>alert(1)</script>厂",
        address="路 1 号 <b>",
        owner="张三丰",
        phone="13812341234",
    )
    make_unit(
        town,
        D(2018, 1, 3),
        village=village,
        name="无地址",
        owner="",
        phone="0571-88886666",
        unsafe=True,
        status="in_progress",
    )
    make_unit(town, D(2018, 1, 4), name="无人", owner="", phone="", no_legal_premises=True, no_env_measures=True)
    rectified = make_unit(town, D(2018, 1, 5), village=village, name="已整治", owner="李四")
    rectification_record(enterprise=rectified, method=Method.RELOCATED, rectified_on=D(2018, 3, 31), user=user)
    relapsed = make_unit(town, D(2018, 1, 6), name="反弹")
    rectification_record(enterprise=relapsed, method=Method.CLOSED, rectified_on=D(2018, 2, 1), user=user)
    relapse_record(enterprise=relapsed, found_on=D(2018, 5, 1), user=user)
    client.force_login(user)
    return client


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_rows_are_the_html_the_template_wrote(register, language):
    with translation.override(language):
        response = register.get(reverse("enterprises:list"), HTTP_ACCEPT_LANGUAGE=language)
        units = list(response.context["page"].object_list)
        expected = rows_of(engines["django"].from_string(REFERENCE).render({"units": units}))
    assert len(units) == 5
    got = rows_of(response.content.decode())[1:]  # the first <tr> is the table's header
    assert got == expected


def test_values_are_escaped_and_personal_data_masked(register):
    html = register.get(reverse("enterprises:list")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;厂" in html
    assert "路 1 号 &lt;b&gt;" in html
    assert "城关&lt;镇&gt;" in html
    assert "东&quot;村&quot;&amp;" in html
    assert "张**" in html and "张三丰" not in html
    assert "138****1234" in html and "13812341234" not in html
    assert "0571-****6666" in html


def test_status_badges_take_the_status_colour(register):
    rows = {
        re.search(r'">([^<]*)</a>', row).group(1): row
        for row in rows_of(register.get(reverse("enterprises:list")).content.decode())[1:]
    }
    assert 'badge-green">已整治' in rows["已整治"]
    assert "badge-red" in rows["无人"]
    assert 'badge-yellow">整治中' in rows["无地址"]
    assert "2018-03-31" in rows["已整治"] and ">—</td>" in rows["无人"]
    # A relapse re-opens the unit: no current rectification, so no method and no date.
    assert "badge-green" not in rows["反弹"] and rows["反弹"].endswith('<td data-label="整治完成日期">—</td></tr>')
