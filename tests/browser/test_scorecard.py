"""The 赛马 scorecard on a 360 px phone, in real headless Chromium: three indicators beside the 四无
count, each township's rank change since the quarterly assessment frozen on 03-31, and a chart per
indicator against its milestone staircase."""

import datetime
import re
from decimal import Decimal

import pytest

from campaign.models import BuiltIn, Indicator, IndicatorRecord, IndicatorTarget, Park
from reports import counts
from reports.notices.content import assessment_freeze
from tests.browser.conftest import login
from tests.browser.test_dashboard import AS_OF, city  # noqa: F401 - the fixture is used by name
from tests.browser.test_manage import fits
from tests.factories import make_user

D = datetime.date
INDICATORS = [
    # key, name, unit, township target
    ("jobs", "新增就业", "人", 20),
    (BuiltIn.PARKS_STARTED, "小微园开工", "个", 2),
    ("land_mu", "腾退土地", "亩", 10),
]


@pytest.fixture
def raced(city, frozen_today, settings, tmp_path):  # noqa: F811
    """Ten townships, three indicators; the 03-31 assessment frozen; then the last townships catch up
    on 新增就业 in April and May, so the ranking of 06-15 moves against the frozen one."""
    frozen_today(D(2018, 12, 31))
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign, towns = city
    made = {}
    for key, name, unit, target in INDICATORS:
        made[key] = Indicator.objects.create(
            campaign=campaign, key=key, name=name, unit=unit, target=target * len(towns)
        )
        for town in towns:
            IndicatorTarget.objects.create(
                indicator=made[key], township=town, target=target, effective_on=D(2018, 1, 1)
            )
    for n, town in enumerate(towns):
        IndicatorRecord.objects.create(
            indicator=made["jobs"], township=town, name="一季度", date=D(2018, 3, 10), amount=Decimal(18 - 2 * n)
        )
        IndicatorRecord.objects.create(
            indicator=made["land_mu"], township=town, name="腾退", date=D(2018, 2, 20), amount=Decimal(f"{n}.5")
        )
        if n % 3 == 0:
            Park.objects.create(
                township=town, name=f"{town.name}小微园", started_on=D(2018, 3, 1), started_mu=Decimal(30)
            )
    admin = make_user("guanli", role="city_admin")
    assessment_freeze(campaign=campaign, milestone_date=D(2018, 3, 31), verdict="好", user=admin)
    for n, town in enumerate(towns[6:]):
        IndicatorRecord.objects.create(
            indicator=made["jobs"], township=town, name="二季度", date=D(2018, 4, 20 + n), amount=Decimal(20)
        )
    counts.clear()
    return campaign, towns


def test_a_leader_reads_the_scorecard_with_its_rank_changes_and_charts_on_a_phone(phone_page, raced, screenshot):
    page = phone_page
    login(page, "shi", "pw-123456")
    page.goto(f"/?campaign=c2018&as_of={AS_OF}")
    for key in ("jobs", BuiltIn.PARKS_STARTED, "land_mu"):
        page.wait_for_selector(f"#indicator-chart-{key} svg.main-svg")
    fits(page)

    headers = page.locator("#scorecard-table thead th").all_inner_texts()
    assert [h.split("\n")[0] for h in headers[3:]] == ["四无生产经营单位整治", "新增就业", "小微园开工", "腾退土地"]
    rows = page.locator("#scorecard-table tbody tr")
    assert rows.count() == 10
    moves = page.locator("#scorecard-table .sc-move").all_inner_texts()
    assert any(m.startswith("↑") for m in moves) and any(m.startswith("↓") for m in moves)
    assert "2018-03-31" in page.locator("#scorecard-compared").inner_text()
    # Each township is a card: its rank with the arrow beside it, its score, then every indicator's
    # cell labelled with the indicator's name and filled with its colour.
    first = rows.first
    assert re.fullmatch(r"1 (↑\d+|↓\d+|—|新)", first.locator("td.sc-rank").inner_text())
    rank, arrow = first.locator("td.sc-rank"), first.locator("td.sc-rank .sc-move")
    assert (
        abs(
            rank.bounding_box()["y"]
            + rank.bounding_box()["height"]
            - arrow.bounding_box()["y"]
            - arrow.bounding_box()["height"]
        )
        < 12
    )
    labels = first.locator("td.sc-cell").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert labels == ['"四无生产经营单位整治"', '"新增就业"', '"小微园开工"', '"腾退土地"']
    fills = first.locator("td.sc-cell").evaluate_all("cells => cells.map(c => getComputedStyle(c).backgroundColor)")
    coloured = first.locator("td.sc-cell").evaluate_all("cells => cells.map(c => c.className)")
    for fill, classes in zip(fills, coloured, strict=True):
        if "sc-green" in classes or "sc-red" in classes or "sc-yellow" in classes:
            assert fill not in ("rgba(0, 0, 0, 0)", "transparent"), (classes, fill)

    legend = page.locator("#indicator-chart-jobs .legend").text_content()
    assert "完成值" in legend and "节点目标" in legend and "序时进度" in legend
    caption = page.locator("#indicator-jobs figcaption").inner_text()
    assert "新增就业" in caption and "/200" in caption
    for key in ("jobs", BuiltIn.PARKS_STARTED, "land_mu"):
        chart = page.locator(f"#indicator-chart-{key}").bounding_box()
        assert chart["width"] <= 360 and chart["height"] >= 200, (key, chart)

    page.locator("#scorecard").scroll_into_view_if_needed()
    page.locator("#scorecard").screenshot(
        path=str(screenshot(page, "scorecard-phone").with_name("scorecard-phone-card.png"))
    )
    assert page.watch.console_errors == []
