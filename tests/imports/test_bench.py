"""The import benchmark's two runs, at a small size: the figures it prints come from a real import."""

import io

from django.core.management.base import OutputWrapper

from campaign.models import Township
from demo.management.commands import bench_import
from enterprises.models import Enterprise, ImportBatch


def test_both_runs_import_the_generated_list_and_leave_nothing(db, tmp_path):
    for name in bench_import.TOWNSHIPS:
        Township.objects.create(name=name, kind=Township.kind_from_name(name))
    path = tmp_path / "bench.xlsx"
    bench_import.write_list(path, 30)
    out = io.StringIO()
    command = bench_import.Command(stdout=OutputWrapper(out))

    command.child(path, keep=False)
    command.browser(path)

    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all("新增单位30个" in line and "新增整治记录6条" in line for line in lines)
    assert all(f" {step}=" in lines[1] for step in bench_import.BROWSER_STEPS)
    assert Enterprise.objects.count() == 0 and ImportBatch.objects.count() == 0
