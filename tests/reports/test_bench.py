"""make bench at a toy scale: the synthetic city is consistent and every measured page answers."""

import io

import pytest
from django.core.management import call_command

from enterprises.models import Enterprise
from inspections.models import Finding, Lookback
from reports import counts
from reports.progress import progress_report

pytestmark = pytest.mark.django_db


def test_the_benchmark_builds_a_consistent_city_and_times_every_page(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command(
        "bench", "--units", "600", "--runs", "1", "--no-write", "--import-rows", "0", "--build-here", stdout=out
    )
    text = out.getvalue()

    assert Enterprise.objects.count() == 600 and Finding.objects.exists() and Lookback.objects.exists()
    assert counts.differences() == []
    from demo import benchmark

    report = progress_report(benchmark.build(units=600, out=lambda *_: None), benchmark.AS_OF)
    assert report.city.identified > 0 and report.city.rectified > 0
    for name in ("dashboard", "township page", "register, first page", "unit detail", "progress JSON"):
        assert f"| {name} |" in text
    assert "weekly notice .docx" in text and "raw full-scan aggregate" in text

    # After a change in one township a report page reads that township again, not everything.
    def queries(name):
        line = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        return int(line.split("|")[4])

    for page in ("dashboard", "township page", "progress JSON"):
        warm = queries(page)
        changed = queries(f"{page}, right after a change in one township")
        cold = queries(f"{page}, nothing cached")
        assert warm <= changed <= cold, (page, warm, changed, cold)
    assert queries("dashboard") < queries("dashboard, right after a change in one township")
