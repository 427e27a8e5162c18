from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inspections"
    verbose_name = _("督查")

    def ready(self):
        from enterprises import unit_page

        from .selectors import unit_records

        unit_page.provide_inspection_records(unit_records)
