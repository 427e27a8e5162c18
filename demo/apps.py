from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The top floor: the demo city (seed_demo) and the benchmarks (bench, bench_import), which fill
    and time every app below and which nothing below imports."""

    name = "demo"
    verbose_name = _("演示与基准")
