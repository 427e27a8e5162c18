"""The new-unit form chooses the township when there is only one to choose (issue 19): township staff
see their own township fixed, as text; anyone with one township to choose finds it selected."""

import re

import pytest
from django.urls import reverse

from enterprises.models import Enterprise
from tests.factories import make_township, make_user, make_village

pytestmark = pytest.mark.django_db


def test_township_staff_find_their_township_fixed_on_the_new_unit_form(client):
    east, _west = make_township("城关镇"), make_township("新塘乡")
    make_village(east, "东村")
    client.force_login(make_user("chengguan", role="township_staff", township=east))

    response = client.get(reverse("enterprises:create"))

    form = response.context["form"]
    assert form["township"].value() == east.pk
    html = response.content.decode()
    assert f'<input type="hidden" name="township" value="{east.pk}" id="id_township">' in html
    assert '<div class="fixed-choice" id="id_township_shown">城关镇</div>' in html
    assert '<select name="township"' not in html and "新塘乡" not in html


def test_a_unit_saved_by_township_staff_lands_in_their_township_and_a_forged_one_is_refused(client):
    east, west = make_township("城关镇"), make_township("新塘乡")
    client.force_login(make_user("chengguan", role="township_staff", township=east))
    data = {
        "name": "路边洗车点",
        "defects": ["unlicensed"],
        "identified_on": "2018-06-01",
        "source": "screening",
        "status": "open",
    }
    forged = client.post(reverse("enterprises:create"), {**data, "township": west.pk})
    assert "township" in forged.context["form"].errors
    # The page shows the staff member's township again, not the forged one.
    assert '<div class="fixed-choice" id="id_township_shown">城关镇</div>' in forged.content.decode()
    assert not Enterprise.objects.exists()

    assert client.post(reverse("enterprises:create"), {**data, "township": east.pk}).status_code == 302
    assert Enterprise.objects.get().township == east


def test_with_one_township_to_choose_it_is_selected_and_with_more_none_is(client):
    only = make_township("城关镇")
    make_township("已撤并乡", is_active=False)
    client.force_login(make_user("shiban", role="city_admin"))

    response = client.get(reverse("enterprises:create"))

    assert response.context["form"]["township"].value() == only.pk
    select = township_select(response)
    assert f'<option value="{only.pk}" selected>城关镇</option>' in select
    assert '<option value=""' not in select

    make_township("新塘乡")
    response = client.get(reverse("enterprises:create"))
    assert response.context["form"]["township"].value() is None
    assert '<option value="" selected>---------</option>' in township_select(response)


def township_select(response):
    return re.search(r'<select name="township".*?</select>', response.content.decode(), re.S).group(0)
