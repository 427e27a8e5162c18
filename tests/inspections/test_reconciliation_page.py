"""The 对账销号 page lists each unit and finding with a link, its village and address and its status
(issue 19), in a fixed number of queries whatever the length of the lists."""

import datetime
import re

import lxml.html
import pytest
from django.urls import reverse

from inspections import services
from inspections.models import FindingKind, Kind, Reconciliation
from tests.factories import make_campaign, make_township, make_unit, make_user, make_village

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture(autouse=True)
def today(frozen_today):
    return frozen_today(D(2018, 6, 30))


def township_with(n):
    """A township with ``n`` open units in two villages and a finding on every other one."""
    make_campaign()
    town = make_township("东城街道")
    villages = [make_village(town, "桥头村"), make_village(town, "溪口社区")]
    inspector = make_user("ducha", role="inspector")
    units = [make_unit(town, name=f"作坊{i:03d}", village=villages[i % 2], address=f"解放路{i}号") for i in range(n)]
    inspection = services.inspection_record(
        kind=Kind.RANDOM, inspected_on=D(2018, 6, 1), team="督查组", township=town, units=units, user=inspector
    )
    for unit in units[::2]:
        services.finding_record(
            inspection=inspection,
            kind=FindingKind.NOT_DONE,
            description="问题",
            deadline=D(2018, 6, 20),
            enterprise=unit,
            user=inspector,
        )
    staff = make_user("dongcheng", role="township_staff", township=town)
    return town, units, staff


def rows(response, section):
    tree = lxml.html.fromstring(response.content.decode())
    return tree.xpath(f'//*[@id="{section}"]//tbody/tr')


def test_each_unit_and_finding_links_and_shows_its_village_address_and_status(client):
    town, units, staff = township_with(3)
    reconciliation = services.reconciliation_open(township=town, user=staff)
    client.force_login(staff)

    response = client.get(reconciliation.get_absolute_url())

    unit_rows = rows(response, "snapshot-units")
    assert len(unit_rows) == 3
    first = unit_rows[0]
    cells = [cell.text_content().strip() for cell in first.xpath("td")]
    assert cells == ["作坊000", "桥头村", "解放路0号", "未整治"]
    assert first.xpath(".//a")[0].get("href") == reverse("enterprises:detail", args=[units[0].pk])

    finding_rows = rows(response, "snapshot-findings")
    assert len(finding_rows) == 2
    second = finding_rows[1]
    cells = [cell.text_content().strip() for cell in second.xpath("td")]
    assert cells == ["作坊002", "桥头村", "解放路2号", "整治不到位", "2018-06-20", "待整改"]
    finding = units[2].findings.get()
    links = [a.get("href") for a in second.xpath(".//a")]
    assert links == [reverse("enterprises:detail", args=[units[2].pk]), finding.get_absolute_url()]
    # Every cell says what it is, so a row reads as a card on a phone.
    assert re.findall(r"<td(?![^>]*data-label)", response.content.decode()) == []


def test_a_list_kept_before_villages_and_addresses_were_recorded_reads_them_from_the_register(client):
    town, units, staff = township_with(2)
    reconciliation = services.reconciliation_open(township=town, user=staff)
    snapshot = reconciliation.snapshot
    Reconciliation.objects.filter(pk=reconciliation.pk).update(
        snapshot={
            "units": [row[:3] for row in snapshot["units"]],
            "findings": [row[:5] for row in snapshot["findings"]],
        }
    )
    client.force_login(staff)

    response = client.get(reconciliation.get_absolute_url())

    cells = [cell.text_content().strip() for cell in rows(response, "snapshot-units")[1].xpath("td")]
    assert cells == ["作坊001", "溪口社区", "解放路1号", "未整治"]
    finding_row = rows(response, "snapshot-findings")[0]
    assert finding_row.xpath(".//a")[0].get("href") == reverse("enterprises:detail", args=[units[0].pk])
    assert "解放路0号" in finding_row.text_content()


@pytest.mark.parametrize("n", [3, 30])
def test_the_reconciliation_page_does_not_grow_with_its_lists(client, django_assert_num_queries, n):
    town, _units, staff = township_with(n)
    reconciliation = services.reconciliation_open(township=town, user=staff)
    client.force_login(staff)
    # session, user (with role and township), the reconciliation, its differences
    with django_assert_num_queries(4):
        response = client.get(reconciliation.get_absolute_url())
    assert len(rows(response, "snapshot-units")) == n
    assert len(rows(response, "snapshot-findings")) == len(range(0, n, 2))


@pytest.mark.parametrize("n", [3, 30])
def test_an_older_list_is_completed_in_two_queries_whatever_its_length(client, django_assert_num_queries, n):
    town, _units, staff = township_with(n)
    reconciliation = services.reconciliation_open(township=town, user=staff)
    snapshot = reconciliation.snapshot
    Reconciliation.objects.filter(pk=reconciliation.pk).update(
        snapshot={
            "units": [row[:3] for row in snapshot["units"]],
            "findings": [row[:5] for row in snapshot["findings"]],
        }
    )
    client.force_login(staff)
    # as above, and the units and the findings' units read from the register
    with django_assert_num_queries(6):
        response = client.get(reconciliation.get_absolute_url())
    assert "解放路1号" in response.content.decode()
