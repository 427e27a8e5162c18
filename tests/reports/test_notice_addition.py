"""The weekly notice's 加法 section: parks started and completed, entries and freed land against
the city's targets of the built-in indicators (SPEC 5), in every format, frozen with the notice."""

import datetime
import hashlib
import io
from decimal import Decimal
from types import SimpleNamespace

import docx
import openpyxl
import pytest
from django.utils import timezone

from campaign.models import BuiltIn, Indicator, Park
from campaign.parks import park_edit
from enterprises.models import LandParcel, ParkEntry
from reports.notices import content as notice
from reports.scorecard import scorecard
from tests.factories import make_campaign, make_township, make_user, set_target

D = datetime.date
DAY = D(2018, 4, 7)  # the notice's day; its week is 04-01 … 04-07


def docx_text(data):
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def addition_table(data):
    """The .docx table whose header starts with 指标 and 单位, as {indicator name: cells}."""
    for table in docx.Document(io.BytesIO(data)).tables:
        head = [c.text for c in table.rows[0].cells]
        if head[:2] == ["指标", "单位"]:
            return {row.cells[0].text: [c.text for c in row.cells] for row in table.rows[1:]}
    return None


def indicator(campaign, key, target):
    return Indicator.objects.create(campaign=campaign, key=key, name=BuiltIn(key).label, unit="u", target=target)


@pytest.fixture
def world(db, frozen_today, settings, tmp_path):
    frozen_today(D(2018, 12, 31))
    settings.MEDIA_ROOT = tmp_path / "media"
    campaign = make_campaign()
    admin = make_user("guanli", role="city_admin")
    east, west = make_township("东城街道"), make_township("西城街道")
    for town in (east, west):
        set_target(campaign, town, 10)
    # Parks: one started on the notice's day (counted), one started in March and completed this
    # week, one started the day after (not yet), one started before the campaign (another year).
    today = Park.objects.create(township=east, name="今日园", started_on=DAY, started_mu=Decimal("20.50"))
    march = Park.objects.create(
        township=west, name="三月园", started_on=D(2018, 3, 1), started_mu=Decimal("30"),
        completed_on=D(2018, 4, 2), completed_m2=Decimal("5000.25"),
    )  # fmt: skip
    Park.objects.create(
        township=east, name="明日园", started_on=DAY + datetime.timedelta(days=1), started_mu=Decimal("9")
    )
    Park.objects.create(township=east, name="旧园", started_on=D(2017, 11, 1), started_mu=Decimal("40"))
    # Entries: one that left before the notice's day (not counted), one entered on it, one in March,
    # one the day after, one deleted.
    ParkEntry.objects.create(park=march, name="甲", entered_on=D(2018, 3, 5), left_on=D(2018, 4, 5))
    ParkEntry.objects.create(park=march, name="乙", entered_on=DAY, individual_to_company=True)
    ParkEntry.objects.create(park=march, name="丙", entered_on=D(2018, 3, 20))
    ParkEntry.objects.create(park=today, name="丁", entered_on=D(2018, 4, 8))
    ParkEntry.objects.create(
        park=march, name="戊", entered_on=D(2018, 3, 21), deleted_at=timezone.now(), deleted_by=admin
    )
    LandParcel.objects.create(township=east, name="地1", area_mu=Decimal("12.50"), freed_on=D(2018, 3, 10))
    LandParcel.objects.create(township=west, name="地2", area_mu=Decimal("3"), freed_on=DAY)
    LandParcel.objects.create(township=west, name="地3", area_mu=Decimal("8"), freed_on=D(2018, 4, 9))
    return SimpleNamespace(campaign=campaign, admin=admin, today=today, march=march)


@pytest.fixture
def addition(world):
    for key, target in (
        (BuiltIn.PARKS_STARTED, 4),
        (BuiltIn.PARK_STARTED_MU, 100),
        (BuiltIn.PARK_COMPLETED_M2, 10000),
        (BuiltIn.PARK_ENTRIES, 10),
        (BuiltIn.INDIVIDUAL_TO_COMPANY, 0),  # no target: left out
        (BuiltIn.LAND_FREED_MU, 50),
        (BuiltIn.ZERO_SIWU_VILLAGES, 5),  # not a 加法 figure
    ):
        indicator(world.campaign, key, target)
    return world


def by_key(content):
    return {row["key"]: row for row in content["addition"]}


def test_the_section_has_the_figures_the_records_imply(addition):
    rows = by_key(notice.draft_content(addition.campaign, DAY))
    # Expected rate on 04-07: 30 % on 03-31, then 7 of the 91 days to 06-30 towards 60 %: 32.31.
    assert list(rows) == ["parks_started", "park_started_mu", "park_completed_m2", "park_entries", "land_freed_mu"]
    assert {k: (r["value"], r["week"], r["target"], r["rate"]) for k, r in rows.items()} == {
        # 三月园 and 今日园 (started on the day itself); not 明日园, not 旧园 (2017).
        "parks_started": (2, 1, 4, 50),
        "park_started_mu": (50.5, 20.5, 100, 50.5),
        "park_completed_m2": (5000.25, 5000.25, 10000, 50),
        # 乙 (entered on the day) and 丙; 甲 left on 04-05, 丁 enters after, 戊 was deleted.
        # This week: 乙 in, 甲 out.
        "park_entries": (2, 0, 10, 20),
        "land_freed_mu": (15.5, 3, 50, 31),
    }
    assert rows["parks_started"]["expected_rate"] == 32.31
    assert rows["park_entries"]["colour"] == "red" and rows["park_entries"]["colour_label"] == "红"
    assert rows["parks_started"]["colour"] == "green"
    # The next milestone (06-30, 60 %): 3 parks required, 1 short; 60 亩, 9.50 short.
    assert (rows["parks_started"]["next_required"], rows["parks_started"]["shortfall"]) == (3, 1)
    assert (rows["park_started_mu"]["next_required"], rows["park_started_mu"]["shortfall"]) == (60, 9.5)


def test_the_section_agrees_with_the_scorecard(addition):
    content = notice.draft_content(addition.campaign, DAY)
    cards = {c.key: c for c in scorecard(addition.campaign, DAY).indicators}
    for row in content["addition"]:
        city = cards[row["key"]].city
        assert Decimal(str(row["value"])) == city.value
        assert row["target"] == city.target


def test_the_section_is_printed_in_every_format(addition):
    content = notice.draft_content(addition.campaign, DAY)
    data = notice.render(content, "docx")
    text = docx_text(data)
    assert "九、“加法”工作进展" in text
    table = addition_table(data)
    assert table["小微园开工个数"] == ["小微园开工个数", "u", "1", "2", "4", "50.00", "32.31", "绿", "1"]
    assert table["小微园开工面积"][1:5] == ["u", "20.50", "50.50", "100"]
    assert table["入园企业数"][2:4] == ["0", "2"]
    assert "个转企入园数" not in table and "零四无示范村" not in table

    book = openpyxl.load_workbook(io.BytesIO(notice.render(content, "xlsx")))
    sheet = list(book["加法进展"].iter_rows(values_only=True))
    assert sheet[0][:4] == ("指标", "单位", "本周新增", "累计完成")
    assert sheet[2] == ("小微园开工面积", "u", 20.5, 50.5, 100, 50.5, 32.31, "绿", 60, 9.5)
    assert [r[0] for r in sheet[1:]] == [
        "小微园开工个数",
        "小微园开工面积",
        "小微园竣工面积",
        "入园企业数",
        "腾退土地面积",
    ]

    page = notice.render(content, "html").decode()
    assert 'id="notice-addition"' in page and "九、“加法”工作进展" in page
    assert '<td data-label="累计完成">5000.25</td>' in page


def test_the_print_view_and_the_preview_show_the_section(addition, client):
    client.force_login(addition.admin)
    preview = client.get("/notices/preview/", {"campaign": addition.campaign.slug, "as_of": DAY.isoformat()})
    assert preview.status_code == 200
    assert 'id="notice-addition"' in preview.content.decode()


def test_the_section_is_absent_without_addition_indicators(world):
    content = notice.draft_content(world.campaign, DAY)
    assert "addition" not in content
    assert "加法" not in docx_text(notice.render(content, "docx"))
    assert "加法进展" not in openpyxl.load_workbook(io.BytesIO(notice.render(content, "xlsx"))).sheetnames
    assert 'id="notice-addition"' not in notice.render(content, "html").decode()


def test_the_section_is_absent_with_only_other_indicators(world):
    indicator(world.campaign, BuiltIn.ZERO_SIWU_TOWNSHIPS, 3)
    indicator(world.campaign, BuiltIn.PARK_ENTRIES, 0)  # a 加法 indicator without a target
    content = notice.draft_content(world.campaign, DAY)
    assert "indicators_lagging" in content and "addition" not in content


def test_an_issued_notice_does_not_change_after_a_later_park_edit(addition):
    issued = notice.notice_issue(campaign=addition.campaign, as_of=DAY, user=addition.admin)
    stored = {fmt: getattr(issued, fmt).open("rb").read() for fmt in ("docx", "xlsx", "html")}
    figures = issued.figures["addition"]
    assert by_key(issued.figures)["park_started_mu"]["value"] == 50.5

    park_edit(park=addition.today, data={"started_mu": Decimal("99.00")}, user=addition.admin, reason="更正")
    ParkEntry.objects.create(park=addition.march, name="己", entered_on=D(2018, 4, 6))

    # A draft of the same day now reads the corrected records …
    again = by_key(notice.draft_content(addition.campaign, DAY))
    assert again["park_started_mu"]["value"] == 129 and again["park_entries"]["value"] == 3
    # … the issued one keeps what it published, figures and bytes.
    issued.refresh_from_db()
    assert issued.figures["addition"] == figures
    for fmt, data in stored.items():
        assert hashlib.sha256(getattr(issued, fmt).open("rb").read()).hexdigest() == getattr(issued, f"{fmt}_sha256")
        assert getattr(issued, fmt).open("rb").read() == data
    client_page = notice.render(issued.figures, "html").decode()
    assert '<td data-label="累计完成">50.50</td>' in client_page
