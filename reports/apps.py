from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("进度报表")

    def ready(self):
        from .addition import hand_down
        from .counts import checks  # noqa: F401  (registers the counts' drift check, Tags.database)

        hand_down()  # the parks and land pages' indicator charts (campaign.parks.provide_indicator_charts)
