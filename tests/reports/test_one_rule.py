"""One counting rule per idea: every page that counts "open on d" gives the same number.

The progress report reads the maintained daily counts; the village breakdown, the quality page and
Enterprise.objects.open_on read the register through the same Q (enterprises.models.holding_on).
"""

import datetime

import pytest

from enterprises.models import Enterprise, Method
from enterprises.services import rectification_record, relapse_record
from inspections.quality import _open_units
from reports.dashboard import village_breakdown
from reports.progress import progress_report
from tests.factories import make_township, make_unit, make_village, set_target

D = datetime.date
pytestmark = pytest.mark.django_db
DAYS = [D(2018, 1, 31), D(2018, 3, 31), D(2018, 4, 10), D(2018, 6, 30), D(2018, 12, 31)]


def test_open_on_a_day_is_the_same_figure_on_every_page(campaign, frozen_today):
    frozen_today(D(2018, 12, 31))
    towns = [make_township("东城街道"), make_township("南湖镇")]
    for n, town in enumerate(towns):
        set_target(campaign, town, 10)
        villages = [make_village(town), make_village(town)]
        for i in range(8):
            unit = make_unit(town, D(2017, 12, 20) if i < 2 else D(2018, 1 + i, 3), village=villages[i % 2])
            if i % 3 == 0:
                continue  # never rectified
            rectification_record(enterprise=unit, method=Method.CLOSED, rectified_on=D(2018, 2 + i, 15))
            if i % 4 == 1:  # relapsed, some rectified again
                relapse_record(enterprise=unit, found_on=D(2018, 3 + i, 20))
                if n == 0:
                    rectification_record(enterprise=unit, method=Method.DEMOLISHED, rectified_on=D(2018, 4 + i, 1))
    ids = [t.pk for t in towns]
    for day in DAYS:
        report = {row.township_id: row.open for row in progress_report(campaign, day).townships}
        queried = {t.pk: Enterprise.objects.open_on(day).filter(township=t).count() for t in towns}
        quality = _open_units(ids, day)
        villages = {t.pk: sum(line.open for line in village_breakdown(t, campaign, day)) for t in towns}
        assert queried == report == villages, day
        assert {pk: quality.get(pk, 0) for pk in ids} == report, day
    assert any(v for v in report.values())  # some units are still open at the end
