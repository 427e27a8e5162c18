"""The Django admin refuses a duplicate unit with a message, as the unit form does (never a 500)."""

import datetime

import pytest
from django.urls import reverse

from enterprises.models import Enterprise
from tests.factories import make_township, make_unit

pytestmark = pytest.mark.django_db


def test_the_admin_refuses_a_unit_the_register_holds_already(admin_client):
    town = make_township("城关镇")
    existing = make_unit(town, name="兴旺小作坊", address="解放路1号")
    response = admin_client.post(
        reverse("admin:enterprises_enterprise_add"),
        {
            "township": town.pk,
            "name": " 兴旺小作坊 ",
            "address": "解放路1号",
            "identified_on": datetime.date(2018, 3, 1),
            "source": "screening",
            "unlicensed": "on",
            "rectifications-TOTAL_FORMS": "0",
            "rectifications-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert f"系统中已登记同一单位：兴旺小作坊（编号{existing.pk}）" in response.content.decode()
    assert Enterprise.objects.count() == 1
