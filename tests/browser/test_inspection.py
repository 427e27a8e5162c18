"""An inspector records an inspection and a finding on a phone; after its deadline it shows as overdue."""

import datetime

import pytest

from enterprises.models import Enterprise
from inspections.models import Finding, Inspection
from tests.browser.conftest import login
from tests.factories import make_campaign, make_township, make_user, set_target

D = datetime.date


@pytest.fixture
def city(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = make_campaign()
    make_user("ducha", role="inspector", password="pw-123456", first_name="市督查组")
    town = make_township("石门镇")
    set_target(campaign, town, 10)
    Enterprise.objects.create(township=town, name="城东五金加工点", unlicensed=True, identified_on=D(2018, 1, 10))
    return town


def test_inspector_records_a_finding_on_a_phone_and_sees_it_overdue(phone_page, city, screenshot):
    page = phone_page
    login(page, "ducha", "pw-123456")
    page.goto("/inspections/new/")
    page.select_option("#id_township", label="石门镇")
    page.click("form button[type=submit]")

    page.check("input[name=kind][value=unannounced]")
    page.fill("#id_inspected_on", "2018-05-10")
    page.fill("#id_team", "市督查组第二组")
    page.check("input[name=units] >> nth=0")
    page.fill("#id_present", "镇分管副镇长")
    page.fill("#id_notes", "现场检查整治台账")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.click("form button[type=submit]")
    page.wait_for_url("**/inspections/*/")
    inspection = Inspection.objects.get()
    assert inspection.team == "市督查组第二组" and inspection.units.count() == 1

    page.click("text=登记问题")
    page.check("input[name=kind][value=not_done]")
    page.select_option("#id_enterprise", label="城东五金加工点")
    page.fill("#id_description", "关停后设备未拆除")
    page.fill("#id_deadline", "2018-05-25")
    screenshot(page, "finding-form-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.click("form button[type=submit]")
    page.wait_for_url(f"**/inspections/{inspection.pk}/")
    finding = Finding.objects.get()
    assert (finding.deadline, finding.state, finding.found_on) == (D(2018, 5, 25), "open", D(2018, 5, 10))

    township = f"/townships/{city.pk}/?campaign=c2018"
    page.goto(f"{township}&as_of=2018-05-25")
    assert page.locator("#overdue-findings").count() == 0  # the deadline day itself is in time
    page.goto(f"{township}&as_of=2018-05-28")
    row = page.locator("#overdue-findings tbody tr")
    assert row.count() == 1
    assert "城东五金加工点" in row.inner_text() and "2018-05-25" in row.inner_text()
    assert row.locator("td").last.inner_text().strip() == "3"
    screenshot(page, "township-overdue-phone")
    assert page.watch.console_errors == []
