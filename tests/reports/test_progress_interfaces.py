"""SPEC section 3: create_campaign, progress --json and GET /api/progress serve one document."""

import datetime
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Campaign, Milestone
from enterprises.models import Method
from enterprises.services import rectification_record
from tests.factories import make_township, make_unit, make_user, set_target

D = datetime.date
ROOT = Path(__file__).resolve().parents[2]
ROW_KEYS = {
    "name",
    "target",
    "rectified",
    "rate",
    "identified",
    "open",
    "demolished_m2",
    "expected_rate",
    "colour",
    "rank",
    "milestone_due",
    "milestone_next",
}


@pytest.fixture
def small_city(campaign):
    a, b = make_township("城关镇"), make_township("东城街道")
    set_target(campaign, a, 10)
    set_target(campaign, b, 0)
    for i in range(4):
        unit = make_unit(a, identified_on=D(2018, 1, 5 + i))
        rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 3, 1))
    make_unit(b, identified_on=D(2017, 12, 1))
    return campaign


def run_progress(*args):
    out = io.StringIO()
    call_command("progress", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_progress_json_follows_the_schema(small_city):
    document = json.loads(run_progress("--campaign", "c2018", "--as-of", "2018-03-31", "--json"))
    assert document["campaign"] == "c2018"
    assert document["as_of"] == "2018-03-31"
    assert set(document["city"]) == ROW_KEYS
    assert [row["name"] for row in document["townships"]] == ["城关镇", "东城街道"]
    first = document["townships"][0]
    assert set(first) == ROW_KEYS
    assert first == {
        "name": "城关镇",
        "target": 10,
        "rectified": 4,
        "rate": 40,
        "identified": 4,
        "open": 0,
        "demolished_m2": 0,
        "expected_rate": 30,
        "colour": "green",
        "rank": 1,
        "milestone_due": {"date": "2018-03-31", "percent": 30, "required": 3, "met": True},
        "milestone_next": {"date": "2018-06-30", "percent": 60, "required": 6, "shortfall": 2, "days_left": 91},
    }
    second = document["townships"][1]
    assert (second["rate"], second["colour"], second["rank"], second["open"]) == (None, None, None, 1)
    assert document["city"]["rank"] is None
    assert document["city"]["target"] == 9000
    assert document["city"]["rate"] == 0.04


@pytest.mark.django_db
def test_http_endpoint_serves_the_same_document(client, small_city):
    url = "/api/progress?campaign=c2018&as_of=2018-03-31"
    anonymous = client.get(url)
    assert anonymous.status_code == 302  # login required
    user = make_user("viewer", role="city_viewer", password="a-long-passphrase-9")
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == json.loads(run_progress("--campaign", "c2018", "--as-of", "2018-03-31", "--json"))
    assert client.get("/api/progress?campaign=c2018&as_of=2018-02-30").status_code == 400
    assert client.get("/api/progress?campaign=c2018&as_of=2019-01-01").status_code == 400
    assert client.get("/api/progress?campaign=nope&as_of=2018-03-31").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["--campaign", "nope", "--as-of", "2018-03-31", "--json"],
        ["--campaign", "c2018", "--as-of", "2018-13-01", "--json"],
        ["--campaign", "c2018", "--as-of", "2019-01-01", "--json"],
    ],
)
def test_progress_refuses_bad_arguments(small_city, args):
    with pytest.raises(CommandError):
        run_progress(*args)


@pytest.mark.django_db
def test_progress_table_for_people(small_city):
    text = run_progress("--campaign", "c2018", "--as-of", "2018-03-31")
    assert "城关镇" in text and "40.00%" in text


@pytest.mark.django_db
def test_create_campaign_with_defaults_and_custom_schedule():
    call_command("create_campaign", "c2018", "--year", "2018", "--target", "9000", stdout=io.StringIO())
    campaign = Campaign.objects.get(slug="c2018")
    assert (campaign.start, campaign.end, campaign.target, campaign.band) == (
        D(2018, 1, 1),
        D(2018, 12, 31),
        9000,
        Decimal("10"),
    )
    assert list(campaign.milestones.values_list("date", "percent")) == [
        (D(2018, 3, 31), Decimal("30")),
        (D(2018, 6, 30), Decimal("60")),
        (D(2018, 9, 30), Decimal("80")),
        (D(2018, 12, 31), Decimal("100")),
    ]
    call_command(
        "create_campaign",
        "c2019",
        "--year=2019",
        "--target=500",
        "--milestones=02-28:25,07-31:70.5,12-31:100",
        "--band=5",
        stdout=io.StringIO(),
    )
    other = Campaign.objects.get(slug="c2019")
    assert other.band == Decimal("5")
    assert list(other.milestones.values_list("percent", flat=True)) == [Decimal("25"), Decimal("70.5"), Decimal("100")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["c2018", "--year", "2018", "--target", "-1"],
        ["c2018", "--year", "2018", "--target", "10", "--milestones", "02-30:30"],
        ["c2018", "--year", "2018", "--target", "10", "--milestones", "06-30:60,03-31:70"],
        ["c2018", "--year", "2018", "--target", "10", "--milestones", "03-31:130"],
        ["c2018", "--year", "2018", "--target", "10", "--band", "abc"],
        ["c2018", "--year", "2018", "--target", "10", "--band", "-1"],
        ["not a slug", "--year", "2018", "--target", "10"],
    ],
)
def test_create_campaign_refuses_bad_input_and_writes_nothing(args):
    with pytest.raises(CommandError):
        call_command("create_campaign", *args, stdout=io.StringIO())
    assert Campaign.objects.count() == 0
    assert Milestone.objects.count() == 0


@pytest.mark.django_db
def test_create_campaign_refuses_an_existing_slug(campaign):
    with pytest.raises(CommandError, match="已存在"):
        call_command("create_campaign", "c2018", "--year", "2019", "--target", "1", stdout=io.StringIO())
    assert Campaign.objects.get(slug="c2018").year == 2018


def test_commands_exit_1_with_a_message_on_stderr(migrated_sqlite):
    """Through a real process: exit status 1 and a message on stderr, for argparse errors too."""
    # A copy of a database migrated once for the run (tests/conftest.py): `migrate` has nothing to do.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{migrated_sqlite}"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    assert manage("migrate", "-v0").returncode == 0
    ok = manage("create_campaign", "c2018", "--year", "2018", "--target", "9000")
    assert ok.returncode == 0, ok.stderr
    for args in [
        ("create_campaign", "c2018", "--year", "2018", "--target", "9000"),  # exists
        ("create_campaign", "x", "--year", "abc", "--target", "1"),  # argparse would say 2
        ("progress", "--campaign", "c2018", "--as-of", "31/03/2018", "--json"),
        ("progress", "--campaign", "c2018", "--json"),  # missing --as-of
        ("progress", "--campaign", "c2099", "--as-of", "2018-03-31", "--json"),
    ]:
        result = manage(*args)
        assert result.returncode == 1, (args, result.returncode, result.stderr)
        assert result.stderr.strip(), args
        assert result.stdout.strip() == "", args
    report = manage("progress", "--campaign", "c2018", "--as-of", "2018-03-31", "--json")
    assert report.returncode == 0
    assert json.loads(report.stdout)["city"]["milestone_due"]["required"] == 2700
