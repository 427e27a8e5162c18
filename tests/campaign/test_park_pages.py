"""The park register pages (docs/parks.md): a park's occupancy, company-form share and 亩均税收 by
year; entries added through the entry rules, left and corrected; a park edited with history; the
parks list as .xlsx; the township scope on every write."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from campaign.models import Park
from enterprises import parks
from enterprises.credit_code import make_credit_code
from enterprises.models import Method, ParkEntry, Rectification
from tests.factories import make_campaign, make_township, make_unit, make_user

D = datetime.date


@pytest.fixture
def world(db, frozen_today):
    frozen_today(D(2018, 12, 31))
    make_campaign()
    town, other = make_township("城关镇"), make_township("东城街道")
    park = Park.objects.create(
        township=town,
        name="城关小微园",
        capacity=3,
        started_on=D(2018, 3, 1),
        started_mu=Decimal("3"),
        negative_list="电镀、印染",
        min_tax_per_mu=Decimal("10"),
    )
    return {
        "town": town,
        "park": park,
        "theirs": Park.objects.create(township=other, name="东城创业园"),
        "admin": make_user("admin"),
        "staff": make_user("staff", role="township_staff", township=town),
        "outsider": make_user("outsider", role="township_staff", township=other),
        "inspector": make_user("inspector", role="inspector"),
    }


def add(client, park, **data):
    values = {"name": "甲企业", "entered_on": "2018-05-01", "company_form": "on"} | data
    return client.post(reverse("park_entries:add", args=[park.pk]), values)


def test_the_park_page_shows_occupancy_vacancy_share_and_tax_per_mu_by_year(
    client, world, django_assert_max_num_queries
):
    park, staff = world["park"], world["staff"]
    entries = [
        parks.entry_create(park=park, user=staff, name=f"企业{n}", entered_on=D(2018, 4, n), company_form=n != 3)
        for n in (1, 2, 3)
    ]
    parks.tax_return_record(entry=entries[0], user=staff, year=2018, tax_10k_yuan="1", land_mu="1")
    parks.tax_return_record(entry=entries[1], user=staff, year=2018, tax_10k_yuan="0.01", land_mu="1")
    client.force_login(world["inspector"])
    with django_assert_max_num_queries(12):
        page = client.get(reverse("parks:detail", args=[park.pk]) + "?campaign=c2018&as_of=2018-12-31")
    taken = page.context["occupancy"]
    assert (taken.entries, taken.vacancy, taken.company_form_share, taken.full) == (3, 0, Decimal("66.67"), True)
    html = page.content.decode()
    assert "66.67%" in html and "低于80%" in html and "已满" in html
    assert [(y.year, y.per_mu) for y in page.context["tax_years"]] == [(2018, Decimal("0.34"))]  # 1.01 / 3
    assert "登记入园" not in html  # an inspector reads, does not write
    early = client.get(reverse("parks:detail", args=[park.pk]) + "?campaign=c2018&as_of=2018-04-01")
    assert early.context["occupancy"].entries == 1 and early.context["occupancy"].vacancy == 2


def test_an_entry_on_the_negative_list_is_refused_on_the_page_naming_the_rule(client, world):
    client.force_login(world["staff"])
    page = add(client, world["park"], industry="电镀")
    assert page.status_code == 200
    html = page.content.decode()
    assert "负面清单：" in html and "电镀" in html
    page = add(client, world["park"], declared_tax_per_mu="9.5")
    assert "准入门槛：" in page.content.decode()
    assert (
        "准予例外" not in page.context["form"].fields.get("exception", "")
        and "exception" not in page.context["form"].fields
    )
    assert not ParkEntry.objects.exists()
    assert add(client, world["park"], industry="五金").status_code == 302
    assert ParkEntry.objects.get().history.get().history_user == world["staff"]


def test_a_full_park_asks_for_a_reason_on_the_page_and_a_city_admin_records_an_exception(client, world):
    park = world["park"]
    park.capacity = 1
    park.save()
    client.force_login(world["staff"])
    assert add(client, park, name="甲").status_code == 302
    page = add(client, park, name="乙")
    assert page.status_code == 200 and "园区已满：" in page.content.decode()
    assert add(client, park, name="乙", reason="甲企业下月搬出").status_code == 302
    # township staff cannot let in what the rules refuse, even when they tick the box
    page = add(client, park, name="丙", industry="印染", exception="on", reason="招商", entered_on="2018-03-01")
    assert "负面清单：" in page.content.decode()
    client.force_login(world["admin"])
    page = add(client, park, name="丙", industry="印染", exception="on", entered_on="2018-03-01")
    assert "准予例外须填写理由" in page.content.decode()
    assert (
        add(
            client, park, name="丙", industry="印染", exception="on", reason="招商", entered_on="2018-03-01"
        ).status_code
        == 302
    )
    kept = dict(ParkEntry.objects.values_list("name", "exception_reason"))
    assert kept == {"甲": "", "乙": "甲企业下月搬出", "丙": "招商"}
    assert ParkEntry.objects.get(name="丙").history.get().history_user == world["admin"]


def test_a_relocated_unit_enters_from_the_park_page_with_its_facts(client, world):
    unit = make_unit(
        world["town"], name="搬迁五金厂", credit_code=make_credit_code("9", "1", "330100", "MA2CH7KQ"), industry="五金"
    )
    Rectification.objects.create(enterprise=unit, method=Method.RELOCATED, rectified_on=D(2018, 6, 1))
    client.force_login(world["staff"])
    url = reverse("park_entries:add", args=[world["park"].pk])
    form = client.get(url + f"?unit={unit.pk}").context["form"]
    assert form.initial["name"] == "搬迁五金厂" and form.initial["entered_on"] == D(2018, 6, 1)
    assert list(form.fields["enterprise"].queryset) == [unit]
    assert (
        client.post(url, {"enterprise": unit.pk, "entered_on": "2018-06-01", "company_form": "on"}).status_code == 302
    )
    entry = ParkEntry.objects.get()
    assert (entry.enterprise, entry.name, entry.industry) == (unit, "搬迁五金厂", "五金")
    assert list(client.get(url).context["form"].fields["enterprise"].queryset) == []  # entered: no longer offered


def test_leaving_and_flags_from_the_entry_page(client, world):
    entry = parks.entry_create(park=world["park"], user=world["staff"], name="甲", entered_on=D(2018, 4, 1))
    client.force_login(world["staff"])
    url = reverse("park_entries:detail", args=[entry.pk])
    page = client.post(url, {"action": "leave", "leave-left_on": "2018-03-01"})
    assert "退园日期不能早于入园日期" in page.content.decode()
    assert client.post(url, {"action": "leave", "leave-left_on": "2018-09-01"}).status_code == 302
    flags = {"action": "flags", "flags-company_form": "on", "flags-individual_to_company": "on", "flags-tech_sme": "on"}
    assert client.post(url, flags).status_code == 302
    entry.refresh_from_db()
    assert (entry.left_on, entry.individual_to_company, entry.tech_sme) == (D(2018, 9, 1), True, True)
    reasons = [h.history_change_reason for h in entry.history.order_by("history_id")]
    assert reasons == ["登记入园", "退园", "修改入园企业标识"]


def test_another_townships_staff_get_404_on_every_write_of_a_park(client, world):
    entry = parks.entry_create(park=world["park"], user=world["staff"], name="甲", entered_on=D(2018, 4, 1))
    client.force_login(world["outsider"])
    assert add(client, world["park"]).status_code == 404
    assert client.post(reverse("parks:edit", args=[world["park"].pk]), {"name": "x"}).status_code == 404
    url = reverse("park_entries:detail", args=[entry.pk])
    assert client.post(url, {"action": "leave", "leave-left_on": "2018-09-01"}).status_code == 404
    assert client.get(url).status_code == 404
    entry.refresh_from_db()
    assert entry.left_on is None and ParkEntry.objects.count() == 1
    client.force_login(world["inspector"])
    assert client.post(url, {"action": "leave", "leave-left_on": "2018-09-01"}).status_code == 403


def test_a_park_is_edited_with_its_reason_in_history(client, world):
    park = world["park"]
    client.force_login(world["staff"])
    url = reverse("parks:edit", args=[park.pk])
    data = {
        "name": "城关小微园",
        "operator": "城关建投",
        "capacity": "10",
        "negative_list": "电镀、化工",
        "reason": "调整负面清单",
    }
    page = client.post(url, data | {"started_on": "2018-03-01", "started_mu": "", "min_tax_per_mu": "-1"})
    assert page.status_code == 200
    assert set(page.context["form"].errors) == {"started_mu", "min_tax_per_mu"}
    assert (
        client.post(url, data | {"started_on": "2018-03-01", "started_mu": "3", "min_tax_per_mu": "12"}).status_code
        == 302
    )
    park.refresh_from_db()
    assert (park.operator, park.refused_industries(), park.min_tax_per_mu) == (
        "城关建投",
        ["电镀", "化工"],
        Decimal("12"),
    )
    last = park.history.order_by("-history_id").first()
    assert (last.history_change_reason, last.history_user) == ("调整负面清单", world["staff"])


def test_the_parks_list_exports_as_xlsx_in_scope(client, world):
    parks.entry_create(park=world["park"], user=world["staff"], name="甲", entered_on=D(2018, 4, 1))
    client.force_login(world["staff"])
    answer = client.get(reverse("parks:export") + "?campaign=c2018&as_of=2018-12-31")
    assert answer.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active.values)
    assert rows[0][:2] == ("乡镇(街道)", "园区名称")
    assert [row[1] for row in rows[1:]] == ["城关小微园"]  # not the other township's park
    assert rows[1][8:12] == (3, 1, 2, 100) and rows[1][12] == "电镀、印染"


def test_city_admins_set_the_idle_days_and_the_tax_standard(client, world):
    client.force_login(world["admin"])
    url = reverse("parks:land_settings", args=["c2018"])
    assert client.post(url, {"idle_days": "0", "tax_standard_per_mu": ""}).status_code == 200
    assert client.post(url, {"idle_days": "90", "tax_standard_per_mu": "15.5"}).status_code == 302
    from campaign.models import Campaign

    campaign = Campaign.objects.get(slug="c2018")
    assert (campaign.idle_days, campaign.tax_standard_per_mu) == (90, Decimal("15.50"))
    client.force_login(world["staff"])
    assert client.get(url).status_code == 403
