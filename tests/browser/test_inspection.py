"""An inspector records an inspection and a finding on a phone; after its deadline it shows as overdue.
The units are chosen with the unit picker (static/js/unit-picker.js): searched by name, village or
address, picked into chips, at a phone's and a desktop's width, and without JavaScript by number."""

import datetime

import pytest

from enterprises.models import Enterprise
from inspections.models import Finding, Inspection
from tests.browser.conftest import DESKTOP, PHONE, _open, login
from tests.factories import make_campaign, make_township, make_user, make_village, set_target

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


def choose_township(page, name):
    page.goto("/inspections/new/")
    page.select_option("#id_township", label=name)
    page.click("form button[type=submit]")
    page.wait_for_selector(".unit-picker-ready")


def search_and_pick(page, text, result_text):
    """Type into the picker, wait for the results, click the one containing ``result_text``."""
    box = page.locator(".unit-picker-input")
    box.fill(text)
    result = page.locator(".unit-picker-results [role=option]", has_text=result_text)
    result.first.wait_for()
    result.first.click()


def wait_for_results(page, words):
    """Until every result shown holds every one of ``words`` (an earlier search's page is replaced)."""
    page.wait_for_function(
        """words => {
            const options = [...document.querySelectorAll(".unit-picker-results [role=option]")];
            return options.length > 0 && options.every(o => words.every(w => o.textContent.includes(w)));
        }""",
        arg=words,
    )


def test_inspector_records_a_finding_on_a_phone_and_sees_it_overdue(phone_page, city, screenshot):
    page = phone_page
    login(page, "ducha", "pw-123456")
    choose_township(page, "石门镇")

    page.check("input[name=kind][value=unannounced]")
    page.fill("#id_inspected_on", "2018-05-10")
    page.fill("#id_team", "市督查组第二组")
    search_and_pick(page, "五金", "城东五金加工点")
    page.fill("#id_present", "镇分管副镇长")
    page.fill("#id_notes", "现场检查整治台账")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.click("form button[type=submit]")
    page.wait_for_url("**/inspections/*/")
    inspection = Inspection.objects.get()
    assert inspection.team == "市督查组第二组" and inspection.units.count() == 1

    page.click("text=登记问题")
    page.check("input[name=kind][value=not_done]")
    # The unit the inspection covered is offered first: one tap.
    page.check("input[name=enterprise][type=radio]")
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


@pytest.fixture
def big_town(transactional_db, settings, tmp_path):
    """A township of 1,200 units, some of the same name in different villages, and an inspector."""
    settings.MEDIA_ROOT = tmp_path / "media"
    make_campaign()
    make_user("ducha", role="inspector", password="pw-123456", first_name="市督查组")
    town = make_township("城关镇")
    villages = [make_village(town, name) for name in ("桥头村", "溪口村", "城南社区")]
    Enterprise.objects.bulk_create(
        Enterprise(
            township=town,
            village=villages[i % 3],
            name=f"{('宏达', '兴旺', '永利', '金鑫')[i % 4]}{('五金加工厂', '小作坊', '废品回收站')[i % 3]}",
            address=f"{villages[i % 3].name}解放路{i}号",
            unlicensed=True,
            identified_on=D(2018, 1, 10),
        )
        for i in range(1200)
    )
    return town


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_units_are_searched_picked_and_saved_with_an_inspection_and_a_finding(
    browser, live_server, big_town, screenshot, width
):
    context, page = _open(browser, live_server, PHONE if width == "phone" else DESKTOP)
    try:
        login(page, "ducha", "pw-123456")
        choose_township(page, "城关镇")
        html = page.content()
        assert html.count("解放路") == 0  # not one of the 1,200 units is on the page

        page.check("input[name=kind][value=random]")
        page.fill("#id_inspected_on", "2018-05-10")
        page.fill("#id_team", "市督查组第一组")
        # The label names the search box; a search by village and address together.
        page.click("label[for=id_units_search]")
        box = page.locator(".unit-picker-input")
        assert box.evaluate("node => node === document.activeElement")
        box.fill("溪口 解放路1")
        wait_for_results(page, ["溪口村", "解放路1"])
        results = page.locator(".unit-picker-results [role=option]")
        assert 1 <= results.count() <= 20
        assert all("溪口村" in text and "解放路1" in text for text in results.all_inner_texts())
        first, second = results.nth(0).inner_text(), results.nth(1).inner_text()
        results.nth(0).click()
        # The keyboard picks too: down to the second result, Enter (which does not submit the form).
        box.press("ArrowDown")
        box.press("ArrowDown")
        box.press("Enter")
        assert page.locator(".unit-chip").count() == 2
        assert page.locator(".unit-result.is-chosen").count() == 2
        screenshot(page, f"unit-picker-inspection-{width}")
        if width == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
        # A chip removed is no longer sent.
        page.locator(".unit-chip-remove").nth(1).click()
        assert page.locator(".unit-chip").count() == 1
        search_and_pick(page, "永利废品", "永利废品回收站")
        chips = page.locator(".unit-chip")
        assert chips.count() == 2
        page.click("form button[type=submit]")
        page.wait_for_url("**/inspections/*/")
        inspection = Inspection.objects.get()
        chosen = sorted(inspection.units.values_list("name", "address"))
        assert len(chosen) == 2
        assert any(first.startswith(name) and address in first for name, address in chosen), (first, chosen)
        assert not any(second.startswith(name) and address in second for name, address in chosen)

        # The finding form offers the two covered units first; a unit outside them is searched.
        page.click("text=登记问题")
        page.wait_for_selector(".unit-picker-ready")
        offered = page.locator("input[name=enterprise][type=radio]")
        assert offered.count() == 2
        page.check("input[name=kind][value=not_done]")
        offered.first.check()
        search_and_pick(page, "城南 兴旺", "城南社区")
        assert page.locator("input[name=enterprise][type=radio]:checked").count() == 0
        assert page.locator(".unit-chip").count() == 1
        picked = page.locator(".unit-chip .unit-meta").inner_text()
        page.fill("#id_description", "仍在生产，未整改")
        page.fill("#id_deadline", "2018-05-25")
        screenshot(page, f"unit-picker-finding-{width}")
        if width == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.click("form button[type=submit]")
        page.wait_for_url(f"**/inspections/{inspection.pk}/")
        finding = Finding.objects.select_related("enterprise__village").get()
        assert finding.enterprise.village.name == "城南社区" and finding.enterprise.address in picked
        assert finding.enterprise not in inspection.units.all()
        assert page.watch.console_errors == []
        assert page.watch.outside_requests == [] and page.watch.csp_violations == []
    finally:
        context.close()


def test_without_javascript_units_are_given_by_number(browser, live_server, big_town, screenshot):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        login(page, "ducha", "pw-123456")
        page.goto(f"/inspections/new/?township={big_town.pk}")
        assert page.locator(".unit-picker-find").is_visible()
        wanted = list(Enterprise.objects.filter(address__in=["桥头村解放路3号", "溪口村解放路7号"]).order_by("pk"))
        page.check("input[name=kind][value=random]")
        page.fill("#id_inspected_on", "2018-05-10")
        page.fill("#id_team", "市督查组第一组")
        page.fill("#id_units", f"{wanted[0].pk}，{wanted[1].pk}")
        screenshot(page, "unit-picker-no-js-phone")
        page.click("form button[type=submit]")
        page.wait_for_url("**/inspections/*/")
        assert sorted(Inspection.objects.get().units.values_list("pk", flat=True)) == [u.pk for u in wanted]
    finally:
        context.close()


@pytest.fixture
def reported_late(transactional_db, settings, tmp_path):
    """A finding made on 2018-12-20 with its deadline on 12-25, and the township staff who fix it."""
    from inspections import services

    settings.MEDIA_ROOT = tmp_path / "media"
    make_campaign()
    inspector = make_user("ducha", role="inspector", password="pw-123456", first_name="市督查组")
    town = make_township("石门镇")
    make_user("shimen", role="township_staff", township=town, password="pw-123456", first_name="石门镇整治办")
    unit = Enterprise.objects.create(
        township=town, name="城东五金加工点", address="城东路8号", unlicensed=True, identified_on=D(2018, 1, 10)
    )
    inspection = services.inspection_record(
        kind="unannounced", inspected_on=D(2018, 12, 20), team="市督查组", township=town, units=[unit], user=inspector
    )
    return services.finding_record(
        inspection=inspection,
        kind="not_done",
        description="消防通道堵塞",
        deadline=D(2018, 12, 25),
        enterprise=unit,
        user=inspector,
    )


def test_township_staff_complete_a_finding_with_a_photo_on_a_phone_and_see_it_marked_late(
    browser, live_server, phone_page, reported_late, screenshot
):
    from inspections.models import FindingPhoto
    from tests.enterprises.test_photos import make_image_bytes

    page = phone_page
    finding = reported_late
    login(page, "shimen", "pw-123456")
    page.goto(f"/inspections/findings/{finding.pk}/")
    page.click("text=报告整改完成")
    page.wait_for_selector("#id_photos")
    # The date starts at the campaign's as-of day (the 2018 campaign is over: its last day).
    assert page.input_value("#id_rectified_on") == "2018-12-31"
    page.fill("#id_rectified_on", "2018-12-27")
    page.fill("#id_note", "已清理通道堆放物")
    page.set_input_files(
        "#id_photos", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": make_image_bytes()}]
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "finding-complete-form-phone")
    page.click("form button[type=submit]")
    page.wait_for_url(f"**/inspections/findings/{finding.pk}/")

    finding.refresh_from_db()
    assert (finding.state, finding.rectified_on) == ("rectified", D(2018, 12, 27))
    assert FindingPhoto.objects.filter(finding=finding).count() == 1
    # Marked late, beside the state and beside the date; the photo is served to the phone.
    assert page.locator("h1 [data-late]").inner_text() == "逾期完成"
    assert page.locator("dd [data-late]").inner_text() == "逾期2天完成"
    assert "记为逾期完成" in page.locator(".messages, [role=status], body").first.inner_text()
    image = page.locator("#completion-photos img")
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "finding-completed-late-phone")

    page.goto("/inspections/findings/")
    assert page.locator("[data-count=late]").inner_text() == "1"
    assert page.locator("#findings [data-late]").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "finding-list-late-phone")
    assert page.watch.console_errors == []

    # The inspector verifies it at a desk: the photo is on the verification page, the lateness said.
    context, desk = _open(browser, live_server, DESKTOP)
    try:
        login(desk, "ducha", "pw-123456")
        desk.goto(f"/inspections/findings/{finding.pk}/verify/")
        assert "逾期完成：整改完成日期 2018-12-27 晚于整改期限 2018-12-25。" in desk.inner_text("main")
        proof = desk.locator("#completion-photos img")
        desk.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=proof.element_handle())
        desk.check("input[name=passed][value=yes]")
        desk.fill("#id_closed_on", "2018-12-28")
        screenshot(desk, "finding-verify-late-desktop")
        desk.click("form.form-stack button[type=submit]")
        desk.wait_for_url(f"**/inspections/findings/{finding.pk}/")
        finding.refresh_from_db()
        assert (finding.state, finding.closed_on) == ("closed", D(2018, 12, 28))
        assert desk.locator("h1 [data-late]").inner_text() == "逾期完成"  # still late once closed off
        desk.goto("/inspections/findings/")
        desk.click("#by-township summary")  # folded when there is one township only
        row = desk.locator("#by-township tbody tr")
        assert row.count() == 1 and row.locator("td").last.inner_text() == "1"
        screenshot(desk, "finding-list-late-desktop")
        assert desk.watch.console_errors == [] and desk.watch.outside_requests == []
        assert desk.watch.csp_violations == []
    finally:
        context.close()
