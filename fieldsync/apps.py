from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldsyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "fieldsync"
    verbose_name = _("离线填报")
